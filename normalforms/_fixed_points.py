r"""Fixed-point branches and period-2 cycles of a form, with multipliers,
existence and stability intervals in g, and g-derivatives.

A branch h*(g) solves f(h*, g) = h*.  Its multipliers are the eigenvalues of
f_h(h*, g); it is stable where all have modulus < 1.  By the implicit
function theorem dh*/dg = (I - f_h)^(-1) f_g (Kuznetsov 2004, sec. 4.2),
which the tests compare with the derivative of the branch expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.calculus.util import continuous_domain

from ._form import NormalForm
from ._repr import short_repr

__all__ = ["FixedPointBranch", "fixed_points", "period_two_points"]

#: Highest degree in the state of a polynomial map whose fixed points are
#: solved exactly (a degree-7 map takes ~10 s; h**20 or h**1000 would not return).
MAX_EXACT_DEGREE = 8
#: The same for 2-cycles, which solve f(f(h)) = h of degree deg(f)**2.
MAX_EXACT_DEGREE_PERIOD_TWO = 4


def _check_degree(form: NormalForm, limit: int, what: str) -> None:
    """Refuse exact solving of polynomial maps of too high a degree, before sympy starts."""
    degree = 0
    for e in form.rhs:
        if not e.is_polynomial(*form.state):
            return  # sympy gives up quickly on transcendental equations (NotImplementedError)
        degree = max(degree, sp.Poly(e, *form.state).total_degree())
    if degree > limit:
        raise ValueError(
            f"the map has degree {degree} in the state; exact {what} are solved up to degree {limit} "
            "(sympy does not return in reasonable time beyond); use the numeric layer"
        )


@short_repr("form", "point", "multipliers", "existence", "stable", "period")
@dataclass(frozen=True)
class FixedPointBranch:
    """One branch of fixed points (or one period-2 cycle) as a function of g.

    Attributes
    ----------
    point : tuple of sympy.Expr
        h*(g) (for a cycle: its first point).
    cycle : tuple of tuple of sympy.Expr
        The points of the orbit (one for a fixed point, two for a 2-cycle).
    multipliers : list of sympy.Expr
        Eigenvalues of the (cycle) Jacobian at the branch.
    existence : sympy.Set or None
        Real g where the branch is real (None if sympy cannot decide).
    stable : sympy.Set or None
        Subset of ``existence`` where every multiplier has modulus < 1.
    derivative : tuple of sympy.Expr
        dh*/dg.
    exact : bool
        True for a closed form; False for a numerically continued branch, whose ``point``,
        ``multipliers`` and ``derivative`` are taken at one sample and whose ``samples``
        hold the whole curve.
    samples : tuple
        Numeric branches: ``(g, x, stable)`` at every continuation point, in order along the curve.
    error : float or None
        Numeric branches: the largest residual |f^k(x, g) - x| over the samples.
    """

    form: NormalForm
    point: tuple
    cycle: tuple
    multipliers: list
    existence: Any
    stable: Any
    derivative: tuple
    period: int = 1
    notes: list = field(default_factory=list)
    exact: bool = True
    samples: tuple = ()
    error: float | None = None

    def __str__(self) -> str:
        if not self.exact:
            kind = "fixed points" if self.period == 1 else "2-cycles"
            g0, g1 = self.samples[0][0], self.samples[-1][0]
            short = lambda st: st.xreplace({f: sp.Float(f, 6) for f in st.atoms(sp.Float)})  # noqa: E731
            return (f"numeric branch of {kind}: {len(self.samples)} points from {self.form.param} = {g0:.6g} "
                    f"to {g1:.6g}; exists for {self.form.param} in {short(self.existence)}; stable for "
                    f"{self.form.param} in {short(self.stable)}")
        pt = self.point[0] if len(self.point) == 1 else self.point
        kind = "fixed point" if self.period == 1 else "2-cycle through"
        mult = ", ".join(sp.sstr(m) for m in self.multipliers)
        return (
            f"{kind} {pt}: multiplier(s) {mult}; exists for {self.form.param} in {self.existence}; "
            f"stable for {self.form.param} in {self.stable}"
        )


def _cardano(exprs: tuple) -> bool:
    """Branches written with cube roots or I (Cardano's formula) may be real
    where the formula passes through complex numbers (casus irreducibilis), so
    their real domain cannot be read off the radicals."""
    for e in exprs:
        if e.has(sp.I) or any(
            isinstance(pw.exp, sp.Rational) and pw.exp.q % 3 == 0 for pw in e.atoms(sp.Pow)
        ) or e.has(sp.CRootOf):
            return True
    return False


def _real_domain(exprs: tuple, g: sp.Symbol) -> Any:
    if _cardano(exprs):
        return None
    domain = sp.S.Reals
    for e in exprs:
        if e.has(sp.I) and sp.simplify(sp.im(e)) != 0 and not e.has(sp.sqrt):
            return None
        try:
            domain = domain.intersect(continuous_domain(e, g, sp.S.Reals))
        except (NotImplementedError, ValueError, TypeError):
            return None
    return domain


def _intervals(domain: Any) -> list:
    if domain is sp.S.Reals:
        return [sp.Interval(-sp.oo, sp.oo)]
    if isinstance(domain, sp.Interval):
        return [domain]
    if isinstance(domain, sp.Union):
        return [a for a in domain.args if isinstance(a, sp.Interval)]
    return []


def _sample(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    if a == -sp.oo and b == sp.oo:
        return sp.S.Zero
    if a == -sp.oo:
        return b - 1
    if b == sp.oo:
        return a + 1
    return (a + b) / 2


def _samples(piece: sp.Interval) -> list:
    """A few interior points; several, so that a multiplier that happens to be
    real at one of them (e.g. g * e^{i w} at g = 0) is not mistaken for real."""
    a, b = piece.start, piece.end
    lo = a if a != -sp.oo else (b - 5 if b != sp.oo else sp.Rational(-23, 7))
    hi = b if b != sp.oo else lo + 5
    return [lo + (hi - lo) * sp.Rational(k, 11) for k in (1, 4, 7, 10)]


def _is_complex(mu: sp.Expr, g: sp.Symbol, pieces: list) -> bool:
    for piece in pieces:
        for x in _samples(piece):
            if abs(sp.im(sp.N(mu.subs(g, x), 30))) > 1e-20:
                return True
    return False


def _stability(multipliers: list, g: sp.Symbol, existence: Any) -> Any:
    """Open set of g in ``existence`` where every multiplier has modulus < 1.

    The boundaries (|mu| = 1) are solved exactly; each open piece between
    them is then classified by the modulus at an interior point, which is
    exact because |mu| - 1 cannot change sign inside a piece.
    """
    if existence is None:
        return None
    pieces = _intervals(existence)
    if not pieces:
        return None
    cuts: set = set()
    for mu in multipliers:
        if _is_complex(mu, g, pieces):
            eqs = [sp.simplify(sp.re(mu) ** 2 + sp.im(mu) ** 2 - 1)]
        else:
            eqs = [mu - 1, mu + 1]
        for eq in eqs:
            try:
                roots = sp.solveset(eq, g, existence)
            except (NotImplementedError, ValueError, TypeError):
                return None
            if roots is sp.S.EmptySet:
                continue
            if not isinstance(roots, sp.FiniteSet):
                return None
            cuts |= {r for r in roots if r.is_real}
    stable = sp.S.EmptySet
    for piece in pieces:
        inner = sorted((c for c in cuts if piece.start < c < piece.end), key=lambda c: float(c))
        edges = [piece.start] + inner + [piece.end]
        for a, b in zip(edges[:-1], edges[1:]):
            x = _sample(a, b)
            if all(abs(sp.N(mu.subs(g, x), 30)) < 1 for mu in multipliers):
                stable = stable.union(sp.Interval.open(a, b))
    return stable


def _eigenvalues(M: sp.Matrix) -> list:
    if M.shape == (1, 1):
        return [sp.simplify(M[0, 0])]
    vals = []
    for val, mult in M.eigenvals().items():
        vals.extend([sp.simplify(val)] * mult)
    return vals


def _branch_points(form: NormalForm, equations: list, unknowns: list) -> list:
    try:
        sols = sp.solve(equations, unknowns, dict=True)
    except NotImplementedError:
        raise ValueError(
            f"sympy cannot solve f(h, {form.param}) = h for {form.name!r} in closed form; "
            f"use the numeric layer's fixed-point finder"
        ) from None
    out = []
    for sol in sols:
        if not all(u in sol for u in unknowns):
            continue  # a family of fixed points (e.g. f = h at one g) is not a branch
        out.append(tuple(sp.simplify(sol[u]) for u in unknowns))
    return out


METHODS = ("auto", "exact", "numeric")


def _method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _exact_or_numeric(method: Any, exact, numeric):
    """``numeric()`` for method "numeric"; else ``exact()``, falling back to ``numeric()`` under "auto"
    when sympy cannot solve (a ValueError) -- "exact" lets that error through."""
    if _method(method) == "numeric":
        return numeric()
    try:
        return exact()
    except ValueError:
        if method == "exact":
            raise
        return numeric()


def fixed_points(form: NormalForm, method: str = "auto", interval: Any = None, box: Any = None
                 ) -> list[FixedPointBranch]:
    """Fixed-point branches h*(g) with multipliers, existence, stability and dh*/dg.

    ``method="exact"`` solves f(h, g) = h with sympy (closed forms);
    ``"numeric"`` follows the branches by continuation over ``interval``
    (default g* +- 2, or [-3, 3]) within the state box |x| <= ``box``
    (default 10), see :mod:`normalforms._numeric`; ``"auto"`` (default) is
    exact when sympy can solve and numeric otherwise -- it never fails merely
    because there is no closed form.

    Examples
    --------
    >>> import normalforms as nf
    >>> [str(b.point[0]) for b in nf.pitchfork().fixed_points()]
    ['0', '-sqrt(g - 1)', 'sqrt(g - 1)']
    """
    def numeric():
        from ._numeric import numeric_fixed_points

        return numeric_fixed_points(form, interval, box)

    return _exact_or_numeric(method, lambda: _exact_fixed_points(form), numeric)


def _exact_fixed_points(form: NormalForm) -> list[FixedPointBranch]:
    _check_degree(form, MAX_EXACT_DEGREE, "fixed points")
    g = form.param
    x = sp.Matrix(form.state)
    f = sp.Matrix(form.rhs)
    jac = f.jacobian(x)
    points = _branch_points(form, list(f - x), list(form.state))
    branches = []
    for pt in sorted(points, key=lambda p: sp.default_sort_key(p)):
        sub = dict(zip(form.state, pt))
        A = jac.xreplace(sub).applyfunc(sp.simplify)
        mults = _eigenvalues(A)
        existence = _real_domain(pt, g)
        deriv = tuple(sp.simplify(sp.diff(c, g)) for c in pt)
        notes = []
        if existence is None:
            notes.append(
                "branch given by radicals whose real domain sympy cannot decide (e.g. Cardano's "
                "formula); existence and stability left undetermined - bifurcations() still finds "
                "its folds from the augmented system f = h, f_h = 1"
            )
        branches.append(
            FixedPointBranch(form, pt, (pt,), mults, existence, _stability(mults, g, existence), deriv, notes=notes)
        )
    return branches


def _same_point(a: tuple, b: tuple, g: sp.Symbol, domain: Any) -> bool:
    """Whether two branch expressions agree; nested radicals defeat simplify,
    so compare at 40 digits at three sample parameter values."""
    pieces = _intervals(domain) if domain is not None else [sp.Interval(-sp.oo, sp.oo)]
    if not pieces:
        return False
    piece = pieces[0]
    lo = piece.start if piece.start != -sp.oo else piece.end - 3
    hi = piece.end if piece.end != sp.oo else lo + 3
    for frac in (sp.Rational(1, 7), sp.Rational(1, 2), sp.Rational(5, 6)):
        x = lo + (hi - lo) * frac
        for u, v in zip(a, b):
            if abs(sp.N(u.subs(g, x) - v.subs(g, x), 40)) > 1e-30:
                return False
    return True


def period_two_points(form: NormalForm, method: str = "auto", interval: Any = None, box: Any = None
                      ) -> list[FixedPointBranch]:
    """Period-2 cycles {p, f(p)} (fixed points of f o f that are not fixed points of f).

    ``method``, ``interval``, ``box``: as for :func:`fixed_points`.  The existence set
    excludes the parameter values where the cycle collapses onto a fixed point (at its
    flip), where it is no 2-cycle.

    The cycle multiplier is the eigenvalue set of f_h(f(p)) f_h(p).

    Examples
    --------
    >>> import normalforms as nf
    >>> for cycle in nf.period_doubling().period_two_points():
    ...     print(cycle.point[0], '| exists for g in', cycle.existence)
    -sqrt(g - 1) | exists for g in Interval.open(1, oo)
    -sqrt(2*g - 2*sqrt(g**2 - 4))/2 | exists for g in Interval(2, oo)
    sqrt(2*g - 2*sqrt(g**2 - 4))/2 | exists for g in Interval(2, oo)
    """
    def numeric():
        from ._numeric import numeric_period_two_points

        return numeric_period_two_points(form, interval, box)

    return _exact_or_numeric(method, lambda: _exact_period_two_points(form), numeric)


def _exact_period_two_points(form: NormalForm) -> list[FixedPointBranch]:
    _check_degree(form, MAX_EXACT_DEGREE_PERIOD_TWO, "2-cycles")
    g = form.param
    n = form.dim
    x = sp.Matrix(form.state)
    f = sp.Matrix(form.rhs)
    jac = f.jacobian(x)
    if n == 1:
        h = form.state[0]
        ff = f[0].xreplace({h: f[0]})
        num = sp.factor(sp.numer(sp.together(ff - h)))
        fixed = sp.factor(sp.numer(sp.together(f[0] - h)))
        quotient, remainder = sp.div(sp.Poly(num, h), sp.Poly(fixed, h)) if num.is_polynomial(h) else (None, None)
        if quotient is None or not remainder.is_zero:
            raise ValueError("period-2 points are computed for polynomial scalar maps; use the numeric layer")
        points = [(sp.simplify(r),) for r in sp.solve(quotient.as_expr(), h)]
    else:
        y = [sp.Symbol(f"{s.name}_2", real=True) for s in form.state]
        image = f.xreplace(dict(zip(form.state, y)))
        eqs = list(f - sp.Matrix(y)) + list(image - x)
        try:
            sols = sp.solve(eqs, list(form.state) + y, dict=True)
        except NotImplementedError:
            raise ValueError("sympy cannot solve for the 2-cycles of this map; use the numeric layer") from None
        points = [tuple(sp.simplify(s[v]) for v in form.state) for s in sols if all(v in s for v in form.state)]
        points = [p for p in points if sp.simplify(sp.Matrix(p) - f.xreplace(dict(zip(form.state, p)))) != sp.zeros(n, 1)]
    cycles = []
    seen = []
    for pt in sorted(points, key=sp.default_sort_key):
        image = tuple(sp.simplify(c) for c in f.xreplace(dict(zip(form.state, pt))))
        if any(_same_point(image, s, g, _real_domain(pt, g)) for s in seen):
            continue  # the other point of a cycle already listed
        seen.append(pt)
        M = (jac.xreplace(dict(zip(form.state, image))) * jac.xreplace(dict(zip(form.state, pt)))).applyfunc(sp.simplify)
        mults = _eigenvalues(M)
        existence = _real_domain(pt + image, g)
        if existence is not None:
            # where the two points coincide the "cycle" is the fixed point it is born from (its flip)
            collapse = set()
            for a, b in zip(pt, image):
                try:
                    roots = sp.solveset(sp.simplify(a - b), g, sp.S.Reals)
                except (NotImplementedError, ValueError, TypeError):
                    continue
                if isinstance(roots, sp.FiniteSet):
                    collapse |= {r for r in roots if all(sp.simplify((u - v).subs(g, r)) == 0 for u, v in zip(pt, image))}
            existence = existence - sp.FiniteSet(*collapse)
        deriv = tuple(sp.simplify(sp.diff(c, g)) for c in pt)
        cycles.append(
            FixedPointBranch(form, pt, (pt, image), mults, existence, _stability(mults, g, existence), deriv, period=2)
        )
    return cycles
