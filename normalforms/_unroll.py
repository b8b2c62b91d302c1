r"""The tangent (variational) recursion and exact unrolled trajectories.

Differentiating h_{t+1} = f(h_t, g) in g with h_0 held fixed gives the
tangent recursion (paper, sec. 3; Kuznetsov 2004, sec. 1.5)

.. math::

    s_{t+1} = f_h(h_t, g)\, s_t + f_g(h_t, g), \qquad s_0 = 0,

whose solution is s_t = D_g h_t, the column of the parameter-to-state
Jacobian that makes up the rank-one kernel sNTK_g = (D_g h)(D_g h)^T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ._form import NormalForm, _to_exact
from ._parse import as_expression
from ._symbols import H0_SYMBOL, T_TIME

__all__ = ["TangentRecursion", "tangent_recursion", "unroll", "Unrolled"]

#: Beyond this many steps the exact expressions of a cubic map have degree
#: 3**T in h0 and sympy stalls; the numeric layer is the tool there.
MAX_UNROLL_STEPS = 12

#: Largest estimated number of terms of a symbolic polynomial result.  The
#: estimate (degree in h0 times degree in g, see ``_term_estimate``) is
#: 2e4 for the pitchfork at T = 5 (1.1 s) and 1.8e5 at T = 6 (87 s, refused);
#: a degree-7 map reaches 1.7e4 at T = 3 (2.6 s).
MAX_UNROLL_TERMS = 50_000


@dataclass(frozen=True)
class TangentRecursion:
    """The tangent recursion of a form, as sympy objects.

    Attributes
    ----------
    equation : sympy.Eq or list of sympy.Eq
        ``s(t+1) = f_h(h(t), g) s(t) + f_g(h(t), g)`` with h(t), s(t) sympy Functions.
    f_h, f_g : sympy.Expr or sympy.Matrix
        The state and parameter derivatives of f.
    initial : sympy.Eq
        ``s(0) = 0``.
    """

    form: NormalForm
    equation: Any
    f_h: Any
    f_g: Any
    initial: Any

    def __str__(self) -> str:
        eqs = self.equation if isinstance(self.equation, list) else [self.equation]
        lines = [f"{sp.sstr(e.lhs)} = {sp.sstr(e.rhs)}" for e in eqs]
        return "tangent recursion of " + self.form.name + ":\n  " + "\n  ".join(lines) + f"\n  with {self.initial.lhs} = 0"

    def _repr_latex_(self) -> str:
        eqs = self.equation if isinstance(self.equation, list) else [self.equation]
        return "$" + r" \\ ".join(sp.latex(e) for e in eqs) + "$"


def tangent_recursion(form: NormalForm) -> TangentRecursion:
    """The variational recursion s_{t+1} = f_h s_t + f_g, s_0 = 0.

    Examples
    --------
    >>> import normalforms as nf
    >>> print(nf.pitchfork().tangent_recursion())
    tangent recursion of pitchfork:
      s(t + 1) = (g - 3*h(t)**2)*s(t) + h(t)
      with s(0) = 0
    """
    t = T_TIME
    n = form.dim
    names_h = [s.name for s in form.state]
    hf = [sp.Function(nm)(t) for nm in names_h]
    sf = [sp.Function("s" if n == 1 else f"s_{nm}")(t) for nm in names_h]
    at_t = dict(zip(form.state, hf))
    jac = sp.Matrix(form.rhs).jacobian(sp.Matrix(form.state))
    fg = sp.Matrix([sp.diff(e, form.param) for e in form.rhs])
    eqs = []
    for i in range(n):
        rhs = sum(jac[i, j].xreplace(at_t) * sf[j] for j in range(n)) + fg[i].xreplace(at_t)
        eqs.append(sp.Eq(sf[i].subs(t, t + 1), rhs))
    init = sp.Eq(sf[0].subs(t, 0), 0) if n == 1 else sp.Eq(sp.Matrix([s.subs(t, 0) for s in sf]), sp.zeros(n, 1))
    return TangentRecursion(form, eqs[0] if n == 1 else eqs, form.f_h, form.f_g, init)


@dataclass(frozen=True)
class Unrolled:
    """Exact h_t and D_g h_t for t = 0..T (index t), as sympy expressions."""

    form: NormalForm
    h: list
    dg_h: list
    h0: Any

    def __len__(self) -> int:
        return len(self.h)

    def __repr__(self) -> str:
        return f"Unrolled({self.form.name!r}, h0={self.h0}, t = 0..{len(self.h) - 1}; .h[t], .dg_h[t])"

    def __str__(self) -> str:
        lines = [f"t={t}: h = {sp.sstr(h)},  D_g h = {sp.sstr(d)}" for t, (h, d) in enumerate(zip(self.h, self.dg_h))]
        return f"{self.form.name} unrolled:\n  " + "\n  ".join(lines)


def unroll(form: NormalForm, T: int, h0: Any = None, g: Any = None, expand: bool = True) -> Unrolled:
    r"""Exact h_t and D_g h_t for t = 0..T by iterating f and the tangent recursion.

    Parameters
    ----------
    form : NormalForm
    T : int
        Number of steps, 0 <= T <= 12 (exact expressions grow as deg(f)**T).
    h0 : number, sequence or sympy expression, optional
        Initial state; the symbol ``h0`` (or ``h0_x, h0_y, ...``) by default.
        Exact rationals give exact rational results.
    g : number, optional
        Fix the parameter; kept symbolic by default.  D_g h_t is computed
        before g is fixed, so it is the true derivative at that g.
    expand : bool, default True
        Expand polynomial results.

    Returns
    -------
    Unrolled
        ``h[t]`` and ``dg_h[t]``: expressions for scalar forms, Matrices otherwise.

    Examples
    --------
    >>> import normalforms as nf
    >>> u = nf.stability_flip().unroll(3)
    >>> u.dg_h[3]
    3*g**2*h0
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 0:
        raise ValueError(f"T must be an integer >= 0; got {T!r}")
    if T > MAX_UNROLL_STEPS:
        raise ValueError(
            f"T={T} is too many steps for exact unrolling (expressions grow as deg(f)**T); "
            f"use T <= {MAX_UNROLL_STEPS}, sensitivity_series() for symbolic t, or the numeric layer"
        )
    n = form.dim
    start = initial_state(form, h0)
    gsub = {} if g is None else {form.param: _to_exact(as_expression(g, free_symbols=True, what=form.param.name))}
    symbolic = any(not v.is_number for v in start)
    polys = _polynomial_terms(form)
    if symbolic and expand:
        _check_size(form, T, polys, g is None)
    if polys is not None and symbolic and expand and _ring_ready(start, gsub):
        hs, ss = _unroll_in_ring(form, T, start, polys, gsub)
    else:
        hs, ss = _unroll_expressions(form, T, start, gsub, expand)
    if n == 1:
        return Unrolled(form, [x[0] for x in hs], [x[0] for x in ss], start[0])
    return Unrolled(form, hs, ss, start)


