"""A (g, eps) amplification map with runtime parameters, beside the one-parameter sweep it generalises.

    python benchmarks/bench_grid.py [--G 200] [--E 200] [--B 10000] [--T 30] [--rounds 2]

The imperfect pitchfork over a G x E grid of (g, eps), B initial conditions, T steps
(G E B T state updates; 200 x 200 x 1e4 x 30 = 1.2e10 by default), timed side by side in one
process, alternating, best of ``rounds`` each:

* ``sweep_grid``: eps a runtime parameter of one compiled kernel, the whole grid in one call;
* the one-parameter baseline: ``sweep`` of the same map with eps = 0.01 printed into its kernel
  (how every value was compiled before runtime parameters), over G E values of g -- the same
  number of state updates.

Also printed: the kernel modules generated and the numba signatures after the first call (both
must stay at their first values), and the largest relative difference between the map and kernels
compiled per value of eps (a few columns; each per-value kernel is one compilation).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import normalforms as nf
import numerics


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--G", type=int, default=200)
    ap.add_argument("--E", type=int, default=200)
    ap.add_argument("--B", type=int, default=10_000)
    ap.add_argument("--T", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--columns", type=int, default=5, help="eps columns compared with per-value kernels")
    args = ap.parse_args()
    g = np.linspace(0.5, 1.5, args.G)
    eps = np.linspace(-0.1, 0.1, args.E)
    h0 = numerics.uniform_ics(0.1, args.B, seed=0)
    form = nf.imperfect_pitchfork()
    baseline_form = nf.NormalForm("g*h - h**3 + 0.01")
    flat_g = np.tile(g, args.E)
    updates = float(args.G) * args.E * args.B * args.T
    # first calls: compile (or load from the disk cache) both kernels before timing
    numerics.sweep_grid(form, {"g": g[:2], "eps": eps[:2]}, 2, h0[:10], progress=False)
    numerics.sweep(baseline_form, g[:2], 2, h0[:10], progress=False)
    modules = numerics.compile_count()
    kernel = numerics.compile_form(form).module.run_items_norm
    signatures = len(kernel.signatures)
    best = {"sweep_grid (eps at run time)": np.inf, "sweep, eps compiled in (baseline)": np.inf}
    grid = None
    for _ in range(args.rounds):
        t = time.perf_counter()
        grid = numerics.sweep_grid(form, {"g": g, "eps": eps}, args.T, h0, progress=False)
        best["sweep_grid (eps at run time)"] = min(best["sweep_grid (eps at run time)"], time.perf_counter() - t)
        t = time.perf_counter()
        numerics.sweep(baseline_form, flat_g, args.T, h0, progress=False)
        best["sweep, eps compiled in (baseline)"] = min(best["sweep, eps compiled in (baseline)"],
                                                        time.perf_counter() - t)
    print(f"imperfect pitchfork, {args.G} x {args.E} (g, eps) grid, B = {args.B}, T = {args.T}: "
          f"{updates:.3g} state updates; best of {args.rounds}, alternating")
    base = best["sweep, eps compiled in (baseline)"]
    for name, sec in best.items():
        print(f"  {name:36s} {sec:7.2f} s   {updates / sec:.3g} updates/s   x{sec / base:.3f} of the baseline's time")
    print(f"  kernel modules generated after the first call: {numerics.compile_count() - modules}; "
          f"numba signatures of the grid kernel: {len(kernel.signatures)} (was {signatures})")
    cols = np.unique(np.linspace(0, args.E - 1, args.columns).astype(int))
    worst = 0.0
    for j in cols:
        per_value = numerics.sweep(nf.NormalForm(f"g*h - h**3 + ({float(eps[j])!r})"), g, args.T, h0, progress=False)
        worst = max(worst, float(np.max(np.abs(grid.norm[:, j] / per_value.norm - 1))))
    print(f"  largest relative difference from kernels compiled per eps value ({cols.size} columns): {worst:.3g}")


if __name__ == "__main__":
    main()
