"""Figure 3, appendix C: an initially stable student learning a teacher with two unstable eigenvalues.

The paper: "we train an initially stable student network to follow a teacher
network with two unstable eigenvalues ... the first eigenvalue in the student
network quickly crosses the stability boundary and moves toward the dominant
unstable teacher mode.  However, the second rises much more slowly ... learning
the second unstable mode requires roughly two orders of magnitude more
iterations."

The paper gives no construction, so (all in ``numerics.rnn``):

* teacher ``build_two_mode_teacher``: b = 0, readout block diag(c_1, c_2) with
  c_k = artanh(r_k) / r_k, r = (0.8, 0.5) -> c = (1.373, 1.099), hidden block
  contracting -- exactly two unstable eigenvalues, along the readout axes;
* student ``stable_student``: Xavier W rescaled to spectral radius 0.5, b = 0;
* the ``"symmetric"`` configuration (b = 0 untrained, mirrored batches), so the
  origin stays a fixed point and the student's eigenvalues of W are its
  multipliers -- the quantities the figure plots;
* "mode k learned" at t_k: the first record from which the k-th largest
  eigenvalue modulus of W stays above 1 to the end of the run (the k-th
  bifurcation at the origin); also the first record from which it stays
  within half the teacher's excess, |lambda_k - c_k| <= (c_k - 1) / 2.

Runs: SGD, and the rank-2 natural gradient with its default damping 1 / lr
and with a 10x smaller damping (0.1 / lr), which preconditions the top two
modes strongly.  ``python -m paper_checks`` trains them (paper scale N = 64,
B = 256, 10 000 steps, loss-only records: ≈ 3 min per run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.rnn import TrainConfig, TrainingRecord, build_two_mode_teacher, stable_student

from ._runs import RunSpec, obtain, seed_keys, seed_names
from ._verdict import FAILS, HOLDS, Verdict, combine, fmt_spread, save_figure

PAPER = dict(N=64, B=256, T=25, steps=10_000, lr=1e-2, record_every=50)
QUICK = dict(N=16, B=64, T=25, steps=8000, lr=2e-2, record_every=50)
R = (0.8, 0.5)
RADIUS = 0.5
PAPER_RATIO = 100.0
TOLERANCE = (30.0, 300.0)  # "roughly two orders of magnitude"
CLAIM = "fig3: the second unstable mode is learned ~100x more slowly than the first"


def _overrides(quick: bool) -> dict[str, dict]:
    lr = (QUICK if quick else PAPER)["lr"]
    return {"SGD": {}, "natural rank 2": dict(optimizer="natural", ng_rank=2),
            "natural rank 2, damping 0.1/lr": dict(optimizer="natural", ng_rank=2, ng_damping=0.1 / lr)}


def runs(quick: bool = False, seeds: int = 1) -> dict[str, RunSpec]:
    """The optimiser settings compared, each a run of a stable student learning the two-mode teacher
    (``seeds`` > 1: each at seeds 0 .. seeds - 1, keyed ``name`` and ``name seed s``)."""
    specs = {name: RunSpec(f"figure 3: two unstable modes, {name}",
                           TrainConfig(config="symmetric", diagnostics="loss", **(QUICK if quick else PAPER), **o),
                           setup="two_mode", check="fig3_two_modes")
             for name, o in _overrides(quick).items()}
    return seed_names(specs, seeds)


def setup(cfg: TrainConfig) -> dict:
    """Who trains whom in figure 3: the two-mode teacher and a stable student (:data:`RADIUS`)."""
    return {"teacher": build_two_mode_teacher(cfg.N, R, seed=cfg.seed).net,
            "student": stable_student(cfg.N, RADIUS, seed=cfg.seed + 1)}


def records(out_dir: Path, quick: bool = False, train_missing: bool = True, seeds: int = 1) -> dict:
    """The records keyed (optimiser setting, seed)."""
    return {key: obtain(out_dir, spec, train_missing=train_missing)
            for key, spec in seed_keys(runs(quick), seeds).items()}


def teacher_eigenvalues(cfg: TrainConfig) -> np.ndarray:
    """The two unstable eigenvalues (moduli, decreasing) of the teacher a run with ``cfg`` learns."""
    return np.sort(np.abs(np.linalg.eigvals(build_two_mode_teacher(cfg.N, R, seed=cfg.seed).net.W)))[::-1][:2]


def eigen_track(rec: TrainingRecord, k: int = 3) -> np.ndarray:
    """(records, k): the k largest eigenvalue moduli of the student's W at each record."""
    return np.array([np.sort(np.abs(np.linalg.eigvals(W)))[::-1][:k] for W in rec.W])


