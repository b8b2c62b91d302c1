"""Exponential polynomials in a discrete time variable and the first-order
linear recurrences they solve exactly.

Every quantity the symbolic layer produces in closed form in ``t`` -- the
small-amplitude coefficients c_k(t) of h_t, the coefficients d_k(t) of
D_g h_t, and the partial sums over t that make up ||sNTK_g|| -- is an
exponential polynomial

    y(t) = sum_m P_m(t) * lam**(m t),

with ``lam`` the critical multiplier (an expression in g, or a number when g
is fixed) and P_m polynomials in t.  Such sequences are closed under +, *
and shifts, and a recurrence y(t+1) = lam**m0 * y(t) + forcing(t) with an
exponential-polynomial forcing has an exponential-polynomial solution that
undetermined coefficients find exactly (Elaydi, *An Introduction to
Difference Equations*, 3rd ed., sec. 2.4).  Doing this ourselves, instead of
calling ``sympy.rsolve`` or nested ``summation``, keeps resonances
(lam**m == lam**m0, e.g. g**2 == 1) explicit and the output free of
unevaluated ``Sum`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb

import sympy as sp

__all__ = ["ExpPoly"]


def _clean(expr: sp.Expr) -> sp.Expr:
    # ``cancel`` puts each coefficient (a rational function of g) in canonical
    # p/q form, so zero coefficients are recognised and expressions stay small.
    return sp.cancel(sp.expand(expr))


def _is_zero(expr: sp.Expr) -> bool:
    return _clean(expr) == 0


def _poly_trim(coeffs: list[sp.Expr]) -> list[sp.Expr]:
    coeffs = [_clean(c) for c in coeffs]
    while coeffs and coeffs[-1] == 0:
        coeffs.pop()
    return coeffs


def _poly_mul(a: list[sp.Expr], b: list[sp.Expr]) -> list[sp.Expr]:
    if not a or not b:
        return []
    out = [sp.S.Zero] * (len(a) + len(b) - 1)
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            out[i + j] += ai * bj
    return _poly_trim(out)


def _poly_shift(a: list[sp.Expr], shift: int) -> list[sp.Expr]:
    """Coefficients of P(t + shift)."""
    out = [sp.S.Zero] * len(a)
    for i, ai in enumerate(a):
        for j in range(i + 1):
            out[j] += ai * comb(i, j) * sp.Integer(shift) ** (i - j)
    return _poly_trim(out)


@dataclass(frozen=True)
class ExpPoly:
    """The sequence ``sum_m P_m(t) * lam**(m*t)``.

    Parameters
    ----------
    lam : sympy.Expr
        The base multiplier.
    terms : dict[int, list[sympy.Expr]]
        ``m -> [p_0, p_1, ...]``, the coefficients of P_m in powers of t.
    """

    lam: sp.Expr
    terms: dict = field(default_factory=dict)

    # -- construction -----------------------------------------------------
    @classmethod
    def constant(cls, lam: sp.Expr, value: sp.Expr) -> "ExpPoly":
        return cls(lam, {0: _poly_trim([sp.sympify(value)])}).normalized()

    @classmethod
    def power(cls, lam: sp.Expr, m: int, coeff: sp.Expr = sp.S.One) -> "ExpPoly":
        """``coeff * lam**(m t)``."""
        return cls(lam, {m: _poly_trim([sp.sympify(coeff)])}).normalized()

    def normalized(self) -> "ExpPoly":
        terms = {}
        for m, p in self.terms.items():
            p = _poly_trim(list(p))
            if p:
                terms[m] = p
        return ExpPoly(self.lam, terms)

    # -- arithmetic ---------------------------------------------------------
    def __add__(self, other: "ExpPoly") -> "ExpPoly":
        terms = {m: list(p) for m, p in self.terms.items()}
        for m, p in other.terms.items():
            q = terms.get(m, [])
            n = max(len(p), len(q))
            terms[m] = [
                (q[i] if i < len(q) else 0) + (p[i] if i < len(p) else 0)
                for i in range(n)
            ]
        return ExpPoly(self.lam, terms).normalized()

    def __mul__(self, other) -> "ExpPoly":
        if not isinstance(other, ExpPoly):
            other = sp.sympify(other)
            return ExpPoly(
                self.lam, {m: [c * other for c in p] for m, p in self.terms.items()}
            ).normalized()
        out: dict[int, list] = {}
        for m1, p1 in self.terms.items():
            for m2, p2 in other.terms.items():
                prod = _poly_mul(p1, p2)
                acc = ExpPoly(self.lam, {m1 + m2: prod})
                out = (ExpPoly(self.lam, out) + acc).terms
        return ExpPoly(self.lam, out).normalized()

    __rmul__ = __mul__

    def __pow__(self, n: int) -> "ExpPoly":
        out = ExpPoly.constant(self.lam, 1)
        for _ in range(n):
            out = out * self
        return out

    def is_zero(self) -> bool:
        return not self.terms

    def shifted(self, shift: int) -> "ExpPoly":
        """The sequence ``t -> y(t + shift)``."""
        terms = {}
        for m, p in self.terms.items():
            factor = self.lam ** (m * shift)
            terms[m] = [c * factor for c in _poly_shift(p, shift)]
        return ExpPoly(self.lam, terms).normalized()

    def map_coefficients(self, fn) -> "ExpPoly":
        return ExpPoly(
            self.lam, {m: [fn(c) for c in p] for m, p in self.terms.items()}
        ).normalized()

    # -- evaluation -----------------------------------------------------------
    def to_expr(self, t: sp.Symbol, *, simplify: bool = True) -> sp.Expr:
        """The closed form as a sympy expression in ``t``."""
        total = sp.S.Zero
        for m in sorted(self.terms):
            poly = sum(c * t**i for i, c in enumerate(self.terms[m]))
            if simplify:
                poly = sp.factor(poly)
            total += poly * self.lam ** (m * t)
        return total

    def at(self, t_value: int) -> sp.Expr:
        """Exact value at an integer time."""
        total = sp.S.Zero
        for m, p in self.terms.items():
            total += sum(c * sp.Integer(t_value) ** i for i, c in enumerate(p)) * (
                self.lam ** (m * t_value)
            )
        return _clean(total)

    def exponents(self) -> list[int]:
        return sorted(self.terms)

    # -- the solver -------------------------------------------------------------
    def solve_recurrence(self, m0: int, initial: sp.Expr) -> "ExpPoly":
        """Solve ``y(t+1) = lam**m0 * y(t) + self(t)`` with ``y(0) = initial``.

        Each forcing term Q(t) lam**(m t) has a particular solution
        P(t) lam**(m t) with ``mu P(t+1) - kappa P(t) = Q(t)``, ``mu = lam**m``,
        ``kappa = lam**m0``.  If ``mu != kappa`` (non-resonant) P has the degree
        of Q; if ``mu == kappa`` (resonant) it has one degree more.  The
        homogeneous part C * kappa**t then fixes the initial value.
        """
        lam = self.lam
        kappa = lam**m0
        particular: dict[int, list] = {}
        for m, q in self.terms.items():
            mu = lam**m
            d = len(q) - 1
            if not _is_zero(mu - kappa):
                p = [sp.S.Zero] * (d + 1)
                for j in range(d, -1, -1):
                    acc = q[j] - mu * sum(p[i] * comb(i, j) for i in range(j + 1, d + 1))
                    p[j] = _clean(acc / (mu - kappa))
            else:
                # mu * (P(t+1) - P(t)) = Q(t); P(0) = 0 is free and chosen.
                p = [sp.S.Zero] * (d + 2)
                for j in range(d, -1, -1):
                    acc = q[j] - mu * sum(
                        p[i] * comb(i, j) for i in range(j + 2, d + 2)
                    )
                    p[j + 1] = _clean(acc / (mu * (j + 1)))
            particular = (ExpPoly(lam, particular) + ExpPoly(lam, {m: p})).terms
        part = ExpPoly(lam, particular).normalized()
        constant = sp.sympify(initial) - part.at(0)
        return part + ExpPoly.power(lam, m0, constant)

    def partial_sum(self, start: int = 1) -> "ExpPoly":
        """``S(T) = sum_{t=start}^{T} y(t)`` as an exponential polynomial in T.

        Solves ``S(T+1) = S(T) + y(T+1)`` with ``S(start - 1) = 0``.
        """
        forcing = self.shifted(1)
        # Solve for U(n) = S(n + start - 1), U(0) = 0, then shift back.
        shifted_forcing = forcing.shifted(start - 1)
        u = shifted_forcing.solve_recurrence(0, 0)
        return u.shifted(1 - start)
