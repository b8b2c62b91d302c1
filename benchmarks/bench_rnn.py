"""Speed of the RNN layer: SGD step, exact vs randomised sNTK trace, top-k eigenpairs.

    python benchmarks/bench_rnn.py [--paper]

Both sizes of the issue are timed in one process: N = 64, B = 32, T = 25 and the
paper size N = 64, B = 256, T = 25.  The randomised trace (Hutch++) is reported
as a ratio against the exact trace timed side by side, with its error.
"""

from __future__ import annotations

import time

import numpy as np

from numerics.rnn import RNN, SntkOperator, build_teacher, forward, gradient


def best(fn, rounds=3):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    import sys

    # The exact trace at paper size costs ~10 min (N^2 + N JVPs over B = 256); opt in with --paper.
    sizes = (32, 256) if "--paper" in sys.argv else (32,)
    teacher = build_teacher(64, seed=0).net
    net = RNN.xavier(64, seed=1)
    rows = []
    for B in sizes:
        x0 = np.random.default_rng(2).uniform(-1, 1, (B, 2))
        target = forward(teacher, x0, 25)[:, :, :2]
        t_step, _ = best(lambda: gradient(net, forward(net, x0, 25), target), rounds=20)
        op = SntkOperator(net, x0, 25)
        t_exact, exact = best(lambda: op.trace(block=64), rounds=1)
        errs, t_est = [], []
        for seed in range(5):
            t, est = best(lambda: op.trace_estimate(60, seed=seed), rounds=1)
            t_est.append(t)
            errs.append(abs(est.value / exact - 1))
        t_top, _ = best(lambda: op.top_eigenpairs(5, tol=1e-8), rounds=1)
        rows.append((B, t_step, t_exact, np.median(t_est), max(errs), t_top))
    print(f"{'N=64, T=25':<12} {'SGD step':>10} {'exact tr':>10} {'Hutch++60':>10} {'speed-up':>9} "
          f"{'max err':>8} {'top-5':>8}")
    for B, ts, te, th, err, tt in rows:
        print(f"B={B:<10} {ts * 1e3:>8.1f}ms {te:>9.2f}s {th:>9.3f}s {te / th:>8.0f}x {err:>8.2%} {tt:>7.2f}s")
    x0 = np.random.default_rng(2).uniform(-1, 1, (256, 2))
    target = forward(teacher, x0, 25)[:, :, :2]
    step_256, _ = best(lambda: gradient(net, forward(net, x0, 25), target), rounds=20)
    print(f"SGD step at B=256: {step_256 * 1e3:.1f} ms; projected paper-scale training (35 000 steps, "
          f"no diagnostics): {35_000 * step_256 / 60:.1f} min")


if __name__ == "__main__":
    main()
