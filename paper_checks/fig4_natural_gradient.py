"""Figure 4, appendix C.1: the low-rank natural gradient smooths training through the bifurcations.

The paper: "Reconditioning only the top Fisher/NTK mode produces much smoother
and cleaner training than plain GD, with very little overhead, while still
preserving the large loss drops at the bifurcations."

Same task, teacher, seed and batches (the ``"paper"`` configuration of
figure 1), for every seed of the main job (each seed its own teacher, student
draw and batches, and its own rank k from its own SGD spectrum): plain SGD against :class:`~numerics.rnn.LowRankNaturalGradient`
(rank 1, damping 1 / lr, refresh every 10 steps, 2 warm-started Fisher
products per refresh).  Measured on the loss of the fixed diagnostic batch
(so the batches' sampling noise, which no preconditioner removes, does not
count):

* roughness ``loss_roughness``: sum of upward jumps of log-loss between
  records, over the whole run and split at the end of each run's first drop
  (the first learned bifurcation, where one Fisher mode dominates) -- target:
  SGD / natural >= 3;
* the drops ``loss_drops`` (running-median log-loss falling >= 2x within 5
  records) that sit at a change in the run's number of attractors -- the
  bifurcations are kept, not smoothed away;
* final loss (median of the last 5 records) no worse than SGD's;
* why: SGD's Fisher spectrum in units of 2 / lr at checkpoints (``lr lambda_i``,
  ``gauss_newton_spectrum``); a mode with lr lambda >= 1 is at or near the edge
  of stability (lr lambda = 2).  When several modes are there, rank 1 cannot
  smooth the curve and the rank is raised to their number -- the paper's own
  remark "for learning multiple bifurcations in sequence, replacing the
  rank-one ... approximation with a low-rank estimator is more natural".

The overhead per step is a speed measurement and lives in
``benchmarks/bench_natural.py`` (benchmarks/README.md), not here.
Paper scale trains up to three 35 000-step runs per seed (≈ 10 min each on
one core; SGD's is figure 1's) the first time; the records are kept in
``<out>/runs``.  The verdict counts the seeds for which the claim holds, the
numbers are median (range) over them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from numerics.rnn import (TrainConfig, TrainingRecord, bifurcation_events, gauss_newton_spectrum, loss_drops,
                          loss_roughness)

from . import fig1_rnn_collapse
from ._runs import CheckNotRun, RunSpec, obtain, record_path, seed_names, seeded
from ._verdict import FAILS, HOLDS, HOLDS_CORRECTED, NOT_RUN, Verdict, combine, fmt_spread, save_figure

TARGET_RATIO = 3.0
EDGE = 1.0  # lr lambda at or above which a mode counts as near the edge of stability (lr lambda = 2)
N_SPECTRA = 8
CLAIM = "fig4: rank-1 natural gradient smooths the loss, keeps the drops, little overhead"
# The natural-gradient runs record the loss and the fixed points (for the attractor changes the drops are matched
# with), not the sNTK spectrum; the batches are the SGD run's all the same (the diagnostics have their own stream).
NATURAL = dict(optimizer="natural", diagnostics="events")


def rank_k_settings(k: int) -> dict:
    """The rank-k run: refresh every 5k steps, so its refresh cost per step is that of rank 2 every 10 steps.

    A refresh costs ``iters`` rank-k Fisher products, so the overhead over SGD
    grows as k iters / refresh; scaling the period with k keeps it at the
    rank-2 figure of ``benchmarks/bench_natural.py`` (the subspace moves slowly
    once the bifurcations are learned, so the warm start tolerates the longer period).
    """
    return dict(optimizer="natural", ng_rank=k, ng_refresh=5 * k)


#: The comparison of issue 20, over the first BASELINE_SEEDS seeds: what a practitioner facing a rough loss would
#: reach for -- heavy-ball momentum and Adam, each at the usual setting and one other learning rate (momentum's lr in
#: units of SGD's: (1 - mu) lr_SGD is the same long-run step) -- and the natural gradient choosing its own rank
#: (threshold lr lambda = 1, hysteresis 2, refreshed every 20 steps like the rank-4 run).
BASELINE_SEEDS = 3
BASELINES = {
    "momentum, lr 0.1 SGD's": dict(optimizer="momentum", lr_factor=0.1),
    "momentum, lr 0.3 SGD's": dict(optimizer="momentum", lr_factor=0.3),
    "adam, lr 1e-3": dict(optimizer="adam", lr=1e-3),
    "adam, lr 3e-4": dict(optimizer="adam", lr=3e-4),
    "natural, adaptive rank": dict(optimizer="natural", ng_rank="auto", ng_refresh=20),
}
#: The adaptive rank's threshold, varied (the default, 1, is where SGD starts to overshoot a mode): each value and
#: the number of seeds it runs at (0.5 met the targets on seed 0, so it was repeated on the others).
THRESHOLDS = {0.5: BASELINE_SEEDS, 2.0: 1}
#: The adaptive rank at threshold 0.5 with its Fisher on a quarter of each batch (``ng_batch``): a refresh costs a
#: quarter, for the overhead target; on every baseline seed.
QUARTER = "natural, adaptive rank, threshold 0.5, curvature on a quarter of the batch"
#: ... and with its whole-batch Fisher refreshed every 40 steps by one product (``ng_iters=1``): 1.24x an SGD step.
SLOW_REFRESH = "natural, adaptive rank, threshold 0.5, one product every 40 steps"


def _baseline_config(sgd: TrainConfig, settings: dict) -> TrainConfig:
    settings = dict(settings)
    if "lr_factor" in settings:
        settings["lr"] = sgd.lr * settings.pop("lr_factor")
    return TrainConfig(**{**asdict(sgd), "diagnostics": "events", **settings})


def baseline_runs(quick: bool = False, seeds: int = BASELINE_SEEDS) -> dict[str, RunSpec]:
    """The runs of :data:`BASELINES` at seeds 0 .. min(seeds, BASELINE_SEEDS) - 1 and the threshold study
    at seed 0, keyed like :func:`runs` (``name`` at seed 0, ``name seed s`` after it)."""
    sgd = fig1_rnn_collapse.runs(quick)["paper"]
    specs = {name: RunSpec(f"figure 4 baselines: {name}", _baseline_config(sgd.config, settings),
                           check="fig4_natural_gradient") for name, settings in BASELINES.items()}
    out = seed_names(specs, min(seeds, BASELINE_SEEDS))
    adaptive = BASELINES["natural, adaptive rank"]
    for th, n in THRESHOLDS.items():
        out.update(seed_names({f"natural, adaptive rank, threshold {th:g}": RunSpec(
            f"figure 4 baselines: adaptive rank, threshold {th:g}",
            _baseline_config(sgd.config, {**adaptive, "ng_threshold": th}), check="fig4_natural_gradient")},
            min(seeds, n)))
    out.update(seed_names({QUARTER: RunSpec(
        "figure 4 baselines: adaptive rank, threshold 0.5, Fisher on a quarter of the batch",
        _baseline_config(sgd.config, {**adaptive, "ng_threshold": 0.5, "ng_batch": max(1, sgd.config.B // 4)}),
        check="fig4_natural_gradient")}, min(seeds, BASELINE_SEEDS)))
    out.update(seed_names({SLOW_REFRESH: RunSpec(
        "figure 4 baselines: adaptive rank, threshold 0.5, one Fisher product every 40 steps",
        _baseline_config(sgd.config, {**adaptive, "ng_threshold": 0.5, "ng_refresh": 40, "ng_iters": 1}),
        check="fig4_natural_gradient")}, min(seeds, BASELINE_SEEDS)))
    return out


def runs(quick: bool = False, seeds: int = 1) -> dict[str, RunSpec]:
    """SGD (figure 1's paper-faithful run) and the rank-1 natural gradient on the same task, seed and batches.

    ``seeds`` > 1: both at seeds 0 .. seeds - 1, keyed ``name`` (seed 0) and ``name seed s``.
    """
    sgd = fig1_rnn_collapse.runs(quick)["paper"]
    natural = RunSpec("figure 4: natural gradient, rank 1", TrainConfig(**{**asdict(sgd.config), **NATURAL}),
                      check="fig4_natural_gradient")
    return {**seed_names({"SGD": sgd, "natural rank 1": natural}, seeds), **baseline_runs(quick, seeds)}


def later_runs(out_dir: Path, quick: bool = False, train_missing: bool = True, seed: int = 0) -> dict[str, RunSpec]:
    """The rank-k run of ``seed``, k = the number of that seed's SGD Fisher modes at the edge of stability
    (needs its SGD record); keyed ``natural rank k`` (seed 0) or ``natural rank k seed s``."""
    sgd = seeded(runs(quick)["SGD"], seed)
    k = sgd_spectrum(out_dir, sgd, train_missing)["rank_needed"]
    if k <= 1:
        return {}
    cfg = TrainConfig(**{**asdict(sgd.config), **NATURAL, **rank_k_settings(k)})
    tag = f" [seed {seed}]" if seed else ""
    return {f"natural rank {k}" + (f" seed {seed}" if seed else ""):
            RunSpec(f"figure 4: natural gradient, rank {k} (the SGD run's count){tag}", cfg,
                    check="fig4_natural_gradient")}


def sgd_spectrum(out_dir: Path, sgd: RunSpec, train_missing: bool = True) -> dict:
    """:func:`edge_spectrum` of the SGD record, computed once and kept beside the record."""
    cache = record_path(out_dir, sgd).with_name(f"{sgd.name}.spectrum.json")
    settings = {"n": N_SPECTRA, "k": 8, "rng": 7, "edge": EDGE}
    if cache.is_file():
        try:
            saved = json.loads(cache.read_text())
            if saved.get("settings") == settings:
                return saved["spectrum"]
        except (ValueError, KeyError):
            pass  # damaged: recompute
    spectrum = edge_spectrum(obtain(out_dir, sgd, train_missing=train_missing))
    cache.write_text(json.dumps({"settings": settings, "spectrum": spectrum}))
    return spectrum


def edge_spectrum(rec: TrainingRecord, n: int = N_SPECTRA, k: int = 8, rng: int = 7) -> dict:
    """lr lambda_i (top ``k``) of the readout Fisher at ``n`` evenly spaced checkpoints, on a training batch."""
    cfg = rec.config
    x = cfg.inputs(cfg.B, rng)
    idx = np.unique(np.linspace(0, len(rec.steps) - 1, n).round().astype(int))
    spectra = [cfg.lr * gauss_newton_spectrum(rec.network(i), x, cfg.T, k, params=cfg.params) for i in idx]
    counts = [int(np.sum(s >= EDGE)) for s in spectra]
    return {"steps": [int(rec.steps[i]) for i in idx], "lr_lambda": [np.round(s, 3).tolist() for s in spectra],
            "modes_at_edge": counts, "rank_needed": max(1, max(counts))}


def _at_bifurcation(drops: list, events: list) -> list:
    """The drops whose episode lies within 2 records of a change in the number of attractors."""
    return [d for d in drops if any(d.start - 2 <= e.index <= d.end + 2 for e in events)]


def curve_stats(rec: TrainingRecord, approach_until: int | None = None) -> dict:
    """Roughness (whole run / approach to the first bifurcation / after), drops, attractor changes, final loss.

    The approach is the records before step ``approach_until`` (default: the
    start of this run's first drop at a bifurcation), the stretch where one
    Fisher mode dominates.  The initial transient (the loss halving in the first
    records, no bifurcation) is a drop too but not one at a bifurcation.
    """
    steps, loss = np.array(rec.steps), np.array(rec.loss)
    drops = loss_drops(steps, loss)
    events = bifurcation_events(rec.steps, rec.fixed_points, attractors_only=True)
    at_bif = _at_bifurcation(drops, events)
    if approach_until is None:
        approach_until = int(steps[at_bif[0].start]) if at_bif else int(steps[-1])
    cut = max(1, int(np.searchsorted(steps, approach_until)))
    return {
        "roughness": loss_roughness(loss),
        "roughness_approach": loss_roughness(loss[:cut + 1]),
        "roughness_after": loss_roughness(loss[cut:]) if cut < len(loss) - 1 else 0.0,
        "approach_until_step": int(steps[min(cut, len(steps) - 1)]),
        "drops": [{"step": d.step, "factor": round(d.factor, 3)} for d in drops],
        "drops_at_bifurcations": [{"step": d.step, "factor": round(d.factor, 3)} for d in at_bif],
        "attractor_changes": [int(e.step_after) for e in events],
        "final_loss": float(np.median(loss[-5:])),
        "largest_upward_jump": float(np.max(np.diff(np.log(loss)))),
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def _drop_steps(stats: dict) -> list:
    return [d["step"] for d in stats["drops_at_bifurcations"]]


def _times(ratio: float) -> str:
    return f"x{ratio:.3g}" if np.isfinite(ratio) else "to a monotone curve"


def _figure(recs: dict, spectrum: dict, out_dir: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    for name, rec in recs.items():
        axes[0].semilogy(rec.steps, rec.loss, label=name, linewidth=1)
    axes[0].set_title("A  loss on the fixed diagnostic batch")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("readout MSE (log)")
    axes[0].legend(fontsize="small", loc="best")
    lam = np.array(spectrum["lr_lambda"])
    for j in range(lam.shape[1]):
        axes[1].plot(spectrum["steps"], lam[:, j], "o-", markersize=3, linewidth=0.8, label=f"mode {j + 1}")
    axes[1].axhline(2.0, color="k", linestyle="--", linewidth=0.8)
    axes[1].axhline(EDGE, color="k", linestyle=":", linewidth=0.8)
    axes[1].set_yscale("log")
    axes[1].set_title("B  SGD: lr x Fisher eigenvalues (edge of stability at 2)")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("lr x lambda_i (log; dashed: 2, dotted: 1)")
    axes[1].legend(fontsize="x-small", ncol=2, loc="best")
    return save_figure(fig, out_dir, "figure4_natural_gradient.png")


CLAIMS = {CLAIM: "Reconditioning only the top Fisher/NTK mode produces much smoother and cleaner training than plain "
                 "GD, with very little overhead, while still preserving the large loss drops at the bifurcations "
                 "(app. C.1, fig. 4)",
          "app C.1 (future work): the natural gradient selects its own rank during training":
              "Efficiently selecting the rank of the natural-gradient estimator during training is a direction for "
              "future work (app. C.1)"}


def seed_result(out_dir: Path, quick: bool, train_missing: bool, seed: int) -> dict:
    """One seed's figure 4: its records, SGD spectrum, curve statistics, verdict, and why (the correction)."""
    specs = {name: seeded(spec, seed) for name, spec in runs(quick).items() if name in ("SGD", "natural rank 1")}
    recs = {name: obtain(out_dir, spec, train_missing=train_missing) for name, spec in specs.items()}
    spectrum = sgd_spectrum(out_dir, specs["SGD"], train_missing)
    k = spectrum["rank_needed"]
    for spec in later_runs(out_dir, quick, train_missing, seed).values():
        recs[f"natural rank {k}"] = obtain(out_dir, spec, train_missing=train_missing)
    sgd = recs["SGD"]
    sgd_stats = curve_stats(sgd)  # its approach ends where its first drop at a bifurcation starts
    until = sgd_stats["approach_until_step"] if sgd_stats["drops_at_bifurcations"] else None
    stats = {name: sgd_stats if rec is sgd else curve_stats(rec, until) for name, rec in recs.items()}
    s, n = stats["SGD"], stats["natural rank 1"]
    ratio = _ratio(s["roughness"], n["roughness"])

    def misses(st: dict) -> list[str]:
        """The targets a run misses against this seed's SGD, each with its number."""
        out = []
        if _ratio(s["roughness"], st["roughness"]) < TARGET_RATIO:
            out.append(f"roughness only {_times(_ratio(s['roughness'], st['roughness']))}")
        if not (st["drops_at_bifurcations"] and s["drops_at_bifurcations"]):
            out.append("no drop at a bifurcation")
        if st["final_loss"] > s["final_loss"]:
            out.append(f"final loss {st['final_loss'] / s['final_loss']:.5f}x SGD's")
        return out

    def passes(st: dict) -> bool:
        return not misses(st)

    out = {"recs": recs, "stats": stats, "spectrum": spectrum, "k": k, "until": until, "ratio": ratio,
           "ratio_approach": _ratio(s["roughness_approach"], n["roughness_approach"]),
           "later_share": s["roughness_after"] / s["roughness"] if s["roughness"] > 0 else 0.0,
           "ratio_k": None}
    if passes(n):
        out["verdict"] = HOLDS
    elif k > 1:
        out["ratio_k"] = _ratio(s["roughness"], stats[f"natural rank {k}"]["roughness"])
        out["verdict"] = HOLDS_CORRECTED if passes(stats[f"natural rank {k}"]) else FAILS
    else:
        out["verdict"] = FAILS
    out["passes_k"] = k > 1 and passes(stats[f"natural rank {k}"])
    out["misses"] = {name: misses(st) for name, st in stats.items() if name != "SGD"}
    return out


#: The adaptive rank's targets (issue 20): roughness >= 3x below SGD's and within 2x of the best fixed rank's, final
#: loss no worse than SGD's, the drops at bifurcations kept.
ADAPTIVE_TARGETS = {"roughness_vs_sgd": 3.0, "roughness_vs_best_fixed": 2.0}
ADAPTIVE_CLAIM = "app C.1 (future work): the natural gradient selects its own rank during training"


def baseline_result(out_dir: Path, quick: bool, train_missing: bool, seed: int, main: dict) -> dict:
    """One seed's comparison: every baseline's curve statistics against the same seed's SGD, the best learning
    rate of each first-order family (lowest final loss), the adaptive rank's history and its targets."""
    specs = {name[: -len(f" seed {seed}")] if seed else name: spec
             for name, spec in baseline_runs(quick, seed + 1).items()
             if (name.endswith(f" seed {seed}") if seed else "seed" not in name)}
    recs = {name: obtain(out_dir, spec, train_missing=train_missing) for name, spec in specs.items()}
    sgd = main["stats"]["SGD"]
    stats = {name: curve_stats(rec, main["until"]) for name, rec in recs.items()}
    rows = {}
    for name, st in {**{n: v for n, v in main["stats"].items() if n != "SGD"}, **stats}.items():
        rows[name] = {"roughness_ratio": _ratio(sgd["roughness"], st["roughness"]),
                      "final_loss_ratio": st["final_loss"] / sgd["final_loss"],
                      "drops_kept": bool(st["drops_at_bifurcations"]), "roughness": st["roughness"],
                      "final_loss": st["final_loss"]}
    best = {}
    for family in ("momentum", "adam"):
        members = [n for n in stats if n.startswith(family)]
        best[family] = min(members, key=lambda n: stats[n]["final_loss"]) if members else None
    fixed = [n for n in main["stats"] if n.startswith("natural rank")]
    best_fixed = min(fixed, key=lambda n: main["stats"][n]["roughness"])
    out = {"rows": rows, "best": best, "best_fixed": best_fixed, "adaptive": {}}
    for name, rec in recs.items():
        if name.startswith("natural, adaptive rank"):
            ks = np.asarray(rec.ng_ranks)
            out["adaptive"][name] = {"k_max": int(ks.max()), "k_final": int(ks[-1]), "k_mean": float(ks.mean()),
                                     "k_changes": int(np.sum(np.diff(ks) != 0)),
                                     "k_steps": [int(rec.steps[i]) for i in np.flatnonzero(np.diff(ks)) + 1][:12],
                                     "k_values": [int(k) for k in ks[np.flatnonzero(np.diff(ks)) + 1]][:12]}
    misses = _adaptive_misses(rows, "natural, adaptive rank", best_fixed)
    out["threshold_misses"] = {n: _adaptive_misses(rows, n, best_fixed) for n in rows if "threshold" in n}
    out["adaptive_misses"] = misses
    out["verdict"] = HOLDS if not misses else FAILS
    out["beats"] = {family: (name is not None and rows["natural, adaptive rank"]["roughness"] < rows[name]["roughness"]
                             and rows["natural, adaptive rank"]["final_loss"] < rows[name]["final_loss"])
                    for family, name in best.items()}
    return out


def _adaptive_misses(rows: dict, name: str, best_fixed: str) -> list[str]:
    """The adaptive-rank targets the run ``name`` misses on one seed, each with its number."""
    a, fixed = rows[name], rows[best_fixed]
    misses = []
    if a["roughness_ratio"] < ADAPTIVE_TARGETS["roughness_vs_sgd"]:
        misses.append(f"roughness only {_times(a['roughness_ratio'])} below SGD's")
    if a["roughness"] > ADAPTIVE_TARGETS["roughness_vs_best_fixed"] * fixed["roughness"]:
        misses.append(f"roughness {a['roughness'] / max(fixed['roughness'], 1e-300):.3g}x the best fixed rank's "
                      f"({best_fixed})")
    if a["final_loss_ratio"] > 1:
        misses.append(f"final loss {a['final_loss_ratio']:.5f}x SGD's")
    if not a["drops_kept"]:
        misses.append("no drop at a bifurcation")
    return misses


def _comparison_verdict(base: dict, seeds_run: int, quick: bool) -> Verdict:
    per_seed = {s: r["verdict"] for s, r in base.items()}
    verdict, count = combine(per_seed)
    rs = list(base.values())
    names = [n for n in rs[0]["rows"] if "threshold" not in n]

    def col(name: str, key: str) -> str:
        return fmt_spread([r["rows"][name][key] for r in rs if name in r["rows"]])

    table = "; ".join(f"{n}: roughness SGD/x {col(n, 'roughness_ratio')}, final loss x/SGD {col(n, 'final_loss_ratio')}, "
                      f"drops kept {sum(r['rows'][n]['drops_kept'] for r in rs if n in r['rows'])}/{len(rs)}"
                      for n in names)
    ad = [r["adaptive"]["natural, adaptive rank"] for r in rs]
    ks = "; ".join(f"seed {s}: k max {a['k_max']}, final {a['k_final']}, mean {a['k_mean']:.2f}, {a['k_changes']} "
                   f"changes (first at steps {a['k_steps'][:4]} -> {a['k_values'][:4]})"
                   for s, a in zip(base, ad))
    best = "; ".join(f"best {fam} (lowest final loss) per seed: " + ", ".join(str(r["best"][fam]) for r in rs)
                     for fam in ("momentum", "adam"))
    beats = ", ".join(f"{fam}: {sum(r['beats'][fam] for r in rs)} of {len(rs)} seeds" for fam in ("momentum", "adam"))
    th = sorted({n for r in rs for n in r["rows"] if "threshold" in n})

    def within(r: dict, n: str) -> bool:
        return r["rows"][n]["roughness"] <= ADAPTIVE_TARGETS["roughness_vs_best_fixed"] * r["rows"][r["best_fixed"]][
            "roughness"]

    threshold = "; ".join(
        f"{n} ({sum(n in r['rows'] for r in rs)} seed(s)): roughness SGD/x {col(n, 'roughness_ratio')}, final loss "
        f"x/SGD {col(n, 'final_loss_ratio')}, within {ADAPTIVE_TARGETS['roughness_vs_best_fixed']:g}x of the best "
        f"fixed rank in {sum(within(r, n) for r in rs if n in r['rows'])}, k max "
        f"{[r['adaptive'][n]['k_max'] for r in rs if n in r['rows']]}" for n in th)
    fails = "; ".join(f"seed {s}: {', '.join(r['adaptive_misses'])}" for s, r in base.items() if r["adaptive_misses"])
    summary = (f"{len(rs)} seeds ({'reduced scale' if quick else 'paper scale'}): adaptive rank {count}; {table}; "
               f"adaptive k: {ks}; {best}; adaptive rank beats the best of the family in roughness and final loss at "
               f"equal steps -- {beats} (a momentum or Adam step costs what an SGD step does and the adaptive one "
               "more, benchmarks/README.md, so at equal wall time the comparison only moves against it)" + (f"; threshold study: {threshold}" if threshold else "")
               + (f"; where it misses: {fails}" if fails else ""))
    correction = "" if verdict == HOLDS else count + (f": {fails}" if fails else "")
    if verdict != HOLDS:  # a threshold of the study that meets every target on every seed it ran is the correction
        good = [n for n in th if len([r for r in rs if n in r["rows"]]) == len(rs)
                and not any(r["threshold_misses"][n] for r in rs)]
        if good:
            verdict = HOLDS_CORRECTED
            n = good[0]
            correction += (f". With {n.split(', ')[-1]} instead of the default 1 the adaptive rank meets every target "
                           f"in all {len(rs)} seeds (roughness SGD/x {col(n, 'roughness_ratio')}, final loss x/SGD "
                           f"{col(n, 'final_loss_ratio')}): the Ritz values of 2 warm-started iterations on one batch "
                           "underestimate a mode and scatter by ~2x, so a mode SGD overshoots (lr lambda >= 1) can read "
                           "as below 1; half the overshoot point covers that (the value was chosen after seed 0 and "
                           "confirmed on the other seeds, the default left at its a-priori 1)")
            for other in good[1:]:
                correction += (f"; so does {other.split(', ', 1)[1]} (roughness SGD/x {col(other, 'roughness_ratio')}, "
                               f"final loss x/SGD {col(other, 'final_loss_ratio')})")
    return Verdict(
        claim=ADAPTIVE_CLAIM,
        paper="Efficiently selecting the rank of the natural-gradient estimator during training is a direction for "
              "future work (app. C.1)",
        measured={"seeds": len(rs), "per_seed_verdict": per_seed, "per_seed": base},
        verdict=verdict, correction=correction,
        tolerance="per seed, the adaptive rank (modes with lr lambda >= 1 join, < 1/2 leave, refresh every 20 steps): "
                  f"roughness >= {ADAPTIVE_TARGETS['roughness_vs_sgd']:g}x below SGD's and <= "
                  f"{ADAPTIVE_TARGETS['roughness_vs_best_fixed']:g}x the best fixed rank's, final loss <= SGD's, the "
                  "drops at bifurcations kept; baselines: momentum 0.9 and Adam, two learning rates each, same seeds "
                  "and batches; overhead per step: benchmarks/bench_natural.py",
        summary=summary, figures=[])


def run(out_dir: Path, quick: bool = False, train_missing: bool = True, seeds: int = 1) -> list[Verdict]:
    results, not_run = {}, {}
    for seed in range(seeds):
        try:
            results[seed] = seed_result(out_dir, quick, train_missing, seed)
        except CheckNotRun as why:
            not_run[seed] = str(why)
    if not results:
        raise CheckNotRun("; ".join(f"seed {s}: {e}" for s, e in not_run.items()))
    shown = min(results)
    r0 = results[shown]
    png = _figure(r0["recs"], r0["spectrum"], out_dir)
    per_seed = {s: results[s]["verdict"] if s in results else NOT_RUN for s in range(seeds)}
    verdict, count = combine(per_seed)
    rs = list(results.values())
    ks = [r["k"] for r in rs]
    final_ratio = [r["stats"]["natural rank 1"]["final_loss"] / r["stats"]["SGD"]["final_loss"] for r in rs]
    with_k = [r for r in rs if r["ratio_k"] is not None]
    seeds_text = f"{seeds} seed{'s' if seeds > 1 else ''}"
    s, n = r0["stats"]["SGD"], r0["stats"]["natural rank 1"]
    monotone = sum(not np.isfinite(r["ratio_approach"]) for r in rs)
    summary = (f"{seeds_text}: {count}; roughness SGD / rank 1 = {fmt_spread([r['ratio'] for r in rs])} "
               f"(target >= {TARGET_RATIO:g}), before the first drop at a bifurcation "
               + (f"rank 1's curve is monotone in {monotone} of {len(rs)} seeds"
                  + (f" (elsewhere {fmt_spread([r['ratio_approach'] for r in rs])})" if monotone < len(rs) else "")
                  if monotone else fmt_spread([r['ratio_approach'] for r in rs]))
               + "; share of SGD's roughness after it "
               f"{fmt_spread([r['later_share'] for r in rs])}; final loss rank 1 / SGD {fmt_spread(final_ratio)}; "
               f"SGD modes with lr lambda >= {EDGE} (the rank k chosen): {ks}; drops at bifurcations kept by rank 1 in "
               f"{sum(bool(r['stats']['natural rank 1']['drops_at_bifurcations']) for r in rs)} of {len(rs)} seeds")
    if with_k:
        final_k = [r["stats"][f"natural rank {r['k']}"]["final_loss"] / r["stats"]["SGD"]["final_loss"] for r in with_k]
        summary += (f"; rank k: roughness SGD / rank k = {fmt_spread([r['ratio_k'] for r in with_k])}, final loss "
                    f"rank k / SGD {fmt_spread(final_k)}, meets every target in "
                    f"{sum(r['passes_k'] for r in with_k)} of {len(with_k)} seeds")
    failing = {s: r for s, r in results.items() if r["verdict"] == FAILS}
    if failing:
        summary += "; where it fails: " + "; ".join(
            f"seed {s}: " + ", ".join(f"{name} {', '.join(m)}" for name, m in r["misses"].items() if m)
            for s, r in failing.items())
    if not_run:
        summary += "; " + "; ".join(f"seed {s} not run: {e}" for s, e in not_run.items())
    summary += (f" (figure: seed {shown}: roughness SGD {s['roughness']:.3g} vs rank 1 {n['roughness']:.3g}, drops at "
                f"bifurcations at steps {_drop_steps(s)} / {_drop_steps(n)})")
    if verdict == HOLDS:
        correction = ""
    elif with_k and verdict == HOLDS_CORRECTED:
        correction = (f"{count}. Rank 1 reduces the roughness only {fmt_spread([r['ratio'] for r in rs])}x: after the "
                      f"first bifurcation several Fisher modes sit at lr lambda >= {EDGE} (SGD at the edge of "
                      f"stability, lr lambda = 2, in each; k = {ks} per seed) and reconditioning one leaves the next "
                      f"one oscillating. A rank-k natural gradient, k = that count, reduces it "
                      f"{fmt_spread([r['ratio_k'] for r in with_k])}x and meets every target in "
                      f"{sum(r['passes_k'] for r in with_k)} of {len(with_k)} seeds -- the low-rank estimator the paper "
                      "itself suggests for multiple bifurcations")
    else:
        correction = (f"{count}; rank 1 reduces the roughness {fmt_spread([r['ratio'] for r in rs])}x"
                      + (f", the rank-k run (k = the SGD count per seed, {ks}) "
                         f"{fmt_spread([r['ratio_k'] for r in with_k])}x" if with_k else "")
                      + f"; target >= {TARGET_RATIO:g}x with the drops kept and a final loss no worse than SGD's")
    measured = {"scale": "reduced N=16, 4000 steps" if quick else "paper scale N=64, 35 000 steps",
                "seeds": seeds, "per_seed_verdict": per_seed, "shown_seed": shown,
                "roughness_ratio": r0["ratio"], "roughness_ratio_approach": r0["ratio_approach"],
                "sgd_roughness_share_after_first_bifurcation": r0["later_share"], "runs": r0["stats"],
                "sgd_spectrum": r0["spectrum"],
                "per_seed": {s: {k: v for k, v in r.items() if k != "recs"} for s, r in results.items()},
                "not_run": not_run}
    base, base_missing = {}, {}
    for seed in sorted(results)[:BASELINE_SEEDS]:
        try:
            base[seed] = baseline_result(out_dir, quick, train_missing, seed, results[seed])
        except CheckNotRun as why:
            base_missing[seed] = str(why)
    comparison = (_comparison_verdict(base, seeds, quick) if base else
                  Verdict.not_run(ADAPTIVE_CLAIM, "Efficiently selecting the rank of the natural-gradient estimator "
                                  "during training is a direction for future work (app. C.1)",
                                  "; ".join(f"seed {s}: {e}" for s, e in base_missing.items())
                                  or "no seed of figure 4 ran"))
    return [Verdict(
        claim=CLAIM,
        paper=CLAIMS[CLAIM],
        measured=measured,
        verdict=verdict,
        correction=correction,
        tolerance=f"per seed: roughness (summed upward jumps of log-loss on the fixed diagnostic batch) reduced >= "
                  f"{TARGET_RATIO:g}x; each run has a >= 2x drop within 2 records of a change in its number of "
                  "attractors; final loss (median of last 5 records) <= SGD's; median (range) over "
                  f"{seeds_text}; overhead: benchmarks/bench_natural.py",
        summary=summary,
        figures=[png.name],
    ), comparison]
