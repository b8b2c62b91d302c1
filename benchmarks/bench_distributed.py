"""Throughput of the distributed sweep on a 2-worker LocalCluster against the local sweep.

    python benchmarks/bench_distributed.py [--G 400] [--B 100000] [--T 100] [--rounds 3]

The same pitchfork sweep (G x B x T state updates), local (threads = the CPUs
of this process) and on a LocalCluster of 2 worker processes x 1 thread each,
alternating in one process, best of ``rounds``; the cluster's start-up is
timed once, separately.  On one machine the cluster can at best match the
local threads (same cores, plus task and transfer overhead); what the ratio
measures is that overhead, i.e. what is paid for being able to go beyond one
machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import normalforms as nf
import numerics


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--G", type=int, default=400)
    ap.add_argument("--B", type=int, default=100_000)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    g = np.linspace(0.5, 1.5, args.G)
    h0 = numerics.uniform_ics(0.1, args.B, seed=0)
    form = nf.pitchfork()
    numerics.sweep(form, g[:2], 2, h0[:10], progress=False)  # compile / load from cache
    start = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    numerics.sweep(form, g[:2], 2, h0[:10], client=client, chunks=(1, 5))  # workers load the kernel
    startup = time.perf_counter() - start
    best = {"local": np.inf, "2 workers": np.inf}
    for _ in range(args.rounds):
        t = time.perf_counter()
        local = numerics.sweep(form, g, args.T, h0, progress=False)
        best["local"] = min(best["local"], time.perf_counter() - t)
        t = time.perf_counter()
        dist = numerics.sweep(form, g, args.T, h0, client=client)
        best["2 workers"] = min(best["2 workers"], time.perf_counter() - t)
    err = float(np.max(np.abs(dist.norm / local.norm - 1)))
    updates = args.G * args.B * args.T
    print(f"pitchfork G={args.G} B={args.B} T={args.T}: {updates:.3g} state updates; max relative difference {err:.2g}")
    for name, sec in best.items():
        print(f"{name:10s} {sec:7.3f} s  {updates / sec / 1e9:6.2f} x 1e9 updates/s  x{best['local'] / sec:.3f} local")
    print(f"cluster start-up + first kernel load: {startup:.2f} s")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
