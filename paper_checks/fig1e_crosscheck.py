"""Figure 1E vs 2B and appendix A.1: the full-RNN sNTK restricted to the learned critical direction.

The paper (sec. 2): "the local GD amplification landscape near the bifurcation
(panel E) is well predicted by the rank-one sNTK landscape associated with a
pitchfork normal form (Figure 2B)"; (app. A.1) near a codimension-one
bifurcation sNTK = sNTK_g + sNTK_R with the rank-one sNTK_g dominant.

At the last record before the first bifurcation that changes the attractors
(count-based, from the saved fixed points), for each training configuration:

1. v = top eigenvector of the state-space Fisher (``critical_direction``), its gap
   and share, and the decomposition before, at and after the event (``decompose``);
2. the restricted sNTK ||J(theta* + s v) v||^2 by central differences, with the
   step chosen by a step study against the JVP (``restricted_sntk``);
3. the matched normal form, chosen from the fixed-point structure along the line:
   an S-shaped branch (two folds) is an imperfect pitchfork crossed along its
   imperfection (``imperfect_pitchfork_prediction``); otherwise the pitchfork in g
   at the fixed point whose real multiplier is nearest 1 (``normal_form_prediction``);
   the stability flip at the attractor's multiplier is the null.

The landscape is evaluated on ``batch`` inputs drawn from the training
distribution (not the 64-input diagnostic batch): each input crossing the
separatrix adds a spike, and only a dense ensemble shows the landscape's shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.rnn import (TrainingRecord, along, bifurcation_events, critical_direction, cusp_window, decompose,
                          find_fixed_points, imperfect_pitchfork_prediction, normal_form_prediction, reduced_map,
                          reduced_map_prediction, restricted_sntk)

from ._runs import CheckNotRun, cached_analyses, ensure, obtain, seed_keys
from ._verdict import FAILS, HOLDS, HOLDS_CORRECTED, NOT_RUN, Verdict, combine, fmt_spread, save_figure, spread
from .fig1_rnn_collapse import CONFIGS, runs  # noqa: F401 - runs: the records this check reads

TARGETS = {"imperfect pitchfork": 0.9, "pitchfork": 0.95}
MARGIN = 0.2
#: Orders of the reduced map at the saddle compared with the cubic (issue 19: 3, 5 and beyond).
ORDERS = (3, 5, 7)
CLAIMS = {
    "fig1E: restricted sNTK matches the normal-form landscape":
        "the local GD amplification landscape near the bifurcation (panel E) is well predicted by the rank-one sNTK "
        "landscape associated with a pitchfork normal form (Figure 2B) (sec. 2)",
    "app A.1: the critical channel sNTK_g dominates sNTK near the bifurcation":
        "near commonly codimension-1 bifurcations the relevant channel is a rank-one operator that is highly "
        "amplified ... causes the bifurcation channel to dominate the full sNTK (abstract, app. A.1)",
}


def checkpoint(rec: TrainingRecord) -> int:
    """Index of the last record before the first change in the number of attractors."""
    events = bifurcation_events(rec.steps, rec.fixed_points, attractors_only=True)
    if not events:
        raise ValueError("the record shows no change in the number of attractors; nothing to cross-check")
    return events[0].index - 1


def _nearest_critical(net) -> np.ndarray:
    def distance(fp):
        real = fp.real_multipliers
        return np.min(np.abs(real - 1)) if real.size else np.inf

    return min(find_fixed_points(net, seeds=40), key=distance).h


def crosscheck(rec: TrainingRecord, index: int | None = None, batch: int = 1024, rng: int = 5,
               s_range: tuple[float, float] = (-0.5, 0.5)) -> dict:
    """Every number of the cross-check at one checkpoint (default :func:`checkpoint`), and the curves."""
    i = checkpoint(rec) if index is None else int(index)
    cfg = rec.config
    params, T, net = cfg.params, cfg.T, rec.network(i)
    cd = critical_direction(net, rec.x_diag, T, params=params)
    around = sorted({j for j in (i - 5, i, i + 1, i + 5) if 0 <= j < len(rec.steps)})
    decompositions = {int(rec.steps[j]): decompose(rec.network(j), rec.x_diag, T, cd.v, params=params)
                      for j in around}
    x0 = cfg.inputs(batch, rng)
    window = None
    try:
        window = cusp_window(net, cd.v, s_range, params=params)
        pred, _ = imperfect_pitchfork_prediction(net, x0, T, cd.v, params=params, window=window)
    except ValueError as err:
        why_not_cusp = str(err)
        s = np.linspace(s_range[0], s_range[1], 81)
        pred = normal_form_prediction(net, x0, T, cd.v, s, _nearest_critical(net), params=params)
    land = restricted_sntk(net, x0, T, cd.v, pred.s, params=params)
    matched, null = pred.compare(land.fd), pred.compare(land.fd, "linear")
    out = {
        "step": int(rec.steps[i]), "params": params, "inputs": batch,
        "gap": cd.gap, "share": cd.share,
        "decomposition": {step: {"trace_share": d.trace_share, "frobenius_share": list(d.frobenius_share),
                                 "alignment": d.alignment, "lambda1_over_lambda2": d.lambda_ratio}
                          for step, d in decompositions.items()},
        "fd_step": land.eps, "fd_step_errors": None if land.step_errors is None else land.step_errors.tolist(),
        "fd_vs_jvp": float(np.max(np.abs(land.fd - land.exact)) / np.max(land.exact)),
        "form": pred.form, "matched": matched, "null": null,
        "target_r": TARGETS[pred.form],
        "target_met": bool(matched["pearson_r"] >= TARGETS[pred.form]
                           and matched["pearson_r"] >= null["pearson_r"] + MARGIN),
        "curves": {"s": pred.s, "observed": land.fd, "predicted": pred.predicted, "linear": pred.linear,
                   "parameter": pred.parameter, "parameter_name": pred.parameter_name},
    }
    if window is not None:
        out["window"] = {"folds": list(window.folds), "centre": window.centre, "g0": window.g0,
                         "kappa": window.kappa, "cubic_b": window.coefficients.values["b"],
                         "scale_sqrt_abs_b": window.scale, "scale_from_folds": window.fold_scale}
        out["higher_order"] = higher_order(net, x0, T, cd.v, window, land.fd, pred, params)
    else:
        out["why_not_imperfect"] = why_not_cusp
    return out


def higher_order(net, x0, T: int, v, window, observed: np.ndarray, cubic, params) -> dict:
    """The reduced map at the saddle to orders :data:`ORDERS` against the same landscape, and why it converges
    or not: its radii of convergence (in window widths and fold gaps), the saddle's slowest other multiplier
    (a small divisor of the sigma-terms when near 1), and the share of the line where the attractor's slowest
    mode is the real critical one (where a one-dimensional slow manifold, hence any scalar map, exists)."""
    width = window.folds[1] - window.folds[0]
    gap = abs(window.coefficients.p @ (window.fold_states[1] - window.fold_states[0]))
    R = reduced_map(net, v, window.centre, window.h_centre, max(ORDERS), params, near=window.g0, scales=(gap, width))
    m = np.linalg.eigvals(along(net, v, window.centre, params).jacobian_h(window.h_centre))
    others = np.delete(m, np.argmin(np.abs(m - R.multiplier)))
    slow = others[np.argmax(np.abs(others))]
    orders = {}
    for K in ORDERS:
        pred = reduced_map_prediction(net, x0, T, v, cubic.s, window, K, params, reduced=R)
        try:
            orders[K] = pred.compare(observed)
        except ValueError as err:  # bounded at fewer than 3 grid points
            orders[K] = {"not_compared": str(err), "compared": float(pred.valid.mean())}
    return {"orders": orders, "cubic": cubic.compare(observed),
            "radius_sigma_widths": R.radius("sigma") / width, "radius_y_gaps": R.radius("y") / gap,
            "slowest_other_multiplier": [float(slow.real), float(slow.imag)],
            "slowest_other_distance_to_1": float(abs(slow - 1)),
            "one_dimensional_slow_manifold_share": float(np.mean(cubic.scalar_slowest))}


def _figure(results: dict, out_dir: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 2, figsize=(11, 3.6 * len(results)), layout="constrained", squeeze=False)
    for row, (name, r) in zip(axes, results.items()):
        c = r["curves"]
        s, obs = c["s"], c["observed"]
        for curve, style, label in (("predicted", "C1", f"{r['form']} (matched)"), ("linear", "C2:", "stability flip (null)")):
            amp = r["matched" if curve == "predicted" else "null"]["amplitude"]
            row[0].semilogy(s, amp * c[curve], style, label=f"{label}, r = {r['matched' if curve == 'predicted' else 'null']['pearson_r']:.2f}")
        row[0].semilogy(s, obs, "k", linewidth=1, label="network, central differences")
        for f in r.get("window", {}).get("folds", []):
            row[0].axvline(f, color="0.6", linewidth=0.8, linestyle="--")
        row[0].set_xlabel("s along the critical direction v")
        row[0].set_ylabel("restricted sNTK ||J(theta* + s v) v||^2")
        row[0].set_title(f"E  {name}: restricted sNTK at step {r['step']}")
        row[0].legend(fontsize="small", loc="best")
        # In s order, not sorted by the parameter: the reduced inputs change with s too, so the
        # prediction is not a function of the parameter alone, and sorting drew a sawtooth.
        row[1].semilogy(c["parameter"], r["matched"]["amplitude"] * c["predicted"], "C1", marker=".", markersize=3,
                        linewidth=0.8)
        row[1].set_xlabel(f"normal-form parameter {c['parameter_name']} along the line (s increasing)")
        row[1].set_ylabel("predicted ||sNTK|| (fitted amplitude)")
        row[1].set_title(f"2B-style: matched {r['form']} vs its parameter")
    return save_figure(fig, out_dir, "figure1e_crosscheck.png")


def _strip(r: dict) -> dict:
    return {k: v for k, v in r.items() if k != "curves"}


def match_verdict(p: dict) -> str:
    """One seed's verdict on "the restricted sNTK matches the pitchfork landscape" (paper-faithful run)."""
    beats = p["matched"]["pearson_r"] >= p["null"]["pearson_r"] + MARGIN
    if p["form"] == "pitchfork" and p["target_met"]:
        return HOLDS
    if beats and p["matched"]["pearson_r"] >= 0.8:
        return HOLDS_CORRECTED
    return FAILS


