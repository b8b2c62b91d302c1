r"""The teacher of appendix B: prescribed fixed points in the readout plane.

For pre-activations x in R^N, W tanh(x) = x makes h* = tanh(x) a fixed point
of h = tanh(W h) (b = 0).  For several x_k (columns of X) this is
W = X pinv(tanh X) + W_perp (I - P), where P projects onto span(tanh X), so
that W_perp tanh(x_k) = 0.  (The paper prints W_perp x = 0; what the
construction needs is W_perp tanh(x) = 0.)  tanh is odd, so -x_k are fixed
points too and the origin is one: 2 m + 1 fixed points from m columns.

The paper's teacher has 4 stable and 5 unstable fixed points in the readout
plane.  Here: stable targets at (+-r, +-r), saddles at (+-r, 0) and (0, +-r),
the origin unstable.  Stability is not implied by the construction, so the
builder draws the hidden components and W_perp from a seeded generator and
keeps the first draw whose fixed points (found independently by Newton from
many starts) are exactly 4 stable + 5 unstable.

Status: with the defaults every draw tried so far has the 9 prescribed
points (4 stable) plus at least one extra pair of unstable points; by index
theory in the readout plane (4 nodes - 4 saddles + origin = 1 requires the
origin to be a planar repeller) the origin's in-plane multipliers must both
exceed 1 in modulus, which this draw does not yet enforce.  ``build_teacher``
therefore raises after ``max_attempts`` and is not exported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._inputs import SeedLike, as_generator
from ._fixed_points import RnnFixedPoint, find_fixed_points
from ._model import RNN


@dataclass(frozen=True)
class Teacher:
    net: RNN
    fixed_points: list
    attempts: int

    @property
    def n_stable(self) -> int:
        return sum(fp.stable for fp in self.fixed_points)

    @property
    def n_unstable(self) -> int:
        return len(self.fixed_points) - self.n_stable


def construct_W(X: np.ndarray, W_perp: np.ndarray) -> np.ndarray:
    """W with W tanh(X) = X exactly and W_perp acting on the complement of span(tanh X)."""
    TX = np.tanh(X)
    P = TX @ np.linalg.pinv(TX)
    return X @ np.linalg.pinv(TX) + W_perp @ (np.eye(X.shape[0]) - P)


def build_teacher(N: int = 64, seed: SeedLike = 0, r: float = 0.6, hidden_scale: float = 2.0,
                  perp_gain: float = 0.5, max_attempts: int = 200) -> Teacher:
    """Teacher RNN (b = 0) with 4 stable and 5 unstable fixed points in the readout plane.

    Parameters
    ----------
    r : float
        Readout coordinate of the prescribed points (in h, so |r| < 1).
    hidden_scale : float
        Std of the hidden neurons' pre-activations at the prescribed points;
        larger saturates them and stabilises those points.
    perp_gain : float
        Gain of W_perp (Xavier-uniform scaled), the dynamics off the prescribed span.
    """
    if not 0 < r < 1:
        raise ValueError(f"r must lie in (0, 1) (a tanh state), got {r}")
    rng = as_generator(seed)
    a = np.arctanh(r)
    readouts = np.array([[a, a], [a, -a], [a, 0.0], [0.0, a]]).T  # stable, stable, saddle, saddle
    for attempt in range(1, max_attempts + 1):
        X = np.empty((N, 4))
        X[:2] = readouts
        X[2:] = rng.normal(0.0, hidden_scale, size=(N - 2, 4))
        X[2:, 2:] *= 0.25  # saddles: weakly saturated hidden part
        limit = np.sqrt(6.0 / (2 * N))
        W_perp = perp_gain * rng.uniform(-limit, limit, size=(N, N))
        net = RNN(construct_W(X, W_perp), np.zeros(N))
        fps = find_fixed_points(net, seeds=60, rng=rng, extra=np.concatenate([np.tanh(X.T), -np.tanh(X.T)]))
        stable = sum(fp.stable for fp in fps)
        if stable == 4 and len(fps) == 9:
            return Teacher(net=net, fixed_points=fps, attempts=attempt)
    raise RuntimeError(
        f"no draw in {max_attempts} attempts gave exactly 4 stable + 5 unstable fixed points; "
        "change hidden_scale or perp_gain"
    )
