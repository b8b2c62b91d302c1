r"""Fixed points h = F(h, x) of any cell at a constant input x: Newton from many seeds, with multipliers.

G(h) = h - F(h, x) = 0 is solved by Newton's method with Jacobian I - dF/dh
(for the paper's cell, F = tanh(W h + b) and dF/dh = D W, D = diag(1 - tanh^2)).
The multipliers of a fixed point are the eigenvalues of dF/dh there; it is
stable when all |mu| < 1.  Autonomous cells take no input; input-driven ones
are analysed at a constant input (0 unless given), as in Sussillo & Barak 2013.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._inputs import SeedLike, as_generator
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
    I = np.eye(net.N)
    polish = 2  # Newton steps after the tolerance is met: quadratic convergence reaches rounding level
    last = np.inf
    for _ in range(iters):
        F = h - net.map1(h, x)
        res = float(np.max(np.abs(F)))
        # and the last step small: at a degenerate root (a network exactly on a bifurcation, h - tanh h
        # ~ h^3/3) the residual is below tol far from the root, where Newton converges only linearly
        if res < tol:
            if polish <= 0 and last < 1e-9:
                return h, res
            polish -= 1
        Jf = I - net.jacobian_h(h, x)
        try:
            step = np.linalg.solve(Jf, F)
            last = float(np.max(np.abs(step)))
            h = h - step
        except np.linalg.LinAlgError:
            # singular exactly at a bifurcation (a multiplier at 1): a converged point stays valid
            return h, (res if res < tol else np.inf)
        if not np.all(np.isfinite(h)):
            return h, np.inf
    F = h - net.map1(h, x)
    return h, float(np.max(np.abs(F)))


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
    for h in starts:
        h, res = _newton(net, np.array(h, dtype=np.float64), iters, tol, x)
        if res > tol * 100:
            continue
        if near(h, [fp.h for fp in found], dedup):
            continue
        found.append(RnnFixedPoint(h=h, multipliers=multipliers(net, h, x), residual=res))
    return sorted(found, key=lambda fp: (round(fp.readout[0], 6), round(fp.readout[1], 6)))
