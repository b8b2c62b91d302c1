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

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

import normalforms as nf

from .._inputs import SeedLike, real_array
from .._sweep import sweep
from ._continuation import Chord, continue_branch
from ._cells import AbstractCell
from ._fixed_points import _newton, find_fixed_points, multipliers, real_multipliers
from ._model import RNN, embed, forward
from ._normal_form import RnnCriticalCoefficients, critical_coefficients
from ._reduced import ReducedMap, reduced_map
from ._operators import SntkOperator, check_param_scope
from normalforms._repr import short_repr


@short_repr()
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


@short_repr()
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
    v = real_array(v, "v")
    expected = N * N + (N if params == "Wb" else 0)
    if v.shape != (expected,):
        raise ValueError(f"direction must have shape ({expected},) for N = {N}, params = {params!r}; got {v.shape}")
    return v[: N * N].reshape(N, N), (v[N * N:] if params == "Wb" else np.zeros(N))


class _Setting:
    """A network and the batch it is looked at on: the paper's (RNN, x0, T) or any cell with (h0, X, T).

    Directions v live in the scoped parameters (``params``): (W, b) or W for the paper's network,
    ``"all"`` or a list of groups for any cell -- the coordinates of ``SntkOperator``.
    """

    def __init__(self, net, x0, T, params, h0, X) -> None:
        self.paper = isinstance(net, RNN) and h0 is None and X is None
        self.net, self.x0, self.T, self.h0, self.X = net, x0, T, h0, X
        self.params = params
        self.op = self.operator(net)  # checks the network, batch and scope, and resolves the default scope
        self.params = self.op.params

    def operator(self, net) -> SntkOperator:
        return SntkOperator(net, self.x0, self.T, params=self.params, h0=self.h0, X=self.X)

    def states(self, net) -> np.ndarray:
        """h_1..h_T of ``net`` on this batch."""
        if self.paper:
            return forward(net, self.x0, self.T)[1:]
        return net.forward(self.h0, self.X, T=self.T)[1:]

    def along(self, net, v: np.ndarray, s: float):
        """theta + s v (v in the scoped coordinates)."""
        return along(net, v, s, self.params)


def critical_direction(net, x0: np.ndarray | None, T: int | None, params=None, k: int = 3, *,
                       h0: np.ndarray | None = None, X: np.ndarray | None = None,
                       start: np.ndarray | None = None) -> CriticalDirection:
    """Top eigenvector of F = J^T J over all neurons, sign fixed by its largest entry.

    The paper's network: ``(net, x0, T, params="Wb")``; any cell: ``(cell, None, T, params="all",
    h0=..., X=...)``.  ``start``: eigenvectors of a neighbouring checkpoint to warm-start the
    block eigensolver (eigenvalues to 1e-10 relative, residuals <= 1e-8 lambda).
    """
    setting = _Setting(net, x0, T, params, h0, X)
    vals, vecs = setting.op.top_eigenpairs(max(2, k), tol=1e-10, vector_tol=1e-8, start=start)
    v = vecs[:, 0]
    v = v if v[np.argmax(np.abs(v))] > 0 else -v
    return CriticalDirection(v, vals, setting.op.trace(), setting.params)


def decompose(net, x0: np.ndarray | None, T: int | None, v: np.ndarray, params=None, k: int = 10, *,
              h0: np.ndarray | None = None, X: np.ndarray | None = None) -> Decomposition:
    """sNTK_g share, Frobenius-share bracket and top-mode alignment of direction v at ``net``
    (any cell with ``h0``/``X``, as :func:`critical_direction`)."""
    op = _Setting(net, x0, T, params, h0, X).op
    vals, vecs = op.top_eigenpairs(k, tol=1e-10, vector_tol=1e-8)
    tr = op.trace()
    Jv = op.J(np.asarray(v, dtype=np.float64)).ravel()
    g = float(Jv @ Jv)
    low = float(np.sum(vals**2))
    high = low + float(vals[-1]) * max(tr - float(vals.sum()), 0.0)
    u1 = op.J(vecs[:, 0]).ravel()
    return Decomposition(trace_share=g / tr, frobenius_share=(g / np.sqrt(high), g / np.sqrt(low)),
                         alignment=float(abs(u1 @ Jv) / (np.linalg.norm(u1) * np.sqrt(g))),
                         lambda_ratio=float(vals[0] / vals[1]))


