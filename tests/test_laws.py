"""normalforms.verify_law / assert_law / strategies.

References are independent of the code under test: textbook sums
(sum_{t=1}^T t^2 = T(T+1)(2T+1)/6, sum t^2 x^(t-1) -> (1+x)/(1-x)^3), and
planted quantities Q = c T^p b^T L whose ratio to L is known exactly.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import normalforms as nf
from normalforms import strategies as nfs
from paper_checks.cli import main

FLIP = nf.stability_flip()
g = FLIP.param


# --- the paper's section 3 statements, and planted wrong laws -------------------------------------

def test_cubic_law_holds_at_g_equal_one():
    v = nf.verify_law(FLIP, "T**3/3", "g = 1")
    assert v.status == nf.LawStatus.HOLDS and bool(v)
    # T(T+1)(2T+1)/6 / (T^3/3) = 1 + 3/(2T) + ...: the approach is like 1/T
    assert v.points[0].rate == pytest.approx(1, abs=0.05)


def test_wrong_constant_is_measured_exactly():
    # sum t^2 / (T^3/4) -> 4/3
    v = nf.verify_law(FLIP, "T**3/4", "g = 1")
    assert v.status == nf.LawStatus.WRONG_CONSTANT and not v
    assert v.points[0].limit == pytest.approx(float(Fraction(4, 3)), rel=1e-9)


def test_the_papers_law_above_one_has_the_wrong_sign():
    v = nf.verify_law(FLIP, "T**2*g**(2*T)/(1 - g**2)", "g > 1")
    assert v.status == nf.LawStatus.WRONG_CONSTANT
    assert all(p.limit == pytest.approx(-1, abs=1e-9) for p in v.points)
    assert "wrong sign" in v.worst.describe()


def test_missing_power_is_fitted():
    # S_T / g^(2T) ~ T^2/(g^2 - 1): the law O(g^(2T)) misses T^2
    v = nf.verify_law(FLIP, "g**(2*T)", "g > 1")
    assert v.status == nf.LawStatus.WRONG_ORDER
    assert all(p.power == pytest.approx(2, abs=0.05) for p in v.points)
    assert "T^2" in v.worst.describe()


def test_missing_exponential_is_fitted():
    # law T^2 (11 g/10)^(2T)/(g^2-1): the ratio is exactly (10/11)^(2T) times 1 + O(1/T)
    v = nf.verify_law(FLIP, "T**2*(11*g/10)**(2*T)/(g**2 - 1)", "g > 1", values=["3/2"])
    assert v.status == nf.LawStatus.WRONG_ORDER
    assert v.points[0].base == pytest.approx(100 / 121, rel=1e-6)


def test_cubic_law_below_one_misses_t_to_the_minus_three_and_the_precise_law_is_attached():
    v = nf.verify_law(FLIP, "T**3/3", "abs(g) < 1")
    assert v.status == nf.LawStatus.WRONG_ORDER
    assert all(p.power == pytest.approx(-3, abs=0.05) for p in v.points)
    # sum_{t>=1} t^2 x^(t-1) = (1 + x)/(1 - x)^3 at x = g^2
    assert sp.simplify(v.precise - (1 + g**2) / (1 - g**2) ** 3) == 0


def test_precise_laws_hold_in_every_regime():
    assert nf.verify_law(FLIP, "(1 + g**2)/(1 - g**2)**3", "abs(g) < 1")
    assert nf.verify_law(FLIP, "T**2*g**(2*T)/(g**2 - 1)", "abs(g) > 1")


def test_log_factors_are_recognised():
    v = nf.verify_law(FLIP, "T**3*log(T)/3", "g = 1")
    assert v.status == nf.LawStatus.WRONG_ORDER
    assert v.points[0].log_power == pytest.approx(-1, abs=0.05)


def test_close_to_the_edge_is_undecided_not_wrong():
    # at g = 1 - 1e-6, T (1 - g) is only ~2 at T = 2e6: mid-crossover from T^3/3 to the limit
    v = nf.verify_law(FLIP, "T**3/3", "abs(g) < 1", values=["999999/1000000"])
    assert v.status == nf.LawStatus.UNDECIDED
    assert "not settled" in v.worst.describe()
    # far enough inside, the same law is decided
    assert nf.verify_law(FLIP, "T**3/3", "abs(g) < 1", values=["9999/10000"]).status == nf.LawStatus.WRONG_ORDER


def test_a_missing_sign_alternation_is_caught_by_odd_horizons():
    # h_T = (-g)^T h0 for the map -g h; the law g^T misses (-1)^T, invisible at even T alone
    form = nf.NormalForm.from_expr("-g*h", state="h", param="g")
    v = nf.verify_law(form, "g**T", "0 < g < 2", quantity="h", values=["1/2"])
    assert v.status == nf.LawStatus.NOT_ASYMPTOTIC and v.points[0].alternates
    assert nf.verify_law(form, "(-g)**T", "0 < g < 2", quantity="h", values=["1/2"])


def test_oscillating_ratio_is_not_asymptotic():
    v = nf.verify_law("g*T*(2 + sin(T))", "g*T", "g = 1")
    assert v.status == nf.LawStatus.NOT_ASYMPTOTIC


def test_sensitivity_quantity():
    # D_g h_T = T g^(T-1) h0 exactly, for every g (at g = 0 both vanish: exact agreement)
    assert nf.verify_law(FLIP, "T*g**(T - 1)", "abs(g) < 2", quantity="dg_h")
    v = nf.verify_law(FLIP, "T*g**T", "g > 0", quantity="dg_h", values=["1/2"])
    assert v.points[0].limit == pytest.approx(2, rel=1e-12)  # beyond T ~ 1075 float64 would underflow


def test_nonlinear_form_uses_the_small_amplitude_norm():
    v = nf.verify_law(nf.pitchfork(), "T**3/3", "g = 1")
    assert v and "leading order" in v.quantity and v.notes


@settings(max_examples=25, deadline=None)
@given(c=st.fractions(min_value=-5, max_value=5, max_denominator=7).filter(lambda f: f not in (0, 1)),
       p=st.integers(min_value=-3, max_value=3))
def test_planted_constant_and_power(c, p):
    """Q = c T^p L with L = g T^2 + 1: the verdict recovers c (p = 0) or p exactly."""
    c = sp.Rational(c.numerator, c.denominator)
    T = nf.T_SYMBOL
    L = g * T**2 + 1
    v = nf.verify_law(c * T**p * L, L, "1 < g < 2", values=["3/2"])
    assert v.status == nf.LawStatus.WRONG_ORDER if p else v.status == nf.LawStatus.WRONG_CONSTANT
    point = v.points[0]
    if p:
        assert point.power == pytest.approx(p, abs=1e-6)
    else:
        assert point.limit == pytest.approx(float(c), rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(q=st.integers(min_value=1, max_value=3))
def test_planted_rate_of_approach(q):
    T = nf.T_SYMBOL
    v = nf.verify_law(g * T**2 * (1 + 1 / T**q), g * T**2, "g = 2")
    assert v and v.points[0].rate == pytest.approx(q, abs=0.05)


# --- regimes, strategies, reproducibility --------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(value=nfs.parameters("1 < g < 2"))
def test_parameters_stay_inside_the_regime(value):
    assert isinstance(value, sp.Rational) and 1 < value < 2


@settings(max_examples=40, deadline=None)
@given(value=nfs.parameters("abs(g) > 1", bound=3))
def test_parameters_cover_a_union(value):
    assert 1 < abs(value) <= 3


@settings(max_examples=5, deadline=None)
@given(value=nfs.parameters("g = 1"))
def test_parameters_of_a_point_regime(value):
    assert value == 1


@settings(max_examples=15, deadline=None)
@given(value=nfs.parameters("abs(g) < 1", margin=0.05))
def test_the_limit_law_holds_at_every_drawn_value(value):
    # textbook sum, independently typed: sum t^2 x^(t-1) -> (1 + x)/(1 - x)^3 with x = g^2
    assert nf.verify_law(FLIP, "(1 + g**2)/(1 - g**2)**3", "abs(g) < 1", values=[value])


def test_strategy_draws_are_reproducible():
    strategy = nfs.parameters("g > 1", bound=3)
    a = nf.verify_law(FLIP, "T**2*g**(2*T)/(g**2 - 1)", "g > 1", strategy=strategy, draws=10, seed=3)
    b = nf.verify_law(FLIP, "T**2*g**(2*T)/(g**2 - 1)", "g > 1", strategy=strategy, draws=10, seed=3)
    assert a and [p.value for p in a.points] == [p.value for p in b.points]
    assert all(1 < p.value <= 3 for p in a.points)


@pytest.mark.parametrize("kind", ["fold", "transcritical", "pitchfork", "flip"])
def test_polynomial_maps_have_the_bifurcation_at_g_star(kind):
    """Checked from the derivatives at (0, g*) -- the textbook conditions -- not by the toolkit's classifier."""
    h = sp.Symbol("h", real=True)

    @settings(max_examples=20, deadline=None)
    @given(nfs.polynomial_maps(kind, g_star=sp.Rational(1, 2)))
    def check(form):
        f = form.rhs[0].subs(form.state[0], h)
        at = {h: 0, form.param: sp.Rational(1, 2)}
        fh = sp.diff(f, h).subs(at)
        if kind == "fold":
            assert f.subs(at) == 0 and fh == 1 and sp.diff(f, form.param).subs(at) != 0
            assert sp.diff(f, h, 2).subs(at) != 0
        elif kind == "transcritical":
            assert fh == 1 and sp.diff(f, h, 2).subs(at) != 0 and sp.diff(f, h, form.param).subs(at) != 0
        elif kind == "pitchfork":
            assert fh == 1 and sp.diff(f, h, 2).subs(at) == 0 and sp.diff(f, h, 3).subs(at) != 0
            assert sp.diff(f, h, form.param).subs(at) != 0
        else:
            assert fh == -1 and sp.diff(f, h, form.param).subs(at) != 0

    check()


