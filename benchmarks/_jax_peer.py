"""The JAX peer the benchmarks run side by side with nfsntk (``pip install -e ".[bench]"``).

What a JAX user would write for the same operators, with the same cells, parameter
order and float64: the states h_1..h_T by ``lax.scan``, J u by ``jax.jvp``, J^T v by
``jax.vjp``, Fisher products J^T (J u) jitted (``vmap`` over a block of directions),
the exact trace as the sum of ||J e_p||^2 over unit directions in jitted blocks of 64
(the full ``jacfwd`` Jacobian does not fit in memory from N = 128 on), Hutch++ with the
same split of passes, top-k by scipy's ``eigsh`` on the jitted product (the usual
route; tolerance 1e-10 as nfsntk's), and the BPTT gradient by ``jax.grad``.

Never imported by the package: only ``benchmarks/`` use it.
"""

from __future__ import annotations

import numpy as np

try:
    import jax
    import jax.numpy as jnp
    from jax import lax

    jax.config.update("jax_enable_x64", True)
    AVAILABLE = True
except ImportError:  # the bench extra is not installed
    AVAILABLE = False


def _check() -> None:
    if not AVAILABLE:
        raise SystemExit('the JAX column needs the bench extra: .venv/bin/pip install -e ".[bench]"')


def _update(kind: str, N: int, alpha: float):
    """F(h, x, groups) in jax.numpy for the cells of numerics.rnn (same equations, same group names)."""
    if kind == "tanh":
        def F(h, x, p):
            a = h @ p["W"].T + p["b"]
            return jnp.tanh(a if x is None else a + x @ p["W_in"].T)
    elif kind == "leaky":
        def F(h, x, p):
            a = h @ p["W"].T + p["b"]
            a = a if x is None else a + x @ p["W_in"].T
            return (1.0 - alpha) * h + alpha * jnp.tanh(a)
    elif kind == "gru":
        def F(h, x, p):
            gh = h @ p["weight_hh"].T + p["bias_hh"]
            gi = p["bias_ih"] if x is None else x @ p["weight_ih"].T + p["bias_ih"]
            r = jax.nn.sigmoid(gi[..., :N] + gh[..., :N])
            z = jax.nn.sigmoid(gi[..., N:2 * N] + gh[..., N:2 * N])
            n = jnp.tanh(gi[..., 2 * N:] + r * gh[..., 2 * N:])
            return (1.0 - z) * n + z * h
    else:
        raise ValueError(kind)
    return F


