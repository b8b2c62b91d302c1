r"""Large-T regimes of the linear sNTK law, derived by sympy.

To leading order in the initial amplitude every scalar form with a fixed
origin has D_g h_t = t lambda^(t-1) lambda' h0 (lambda = f_h(0, g)), so

.. math::

    \|\mathrm{sNTK}_g\| = \lambda'^2 M_2\, L_T(x), \qquad
    L_T(x) = \sum_{t=1}^{T} t^2 x^{t-1}, \quad x = \lambda^2

(exact for the stability flip, where lambda = g, lambda' = 1; this is the
paper's sum_{t=0}^{T-1} (t+1)^2 g^{2t}, sec. 3).  The three regimes x < 1,
x = 1, x > 1 are derived here from the closed form of L_T: the limit or
leading term is found by sympy (``limit`` with x = 1/(1+u) or x = 1+u,
u > 0), not typed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ._exppoly import ExpPoly
from ._form import NormalForm
from ._series import _taylor_coefficients
from ._symbols import T_SYMBOL
from ._repr import short_repr

__all__ = ["Regime", "AsymptoticRegimes", "asymptotic_regimes", "linear_law"]

_X = sp.Symbol("x", positive=True)
_U = sp.Symbol("u", positive=True)


def linear_law(x: sp.Expr = _X) -> tuple[ExpPoly, sp.Expr]:
    """Closed form of L_T(x) = sum_{t=1}^T t^2 x^(t-1) for generic x, and at x = 1."""
    T = T_SYMBOL
    seq = ExpPoly(x, {1: [0, 0, 1 / x]})  # t^2 x^(t-1) = (t^2 / x) x^t
    generic = seq.partial_sum(1)
    at_one = ExpPoly(sp.S.One, {1: [0, 0, 1]}).partial_sum(1).to_expr(T)
    return generic, sp.factor(at_one)


@short_repr("condition", "leading")
@dataclass(frozen=True)
class Regime:
    """One large-T regime of the linear law.

    Attributes
    ----------
    condition : str
        e.g. ``"|g| < 1"``.
    leading : sympy.Expr
        The asymptotic form (limit or leading term), in T and g.
    ratio_limit : sympy.Expr
        lim_{T->oo} L_T / leading, computed by sympy (1 when the form is right).
    correction : sympy.Expr
        L_T - leading, to leading order in T (exact for |lambda| = 1).
    relative_error : sympy.Expr
        (L_T - leading) / leading to leading order; decays like the bound the
        tests check (e.g. 3/(2T) + 1/(2T^2) at |lambda| = 1).
    exact : sympy.Expr
        The exact closed form in this regime.
    """

    condition: str
    leading: sp.Expr
    ratio_limit: sp.Expr
    correction: sp.Expr
    relative_error: sp.Expr
    exact: sp.Expr

    def __str__(self) -> str:
        return f"{self.condition}:  L_T ~ {self.leading}   (ratio -> {self.ratio_limit}; correction {self.correction})"


@short_repr("form", "prefactor", "multiplier")
@dataclass(frozen=True)
class AsymptoticRegimes:
    r"""The three regimes of :math:`\|\mathrm{sNTK}_g\| = \text{prefactor} \cdot L_T(\lambda^2)`."""

    form: NormalForm
    prefactor: sp.Expr
    multiplier: sp.Expr
    below: Regime
    critical: Regime
    above: Regime

    def __iter__(self):
        return iter((self.below, self.critical, self.above))

    def __str__(self) -> str:
        head = (
            f"linear sNTK law of {self.form.name}: ||sNTK_g|| = {self.prefactor} * L_T, "
            f"L_T = sum_(t=1..T) t^2 x^(t-1), x = ({self.multiplier})^2"
        )
        return head + "\n  " + "\n  ".join(str(r) for r in self)


def _back(expr: sp.Expr, x_value: sp.Expr) -> sp.Expr:
    return sp.factor(sp.simplify(expr.subs(_X, x_value)))


def asymptotic_regimes(form: NormalForm, ensemble: Any = None) -> AsymptoticRegimes:
    r"""Derive the large-T behaviour of the linear law for :math:`|\lambda|` <, =, > 1.

    Returns the limit (1 + x)/(1 - x)^3 for x < 1, the leading term T^3/3 at
    x = 1 (relative error 3/(2T) + 1/(2T^2)), and T^2 x^T/(x - 1) for x > 1,
    each with x = lambda(g)^2 and sympy's ``limit`` of the ratio.

    Examples
    --------
    >>> import normalforms as nf
    >>> r = nf.stability_flip().asymptotic_regimes()
    >>> r.critical.leading
    T**3/3
    >>> r.below.leading
    -(g**2 + 1)/((g - 1)**3*(g + 1)**3)
    """
    T = T_SYMBOL
    g = form.param
    a = _taylor_coefficients(form, 1)
    lam = sp.simplify(a[1])
    dlam = sp.simplify(sp.diff(lam, g))
    m2 = ensemble.moment(2) if ensemble is not None else sp.Symbol("M_2", real=True)
    prefactor = sp.simplify(dlam**2 * m2)
    seq, at_one = linear_law()
    L = seq.to_expr(T, simplify=False)
    x_of_g = lam**2

    # x < 1: x = 1/(1+u) makes the geometric decay visible to sympy's limit.
    below_x = 1 / (1 + _U)
    L_below = L.subs(_X, below_x)
    lim_below = sp.simplify(sp.limit(L_below, T, sp.oo))
    limit_x = sp.simplify(lim_below.subs(_U, 1 / _X - 1))
    tail_ratio = sp.simplify(sp.limit((lim_below - L_below) / (T**2 * below_x**T), T, sp.oo))
    # L_T approaches its limit from below: L_T - L_oo ~ -T^2 x^T / (1 - x).
    below_corr = -_back(sp.simplify(tail_ratio.subs(_U, 1 / _X - 1)), x_of_g) * T**2 * x_of_g**T
    below_leading = _back(limit_x, x_of_g)
    below = Regime(
        "|lambda| < 1",
        below_leading,
        sp.simplify(sp.limit(L_below / lim_below, T, sp.oo)),
        below_corr,
        sp.simplify(below_corr / below_leading),
        _back(L, x_of_g),
    )

    # x = 1: polynomial in T; the leading term is its highest-degree monomial.
    poly = sp.Poly(sp.expand(at_one), T)
    lead = poly.LC() * T ** poly.degree()
    critical = Regime(
        "|lambda| = 1",
        lead,
        sp.limit(at_one / lead, T, sp.oo),
        sp.expand(at_one - lead),
        sp.factor(sp.expand(at_one / lead - 1)),
        at_one,
    )

    # x > 1: the x^T part dominates; its leading monomial in T gives the form.
    grow = seq.terms.get(1, [])
    deg = len(grow) - 1
    grow = [seq.domain.to_sympy(c) for c in grow]
    lead_x = sp.simplify(grow[deg]) * T**deg * _X**T
    L_above = L.subs(_X, 1 + _U)
    ratio_above = sp.limit(L_above / lead_x.subs(_X, 1 + _U), T, sp.oo)
    above_corr = _back(sp.simplify(grow[deg - 1]) * T ** (deg - 1) * _X**T, x_of_g)
    above_leading = _back(lead_x, x_of_g)
    above = Regime(
        "|lambda| > 1",
        above_leading,
        sp.simplify(ratio_above),
        above_corr,
        sp.factor(sp.simplify(above_corr / above_leading)),
        _back(L, x_of_g),
    )
    return AsymptoticRegimes(form, prefactor, lam, below, critical, above)
