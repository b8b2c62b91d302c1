r"""Exact first derivatives of all hidden states with respect to (W, b).

With a_t = W h_{t-1} + b and D_t = diag(1 - h_t^2):

* JVP  (tangent):   dh_t = D_t (W dh_{t-1} + dW h_{t-1} + db),  dh_0 = 0;
* VJP  (adjoint):   lambda_T = v_T,  delta_t = D_t lambda_t,
  lambda_{t-1} = v_{t-1} + W^T delta_t,  grad_W = sum_t delta_t h_{t-1}^T,
  grad_b = sum_t delta_t  (batch summed).

J maps a parameter direction (dW, db) to the stacked states (h_1..h_T) of
the whole batch; sNTK = J J^T (state space) and the state-space Fisher is
J^T J (parameter space) -- paper, sec. 2 and appendix A.
"""

from __future__ import annotations

import numpy as np

from ._model import RNN


def jvp(net: RNN, H: np.ndarray, dW: np.ndarray, db: np.ndarray) -> np.ndarray:
    """J (dW, db): the state perturbations dh_1..dh_T, shape (T, B, N).

    ``dW`` may carry leading direction axes: dW (..., N, N) with db (..., N)
    gives (..., T, B, N), evaluated for all directions at once.
    """
    dW = np.asarray(dW, dtype=np.float64)
    db = np.asarray(db, dtype=np.float64)
    N = net.N
    if dW.shape[-2:] != (N, N) or db.shape[-1:] != (N,) or dW.shape[:-2] != db.shape[:-1]:
        raise ValueError(f"directions must be dW (..., {N}, {N}) and db (..., {N}); got {dW.shape}, {db.shape}")
    lead = dW.shape[:-2]
    T = H.shape[0] - 1
    out = np.empty(lead + (T,) + H.shape[1:])
    dh = np.zeros(lead + H.shape[1:])
    WT = net.W.T
    dWT = np.swapaxes(dW, -1, -2)
    for t in range(1, T + 1):
        drive = dh @ WT + H[t - 1] @ dWT + db[..., None, :]
        dh = (1.0 - H[t] ** 2) * drive
        out[..., t - 1, :, :] = dh
    return out


def vjp(net: RNN, H: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """J^T v for state cotangents V (..., T, B, N) on h_1..h_T: (grad_W (..., N, N), grad_b (..., N))."""
    T = H.shape[0] - 1
    V = np.asarray(V, dtype=np.float64)
    if V.shape[-3:] != H[1:].shape:
        raise ValueError(f"cotangents must have the shape of h_1..h_T, {H[1:].shape}; got {V.shape}")
    lead = V.shape[:-3]
    gW = np.zeros(lead + net.W.shape)
    gb = np.zeros(lead + net.b.shape)
    lam = np.zeros(lead + H.shape[1:])
    for t in range(T, 0, -1):
        lam = lam + V[..., t - 1, :, :]
        delta = (1.0 - H[t] ** 2) * lam
        gW += np.swapaxes(delta, -1, -2) @ H[t - 1]
        gb += delta.sum(axis=-2)
        lam = delta @ net.W
    return gW, gb


def gradient(net: RNN, H: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BPTT gradient of the readout MSE (``_model.loss``) with respect to (W, b)."""
    from ._model import loss_cotangent

    return vjp(net, H, loss_cotangent(H, target))
