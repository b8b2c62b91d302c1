"""The exact recurrence solver against direct iteration in rational arithmetic."""

from fractions import Fraction

import sympy as sp
from hypothesis import given, strategies as st

from normalforms import ExpPoly

rationals = st.fractions(min_value=-3, max_value=3, max_denominator=7)


def _fr(x):
    assert x.is_Rational, f"expected an exact rational, got {x!r}"
    return Fraction(int(x.p), int(x.q))


def _forcing_value(terms, lam, t):
    return sum(sum(c * t**i for i, c in enumerate(p)) * lam ** (m * t) for m, p in terms.items())


@given(
    lam=st.sampled_from([Fraction(1), Fraction(-1), Fraction(1, 2), Fraction(-3, 2), Fraction(2)]),
    m0=st.sampled_from([0, 1]),
    terms=st.dictionaries(st.integers(0, 3), st.lists(rationals, min_size=1, max_size=3), min_size=1, max_size=3),
    y0=rationals,
)
def test_solve_recurrence_matches_iteration(lam, m0, terms, y0):
    seq = ExpPoly(sp.Rational(lam.numerator, lam.denominator),
                  {m: [sp.Rational(c.numerator, c.denominator) for c in p] for m, p in terms.items()})
    sol = seq.solve_recurrence(m0, sp.Rational(y0.numerator, y0.denominator))
    y = y0
    for t in range(8):
        assert _fr(sol.at(t)) == y
        y = lam**m0 * y + _forcing_value(terms, lam, t)


@given(lam=st.sampled_from([Fraction(1), Fraction(-1), Fraction(2, 3), Fraction(5, 2)]), start=st.integers(0, 2))
def test_partial_sum_matches_direct_sum(lam, start):
    lam_s = sp.Rational(lam.numerator, lam.denominator)
    seq = ExpPoly(lam_s, {2: [0, 0, 1], 0: [3], 1: [1, -1]})
    S = seq.partial_sum(start)
    for T in range(start - 1, 7):
        direct = sum(_forcing_value({2: [0, 0, 1], 0: [3], 1: [1, -1]}, lam, t) for t in range(start, T + 1))
        assert _fr(S.at(T)) == direct


def test_symbolic_base_gives_the_textbook_geometric_sum():
    g = sp.Symbol("g")
    t = sp.Symbol("t")
    S = ExpPoly(g, {1: [1]}).partial_sum(0)  # sum_{s=0}^{T} g^s
    assert sp.simplify(S.to_expr(t) - (g ** (t + 1) - 1) / (g - 1)) == 0