@pytest.mark.parametrize("kind", ["fold", "transcritical", "pitchfork", "flip"])
def test_polynomial_maps_are_classified_as_drawn(kind):
    @settings(max_examples=5, deadline=None)
    @given(nfs.polynomial_maps(kind, g_star=1, max_degree=3))
    def check(form):
        events = [b for b in nf.bifurcations(form) if b.parameter_value == 1 and all(x == 0 for x in b.point)]
        assert events and events[0].kind == kind

    check()


# --- errors, assert_law, CLI ----------------------------------------------------------------------

@pytest.mark.parametrize("regime", ["g <", "__import__('os').system('true')", "g > 1 or g < 0", "g > 2 and g < 1"])
def test_bad_regimes_are_refused_with_a_message(regime):
    with pytest.raises(ValueError, match="regime"):
        nf.verify_law(FLIP, "T**3/3", regime)


def test_bad_law_is_refused():
    with pytest.raises(ValueError, match="law"):
        nf.verify_law(FLIP, "().__class__", "g = 1")


def test_assert_law_raises_with_the_verdict():
    assert nf.assert_law(FLIP, "T**3/3", "g = 1")
    with pytest.raises(AssertionError, match="wrong constant"):
        nf.assert_law(FLIP, "T**2*g**(2*T)/(1 - g**2)", "g > 1")


