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

from .._inputs import real_array

from ._model import RNN


def _tangents(net: RNN, H: np.ndarray, dW: np.ndarray, db: np.ndarray):
    """Yield dh_t, shape (m, B, N), for t = 1..T and m flattened directions."""
    dW = real_array(dW, "dW")
    db = real_array(db, "db")
    N = net.N
    if dW.shape[-2:] != (N, N) or db.shape[-1:] != (N,) or dW.shape[:-2] != db.shape[:-1]:
        raise ValueError(f"directions must be dW (..., {N}, {N}) and db (..., {N}); got {dW.shape}, {db.shape}")
    m = int(np.prod(dW.shape[:-2], dtype=np.int64))
    B = H.shape[1]
    # All directions share W and the states: stacking them into the rows of one
    # matrix turns the per-direction products into single GEMMs (2-3x faster
    # than numpy's broadcast matmul, which loops over the directions).
    dW_rows = dW.reshape(m * N, N)
    db = db.reshape(m, 1, N)
    dh = np.zeros((m, B, N))
    WT = net.W.T
    for t in range(1, H.shape[0]):
        drive = (dh.reshape(m * B, N) @ WT).reshape(m, B, N)
        drive += (H[t - 1] @ dW_rows.T).reshape(B, m, N).transpose(1, 0, 2)
        drive += db
        drive *= 1.0 - H[t] ** 2
        dh = drive
        yield dh


def jvp(net: RNN, H: np.ndarray, dW: np.ndarray, db: np.ndarray) -> np.ndarray:
    """J (dW, db): the state perturbations dh_1..dh_T, shape (T, B, N).

    ``dW`` may carry leading direction axes: dW (..., N, N) with db (..., N)
    gives (..., T, B, N), evaluated for all directions at once.
    """
    lead = np.shape(dW)[:-2]
    T, B, N = H.shape[0] - 1, H.shape[1], net.N
    out = np.empty((int(np.prod(lead, dtype=np.int64)), T, B, N))
    for t, dh in enumerate(_tangents(net, H, dW, db)):
        out[:, t] = dh
    return out.reshape(lead + (T, B, N))


def jvp_sqnorm(net: RNN, H: np.ndarray, dW: np.ndarray, db: np.ndarray, neurons: np.ndarray | None = None) -> np.ndarray:
    """||J (dW, db)||^2 per direction, shape (...), over the ``neurons`` (boolean mask, default all),
    without storing the (..., T, B, N) tangents -- the quadratic form u^T F u of the Fisher."""
    lead = np.shape(dW)[:-2]
    total = np.zeros(int(np.prod(lead, dtype=np.int64)))
    for dh in _tangents(net, H, dW, db):
        part = dh if neurons is None else dh[:, :, neurons]
        total += np.einsum("mbn,mbn->m", part, part)
    return total.reshape(lead)


def vjp(net: RNN, H: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """J^T v for state cotangents V (..., T, B, N) on h_1..h_T: (grad_W (..., N, N), grad_b (..., N))."""
    T = H.shape[0] - 1
    V = real_array(V, "V")
    if V.shape[-3:] != H[1:].shape:
        raise ValueError(f"cotangents must have the shape of h_1..h_T, {H[1:].shape}; got {V.shape}")
    lead = V.shape[:-3]
    m = int(np.prod(lead, dtype=np.int64))
    B, N = H.shape[1], H.shape[2]
    V = V.reshape((m,) + H[1:].shape)
    gW = np.zeros((m * N, N))
    gb = np.zeros((m, N))
    lam = np.zeros((m, B, N))
    for t in range(T, 0, -1):
        lam = lam + V[:, t - 1]
        delta = (1.0 - H[t] ** 2) * lam
        gW += delta.transpose(0, 2, 1).reshape(m * N, B) @ H[t - 1]
        gb += delta.sum(axis=1)
        lam = (delta.reshape(m * B, N) @ net.W).reshape(m, B, N)
    return gW.reshape(lead + (N, N)), gb.reshape(lead + (N,))


def gradient(net: RNN, H: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BPTT gradient of the readout MSE (``_model.loss``) with respect to (W, b)."""
    from ._model import loss_cotangent

    return vjp(net, H, loss_cotangent(H, target))
