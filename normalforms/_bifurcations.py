r"""Bifurcations of fixed-point branches and Kuznetsov's critical coefficients.

Write the map near a fixed point x0 at g = g0 as

.. math::

    x \mapsto A x + \tfrac12 B(x, x) + \tfrac16 C(x, x, x) + O(|x|^4),

with B, C the symmetric multilinear forms of the second and third
derivatives.  With q the critical eigenvector (A q = mu q), p the adjoint
one (A^T p = conj(mu) p), ||q|| = 1 and <p, q> = conj(p)^T q = 1, the
critical coefficients are (Kuznetsov, *Elements of Applied Bifurcation
Theory*, 3rd ed. 2004, sec. 5.4):

* multiplier +1 (fold):  a = 1/2 <p, B(q, q)>; normal form eta -> eta + beta + a eta^2.
  When the fixed point persists through g0 (transcritical / pitchfork) the
  same a is the transcritical coefficient, and if a = 0 the pitchfork
  coefficient is b = <p, 1/6 C(q,q,q) + 1/2 B(q, h2)>, (I - A) h2 = B(q,q),
  <p, h2> = 0.
* multiplier -1 (flip):  c = 1/6 <p, C(q,q,q)> - 1/2 <p, B(q, (A - I)^{-1} B(q,q))>;
  normal form eta -> -(1 + beta) eta + c eta^3.
* multipliers e^{+-i theta} (Neimark-Sacker):
  c1 = 1/2 <p, C(q,q,conj q) + 2 B(q, (I - A)^{-1} B(q, conj q))
        + B(conj q, (e^{2 i theta} I - A)^{-1} B(q, q))>,  d = Re(e^{-i theta} c1).

Sign conventions: a real q has its largest-modulus component positive
(this fixes the sign of a, which flips with q).  Supercritical means the
bifurcating object is stable and exists where the fixed point is unstable:
b < 0 (pitchfork), c > 0 (flip), d < 0 (Neimark-Sacker); these statements do
not depend on the direction in which g is varied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ._fixed_points import FixedPointBranch, _intervals, _is_complex
from ._form import NormalForm, _to_exact
from ._kinds import Criticality, Kind, criticality
from ._parse import as_expression
from ._repr import short_repr

__all__ = [
    "Bifurcation",
    "CriticalCoefficients",
    "bifurcations",
    "fold_coefficient",
    "flip_coefficient",
    "pitchfork_coefficients",
    "neimark_sacker_coefficient",
]


# ----------------------------------------------------------------- linear algebra
def _inner(p: sp.Matrix, v: sp.Matrix) -> sp.Expr:
    return sp.expand((p.conjugate().T * v)[0, 0])


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Simplify a final scalar; radical-heavy expressions (Cardano roots) make
    ``simplify`` stall, so beyond a size only cheap rewrites are applied."""
    expr = sp.expand(expr)
    if sp.count_ops(expr) > 150:
        return sp.radsimp(expr)
    return sp.simplify(expr)


def _jet(form: NormalForm, point: tuple, g0: Any):
    """A = f_h, and the multilinear forms B, C at (point, g0).

    The second and third derivative tensors are taken at the generic state
    (cheap polynomial differentiation) and only then evaluated at the point,
    B_i(u, v) = sum_jk d2f_i/dx_j dx_k u_j v_k, likewise for C.
    """
    n = form.dim
    xs = form.state
    at = dict(zip(xs, sp.Matrix(point).subs(form.param, g0)))
    f = [e.subs(form.param, g0) for e in form.rhs]
    A = sp.Matrix(n, n, lambda i, j: sp.diff(f[i], xs[j]).xreplace(at))
    H = [[[sp.diff(f[i], xs[j], xs[k]).xreplace(at) for k in range(n)] for j in range(n)] for i in range(n)]
    D3 = [
        [[[sp.diff(f[i], xs[j], xs[k], xs[l]).xreplace(at) for l in range(n)] for k in range(n)] for j in range(n)]
        for i in range(n)
    ]

    def B(u: sp.Matrix, v: sp.Matrix) -> sp.Matrix:
        return sp.Matrix(
            [sum(H[i][j][k] * u[j] * v[k] for j in range(n) for k in range(n)) for i in range(n)]
        )

    def C(u: sp.Matrix, v: sp.Matrix, w: sp.Matrix) -> sp.Matrix:
        return sp.Matrix(
            [
                sum(D3[i][j][k][l] * u[j] * v[k] * w[l] for j in range(n) for k in range(n) for l in range(n))
                for i in range(n)
            ]
        )

    return A, B, C


