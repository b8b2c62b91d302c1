r"""Fixed points h = F(h, x) of any cell at a constant input x: Newton from many seeds, with multipliers.

G(h) = h - F(h, x) = 0 is solved by Newton's method with Jacobian I - dF/dh
(for the paper's cell, F = tanh(W h + b) and dF/dh = D W, D = diag(1 - tanh^2)).
The multipliers of a fixed point are the eigenvalues of dF/dh there; it is
stable when all |mu| < 1.  Autonomous cells take no input; input-driven ones
are analysed at a constant input (0 unless given), as in Sussillo & Barak 2013.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._inputs import SeedLike, as_generator, real_array
from ._cells import AbstractCell
from ._model import READOUT
from normalforms._repr import short_repr


@short_repr()
@dataclass(frozen=True)
class RnnFixedPoint:
    """h* (N,), its multipliers (sorted by decreasing modulus) and stability."""

    h: np.ndarray
    multipliers: np.ndarray
    residual: float

    @property
    def stable(self) -> bool:
        return bool(np.abs(self.multipliers[0]) < 1)

    @property
    def readout(self) -> tuple[float, float]:
        return float(self.h[READOUT[0]]), float(self.h[READOUT[1]])

    @property
    def real_multipliers(self) -> np.ndarray:
        return real_multipliers(self.multipliers)

    @property
    def n_unstable(self) -> int:
        return int(np.sum(np.abs(self.multipliers) > 1))


def _newton(net: AbstractCell, h: np.ndarray, iters: int, tol: float, x=None) -> tuple[np.ndarray, float]:
    """Newton on h - F(h, x) = 0 from one start: (h, max-norm residual; inf when it failed)."""
    h = np.asarray(h, dtype=np.float64)
    if not np.all(np.isfinite(h)):  # an internal start that already overflowed is a failure, not bad input
        return h, np.inf
    H, res = newton_batch(net, h[None], iters, tol, x)
    return H[0], float(res[0])


@functools.cache
def _solve_pool():
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="nfsntk-solve")


def _solve_many(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.linalg.solve over a stack of systems, split over the cores.

    numpy solves a stack one system after another on one core (and releases the GIL), so
    slices of the stack on a few threads, each with one BLAS thread, run side by side: 2x
    on 2 cores for 401 systems of size 64..256 (measured).
    """
    import os

    workers = min(os.cpu_count() or 1, 8, A.shape[0] // 32)
    if workers < 2:
        return np.linalg.solve(A, b)
    from .._threads import blas_threads

    bounds = np.linspace(0, A.shape[0], workers + 1).astype(int)
    with blas_threads(1):
        parts = [_solve_pool().submit(np.linalg.solve, A[i:j], b[i:j]) for i, j in zip(bounds[:-1], bounds[1:])]
        return np.concatenate([f.result() for f in parts])


def newton_batch(net: AbstractCell, starts: np.ndarray, iters: int = 60, tol: float = 1e-12,
                 x=None) -> tuple[np.ndarray, np.ndarray]:
    """Newton on h - F(h, x) = 0 from every row of ``starts`` (S, N) at once: (points (S, N), residuals (S,)).

    All unfinished starts share each step: one batched map, one batched Jacobian and one
    batched solve (starts in chunks of <= 256 MiB of Jacobians).  A start stops two steps
    after its residual is below ``tol`` (one when the last step was already below 1e-13),
    provided the last step is < 1e-9 too (at a degenerate
    root, h - tanh h ~ h^3/3, the residual is below tol far from the root, where Newton
    converges only linearly); residual inf marks a start that failed (overflow, a singular
    Jacobian before convergence -- exactly on a bifurcation a converged point stays valid).
    """
    starts = np.array(real_array(starts, "starts"), dtype=np.float64)
    if starts.ndim != 2 or starts.shape[1] != net.N or not starts.shape[0]:
        raise ValueError(f"starts must have shape (S, {net.N}) with S >= 1, got {starts.shape}")
    if not np.all(np.isfinite(starts)):
        raise ValueError("starts must be finite; they hold NaN or inf")
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise ValueError(f"iters must be a positive integer, got {iters!r}")
    if not (isinstance(tol, (int, float, np.floating)) and 0 < tol < 1):
        raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
    S, N = starts.shape
    chunk = int(max(1, min(S, 2**28 // (8 * N * N))))
    if chunk < S:
        parts = [newton_batch(net, starts[i:i + chunk], iters, tol, x) for i in range(0, S, chunk)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    H = starts
    res = np.full(S, np.inf)
    last = np.full(S, np.inf)
    polish = np.full(S, 2)  # Newton steps after the tolerance is met: quadratic convergence reaches rounding level
    active = np.ones(S, bool)
    p, xb = net.params(), net._x1(x)
    diag = np.arange(N)
    for _ in range(iters):
        idx = np.flatnonzero(active)
        if not idx.size:
            break
        h = H[idx]
        F = h - net._update(h, xb, p)
        r = np.max(np.abs(F), axis=1)
        conv = r < tol
        # done when polished twice, or once the last step was at rounding level already
        finish = conv & (last[idx] < 1e-9) & ((polish[idx] <= 0) | (last[idx] < 1e-13))
        res[idx[finish]] = r[finish]
        active[idx[finish]] = False
        polish[idx[conv & ~finish]] -= 1
        go = ~finish
        idx, h, F, r = idx[go], h[go], F[go], r[go]
        if not idx.size:
            continue
        Jf = net.jacobian_h_batch(h, x)  # I - dF/dh in place: one pass over the stack fewer
        np.negative(Jf, out=Jf)
        Jf[:, diag, diag] += 1.0
        try:
            step = _solve_many(Jf, F[..., None])[..., 0]
        except np.linalg.LinAlgError:  # some Jacobian is exactly singular: those starts stop here
            step = np.full_like(F, np.nan)
            for i in range(idx.size):
                try:
                    step[i] = np.linalg.solve(Jf[i], F[i])
                except np.linalg.LinAlgError:
                    res[idx[i]] = r[i] if r[i] < tol else np.inf
                    active[idx[i]] = False
        ok = active[idx]
        idx, step = idx[ok], step[ok]
        last[idx] = np.max(np.abs(step), axis=1)
        H[idx] = H[idx] - step
        bad = ~np.all(np.isfinite(H[idx]), axis=1)
        res[idx[bad]] = np.inf
        active[idx[bad]] = False
    idx = np.flatnonzero(active)
    if idx.size:
        res[idx] = np.max(np.abs(H[idx] - net._update(H[idx], xb, p)), axis=1)
    return H, res


def near(h: np.ndarray, others: list[np.ndarray], tol: float) -> bool:
    """Whether h is within ``tol`` (max-norm) of any of ``others``."""
    return any(np.max(np.abs(h - o)) < tol for o in others)


def multipliers(net: AbstractCell, h: np.ndarray, x=None) -> np.ndarray:
    """Eigenvalues of dF/dh at h (D W for the paper's cell), sorted by decreasing modulus."""
    mu = np.linalg.eigvals(net.jacobian_h(h, x))
    return mu[np.argsort(-np.abs(mu), kind="stable")]


def real_multipliers(mu: np.ndarray) -> np.ndarray:
    """The real multipliers among ``mu`` (imaginary part below 1e-9), as floats."""
    return mu[np.abs(mu.imag) < 1e-9].real


def find_fixed_points(net: AbstractCell, seeds: int = 200, rng: SeedLike = 0, extra: np.ndarray | None = None,
                      tol: float = 1e-12, dedup: float = 1e-6, iters: int = 60, x=None) -> list[RnnFixedPoint]:
    """All fixed points Newton reaches from ``seeds`` random starts in [-1, 1]^N (plus ``extra`` starts),
    for any cell at the constant input ``x`` (default 0; ignored by autonomous cells).

    Starts also include the origin and the states reached by running the map
    for 200 steps from each random start (they land on attractors), so stable
    points are not missed.  Points closer than ``dedup`` (max-norm) are merged.
    Returned sorted by readout coordinates.
    """
    gen = as_generator(rng)
    starts = [np.zeros(net.N)]
    random = gen.uniform(-1, 1, size=(seeds, net.N))
    starts += list(random)
    run = random.copy()
    p, xb = net.params(), net._x1(x)
    xb = None if xb is None else np.broadcast_to(xb, (seeds, xb.shape[1]))
    for _ in range(200):
        run = net._update(run, xb, p)
    starts += list(run)
    if extra is not None:
        starts += list(np.atleast_2d(extra))
    found: list[RnnFixedPoint] = []
    points, residuals = newton_batch(net, np.array(starts), iters, tol, x)
    for h, res in zip(points, residuals):
        if not res <= tol * 100:
            continue
        if near(h, [fp.h for fp in found], dedup):
            continue
        found.append(RnnFixedPoint(h=h, multipliers=multipliers(net, h, x), residual=float(res)))
    return sorted(found, key=lambda fp: (round(fp.readout[0], 6), round(fp.readout[1], 6)))
