r"""Closed forms in symbolic t of the small-amplitude expansion of h_t and D_g h_t,
and of :math:`\|\mathrm{sNTK}_g\|` as a series in the ensemble moments.

For a scalar map with the origin fixed for every g, f(0, g) = 0, write
:math:`f(h, g) = \sum_{j\ge1} a_j(g) h^j` and :math:`\lambda = a_1(g)`.  Then

.. math::

    h_t = \sum_{k\ge1} c_k(t) h_0^k, \qquad D_g h_t = \sum_{k\ge1} d_k(t) h_0^k

with c_1 = lambda^t and, for each order k, *linear* first-order recurrences

.. math::

    c_k(t+1) = \lambda c_k(t) + \sum_{j=2}^{k} a_j [h_0^k] h_t^j, \quad c_k(0)=0,

    d_k(t+1) = \lambda d_k(t) + \sum_{j\ge2} j a_j [h_0^k](h_t^{j-1} s_t)
               + \sum_{j\ge1} a_j'(g) [h_0^k] h_t^j, \quad d_k(0) = 0,

the second being the order-k part of the tangent recursion
s_{t+1} = f_h(h_t, g) s_t + f_g(h_t, g) (paper, sec. 3).  Both are solved
exactly by :class:`~normalforms._exppoly.ExpPoly`.  Convention for the norm
(paper, fig. 2): states h_1..h_T, h_0 held fixed, so

.. math::

    \|\mathrm{sNTK}_g\| = \|(D_g h)(D_g h)^T\|_2 = \sum_b \sum_{t=1}^{T} (D_g h_t^{(b)})^2
    = B \sum_n M_n \sum_{k+l=n} \sum_{t=1}^{T} d_k(t) d_l(t),

with M_n the moments of the initial conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ._ensembles import SymbolicMoments
from ._exppoly import ExpPoly, domain_for
from ._form import NormalForm
from ._parse import as_expression, as_real_number
from ._symbols import T_SYMBOL, H0_SYMBOL, T_TIME
from ._repr import short_repr

__all__ = ["SensitivitySeries", "SntkSeries", "sensitivity_series", "sntk_norm"]


def _check_order(order: Any) -> int:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be an integer >= 1 (the highest power of h0 kept); got {order!r}")
    if order > 15:
        raise ValueError(f"order={order} is beyond what exact symbolic expansion handles in reasonable time; use order <= 15")
    return order


def _taylor_coefficients(form: NormalForm, order: int) -> list[sp.Expr]:
    if not form.is_scalar:
        raise ValueError(
            f"the closed-form series is implemented for scalar maps; {form.name!r} has state "
            f"{tuple(s.name for s in form.state)}. Use unroll() for exact small-t results, or "
            f"reduce to the critical mode first"
        )
    h, g = form.state[0], form.param
    f = form.rhs[0]
    a0 = sp.simplify(f.subs(h, 0))
    if a0 != 0:
        raise ValueError(
            f"the small-amplitude series expands about the fixed point h = 0, but "
            f"f(0, {g}) = {a0} is not zero for all {g} (e.g. a saddle node or an imperfect "
            f"pitchfork). Use unroll(T) for exact values at small T, or the numeric layer"
        )
    not_analytic = f"f = {f} is not analytic at {h} = 0; the series needs a Taylor expansion there"
    try:
        poly = sp.expand(sp.series(f, h, 0, order + 1).removeO())
    except Exception:  # sympy raises many types for non-analytic maps
        raise ValueError(not_analytic) from None
    if not poly.is_polynomial(h):
        raise ValueError(not_analytic)
    coeffs = [sp.cancel(poly.coeff(h, j)) for j in range(order + 1)]
    if sp.simplify(coeffs[1]) == 0:
        raise ValueError(
            "the multiplier f_h(0, g) vanishes identically (superstable origin); the "
            "expansion is a finite polynomial in h0 - use unroll(T) instead"
        )
    return coeffs


def _solve_coefficients(form: NormalForm, order: int, at: Any = None, extra: tuple = ()):
    """Return (lam, [c_1..c_order], [d_1..d_order]) as ExpPoly sequences.

    ``extra`` lists further expressions (e.g. ensemble moments) that later
    arithmetic will combine with these sequences, so that all share a domain.
    """
    g = form.param
    a = _taylor_coefficients(form, order)
    da = [sp.diff(c, g) for c in a]
    if at is not None:
        at = as_real_number(at, "at")
        a = [sp.cancel(c.subs(g, at)) for c in a]
        da = [sp.cancel(c.subs(g, at)) for c in da]
        if a[1] == 0:
            raise ValueError(f"the multiplier vanishes at {g} = {at}; the exponential closed form does not apply there")
    K = domain_for(a + da + list(extra))
    a = [K.from_sympy(c) for c in a]
    da = [K.from_sympy(c) for c in da]
    lam = a[1]
    zero = ExpPoly(lam, {}, K)
    c: dict[int, ExpPoly] = {1: ExpPoly.power(lam, 1, K.one, K)}
    d: dict[int, ExpPoly] = {}
    # hpow[j][k] = [h0^k] h_t^j, filled order by order.
    hpow: dict[int, dict[int, ExpPoly]] = {1: {1: c[1]}}

    def coeff_of_power(j: int, k: int) -> ExpPoly:
        return hpow.get(j, {}).get(k, zero)

    for k in range(1, order + 1):
        if k >= 2:
            for j in range(2, k + 1):
                acc = zero
                for i in range(1, k - j + 2):
                    acc = acc + c.get(i, zero) * coeff_of_power(j - 1, k - i)
                hpow.setdefault(j, {})[k] = acc
            forcing = zero
            for j in range(2, k + 1):
                if a[j] != K.zero:
                    forcing = forcing + coeff_of_power(j, k).scale(a[j])
            c[k] = forcing.solve_recurrence(1, K.zero)
            hpow[1][k] = c[k]
        forcing = zero
        for j in range(2, k + 1):
            if a[j] == K.zero:
                continue
            for i in range(1, k):
                forcing = forcing + (coeff_of_power(j - 1, k - i) * d.get(i, zero)).scale(a[j] * K.convert(j))
        for j in range(1, k + 1):
            if da[j] != K.zero:
                forcing = forcing + coeff_of_power(j, k).scale(da[j])
        d[k] = forcing.solve_recurrence(1, K.zero)
    return K.to_sympy(lam), [c[k] for k in range(1, order + 1)], [d[k] for k in range(1, order + 1)]


def _is_linear(form: NormalForm) -> bool:
    h = form.state[0]
    return sp.simplify(sp.diff(form.rhs[0], h, 2)) == 0


def _singular_points(form: NormalForm, seqs: list[ExpPoly]) -> list[sp.Expr]:
    """Real g where a coefficient of the generic closed form has a pole and the
    multiplier does not vanish: the resonances lambda^m = lambda^m0."""
    g = form.param
    lam = seqs[0].lam_expr if seqs else None
    dens = set()
    for seq in seqs:
        for poly in seq.terms.values():
            for coeff in poly:
                den = sp.denom(sp.together(seq.domain.to_sympy(coeff)))
                if den.has(g):
                    dens.add(sp.factor(den))
    roots: set[sp.Expr] = set()
    for den in dens:
        sol = sp.solveset(den, g, domain=sp.S.Reals)
        if isinstance(sol, sp.FiniteSet):
            roots |= set(sol)
    return sorted((r for r in roots if sp.simplify(lam.subs(g, r)) != 0), key=lambda r: float(r))


def _piecewise(branches: list[tuple[sp.Expr, sp.Expr]], generic: sp.Expr, g: sp.Symbol) -> sp.Expr:
    """Piecewise over special parameter values, merging identical branches."""
    merged: list[tuple[sp.Expr, list]] = []
    for value, expr in branches:
        for item in merged:
            if sp.simplify(item[0] - expr) == 0:
                item[1].append(value)
                break
        else:
            merged.append((expr, [value]))
    pieces = []
    for expr, values in merged:
        if len(values) == 2 and sp.simplify(values[0] + values[1]) == 0:
            cond = sp.Eq(g**2, values[0] ** 2)
        else:
            cond = sp.Or(*[sp.Eq(g, v) for v in values])
        pieces.append((expr, cond))
    pieces.append((generic, True))
    return sp.Piecewise(*pieces)


@short_repr("form", "order", "at", "exact")
@dataclass(frozen=True)
class SensitivitySeries:
    r"""Small-amplitude closed forms of h_t and D_g h_t, in symbolic t.

    Attributes
    ----------
    form : NormalForm
    order : int
        Highest power of h0 kept; the remainder is O(h0^(order+1)).
    at : sympy.Expr or None
        The fixed parameter value, or None for generic g.
    lam : sympy.Expr
        The multiplier f_h(0, g).
    state_coefficients, sensitivity_coefficients : list of ExpPoly
        c_k(t) and d_k(t) for k = 1..order.
    exact : bool
        True when the map is linear in h, so the series terminates.
    """

    form: NormalForm
    order: int
    at: Any
    lam: sp.Expr
    state_coefficients: list
    sensitivity_coefficients: list
    exact: bool
    t: sp.Symbol = T_TIME
    h0: sp.Symbol = H0_SYMBOL

    def _series(self, seqs: list, remainder: bool) -> sp.Expr:
        expr = sum(sp.factor(seq.to_expr(self.t)) * self.h0 ** (k + 1) for k, seq in enumerate(seqs))
        if remainder and not self.exact:
            expr += sp.Order(self.h0 ** (self.order + 1), self.h0)
        return expr

    @property
    def h(self) -> sp.Expr:
        """h_t = sum_k c_k(t) h0^k + O(h0^(order+1))."""
        return self._series(self.state_coefficients, True)

    @property
    def dg_h(self) -> sp.Expr:
        """D_g h_t = sum_k d_k(t) h0^k + O(h0^(order+1))."""
        return self._series(self.sensitivity_coefficients, True)

    def coefficient(self, k: int) -> sp.Expr:
        """c_k(t), the coefficient of h0^k in h_t (factored)."""
        self._check_k(k)
        return sp.factor(self.state_coefficients[k - 1].to_expr(self.t))

    def sensitivity_coefficient(self, k: int) -> sp.Expr:
        """d_k(t), the coefficient of h0^k in D_g h_t (factored)."""
        self._check_k(k)
        return sp.factor(self.sensitivity_coefficients[k - 1].to_expr(self.t))

    def _check_k(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.order:
            raise ValueError(f"k must be an integer in 1..{self.order} (the series order); got {k!r}")

    def evaluate(self, t: int, h0: Any, g: Any = None) -> tuple[sp.Expr, sp.Expr]:
        """Exact truncated values (h_t, D_g h_t) at integer t, for given h0 (and g)."""
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"t must be an integer >= 0; got {t!r}")
        h0 = as_expression(h0, free_symbols=True, what="h0")
        sub = {} if g is None else {self.form.param: as_expression(g, free_symbols=True, what=self.form.param.name)}
        hv = sum(seq.at(t).subs(sub) * h0 ** (k + 1) for k, seq in enumerate(self.state_coefficients))
        dv = sum(seq.at(t).subs(sub) * h0 ** (k + 1) for k, seq in enumerate(self.sensitivity_coefficients))
        return sp.nsimplify(hv) if hv.is_Number else hv, dv

    def singular_points(self) -> list[sp.Expr]:
        """Real g where the generic closed form has removable poles (resonances
        lambda^m = lambda); use ``form.sensitivity_series(order, at=value)`` there."""
        if self.at is not None:
            return []
        return _singular_points(self.form, self.state_coefficients + self.sensitivity_coefficients)

    def __str__(self) -> str:
        where = "" if self.at is None else f" at {self.form.param} = {self.at}"
        return (
            f"{self.form.name}{where}, small-amplitude series to O(h0**{self.order + 1}):\n"
            f"  h_t     = {self.h}\n  D_g h_t = {self.dg_h}"
        )

    def _repr_latex_(self) -> str:
        return (
            r"$\begin{aligned} h_t &= " + sp.latex(self.h) + r" \\ D_g h_t &= "
            + sp.latex(self.dg_h) + r"\end{aligned}$"
        )


def sensitivity_series(form: NormalForm, order: int = 3, at: Any = None) -> SensitivitySeries:
    r"""Closed forms of h_t and D_g h_t to O(h0^(order+1)) in symbolic t.

    Parameters
    ----------
    form : NormalForm
        A scalar map with f(0, g) = 0 for all g.
    order : int, default 3
        Highest power of h0 kept.
    at : number, optional
        Solve at a fixed parameter value (e.g. the critical g* = 1, where the
        generic formula has removable poles such as 1/(g^2 - 1)).

    Returns
    -------
    SensitivitySeries

    Examples
    --------
    >>> import normalforms as nf
    >>> s = nf.pitchfork().sensitivity_series(order=3)
    >>> s.coefficient(3)
    -g**(t - 1)*(g**t - 1)*(g**t + 1)/((g - 1)*(g + 1))
    """
    order = _check_order(order)
    lam, c, d = _solve_coefficients(form, order, at)
    return SensitivitySeries(form, order, at, lam, c, d, _is_linear(form))


@short_repr("form", "order", "expr", "exact")
@dataclass(frozen=True)
class SntkSeries:
    r"""The norm :math:`\|\mathrm{sNTK}_g\|` as a closed form in symbolic T (a series in the moments).

    Attributes
    ----------
    expr : sympy.Expr
        The norm; a Piecewise over the resonant parameter values when the
        generic formula has removable poles there (e.g. g^2 = 1).
    generic : sympy.Expr
        The formula for generic g.
    exact : bool
        True when the map is linear in h (no truncation).
    """

    form: NormalForm
    order: int
    expr: sp.Expr
    generic: sp.Expr
    profile_terms: Any
    exact: bool
    T: sp.Symbol = T_SYMBOL

    def at_T(self, T: int) -> sp.Expr:
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T must be an integer >= 1; got {T!r}")
        return sp.simplify(self.expr.subs(self.T, T))

    def __str__(self) -> str:
        note = "exact" if self.exact else f"to moment order {self.order + 1}"
        return f"||sNTK_g|| of {self.form.name} ({note}):\n  {self.expr}"

    def _repr_latex_(self) -> str:
        return r"$\|\mathrm{sNTK}_g\| = " + sp.latex(self.expr) + "$"


def _moments(ensemble: Any, order: int) -> dict:
    return {n: sp.sympify(ensemble.moment(n), strict=True) for n in range(2, order + 2)}


def _norm_exppoly(d: list[ExpPoly], moments: dict, order: int) -> ExpPoly:
    total = d[0].zero()
    for k in range(1, order + 1):
        for l in range(1, order + 1):
            n = k + l
            if n > order + 1 or moments[n] == 0:
                continue
            total = total + (d[k - 1] * d[l - 1]).scale(d[0].convert(moments[n]))
    return total.partial_sum(1)


def sntk_norm(
    form: NormalForm,
    T: Any = None,
    order: int | None = None,
    ensemble: Any = None,
    piecewise: bool = True,
) -> SntkSeries:
    r"""The sNTK norm :math:`\sum_b \sum_{t=1}^{T} (D_g h_t^{(b)})^2` in closed form.

    Parameters
    ----------
    form : NormalForm
        Scalar map with f(0, g) = 0.
    T : int or sympy.Symbol, optional
        Horizon: an integer is substituted, a Symbol replaces the default
        symbolic ``T`` (used when omitted).
    order : int, optional
        Highest power of h0 kept in D_g h_t; the norm then holds moments up to
        M_(order+1) and is exact to O(a^(order+2)) for amplitude a.  Defaults
        to 1 for linear maps (exact) and 3 otherwise.
    ensemble : UniformEnsemble, GaussianEnsemble, PointEnsemble, optional
        Initial conditions; defaults to symbolic moments M_n, per sample.
        A PointEnsemble gives the sum over its B points.
    piecewise : bool, default True
        Return a Piecewise with separately solved branches at the resonant
        parameter values (the paper's |g| = 1 case).

    Examples
    --------
    >>> import normalforms as nf
    >>> nf.stability_flip().sntk_norm().expr.args[0][0]
    M_2*T*(T + 1)*(2*T + 1)/6
    """
    linear = _is_linear(form)
    if order is None:
        order = 1 if linear else 3
    order = _check_order(order)
    ensemble = ensemble if ensemble is not None else SymbolicMoments()
    size = getattr(ensemble, "size", None) or 1
    moments = _moments(ensemble, order)
    _, _, d = _solve_coefficients(form, order, extra=tuple(moments.values()))
    generic_seq = _norm_exppoly(d, moments, order)
    Tsym = T_SYMBOL
    generic = size * generic_seq.to_expr(Tsym)
    expr = generic
    if piecewise:
        branches = []
        for root in _singular_points(form, d + [generic_seq]):
            _, _, d_root = _solve_coefficients(form, order, at=root, extra=tuple(moments.values()))
            branches.append((root, size * _norm_exppoly(d_root, moments, order).to_expr(Tsym)))
        if branches:
            expr = _piecewise(branches, generic, form.param)
    if T is None:
        return SntkSeries(form, order, expr, generic, generic_seq, linear)
    if isinstance(T, sp.Symbol):
        return SntkSeries(form, order, expr.xreplace({Tsym: T}), generic.xreplace({Tsym: T}), generic_seq, linear, T)
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be an integer >= 1 or omitted for symbolic T; got {T!r}")
    # A numeric horizon: substitute, keeping the Piecewise over resonant g.
    return SntkSeries(form, order, expr.subs(Tsym, T), generic.subs(Tsym, T), generic_seq, linear, sp.Integer(T))