def initial_state(form: NormalForm, h0: Any = None) -> list:
    """The initial state of an exact unrolling, one exact expression per state variable: the symbol
    ``h0`` (``h0_x, h0_y, ...`` for vector forms) by default, else ``h0`` checked (count, finite)."""
    n = form.dim
    if h0 is None:
        return [H0_SYMBOL] if n == 1 else [sp.Symbol(f"h0_{s.name}", real=True) for s in form.state]
    start = [h0] if (n == 1 and not isinstance(h0, (list, tuple, sp.MatrixBase))) else list(h0)
    if len(start) != n:
        raise ValueError(f"h0 must have {n} component(s) for this {n}-dimensional form; got {len(start)}")
    start = [_to_exact(as_expression(v, free_symbols=True, what="h0")) for v in start]
    for v in start:
        if v.has(sp.S.NaN, sp.S.Infinity, sp.S.NegativeInfinity, sp.S.ComplexInfinity):
            raise ValueError(f"h0 contains the non-finite value {v}; pass finite numbers")
    return start


def _unroll_expressions(form: NormalForm, T: int, start: list, gsub: dict, expand: bool) -> tuple[list, list]:
    n = form.dim
    jac = sp.Matrix(form.rhs).jacobian(sp.Matrix(form.state))
    fg = sp.Matrix([sp.diff(e, form.param) for e in form.rhs])
    f = sp.Matrix(form.rhs)
    tidy = sp.expand if expand else (lambda e: e)
    h = sp.Matrix(start)
    s = sp.zeros(n, 1)
    hs, ss = [h], [s]
    for _ in range(T):
        point = dict(zip(form.state, h))
        point.update(gsub)
        s = (jac.xreplace(point) * s + fg.xreplace(point)).applyfunc(tidy)
        h = f.xreplace(point).applyfunc(tidy)
        hs.append(h)
        ss.append(s)
    return hs, ss


