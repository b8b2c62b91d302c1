"""Overhead of the rank-k natural gradient over plain SGD, per training step (paper, app. C.1).

    python benchmarks/bench_natural.py [--steps 200] [--B 256] [--record PATH --index I]

Paper size N = 64, T = 25.  The two optimisers run interleaved in one process on the same
batches (blocks of 40 steps -- every refresh period timed divides 40, so each block holds whole
periods -- alternating, best-of over blocks is not taken: the median block time), so machine noise affects both alike; printed: ms per step and the ratio natural / SGD.
A step is forward + BPTT gradient (+ for the natural gradient its refresh every ``refresh``
steps and the rank-k projection).  Also timed: momentum and Adam (the figure-4 baselines), and
the adaptive rank (``rank="auto"``, refresh 20 or 40, probe 1; refresh 20 with the Fisher on a
quarter of the batch, ``batch=B // 4``; refresh 40 with one product per refresh) after it has settled
on the network
(its k printed) -- on a trained network from ``--record`` (default: the paper-faithful seed-0
record if present, at the record ``--index``, after the first bifurcation, where 3-4 Fisher
modes sit at the edge), else on the untrained one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from numerics.rnn import RNN, LowRankNaturalGradient, TrainingRecord, build_teacher, forward, gradient
from numerics.rnn._optim import Adam, Momentum

BLOCK = 40  # steps per timed block: a multiple of every refresh period timed, so each block holds whole periods
DEFAULT_RECORD = "out/paper_checks/runs/paper-sgd-N64-s35000-lr0p005-seed0-068f873d45"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--B", type=int, default=256)
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--record", default=DEFAULT_RECORD)
    ap.add_argument("--index", type=int, default=100)
    args = ap.parse_args()
    N, T, lr = args.N, 25, 5e-3
    rng = np.random.default_rng(0)
    teacher = build_teacher(N, seed=0).net
    net0, where = RNN.xavier(N, seed=1), "untrained Xavier network"
    try:
        rec = TrainingRecord.load(args.record)
        if rec.config.N == N:
            net0, where = rec.network(args.index), f"{args.record} at step {rec.steps[args.index]}"
            teacher = RNN(rec.teacher_W, np.zeros(N)) if rec.teacher_W is not None else teacher
    except FileNotFoundError:
        pass
    xs = [rng.uniform(-1, 1, (args.B, 2)) for _ in range(BLOCK)]
    targets = [forward(teacher, x, T)[:, :, :2] for x in xs]

    def block(opt):
        W, b = net0.W.copy(), net0.b.copy()
        start = time.perf_counter()
        for x, y in zip(xs, targets):
            net = RNN(W, b)
            gW, gb = gradient(net, forward(net, x, T), y)
            if opt is None:
                W, b = W - lr * gW, b - lr * gb
            elif isinstance(opt, (Adam, Momentum)):
                d = opt.step(np.concatenate([gW.ravel(), gb]), lr)
                W, b = W + d[: N * N].reshape(N, N), b + d[N * N:]
            else:
                d = opt.step(net, x, T, np.concatenate([gW.ravel(), gb]), lr)
                W, b = W + d[: N * N].reshape(N, N), b + d[N * N:]
        return (time.perf_counter() - start) / len(xs)

    # the adaptive rank, settled on this network first (k grows by one per refresh), then timed as it runs;
    # refreshed every 20 steps (the figure-4 runs) and every 40, and with the Fisher on a quarter of the batch
    sub = max(1, args.B // 4)
    adaptives = {"auto": LowRankNaturalGradient(rank="auto", refresh=20, iters=2, probe=1, rng=0),
                 "auto40": LowRankNaturalGradient(rank="auto", refresh=40, iters=2, probe=1, rng=0),
                 "auto-sub": LowRankNaturalGradient(rank="auto", refresh=20, iters=2, probe=1, rng=0, batch=sub),
                 "auto40-1": LowRankNaturalGradient(rank="auto", refresh=40, iters=1, probe=1, rng=0)}
    for _ in range(30):
        for opt in adaptives.values():
            opt.refresh_subspace(*opt.fisher(net0, xs[0], T), lr=lr)
    settings = ((1, 10), (1, 5), (2, 10), (4, 10), (4, 20))
    configs = ([("sgd", None), ("momentum 0.9", "momentum"), ("adam", "adam")]
               + [(f"natural k={k} refresh={m} iters=2", (k, m)) for k, m in settings]
               + [(f"natural adaptive (k={adaptives['auto'].k}) refresh=20", "auto"),
                  (f"natural adaptive (k={adaptives['auto40'].k}) refresh=40", "auto40"),
                  (f"natural adaptive (k={adaptives['auto-sub'].k}) refresh=20, Fisher on {sub} of {args.B}",
                   "auto-sub"),
                  (f"natural adaptive (k={adaptives['auto40-1'].k}) refresh=40 iters=1", "auto40-1")])
    times = {name: [] for name, _ in configs}
    for _ in range(max(1, args.steps // BLOCK)):
        for name, spec in configs:
            if spec is None or spec in adaptives:
                opt = None if spec is None else adaptives[spec]
            elif spec == "momentum":
                opt = Momentum(0.9)
            elif spec == "adam":
                opt = Adam()
            else:
                opt = LowRankNaturalGradient(rank=spec[0], refresh=spec[1], iters=2, rng=0)
            times[name].append(block(opt))
    base = np.median(times["sgd"])
    print(f"N = {N}, B = {args.B}, T = {T}, on the {where}; median over {len(times['sgd'])} interleaved blocks "
          f"of {BLOCK} steps")
    for name, _ in configs:
        t = np.median(times[name])
        print(f"{name:62s} {1e3 * t:8.2f} ms/step   x{t / base:.3f}")


if __name__ == "__main__":
    main()
