"""Every cell's operators beside JAX, side by side in one process (issue 18).

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python benchmarks/bench_cells.py            # add --no-jax to time nfsntk alone
    .venv/bin/python benchmarks/bench_cells.py --cells GRU --ops JVP,top   # a part of the table

At N = 64, T = 25 (B = 32 for the operators, B = 256 for the gradient), for the paper's
``RNN`` (fused kernels) and, through the generic cell protocol, ``TanhCell``, ``LeakyCell``
(alpha = 0.2) and ``GRUCell`` -- the last three with 3 inputs (a flip-flop-like input
sequence), so every term of their updates is exercised.  Operators: the BPTT gradient of the
readout MSE, 16 JVPs, 16 VJPs, the exact trace, Hutch++ with 150 passes and the top-5
eigenpairs.  The JAX peer (``benchmarks/_jax_peer.py``) implements the same cells and
operators.  Best of ``--repeat`` after a warm-up, the two sides alternating with a pause of
``--settle`` seconds before each call (XLA's and OpenBLAS's threads spin after their work).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from numerics.rnn import RNN, GRUCell, LeakyCell, SntkOperator, TanhCell, embed, forward, gradient  # noqa: E402

N, T, B, B_GRAD, N_IN = 64, 25, 32, 256, 3


def _cells(rng):
    xav = RNN.xavier(N, rng)
    w_in = rng.normal(size=(N, N_IN)) / np.sqrt(N_IN)
    return {
        "RNN (paper, fused)": xav,
        "TanhCell + inputs": TanhCell(xav.W, xav.b, w_in),
        "LeakyCell + inputs": LeakyCell(1.5 * xav.W, xav.b, w_in, alpha=0.2),
        "GRUCell + inputs": GRUCell.init(N, N_IN, rng),
    }


def _cases(name, cell, rng, jax: bool):
    paper = isinstance(cell, RNN)
    x0 = rng.uniform(-1, 1, (B_GRAD, 2))
    h_big = embed(x0, N) if paper else 0.5 * rng.uniform(-1, 1, (B_GRAD, N))
    X_big = None if paper else rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.8, 0.1], size=(T, B_GRAD, N_IN))
    target = rng.normal(size=(T, B_GRAD, 2))
    op = SntkOperator(cell, x0[:B], T) if paper else SntkOperator(cell, h0=h_big[:B], X=X_big[:, :B])
    U = rng.normal(size=(16, op.n_params))
    V = rng.normal(size=(16, T, B, N))

    if paper:
        grad = lambda: gradient(cell, forward(cell, x0, T), target)  # noqa: E731
    else:
        def grad():
            H = cell.forward(h_big, X_big)
            cot = np.zeros((1,) + H[1:].shape)
            cot[0, :, :, :2] = 2.0 * (H[1:, :, :2] - target) / target.size
            return cell.vjp(H, X_big, cot)

    ours = {"BPTT gradient (B=256)": grad, "16 JVPs": lambda: op.J(U), "16 VJPs": lambda: op.JT(V),
            "exact trace": op.trace, "Hutch++ 150": lambda: op.trace_estimate(150, seed=0),
            "top-5": lambda: op.top_eigenpairs(5)}
    theirs = {}
    if jax:
        from _jax_peer import JaxPeer

        import jax.numpy as jnp

        peer = JaxPeer(cell, h_big[:B], T, None if paper else X_big[:, :B])
        peer_grad = JaxPeer(cell, h_big, T, None if paper else X_big)
        theirs = {"BPTT gradient (B=256)": lambda: peer_grad.gradient(target),
                  "16 JVPs": lambda: np.asarray(peer.J(jnp.asarray(U))),
                  "16 VJPs": lambda: np.asarray(peer.JT(jnp.asarray(V))),
                  "exact trace": peer.trace, "Hutch++ 150": lambda: peer.trace_estimate(150, seed=0),
                  "top-5": lambda: peer.top_eigenpairs(5)}
    return ours, theirs


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--settle", type=float, default=0.2)
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument("--cells", default="", help="only cells whose name contains this text (e.g. GRU)")
    ap.add_argument("--ops", default="", help="only operations whose name contains one of these comma-separated "
                                               "texts (e.g. JVP,top)")
    args = ap.parse_args(argv)
    jax = not args.no_jax
    if jax:
        import _jax_peer

        _jax_peer._check()
    rng = np.random.default_rng(0)
    print(f"N = {N}, T = {T}, B = {B} (gradient: B = {B_GRAD}), {N_IN} inputs for the protocol cells; "
          f"best of {args.repeat}, alternating, {args.settle} s pause before each call")
    print(f"{'cell':20s} {'operation':22s} {'nfsntk':>10s} {'JAX':>10s} {'JAX/nfsntk':>10s}")
    wanted = [w for w in args.ops.split(",") if w]
    for name, cell in _cells(rng).items():
        ours, theirs = _cases(name, cell, rng, jax)
        if args.cells not in name:
            continue
        for op_name, call in ours.items():
            if wanted and not any(w in op_name for w in wanted):
                continue
            call()
            other = theirs.get(op_name)
            if other is not None:
                other()
            a, b = [], []
            for _ in range(args.repeat):
                time.sleep(args.settle)
                start = time.perf_counter()
                call()
                a.append(time.perf_counter() - start)
                if other is not None:
                    time.sleep(args.settle)
                    start = time.perf_counter()
                    other()
                    b.append(time.perf_counter() - start)
            ta = min(a)
            tb = min(b) if b else None
            print(f"{name:20s} {op_name:22s} {ta * 1e3:8.2f}ms "
                  + (f"{tb * 1e3:8.2f}ms {tb / ta:9.2f}x" if tb else f"{'-':>10s}"), flush=True)


if __name__ == "__main__":
    main()