def _polynomial_terms(form: NormalForm):
    """(f, f_h, f_g) as lists of monomial terms over QQ in (state..., g), or None for other maps."""
    gens = (*form.state, form.param)
    jac = sp.Matrix(form.rhs).jacobian(sp.Matrix(form.state))
    fg = [sp.diff(e, form.param) for e in form.rhs]
    out = []
    for group in (list(form.rhs), [list(jac.row(i)) for i in range(form.dim)], fg):
        converted = []
        for item in group:
            row = item if isinstance(item, list) else [item]
            polys = []
            for e in row:
                if not e.is_polynomial(*gens):
                    return None
                p = sp.Poly(e, *gens)
                if p.domain not in (sp.ZZ, sp.QQ):
                    return None
                polys.append(p.terms())
            converted.append(polys if isinstance(item, list) else polys[0])
        out.append(converted)
    return out


def _term_estimate(form: NormalForm, T: int, polys, g_symbolic: bool) -> float:
    """Upper estimate of the number of terms of h_T: monomials in h0 of degree <= d**T, times powers of g."""
    if polys is None:
        return 0.0  # non-polynomial maps are bounded by MAX_UNROLL_STEPS only
    f_terms = polys[0]
    d = max((sum(m[:-1]) for terms in f_terms for m, _ in terms), default=1)
    d = max(d, 1)
    deg_g = 0
    for _ in range(T):
        deg_g = max((sum(m[:-1]) * deg_g + m[-1] for terms in f_terms for m, _ in terms), default=0)
    n = form.dim
    degree = float(d) ** T
    monomials = math.comb(int(min(degree, 10**6)) + n, n) if degree < 10**6 else math.inf
    return monomials * ((deg_g + 1) if g_symbolic else 1)


def _check_size(form: NormalForm, T: int, polys, g_symbolic: bool) -> None:
    if _term_estimate(form, T, polys, g_symbolic) <= MAX_UNROLL_TERMS:
        return
    ok = max((k for k in range(T) if _term_estimate(form, k, polys, g_symbolic) <= MAX_UNROLL_TERMS), default=0)
    raise ValueError(
        f"unrolling {T} steps of {form.name} symbolically gives polynomials with more than {MAX_UNROLL_TERMS} terms "
        f"(degree grows like deg(f)**T); use T <= {ok}, a numeric h0, sensitivity_series() for symbolic t, "
        "or the numeric layer"
    )


def _ring_ready(start: list, gsub: dict) -> bool:
    """Whether h0 and a fixed g are polynomials over QQ, so the ring iteration applies."""
    values = list(start) + list(gsub.values())
    syms = sorted(set().union(*(v.free_symbols for v in values)), key=str)
    for v in values:
        if syms and not v.is_polynomial(*syms):
            return False
        try:
            if sp.Poly(v, *syms).domain not in (sp.ZZ, sp.QQ) if syms else not v.is_Rational:
                return False
        except sp.PolynomialError:
            return False
    return True


def _unroll_in_ring(form: NormalForm, T: int, start: list, polys, gsub: dict) -> tuple[list, list]:
    """The same iteration in the sparse polynomial ring QQ[h0..., g]: exact, and ~50x faster than
    ``sp.expand`` on expressions (pitchfork T = 5: 1.1 s instead of minutes)."""
    f_terms, jac_terms, fg_terms = polys
    values = list(start) + list(gsub.values())
    ring_syms = sorted(set().union(*(v.free_symbols for v in values)), key=str) + ([] if gsub else [form.param])
    R, *ring_gens = sp.ring(ring_syms, sp.QQ)
    x = [R.from_expr(v) for v in start]
    G = R.from_expr(gsub[form.param]) if gsub else ring_gens[-1]
    n = form.dim

    def evaluate(terms, x, powers):
        out = R.zero
        for monomial, c in terms:
            term = R(c)
            for k, e in enumerate(monomial[:-1]):
                if e:
                    key = (k, e)
                    if key not in powers:
                        powers[key] = x[k] ** e
                    term = term * powers[key]
            if monomial[-1]:
                term = term * G ** monomial[-1]
            out += term
        return out

    s = [R.zero] * n
    hs, ss = [sp.Matrix(start)], [sp.zeros(n, 1)]
    for _ in range(T):
        powers: dict = {}
        new_s = [sum((evaluate(jac_terms[i][j], x, powers) * s[j] for j in range(n)), R.zero)
                 + evaluate(fg_terms[i], x, powers) for i in range(n)]
        x = [evaluate(f_terms[i], x, powers) for i in range(n)]
        s = new_s
        hs.append(sp.Matrix([e.as_expr() for e in x]))
        ss.append(sp.Matrix([e.as_expr() for e in s]))
    return hs, ss
