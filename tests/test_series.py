"""Closed forms in symbolic t against exact rational iteration."""

from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import assume, given, strategies as st

import normalforms as nf
from conftest import REFERENCE_MAPS, SERIES_FORMS, iterate_exact, iterate_jet
from test_catalog import FACTORIES

ORDER = 5


def _sp(x: Fraction) -> sp.Rational:
    return sp.Rational(x.numerator, x.denominator)


@pytest.fixture(scope="module")
def generic_series():
    return {name: FACTORIES[name]().sensitivity_series(order=ORDER) for name in SERIES_FORMS}


@given(
    name=st.sampled_from(SERIES_FORMS),
    g=st.fractions(min_value=-3, max_value=3, max_denominator=11),
    T=st.integers(0, 6),
)
def test_coefficients_equal_exact_truncated_iteration(generic_series, name, g, T):
    assume(g not in (0, 1, -1))  # removable poles of the generic formula
    series = generic_series[name]
    ref = iterate_jet(REFERENCE_MAPS[name], g, T, ORDER)[T]
    for k in range(1, ORDER + 1):
        assert series.state_coefficients[k - 1].at(T).subs(series.form.param, _sp(g)) == _sp(ref[0][k])
        assert series.sensitivity_coefficients[k - 1].at(T).subs(series.form.param, _sp(g)) == _sp(ref[1][k])


@pytest.mark.parametrize("name", SERIES_FORMS)
@pytest.mark.parametrize("g", [1, -1])
def test_series_at_resonant_parameter_values(name, g):
    series = FACTORIES[name]().sensitivity_series(order=ORDER, at=g)
    for T in range(0, 7):
        ref = iterate_jet(REFERENCE_MAPS[name], g, T, ORDER)[T]
        for k in range(1, ORDER + 1):
            assert series.state_coefficients[k - 1].at(T) == _sp(ref[0][k])
            assert series.sensitivity_coefficients[k - 1].at(T) == _sp(ref[1][k])


def test_pitchfork_cubic_coefficient_has_the_closed_form_of_the_issue():
    s = nf.pitchfork().sensitivity_series(order=3)
    g, t = s.form.param, s.t
    assert sp.simplify(s.coefficient(3) + g ** (t - 1) * (g ** (2 * t) - 1) / (g**2 - 1)) == 0
    assert sp.simplify(s.coefficient(1) - g**t) == 0


def test_sensitivity_coefficients_are_the_g_derivatives():
    s = nf.pitchfork().sensitivity_series(order=ORDER)
    g = s.form.param
    for k in (1, 3, 5):
        diff = sp.diff(s.coefficient(k), g) - s.sensitivity_coefficient(k)
        for gv, tv in ((sp.Rational(3, 7), 4), (sp.Rational(5, 4), 9)):
            assert sp.simplify(diff.subs({g: gv, s.t: tv})) == 0


@pytest.mark.parametrize("name, order, expected_ratio", [("pitchfork", 3, 32), ("transcritical", 2, 8), ("pitchfork", 5, 128)])
def test_truncation_error_shrinks_at_the_next_order(name, order, expected_ratio):
    # Halving the amplitude divides the error by 2^(next nonzero order).
    series = FACTORIES[name]().sensitivity_series(order=order)
    g, T = Fraction(11, 10), 5
    errors = []
    for a in (Fraction(1, 200), Fraction(1, 400)):
        exact = iterate_exact(REFERENCE_MAPS[name], a, g, T)[T]
        h_ser, d_ser = series.evaluate(T, _sp(a), _sp(g))
        errors.append((abs(float(_sp(exact[0]) - h_ser)), abs(float(_sp(exact[1]) - d_ser))))
    for which in (0, 1):
        ratio = errors[0][which] / errors[1][which]
        assert abs(ratio / expected_ratio - 1) < 0.05


@pytest.mark.parametrize("form, message", [
    (nf.saddle_node(), "f\\(0, g\\)"),
    (nf.imperfect_pitchfork(), "f\\(0, g\\)"),
    (nf.neimark_sacker(), "scalar maps"),
    (nf.NormalForm("g*h**2"), "vanishes identically"),
    (nf.NormalForm("g*sqrt(h)"), "analytic"),
])
def test_series_refuses_maps_it_cannot_expand(form, message):
    with pytest.raises(ValueError, match=message):
        form.sensitivity_series(order=3)


@pytest.mark.parametrize("order", [0, -1, 2.5, True, 99])
def test_bad_order(order):
    with pytest.raises(ValueError, match="order"):
        nf.pitchfork().sensitivity_series(order=order)


def test_coefficient_index_checked():
    s = nf.pitchfork().sensitivity_series(order=3)
    with pytest.raises(ValueError, match="1..3"):
        s.coefficient(4)


def test_series_prints_readably():
    text = str(nf.pitchfork().sensitivity_series(order=3))
    assert "h_t" in text and "D_g h_t" in text and "O(h0**4)" in text
    assert nf.pitchfork().sensitivity_series(order=3)._repr_latex_().startswith("$")