def _null_vector(M: sp.Matrix) -> sp.Matrix:
    basis = M.nullspace(simplify=True)
    if len(basis) != 1:
        raise ValueError(
            f"the critical eigenvalue has a {len(basis)}-dimensional eigenspace; a codimension-one "
            f"bifurcation needs a simple critical eigenvalue - pass a point and parameter value "
            f"where exactly one multiplier is critical"
        )
    return basis[0].applyfunc(sp.simplify)


#: Digits of the numeric eigen-decomposition used where the exact one is impossible.
_DIGITS = 50
#: How close a numerically located multiplier must be to its critical value.
NUMERIC_TOLERANCE = 1e-9


def is_numeric(*exprs: Any) -> bool:
    """Whether any of the expressions holds a floating-point number (a numerically located point)."""
    return any(isinstance(e, sp.Basic) and e.has(sp.Float) for e in exprs)


def _mp(value: sp.Expr):
    import mpmath

    z = complex(sp.N(value, _DIGITS)) if not sp.N(value, _DIGITS).is_real else None
    if z is None:
        return mpmath.mpf(str(sp.N(value, _DIGITS)))
    re, im = sp.N(value, _DIGITS).as_real_imag()
    return mpmath.mpc(mpmath.mpf(str(re)), mpmath.mpf(str(im)))


def _sym(z) -> sp.Expr:
    import mpmath

    z = mpmath.mpc(z)
    re, im = sp.Float(mpmath.nstr(z.real, _DIGITS), _DIGITS), sp.Float(mpmath.nstr(z.imag, _DIGITS), _DIGITS)
    return re if im == 0 else re + sp.I * im


def _numeric_eigenpair(A: sp.Matrix, mu: sp.Expr) -> tuple[sp.Expr, sp.Matrix, sp.Matrix]:
    """(lambda, right q, left p with p^T A = lambda p^T) of A for the eigenvalue nearest ``mu``, at 50 digits.

    Used where the exact null space cannot be found: at a numerically located
    point (A holds Floats), or when sympy rewrites a transcendental
    multiplier so that ``nullspace`` no longer sees it (e.g. cos 1 + i sin 1
    simplified to exp(i)).
    """
    import mpmath

    with mpmath.workdps(_DIGITS):
        M = mpmath.matrix([[_mp(A[i, j]) for j in range(A.shape[1])] for i in range(A.shape[0])])
        target = _mp(mu)
        vals, left, right = mpmath.eig(M, left=True, right=True)
        k = min(range(len(vals)), key=lambda i: abs(vals[i] - target))
        q = sp.Matrix([_sym(right[i, k]) for i in range(M.rows)])
        p = sp.Matrix([_sym(left[k, i]) for i in range(M.rows)])
        return _sym(vals[k]), q, p


def _check_close(found: sp.Expr, mu: sp.Expr) -> None:
    if abs(sp.N(found - mu, 30)) > NUMERIC_TOLERANCE:
        raise ValueError(
            f"no multiplier at this point is {mu} (the nearest is {sp.N(found, 12)}): the critical eigenspace is "
            f"0-dimensional; pass a point and parameter value where a multiplier is {mu}"
        )