def along(net, v: np.ndarray, s: float, params=None):
    """theta* + s v (the paper's network, params "Wb"/"W"; any cell, params "all" or its groups)."""
    if isinstance(net, RNN):
        dW, db = _full_direction(v, net.N, "Wb" if params is None else params)
        return RNN(net.W + s * dW, net.b + s * db)
    if not isinstance(net, AbstractCell):
        raise TypeError(f"net must be the paper's RNN or a cell of the protocol, got {type(net).__name__}")
    _, index = net.scope("all" if params is None else params)
    v = real_array(v, "v")
    if v.shape != index.shape:
        raise ValueError(f"direction must have shape {index.shape} for params = {params!r}; got {v.shape}")
    full = np.zeros(net.n_params)
    full[index] = v
    return net.with_flat(net.flat() + s * full)


@short_repr()
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


def directional_derivative_fd(net, x0: np.ndarray | None, T: int | None, v: np.ndarray, eps: float,
                              params=None, *, h0: np.ndarray | None = None,
                              X: np.ndarray | None = None) -> np.ndarray:
    """(h(theta + eps v) - h(theta - eps v)) / (2 eps) for h_1..h_T, shape (T, B, N); error O(eps^2)."""
    setting = _Setting(net, x0, T, params, h0, X)
    return _fd(setting, net, v, eps)


def _fd(setting: _Setting, net, v, eps: float) -> np.ndarray:
    return (setting.states(setting.along(net, v, eps)) - setting.states(setting.along(net, v, -eps))) / (2 * eps)


def restricted_sntk(net, x0: np.ndarray | None, T: int | None, v: np.ndarray, s: np.ndarray, params=None,
                    eps: float | None = None, *, h0: np.ndarray | None = None,
                    X: np.ndarray | None = None) -> RestrictedSntk:
    """The restricted sNTK ||d h / d s||^2 along theta* + s v (paper fig. 1E's landscape).

    ``eps=None`` picks the central-difference step from a step study at s = 0 over
    10^-2 .. 10^-7 (the smallest error against the JVP): near a bifurcation the
    landscape along v is so sharp (sNTK eigenvalues ~1e7) that a fixed 1e-4 is
    still in the truncation regime (error 4e-3 at the paper-faithful checkpoint).
    Any cell: ``(cell, None, T, v, s, params="all", h0=..., X=...)``.
    """
    setting = _Setting(net, x0, T, params, h0, X)
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size < 3 or not np.all(np.isfinite(s)):
        raise ValueError(f"s must be a finite 1-D grid of >= 3 points, got shape {s.shape}")
    setting.along(net, v, 0.0)  # checks the direction's shape before any work
    study = None
    if eps is None:
        candidates = 10.0 ** -np.arange(2, 8)
        study = _step_study(setting, net, v, candidates)
        eps = float(candidates[np.argmin(study)])
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite step > 0, got {eps!r}")
    fd, exact = np.empty(s.size), np.empty(s.size)
    for i, si in enumerate(s):
        net_s = setting.along(net, v, si)
        fd[i] = np.sum(_fd(setting, net_s, v, eps) ** 2)
        exact[i] = np.sum(setting.operator(net_s).J(v) ** 2)
    return RestrictedSntk(s, fd, exact, eps, study)


def fd_step_study(net, x0: np.ndarray | None, T: int | None, v: np.ndarray, eps: np.ndarray, params=None, *,
                  h0: np.ndarray | None = None, X: np.ndarray | None = None) -> np.ndarray:
    """``max |FD - JVP| / max |JVP|`` of the directional derivative for each step in ``eps``.

    Central differences converge as eps^2 until rounding (~1e-16 / eps) takes over.
    """
    return _step_study(_Setting(net, x0, T, params, h0, X), net, v, eps)


