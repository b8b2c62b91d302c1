"""Tangent recursion and exact unrolling against dual-number iteration."""

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


# ---------------------------------------------------------------- symbolic unrolling in the polynomial ring
@given(
    name=st.sampled_from(sorted(REFERENCE_MAPS)),
    h0=st.fractions(min_value=-1, max_value=1, max_denominator=7),
    g=st.fractions(min_value=-2, max_value=2, max_denominator=7),
    T=st.integers(0, 4),
)
def test_symbolic_unroll_evaluates_to_the_dual_number_iteration(name, h0, g, T):
    """The symbolic result (computed in QQ[h0, g]) at any (h0, g) is the exact iterate."""
    form = FACTORIES[name]()
    u = form.unroll(T)
    point = {nf.H0_SYMBOL: sp.Rational(h0.numerator, h0.denominator), form.param: sp.Rational(g.numerator, g.denominator)}
    ref = iterate_exact(REFERENCE_MAPS[name], h0, g, T)
    for t in range(T + 1):
        assert sp.sympify(u.h[t]).xreplace(point) == sp.Rational(ref[t][0].numerator, ref[t][0].denominator)
        assert sp.sympify(u.dg_h[t]).xreplace(point) == sp.Rational(ref[t][1].numerator, ref[t][1].denominator)


def test_symbolic_unroll_of_a_two_dimensional_polynomial_map():
    form = nf.NormalForm(["g*x - y**2", "x*y + g"], state="x y")
    u = form.unroll(2)
    x0, y0 = sp.symbols("h0_x h0_y", real=True)
    g = form.param

    def f(x, y):
        return g * x - y**2, x * y + g

    h2 = f(*f(x0, y0))
    assert sp.expand(u.h[2] - sp.Matrix(h2)) == sp.zeros(2, 1)
    assert sp.expand(u.dg_h[2] - sp.Matrix([sp.diff(c, g) for c in h2])) == sp.zeros(2, 1)


def test_symbolic_unroll_with_a_symbolic_start_and_a_fixed_g():
    u = nf.pitchfork().unroll(2, h0="a", g="1/2")
    a = sp.Symbol("a", real=True)
    f = lambda h, g: g * h - h**3
    gs = sp.Symbol("g", real=True)
    assert sp.expand(u.h[2] - f(f(a, sp.Rational(1, 2)), sp.Rational(1, 2))) == 0
    assert sp.expand(u.dg_h[2] - sp.diff(f(f(a, gs), gs), gs).subs(gs, sp.Rational(1, 2))) == 0


def test_symbolic_unroll_refuses_results_too_large_to_build():
    import time

    start = time.perf_counter()
    with pytest.raises(ValueError, match="use T <= 5"):
        nf.pitchfork().unroll(6)
    with pytest.raises(ValueError, match="use T <= 1"):
        nf.NormalForm("g*h - h**1000").unroll(2)
    assert time.perf_counter() - start < 2  # refused before any work
    assert len(nf.pitchfork().unroll(6, h0="1/3", g="1/2").h) == 7  # numbers stay small enough


def test_exact_fixed_points_refuse_high_degree_maps_at_once():
    import time

    start = time.perf_counter()
    with pytest.raises(ValueError, match="degree 20"):
        nf.NormalForm("g*h - h**20").fixed_points(method="exact")
    with pytest.raises(ValueError, match="degree 5"):
        nf.NormalForm("g*h - h**5").period_two_points(method="exact")
    assert time.perf_counter() - start < 2
