r"""The teacher of appendix B: 4 stable and 5 unstable fixed points in the readout plane.

For pre-activations x in R^N, W tanh(x) = x makes h* = tanh(x) a fixed point
of h = tanh(W h) (b = 0).  For several x_k (columns of X):

.. math:: W = X\,\mathrm{pinv}(\tanh X) + W_\perp (I - P),

P the projection onto span(tanh X), so that W_perp tanh(x_k) = 0 -- the paper
prints W_perp x = 0; what the construction needs is W_perp tanh(x) = 0.  tanh
is odd, so -x_k are fixed points too, and so is the origin.

Here the prescribed points are (+-r, +-r), (+-r, 0), (0, +-r) and the origin in
the readout plane, with zero hidden components.  Then span(tanh X) is the
readout plane, the readout block of W is c I with c = artanh(r)/r > 1, and W
has no hidden<-readout coupling, so

* hidden states obey h' = tanh(W_hh h): with ||W_hh||_2 < 1 they contract to 0
  from anywhere (|tanh z| <= |z|), so every fixed point has zero hidden part;
* on that plane the readout is two copies of y' = tanh(c y): fixed points 0
  (multiplier c > 1) and +-r (multiplier c (1 - r^2) < 1).

Hence exactly 9 fixed points: 4 stable corners, 4 saddles on the axes and an
unstable origin -- the structure of the paper's figure 1D, by proof rather
than by search.  W_perp starts from a Xavier draw (the teacher is "constructed
the same way, then with weights adjusted"), its hidden block rescaled to
spectral norm ``hidden_norm`` when larger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._inputs import SeedLike
from ._fixed_points import find_fixed_points
from ._model import RNN
from normalforms._repr import short_repr


@short_repr()
@dataclass(frozen=True)
class Teacher:
    """The teacher network and its fixed points (found by Newton, not assumed)."""

    net: RNN
    r: float
    fixed_points: list

    @property
    def n_stable(self) -> int:
        return sum(fp.stable for fp in self.fixed_points)

    @property
    def n_unstable(self) -> int:
        return len(self.fixed_points) - self.n_stable


def construct_W(X: np.ndarray, W_perp: np.ndarray) -> np.ndarray:
    """W with W tanh(X) = X exactly and W_perp acting on the complement of span(tanh X)."""
    TX = np.tanh(X)
    pinv = np.linalg.pinv(TX)
    P = TX @ pinv
    return X @ pinv + W_perp @ (np.eye(X.shape[0]) - P)


def _contracting_complement(N: int, seed: SeedLike, hidden_norm: float) -> np.ndarray:
    """Xavier W_perp with its hidden block rescaled to spectral norm <= hidden_norm (global hidden contraction)."""
    W_perp = RNN.xavier(N, seed, bias=False).W.copy()
    norm = np.linalg.norm(W_perp[2:, 2:], 2)
    if norm > hidden_norm:
        W_perp[2:, 2:] *= hidden_norm / norm
    return W_perp


def _check_sizes(N, hidden_norm: float) -> None:
    if not 0 < hidden_norm < 1:
        raise ValueError(f"hidden_norm must lie in (0, 1) for the hidden contraction, got {hidden_norm}")
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 3:
        raise ValueError(f"N must be an integer >= 3, got {N!r}")


def build_teacher(N: int = 64, seed: SeedLike = 0, r: float = 0.6, hidden_norm: float = 0.9) -> Teacher:
    """Teacher RNN (b = 0) with 4 stable and 5 unstable fixed points in the readout plane.

    Parameters
    ----------
    N : int
        Neurons (>= 3).
    seed : int or Generator
        For the Xavier draw of W_perp.
    r : float in (0, 1)
        Readout coordinate of the stable corners (+-r, +-r).
    hidden_norm : float in (0, 1)
        Upper bound on the spectral norm of the hidden block (global contraction).
    """
    if not 0 < r < 1:
        raise ValueError(f"r must lie in (0, 1) (a tanh state), got {r}")
    _check_sizes(N, hidden_norm)
    W_perp = _contracting_complement(N, seed, hidden_norm)
    a = np.arctanh(r)
    X = np.zeros((N, 4))
    X[:2] = np.array([[a, a], [a, -a], [a, 0.0], [0.0, a]]).T
    net = RNN(construct_W(X, W_perp), np.zeros(N))
    starts = np.zeros((9, N))
    starts[:, :2] = r * np.array([[i, j] for i in (-1, 0, 1) for j in (-1, 0, 1)])
    return Teacher(net=net, r=r, fixed_points=find_fixed_points(net, seeds=100, rng=seed, extra=starts))


def build_two_mode_teacher(N: int = 64, r: tuple[float, float] = (0.8, 0.5), seed: SeedLike = 0,
                           hidden_norm: float = 0.9) -> Teacher:
    r"""Teacher with exactly two unstable eigenvalues, c_k = artanh(r_k) / r_k > 1 (paper, app. C, fig. 3).

    The construction of :func:`build_teacher` with the fixed points
    (+-r_1, 0) and (0, +-r_2) prescribed: the readout block of W is
    diag(c_1, c_2), the hidden block contracts, so the origin (b = 0) has the
    two unstable multipliers c_1 > c_2 > 1 along the readout axes and the
    readout plane carries two copies of y' = tanh(c_k y): attractors
    (+-r_1, +-r_2), saddles on the axes, the unstable origin.

    Parameters
    ----------
    N : int
        Neurons (>= 3).
    r : (float, float)
        Attractor coordinates along the two unstable modes, 1 > r_1 > r_2 > 0 (mode 1 dominant).
    seed : int or Generator
        For the Xavier draw of the complement.
    hidden_norm : float in (0, 1)

    Examples
    --------
    >>> import numpy as np
    >>> t = build_two_mode_teacher(16, (0.8, 0.5), seed=0)
    >>> np.round(np.sort(np.abs(np.linalg.eigvals(t.net.W)))[::-1][:3], 4)  # artanh(r)/r, artanh(r)/r, < 1
    array([1.3733, 1.0986, ...])
    >>> len(t.fixed_points), t.n_stable
    (9, 4)
    """
    _check_sizes(N, hidden_norm)
    if np.ndim(r) != 1 or len(r) != 2:
        raise ValueError(f"r must be a pair (r_1, r_2) with 1 > r_1 > r_2 > 0, got {r!r}")
    r1, r2 = (float(v) for v in r)
    if not 1 > r1 > r2 > 0:
        raise ValueError(f"r must satisfy 1 > r_1 > r_2 > 0 (mode 1 the dominant one), got {r!r}")
    X = np.zeros((N, 2))
    X[0, 0], X[1, 1] = np.arctanh(r1), np.arctanh(r2)
    net = RNN(construct_W(X, _contracting_complement(N, seed, hidden_norm)), np.zeros(N))
    starts = np.zeros((9, N))
    starts[:, :2] = np.array([[i * r1, j * r2] for i in (-1, 0, 1) for j in (-1, 0, 1)])
    return Teacher(net=net, r=r1, fixed_points=find_fixed_points(net, seeds=100, rng=seed, extra=starts))


def stable_student(N: int, radius: float = 0.5, seed: SeedLike = 0) -> RNN:
    """An initially stable student (fig. 3): a Xavier W (b = 0) rescaled to spectral radius ``radius`` < 1."""
    if not 0 < radius < 1:
        raise ValueError(f"radius must lie in (0, 1) for a stable student, got {radius!r}")
    W = RNN.xavier(N, seed, bias=False).W
    return RNN(W * (radius / np.max(np.abs(np.linalg.eigvals(W)))), np.zeros(N))