def _step_study(setting: _Setting, net, v, eps) -> np.ndarray:
    exact = setting.operator(net).J(v)
    scale = np.max(np.abs(exact))
    return np.array([np.max(np.abs(_fd(setting, net, v, e) - exact)) / scale for e in eps])


@short_repr()
@dataclass(frozen=True)
class NormalFormPrediction:
    """The scalar normal form's restricted sNTK along theta* + s v, and its comparison with the network.

    ``parameter`` is the normal-form parameter at each s (``parameter_name``: g for the
    pitchfork, eps for the imperfect pitchfork crossed along its imperfection);
    ``y0`` the initial conditions reduced to the critical mode; ``predicted`` the matched
    form's (d parameter / ds)^2 sum_{b,t} (D y_t)^2 / |b|, ``linear`` the stability-flip
    null y' = g y at the real multiplier nearest 1 of the tracked attractor.  One overall
    amplitude (least squares) is fitted in :meth:`compare`.  ``valid``: where the form
    applies (a real scalar critical mode; a truncated reduced map whose trajectories stay
    bounded); ``scalar_slowest``: where the attractor's slowest mode is that real mode, i.e.
    where a one-dimensional slow manifold exists for any scalar reduction to describe.
    """

    s: np.ndarray
    parameter: np.ndarray
    y0: np.ndarray
    cubic: float
    predicted: np.ndarray
    linear: np.ndarray
    form: str
    parameter_name: str = "g"
    valid: np.ndarray | None = None
    scalar_slowest: np.ndarray | None = None

    def compare(self, observed: np.ndarray, curve: str = "predicted") -> dict:
        """Pearson r (of the values and of their logarithms), peak-location error, relative L2 error,
        width ratio (predicted over observed full width at half maximum of the peak; NaN if either
        peak's half-height crossings are not both on the compared stretch).

        The relative L2 error is after the one fitted amplitude; ``pearson_r_log`` compares
        the landscapes decade by decade (they span several).  Only the grid points where the
        scalar form applies (``valid``: the critical multiplier is a real scalar mode there) are
        compared, for the matched form and the null alike; ``compared`` gives their share and
        ``compared_s`` their s-range.
        """
        if curve not in ("predicted", "linear"):
            raise ValueError(f"curve must be 'predicted' or 'linear', got {curve!r}")
        pred = getattr(self, curve)
        observed = np.asarray(observed, dtype=np.float64)
        if observed.shape != pred.shape:
            raise ValueError(f"observed must have the grid's shape {pred.shape}, got {observed.shape}")
        keep = np.ones(pred.shape, dtype=bool) if self.valid is None else np.asarray(self.valid, dtype=bool)
        if keep.sum() < 3:
            raise ValueError(f"the scalar form applies at only {int(keep.sum())} grid points of the line (the critical "
                             "multiplier is complex elsewhere); nothing to compare")
        s, pred, observed = self.s[keep], pred[keep], observed[keep]
        amplitude = float(pred @ observed / (pred @ pred))
        positive = (pred > 0) & (observed > 0)
        (wp, closed_p), (wo, closed_o) = _half_width(s, pred), _half_width(s, observed)
        return {"pearson_r": float(np.corrcoef(pred, observed)[0, 1]),
                "width_ratio": wp / wo if closed_p and closed_o else float("nan"),
                "pearson_r_log": float(np.corrcoef(np.log(pred[positive]), np.log(observed[positive]))[0, 1]),
                "peak_error": float(abs(s[np.argmax(pred)] - s[np.argmax(observed)])),
                "relative_l2": float(np.linalg.norm(amplitude * pred - observed) / np.linalg.norm(observed)),
                "amplitude": amplitude, "compared": float(keep.mean()), "compared_s": [float(s[0]), float(s[-1])]}