def test_cli_exit_status(capsys):
    assert main(["verify", "stability_flip", "--law", "T**3/3", "--regime", "g = 1"]) == 0
    assert "holds" in capsys.readouterr().out
    assert main(["verify", "stability_flip", "--law", "T**3/3", "--regime", "abs(g) < 1"]) == 1
    out = capsys.readouterr().out
    assert "wrong order" in out and "precise law" in out
    assert main(["verify", "--map", "g*h", "--law", "T**3/3", "--regime", "g = 1", "--draws", "3"]) == 0
    assert main(["verify", "stability_flip", "--law", "import os", "--regime", "g = 1"]) == 2


# --- amplitude, ensembles, and every derivable law of the catalogue ---------------------------------

def test_laws_in_h0_are_tested_at_two_amplitudes():
    # ||sNTK_g|| = h0^2 sum t^2 at g = 1 for the linear map
    assert nf.verify_law(FLIP, "h0**2*T**3/3", "g = 1")
    v = nf.verify_law(FLIP, "h0*T**3/3", "g = 1")
    assert v.status == nf.LawStatus.WRONG_ORDER and v.points[0].h0_power == pytest.approx(1, abs=1e-9)
    # the pitchfork's leading-order sensitivity is the linear map's, h0 T g^(T-1)
    assert nf.verify_law(nf.pitchfork(), "h0*T*g**(T - 1)", "abs(g) < 1 and small h0", quantity="dg_h")


def test_ensemble_norm_carries_the_second_moment():
    # uniform on [-a, a]: E h0^2 = a^2/3; at g = 1 the norm is E h0^2 * T^3/3 to leading order
    a = sp.Rational(1, 10)
    assert nf.verify_law(FLIP, "T**3/900", "g = 1", ensemble=nf.UniformEnsemble(a))
    v = nf.verify_law(FLIP, "T**3/3", "g = 1", ensemble=nf.UniformEnsemble(a))
    assert v.points[0].limit == pytest.approx(1 / 300, rel=1e-9)
    with pytest.raises(ValueError, match="ensemble"):
        nf.verify_law(FLIP, "h0**2*T**3/3", "g = 1", ensemble=nf.UniformEnsemble(a))


def test_small_h0_alone_is_not_a_regime():
    with pytest.raises(ValueError, match="parameter values"):
        nf.verify_law(FLIP, "T", "small h0")


@pytest.mark.parametrize("name", ["stability_flip", "pitchfork", "period_doubling", "transcritical"])
def test_every_catalogue_law_passes_in_its_regime(name):
    """Every form with an h0 = 0 branch: the three textbook laws of sum_t t^2 g^(2(t-1)), typed here."""
    form = nf.catalog()[name]
    assert nf.verify_law(form, "(1 + g**2)/(1 - g**2)**3", "abs(g) < 1")
    assert nf.verify_law(form, "T**3/3", "g = 1")
    assert nf.verify_law(form, "T**3/3", "g = -1")
    assert nf.verify_law(form, "T**2*g**(2*T)/(g**2 - 1)", "abs(g) > 1")
