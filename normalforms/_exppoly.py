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
from typing import Any

import sympy as sp
from sympy.polys.constructor import construct_domain

__all__ = ["ExpPoly", "domain_for"]


def domain_for(exprs: list) -> Any:
    """The sympy domain in which coefficients live: a fraction field such as
    ZZ(g, M_2) for rational expressions (arithmetic there is exact and
    canonical without ``cancel``, which made order-5 series ~100x slower),
    the expression domain EX otherwise."""
    exprs = [sp.sympify(strict=True, a=e) for e in exprs] or [sp.S.One]
    domain, _ = construct_domain(exprs, field=True)
    return domain


def _poly_trim(coeffs: list, K: Any) -> list:
    coeffs = list(coeffs)
    while coeffs and coeffs[-1] == K.zero:
        coeffs.pop()
    return coeffs


def _poly_mul(a: list, b: list, K: Any) -> list:
    if not a or not b:
        return []
    out = [K.zero] * (len(a) + len(b) - 1)
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            out[i + j] += ai * bj
    return _poly_trim(out, K)


def _poly_shift(a: list, shift: int, K: Any) -> list:
    """Coefficients of P(t + shift)."""
    out = [K.zero] * len(a)
    for i, ai in enumerate(a):
        for j in range(i + 1):
            out[j] += ai * K.convert(comb(i, j) * shift ** (i - j))
    return _poly_trim(out, K)