#: The symmetric control's target (issue 19): median r over seeds, and the margin over the null in every seed.
CONTROL_TARGET, CONTROL_MARGIN = 0.95, 0.3


def crosscheck_record(out_dir: Path, spec, batch: int) -> dict:
    """:func:`crosscheck` of a saved record at its default checkpoint (what :func:`run` caches beside it)."""
    return crosscheck(obtain(out_dir, spec, train_missing=False), batch=batch)


def run(out_dir: Path, quick: bool = False, train_missing: bool = True, seeds: int = 1) -> list[Verdict]:
    ensure(out_dir, runs(quick, seeds), train_missing)
    found = cached_analyses(out_dir, seed_keys(runs(quick), seeds), "fig1e", __name__ + ":crosscheck_record",
                            {"batch": 256 if quick else 1024})
    results, failures = {}, {}
    for key, r in found.items():
        if "value" in r:  # the curves come back from JSON as lists
            results[key] = dict(r["value"], curves={k: (np.asarray(v) if isinstance(v, list) else v)
                                                    for k, v in r["value"]["curves"].items()})
        else:  # e.g. no attractor event in a reduced run
            failures[key] = r["not_run"]
    shown = next((s for s in range(seeds) if all((c, s) in results for c in CONFIGS)), None)
    if shown is None:
        raise CheckNotRun("the cross-check could not run for any seed: " + "; ".join(
            f"{c} seed {s}: {e}" for (c, s), e in failures.items()))
    png = _figure({f"{c} (seed {shown})": results[(c, shown)] for c in CONFIGS}, out_dir)
    ran = lambda c: [s for s in range(seeds) if (c, s) in results]  # noqa: E731

    def numbers(c: str) -> str:
        rs = [results[(c, s)] for s in ran(c)]
        forms = [r["form"] for r in rs]
        return (f"{c}: {', '.join(f'{f} x{forms.count(f)}' for f in sorted(set(forms)))}, r = "
                f"{fmt_spread([r['matched']['pearson_r'] for r in rs])} vs null "
                f"{fmt_spread([r['null']['pearson_r'] for r in rs])} (peak error "
                f"{fmt_spread([r['matched']['peak_error'] for r in rs])}, log r "
                f"{fmt_spread([r['matched']['pearson_r_log'] for r in rs])})")

    def orders_line() -> str:
        parts = []
        for s in ran("paper"):
            h = results[("paper", s)].get("higher_order")
            if h is None:
                continue
            c = h["cubic"]
            each = ", ".join(f"{K}: r {o['pearson_r']:.2f} on {100 * o['compared']:.0f}%" if "pearson_r" in o else
                             f"{K}: bounded on {100 * o['compared']:.0f}%" for K, o in h["orders"].items())
            parts.append(f"seed {s}: fold-calibrated cubic r {c['pearson_r']:.2f} (width ratio {c['width_ratio']:.2f}); "
                         f"reduced map at the saddle, order {each} of the line; its radius of convergence in s "
                         f"{h['radius_sigma_widths']:.2g} window widths, the saddle's slowest other multiplier "
                         f"{complex(*h['slowest_other_multiplier']):.3f} (|1 - lambda| = "
                         f"{h['slowest_other_distance_to_1']:.3f}); the attractor's slowest mode is the real "
                         f"critical one on {100 * h['one_dimensional_slow_manifold_share']:.0f}% of the line")
        return "; ".join(parts)

    control = [results[("symmetric", s)] for s in ran("symmetric")]
    control_r = spread([r["matched"]["pearson_r"] for r in control])
    control_margin = [r["matched"]["pearson_r"] - r["null"]["pearson_r"] for r in control]
    control_met = (control_r["median"] >= CONTROL_TARGET and all(m >= CONTROL_MARGIN for m in control_margin)
                   and all(r["form"] == "pitchfork" for r in control))
    control_line = (f"symmetric control target (pitchfork, median r >= {CONTROL_TARGET}, r >= null + "
                    f"{CONTROL_MARGIN} in every seed): {'met' if control_met else 'missed'} (margins "
                    f"{', '.join(f'{m:.2f}' for m in control_margin)})")
    not_run = "; ".join(f"{c} seed {s} not run: {e}" for (c, s), e in failures.items())
    per_seed = {s: (match_verdict(results[("paper", s)]) if ("paper", s) in results else NOT_RUN)
                for s in range(seeds)}
    verdict, count = combine(per_seed)
    p0 = results[("paper", shown)]
    if verdict == HOLDS:
        correction = ""
    elif verdict == HOLDS_CORRECTED:
        correction = (f"{count}. The landscape along the learned critical direction of the paper-faithful network "
                      "is that of an imperfect pitchfork crossed along its imperfection (an S-shaped fixed-point "
                      "branch between two folds, g fixed at the saddle's multiplier), not the pitchfork in g of "
                      "figure 2B; it beats the monotone stability flip by a wide margin but stays below the 0.9 "
                      "target. Higher orders of the reduced map do not close the gap: its series at the saddle "
                      "converges only a fraction of a window width along s, and where the attractor's slowest mode is "
                      "a complex pair no scalar map can describe the network (" + orders_line() + "). Where the "
                      f"symmetry is there (the control), the pitchfork in g predicts it: {control_line}"
                      if p0["form"] == "imperfect pitchfork" else f"{count}; the matched form beats the null but "
                      "below the target")
    else:
        correction = f"{count}; the matched normal form does not beat the linear null clearly"
    seeds_text = f"{seeds} seed{'s' if seeds > 1 else ''}"
    verdicts = [Verdict(
        claim=(claim := "fig1E: restricted sNTK matches the normal-form landscape"),
        paper=CLAIMS[claim],
        measured={"seeds": seeds, "per_seed_verdict": per_seed, "control_target_met": control_met,
                  "per_seed": {s: {c: _strip(results[(c, s)]) for c in CONFIGS if (c, s) in results}
                               for s in range(seeds)}, "not_run": {f"{c} seed {s}": e for (c, s), e in failures.items()}},
        verdict=verdict, correction=correction,
        tolerance=f"Pearson r of FD landscape vs prediction (one fitted amplitude), per seed; targets r >= "
                  f"{TARGETS['imperfect pitchfork']} (imperfect pitchfork) / {TARGETS['pitchfork']} (pitchfork) and "
                  f">= null + {MARGIN}; median (range) over {seeds_text}",
        summary=f"{seeds_text}: {count}; {numbers('paper')}; {numbers('symmetric')}; {control_line}"
                + (f"; higher orders -- {orders_line()}" if orders_line() else "")
                + (f"; {not_run}" if not_run else ""),
        figures=[png.name],
    )]
    per_seed = {s: ((HOLDS if results[("paper", s)]["share"] > 0.5 and results[("paper", s)]["gap"] > 5 else FAILS)
                    if ("paper", s) in results else NOT_RUN) for s in range(seeds)}
    verdict, count = combine(per_seed)

    def dominance(c: str) -> str:
        rs = [results[(c, s)] for s in ran(c)]
        return (f"{c}: lambda1/lambda2 = {fmt_spread([r['gap'] for r in rs])}, lambda1/tr = "
                f"{fmt_spread([r['share'] for r in rs])}, FD vs JVP <= {max(r['fd_vs_jvp'] for r in rs):.1e}")

    verdicts.append(Verdict(
        claim=(claim := "app A.1: the critical channel sNTK_g dominates sNTK near the bifurcation"),
        paper=CLAIMS[claim],
        measured={"seeds": seeds, "per_seed_verdict": per_seed,
                  "per_seed": {s: {c: {k: results[(c, s)][k] for k in ("step", "gap", "share", "decomposition",
                                                                         "fd_step", "fd_vs_jvp")}
                                   for c in CONFIGS if (c, s) in results} for s in range(seeds)}},
        verdict=verdict, correction="" if verdict == HOLDS else count,
        tolerance="per seed: lambda1/tr > 0.5 and lambda1/lambda2 > 5 at the last record before the first attractor "
                  "event (paper-faithful run); central differences agree with the JVP (relative max error reported)",
        summary=f"{seeds_text}: {count}; {dominance('paper')}; {dominance('symmetric')}",
        figures=[png.name],
    ))
    return verdicts