def _real_eigenvectors(A: sp.Matrix, mu: sp.Expr) -> tuple[sp.Matrix, sp.Matrix]:
    n = A.shape[0]
    numeric = is_numeric(*A)
    if n == 1:
        # q = p = 1; nullspace() would try to prove A - mu == 0 symbolically,
        # which stalls on radical expressions (e.g. Cardano roots).
        if abs(sp.N(A[0, 0] - mu, 40)) > (NUMERIC_TOLERANCE if numeric else 1e-30):
            raise ValueError(
                f"the multiplier at this point is {A[0, 0]}, not {mu}: the critical eigenspace is "
                f"0-dimensional; pass a point and parameter value where the multiplier is {mu}"
            )
        return sp.Matrix([1]), sp.Matrix([1])
    if numeric:
        lam, q, p = _numeric_eigenpair(A, mu)
        _check_close(lam, mu)
        q, p = q.applyfunc(sp.re), p.applyfunc(sp.re)
    else:
        q = _null_vector(A - mu * sp.eye(n))
        p = _null_vector(A.T - mu * sp.eye(n))
    tidy = (lambda e: e) if numeric else sp.simplify
    q = (q / sp.sqrt((q.T * q)[0, 0])).applyfunc(tidy)
    biggest = max(range(n), key=lambda i: abs(sp.N(q[i], 30)))
    if sp.N(q[biggest], 30) < 0:
        q = -q
    p = (p / (p.T * q)[0, 0]).applyfunc(tidy)
    return q, p


def _complex_eigenvectors(A: sp.Matrix, mu: sp.Expr) -> tuple[sp.Matrix, sp.Matrix]:
    n = A.shape[0]
    numeric = is_numeric(*A, mu)
    if not numeric:
        try:
            q = _null_vector(A - mu * sp.eye(n))
            p = _null_vector(A.T - sp.conjugate(mu) * sp.eye(n))
        except ValueError:
            numeric = True  # sympy could not see the eigenvalue (e.g. exp(i) for cos 1 + i sin 1)
    if numeric:
        lam, q, _ = _numeric_eigenpair(A, mu)
        _check_close(lam, mu)
        # the adjoint A^T p = conj(mu) p: the left eigenvector of A for conj(mu)
        _, _, p = _numeric_eigenpair(A, sp.conjugate(mu))
    tidy = (lambda e: e) if numeric else sp.simplify
    q = (q / sp.sqrt(tidy((q.conjugate().T * q)[0, 0]))).applyfunc(tidy)
    k = _inner(p, q)
    p = (p / sp.conjugate(k)).applyfunc(tidy)
    return q, p


@dataclass(frozen=True)
class CriticalCoefficients:
    """Critical normal-form coefficients at one bifurcation point.

    Attributes
    ----------
    values : dict
        ``{"a": ...}`` (fold / transcritical), ``{"a": 0, "b": ...}`` (pitchfork),
        ``{"c": ...}`` (flip), ``{"c1": ..., "d": ..., "theta": ...}`` (Neimark-Sacker).
    q, p : sympy.Matrix
        Critical and adjoint eigenvectors, ||q|| = 1, <p, q> = 1.
    """

    values: dict
    q: sp.Matrix
    p: sp.Matrix
    exact: bool = True


def fold_coefficient(form: NormalForm, point: Any, g0: Any) -> CriticalCoefficients:
    """a = 1/2 <p, B(q, q)> at a multiplier +1 (Kuznetsov 2004, sec. 5.4.1).

    Examples
    --------
    >>> import normalforms as nf
    >>> nf.fold_coefficient(nf.saddle_node(), (0,), 1).values["a"]
    -1
    """
    A, B, _ = _jet(form, _as_point(form, point), g0)
    q, p = _real_eigenvectors(A, sp.S.One)
    return CriticalCoefficients({"a": _tidy(_inner(p, B(q, q)) / 2)}, q, p)


def pitchfork_coefficients(form: NormalForm, point: Any, g0: Any) -> CriticalCoefficients:
    """a = 1/2 <p, B(q,q)> and, when a = 0, the cubic coefficient b."""
    A, B, C = _jet(form, _as_point(form, point), g0)
    q, p = _real_eigenvectors(A, sp.S.One)
    a = _tidy(_inner(p, B(q, q)) / 2)
    values = {"a": a}
    if a == 0 or (is_numeric(a, *A) and abs(sp.N(a, 30)) < NUMERIC_ZERO):
        n = A.shape[0]
        bordered = sp.Matrix(sp.BlockMatrix([[sp.eye(n) - A, q], [p.T, sp.zeros(1, 1)]]))
        rhs = sp.Matrix.vstack(B(q, q), sp.zeros(1, 1))
        h2 = bordered.LUsolve(rhs)[:n, 0]
        values["b"] = _tidy(_inner(p, C(q, q, q)) / 6 + _inner(p, B(q, h2)) / 2)
    return CriticalCoefficients(values, q, p)