class JaxPeer:
    """The operators of one cell at fixed parameters, initial states and (optional) inputs, in JAX."""

    def __init__(self, cell, h0: np.ndarray, T: int, X: np.ndarray | None = None) -> None:
        _check()
        from numerics.rnn import GRUCell, LeakyCell

        kind = "gru" if isinstance(cell, GRUCell) else "leaky" if isinstance(cell, LeakyCell) else "tanh"
        self.layout = cell.layout()
        self.names = list(self.layout)
        sizes = [int(np.prod(s)) for s in self.layout.values()]
        self.offsets = np.cumsum([0] + sizes)
        self.P = int(self.offsets[-1])
        F = _update(kind, cell.N, getattr(cell, "alpha", 1.0))
        theta = cell.flat()
        self.theta = jnp.asarray(theta)
        h0 = jnp.asarray(h0)
        Xj = None if X is None else jnp.asarray(X)

        def groups(th):
            return {name: th[self.offsets[i]:self.offsets[i + 1]].reshape(self.layout[name])
                    for i, name in enumerate(self.names)}

        def states(th):
            p = groups(th)

            def step(h, x):
                h = F(h, x, p)
                return h, h

            if Xj is None:
                _, H = lax.scan(lambda h, _: step(h, None), h0, None, length=T)
            else:
                _, H = lax.scan(step, h0, Xj)
            return H  # (T, B, N)

        self.states = states
        _, vjp_fun = jax.vjp(states, self.theta)
        jvp1 = lambda u: jax.jvp(states, (self.theta,), (u,))[1]  # noqa: E731
        self.J = jax.jit(jax.vmap(jvp1))
        self.JT = jax.jit(jax.vmap(lambda v: vjp_fun(v)[0]))
        self.fisher = jax.jit(jax.vmap(lambda u: vjp_fun(jvp1(u))[0]))
        self.fisher1 = jax.jit(lambda u: vjp_fun(jvp1(u))[0])
        self.sqnorms = jax.jit(jax.vmap(lambda u: jnp.sum(jvp1(u) ** 2)))

        def loss(th, target):
            return jnp.mean((states(th)[..., :2] - target) ** 2)

        self.grad = jax.jit(jax.grad(loss))

    # each returns numpy, blocking on the result so the timing is the work's
    def fisher_matvec(self, U: np.ndarray) -> np.ndarray:
        return np.asarray(self.fisher(jnp.asarray(U)))

    def gradient(self, target: np.ndarray) -> np.ndarray:
        return np.asarray(self.grad(self.theta, jnp.asarray(target)))

    def trace(self, block: int = 64) -> float:
        total = 0.0
        eye_block = np.eye(block, self.P)
        for i in range(0, self.P, block):
            E = np.roll(eye_block, i, axis=1) if i + block <= self.P else np.eye(self.P - i, self.P, k=i)
            if E.shape[0] < block:  # the jitted block has a fixed shape: pad with zero directions
                E = np.concatenate([E, np.zeros((block - E.shape[0], self.P))])
            total += float(jnp.sum(self.sqnorms(jnp.asarray(E))))
        return total

    def trace_estimate(self, passes: int = 150, seed: int = 0) -> float:
        rng = np.random.default_rng(seed)
        k = max(1, passes // 6)
        m = passes - 3 * k
        S = rng.choice([-1.0, 1.0], size=(k, self.P))
        Q, _ = np.linalg.qr(self.fisher_matvec(S).T)
        exact = float(jnp.sum(self.sqnorms(jnp.asarray(Q.T))))
        G = rng.choice([-1.0, 1.0], size=(m, self.P))
        G -= (G @ Q) @ Q.T
        return exact + float(np.mean(np.asarray(self.sqnorms(jnp.asarray(G)))))

    def top_eigenpairs(self, k: int = 5, tol: float = 1e-10):
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = LinearOperator((self.P, self.P), dtype=np.float64,
                            matvec=lambda u: np.asarray(self.fisher1(jnp.asarray(np.ravel(u)))))
        vals, vecs = eigsh(op, k=k, which="LA", tol=tol, v0=np.ones(self.P) / np.sqrt(self.P))
        order = np.argsort(vals)[::-1]
        return vals[order], vecs[:, order]


def fixed_point_starts(cell, seeds: int = 200, seed: int = 0) -> np.ndarray:
    """The starts ``numerics.rnn.find_fixed_points`` uses: origin, uniform draws, and those draws run 200 steps."""
    rng = np.random.default_rng(seed)
    random = rng.uniform(-1, 1, size=(seeds, cell.N))
    run = random.copy()
    for _ in range(200):
        run = cell._update(run, cell._x1(None), cell.params())
    return np.concatenate([np.zeros((1, cell.N)), random, run])


class JaxFixedPoints:
    """Newton from every start at once in JAX (vmap of a jitted 60-step Newton with ``jacfwd``)."""

    def __init__(self, cell) -> None:
        _check()
        from numerics.rnn import GRUCell, LeakyCell

        kind = "gru" if isinstance(cell, GRUCell) else "leaky" if isinstance(cell, LeakyCell) else "tanh"
        F = _update(kind, cell.N, getattr(cell, "alpha", 1.0))
        p = {k: jnp.asarray(v) for k, v in cell.params().items()}
        G = lambda h: h - F(h, None, p)  # noqa: E731

        def newton(h):
            # until the residual is below 1e-13 or 60 steps (vmap runs the batch until every lane is done)
            def cond(state):
                i, h = state
                return (i < 60) & (jnp.max(jnp.abs(G(h))) > 1e-13)

            def body(state):
                i, h = state
                return i + 1, h - jnp.linalg.solve(jax.jacfwd(G)(h), G(h))

            _, h = lax.while_loop(cond, body, (0, h))
            return h, jnp.max(jnp.abs(G(h)))

        self.solve = jax.jit(jax.vmap(newton))

    def __call__(self, starts: np.ndarray, tol: float = 1e-12, dedup: float = 1e-6) -> list[np.ndarray]:
        H, res = self.solve(jnp.asarray(starts))
        H, res = np.asarray(H), np.asarray(res)
        found: list[np.ndarray] = []
        for h, r in zip(H, res):
            if r <= 100 * tol and not any(np.max(np.abs(h - o)) < dedup for o in found):
                found.append(h)
        return found
