r"""Critical normal-form coefficients of any cell at a (near-)critical fixed point.

The same formulas as :mod:`normalforms` (Kuznetsov 2004, secs. 5.4.1-5.4.2, with
q, p normalised ||q|| = 1, <p, q> = 1 and the largest component of q positive),
evaluated numerically from the exact jet of F(h) = tanh(W h + b) at h*:
with a = W h* + b, t = tanh(a),

    A = diag(1 - t^2) W,
    B(u, v) = tanh''(a) * (W u) * (W v),            tanh'' = -2 t (1 - t^2),
    C(u, v, w) = tanh'''(a) * (W u) * (W v) * (W w), tanh''' = -2 (1 - t^2)(1 - 3 t^2).

* multiplier near +1: fold coefficient a = <p, B(q, q)>/2 and the pitchfork cubic
  b = <p, C(q,q,q)>/6 + <p, B(q, h2)>/2, h2 from the bordered system (as the symbolic layer);
* multiplier near -1: flip coefficient c = <p, C(q,q,q)>/6 - <p, B(q, (A - I)^{-1} B(q, q))>/2.

For any other cell, A, B and C come from the cell protocol (exact Taylor jets of its
update, ``_cells``/``_jet``).  A 64-neuron jet is out of reach symbolically; the tests check this numeric
path against ``normalforms`` on small networks with planted bifurcations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._cells import AbstractCell
from normalforms._repr import short_repr


@short_repr()
@dataclass(frozen=True)
class RnnCriticalCoefficients:
    """Coefficients at the multiplier ``multiplier`` (nearest to +1 or -1)."""

    multiplier: complex
    values: dict
    q: np.ndarray
    p: np.ndarray


def _jet(net: AbstractCell, h: np.ndarray, x=None):
    """A = dF/dh, B(u, v) = D^2F[u, v] and C(u) = D^3F[u, u, u] at h, from the cell protocol."""
    A = net.jacobian_h(h, x)
    B = lambda u, v: net.second(h, u, v, x)
    C = lambda u: net.third(h, u, x)
    return A, B, C


def _eigvecs(A: np.ndarray, target: float) -> tuple[complex, np.ndarray, np.ndarray]:
    vals, right = np.linalg.eig(A)
    # a fold, pitchfork or flip concerns a real multiplier: a complex pair nearer to +-1 is another mode
    real = np.abs(vals.imag) < 1e-9
    k = int(np.argmin(np.where(real, np.abs(vals - target), np.inf))) if real.any() else int(np.argmin(np.abs(vals - target)))
    mu = vals[k]
    if abs(mu.imag) > 1e-9:
        raise ValueError(f"the multiplier nearest {target:+g} is complex ({mu}); use a Neimark-Sacker analysis")
    q = np.real(right[:, k])
    q /= np.linalg.norm(q)
    if q[np.argmax(np.abs(q))] < 0:
        q = -q
    lvals, left = np.linalg.eig(A.T)
    p = np.real(left[:, int(np.argmin(np.abs(lvals - mu)))])
    p /= p @ q
    return complex(mu), q, p


def critical_coefficients(net: AbstractCell, h: np.ndarray, sign: int = +1, near: float | None = None,
                          x=None) -> RnnCriticalCoefficients:
    """Fold/pitchfork (``sign = +1``) or flip (``sign = -1``) coefficients at fixed point h.

    ``near`` (sign +1 only): use the real multiplier nearest this value instead of +1,
    for the reduced map u' = mu u + a u^2 + b u^3 on the invariant manifold of a
    point off criticality (e.g. the saddle at the centre of an imperfect pitchfork).
    The quadratic term of the manifold then solves (mu^2 I - A) h2 = B(q, q) - 2 a q
    (at mu = 1 the bordered system of the fold); a and b keep their formulas.
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 (fold/pitchfork) or -1 (flip), got {sign}")
    if near is not None and (sign != 1 or not np.isfinite(near)):
        raise ValueError(f"near must be a finite multiplier and needs sign = +1; got near={near!r}, sign={sign}")
    h = np.asarray(h, dtype=np.float64)
    A, B, C = _jet(net, h, x)
    mu, q, p = _eigvecs(A, float(sign if near is None else near))
    n = A.shape[0]
    if sign == 1:
        a = 0.5 * p @ B(q, q)
        m2 = 1.0 if near is None else float(mu.real) ** 2
        bordered = np.block([[m2 * np.eye(n) - A, q[:, None]], [p[None, :], np.zeros((1, 1))]])
        h2 = np.linalg.solve(bordered, np.concatenate([B(q, q), [0.0]]))[:n]
        b = p @ C(q) / 6 + p @ B(q, h2) / 2
        values = {"a": float(a), "b": float(b)}
    else:
        w = np.linalg.solve(A - np.eye(n), B(q, q))
        values = {"c": float(p @ C(q) / 6 - p @ B(q, w) / 2)}
    return RnnCriticalCoefficients(mu, values, q, p)
