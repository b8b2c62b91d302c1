"""Speed of the RNN layer: SGD step, exact vs randomised sNTK trace, top-k eigenpairs.

    python benchmarks/bench_rnn.py [--paper]

N = 64, B = 32, T = 25 (and with --paper the paper size B = 256).  The exact trace
(``SntkOperator.trace``, stacked A_{t,s}) is timed side by side with the
baseline sum over the P = N^2 + N unit directions; the randomised trace
(Hutch++) is reported with its time and its largest error over 10 seeds.
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

    # The unit-direction baseline at paper size costs minutes (N^2 + N JVPs over B = 256); opt in with --paper.
    sizes = (32, 256) if "--paper" in sys.argv else (32,)
    teacher = build_teacher(64, seed=0).net
    net = RNN.xavier(64, seed=1)
    print(f"{'N=64, T=25':<11} {'SGD step':>9} {'sum_p|Je_p|^2':>14} {'exact tr':>9} {'ratio':>6} "
          f"{'Hutch++ passes':>15} {'time':>7} {'max err (10 seeds)':>19} {'top-5':>7}")
    for B in sizes:
        x0 = np.random.default_rng(2).uniform(-1, 1, (B, 2))
        target = forward(teacher, x0, 25)[:, :, :2]
        t_step, _ = best(lambda: gradient(net, forward(net, x0, 25), target), rounds=20)
        op = SntkOperator(net, x0, 25)
        eye = np.eye(op.n_params)
        t_units, by_units = best(lambda: sum(float(np.sum(op.J(eye[i:i + 64]) ** 2))
                                             for i in range(0, op.n_params, 64)), rounds=1)
        t_exact, exact = best(op.trace, rounds=3)
        assert abs(exact / by_units - 1) < 1e-10, "the two exact traces disagree"
        t_top, _ = best(lambda: op.top_eigenpairs(5, tol=1e-8), rounds=1)
        for passes in (60, 150):
            t_est, errs = [], []
            for seed in range(10):
                t, est = best(lambda: op.trace_estimate(passes, seed=seed), rounds=1)
                t_est.append(t)
                errs.append(abs(est.value / exact - 1))
            print(f"B={B:<9} {t_step * 1e3:>7.1f}ms {t_units:>13.2f}s {t_exact:>8.2f}s {t_units / t_exact:>5.0f}x "
                  f"{passes:>15} {np.median(t_est):>6.3f}s {max(errs):>19.2%} {t_top:>6.2f}s")
    x0 = np.random.default_rng(2).uniform(-1, 1, (256, 2))
    target = forward(teacher, x0, 25)[:, :, :2]
    step_256, _ = best(lambda: gradient(net, forward(net, x0, 25), target), rounds=20)
    print(f"SGD step at B=256: {step_256 * 1e3:.1f} ms; projected paper-scale training (35 000 steps, "
          f"no diagnostics): {35_000 * step_256 / 60:.1f} min")


if __name__ == "__main__":
    main()
