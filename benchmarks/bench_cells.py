"""The cell protocol's cost, side by side in one process (issue 18).

    .venv/bin/python benchmarks/bench_cells.py

At N = 64, T = 25: the BPTT gradient (B = 256) and the sNTK operators (B = 32) of

* the paper's ``RNN`` (fused kernels, the code that produced every record), and
* ``TanhCell`` without inputs -- the same network through the generic protocol path
  (jets for JVPs, the per-step adjoint for VJPs), i.e. what any new cell gets for free,
* ``GRUCell`` (3x the recurrent parameters) through the same generic path.

Best of 5 after a warm-up; ratios are against the paper's fused path.
"""

from __future__ import annotations

import time

import numpy as np

from numerics.rnn import RNN, GRUCell, SntkOperator, TanhCell, embed, forward, gradient


def _best(call, repeat: int = 5) -> float:
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    N, T = 64, 25
    rng = np.random.default_rng(0)
    net = RNN.xavier(N, rng)
    twin = TanhCell(net.W, net.b)
    gru = GRUCell.init(N, 0, rng)  # autonomous, like the paper network
    x_big = rng.uniform(-1, 1, (256, 2))
    target = rng.normal(size=(T + 1, 256, 2))
    h_big = embed(x_big, N)
    V = np.zeros((T, 256, N))
    V[:, :, :2] = target[1:]

    rows = []
    paper = _best(lambda: gradient(net, forward(net, x_big, T), target))
    generic = _best(lambda: twin.vjp(twin.forward(h_big, T=T), None, V[None]))
    g = _best(lambda: gru.vjp(gru.forward(h_big, T=T), None, V[None]))
    rows.append(("BPTT gradient, B = 256", paper, generic, g))

    x0 = x_big[:32]
    h0 = h_big[:32]
    ops = (SntkOperator(net, x0, T), SntkOperator(twin, h0=h0, T=T), SntkOperator(gru, h0=h0, T=T))
    u = [rng.normal(size=(16, op.n_params)) for op in ops]
    rows.append(("16 JVPs (J u), B = 32",) + tuple(_best(lambda op=op, uu=uu: op.J(uu)) for op, uu in zip(ops, u)))
    v = rng.normal(size=(16, T, 32, N))
    rows.append(("16 VJPs (J^T v), B = 32",) + tuple(_best(lambda op=op: op.JT(v)) for op in ops))
    rows.append(("Hutch++ 150, B = 32",) + tuple(_best(lambda op=op: op.trace_estimate(150, seed=0), 3) for op in ops))
    rows.append(("Lanczos top-5, B = 32",) + tuple(_best(lambda op=op: op.top_eigenpairs(5), 2) for op in ops))

    print(f"N = {N}, T = {T}; best of 5 (3, 2 for the last two rows)")
    print(f"{'operation':28s} {'RNN (fused)':>12s} {'TanhCell':>12s} {'ratio':>6s} {'GRUCell':>12s} {'ratio':>6s}")
    for name, a, b, c in rows:
        print(f"{name:28s} {a * 1e3:10.2f}ms {b * 1e3:10.2f}ms {b / a:6.2f} {c * 1e3:10.2f}ms {c / a:6.2f}")


if __name__ == "__main__":
    main()