@dataclass(frozen=True)
class ExpPoly:
    """The sequence ``sum_m P_m(t) * lam**(m*t)``.

    Parameters
    ----------
    lam : sympy.Expr or domain element
        The base multiplier.
    terms : dict[int, list]
        ``m -> [p_0, p_1, ...]``, the coefficients of P_m in powers of t.
    domain : sympy domain, optional
        Where ``lam`` and the coefficients live; built from them when omitted
        (then they may be given as sympy expressions).
    """

    lam: Any
    terms: dict = field(default_factory=dict)
    domain: Any = None

    def __post_init__(self) -> None:
        if self.domain is None:
            exprs = [self.lam] + [c for p in self.terms.values() for c in p]
            K = domain_for(exprs)
            object.__setattr__(self, "domain", K)
            object.__setattr__(self, "lam", K.from_sympy(sp.sympify(strict=True, a=self.lam)))
            object.__setattr__(
                self, "terms", {m: [K.from_sympy(sp.sympify(strict=True, a=c)) for c in p] for m, p in self.terms.items()}
            )
        K = self.domain
        terms = {}
        for m, p in self.terms.items():
            p = _poly_trim(p, K)
            if p:
                terms[m] = p
        object.__setattr__(self, "terms", terms)

    def _new(self, terms: dict) -> "ExpPoly":
        return ExpPoly(self.lam, terms, self.domain)

    # -- construction -----------------------------------------------------
    @classmethod
    def power(cls, lam: Any, m: int, coeff: Any, domain: Any) -> "ExpPoly":
        """``coeff * lam**(m t)`` with lam, coeff already in ``domain``."""
        return cls(lam, {m: [coeff]}, domain)

    @property
    def lam_expr(self) -> sp.Expr:
        return self.domain.to_sympy(self.lam)

    def zero(self) -> "ExpPoly":
        return self._new({})

    def convert(self, value: Any) -> Any:
        """A sympy number or expression as an element of this domain."""
        return self.domain.from_sympy(sp.sympify(strict=True, a=value))

    # -- arithmetic ---------------------------------------------------------
    def __add__(self, other: "ExpPoly") -> "ExpPoly":
        K = self.domain
        terms = {m: list(p) for m, p in self.terms.items()}
        for m, p in other.terms.items():
            q = terms.get(m, [])
            n = max(len(p), len(q))
            terms[m] = [
                (q[i] if i < len(q) else K.zero) + (p[i] if i < len(p) else K.zero) for i in range(n)
            ]
        return self._new(terms)

    def scale(self, factor: Any) -> "ExpPoly":
        """Multiply by a domain element."""
        return self._new({m: [c * factor for c in p] for m, p in self.terms.items()})

    def __mul__(self, other: "ExpPoly") -> "ExpPoly":
        K = self.domain
        out: dict[int, list] = {}
        for m1, p1 in self.terms.items():
            for m2, p2 in other.terms.items():
                prod = _poly_mul(p1, p2, K)
                q = out.get(m1 + m2, [])
                n = max(len(prod), len(q))
                out[m1 + m2] = [
                    (q[i] if i < len(q) else K.zero) + (prod[i] if i < len(prod) else K.zero) for i in range(n)
                ]
        return self._new(out)

    def is_zero(self) -> bool:
        return not self.terms

    def shifted(self, shift: int) -> "ExpPoly":
        """The sequence ``t -> y(t + shift)``."""
        terms = {}
        for m, p in self.terms.items():
            factor = self.lam ** (m * shift)
            terms[m] = [c * factor for c in _poly_shift(p, shift, self.domain)]
        return self._new(terms)

    # -- evaluation -----------------------------------------------------------
    def to_expr(self, t: sp.Symbol, *, simplify: bool = True) -> sp.Expr:
        """The closed form as a sympy expression in ``t``."""
        lam = self.lam_expr
        total = sp.S.Zero
        for m in sorted(self.terms):
            poly = sum(self.domain.to_sympy(c) * t**i for i, c in enumerate(self.terms[m]))
            if simplify:
                poly = sp.factor(poly)
            total += poly * lam ** (m * t)
        return total

    def value_at(self, t_value: int) -> Any:
        """Exact value at an integer time, as a domain element."""
        K = self.domain
        total = K.zero
        for m, p in self.terms.items():
            total += sum((c * K.convert(t_value**i) for i, c in enumerate(p)), K.zero) * self.lam ** (m * t_value)
        return total

    def at(self, t_value: int) -> sp.Expr:
        """Exact value at an integer time, as a sympy expression."""
        return self.domain.to_sympy(self.value_at(t_value))

    def exponents(self) -> list[int]:
        return sorted(self.terms)

    # -- the solver -------------------------------------------------------------
    def solve_recurrence(self, m0: int, initial: Any) -> "ExpPoly":
        """Solve ``y(t+1) = lam**m0 * y(t) + self(t)`` with ``y(0) = initial``.

        Each forcing term Q(t) lam**(m t) has a particular solution
        P(t) lam**(m t) with ``mu P(t+1) - kappa P(t) = Q(t)``, ``mu = lam**m``,
        ``kappa = lam**m0``.  If ``mu != kappa`` (non-resonant) P has the degree
        of Q; if ``mu == kappa`` (resonant) it has one degree more.  The
        homogeneous part C * kappa**t then fixes the initial value.
        ``initial`` is a domain element or a sympy number.
        """
        K = self.domain
        lam = self.lam
        kappa = lam**m0
        particular = self.zero()
        for m, q in self.terms.items():
            mu = lam**m
            d = len(q) - 1
            if mu != kappa:
                p = [K.zero] * (d + 1)
                for j in range(d, -1, -1):
                    acc = q[j] - mu * sum((p[i] * K.convert(comb(i, j)) for i in range(j + 1, d + 1)), K.zero)
                    p[j] = acc / (mu - kappa)
            else:
                # mu * (P(t+1) - P(t)) = Q(t); P(0) = 0 is free and chosen.
                p = [K.zero] * (d + 2)
                for j in range(d, -1, -1):
                    acc = q[j] - mu * sum((p[i] * K.convert(comb(i, j)) for i in range(j + 2, d + 2)), K.zero)
                    p[j + 1] = acc / (mu * K.convert(j + 1))
            particular = particular + self._new({m: p})
        y0 = initial if not isinstance(initial, (int, sp.Basic)) else self.convert(initial)
        constant = y0 - particular.value_at(0)
        return particular + ExpPoly.power(lam, m0, constant, K)

    def partial_sum(self, start: int = 1) -> "ExpPoly":
        """``S(T) = sum_{t=start}^{T} y(t)`` as an exponential polynomial in T.

        Solves ``S(T+1) = S(T) + y(T+1)`` with ``S(start - 1) = 0``.
        """
        # U(n) = S(n + start - 1) obeys U(n+1) = U(n) + y(n + start), U(0) = 0.
        u = self.shifted(start).solve_recurrence(0, 0)
        return u.shifted(1 - start)