def flip_coefficient(form: NormalForm, point: Any, g0: Any) -> CriticalCoefficients:
    """c = 1/6 <p, C(q,q,q)> - 1/2 <p, B(q, (A - I)^{-1} B(q,q))> at a multiplier -1.

    Examples
    --------
    >>> import normalforms as nf
    >>> logistic = nf.NormalForm("r*h*(1 - h)", param="r")
    >>> logistic_c = nf.flip_coefficient(logistic, ("2/3",), 3).values["c"]
    >>> logistic_c
    9
    """
    A, B, C = _jet(form, _as_point(form, point), g0)
    n = A.shape[0]
    q, p = _real_eigenvectors(A, -sp.S.One)
    w = (A - sp.eye(n)).LUsolve(B(q, q))
    c = _tidy(_inner(p, C(q, q, q)) / 6 - _inner(p, B(q, w)) / 2)
    return CriticalCoefficients({"c": c}, q, p)


def neimark_sacker_coefficient(form: NormalForm, point: Any, g0: Any, multiplier: Any = None) -> CriticalCoefficients:
    """c1 and d = Re(e^{-i theta} c1) at a complex pair on the unit circle.

    ``multiplier`` picks the eigenvalue e^{i theta} with theta in (0, pi);
    found from A when omitted.
    """
    A, B, C = _jet(form, _as_point(form, point), g0)
    n = A.shape[0]
    if multiplier is None:
        candidates = [m for m in A.eigenvals() if sp.N(sp.im(m), 30) > 0]
        if not candidates:
            raise ValueError("no complex multiplier pair at this point; Neimark-Sacker needs one")
        multiplier = candidates[0]
    mu = sp.simplify(as_expression(multiplier, what="multiplier"))
    if abs(sp.N(abs(mu), 30) - 1) > (NUMERIC_TOLERANCE if is_numeric(mu, *A) else 1e-20):
        raise ValueError(f"the multiplier {mu} is not on the unit circle")
    q, p = _complex_eigenvectors(A, mu)
    qb = q.conjugate()
    I = sp.eye(n)
    r11 = (I - A).LUsolve(B(q, qb))
    r20 = (mu**2 * I - A).LUsolve(B(q, q))
    c1 = _tidy(_inner(p, C(q, q, qb) + 2 * B(q, r11) + B(qb, r20)) / 2)
    d = sp.simplify(sp.re(sp.expand(sp.conjugate(mu) * c1)))
    theta = sp.simplify(sp.arg(mu))
    return CriticalCoefficients({"c1": c1, "d": d, "theta": theta}, q, p)


def _as_point(form: NormalForm, point: Any) -> tuple:
    if not isinstance(point, (list, tuple, sp.MatrixBase)):
        point = (point,)
    pt = tuple(_to_exact(as_expression(v, free_symbols=True, what="point component")) for v in point)
    if len(pt) != form.dim:
        raise ValueError(f"point must have {form.dim} component(s); got {len(pt)}")
    return pt


