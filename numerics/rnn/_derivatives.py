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

from ._cells import affine_cotangent_recurrence, affine_tangent_recurrence, directions_per_pass, weight_grad
from ._model import RNN


def _directions(net: RNN, dW: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    dW = real_array(dW, "dW")
    db = real_array(db, "db")
    N = net.N
    if dW.shape[-2:] != (N, N) or db.shape[-1:] != (N,) or dW.shape[:-2] != db.shape[:-1]:
        raise ValueError(f"directions must be dW (..., {N}, {N}) and db (..., {N}); got {dW.shape}, {db.shape}")
    lead = dW.shape[:-2]
    m = int(np.prod(lead, dtype=np.int64))
    return dW.reshape(m, N, N), db.reshape(m, N), lead


def tangents_tbmn(net: RNN, H: np.ndarray, dW: np.ndarray, db: np.ndarray) -> np.ndarray:
    """dh_1..dh_T for m directions dW (m, N, N), db (m, N), in the layout (T, B, m, N).

    All directions share W and the states, so with the directions as the third axis the
    recurrence is one (B m, N) x (N, N) product per step, and the parameter drive
    dW h_{t-1} + db of every step is a single (T B, N) x (N, m N) product before the loop.
    """
    T, B, N = H.shape[0] - 1, H.shape[1], H.shape[2]
    m = dW.shape[0]
    out = np.empty((T, B, m, N))
    np.matmul(H[:-1].reshape(T * B, N), dW.reshape(m * N, N).T, out=out.reshape(T * B, m * N))
    out += db
    return affine_tangent_recurrence(out, 1.0 - H[1:] ** 2, net.W)


def cotangents_tbmn(net: RNN, H: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """J^T V for m cotangents in the layout (T, B, m, N): (grad_W (m, N, N), grad_b (m, N)).

    The adjoints delta_t of every step are kept, so grad_W = sum_t delta_t^T h_{t-1} is one
    (m N, T B) x (T B, N) product after the loop instead of T products with inner size B.
    """
    delta = affine_cotangent_recurrence(V, 1.0 - H[1:] ** 2, net.W)
    return weight_grad(delta, H[:-1]), delta.sum(axis=(0, 1))


def jvp(net: RNN, H: np.ndarray, dW: np.ndarray, db: np.ndarray) -> np.ndarray:
    """J (dW, db): the state perturbations dh_1..dh_T, shape (T, B, N).

    ``dW`` may carry leading direction axes: dW (..., N, N) with db (..., N)
    gives (..., T, B, N), evaluated for all directions at once.
    """
    dW, db, lead = _directions(net, dW, db)
    out = tangents_tbmn(net, H, dW, db).transpose(2, 0, 1, 3)
    return np.ascontiguousarray(out).reshape(lead + out.shape[1:])


def jvp_sqnorm(net: RNN, H: np.ndarray, dW: np.ndarray, db: np.ndarray, neurons: np.ndarray | None = None) -> np.ndarray:
    """||J (dW, db)||^2 per direction, shape (...), over the ``neurons`` (boolean mask, default all),
    up to 64 directions at a time (fewer when their tangents would pass 512 MiB) -- the quadratic
    form u^T F u of the Fisher."""
    dW, db, lead = _directions(net, dW, db)
    total = np.empty(dW.shape[0])
    chunk = directions_per_pass(H)
    for i in range(0, dW.shape[0], chunk):
        if H.shape[1] >= 128:  # large batches: streamed, the (T, B, m, N) tangents never stored (1.3x at B = 256)
            total[i:i + chunk] = _sqnorms_streamed(net, H, dW[i:i + chunk], db[i:i + chunk], neurons)
            continue
        dh = tangents_tbmn(net, H, dW[i:i + chunk], db[i:i + chunk])
        part = dh if neurons is None else dh[..., neurons]
        total[i:i + chunk] = np.einsum("tbmn,tbmn->m", part, part)
    return total.reshape(lead)


def _sqnorms_streamed(net: RNN, H: np.ndarray, dW: np.ndarray, db: np.ndarray, neurons) -> np.ndarray:
    """The recurrence of :func:`tangents_tbmn` keeping one step, its squares summed as it goes."""
    T, B, N = H.shape[0] - 1, H.shape[1], H.shape[2]
    m = dW.shape[0]
    dWT = dW.reshape(m * N, N).T
    total = np.zeros(m)
    prev = None
    for t in range(T):
        cur = (H[t] @ dWT).reshape(B, m, N)
        cur += db
        if prev is not None:
            cur += (prev.reshape(B * m, N) @ net.W.T).reshape(B, m, N)
        cur *= (1.0 - H[t + 1] ** 2)[:, None, :]
        part = cur if neurons is None else cur[..., neurons]
        total += np.einsum("bmn,bmn->m", part, part)
        prev = cur
    return total


def vjp(net: RNN, H: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """J^T v for state cotangents V (..., T, B, N) on h_1..h_T: (grad_W (..., N, N), grad_b (..., N))."""
    V = real_array(V, "V")
    if V.shape[-3:] != H[1:].shape:
        raise ValueError(f"cotangents must have the shape of h_1..h_T, {H[1:].shape}; got {V.shape}")
    lead = V.shape[:-3]
    m = int(np.prod(lead, dtype=np.int64))
    Vt = np.ascontiguousarray(V.reshape((m,) + H[1:].shape).transpose(1, 2, 0, 3))
    gW, gb = cotangents_tbmn(net, H, Vt)
    N = net.N
    return gW.reshape(lead + (N, N)), gb.reshape(lead + (N,))


def _vjp_stepwise(net: RNN, H: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The one-cotangent adjoint that trained every record: kept step by step (per-step
    # accumulation order) so that training stays bit-identical to the records'.
    B, N = H.shape[1], H.shape[2]
    gW = np.zeros((N, N))
    gb = np.zeros(N)
    lam = np.zeros((B, N))
    for t in range(H.shape[0] - 1, 0, -1):
        lam = lam + V[t - 1]
        delta = (1.0 - H[t] ** 2) * lam
        gW += delta.T @ H[t - 1]
        gb += delta.sum(axis=0)
        lam = delta @ net.W
    return gW, gb


def gradient(net: RNN, H: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BPTT gradient of the readout MSE (``_model.loss``) with respect to (W, b)."""
    from ._model import loss_cotangent

    return _vjp_stepwise(net, H, loss_cotangent(H, target))
