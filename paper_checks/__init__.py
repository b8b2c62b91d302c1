"""paper_checks -- one module per quantitative claim of Hazelden & Shea-Brown (2026).

Each module's ``run`` computes, compares with the paper's statement and
returns :class:`Verdict` objects (claim, the paper's words, measured numbers,
holds / holds with a correction / does not hold).  ``python -m paper_checks``
(or ``nfsntk check``) runs them all, prints the table and writes
``verdicts.json`` and the figures to one output folder.

Modules
-------
fig2_amplification     figure 2: amplification near g*, monotone flip, peaked nonlinear forms
sec3_stability_flip    section 3: the linear law and its |g| < 1, = 1, > 1 regimes, as written
sec3_pitchfork         section 3: pitchfork below and above g*
fig1_rnn_collapse      figure 1: first learned bifurcation of the student-teacher RNN, loss drop, rank collapse
fig1e_crosscheck       figure 1E vs 2B, app. A.1: restricted sNTK along the critical direction vs the normal form
fig3_two_modes         figure 3, app. C: a stable student learning a teacher with two unstable eigenvalues
fig4_natural_gradient  figure 4, app. C.1: SGD vs the low-rank natural gradient through the bifurcations
derivations            the symbolic derivations behind section 3 (``nfsntk derive``)
"""

from __future__ import annotations

from pathlib import Path

from ._runs import CheckNotRun, RunSpec, obtain, record_path
from ._verdict import FAILS, HOLDS, HOLDS_CORRECTED, NOT_RUN, Verdict, output_dir, table, write_json

CHECKS = ("fig2_amplification", "sec3_stability_flip", "sec3_pitchfork", "fig1_rnn_collapse", "fig1e_crosscheck",
          "fig3_two_modes", "fig4_natural_gradient")


def _selected(only: list[str] | None) -> list[str]:
    for name in only or ():
        if name not in CHECKS:
            raise ValueError(f"unknown check {name!r}; choose from {', '.join(CHECKS)}")
    return [c for c in CHECKS if c in (only or CHECKS)]


def plan(out: str | Path | None = None, quick: bool = False, only: list[str] | None = None, *,
         workers: int | None = None, train_missing: bool = True):
    """The :class:`~paper_checks._plan.Plan` of the main job: checks, records (present / resumable / missing),
    estimated time of each task and in total.  Builds it without training anything (a few seconds of
    calibration runs measure this machine's step costs)."""
    from ._plan import Plan

    return Plan.build(output_dir(out), _selected(only), quick, workers, train_missing)


def run_all(out: str | Path | None = None, quick: bool = False, only: list[str] | None = None, *,
            workers: int | None = None, train_missing: bool = True, progress: bool | None = None,
            show_plan=None) -> list[Verdict]:
    """Run every check (or those named in ``only``); write JSON and the table to ``out``.

    Missing training records are trained first (unless ``train_missing`` is
    False: then their checks say "not run" and why), in parallel worker
    processes with one BLAS thread each (``workers``, default one per CPU),
    resuming any checkpoint.  ``quick`` uses the reduced configurations (the
    tests use it); its verdicts are labelled as smoke tests.  ``show_plan``
    (e.g. ``print``) receives the plan's description before work starts.
    """
    the_plan = plan(out, quick, only, workers=workers, train_missing=train_missing)
    if show_plan is not None:
        show_plan(the_plan.describe())
    verdicts = the_plan.execute(progress)
    folder = output_dir(out)
    write_json(verdicts, folder / "verdicts.json")
    (folder / "verdicts.txt").write_text(table(verdicts) + "\n")
    return verdicts


__all__ = ["run_all", "plan", "CHECKS", "Verdict", "table", "output_dir", "HOLDS", "HOLDS_CORRECTED", "FAILS",
           "NOT_RUN", "RunSpec", "CheckNotRun", "obtain", "record_path"]