# ----------------------------------------------------------------- detection
@short_repr("form", "kind", "parameter_value", "point", "multiplier", "coefficients", "criticality")
@dataclass(frozen=True)
class Bifurcation:
    """A codimension-one bifurcation of a fixed-point branch.

    Attributes
    ----------
    form : NormalForm
    kind : Kind
        :class:`Kind` (a string): fold, transcritical, pitchfork, flip, neimark-sacker,
        or degenerate (multiplier +1 with a = b = 0, e.g. the linear stability flip).
    parameter_value : sympy.Expr
        g0.
    point : tuple
        The fixed point at g0.
    multiplier : sympy.Expr
        The critical multiplier (+1, -1 or e^{i theta}).
    coefficients : CriticalCoefficients
    criticality : Criticality
        supercritical, subcritical, degenerate or n/a (fold, transcritical): :func:`criticality`.
    crossing_speed : sympy.Expr or None
        d mu / dg (d|mu|/dg for a complex pair) along the branch at g0; nonzero
        means the multiplier crosses transversally.  None where the event was
        found without a closed-form branch or at the end of a branch (fold).
    branch : FixedPointBranch or None
        The branch it was found on (None: found from the augmented system).
    """

    form: NormalForm
    kind: str
    parameter_value: sp.Expr
    point: tuple
    multiplier: sp.Expr
    coefficients: CriticalCoefficients
    criticality: str
    crossing_speed: Any
    branch: FixedPointBranch | None
    notes: list = field(default_factory=list)
    exact: bool = True
    error: float | None = None

    def __str__(self) -> str:
        g = self.form.param
        show = (lambda e: sp.sstr(sp.N(e, 12))) if not self.exact else sp.sstr
        pt = show(self.point[0]) if len(self.point) == 1 else "(" + ", ".join(show(c) for c in self.point) + ")"
        coeffs = ", ".join(f"{k} = {show(v)}" for k, v in self.coefficients.values.items() if k != "c1")
        crit = "" if self.criticality == "n/a" else f" ({self.criticality})"
        how = "" if self.exact else f" [numeric, located to {self.error:.1g}]" if self.error is not None else " [numeric]"
        return (f"{self.kind} at {g} = {show(self.parameter_value)}, point {pt}, multiplier {show(self.multiplier)}: "
                f"{coeffs}{crit}{how}")


class BifurcationList(list):
    """A list of :class:`Bifurcation` that prints one per line."""

    def __str__(self) -> str:
        if not self:
            return "no codimension-one bifurcation of a fixed-point branch found"
        return "\n".join(str(b) for b in self)

    __repr__ = __str__


def _sign(value: sp.Expr, tol: float = 1e-25) -> int:
    """The sign of a coefficient; ``tol`` is what counts as zero (1e-25 exactly, larger at numeric points)."""
    v = sp.N(value, 30)
    if abs(v) < tol:
        return 0
    return 1 if v > 0 else -1


#: What counts as a zero coefficient at a numerically located point (its coordinates are good to ~1e-12).
NUMERIC_ZERO = 1e-8


def _interior(domain: Any, g0: sp.Expr) -> bool:
    return any(piece.start < g0 < piece.end for piece in _intervals(domain))


def _roots(eq: sp.Expr, g: sp.Symbol, domain: Any) -> list:
    try:
        sol = sp.solveset(eq, g, domain)
    except (NotImplementedError, ValueError, TypeError):
        return []
    if sol is sp.S.EmptySet or not isinstance(sol, sp.FiniteSet):
        return []
    return [r for r in sol if r.is_real]


def _events_on_branch(form: NormalForm, branch: FixedPointBranch) -> list[Bifurcation]:
    g = form.param
    domain = branch.existence
    if domain is None:
        return []
    pieces = _intervals(domain)
    events = []
    done_complex = False
    for mu in branch.multipliers:
        if _is_complex(mu, g, pieces):
            if done_complex:
                continue  # the conjugate of a pair already handled
            done_complex = True
            modsq = sp.simplify(sp.re(mu) ** 2 + sp.im(mu) ** 2)
            for g0 in _roots(modsq - 1, g, domain):
                point = tuple(sp.simplify(c.subs(g, g0)) for c in branch.point)
                mu0 = sp.simplify(mu.subs(g, g0))
                if sp.N(sp.im(mu0), 30) < 0:
                    mu0 = sp.conjugate(mu0)
                if abs(sp.N(sp.im(mu0), 30)) < 1e-25:
                    continue
                coeffs = neimark_sacker_coefficient(form, point, g0, mu0)
                crit = criticality(Kind.NEIMARK_SACKER, coeffs.values, _sign)
                speed = sp.simplify(sp.diff(sp.sqrt(modsq), g).subs(g, g0))
                notes = []
                theta = sp.N(coeffs.values["theta"], 30)
                for k in (1, 2, 3, 4):
                    if abs(sp.N(k * theta / (2 * sp.pi), 30) - round(float(k * theta / (2 * sp.pi)))) < 1e-20:
                        notes.append(f"strong resonance 1:{k}; the Neimark-Sacker analysis does not apply")
                events.append(Bifurcation(form, Kind.NEIMARK_SACKER, g0, point, mu0, coeffs, crit, speed, branch, notes))
            continue
        for target in (1, -1):
            for g0 in _roots(mu - target, g, domain):
                point = tuple(sp.simplify(c.subs(g, g0)) for c in branch.point)
                speed = sp.simplify(sp.diff(mu, g).subs(g, g0)) if _interior(domain, g0) else None
                if target == -1:
                    coeffs = flip_coefficient(form, point, g0)
                    crit = criticality(Kind.FLIP, coeffs.values, _sign)
                    events.append(Bifurcation(form, Kind.FLIP, g0, point, sp.S.NegativeOne, coeffs, crit, speed, branch))
                elif _interior(domain, g0):
                    coeffs = pitchfork_coefficients(form, point, g0)
                    kind, crit = _crossing(coeffs)
                    events.append(Bifurcation(form, kind, g0, point, sp.S.One, coeffs, crit, speed, branch))
                else:
                    coeffs = fold_coefficient(form, point, g0)
                    crit = criticality(Kind.FOLD, coeffs.values, _sign)
                    events.append(Bifurcation(form, Kind.FOLD, g0, point, sp.S.One, coeffs, crit, speed, branch))
    return events


