r"""Numerical continuation of fixed points and 2-cycles of any form, and their bifurcations.

Where sympy cannot solve f(h, g) = h in closed form (g tanh h, g sin h,
Ricker maps, most maps of dimension > 2), the branches are followed
numerically, in the manner of MatContM and BifurcationKit.jl:

* **seeds** at several parameter values across the interval: for scalar maps
  every sign change of f(h, g) - h on a fine grid of the state interval,
  refined by bisection; for vector maps Newton's method from a Halton set of
  starting points in the state box;
* **pseudo-arclength continuation** of G(x, g) = f^k(x, g) - x = 0 in
  (x, g) (k = 1, or 2 for 2-cycles), predictor along the tangent, Newton
  corrector on [G; t . (y - y_pred)] = 0, adaptive step (float64, Python
  ``math`` evaluation of the form's exact derivatives);
* **test functions** evaluated at every accepted point (Kuznetsov 2004,
  sec. 10.2; Govaerts, *Numerical Methods for Bifurcations of Dynamical
  Equilibria*, ch. 8): fold, the g-component of the tangent;
  branch point, det [G_x G_g; t^T]; flip, det(f_x + I); Neimark-Sacker,
  det(f_x^[2] - I) with f_x^[2] the second multiplicative compound (its
  eigenvalues are the products mu_i mu_j, so the determinant vanishes when a
  pair on the unit circle has mu mu-bar = 1) -- no eigenvalues needed;
* a sign change is **located** by bisection along the arc and then, for
  fold, flip and Neimark-Sacker points (regular solutions of their
  augmented systems), **polished** with ``mpmath.findroot`` at 30 digits;
  branch points (where the augmented system is singular) keep the bisection
  accuracy (~1e-13);
* each point is **classified** by the same Kuznetsov coefficients the exact
  path computes, from the form's exact derivatives evaluated at the
  numerically located point (50-digit eigenvectors).

Everything here is float64 or mpmath: the symbolic layer stays free of numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import mpmath
import sympy as sp

from ._form import NormalForm

__all__ = ["ContinuationSettings", "NumericPath", "continue_fixed_points", "located_points"]


@dataclass(frozen=True)
class ContinuationSettings:
    """Where and how finely branches are followed.

    Attributes
    ----------
    interval : (float, float)
        Parameter interval [g_lo, g_hi].  Default (``default_settings``):
        g* +- 2 when the form has a g*, else [-3, 3].
    box : float
        States are followed while max_i |x_i| <= box (default 10).
    seeds_at : int
        Parameter values across the interval where seeds are searched (9).
    grid : int
        Scalar maps: grid points of the sign-change search (801).
    starts : int
        Vector maps: Newton starting points per seed parameter value (64).
    max_points : int
        Points per branch direction (4000).
    """

    interval: tuple[float, float]
    box: float = 10.0
    seeds_at: int = 9
    grid: int = 801
    starts: int = 64
    max_points: int = 4000


def default_settings(form: NormalForm, interval: Any = None, box: Any = None) -> ContinuationSettings:
    if interval is None:
        centre = float(form.g_star) if form.g_star is not None else 0.0
        interval = (centre - 2.0, centre + 2.0) if form.g_star is not None else (-3.0, 3.0)
    try:
        lo, hi = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ValueError(f"interval must be a pair of numbers (g_lo, g_hi), got {interval!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"interval must be finite with g_lo < g_hi, got {interval!r}")
    box = 10.0 if box is None else float(box)
    if not (math.isfinite(box) and box > 0):
        raise ValueError(f"box must be a finite number > 0 (the half-width of the state box), got {box!r}")
    return ContinuationSettings((lo, hi), box)


class _Model:
    """f^k, its state Jacobian and its parameter derivative as fast float functions of (x, g)."""

    def __init__(self, form: NormalForm, period: int = 1) -> None:
        self.form, self.n, self.period = form, form.dim, period
        args = (*form.state, form.param)
        jac = sp.Matrix(form.rhs).jacobian(sp.Matrix(form.state))
        fg = [sp.diff(e, form.param) for e in form.rhs]
        # exact derivatives, printed by sympy for Python's math module (the form was validated)
        self._f = sp.lambdify(args, list(form.rhs), modules="math")
        self._A = sp.lambdify(args, jac.tolist(), modules="math")
        self._fg = sp.lambdify(args, fg, modules="math")

    def one(self, x: list, g: float) -> tuple[list, list, list]:
        return list(self._f(*x, g)), [list(r) for r in self._A(*x, g)], list(self._fg(*x, g))

    def map(self, x: list, g: float) -> tuple[list, list, list]:
        """(f^k(x), D_x f^k, D_g f^k) by the chain rule over the k steps."""
        fx, A, fg = self.one(x, g)
        for _ in range(self.period - 1):
            f2, A2, fg2 = self.one(fx, g)
            A = _matmul(A2, A)
            fg = [sum(A2[i][j] * fg[j] for j in range(self.n)) + fg2[i] for i in range(self.n)]
            fx = f2
        return fx, A, fg

    def residual(self, x: list, g: float) -> list:
        fx = x
        for _ in range(self.period):
            fx = list(self._f(*fx, g))
        return [a - b for a, b in zip(fx, x)]


def _matmul(A: list, B: list) -> list:
    n = len(A)
    return [[sum(A[i][k] * B[k][j] for k in range(n)) for j in range(n)] for i in range(n)]


def _solve(M: list, b: list) -> list:
    """Gaussian elimination with partial pivoting (small dense systems)."""
    n = len(M)
    a = [row[:] + [b[i]] for i, row in enumerate(M)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(a[r][c]))
        if a[p][c] == 0.0:
            raise ZeroDivisionError("singular")
        a[c], a[p] = a[p], a[c]
        for r in range(c + 1, n):
            f = a[r][c] / a[c][c]
            if f:
                for k in range(c, n + 1):
                    a[r][k] -= f * a[c][k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][k] * x[k] for k in range(r + 1, n))) / a[r][r]
    return x


def _inverse_iteration(M: list, v: list, iters: int) -> list:
    """``iters`` steps of v <- M^-1 v / |M^-1 v| (stopping early where M is exactly singular)."""
    for _ in range(iters):
        try:
            v = _solve(M, v)
        except ZeroDivisionError:
            break
        norm = math.sqrt(sum(x * x for x in v))
        v = [x / norm for x in v]
    return v


def _det(M: list) -> float:
    n = len(M)
    a = [row[:] for row in M]
    det = 1.0
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(a[r][c]))
        if a[p][c] == 0.0:
            return 0.0
        if p != c:
            a[c], a[p] = a[p], a[c]
            det = -det
        det *= a[c][c]
        for r in range(c + 1, n):
            f = a[r][c] / a[c][c]
            for k in range(c, n):
                a[r][k] -= f * a[c][k]
    return det


def _compound2(A: list) -> list:
    """The second multiplicative compound: the 2x2 minors of A; its eigenvalues are mu_i mu_j (i < j)."""
    n = len(A)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    return [[A[i][k] * A[j][l] - A[i][l] * A[j][k] for (k, l) in pairs] for (i, j) in pairs]


def _eigenvalues(A: list) -> list[complex]:
    n = len(A)
    if n == 1:
        return [complex(A[0][0])]
    if n == 2:
        tr, det = A[0][0] + A[1][1], A[0][0] * A[1][1] - A[0][1] * A[1][0]
        disc = complex(tr * tr / 4 - det) ** 0.5
        return [tr / 2 + disc, tr / 2 - disc]
    with mpmath.workdps(17):
        vals = mpmath.eig(mpmath.matrix(A), left=False, right=False)
    return [complex(v) for v in vals]


@dataclass
class _Point:
    y: list  # (x_1..x_n, g)
    t: list  # unit tangent in (x, g)
    A: list
    tests: dict
    multipliers: list

    @property
    def g(self) -> float:
        return self.y[-1]

    @property
    def x(self) -> list:
        return self.y[:-1]


@dataclass
class NumericPath:
    """One continued branch: its points in order, and the special points located on it."""

    period: int
    points: list = field(default_factory=list)   # _Point
    specials: list = field(default_factory=list)  # (kind, y, accuracy, index)


class _Continuer:
    def __init__(self, model: _Model, settings: ContinuationSettings) -> None:
        self.m, self.s = model, settings
        lo, hi = settings.interval
        self.width = hi - lo
        self.ds0, self.ds_max, self.ds_min = 0.005 * self.width, 0.04 * self.width, 1e-9 * self.width

    # -- the augmented system
    def _jac(self, y: list) -> tuple[list, list, list]:
        x, g = y[:-1], y[-1]
        fx, A, fg = self.m.map(x, g)
        n = self.m.n
        G = [fx[i] - x[i] for i in range(n)]
        J = [[A[i][j] - (1.0 if i == j else 0.0) for j in range(n)] + [fg[i]] for i in range(n)]
        return G, J, A

    def tangent(self, y: list, previous: list | None) -> list:
        _, J, _ = self._jac(y)
        n = self.m.n
        for c in ([previous] if previous else []) + [[0.0] * n + [1.0]] + [[1.0 if k == i else 0.0 for k in range(n + 1)]
                                                                           for i in range(n)]:
            try:
                t = _solve(J + [c], [0.0] * n + [1.0])
            except ZeroDivisionError:
                continue
            norm = math.sqrt(sum(v * v for v in t))
            t = [v / norm for v in t]
            if previous and sum(a * b for a, b in zip(t, previous)) < 0:
                t = [-v for v in t]
            return t
        raise ZeroDivisionError("no tangent")

    def correct(self, yp: list, t: list) -> list | None:
        y = yp[:]
        n = self.m.n
        for _ in range(10):
            try:
                G, J, _ = self._jac(y)
            except (ValueError, OverflowError, ZeroDivisionError):
                return None
            H = G + [sum(t[i] * (y[i] - yp[i]) for i in range(n + 1))]
            try:
                d = _solve(J + [t], [-v for v in H])
            except ZeroDivisionError:
                return None
            y = [a + b for a, b in zip(y, d)]
            if max(abs(v) for v in d) < 1e-12 * (1 + max(abs(v) for v in y)):
                G, _, _ = self._jac(y)
                return y if max(abs(v) for v in G) < 1e-9 * (1 + max(abs(v) for v in y)) else None
        return None

    def point(self, y: list, t: list) -> _Point:
        _, J, A = self._jac(y)
        n = self.m.n
        tests = {"fold": t[-1], "branch point": _det(J + [t]),
                 "flip": _det([[A[i][j] + (1.0 if i == j else 0.0) for j in range(n)] for i in range(n)])}
        if n >= 2:
            C = _compound2(A)
            tests["neimark-sacker"] = _det([[C[i][j] - (1.0 if i == j else 0.0) for j in range(len(C))]
                                            for i in range(len(C))])
        return _Point(y, t, A, tests, _eigenvalues(A))

    def inside(self, y: list) -> bool:
        lo, hi = self.s.interval
        return lo - 1e-12 <= y[-1] <= hi + 1e-12 and max(abs(v) for v in y[:-1]) <= self.s.box

    # -- one direction of a branch
    def follow(self, start: _Point, direction: int, stop: Callable[[list], bool]) -> list[_Point]:
        pts = [start]
        t = [direction * v for v in start.t]
        y, ds = start.y, self.ds0
        for _ in range(self.s.max_points):
            while True:
                yp = [a + ds * b for a, b in zip(y, t)]
                y_new = self.correct(yp, t)
                if y_new is not None:
                    try:
                        t_new = self.tangent(y_new, t)
                    except ZeroDivisionError:
                        y_new = None
                # a step that turns the tangent sharply may have jumped branches: shorten it
                if y_new is not None and sum(a * b for a, b in zip(t, t_new)) > 0.9:
                    break
                ds /= 2
                if ds < self.ds_min:
                    return pts
            y, t = y_new, t_new
            p = self.point(y, t)
            pts.append(p)
            if not self.inside(y) or stop(y):
                return pts
            if len(pts) > 20 and _dist(y, start.y) < 0.5 * ds and direction == 1:
                return pts  # a closed curve came back to its start
            ds = min(self.ds_max, ds * 1.3)
        return pts

    # -- locating a sign change between two consecutive points
    def locate(self, p0: _Point, p1: _Point, kind: str) -> tuple[list, float]:
        """The point where ``tests[kind]`` vanishes between p0 and p1 (bisection in arclength), and the bracket."""
        s_lo, s_hi = 0.0, _dist(p0.y, p1.y)
        f_lo = p0.tests[kind]
        best = p1.y
        for _ in range(60):
            s_mid = 0.5 * (s_lo + s_hi)
            yp = [a + s_mid * b for a, b in zip(p0.y, p0.t)]
            # the corrector fails right at a branch point (the bordered Jacobian is singular there):
            # the predictor's test value still tells the side, and polish() does the rest
            y = self.correct(yp, p0.t) or yp
            try:
                p = self.point(y, self.tangent(y, p0.t))
            except (ZeroDivisionError, ValueError, OverflowError):
                break
            best = y
            if (p.tests[kind] > 0) == (f_lo > 0):
                s_lo, f_lo = s_mid, p.tests[kind]
            else:
                s_hi = s_mid
            if s_hi - s_lo < 1e-15 * (1 + max(abs(v) for v in y)):
                break
        return best, s_hi - s_lo


def _dist(a: list, b: list) -> float:
    return math.sqrt(sum((u - v) ** 2 for u, v in zip(a, b)))


def _halton(i: int, base: int) -> float:
    f, r = 1.0, 0.0
    while i > 0:
        f /= base
        r += f * (i % base)
        i //= base
    return r


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29)


def _seeds(model: _Model, s: ContinuationSettings) -> list[list]:
    """Points (x, g) on G = 0 at ``seeds_at`` parameter values: sign changes (scalar) or Newton (vector)."""
    lo, hi = s.interval
    out = []
    values = [lo + (hi - lo) * (k + 0.5) / s.seeds_at for k in range(s.seeds_at)]
    n = model.n
    for g in values:
        if n == 1 and model.period == 1:
            xs = [-s.box + 2 * s.box * i / (s.grid - 1) for i in range(s.grid)]
            prev = None
            for x in xs:
                try:
                    r = model.residual([x], g)[0]
                except (ValueError, OverflowError, ZeroDivisionError):
                    prev = None
                    continue
                if r == 0.0:
                    out.append([x, g])
                elif prev is not None and (prev[1] > 0) != (r > 0):
                    a, b, fa = prev[0], x, prev[1]
                    for _ in range(80):
                        m = 0.5 * (a + b)
                        fm = model.residual([m], g)[0]
                        if (fm > 0) == (fa > 0):
                            a, fa = m, fm
                        else:
                            b = m
                    out.append([0.5 * (a + b), g])
                prev = (x, r)
            continue
        for i in range(1, s.starts + 1):
            x = [-s.box + 2 * s.box * _halton(i, _PRIMES[k % len(_PRIMES)]) for k in range(n)]
            x = _newton(model, x, g)
            if x is not None and max(abs(v) for v in x) <= s.box:
                out.append(x + [g])
    return out


def _newton(model: _Model, x: list, g: float) -> list | None:
    n = model.n
    for _ in range(40):
        try:
            fx, A, _ = model.map(x, g)
        except (ValueError, OverflowError, ZeroDivisionError):
            return None
        G = [fx[i] - x[i] for i in range(n)]
        J = [[A[i][j] - (1.0 if i == j else 0.0) for j in range(n)] for i in range(n)]
        try:
            d = _solve(J, [-v for v in G])
        except ZeroDivisionError:
            return None
        x = [a + b for a, b in zip(x, d)]
        if max(abs(v) for v in x) > 1e6:
            return None
        if max(abs(v) for v in d) < 1e-13 * (1 + max(abs(v) for v in x)):
            return x
    return None


def continue_fixed_points(form: NormalForm, settings: ContinuationSettings, period: int = 1,
                          extra_seeds: list | None = None, exclude: Callable[[list], bool] | None = None
                          ) -> list[NumericPath]:
    """Every branch of fixed points of f^period met from the seeds, with its located special points.

    ``exclude(y)`` marks points that belong to another object (for 2-cycles:
    the fixed points of f, which f^2 also fixes); a branch stops there.
    """
    model = _Model(form, period)
    cont = _Continuer(model, settings)
    seeds = list(extra_seeds or []) + _seeds(model, settings)
    paths: list[NumericPath] = []
    tol = 1e-6 * (1 + settings.box)
    stop = exclude or (lambda y: False)
    for seed in seeds:
        if exclude is not None and exclude(seed):
            continue
        y = cont.correct(seed, [0.0] * model.n + [1.0])  # pin g: t = e_g
        if y is None or not cont.inside(y):
            continue
        if any(_on_path(y, p, tol) for p in paths):
            continue
        try:
            start = cont.point(y, cont.tangent(y, None))
        except ZeroDivisionError:
            continue
        backward = cont.follow(start, -1, stop)
        forward = cont.follow(start, 1, stop)
        # one orientation along the whole path: the backward half was followed along -t
        path = NumericPath(period, [_reversed(p) for p in reversed(backward[1:])] + forward)
        if exclude is not None:
            path.points = [p for p in path.points if not exclude(p.y)] or path.points[:0]
        if len(path.points) < 2:
            continue
        _find_specials(cont, path)
        paths.append(path)
    return paths


def _reversed(p: _Point) -> _Point:
    """The point with its tangent turned round; the tests that depend on the orientation change sign."""
    tests = dict(p.tests)
    tests["fold"], tests["branch point"] = -tests["fold"], -tests["branch point"]
    return _Point(p.y, [-v for v in p.t], p.A, tests, p.multipliers)


def _on_path(y: list, path: NumericPath, tol: float) -> bool:
    pts = path.points
    for a, b in zip(pts, pts[1:]):
        # distance to the chord between consecutive points
        d = [v - u for u, v in zip(a.y, b.y)]
        L2 = sum(v * v for v in d) or 1e-300
        s = max(0.0, min(1.0, sum((w - u) * v for u, v, w in zip(a.y, d, y)) / L2))
        if _dist([u + s * v for u, v in zip(a.y, d)], y) < max(tol, 0.05 * math.sqrt(L2)):
            return True
    return False


def _find_specials(cont: _Continuer, path: NumericPath) -> None:
    for i, (p0, p1) in enumerate(zip(path.points, path.points[1:])):
        for kind, v0 in p0.tests.items():
            v1 = p1.tests[kind]
            if (v0 > 0) == (v1 > 0) or v0 == 0:
                continue
            if kind == "neimark-sacker" and not _complex_pair_near_circle(p0, p1):
                continue  # mu_i mu_j = 1 for a real pair (a neutral saddle), not a Neimark-Sacker point
            y, bracket = cont.locate(p0, p1, kind)
            path.specials.append((kind, y, bracket, i + 1))


def _complex_pair_near_circle(p0: _Point, p1: _Point) -> bool:
    def pairs(p):
        return [m for m in p.multipliers if abs(m.imag) > 1e-9]
    return bool(pairs(p0)) and bool(pairs(p1))


def _augmented(form: NormalForm, kind: str, period: int):
    """The regular system a special point of ``kind`` solves, and its number of extra unknowns.

    fold: G = 0, det(f_x - I) = 0; flip: G = 0, det(f_x + I) = 0;
    Neimark-Sacker: G = 0, det(f_x^[2] - I) = 0; branch point (Keller's
    extended system): G + beta phi = 0, G_y^T phi = 0, phi . phi = 1, with the
    slack beta = 0 at the solution -- regular at a simple branch point, where
    the plain augmented systems are singular.  G = f^period - id.
    """
    n = form.dim
    xs = sp.Matrix(form.state)
    f = sp.Matrix(form.rhs)
    image = xs
    for _ in range(period):
        image = f.xreplace(dict(zip(form.state, image)))
    G = image - xs
    A = image.jacobian(xs)
    Gg = G.diff(form.param)
    eye = sp.eye(n)
    if kind == "fold":
        return list(G) + [(A - eye).det()], 0
    if kind == "flip":
        return list(G) + [(A + eye).det()], 0
    if kind == "neimark-sacker":
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        C = sp.Matrix(len(pairs), len(pairs), lambda a, b: A[pairs[a][0], pairs[b][0]] * A[pairs[a][1], pairs[b][1]]
                      - A[pairs[a][0], pairs[b][1]] * A[pairs[a][1], pairs[b][0]])
        return list(G) + [(C - sp.eye(len(pairs))).det()], 0
    phi = sp.symbols(f"_phi0:{n}")
    beta = sp.Symbol("_beta")
    J = (A - eye).row_join(Gg)  # G_y, n x (n+1)
    eqs = [G[i] + beta * phi[i] for i in range(n)] + list(J.T * sp.Matrix(phi)) + [sum(v * v for v in phi) - 1]
    return eqs, n + 1


def polish(form: NormalForm, kind: str, y: list, period: int = 1, dps: int = 30, hint: list | None = None
           ) -> tuple[list, float]:
    """Newton at ``dps`` digits (mpmath) on the augmented system of a located special point.

    Returns (x..., g) as mpf and the size of the last correction (the accuracy reached); if Newton
    fails, the float estimate and NaN.  ``hint`` is the critical left null vector guess for branch points.
    """
    n = form.dim
    eqs, extra = _augmented(form, kind, period)
    aux = {s for e in eqs for s in e.free_symbols if s.name.startswith("_")}  # user names never start with "_"
    unknowns = (*form.state, form.param) + tuple(sorted(aux, key=lambda s: (s.name == "_beta", s.name)))
    system = sp.lambdify(unknowns, eqs, modules="mpmath")
    start = [mpmath.mpf(v) for v in y]
    if extra:
        phi = hint or _left_null(form, y, period)
        start += [mpmath.mpf(v) for v in phi] + [mpmath.mpf(0)]
    with mpmath.workdps(dps):
        try:
            root = mpmath.findroot(lambda *v: system(*v), start, tol=mpmath.mpf(10) ** (-(dps - 6)),
                                   maxsteps=60)
        except (ValueError, ZeroDivisionError, TypeError):
            return [mpmath.mpf(v) for v in y], float("nan")
        values = [root[i] for i in range(len(start))] if len(start) > 1 else [root]
    point = values[: n + 1]
    step = max(abs(float(a) - b) for a, b in zip(point, y))
    return point, step


def _left_null(form: NormalForm, y: list, period: int) -> list:
    """phi with G_y^T phi ~ 0 at y: the last column of the inverse of a bordered G_y (a starting guess)."""
    model = _Model(form, period)
    x, g = y[:-1], y[-1]
    _, A, fg = model.map(x, g)
    n = form.dim
    J = [[A[i][j] - (1.0 if i == j else 0.0) for j in range(n)] + [fg[i]] for i in range(n)]
    JT = [[J[i][j] for i in range(n)] for j in range(n + 1)]  # (n+1) x n
    # least squares-ish: the phi minimising |J^T phi| with |phi| = 1 among coordinate guesses
    best, value = None, math.inf
    for k in range(n):
        phi = [1.0 if i == k else 0.0 for i in range(n)]
        r = sum(sum(JT[a][i] * phi[i] for i in range(n)) ** 2 for a in range(n + 1))
        if r < value:
            best, value = phi, r
    if n > 1:
        # refine: inverse iteration on J J^T
        M = [[sum(J[i][a] * J[j][a] for a in range(n + 1)) + (1e-12 if i == j else 0.0) for j in range(n)]
             for i in range(n)]
        best = _inverse_iteration(M, best, 5)
    return best


def located_points(paths: list[NumericPath]) -> list[tuple[str, list, float, NumericPath]]:
    """Every special point of the paths as (kind, y, bracket, path)."""
    return [(kind, y, bracket, path) for path in paths for kind, y, bracket, _ in path.specials]
