r"""Fixed points, 2-cycles and bifurcations of any form by numerical continuation.

The numeric counterpart of :func:`~normalforms.fixed_points`,
:func:`~normalforms.period_two_points` and :func:`~normalforms.bifurcations`:
the branches come from :mod:`normalforms._continuation`, the special points
are located there and polished at 30 digits, and each point is classified with
the *same* Kuznetsov coefficients as the exact path (fold a, pitchfork b,
flip c, Neimark-Sacker d), evaluated with the form's exact derivatives at the
numeric point.  The results are the same types as the exact path's, with
``exact=False`` and an ``error`` (how far the point is known).
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import sympy as sp

from ._bifurcations import (NUMERIC_ZERO, Bifurcation, BifurcationList, _crossing, _sign, flip_coefficient,
                            fold_coefficient, neimark_sacker_coefficient, pitchfork_coefficients)
from ._continuation import (ContinuationSettings, NumericPath, _Model, continue_fixed_points, default_settings,
                            polish)
from ._fixed_points import FixedPointBranch
from ._form import NormalForm
from ._kinds import Kind, criticality

__all__ = ["numeric_fixed_points", "numeric_period_two_points", "numeric_bifurcations"]

_DIGITS = 30


def _numeric_sign(value: Any) -> int:
    return _sign(value, NUMERIC_ZERO)


def _float(v: Any) -> sp.Float:
    return sp.Float(mpmath.nstr(mpmath.mpf(v), _DIGITS), _DIGITS)


def _branch(form: NormalForm, path: NumericPath, settings: ContinuationSettings) -> FixedPointBranch:
    model = _Model(form, 1)
    samples = []
    worst = 0.0
    for p in path.points:
        stable = all(abs(m) < 1 for m in p.multipliers)
        samples.append((p.g, tuple(p.x), stable))
        try:
            worst = max(worst, max(abs(v) for v in _Model(form, path.period).residual(p.x, p.g)))
        except (ValueError, OverflowError, ZeroDivisionError):
            pass
    mid = path.points[len(path.points) // 2]
    point = tuple(_float(v) for v in mid.x)
    cycle = (point,) if path.period == 1 else (point, tuple(_float(v) for v in model.one(mid.x, mid.g)[0]))
    multipliers = [sp.Float(m.real, 15) + (sp.I * sp.Float(m.imag, 15) if abs(m.imag) > 1e-14 else 0)
                   for m in mid.multipliers]
    derivative = tuple(_float(mid.t[i] / mid.t[-1]) if abs(mid.t[-1]) > 1e-14 else sp.nan for i in range(form.dim))
    gs = [p.g for p in path.points]
    lo, hi = settings.interval
    note = (f"numeric branch: {len(samples)} points by pseudo-arclength continuation on {form.param} in "
            f"[{lo:g}, {hi:g}], |x| <= {settings.box:g}; point, multipliers and dh*/dg at {form.param} = {mid.g:.6g}")
    return FixedPointBranch(form, point, cycle, multipliers, sp.Interval(_float(min(gs)), _float(max(gs))),
                            _stable_set(path, samples), derivative, period=path.period, notes=[note],
                            exact=False, samples=tuple(samples), error=worst)


def _stable_set(path: NumericPath, samples: list) -> Any:
    """The g-ranges of the stable stretches of the branch, ending at the located special points
    where stability changes (not at the nearest sample).  g need not be monotone along a
    stretch (a branch that turns at a fold or a pitchfork covers a g-range twice)."""
    edges = {index: y[-1] for kind, y, _, index in path.specials}
    out = sp.S.EmptySet
    stretch: list = []
    for i, smp in enumerate(samples + [None]):
        if smp is not None and smp[2]:
            if not stretch and i > 0 and i in edges:
                stretch.append(edges[i])  # entered stability at a located point between samples i-1 and i
            stretch.append(smp[0])
            continue
        if stretch:
            if smp is not None and i in edges:
                stretch.append(edges[i])  # left it at a located point
            if max(stretch) > min(stretch):
                out = out.union(sp.Interval(_float(min(stretch)), _float(max(stretch))))
        stretch = []
    return out


def _settings(form: NormalForm, interval: Any, box: Any) -> ContinuationSettings:
    return default_settings(form, interval, box)


def _paths(form: NormalForm, settings: ContinuationSettings) -> list[NumericPath]:
    paths = continue_fixed_points(form, settings)
    if not paths:
        lo, hi = settings.interval
        raise ValueError(
            f"no fixed point of {form.name!r} found for {form.param} in [{lo:g}, {hi:g}] with |x| <= {settings.box:g}; "
            "widen interval= or box="
        )
    return paths


def numeric_fixed_points(form: NormalForm, interval: Any = None, box: Any = None) -> list[FixedPointBranch]:
    """Fixed-point branches by continuation over ``interval`` (g-range) within the state box |x|_inf <= ``box``.

    Defaults: g* +- 2 (or [-3, 3] without a g*) and box 10.
    """
    settings = _settings(form, interval, box)
    return [_branch(form, p, settings) for p in _paths(form, settings)]


def numeric_period_two_points(form: NormalForm, interval: Any = None, box: Any = None) -> list[FixedPointBranch]:
    """2-cycles by continuation of the fixed points of f o f that are not fixed points of f.

    Seeds: Newton from a Halton set in the box, and next to every flip point of the
    fixed-point branches (where the 2-cycles are born).
    """
    settings = _settings(form, interval, box)
    model = _Model(form, 1)
    scale = 1e-7 * (1 + settings.box)

    def is_fixed(y: list) -> bool:
        try:
            return max(abs(v) for v in model.residual(y[:-1], y[-1])) < scale
        except (ValueError, OverflowError, ZeroDivisionError):
            return True

    seeds = []
    for path in continue_fixed_points(form, settings):
        for kind, y, _, _ in path.specials:
            if kind != "flip":
                continue
            q = _critical_vector(model, y, -1.0)
            for dg in (2e-3, -2e-3):
                for sign in (1, -1):
                    seeds.append([y[i] + sign * 0.03 * q[i] for i in range(form.dim)] + [y[-1] + dg])
    paths = continue_fixed_points(form, settings, period=2, extra_seeds=seeds, exclude=is_fixed)
    branches = []
    for path in paths:
        if len(path.points) < 2:
            continue
        br = _branch(form, path, settings)
        # both points of a cycle are fixed points of f o f: keep one branch per cycle
        if any(_same_cycle(br, other) for other in branches):
            continue
        branches.append(br)
    return branches


def _same_cycle(a: FixedPointBranch, b: FixedPointBranch) -> bool:
    """Whether branch ``a`` follows the other point of ``b``'s cycles (f o f fixes both points of a cycle)."""
    model = _Model(a.form, 1)
    g, x, _ = a.samples[len(a.samples) // 2]
    h, y, _ = min(b.samples, key=lambda smp: abs(smp[0] - g))
    if abs(h - g) > 1e-2 * (1 + abs(g)):
        return False
    image = model.one(list(y), h)[0]
    return min(max(abs(u - v) for u, v in zip(x, other)) for other in (y, image)) < 0.05


def _critical_vector(model: _Model, y: list, mu: float) -> list:
    """A unit vector q with (f_x - mu) q ~ 0 at y (the critical direction), by inverse iteration."""
    from ._continuation import _inverse_iteration

    n = model.n
    _, A, _ = model.map(y[:-1], y[-1])
    if n == 1:
        return [1.0]
    M = [[A[i][j] - (mu + 1e-9 if i == j else 0.0) for j in range(n)] for i in range(n)]
    return _inverse_iteration(M, [1.0 / math.sqrt(n)] * n, 8)


def numeric_bifurcations(form: NormalForm, interval: Any = None, box: Any = None) -> BifurcationList:
    """Fold, branch (transcritical / pitchfork), flip and Neimark-Sacker points of the fixed-point branches,
    located by continuation, polished at 30 digits and classified by their Kuznetsov coefficients."""
    settings = _settings(form, interval, box)
    paths = _paths(form, settings)
    branches = {id(p): _branch(form, p, settings) for p in paths}
    found = []
    for path in paths:
        for kind, y, bracket, _ in path.specials:
            point, step = polish(form, kind, y)
            ok = math.isfinite(step) and step < 1e-3 * (1 + max(abs(v) for v in y)) and _is_fixed(form, point)
            found.append((kind, point if ok else [mpmath.mpf(v) for v in y], 1e-25 if ok else bracket, ok, path))
    events = BifurcationList()
    for kind, point, error, polished, path in _dedupe(found):
        ev = _classify(form, kind, point, error, polished, branches[id(path)])
        if ev is not None:
            events.append(ev)
    events.sort(key=lambda e: float(e.parameter_value))
    return events


def _is_fixed(form: NormalForm, point: list) -> bool:
    try:
        r = _Model(form, 1).residual([float(v) for v in point[:-1]], float(point[-1]))
    except (ValueError, OverflowError, ZeroDivisionError):
        return False
    return max(abs(v) for v in r) < 1e-10


def _dedupe(found: list) -> list:
    """One entry per special point: the same point met on two branches (a branch point) or as a
    fold of a branch that turns at a branch point is reported once, polished entries first."""
    kept: list = []
    for entry in sorted(found, key=lambda e: (not e[3], e[0] == "fold")):
        kind, point, _, polished, _ = entry
        duplicate = False
        for other in kept:
            distance = max(abs(float(a) - float(b)) for a, b in zip(point, other[1]))
            scale = 1 + max(abs(float(v)) for v in point)
            if kind == other[0]:
                # the same point seen from two branches
                duplicate = distance < (1e-8 if polished and other[3] else 1e-2) * scale
            elif {kind, other[0]} == {"fold", "branch point"}:
                # a branch turning at a branch point has a "fold" there, which the fold system (singular
                # at a branch point) polishes only to a nearby point: it is the branch point
                duplicate = distance < 1e-3 * scale
            if duplicate:
                break
        if not duplicate:
            kept.append(entry)
    return kept


def _classify(form: NormalForm, kind: str, point: list, error: float, polished: bool,
              branch: FixedPointBranch) -> Bifurcation | None:
    x = tuple(_float(v) for v in point[:-1])
    g0 = _float(point[-1])
    notes = [] if polished else [f"not polished: located by bisection along the branch to {error:.1g}"]
    try:
        if kind == "flip":
            coeffs = flip_coefficient(form, x, g0)
            return Bifurcation(form, Kind.FLIP, g0, x, sp.S.NegativeOne, coeffs,
                               criticality(Kind.FLIP, coeffs.values, _numeric_sign), None, branch, notes, False, error)
        if kind == "fold":
            coeffs = fold_coefficient(form, x, g0)
            return Bifurcation(form, Kind.FOLD, g0, x, sp.S.One, coeffs,
                               criticality(Kind.FOLD, coeffs.values, _numeric_sign), None, branch, notes, False, error)
        if kind == "branch point":
            coeffs = pitchfork_coefficients(form, x, g0)
            k, crit = _crossing(coeffs, _numeric_sign)
            return Bifurcation(form, k, g0, x, sp.S.One, coeffs, crit, None, branch, notes, False, error)
        mu = _unit_circle_multiplier(form, x, g0)
        if mu is None:
            return None
        coeffs = neimark_sacker_coefficient(form, x, g0, mu)
        return Bifurcation(form, Kind.NEIMARK_SACKER, g0, x, mu, coeffs,
                           criticality(Kind.NEIMARK_SACKER, coeffs.values, _numeric_sign), None, branch, notes, False,
                           error)
    except ValueError as exc:  # e.g. a double multiplier: not codimension one
        notes.append(f"coefficients not computed: {exc}")
        return None


def _unit_circle_multiplier(form: NormalForm, x: tuple, g0: sp.Expr) -> sp.Expr | None:
    A = sp.Matrix(form.rhs).jacobian(sp.Matrix(form.state)).xreplace(dict(zip(form.state, x))).subs(form.param, g0)
    with mpmath.workdps(_DIGITS):
        vals = mpmath.eig(mpmath.matrix([[mpmath.mpf(str(sp.N(A[i, j], _DIGITS))) for j in range(A.shape[1])]
                                         for i in range(A.shape[0])]), left=False, right=False)
        pairs = [v for v in vals if mpmath.im(v) > 1e-12 and abs(abs(v) - 1) < 1e-6]
        if not pairs:
            return None
        v = pairs[0]
        return _float(mpmath.re(v)) + sp.I * _float(mpmath.im(v))