_PRIORITY = {Kind.PITCHFORK: 0, Kind.TRANSCRITICAL: 0, Kind.NEIMARK_SACKER: 0, Kind.FLIP: 0, Kind.DEGENERATE: 0,
             Kind.FOLD: 1}


def _crossing(coeffs: CriticalCoefficients, sign=_sign) -> tuple[Kind, Criticality]:
    """A multiplier +1 where the fixed point persists: transcritical (a != 0) or pitchfork (a = 0, b != 0)."""
    if sign(coeffs.values["a"]) != 0:
        return Kind.TRANSCRITICAL, Criticality.NONE
    crit = criticality(Kind.PITCHFORK, coeffs.values, sign)
    return (Kind.DEGENERATE if crit is Criticality.DEGENERATE else Kind.PITCHFORK), crit


def _augmented_events(form: NormalForm) -> list[Bifurcation]:
    """Events found by solving {f(x, g) = x, det(A - I) = 0} (and -1, and for
    2-D maps det A = 1 with |tr A| < 2) for (x, g) jointly.

    This does not need closed-form branches, so it finds e.g. the fold of the
    imperfect pitchfork, whose branches are roots of a cubic.  A multiplier
    +1 is a fold when <p, f_g> != 0 (Kuznetsov's transversality) and a
    transcritical/pitchfork point, where the fixed point persists, otherwise.
    """
    if form.dim > 2:
        return []
    g = form.param
    x = sp.Matrix(form.state)
    f = sp.Matrix(form.rhs)
    A = f.jacobian(x)
    n = form.dim
    conditions = [("plus", (A - sp.eye(n)).det()), ("minus", (A + sp.eye(n)).det())]
    if n == 2:
        conditions.append(("ns", A.det() - 1))
    out = []
    for label, cond in conditions:
        try:
            sols = sp.solve(list(f - x) + [sp.simplify(cond)], list(form.state) + [g], dict=True)
        except NotImplementedError:
            continue
        for sol in sols:
            if not all(v in sol for v in list(form.state) + [g]):
                continue
            vals = [sol[v] for v in list(form.state) + [g]]
            if any(abs(sp.im(sp.N(v, 30))) > 1e-20 for v in vals):
                continue
            notes = []
            if any(v.has(sp.I) for v in vals):
                # Casus irreducibilis: a real root written with complex radicals.
                # Exact manipulation of these stalls sympy, so the point is
                # carried as a 50-digit real and the event says so.
                vals = [sp.Float(sp.re(sp.N(v, 60)), 50) for v in vals]
                notes.append("point known to 50 digits (real root given by complex radicals)")
            else:
                vals = [sp.simplify(v) for v in vals]
            point, g0 = tuple(vals[:-1]), vals[-1]
            A0 = A.xreplace(dict(zip(form.state, point))).subs(g, g0)
            if label == "ns":
                tr = sp.N(A0.trace(), 30)
                if abs(tr) >= 2:
                    continue  # real pair with product 1: not on the unit circle
                coeffs = neimark_sacker_coefficient(form, point, g0)
                crit = criticality(Kind.NEIMARK_SACKER, coeffs.values, _sign)
                mu0 = [m for m in A0.eigenvals() if sp.N(sp.im(m), 30) > 0][0]
                out.append(Bifurcation(form, Kind.NEIMARK_SACKER, g0, point, sp.simplify(mu0), coeffs, crit, None, None,
                                       notes))
            elif label == "minus":
                coeffs = flip_coefficient(form, point, g0)
                crit = criticality(Kind.FLIP, coeffs.values, _sign)
                out.append(Bifurcation(form, Kind.FLIP, g0, point, sp.S.NegativeOne, coeffs, crit, None, None, notes))
            else:
                coeffs = pitchfork_coefficients(form, point, g0)
                fg = sp.Matrix([sp.diff(e, g) for e in form.rhs]).xreplace(dict(zip(form.state, point))).subs(g, g0)
                transversal = _inner(coeffs.p, fg)
                if _sign(transversal) != 0:
                    fold = fold_coefficient(form, point, g0)
                    crit = criticality(Kind.FOLD, fold.values, _sign)
                    out.append(Bifurcation(form, Kind.FOLD, g0, point, sp.S.One, fold, crit, None, None, notes))
                else:
                    kind, crit = _crossing(coeffs)
                    out.append(Bifurcation(form, kind, g0, point, sp.S.One, coeffs, crit, None, None, notes))
    return out


