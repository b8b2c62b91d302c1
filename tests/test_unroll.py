"""Tangent recursion and exact unrolling against dual-number iteration."""

from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, strategies as st

import normalforms as nf
from conftest import REFERENCE_MAPS, iterate_exact
from test_catalog import FACTORIES


def test_tangent_recursion_of_pitchfork_reads_as_on_paper():
    tr = nf.pitchfork().tangent_recursion()
    t = nf.T_TIME
    h, s = sp.Function("h")(t), sp.Function("s")(t)
    g = nf.pitchfork().param
    assert sp.simplify(tr.equation.rhs - ((g - 3 * h**2) * s + h)) == 0
    assert tr.equation.lhs == sp.Function("s")(t + 1)
    assert tr.initial.rhs == 0


@given(
    name=st.sampled_from(sorted(REFERENCE_MAPS)),
    h0=st.fractions(min_value=-1, max_value=1, max_denominator=9),
    g=st.fractions(min_value=-2, max_value=2, max_denominator=9),
    T=st.integers(0, 4),
)
def test_unroll_matches_dual_number_iteration(name, h0, g, T):
    form = FACTORIES[name]()
    u = form.unroll(T, h0=sp.Rational(h0.numerator, h0.denominator), g=sp.Rational(g.numerator, g.denominator))
    ref = iterate_exact(REFERENCE_MAPS[name], h0, g, T)
    for t in range(T + 1):
        assert u.h[t] == sp.Rational(ref[t][0].numerator, ref[t][0].denominator)
        assert u.dg_h[t] == sp.Rational(ref[t][1].numerator, ref[t][1].denominator)


def test_unroll_symbolic_equals_derivative_of_unrolled_state():
    form = nf.transcritical()
    u = form.unroll(4)
    for t in range(5):
        assert sp.expand(sp.diff(u.h[t], form.param) - u.dg_h[t]) == 0


def test_unroll_two_dimensional():
    form = nf.neimark_sacker()
    u = form.unroll(2, h0=("1/3", "1/4"), g="11/10")
    # hand computation of one step: (g - r^2) R (x, y)
    x, y, g = sp.Rational(1, 3), sp.Rational(1, 4), sp.Rational(11, 10)
    r = g - x**2 - y**2
    assert u.h[1] == sp.Matrix([r * (sp.Rational(3, 5) * x - sp.Rational(4, 5) * y), r * (sp.Rational(4, 5) * x + sp.Rational(3, 5) * y)])
    # D_g of the first step is R (x, y)
    assert u.dg_h[1] == sp.Matrix([sp.Rational(3, 5) * x - sp.Rational(4, 5) * y, sp.Rational(4, 5) * x + sp.Rational(3, 5) * y])


@pytest.mark.parametrize("kwargs, message", [
    (dict(T=-1), "T must be"),
    (dict(T=1.5), "T must be"),
    (dict(T=40), "too many steps"),
    (dict(T=2, h0=(1, 2)), "1 component"),
    (dict(T=2, h0=sp.oo), "non-finite"),
])
def test_unroll_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nf.pitchfork().unroll(**kwargs)
