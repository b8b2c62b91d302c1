"""Figure 2: rank-one sNTK amplification for codimension-one bifurcations.

The paper (caption of figure 2): "the norm is strongly amplified near the
bifurcation point g* = 1 ... The stability flip exhibits monotone growth past
criticality, while the nonlinear bifurcations self-regulate and show peaked
amplification."  T = 30, h0 uniform on [-0.05, 0.05] and [-0.1, 0.1].

Measured on the per-sample norm ||sNTK_g||/B (B = 10 000 seeded samples; the
g-range [0.5, 1.5] is ours, the paper does not give it).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import numerics

from ._verdict import FAILS, HOLDS, HOLDS_CORRECTED, Verdict

NONLINEAR = ("pitchfork", "saddle_node", "period_doubling")


def _peak(res: numerics.SweepResult) -> dict:
    y = res.log_mean
    i = int(np.nanargmax(y))
    finite = np.isfinite(y)
    low = float(np.nanmin(y[finite]))
    return {
        "g_peak": float(res.g[i]),
        "peak": float(np.exp(y[i])),
        "amplification": float(np.exp(y[i] - low)),
        "at_end": float(np.exp(y[-1])) if np.isfinite(y[-1]) else float("nan"),
        "escaped_g_values": int(np.sum(res.escaped > 0)),
        "all_escaped_below": float(res.g[res.escaped == res.samples].max()) if np.any(res.escaped == res.samples) else None,
    }


def run(out_dir: Path, quick: bool = False, train_missing: bool = True) -> list[Verdict]:
    samples, points = (2000, 101) if quick else (10_000, 401)
    # The saddle node escapes entirely well below g*; that is recorded in
    # result.escaped and reported below, so the per-call warning is noise here.
    warnings.filterwarnings("ignore", message="every trajectory escaped", category=RuntimeWarning)
    fig2 = numerics.figure2(g=np.linspace(0.5, 1.5, points), samples=samples, seed=0)
    png = out_dir / "figure2.png"
    fig2.figure.savefig(png, dpi=150)
    import matplotlib.pyplot as plt

    plt.close(fig2.figure)
    stats = {name: {f"a={a}": _peak(r) for a, r in by_a.items()} for name, by_a in fig2.results.items()}
    verdicts = []

    amp = {name: min(v["amplification"] for v in s.values()) for name, s in stats.items()}
    near = {name: max(abs(v["g_peak"] - 1) for v in s.values()) for name, s in stats.items() if name != "stability_flip"}
    verdicts.append(Verdict(
        claim="fig2: amplification near g*",
        paper="In all cases, the norm is strongly amplified near the bifurcation point g* = 1 (fig. 2)",
        measured={"stats": stats, "min_amplification": amp, "peak_distance_from_gstar": near},
        verdict=HOLDS if min(amp.values()) > 10 and max(near.values()) < 0.25 else FAILS,
        tolerance="peak / smallest value on the grid > 10 for every form and IC range; nonlinear peaks within 0.25 of g*",
        summary="peak/min: " + ", ".join(f"{k} {v:.3g}" for k, v in amp.items())
        + "; |g_peak - 1|: " + ", ".join(f"{k} {v:.3f}" for k, v in near.items()),
        figures=[png.name],
    ))

    flip = fig2.results["stability_flip"]
    monotone = {f"a={a}": bool(np.all(np.diff(r.log_norm[r.g >= 1.0]) > 0)) for a, r in flip.items()}
    verdicts.append(Verdict(
        claim="fig2: stability flip grows monotonically",
        paper="The stability flip exhibits monotone growth past criticality (fig. 2)",
        measured={"monotone_for_g>=1": monotone, "growth_g1_to_g1.5": {
            f"a={a}": float(np.exp(r.log_norm[-1] - r.log_norm[np.argmin(abs(r.g - 1))])) for a, r in flip.items()}},
        verdict=HOLDS if all(monotone.values()) else FAILS,
        tolerance="strictly increasing on every grid step with g >= 1",
        summary="strictly increasing on g >= 1 for both ranges: " + str(all(monotone.values()))
        + "; norm(1.5)/norm(1) = " + ", ".join(
            f"{np.exp(r.log_norm[-1] - r.log_norm[np.argmin(abs(r.g - 1))]):.3g}" for r in flip.values()),
        figures=[png.name],
    ))

    peaked = {}
    for name in NONLINEAR:
        for key, s in stats[name].items():
            interior = 0.5 < s["g_peak"] < 1.5
            decays = np.isfinite(s["at_end"]) and s["at_end"] < 0.5 * s["peak"]
            peaked[f"{name} {key}"] = bool(interior and decays)
    saddle = stats["saddle_node"]
    # Below g* the saddle node has no fixed point: its norm there is carried by
    # orbits on their way to -infinity, so it depends on where escape is cut.
    sn = fig2.results["saddle_node"][0.1]
    radius_dependence = {}
    for radius in (2.0, 10.0, numerics.DEFAULT_ESCAPE_RADIUS):
        r = numerics.sweep(sn.form, sn.g, sn.T, sn.h0[:, 0], escape_radius=radius, progress=False)
        radius_dependence[f"R={radius:g}"] = _peak(r)["peak"]
    note = ""
    if any(v["all_escaped_below"] is not None for v in saddle.values()):
        note = ("saddle node: for g < 1 there is no fixed point and every orbit drifts through the bottleneck to "
                "-infinity; at T = 30 all trajectories escape for g <= "
                f"{max(v['all_escaped_below'] or 0 for v in saddle.values()):.3f}, and the peak just below g* is "
                "carried by escaping orbits, so its height depends on the escape radius R (a = 0.1: "
                + ", ".join(f"{k}: {v:.3g}" for k, v in radius_dependence.items())
                + "); the location (g -> 1-) and the decay above g* do not")
    verdict = HOLDS if all(peaked.values()) else FAILS
    if verdict == HOLDS and note:
        verdict = HOLDS_CORRECTED
    verdicts.append(Verdict(
        claim="fig2: nonlinear forms peak and self-regulate",
        paper="the nonlinear bifurcations self-regulate and show peaked amplification (fig. 2)",
        measured={"peaked_and_decaying": peaked, "stats": {n: stats[n] for n in NONLINEAR},
                  "saddle_peak_vs_escape_radius": radius_dependence},
        verdict=verdict,
        correction=note,
        tolerance="interior maximum on g in (0.5, 1.5) and value at g = 1.5 below half the peak",
        summary="; ".join(
            f"{n}: " + ", ".join(f"{k} peak {s['peak']:.3g} at g={s['g_peak']:.3f}, end {s['at_end']:.3g}"
                                 for k, s in stats[n].items()) for n in NONLINEAR),
        figures=[png.name],
    ))
    return verdicts