def _half_width(s: np.ndarray, y: np.ndarray) -> tuple[float, bool]:
    """Full width at half maximum of the peak of y(s) (linear interpolation at the half-height
    crossings on either side of the maximum), and whether both crossings lie on the grid."""
    k = int(np.argmax(y))
    half = y[k] / 2
    edges, closed = [], True
    for step in (-1, 1):
        j = k
        while 0 <= j + step < y.size and y[j + step] > half:
            j += step
        if not 0 <= j + step < y.size:
            edges.append(s[j])
            closed = False
            continue
        a, b = j, j + step  # y[a] > half >= y[b]
        edges.append(s[a] + (s[b] - s[a]) * (y[a] - half) / (y[a] - y[b]))
    return float(edges[1] - edges[0]), closed


def _real_nearest(m: np.ndarray, target: float, where: int) -> float:
    real = real_multipliers(m)
    if real.size == 0:
        raise ValueError(f"the tracked fixed point has no real multiplier at grid point {where} (all complex): no "
                         "scalar fold/pitchfork parameter there; the line is governed by an oscillatory mode")
    return float(real[np.argmin(np.abs(real - target))])


def _track_multiplier(nets: list, h_star: np.ndarray, start: int,
                      x=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed point, the critical multiplier and where it is a real scalar mode, along the line.

    At ``start`` the critical mode is the real multiplier nearest +1; from there it is followed by
    its eigenvector (the eigenvalue whose eigenvector overlaps most with the previous one), not by
    the nearest real value: when the critical multiplier joins another in a complex pair there is
    no scalar critical mode any more, and the nearest real multiplier would be another mode's.
    From that grid point outwards ``valid`` is False and the multiplier NaN -- the stretch of the
    line where no scalar normal form applies.
    """
    n = len(nets)
    H = np.empty((n, h_star.size))
    mu = np.full(n, np.nan)
    valid = np.zeros(n, dtype=bool)
    for order in (range(start, n), range(start, -1, -1)):
        h, vec, scalar = h_star.copy(), None, True
        for i in order:
            h, res = _newton(nets[i], h, 60, 1e-12, x)
            if res > 1e-9:
                raise RuntimeError(f"the tracked fixed point is lost at grid point {i}; use a narrower s-range")
            H[i] = h
            if not scalar:
                continue
            vals, vecs = np.linalg.eig(nets[i].jacobian_h(h, x))
            if vec is None:
                k = int(np.argmin(np.abs(vals - _real_nearest(vals, 1.0, i))))
            else:
                k = int(np.argmax(np.abs(vecs.conj().T @ vec)))
            if abs(vals[k].imag) > 1e-9 * max(1.0, abs(vals[k])):
                scalar = False  # the critical mode turned oscillatory: no scalar form from here on
                continue
            vec = np.real(vecs[:, k]) / np.linalg.norm(np.real(vecs[:, k]))
            mu[i], valid[i] = vals[k].real, True
    return H, mu, valid


def _attractor_multipliers(nets: list, settle: int = 500, x=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along the line, the attractor reached from the previous one (a fold hands over): its real multiplier
    nearest 1, whether that real mode is its slowest (largest |multiplier|, so that a one-dimensional slow
    manifold exists to reduce to), and the attractor's states."""
    h = np.zeros(nets[0].N)
    out = np.empty(len(nets))
    slowest = np.zeros(len(nets), dtype=bool)
    states = np.empty((len(nets), nets[0].N))
    for i, n in enumerate(nets):
        for _ in range(settle):
            h = n.map1(h, x)
        h, res = _newton(n, h, 60, 1e-12, x)
        if res > 1e-9:
            raise RuntimeError(f"no fixed-point attractor at grid point {i} (the orbit does not settle)")
        m = multipliers(n, h, x)
        out[i], states[i] = _real_nearest(m, 1.0, i), h
        slowest[i] = abs(out[i]) >= np.max(np.abs(m)) * (1 - 1e-9)
    return out, slowest, states


def _initial_states(net, x0, h0) -> np.ndarray:
    """The batch's initial states: the paper's read-in embed(x0) or any cell's h0 (B, N)."""
    if h0 is not None:
        if x0 is not None:
            raise ValueError("pass either x0 (the paper's read-in plane) or h0 (initial states), not both")
        h0 = real_array(h0, "h0")
        if h0.ndim != 2 or h0.shape[1] != net.N:
            raise ValueError(f"h0 must have shape (B, {net.N}), got {h0.shape}")
        return h0
    if x0 is None or not isinstance(net, RNN):
        raise ValueError("pass the initial states h0=(B, N) (x0, the read-in plane, exists for the paper's RNN only)")
    return embed(x0, net.N)


def normal_form_prediction(net, x0: np.ndarray | None, T: int, v: np.ndarray, s: np.ndarray, h_star: np.ndarray,
                           params=None, *, h0: np.ndarray | None = None, x=None) -> NormalFormPrediction:
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

    The paper's network: ``(net, x0, T, v, s, h_star)`` with params "Wb"/"W"; any cell:
    ``(cell, None, T, v, s, h_star, h0=..., x=...)`` -- autonomous at the constant input ``x``
    (default 0), params "all" or group names as in :func:`critical_direction`.

    Paper, sec. 2 (fig. 1E vs 2B) and app. A.1.
    """
    states = _initial_states(net, x0, h0)
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size < 3 or not np.all(np.diff(s) > 0):
        raise ValueError("s must be an increasing 1-D grid of >= 3 points")
    start = int(np.argmin(np.abs(s)))
    nets = [along(net, v, si, params) for si in s]
    H, g, valid = _track_multiplier(nets, np.asarray(h_star, dtype=np.float64), start, x)
    coef = critical_coefficients(nets[start], H[start], +1, x=x)
    b = coef.values["b"]
    if not (np.isfinite(b) and b != 0):
        raise ValueError(f"the cubic coefficient at the critical point is {b}; no pitchfork scale to reduce to")
    y0 = np.sqrt(abs(b)) * (states - H[start]) @ coef.p
    idx = np.flatnonzero(valid)  # one stretch around the start (validity ends outwards)
    dg = np.gradient(g[idx], s[idx]) if idx.size > 1 else np.zeros(idx.size)
    curves = {}
    for name, form in (("predicted", nf.pitchfork()), ("linear", nf.stability_flip())):
        curves[name] = np.full(s.size, np.nan)
        curves[name][idx] = dg**2 * sweep(form, g[idx], T, y0, progress=False).norm / abs(b)
    return NormalFormPrediction(s, g, y0, float(b), curves["predicted"], curves["linear"], "pitchfork", "g",
                                valid=valid)


@short_repr()
@dataclass(frozen=True)
class CuspWindow:
    r"""The imperfect pitchfork crossed along theta* + s v: an S-shaped fixed-point branch.

    Between the folds at ``folds`` (s_1 < s_2) the line has three fixed points (two
    nodes and a saddle).  In the normal form y' = g y - y^3 + eps at fixed g > 1 the
    S-curve is eps = y^3 - (g - 1) y, with folds at eps = +-eps_f,
    eps_f = 2 ((g - 1)/3)^(3/2), and the middle point's multiplier g - 3 y^2 peaks at
    g, where eps = 0.  So, with no free parameter,

    * ``g0`` is the peak multiplier of the middle (saddle) branch, at s = ``centre``;
    * eps(s) = ``orientation`` * kappa (s - centre), kappa = 2 eps_f / (s_2 - s_1);
    * y = sqrt|b| <p, h - h_centre>, with p and the cubic b of the reduced map at the
      saddle (``coefficients``, ``critical_coefficients(..., near=g0)``).

    ``fold_scale``: the same y-scale read off the fold separation instead,
    2 sqrt((g0 - 1)/3) / |<p, h_f2 - h_f1>|; its ratio to sqrt|b| measures how far
    the network is from the cubic truncation (1 for an exact cusp).
    """

    folds: tuple[float, float]
    fold_states: tuple[np.ndarray, np.ndarray]
    centre: float
    g0: float
    h_centre: np.ndarray
    coefficients: RnnCriticalCoefficients
    orientation: int

    @property
    def eps_fold(self) -> float:
        return float(2 * ((self.g0 - 1) / 3) ** 1.5)

    @property
    def kappa(self) -> float:
        """d eps / d s."""
        return 2 * self.eps_fold / (self.folds[1] - self.folds[0])

    @property
    def scale(self) -> float:
        """sqrt|b|: network coordinate along q -> normal-form y."""
        return float(np.sqrt(abs(self.coefficients.values["b"])))

    @property
    def fold_scale(self) -> float:
        gap = abs(self.coefficients.p @ (self.fold_states[1] - self.fold_states[0]))
        return float(2 * np.sqrt((self.g0 - 1) / 3) / gap)

    def epsilon(self, s: np.ndarray) -> np.ndarray:
        return self.orientation * self.kappa * (np.asarray(s, dtype=np.float64) - self.centre)

    def reduce(self, h: np.ndarray) -> np.ndarray:
        """y = sqrt|b| <p, h - h_centre> for states h (..., N)."""
        return self.scale * (np.asarray(h) - self.h_centre) @ self.coefficients.p


def _unstable_real(net, h: np.ndarray, x=None) -> float:
    real = real_multipliers(multipliers(net, h, x))
    return float(real.max()) if real.size else -np.inf


def cusp_window(net, v: np.ndarray, s_range: tuple[float, float] = (-0.5, 0.5), params=None,
                seeds: int = 20, rng: SeedLike = 0, *, x=None) -> CuspWindow:
    """Locate the S-shaped branch (imperfect pitchfork) along theta* + s v and its normal-form map.

    Every fixed point at s = s_range[0] is continued along the line (pseudo-arclength,
    ``continue_branch``); the two consecutive folds of one branch nearest s = 0 bound
    the window, the branch between them is the saddle, and its multiplier peak
    (refined by a bounded scalar search, Newton at each s) gives ``g0`` and ``centre``.
    Any cell at the constant input ``x`` (default 0); params as in :func:`along`.
    See :class:`CuspWindow`; paper, sec. 3 and app. A.1.

    Raises
    ------
    ValueError
        If no branch turns twice in ``s_range`` (no imperfect pitchfork is crossed):
        widen the range, or use :func:`normal_form_prediction` for an exact pitchfork.
    """
    lo, hi = (float(e) for e in s_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < 0 < hi):
        raise ValueError(f"s_range must be finite with s_range[0] < 0 < s_range[1], got {s_range}")
    chord = Chord(along(net, v, lo, params), along(net, v, hi, params), x)
    to_s = lambda alpha: lo + alpha * (hi - lo)
    windows = []
    ends = []
    for fp in find_fixed_points(chord.network(0.0), seeds=seeds, rng=rng, x=x):
        br = continue_branch(chord, fp.h, 0.0, +1)
        if br.end == "alpha=1":
            ends.append(br.last.h)
        folds = [sp for sp in br.specials if sp.kind == "fold"]
        for f1, f2 in zip(folds, folds[1:]):
            windows.append((br, f1, f2))
    if not windows:
        raise ValueError(f"no fixed-point branch turns twice for s in [{lo:g}, {hi:g}]: the line crosses no "
                         "imperfect pitchfork there; widen s_range, or use normal_form_prediction for an exact "
                         "pitchfork")
    br, f1, f2 = min(windows, key=lambda w: abs(to_s(w[1].point.alpha) + to_s(w[2].point.alpha)))
    middle = br.points[f1.after + 1:f2.after + 1]
    if not middle:
        raise ValueError("the S-shaped branch has no sampled point between its folds; narrow s_range")
    mus = [_unstable_real(chord.network(p.alpha), p.h, x) for p in middle]
    k = int(np.argmax(mus))
    a_lo = min(f1.point.alpha, f2.point.alpha)
    a_hi = max(f1.point.alpha, f2.point.alpha)
    state = {"h": middle[k].h}

    def negative_mu(alpha: float) -> float:
        h, res = _newton(chord.network(alpha), state["h"], 60, 1e-12, x)
        if res > 1e-9:
            return np.inf
        state["h"] = h
        return -_unstable_real(chord.network(alpha), h, x)

    best = minimize_scalar(negative_mu, bounds=(a_lo, a_hi), method="bounded",
                           options={"xatol": 1e-10 * max(1.0, a_hi - a_lo)})
    # the search may end on a worse point than the best sample (Newton lost the branch there)
    alpha_c, start = (float(best.x), state["h"]) if best.fun <= -mus[k] else (middle[k].alpha, middle[k].h)
    h_c, _ = _newton(chord.network(alpha_c), start, 60, 1e-12, x)
    g0 = _unstable_real(chord.network(alpha_c), h_c, x)
    if not g0 > 1:
        raise ValueError(f"the middle branch's largest real multiplier is {g0:.4g} <= 1: not a saddle between "
                         "two folds, so not an imperfect pitchfork")
    coef = critical_coefficients(chord.network(alpha_c), h_c, +1, near=g0, x=x)
    folds_sorted = sorted([(to_s(f.point.alpha), f.point.h) for f in (f1, f2)], key=lambda x: x[0])
    # eps > 0 puts the lone attractor beyond the window on the y > 0 side
    y_end = np.array([(h - h_c) @ coef.p for h in ends])
    outer = y_end[np.argmax(np.abs(y_end))] if y_end.size else 1.0
    return CuspWindow(folds=(folds_sorted[0][0], folds_sorted[1][0]),
                      fold_states=(folds_sorted[0][1], folds_sorted[1][1]), centre=to_s(alpha_c), g0=float(g0),
                      h_centre=h_c, coefficients=coef, orientation=1 if outer > 0 else -1)


def imperfect_pitchfork_prediction(net, x0: np.ndarray | None, T: int, v: np.ndarray, s: np.ndarray | None = None,
                                   params=None, window: CuspWindow | None = None,
                                   seeds: int = 20, rng: SeedLike = 0, *, h0: np.ndarray | None = None,
                                   x=None) -> tuple[NormalFormPrediction, CuspWindow]:
    r"""Predict ||J(theta* + s v) v||^2 from the imperfect pitchfork y' = g0 y - y^3 + eps(s).

    The line crosses the cusp's bistable wedge along its imperfection: g stays
    at the saddle's peak multiplier g0 and eps(s) moves linearly between the
    folds (:class:`CuspWindow`, located with :func:`cusp_window`).  The initial
    conditions are reduced to y0 = sqrt|b| <p, h0 - h_centre>, the numeric layer
    evaluates sum_{b,t} (D_eps y_t)^2 of the form at every eps(s), and the chain
    rule multiplies by kappa^2.  Nothing is fitted but the overall amplitude in
    :meth:`NormalFormPrediction.compare`.

    ``s=None`` takes 121 points over centre +- 6 window widths (the cubic map is
    a faithful unfolding only near the window; far out its fixed point flips and
    escapes).  The null is the stability flip at the tracked attractor's
    multiplier, as in :func:`normal_form_prediction`.  Any cell with ``h0=`` and the constant
    input ``x``, as there.

    Returns the prediction and the window.  Paper, sec. 2 (fig. 1E) and sec. 3.
    """
    states = _initial_states(net, x0, h0)
    if window is None:
        window = cusp_window(net, v, params=params, seeds=seeds, rng=rng, x=x)
    width = window.folds[1] - window.folds[0]
    if s is None:
        s = window.centre + np.linspace(-6, 6, 121) * width
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size < 3 or not np.all(np.diff(s) > 0):
        raise ValueError("s must be an increasing 1-D grid of >= 3 points")
    eps = window.epsilon(s)
    form = window_form(window.g0)
    y0 = window.reduce(states)
    order = np.argsort(eps)
    result = sweep(form, eps[order], T, y0, progress=False)
    if np.any(result.escaped):
        bad = s[order][np.asarray(result.escaped) > 0]
        raise ValueError(f"the normal form's trajectories escape for s in [{bad.min():.4g}, {bad.max():.4g}]: the "
                         "cubic unfolding does not reach that far from the window; narrow the s-grid")
    predicted = np.empty(s.size)
    predicted[order] = window.kappa**2 * result.norm
    mu, slowest, _ = _attractor_multipliers([along(net, v, si, params) for si in s], x=x)
    linear = window.kappa**2 * sweep(nf.stability_flip(), mu, T, y0, progress=False).norm
    return (NormalFormPrediction(s, eps, y0, float(window.coefficients.values["b"]), predicted, linear,
                                 "imperfect pitchfork", "eps", scalar_slowest=slowest), window)


def window_form(g0: float) -> "nf.NormalForm":
    """y' = g0 y - y^3 + e, the imperfect pitchfork along its imperfection e at the window's multiplier g0.

    g0 is a declared constant, so a runtime parameter of the compiled kernel: every window (every
    network, seed and learning stage) shares one module, whatever its g0."""
    return nf.NormalForm("g0*y - y**3 + e", state="y", param="e", constants={"g0": float(g0)},
                         name="imperfect pitchfork along its imperfection")


def reduced_map_prediction(net, x0: np.ndarray | None, T: int, v: np.ndarray, s: np.ndarray, window: CuspWindow,
                           order: int, params=None, reduced: ReducedMap | None = None, *,
                           h0: np.ndarray | None = None, x=None) -> NormalFormPrediction:
    r"""Predict ||J(theta* + s v) v||^2 from the reduced map y' = R(y, sigma) truncated at total degree ``order``.

    The higher-order alternative to :func:`imperfect_pitchfork_prediction`'s cubic: R is the
    Taylor expansion of the map on the saddle's invariant manifold at the window's centre
    (:func:`~numerics.rnn._reduced.reduced_map`, ``near`` = the saddle's unstable multiplier
    g0, sigma = s - centre), so nothing is calibrated on the folds and nothing is fitted but
    the amplitude.  The initial conditions are reduced to y0 = <p, h0 - h_c>; the numeric
    layer evaluates sum_{b,t} (D_sigma y_t)^2 of the truncated R at every sigma.

    A truncated series is a model of the network only inside its region of convergence: a
    trajectory that leaves twice the span of the network's own states (the initial
    conditions and the attractors along the line, reduced) has left it, and grid points
    where any trajectory does so are marked invalid (``valid``) rather than compared.
    ``reduced`` (an expansion of at least ``order``) is reused instead of recomputed.

    Paper, sec. 3 (the normal form as the reduced map's truncation) and fig. 1E.
    """
    states = _initial_states(net, x0, h0)
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size < 3 or not np.all(np.diff(s) > 0):
        raise ValueError("s must be an increasing 1-D grid of >= 3 points")
    if reduced is None or reduced.order < order:
        gap = abs(window.coefficients.p @ (window.fold_states[1] - window.fold_states[0]))
        reduced = reduced_map(net, v, window.centre, window.h_centre, order, params, near=window.g0,
                              scales=(gap, window.folds[1] - window.folds[0]), x=x)
    R = reduced.truncate(order)
    expression, constants = R.expression()
    form = nf.NormalForm(expression, state="y", param="e", constants=constants,
                         name=f"reduced map to order {order} at the saddle")
    y0 = R.reduce(states)
    mu, slowest, attractors = _attractor_multipliers([along(net, v, si, params) for si in s], x=x)
    span = max(np.max(np.abs(y0)), np.max(np.abs(R.reduce(attractors))))
    sigma = s - window.centre
    with warnings.catch_warnings():  # escapes are handled here, as invalid grid points
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sweep(form, sigma, T, y0, progress=False, escape_radius=2 * span)
    valid = (np.asarray(result.escaped) == 0) & np.isfinite(result.norm)
    predicted = np.where(valid, result.norm, np.nan)
    linear = sweep(nf.stability_flip(), mu, T, y0, progress=False).norm
    return NormalFormPrediction(s, sigma, y0, float(R.r[3, 0]) if order >= 3 else 0.0, predicted, linear,
                                f"reduced map, order {order}", "sigma", valid=valid, scalar_slowest=slowest)
