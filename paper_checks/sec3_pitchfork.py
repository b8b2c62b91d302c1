r"""Section 3, "Pitchfork bifurcation" -- h_{t+1} = g h_t - h_t^3.

The paper: "For 0 < g < 1, the behavior matches the linear stability-flip
case, with ||sNTK_g||_2 ∝ sum_{t=0}^{T-1} (t+1)^2 g^{2t}, while for g > 1,
amplification peaks and then decays as trajectories are damped onto the
additional stable FPs at ±sqrt(g - 1)."

Measured with the numeric layer (T = 30, h0 uniform on [-a, a]); the size of
the deviation from the linear law is predicted by the symbolic layer's
series ||sNTK_g|| = M_2 L_T(g) + M_4 K_T(g) + O(a^6).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sympy as sp

import normalforms as nf
import numerics

from ._verdict import FAILS, HOLDS_CORRECTED, Verdict

T = 30
G_BELOW = (0.2, 0.5, 0.8, 0.9, 0.95, 0.99)
RANGES = (0.05, 0.1)


def run(out_dir: Path | None = None, quick: bool = False, train_missing: bool = True) -> list[Verdict]:
    samples = 2000 if quick else 10_000
    form = nf.pitchfork()
    flip = nf.stability_flip()
    unit = numerics.uniform_ics(1.0, samples, seed=0)
    verdicts = []

    # 1. 0 < g < 1 matches the linear law
    series = form.sntk_norm(T=T, order=3)  # per sample: M_2 L + M_4 K
    moments = {s.name: s for s in series.generic.free_symbols}
    g = form.param
    # the norm is linear in the moments: L and K are the partial derivatives
    L = sp.lambdify(g, sp.diff(series.generic, moments["M_2"]), "mpmath")
    K = sp.lambdify(g, sp.diff(series.generic, moments["M_4"]), "mpmath")
    ratio, predicted = {}, {}
    for a in RANGES:
        h0 = a * unit
        pf = numerics.sweep(form, list(G_BELOW), T, h0, progress=False).norm
        lin = numerics.sweep(flip, list(G_BELOW), T, h0, progress=False).norm
        m2, m4 = float(np.mean(h0**2)), float(np.mean(h0**4))
        for gv, p, l in zip(G_BELOW, pf, lin):
            ratio[f"a={a},g={gv}"] = float(p / l)
            predicted[f"a={a},g={gv}"] = float(1 + m4 * K(gv) / (m2 * L(gv)))
    worst = max(abs(r - 1) for r in ratio.values())
    worst_key = max(ratio, key=lambda k: abs(ratio[k] - 1))
    rel = {k: abs(ratio[k] - predicted[k]) / abs(ratio[k] - 1) for k in ratio}
    series_err = max(rel.values())
    series_err_mid = max(v for k, v in rel.items() if float(k.split("g=")[1]) <= 0.9)
    verdicts.append(Verdict(
        claim="sec3 pitchfork: 0<g<1 is linear",
        paper="For 0 < g < 1, the behavior matches the linear stability-flip case (sec. 3)",
        measured={"pitchfork/linear": ratio, "series_prediction": predicted, "max_deviation": worst,
                  "series_relative_error_of_deviation": series_err},
        verdict=HOLDS_CORRECTED if worst < 0.5 else FAILS,
        correction=("to leading order in h0 only: the ratio to the linear law is 1 + (M4/M2) K_T(g)/L_T(g) + O(a^4) "
                    f"(symbolic series), {min(ratio.values()):.3f} at worst ({worst_key}); the deviation grows "
                    "as g -> 1 because the cubic term acts for longer"),
        tolerance="within 50 % for every g and range; deviation explained by the O(h0^2) series term",
        summary=("pitchfork/linear at T=30: " + ", ".join(f"g={gv}: {ratio[f'a=0.1,g={gv}']:.4f}" for gv in G_BELOW)
                 + f" (a=0.1); the O(h0^2) series term predicts the deviation within {series_err_mid:.0%} for "
                 f"g <= 0.9 ({series_err:.0%} at worst, near g = 1 where higher orders matter)"),
    ))

    # 2. g > 1: peak, decay, damping onto ±sqrt(g-1)
    grid = np.linspace(1.0, 1.8, 161)
    peaks = {}
    for a in RANGES:
        r = numerics.sweep(form, grid, T, a * unit, progress=False)
        i = int(np.argmax(r.norm))
        peaks[f"a={a}"] = {"g_peak": float(grid[i]), "peak_per_sample": float(r.mean[i]),
                           "at_g=1.8": float(r.mean[-1]), "at_g=1": float(r.mean[0])}
    stable = {}
    for gv in (1.2, 1.5, 1.9):
        tr = numerics.trajectories(form, [gv], 200, 0.1 * unit[:200])
        stable[f"g={gv}"] = float(np.max(np.abs(np.abs(tr.h[0, -1]) - np.sqrt(gv - 1))))
    branches = [b for b in form.fixed_points() if b.point != (0,)]
    interval = str(branches[0].stable) if branches else "none"
    decays = all(1.0 < p["g_peak"] < 1.8 and p["at_g=1.8"] < 0.5 * p["peak_per_sample"] for p in peaks.values())
    damped = all(v < 1e-6 for v in stable.values())
    verdicts.append(Verdict(
        claim="sec3 pitchfork: g>1 peaks, decays, damps onto ±sqrt(g-1)",
        paper="for g > 1, amplification peaks and then decays as trajectories are damped onto the additional "
              "stable FPs at ±sqrt(g - 1) (sec. 3)",
        measured={"peaks": peaks, "max_||h_200|-sqrt(g-1)|": stable, "branch_stability": interval},
        verdict=HOLDS_CORRECTED if decays and damped else FAILS,
        correction=(f"the branches ±sqrt(g - 1) are stable only for g in {interval}: at g = 2 they flip "
                    "(multiplier 3 - 2g = -1) and trajectories no longer settle on them"),
        tolerance="interior peak on (1, 1.8), value at 1.8 below half the peak; |h_200| within 1e-6 of sqrt(g-1)",
        summary=("peak per sample " + ", ".join(f"{k}: {v['peak_per_sample']:.3g} at g={v['g_peak']:.3f}"
                                                 for k, v in peaks.items())
                 + "; max ||h_200|-sqrt(g-1)|: " + ", ".join(f"{k}: {v:.1e}" for k, v in stable.items())),
    ))
    return verdicts
