r"""The full-RNN sNTK restricted to the learned critical direction (paper, sec. 2, fig. 1E; app. A.1).

* **Critical direction**: the top eigenvector v of the state-space Fisher F = J^T J
  (unit norm in the scoped parameters), the parameter direction of the dominant
  sNTK mode, with the eigenvalue gap lambda_1 / lambda_2.
* **Decomposition** (app. A.1): in coordinates theta -> (g along v, R orthogonal to v),
  J = J v v^T + J (I - v v^T), so sNTK = sNTK_g + sNTK_R + cross terms, with
  sNTK_g = (J v)(J v)^T.  For v the top eigenvector the cross terms vanish and
  tr sNTK_g / tr sNTK = lambda_1 / tr.
* **Restricted sNTK along the line** theta(s) = theta* + s v:
  ||J(theta(s)) v||^2 = ||d h / d s||^2, the sNTK_g of the paper's scalar picture,
  by central differences of the forward pass (independent of the JVP code) and
  exactly by the JVP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import normalforms as nf

from .._sweep import sweep
from ._derivatives import jvp
from ._fixed_points import _newton, multipliers
from ._model import RNN, embed, forward
from ._normal_form import critical_coefficients
from ._operators import SntkOperator, check_param_scope


@dataclass(frozen=True)
class CriticalDirection:
    """Top Fisher eigenvector ``v`` (scoped parameters), the top ``eigenvalues`` and tr F."""

    v: np.ndarray
    eigenvalues: np.ndarray
    trace: float
    params: str

    @property
    def gap(self) -> float:
        """lambda_1 / lambda_2."""
        return float(self.eigenvalues[0] / self.eigenvalues[1])

    @property
    def share(self) -> float:
        """lambda_1 / tr = tr sNTK_g / tr sNTK."""
        return float(self.eigenvalues[0] / self.trace)


@dataclass(frozen=True)
class Decomposition:
    """sNTK = sNTK_g + sNTK_R at one checkpoint, for a fixed direction v.

    ``trace_share`` = ||J v||^2 / tr sNTK; ``frobenius_share`` = (low, high) bracket of
    ||sNTK_g||_F / ||sNTK||_F (||sNTK||_F^2 = sum lambda^2 is bracketed from the top-k
    eigenvalues and the trace); ``alignment`` = |<u_1, J v>| / ||J v||, u_1 the top
    sNTK eigenvector at this checkpoint.
    """

    trace_share: float
    frobenius_share: tuple[float, float]
    alignment: float
    lambda_ratio: float


def _full_direction(v: np.ndarray, N: int, params: str) -> tuple[np.ndarray, np.ndarray]:
    check_param_scope(params)
    v = np.asarray(v, dtype=np.float64)
    expected = N * N + (N if params == "Wb" else 0)
    if v.shape != (expected,):
        raise ValueError(f"direction must have shape ({expected},) for N = {N}, params = {params!r}; got {v.shape}")
    return v[: N * N].reshape(N, N), (v[N * N:] if params == "Wb" else np.zeros(N))


def critical_direction(net: RNN, x0: np.ndarray, T: int, params: str = "Wb", k: int = 3) -> CriticalDirection:
    """Top eigenvector of F = J^T J over all neurons (Lanczos), sign fixed by its largest entry."""
    op = SntkOperator(net, x0, T, params=params)
    vals, vecs = op.top_eigenpairs(max(2, k), tol=1e-10)
    v = vecs[:, 0]
    v = v if v[np.argmax(np.abs(v))] > 0 else -v
    return CriticalDirection(v, vals, op.trace(), params)


def decompose(net: RNN, x0: np.ndarray, T: int, v: np.ndarray, params: str = "Wb", k: int = 10) -> Decomposition:
    """sNTK_g share, Frobenius-share bracket and top-mode alignment of direction v at ``net``."""
    op = SntkOperator(net, x0, T, params=params)
    vals, vecs = op.top_eigenpairs(k, tol=1e-10)
    tr = op.trace()
    Jv = op.J(np.asarray(v, dtype=np.float64)).ravel()
    g = float(Jv @ Jv)
    low = float(np.sum(vals**2))
    high = low + float(vals[-1]) * max(tr - float(vals.sum()), 0.0)
    u1 = op.J(vecs[:, 0]).ravel()
    return Decomposition(trace_share=g / tr, frobenius_share=(g / np.sqrt(high), g / np.sqrt(low)),
                         alignment=float(abs(u1 @ Jv) / (np.linalg.norm(u1) * np.sqrt(g))),
                         lambda_ratio=float(vals[0] / vals[1]))


def along(net: RNN, v: np.ndarray, s: float, params: str = "Wb") -> RNN:
    """theta* + s v."""
    dW, db = _full_direction(v, net.N, params)
    return RNN(net.W + s * dW, net.b + s * db)


@dataclass(frozen=True)
class RestrictedSntk:
    """||J(theta* + s v) v||^2 over ``s``: by central differences (``fd``, step ``eps``) and by the JVP.

    ``step_errors``: the step study (relative FD-vs-JVP error for eps = 10^-2 .. 10^-7)
    when eps was chosen automatically."""

    s: np.ndarray
    fd: np.ndarray
    exact: np.ndarray
    eps: float
    step_errors: np.ndarray | None = None


def directional_derivative_fd(net: RNN, x0: np.ndarray, T: int, v: np.ndarray, eps: float,
                              params: str = "Wb") -> np.ndarray:
    """(h(theta + eps v) - h(theta - eps v)) / (2 eps) for h_1..h_T, shape (T, B, N); error O(eps^2)."""
    return (forward(along(net, v, eps, params), x0, T)[1:] - forward(along(net, v, -eps, params), x0, T)[1:]) / (2 * eps)


def restricted_sntk(net: RNN, x0: np.ndarray, T: int, v: np.ndarray, s: np.ndarray, params: str = "Wb",
                    eps: float | None = None) -> RestrictedSntk:
    """The restricted sNTK ||d h / d s||^2 along theta* + s v (paper fig. 1E's landscape).

    ``eps=None`` picks the central-difference step from a step study at s = 0 over
    10^-2 .. 10^-7 (the smallest error against the JVP): near a bifurcation the
    landscape along v is so sharp (sNTK eigenvalues ~1e7) that a fixed 1e-4 is
    still in the truncation regime (error 4e-3 at the paper-faithful checkpoint).
    """
    check_param_scope(params)
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size < 3 or not np.all(np.isfinite(s)):
        raise ValueError(f"s must be a finite 1-D grid of >= 3 points, got shape {s.shape}")
    dW, db = _full_direction(v, net.N, params)
    study = None
    if eps is None:
        candidates = 10.0 ** -np.arange(2, 8)
        study = fd_step_study(net, x0, T, v, candidates, params)
        eps = float(candidates[np.argmin(study)])
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite step > 0, got {eps!r}")
    fd, exact = np.empty(s.size), np.empty(s.size)
    for i, si in enumerate(s):
        net_s = along(net, v, si, params)
        fd[i] = np.sum(directional_derivative_fd(net_s, x0, T, v, eps, params) ** 2)
        exact[i] = np.sum(jvp(net_s, forward(net_s, x0, T), dW, db) ** 2)
    return RestrictedSntk(s, fd, exact, eps, study)


def fd_step_study(net: RNN, x0: np.ndarray, T: int, v: np.ndarray, eps: np.ndarray, params: str = "Wb") -> np.ndarray:
    """max |FD - JVP| / max |JVP| of the directional derivative for each step in ``eps``.

    Central differences converge as eps^2 until rounding (~1e-16 / eps) takes over.
    """
    dW, db = _full_direction(v, net.N, params)
    exact = jvp(net, forward(net, x0, T), dW, db)
    scale = np.max(np.abs(exact))
    return np.array([np.max(np.abs(directional_derivative_fd(net, x0, T, v, e, params) - exact)) / scale for e in eps])


@dataclass(frozen=True)
class NormalFormPrediction:
    """The scalar normal form's restricted sNTK along theta* + s v, and its comparison with the network.

    ``g`` is the critical multiplier of the tracked fixed point at each s (the map s -> g);
    ``y0`` the initial conditions reduced to the critical mode; ``predicted`` the matched
    form's (dg/ds)^2 sum_{b,t} (D_g y_t)^2 / |b|, ``linear`` the same for the stability flip
    y' = g y (the null); ``amplitude`` the one fitted overall factor (least squares).
    """

    s: np.ndarray
    g: np.ndarray
    y0: np.ndarray
    cubic: float
    predicted: np.ndarray
    linear: np.ndarray
    form: str

    def compare(self, observed: np.ndarray, curve: str = "predicted") -> dict:
        """Pearson r, peak-location error and relative L2 error (after the one fitted amplitude)."""
        pred = getattr(self, curve)
        observed = np.asarray(observed, dtype=np.float64)
        amplitude = float(pred @ observed / (pred @ pred))
        return {"pearson_r": float(np.corrcoef(pred, observed)[0, 1]),
                "peak_error": float(abs(self.s[np.argmax(pred)] - self.s[np.argmax(observed)])),
                "relative_l2": float(np.linalg.norm(amplitude * pred - observed) / np.linalg.norm(observed)),
                "amplitude": amplitude}


def _track_multiplier(nets: list[RNN], h_star: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed point and the real multiplier nearest +1 at ``start``, followed by nearest neighbour."""
    n = len(nets)
    H = np.empty((n, h_star.size))
    mu = np.empty(n)
    for order in (range(start, n), range(start, -1, -1)):
        h, previous = h_star.copy(), None
        for i in order:
            h, res = _newton(nets[i], h, 60, 1e-12)
            if res > 1e-9:
                raise RuntimeError(f"the tracked fixed point is lost at grid point {i}; use a narrower s-range")
            m = multipliers(nets[i], h)
            real = m[np.abs(m.imag) < 1e-9].real
            target = 1.0 if previous is None else previous
            previous = real[np.argmin(np.abs(real - target))]
            H[i], mu[i] = h, previous
    return H, mu


def normal_form_prediction(net: RNN, x0: np.ndarray, T: int, v: np.ndarray, s: np.ndarray, h_star: np.ndarray,
                           params: str = "Wb") -> NormalFormPrediction:
    r"""Predict ||J(theta* + s v) v||^2 from the pitchfork normal form, with no free shape parameter.

    1. the fixed point h*(s) is followed along the line and its real multiplier
       nearest +1 gives g(s) (the normal-form parameter: the pitchfork
       y' = g y - y^3 has multiplier g at y = 0);
    2. the centre-manifold cubic coefficient b and the adjoint eigenvector p at
       s = 0 (``critical_coefficients``, Kuznetsov's normalisation) reduce each
       initial condition to y0 = sqrt(|b|) <p, h0 - h*>, the scale on which the
       cubic is exactly -y^3;
    3. the numeric layer evaluates sum_{b,t} (D_g y_t)^2 of ``normalforms.pitchfork``
       (and of the linear ``stability_flip`` as the null) on those y0 at every g(s);
    4. the chain rule d h / d s ~ q (d y / d g)(d g / d s) / sqrt|b| gives the curve
       up to one overall amplitude (the projection of q onto the observed neurons).

    Paper, sec. 2 (fig. 1E vs 2B) and app. A.1.
    """
    check_param_scope(params)
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size < 3 or not np.all(np.diff(s) > 0):
        raise ValueError("s must be an increasing 1-D grid of >= 3 points")
    start = int(np.argmin(np.abs(s)))
    nets = [along(net, v, si, params) for si in s]
    H, g = _track_multiplier(nets, np.asarray(h_star, dtype=np.float64), start)
    coef = critical_coefficients(nets[start], H[start], +1)
    b = coef.values["b"]
    if not (np.isfinite(b) and b != 0):
        raise ValueError(f"the cubic coefficient at the critical point is {b}; no pitchfork scale to reduce to")
    y0 = np.sqrt(abs(b)) * (embed(x0, net.N) - H[start]) @ coef.p
    dg = np.gradient(g, s)
    curves = {}
    for name, form in (("predicted", nf.pitchfork()), ("linear", nf.stability_flip())):
        norm = sweep(form, g, T, y0, progress=False).norm
        curves[name] = dg**2 * norm / abs(b)
    return NormalFormPrediction(s, g, y0, float(b), curves["predicted"], curves["linear"], "pitchfork")
