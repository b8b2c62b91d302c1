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
          "fig3_two_modes", "fig3_phase", "fig4_natural_gradient")


def _selected(only: list[str] | None) -> list[str]:
    for name in only or ():
        if name not in CHECKS:
            raise ValueError(f"unknown check {name!r}; choose from {', '.join(CHECKS)}")
    return [c for c in CHECKS if c in (only or CHECKS)]


def plan(out: str | Path | None = None, quick: bool = False, only: list[str] | None = None, *,
         workers: int | None = None, train_missing: bool = True, seeds: int | None = None):
    """The :class:`~paper_checks._plan.Plan` of the main job: checks, records (present / resumable / missing),
    estimated time of each task and in total.  Builds it without training anything (a few seconds of
    calibration runs measure this machine's step costs).  ``seeds``: seeds of the RNN checks (default 5, quick 2)."""
    from ._plan import Plan

    return Plan.build(output_dir(out), _selected(only), quick, workers, train_missing, seeds)


def run_all(out: str | Path | None = None, quick: bool = False, only: list[str] | None = None, *,
            workers: int | None = None, train_missing: bool = True, progress: bool | None = None,
            show_plan=None, seeds: int | None = None) -> list[Verdict]:
    """Run every check (or those named in ``only``); write JSON and the table to ``out``.

    Missing training records are trained first (unless ``train_missing`` is
    False: then their checks say "not run" and why), in parallel worker
    processes with one BLAS thread each (``workers``, default one per CPU),
    resuming any checkpoint.  ``quick`` uses the reduced configurations (the
    tests use it); its verdicts are labelled as smoke tests.  ``show_plan``
    (e.g. ``print``) receives the plan's description before work starts.  ``seeds``: every claim about
    a trained network is checked on this many independent runs (default 5; quick 2) and reported as
    median and range, with the number of seeds for which it holds.
    """
    the_plan = plan(out, quick, only, workers=workers, train_missing=train_missing, seeds=seeds)
    if show_plan is not None:
        show_plan(the_plan.describe())
    verdicts = the_plan.execute(progress)
    folder = output_dir(out)
    write_json(verdicts, folder / "verdicts.json")
    (folder / "verdicts.txt").write_text(table(verdicts) + "\n")
    return verdicts


def records(check: str, out: str | Path | None = None, quick: bool = False, train_missing: bool = True) -> dict:
    """The training records a check reads, by role (e.g. ``{"paper": ..., "symmetric": ...}`` for figure 1).

    Loaded from ``<out>/runs``; a missing one is trained (resuming its
    checkpoint) unless ``train_missing`` is False, which raises
    :class:`CheckNotRun` naming the command that makes it.  For figure 4 the
    rank-k run decided by the SGD spectrum is included when k > 1.
    """
    import importlib

    module = importlib.import_module(f"{__name__}.{_selected([check])[0]}")
    if not hasattr(module, "runs"):
        return {}
    folder = output_dir(out)
    specs = dict(module.runs(quick))
    if hasattr(module, "later_runs"):
        specs.update(module.later_runs(folder, quick, train_missing))
    return {role: obtain(folder, spec, train_missing=train_missing) for role, spec in specs.items()}


def records_present(out: str | Path | None = None, quick: bool = False, only: list[str] | None = None,
                    seeds: int = 1) -> bool:
    """Whether every record the (selected) checks read at this scale is on disk -- e.g. to pick a notebook's scale."""
    import importlib

    from ._runs import check_runs, status
    from ._verdict import output_path

    folder = output_path(out)
    for name in _selected(only):
        module = importlib.import_module(f"{__name__}.{name}")
        for spec in check_runs(module, quick, seeds).values():
            if status(folder, spec)[0] != "done":
                return False
    return True


from .fig1_rnn_collapse import analyse as analyse_training  # noqa: E402 - re-exported analysis functions
from .fig1e_crosscheck import checkpoint as crosscheck_checkpoint  # noqa: E402
from .fig1e_crosscheck import crosscheck  # noqa: E402
from .fig3_two_modes import eigen_track, learning_times, teacher_eigenvalues  # noqa: E402
from .fig4_natural_gradient import curve_stats, edge_spectrum  # noqa: E402

__all__ = ["run_all", "plan", "records", "records_present", "analyse_training", "crosscheck", "crosscheck_checkpoint",
           "eigen_track", "learning_times", "teacher_eigenvalues", "curve_stats", "edge_spectrum", "CHECKS", "Verdict", "table", "output_dir", "HOLDS", "HOLDS_CORRECTED", "FAILS",
           "NOT_RUN", "RunSpec", "CheckNotRun", "obtain", "record_path"]
