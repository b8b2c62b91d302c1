"""Large-T regimes of the linear law against textbook forms and mpmath sums."""

import mpmath
import pytest
import sympy as sp
from hypothesis import assume, given, strategies as st

import normalforms as nf

mpmath.mp.dps = 60


def linear_sum(x, T):
    """sum_{t=1}^T t^2 x^(t-1) in mpmath (independent reference)."""
    x = mpmath.mpf(x)
    return mpmath.fsum(t * t * x ** (t - 1) for t in range(1, T + 1))


# Tails of the |g| < 1 sum are ~ x^T (down to 1e-400 here), far below 60 digits.
WIDE = 700


@pytest.fixture(scope="module")
def regimes():
    return nf.stability_flip().asymptotic_regimes()


def test_derived_forms_equal_the_textbook_ones(regimes):
    g, T = nf.stability_flip().param, nf.T_SYMBOL
    assert sp.simplify(regimes.below.leading - (1 + g**2) / (1 - g**2) ** 3) == 0
    assert regimes.critical.leading == T**3 / 3
    assert sp.simplify(regimes.above.leading - T**2 * g ** (2 * T) / (g**2 - 1)) == 0
    for r in regimes:
        assert r.ratio_limit == 1
    assert sp.expand(regimes.critical.exact - T * (T + 1) * (2 * T + 1) / 6) == 0


@given(T=st.integers(2, 4000))
def test_critical_relative_error_is_at_most_two_over_T(regimes, T):
    ratio = linear_sum(1, T) / (mpmath.mpf(T) ** 3 / 3)
    assert 0 < ratio - 1 <= mpmath.mpf(2) / T
    derived = regimes.critical.relative_error.subs(nf.T_SYMBOL, T)
    assert abs(ratio - 1 - mpmath.mpf(sp.Rational(derived).p) / sp.Rational(derived).q) < mpmath.mpf(10) ** -40


@given(g=st.floats(min_value=0.05, max_value=0.9), T=st.integers(5, 200))
def test_below_one_converges_monotonically_from_below(g, T):
    assume(T * -mpmath.log10(g**2) < 500)  # keep the tail resolvable at WIDE digits
    with mpmath.workdps(WIDE):
        x = mpmath.mpf(g) ** 2
        limit = (1 + x) / (1 - x) ** 3
        s_T, s_next = linear_sum(x, T), linear_sum(x, T + 1)
        assert s_T < s_next < limit


@pytest.mark.parametrize("g", [0.3, 0.7, 0.9])
def test_below_one_tail_matches_derived_correction(regimes, g):
    gs = regimes.form.param
    corr = sp.lambdify((gs, nf.T_SYMBOL), regimes.below.correction, "mpmath")
    with mpmath.workdps(WIDE):
        for T in (150, 300):
            x = mpmath.mpf(g) ** 2
            tail = linear_sum(x, T) - (1 + x) / (1 - x) ** 3
            assert tail < 0
            assert abs(tail / corr(mpmath.mpf(g), T) - 1) < 15 / (T * (1 - g**2))


@given(g=st.floats(min_value=1.05, max_value=2.0), T=st.integers(200, 2000))
def test_above_one_ratio_tends_to_one_like_one_over_T(g, T):
    x = mpmath.mpf(g) ** 2
    lead = mpmath.mpf(T) ** 2 * x**T / (x - 1)
    rel = linear_sum(x, T) / lead - 1
    # derived relative correction: -2 / (T (g^2 - 1))
    assert abs(rel) <= 3 / (T * (x - 1))
    assert abs(rel * T * (x - 1) + 2) < 10 / (T * (x - 1)) + 1e-30


def test_regimes_of_nonlinear_forms_use_their_multiplier():
    r = nf.period_doubling().asymptotic_regimes()
    assert sp.simplify(r.multiplier + r.form.param) == 0
    assert r.critical.leading == nf.T_SYMBOL**3 / 3


def test_regimes_refuse_forms_without_fixed_origin():
    with pytest.raises(ValueError, match="f\\(0, g\\)"):
        nf.saddle_node().asymptotic_regimes()
