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

from ._verdict import FAILS, HOLDS, HOLDS_CORRECTED, Verdict, output_dir, table, write_json

CHECKS = ("fig2_amplification", "sec3_stability_flip", "sec3_pitchfork", "fig1_rnn_collapse", "fig1e_crosscheck",
          "fig3_two_modes", "fig4_natural_gradient")


def run_all(out: str | Path | None = None, quick: bool = False, only: list[str] | None = None) -> list[Verdict]:
    """Run every check (or those named in ``only``); write JSON and figures to ``out``.

    ``quick`` uses reduced ensembles and grids (the tests use it); the
    verdicts are computed the same way.
    """
    import importlib

    folder = output_dir(out)
    verdicts: list[Verdict] = []
    for name in only or CHECKS:
        if name not in CHECKS:
            raise ValueError(f"unknown check {name!r}; choose from {', '.join(CHECKS)}")
        module = importlib.import_module(f"{__name__}.{name}")
        verdicts.extend(module.run(folder, quick=quick) if name.startswith("fig") else module.run(quick=quick))
    write_json(verdicts, folder / "verdicts.json")
    (folder / "verdicts.txt").write_text(table(verdicts) + "\n")
    return verdicts


__all__ = ["run_all", "CHECKS", "Verdict", "table", "output_dir", "HOLDS", "HOLDS_CORRECTED", "FAILS"]
