"""RNN operators from N = 64 to 512, side by side with JAX in the same process (issue 23).

    .venv/bin/pip install -e ".[bench]"         # JAX, for the peer column
    .venv/bin/python benchmarks/bench_scaling.py                       # B x T in 32x25, 256x25, 32x100
    .venv/bin/python benchmarks/bench_scaling.py --configs 256x100     # the largest (slow)
    .venv/bin/python benchmarks/bench_scaling.py --contention           # two processes on the cores
    .venv/bin/python benchmarks/bench_scaling.py --warm --no-jax        # top-5 warm-started along training

Operators of the paper network h_t = tanh(W h_{t-1} + b) with (W, b): the SGD gradient
(forward + BPTT of the readout MSE), the exact trace of the Fisher, Hutch++ with 150
passes, the top-5 eigenpairs (eigenvalues to 1e-10), the fixed points (Newton from 401
starts) and one tracking interval (continuation between two checkpoints).  Each is timed
best of ``--repeat`` after a warm-up (JAX compiles there), nfsntk and JAX alternating with a
pause of ``--settle`` seconds before each call (spinning thread pools of the other side); the
memory column is nfsntk's peak allocation (tracemalloc, a separate run).  An operator whose
estimated time exceeds ``--max-seconds`` is not run and says so.  The growth exponent is the
least-squares slope of log time against log N per operator and B x T.

``--contention``: the SGD gradient (N = 64, B = 256, T = 25) alone, then while a second
process runs the same loop on the other core(s): with the default BLAS threads (every
process a full pool) and with one BLAS thread per process (``numerics._threads``); JAX
(XLA's own threads) beside it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from numerics.rnn import RNN, SntkOperator, embed, find_fixed_points, forward, gradient, track_fixed_points  # noqa: E402

OPS = ("sgd gradient", "exact trace", "hutch++ 150", "top-5", "fixed points", "tracking interval")


def _timed(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def _peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _estimate(op: str, N: int, B: int, T: int) -> tuple[float, float]:
    """Rough seconds (nfsntk, JAX) from flop counts at 3e10 flop/s, to skip what would not finish."""
    rate = 3e10
    if op == "exact trace":  # stack forward T^2 N^3 B; JAX: P passes of 4 T B N^2
        return T * T * N**3 * B / rate, (N * N + N) * 4 * T * B * N * N / rate
    return 0.0, 0.0


def _cases(N: int, B: int, T: int, seed: int, jax: bool):
    rng = np.random.default_rng(seed)
    net = RNN.xavier(N, rng)
    x0 = rng.uniform(-1, 1, (B, 2))
    target = rng.normal(size=(T, B, 2))
    op = SntkOperator(net, x0, T)
    peer = None
    if jax:
        from _jax_peer import JaxFixedPoints, JaxPeer, fixed_point_starts

        peer = JaxPeer(net, embed(x0, N), T)
        starts = fixed_point_starts(net)
        jfp = JaxFixedPoints(net)
    later = RNN(W=net.W + 1e-3 * rng.normal(size=(N, N)) / np.sqrt(N), b=net.b)
    ours = {
        "sgd gradient": lambda: gradient(net, forward(net, x0, T), target),
        "exact trace": op.trace,
        "hutch++ 150": lambda: op.trace_estimate(150, seed=0),
        "top-5": lambda: op.top_eigenpairs(5),
        "fixed points": lambda: find_fixed_points(net, seeds=200),
        "tracking interval": lambda: track_fixed_points([net, later], [0, 1], progress=False),
    }
    theirs = {} if peer is None else {
        "sgd gradient": lambda: peer.gradient(target),
        "exact trace": peer.trace,
        "hutch++ 150": lambda: peer.trace_estimate(150, seed=0),
        "top-5": lambda: peer.top_eigenpairs(5),
        "fixed points": lambda: jfp(starts),
    }
    return ours, theirs


def scaling(sizes, configs, repeat: int, max_seconds: float, jax: bool, ops, settle: float = 0.2) -> list[dict]:
    rows = []
    for B, T in configs:
        for N in sizes:
            ours, theirs = _cases(N, B, T, 0, jax)
            for name in ops:
                if name in ("fixed points", "tracking interval") and (B, T) != configs[0]:
                    continue  # neither depends on B or T
                est_ours, est_jax = _estimate(name, N, B, T)
                row = {"B": B, "T": T, "N": N, "op": name}
                if est_ours > max_seconds:
                    row["ours"] = f"est. {est_ours:.0f} s, not run"
                    if name in theirs:
                        row["jax"] = f"est. {est_jax:.0f} s, not run"
                else:
                    ours[name]()
                    row["memory"] = _peak_bytes(ours[name])
                    run_jax = name in theirs and est_jax <= max_seconds
                    if name in theirs and not run_jax:
                        row["jax"] = f"est. {est_jax:.0f} s, not run"
                    if run_jax:
                        try:
                            theirs[name]()  # compile
                        except Exception as exc:  # noqa: BLE001 -- e.g. XLA out of memory: reported, not fatal
                            row["jax"] = f"failed: {type(exc).__name__}"
                            run_jax = False
                    a, b = [], []
                    for _ in range(repeat):  # alternate, so both see the same machine
                        time.sleep(settle)
                        a.append(_timed(ours[name], 1))
                        if run_jax:
                            time.sleep(settle)
                            b.append(_timed(theirs[name], 1))
                    row["ours"] = min(a)
                    if run_jax:
                        row["jax"] = min(b)
                rows.append(row)
                _print_row(row)
    return rows


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return "-"
    return f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"


def _print_row(row: dict) -> None:
    ratio = (f"{row['jax'] / row['ours']:.2f}x" if isinstance(row.get("ours"), float)
             and isinstance(row.get("jax"), float) else "")
    mem = f"{row['memory'] / 2**20:.0f} MiB" if "memory" in row else ""
    print(f"B={row['B']:<4d} T={row['T']:<4d} N={row['N']:<4d} {row['op']:18s} nfsntk {_fmt(row.get('ours')):>22s}  "
          f"JAX {_fmt(row.get('jax', 'no JAX peer')):>22s}  JAX/nfsntk {ratio:>7s}  memory {mem:>9s}", flush=True)


def exponents(rows: list[dict]) -> None:
    print("\ngrowth exponent in N (slope of log time vs log N), nfsntk / JAX:")
    keys = sorted({(r["B"], r["T"], r["op"]) for r in rows}, key=lambda k: (k[0], k[1], OPS.index(k[2])))
    for B, T, op in keys:
        out = []
        for side in ("ours", "jax"):
            pts = [(r["N"], r[side]) for r in rows if (r["B"], r["T"], r["op"]) == (B, T, op)
                   and isinstance(r.get(side), float)]
            out.append(f"{np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0]:.2f}"
                       if len(pts) >= 2 else "-")
        print(f"  B={B:<4d} T={T:<4d} {op:18s} {out[0]:>5s} / {out[1]:>5s}")


# ---- two processes on the cores --------------------------------------------------------------
def _load(stop, blas_one: bool, jax_load: bool) -> None:
    if blas_one:
        from numerics._threads import limit_blas_threads

        limit_blas_threads(1)
    rng = np.random.default_rng(1)
    net = RNN.xavier(64, rng)
    x0 = rng.uniform(-1, 1, (256, 2))
    target = rng.normal(size=(25, 256, 2))
    if jax_load:
        from _jax_peer import JaxPeer

        peer = JaxPeer(net, embed(x0, 64), 25)
        call = lambda: peer.gradient(target)  # noqa: E731
    else:
        call = lambda: gradient(net, forward(net, x0, 25), target)  # noqa: E731
    while not stop.is_set():
        call()


def contention(repeat: int, jax: bool) -> None:
    from numerics._threads import blas_threads

    rng = np.random.default_rng(0)
    net = RNN.xavier(64, rng)
    x0 = rng.uniform(-1, 1, (256, 2))
    target = rng.normal(size=(25, 256, 2))
    ours = lambda: gradient(net, forward(net, x0, 25), target)  # noqa: E731
    peer = None
    if jax:
        from _jax_peer import JaxPeer

        peer = JaxPeer(net, embed(x0, 64), 25)
        peer.gradient(target)
    ctx = multiprocessing.get_context("spawn")

    def measure(call, runs: int = 40) -> float:
        call()
        return float(np.median([_timed(call, 1) for _ in range(runs)]))

    print("SGD gradient, N = 64, B = 256, T = 25 (median of 40 steps)")
    quiet = measure(ours)
    quiet_jax = measure(lambda: peer.gradient(target)) if peer else None
    print(f"  quiet, default BLAS threads:            nfsntk {quiet * 1e3:6.2f} ms"
          + (f"   JAX {quiet_jax * 1e3:6.2f} ms" if peer else ""))
    with blas_threads(1):
        quiet1 = measure(ours)
    print(f"  quiet, one BLAS thread:                 nfsntk {quiet1 * 1e3:6.2f} ms")
    for blas_one in (False, True):
        stop = ctx.Event()
        proc = ctx.Process(target=_load, args=(stop, blas_one, False))
        proc.start()
        time.sleep(3.0)  # the other process is importing and warming up
        try:
            if blas_one:
                with blas_threads(1):
                    loaded = measure(ours)
            else:
                loaded = measure(ours)
        finally:
            stop.set()
            proc.join()
        label = "one BLAS thread per process" if blas_one else "default BLAS threads in both"
        print(f"  2 processes, {label:29s} nfsntk {loaded * 1e3:6.2f} ms  ({loaded / quiet:.2f}x its quiet time)")
    if peer:
        stop = ctx.Event()
        proc = ctx.Process(target=_load, args=(stop, False, True))
        proc.start()
        time.sleep(5.0)
        try:
            loaded_jax = measure(lambda: peer.gradient(target))
        finally:
            stop.set()
            proc.join()
        print(f"  2 processes, JAX beside JAX:            JAX    {loaded_jax * 1e3:6.2f} ms  "
              f"({loaded_jax / quiet_jax:.2f}x its quiet time)")


def warm_start(repeat: int) -> None:
    """Top-5 along a training run's checkpoints: cold, and warm-started from the previous checkpoint."""
    from numerics.rnn import TrainConfig, train

    rec = train(TrainConfig(N=64, steps=2000, record_every=100, seed=0, diagnostics="loss"), progress=False)
    print("top-5 of the Fisher at 20 consecutive checkpoints of a paper SGD run (N = 64, B = 32, T = 25, "
          "every 100 steps)")
    cold_t, warm_t, cold_p, warm_p = [], [], [], []
    prev = None
    for j in range(len(rec.steps)):
        op = SntkOperator(rec.network(j), rec.x_diag, rec.config.T)
        start = time.perf_counter()
        _, vecs, cold = op.eigen(5)
        cold_t.append(time.perf_counter() - start)
        cold_p.append(cold.products)
        if prev is not None:
            start = time.perf_counter()
            _, _, warm = op.eigen(5, start=prev)
            warm_t.append(time.perf_counter() - start)
            warm_p.append(warm.products)
        prev = vecs
    print(f"  cold: median {np.median(cold_p):.0f} products, {np.median(cold_t) * 1e3:.1f} ms")
    print(f"  warm: median {np.median(warm_p):.0f} products (range {min(warm_p)}-{max(warm_p)}), "
          f"{np.median(warm_t) * 1e3:.1f} ms")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="64,128,256,512")
    ap.add_argument("--configs", default="32x25,256x25,32x100", help="B x T pairs")
    ap.add_argument("--ops", default=",".join(OPS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--settle", type=float, default=0.2,
                    help="seconds of pause before each timed call: XLA's and OpenBLAS's threads spin after their "
                         "work and slow whatever runs next (2x measured); the pause lets them sleep")
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument("--contention", action="store_true")
    ap.add_argument("--warm", action="store_true", help="top-5 cold vs warm-started along a training run")
    args = ap.parse_args(argv)
    jax = not args.no_jax
    if jax:
        import _jax_peer

        _jax_peer._check()
    if args.contention:
        contention(args.repeat, jax)
        return
    if args.warm:
        warm_start(args.repeat)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    configs = [tuple(int(v) for v in c.split("x")) for c in args.configs.split(",")]
    ops = [o.strip() for o in args.ops.split(",")]
    bad = [o for o in ops if o not in OPS]
    if bad:
        ap.error(f"unknown operators {bad}; choose from {list(OPS)}")
    rows = scaling(sizes, configs, args.repeat, args.max_seconds, jax, ops, args.settle)
    exponents(rows)


if __name__ == "__main__":
    main()