def _settled_from(ok: np.ndarray) -> int | None:
    """First index from which ``ok`` holds to the end, or None."""
    if not ok[-1]:
        return None
    bad = np.flatnonzero(~ok)
    return int(bad[-1] + 1) if bad.size else 0


FRACTIONS = (0.5, 0.2, 0.1)  # "learned" read as: within this fraction of the teacher's excess c_k - 1


def learning_times(rec: TrainingRecord, teacher_eigs: np.ndarray) -> dict:
    """t_k (unstable for good) and t_k^half (within half the teacher's excess for good), k = 1, 2.

    ``ratio_by_tolerance`` gives t_2 / t_1 for every reading of "learned" in
    :data:`FRACTIONS` (None where a mode never settles within it), so the
    verdict does not hang on one definition.
    """
    lam = eigen_track(rec)
    steps = np.array(rec.steps)
    out = {}
    for k in (0, 1):
        unstable = _settled_from(lam[:, k] > 1.0)
        near = _settled_from(np.abs(lam[:, k] - teacher_eigs[k]) <= (teacher_eigs[k] - 1) / 2)
        out[f"mode{k + 1}_unstable_step"] = None if unstable is None else int(steps[unstable])
        out[f"mode{k + 1}_near_teacher_step"] = None if near is None else int(steps[near])
        out[f"mode{k + 1}_final"] = float(lam[-1, k])
    t1, t2 = out["mode1_unstable_step"], out["mode2_unstable_step"]
    out["ratio"] = (t2 / max(t1, steps[1] - steps[0])) if t1 is not None and t2 is not None else None
    if t1 is not None and t2 is None:  # second mode never learned: a lower bound
        out["ratio_at_least"] = float(steps[-1] / max(t1, steps[1] - steps[0]))
    by_tol = {}
    for frac in FRACTIONS:
        t = [_settled_from(np.abs(lam[:, k] - teacher_eigs[k]) <= frac * (teacher_eigs[k] - 1)) for k in (0, 1)]
        by_tol[f"within {frac:g} of the excess"] = (
            {"steps": [int(steps[t[0]]), int(steps[t[1]])],
             "ratio": float(steps[t[1]] / max(steps[t[0]], steps[1] - steps[0]))}
            if None not in t else {"steps": [None if i is None else int(steps[i]) for i in t], "ratio": None})
    out["ratio_by_tolerance"] = by_tol
    out["final_loss"] = float(rec.loss[-1])
    return out


