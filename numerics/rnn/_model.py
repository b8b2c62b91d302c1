r"""The paper's autonomous vanilla tanh RNN (sec. 2, appendix B).

.. math:: h_t = \tanh(W h_{t-1} + b), \qquad t = 1..T,

with N hidden neurons.  Neurons 0 and 1 are read-in and readout: a 2-D
initial condition x0 is written into them (the others start at 0) and the
readout trajectory is y_t = (h_t[0], h_t[1]).

Choices the paper leaves open, and what is used here:

* **Loss**: L = (1 / (2 B T)) sum_b sum_{t=1}^T ||y_t^(b) - y*_t^(b)||^2, the mean over batch,
  time and the two readout coordinates of the squared error ("the average squared error").
* **Xavier initialisation** (Glorot uniform): W_ij ~ U[-sqrt(6/(2N)), sqrt(6/(2N))]; the bias is a
  vector with fan-in = fan-out = N, so b_i ~ U[-sqrt(6/(2N)), sqrt(6/(2N))] as well
  ("Xavier biases" read literally).
* States h_0..h_T are stored; h_0 (the embedded initial condition) is not a function of
  the parameters, so every derivative concerns h_1..h_T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._inputs import SeedLike, as_generator, check_T, real_array
from normalforms._repr import short_repr
from ._cells import AbstractCell

READOUT = (0, 1)


@short_repr()
@dataclass(frozen=True, eq=False)
class RNN(AbstractCell):
    """Parameters (W, b) of h_t = tanh(W h_{t-1} + b): the paper's cell.

    A cell of the protocol (:mod:`numerics.rnn._cells`) with groups W (N, N) and b (N,),
    whose sequence derivatives are the fused kernels of ``_derivatives`` and whose
    one-state jet is written out (``_normal_form``'s formulas), so every record of the
    paper is computed by the same floating-point operations as before the protocol.

    Attributes
    ----------
    W : ndarray, shape (N, N)
    b : ndarray, shape (N,)
    """

    W: np.ndarray
    b: np.ndarray

    def __post_init__(self) -> None:
        W = real_array(self.W, "W")
        b = real_array(self.b, "b")
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(f"W must be a square (N, N) matrix, got shape {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},) to match W, got {b.shape}")
        if W.shape[0] < 2:
            raise ValueError("the network needs N >= 2 neurons (0 and 1 are read-in/readout)")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise ValueError("W and b must be finite; the parameters hold NaN or inf")
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", b)

    @property
    def N(self) -> int:
        return self.W.shape[0]

    @property
    def n_params(self) -> int:
        return self.N * self.N + self.N

    def flat(self) -> np.ndarray:
        """theta = (vec(W) row-major, b), shape (N^2 + N,)."""
        return np.concatenate([self.W.ravel(), self.b])

    # ---- the cell protocol ------------------------------------------------------------------
    def layout(self) -> dict:
        return {"W": (self.N, self.N), "b": (self.N,)}

    def params(self) -> dict:
        return {"W": self.W, "b": self.b}

    def _from_groups(self, groups: dict, check: bool) -> "RNN":
        if check:
            return RNN(groups["W"], groups["b"])
        net = object.__new__(RNN)  # inner loops (continuation): the values are sums of checked ones
        object.__setattr__(net, "W", groups["W"])
        object.__setattr__(net, "b", groups["b"])
        return net

    def _update(self, h, x, p):
        from ._jet import tanh

        return tanh(h @ p["W"].T + p["b"])

    def _update_vjp(self, h, x, h_new, lam):
        delta = lam * (1.0 - h_new**2)
        m, B, N = delta.shape
        grads = {"W": np.einsum("mbi,bj->mij", delta, h), "b": delta.sum(axis=1)}
        return (delta.reshape(m * B, N) @ self.W).reshape(m, B, N), grads

    def jvp_step(self, h, x, dh, dp):
        from ._cells import _directions, _linear_tangent

        da = _linear_tangent(dh, dp, h, None, "W", None, ("b",), self.params(), _directions(dh, dp))
        da *= 1.0 - np.tanh(h @ self.W.T + self.b) ** 2
        return da

    def _trace_parts(self, H, X, groups):
        from ._cells import _affine_kernel

        K = _affine_kernel(H, None, groups)
        return [] if K is None else [(1.0 - H[1:] ** 2, K)]

    def jvp(self, H, X, dtheta):
        from ._derivatives import jvp

        dtheta = np.atleast_2d(np.asarray(dtheta, dtype=np.float64))
        g = self.split(dtheta)
        return jvp(self, H, g["W"], g["b"])

    def vjp(self, H, X, V):
        from ._derivatives import vjp

        V = np.asarray(V, dtype=np.float64)
        gW, gb = vjp(self, H, V if V.ndim == 4 else V[None])
        return np.concatenate([gW.reshape(gW.shape[0], -1), gb], axis=1)

    def map1(self, h, x=None):
        return np.tanh(self.W @ h + self.b)

    def jacobian_h(self, h, x=None):
        d = 1.0 - np.tanh(self.W @ h + self.b) ** 2
        return d[:, None] * self.W

    def jacobian_h_batch(self, H, x=None):
        d = 1.0 - np.tanh(H @ self.W.T + self.b) ** 2
        return d[:, :, None] * self.W

    def param_jvp1(self, h, dtheta, x=None):
        N = self.N
        d = 1.0 - np.tanh(self.W @ h + self.b) ** 2
        return d * (dtheta[: N * N].reshape(N, N) @ h + dtheta[N * N:])

    def second(self, h, u, v, x=None):
        t = np.tanh(self.W @ h + self.b)
        return -2.0 * t * (1.0 - t**2) * (self.W @ u) * (self.W @ v)

    def third(self, h, u, x=None):
        t = np.tanh(self.W @ h + self.b)
        wu = self.W @ u
        return -2.0 * (1.0 - t**2) * (1.0 - 3.0 * t**2) * wu * wu * wu

    @classmethod
    def from_flat(cls, theta: np.ndarray, N: int) -> "RNN":
        theta = real_array(theta, "theta")
        if theta.shape != (N * N + N,):
            raise ValueError(f"theta must have shape ({N * N + N},) for N = {N}, got {theta.shape}")
        return cls(theta[: N * N].reshape(N, N).copy(), theta[N * N:].copy())

    @classmethod
    def xavier(cls, N: int, seed: SeedLike, bias: bool = True) -> "RNN":
        """Glorot-uniform W and (if ``bias``) b, limit sqrt(6 / (2N)); b = 0 otherwise."""
        if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 2:
            raise ValueError(f"N must be an integer >= 2, got {N!r}")
        rng = as_generator(seed)
        limit = np.sqrt(6.0 / (2 * N))
        W = rng.uniform(-limit, limit, size=(N, N))
        b = rng.uniform(-limit, limit, size=N) if bias else np.zeros(N)
        return cls(W, b)


def embed(x0: np.ndarray, N: int) -> np.ndarray:
    """h_0 of shape (B, N): x0 (B, 2) written into neurons 0 and 1, zeros elsewhere."""
    x0 = real_array(x0, "x0")
    if x0.ndim != 2 or x0.shape[1] != 2:
        raise ValueError(f"initial conditions must have shape (B, 2) (the read-in plane), got {x0.shape}")
    if x0.shape[0] == 0:
        raise ValueError("the batch of initial conditions is empty")
    if not np.all(np.isfinite(x0)):
        raise ValueError("initial conditions must be finite")
    h0 = np.zeros((x0.shape[0], N))
    h0[:, list(READOUT)] = x0
    return h0


def forward(net: RNN, x0: np.ndarray, T: int) -> np.ndarray:
    """States h_0..h_T, shape (T + 1, B, N), from read-in initial conditions x0 (B, 2)."""
    T = check_T(T)
    h0 = embed(x0, net.N)
    H = np.empty((T + 1,) + h0.shape)
    H[0] = h0
    WT = net.W.T
    for t in range(1, T + 1):
        np.tanh(H[t - 1] @ WT + net.b, out=H[t])
    return H


def _readout_error(H: np.ndarray, target: np.ndarray) -> np.ndarray:
    """y_t - y*_t for t = 1..T, shape (T, B, 2); target shape (T+1, B, 2) or (T, B, 2)."""
    y = H[1:, :, list(READOUT)]
    target = np.asarray(target)
    if target.shape[0] == H.shape[0]:
        target = target[1:]
    if target.shape != y.shape:
        raise ValueError(f"target readout must have shape {y.shape} (T, B, 2), got {target.shape}")
    return y - target


def loss(H: np.ndarray, target: np.ndarray) -> float:
    """L = mean over (t = 1..T, b, readout coordinate) of (y - y*)^2."""
    return float(np.mean(_readout_error(H, target) ** 2))


def loss_cotangent(H: np.ndarray, target: np.ndarray) -> np.ndarray:
    """dL/dh_t for t = 1..T, shape (T, B, N): nonzero on the readout neurons only."""
    err = _readout_error(H, target)
    V = np.zeros(H[1:].shape)
    V[:, :, list(READOUT)] = 2.0 * err / err.size
    return V