def bifurcations(form: NormalForm, method: str = "auto", interval: Any = None, box: Any = None
                 ) -> BifurcationList:
    """Every parameter value where a fixed-point branch has a multiplier +1, -1 or a
    complex pair on the unit circle, classified, with its critical coefficients.

    ``method="exact"``: from the closed-form branches and the augmented systems
    solved by sympy (maps of dimension <= 2 for the latter); ``"numeric"``:
    from continuation over ``interval`` within the box |x| <= ``box``
    (:func:`normalforms._numeric.numeric_bifurcations`: located, polished at
    30 digits, classified by the same coefficients); ``"auto"`` (default):
    exact where sympy solves the fixed points of a map of dimension <= 2,
    numeric otherwise.

    A multiplier +1 where the branch ends (a boundary of its existence set)
    is a fold; where the fixed point persists through g0 it is a
    transcritical (a != 0) or pitchfork (a = 0) point.  Events at the same
    (g0, point) seen from several branches are reported once, preferring the
    branch on which the fixed point persists.

    Examples
    --------
    >>> import normalforms as nf
    >>> print(nf.NormalForm.from_expr("r*h*(1-h)", state="h", param="r").bifurcations())
    flip at r = -1, point 0, multiplier -1: c = 1 (supercritical)
    transcritical at r = 1, point 0, multiplier 1: a = -1
    flip at r = 3, point 2/3, multiplier -1: c = 9 (supercritical)
    """
    from ._fixed_points import _exact_fixed_points, _method

    if _method(method) == "numeric" or (method == "auto" and form.dim > 2):
        from ._numeric import numeric_bifurcations

        return numeric_bifurcations(form, interval, box)
    try:
        branches = _exact_fixed_points(form)
    except ValueError:
        if method == "exact":
            raise
        from ._numeric import numeric_bifurcations

        return numeric_bifurcations(form, interval, box)
    events: list[Bifurcation] = []
    for branch in branches:
        events.extend(_events_on_branch(form, branch))
    # Branch events come first so that, for a duplicate, the one that knows
    # its branch (and so its crossing speed) is kept.
    events.extend(_augmented_events(form))
    kept: list[Bifurcation] = []
    for ev in sorted(events, key=lambda e: (_PRIORITY[e.kind], e.branch is None)):
        key_pt = [sp.N(c, 25) for c in ev.point]
        duplicate = False
        for other in kept:
            if abs(sp.N(other.parameter_value - ev.parameter_value, 25)) < 1e-20 and all(
                abs(sp.N(a, 25) - b) < 1e-20 for a, b in zip(other.point, key_pt)
            ):
                duplicate = True
                break
        if not duplicate:
            kept.append(ev)
    kept.sort(key=lambda e: (float(e.parameter_value), [float(sp.re(sp.N(c))) for c in e.point]))
    return BifurcationList(kept)