def _figure(recs: dict, teacher_eigs: np.ndarray, out_dir: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    for j, (name, rec) in enumerate(recs.items()):
        lam = eigen_track(rec)
        for k in range(2):
            axes[0].plot(rec.steps, lam[:, k], color=f"C{j}", linestyle="-" if k == 0 else "-.", linewidth=1)
        axes[1].semilogy(rec.steps, rec.loss, color=f"C{j}", label=name, linewidth=1)
    for c in teacher_eigs[:2]:
        axes[0].axhline(c, color="k", linestyle="--", linewidth=0.8)
    axes[0].axhline(1.0, color="grey", linestyle=":", linewidth=0.8)
    axes[0].set_title("A  student eigenvalues of W (dashed: teacher's unstable ones)")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("|eigenvalue| of W (solid: 1st, dash-dot: 2nd)")
    axes[1].set_title("B  loss")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("readout MSE on the diagnostic batch (log)")
    # one legend for both panels, below them, so no curve is covered
    handles = [axes[1].lines[j] for j in range(len(recs))]
    fig.legend(handles, list(recs), loc="outside lower center", ncol=len(recs), fontsize="small")
    return save_figure(fig, out_dir, "figure3_two_modes.png")


def _describe(name: str, t: dict) -> str:
    ratio = (f"ratio {t['ratio']:.3g}" if t["ratio"] is not None else
             f"second never unstable (ratio > {t['ratio_at_least']:.3g})" if "ratio_at_least" in t else "no ratio")
    return (f"{name}: mode 1 unstable from step {t['mode1_unstable_step']}, mode 2 from {t['mode2_unstable_step']} "
            f"({ratio}); near teacher from {t['mode1_near_teacher_step']} / {t['mode2_near_teacher_step']}")


CLAIMS = {CLAIM: "learning the second unstable mode requires roughly two orders of magnitude more iterations "
                 "(app. C, fig. 3)"}


def _sgd_ratio(t: dict):
    return t["ratio"] if t["ratio"] is not None else t.get("ratio_at_least")


def seed_verdict(t: dict) -> str:
    """One seed's verdict: SGD's t2 / t1 within :data:`TOLERANCE` (a lower bound counts if above its low end)."""
    ratio = _sgd_ratio(t)
    holds = ratio is not None and TOLERANCE[0] <= ratio and (t["ratio"] is None or ratio <= TOLERANCE[1])
    return HOLDS if holds else FAILS


def run(out_dir: Path, quick: bool = False, train_missing: bool = True, seeds: int = 1) -> list[Verdict]:
    keyed = records(out_dir, quick, train_missing, seeds)
    names = list(runs(quick))
    teacher_eigs = teacher_eigenvalues(keyed[("SGD", 0)].config)
    times = {key: learning_times(rec, teacher_eigenvalues(rec.config)) for key, rec in keyed.items()}
    png = _figure({name: keyed[(name, 0)] for name in names}, teacher_eigs, out_dir)
    per_seed = {s: seed_verdict(times[("SGD", s)]) for s in range(seeds)}
    verdict, count = combine(per_seed)
    scale = ("reduced N=16, 8000 steps" if quick else "paper-like N=64, 10 000 steps") + \
        f", {seeds} seed{'s' if seeds > 1 else ''}"
    sgd = times[("SGD", 0)]
    tolerances = ", ".join(f"{k.split()[1]}: {v['ratio']:.3g}" if v["ratio"] is not None else f"{k.split()[1]}: -"
                           for k, v in sgd["ratio_by_tolerance"].items())
    over = "; ".join(
        f"{name}: t1 {fmt_spread([times[(name, s)]['mode1_unstable_step'] or float('nan') for s in range(seeds)], '.4g')}"
        f", t2 {fmt_spread([times[(name, s)]['mode2_unstable_step'] or float('nan') for s in range(seeds)], '.4g')}"
        f", t2/t1 {fmt_spread([_sgd_ratio(times[(name, s)]) or float('nan') for s in range(seeds)])}"
        f" ({sum(times[(name, s)]['mode2_unstable_step'] is None for s in range(seeds))} seed(s) never unstable)"
        for name in names)
    summary = (f"{scale}; teacher c = {np.round(teacher_eigs, 4).tolist()}; {count}; {over}; seed 0 SGD t2/t1 with "
               f"'learned' = within a fraction of the teacher's excess ({tolerances})")
    correction = ""
    if verdict != HOLDS:
        correction = (f"{count}: with this construction plain SGD makes the second mode unstable at t2/t1 = "
                      f"{fmt_spread([_sgd_ratio(times[('SGD', s)]) or float('nan') for s in range(seeds)])} (median, "
                      f"range over seeds); reading 'learned' as 'within a fraction of the teacher's excess' gives "
                      f"(seed 0) {tolerances}. The paper does not specify its teacher, student or learning rate, so "
                      "its ~100x is not reproducible as stated; what it needs is a setting where the first mode's "
                      "channel dominates long after its bifurcation")
    return [Verdict(
        claim=CLAIM,
        paper=CLAIMS[CLAIM],
        measured={"scale": scale, "seeds": seeds, "teacher_eigenvalues": teacher_eigs.tolist(),
                  "per_seed_verdict": per_seed, "runs": {name: times[(name, 0)] for name in names},
                  "per_seed": {s: {name: times[(name, s)] for name in names} for s in range(seeds)}},
        verdict=verdict,
        correction=correction,
        tolerance=f"per seed: t2 / t1 within [{TOLERANCE[0]:g}, {TOLERANCE[1]:g}] for SGD (t_k: first record from "
                  "which the k-th eigenvalue modulus of W stays > 1); over seeds: counted",
        summary=summary,
        figures=[png.name],
    )]
