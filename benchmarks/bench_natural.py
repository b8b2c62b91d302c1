"""Overhead of the rank-k natural gradient over plain SGD, per training step (paper, app. C.1).

    python benchmarks/bench_natural.py [--steps 200] [--B 256]

Paper size N = 64, T = 25.  The two optimisers run interleaved in one process on the same
batches (blocks of 20 steps, alternating, best-of over blocks is not taken: the median block
time), so machine noise affects both alike; printed: ms per step and the ratio natural / SGD.
A step is forward + BPTT gradient (+ for the natural gradient its refresh every ``refresh``
steps and the rank-k projection).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from numerics.rnn import RNN, LowRankNaturalGradient, build_teacher, forward, gradient


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--B", type=int, default=256)
    ap.add_argument("--N", type=int, default=64)
    args = ap.parse_args()
    N, T, lr = args.N, 25, 5e-3
    rng = np.random.default_rng(0)
    teacher = build_teacher(N, seed=0).net
    net0 = RNN.xavier(N, seed=1)
    xs = [rng.uniform(-1, 1, (args.B, 2)) for _ in range(20)]
    targets = [forward(teacher, x, T)[:, :, :2] for x in xs]

    def block(opt):
        W, b = net0.W.copy(), net0.b.copy()
        start = time.perf_counter()
        for x, y in zip(xs, targets):
            net = RNN(W, b)
            gW, gb = gradient(net, forward(net, x, T), y)
            if opt is None:
                W, b = W - lr * gW, b - lr * gb
            else:
                d = opt.step(net, x, T, np.concatenate([gW.ravel(), gb]), lr)
                W, b = W + d[: N * N].reshape(N, N), b + d[N * N:]
        return (time.perf_counter() - start) / len(xs)

    settings = ((1, 10), (1, 5), (2, 10), (4, 10), (4, 20))
    configs = [("sgd", None)] + [(f"natural k={k} refresh={m} iters=2", (k, m)) for k, m in settings]
    times = {name: [] for name, _ in configs}
    for _ in range(max(1, args.steps // 20)):
        for name, spec in configs:
            opt = None if spec is None else LowRankNaturalGradient(rank=spec[0], refresh=spec[1], iters=2, rng=0)
            times[name].append(block(opt))
    base = np.median(times["sgd"])
    print(f"N = {N}, B = {args.B}, T = {T}; median over {len(times['sgd'])} interleaved blocks of 20 steps")
    for name, _ in configs:
        t = np.median(times[name])
        print(f"{name:34s} {1e3 * t:8.2f} ms/step   x{t / base:.3f}")


if __name__ == "__main__":
    main()
