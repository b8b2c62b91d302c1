"""||sNTK_g|| closed forms against exact sums."""

from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import given, strategies as st

import normalforms as nf
from conftest import REFERENCE_MAPS, iterate_exact, iterate_jet


def _sp(x):
    return sp.Rational(x.numerator, x.denominator)


@pytest.fixture(scope="module")
def flip_norm():
    return nf.stability_flip().sntk_norm()


def test_flip_norm_is_exact_and_piecewise(flip_norm):
    g, T, M2 = nf.stability_flip().param, nf.T_SYMBOL, sp.Symbol("M_2", real=True)
    assert flip_norm.exact
    assert isinstance(flip_norm.expr, sp.Piecewise)
    crit_expr, crit_cond = flip_norm.expr.args[0]
    assert crit_cond == sp.Eq(g**2, 1)
    assert sp.expand(crit_expr - M2 * T * (T + 1) * (2 * T + 1) / 6) == 0


@given(
    g=st.fractions(min_value=-2, max_value=2, max_denominator=9),
    T=st.integers(1, 12),
    h0s=st.lists(st.fractions(min_value=-1, max_value=1, max_denominator=9), min_size=1, max_size=4),
)
def test_flip_norm_equals_direct_sum_over_batch_and_time(g, T, h0s):
    norm = nf.stability_flip().sntk_norm(ensemble=nf.PointEnsemble([_sp(v) for v in h0s]))
    direct = sum(
        iterate_exact(REFERENCE_MAPS["stability_flip"], h0, g, T)[t][1] ** 2 for h0 in h0s for t in range(1, T + 1)
    )
    assert norm.expr.subs({nf.T_SYMBOL: T, norm.form.param: _sp(g)}) == _sp(direct)


@pytest.mark.parametrize("name, factory", [("pitchfork", nf.pitchfork), ("transcritical", nf.transcritical)])
def test_moment_coefficients_equal_exact_sums(name, factory):
    order = 3
    norm = factory().sntk_norm(order=order, piecewise=False)
    g = norm.form.param
    for gv in (Fraction(1, 2), Fraction(6, 5)):
        for T in (1, 4, 7):
            jets = iterate_jet(REFERENCE_MAPS[name], gv, T, order)
            value = norm.generic.subs({g: _sp(gv), nf.T_SYMBOL: T})
            for n in range(2, order + 2):
                ref = sum(jets[t][1][k] * jets[t][1][n - k] for t in range(1, T + 1) for k in range(1, n))
                assert sp.expand(value).coeff(sp.Symbol(f"M_{n}", real=True)) == _sp(ref)


def test_pitchfork_and_period_doubling_norms_coincide():
    a = nf.pitchfork().sntk_norm(order=5, piecewise=False).generic
    b = nf.period_doubling().sntk_norm(order=5, piecewise=False).generic
    g = nf.pitchfork().param
    for gv in (sp.Rational(1, 3), sp.Rational(7, 5)):
        for T in (3, 8):
            assert sp.simplify((a - b).subs({g: gv, nf.T_SYMBOL: T})) == 0


def test_pitchfork_norm_at_g_star_matches_resolved_branch():
    norm = nf.pitchfork().sntk_norm(order=3)
    g = norm.form.param
    at_one = norm.expr.subs(g, 1)
    jets = {T: iterate_jet(REFERENCE_MAPS["pitchfork"], 1, T, 3) for T in (2, 5)}
    for T, jet in jets.items():
        value = sp.expand(at_one.subs(nf.T_SYMBOL, T))
        ref_m2 = sum(jet[t][1][1] ** 2 for t in range(1, T + 1))
        ref_m4 = sum(2 * jet[t][1][1] * jet[t][1][3] for t in range(1, T + 1))
        assert value.coeff(sp.Symbol("M_2", real=True)) == ref_m2
        assert value.coeff(sp.Symbol("M_4", real=True)) == ref_m4


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_ensemble_moments_against_quadrature(n):
    mpmath.mp.dps = 30
    a = mpmath.mpf(1) / 10
    uniform = mpmath.quad(lambda x: x**n / (2 * a), [-a, a])
    assert abs(float(nf.UniformEnsemble("1/10").moment(n)) - float(uniform)) < 1e-25 + 1e-12 * abs(float(uniform))
    s = mpmath.mpf(1) / 3
    gauss = mpmath.quad(lambda x: x**n * mpmath.npdf(x, 0, s), [-mpmath.inf, mpmath.inf])
    assert abs(float(nf.GaussianEnsemble("1/3").moment(n)) - float(gauss)) < 1e-12 * max(1, abs(float(gauss)))


@pytest.mark.parametrize("bad", [0, -1, "oo", "nan"])
def test_bad_ensembles(bad):
    with pytest.raises(ValueError):
        nf.UniformEnsemble(bad)
    with pytest.raises(ValueError):
        nf.GaussianEnsemble(bad)


def test_point_ensemble_rejects_empty_and_non_finite():
    with pytest.raises(ValueError, match="at least one"):
        nf.PointEnsemble([])
    with pytest.raises(ValueError, match="finite"):
        nf.PointEnsemble([1, "oo"])


def test_bad_horizon():
    with pytest.raises(ValueError, match="T must be"):
        nf.stability_flip().sntk_norm(T=0)
    with pytest.raises(ValueError, match="T must be"):
        nf.stability_flip().sntk_norm().at_T(-2)


def test_numeric_horizon_is_substituted():
    import normalforms as nf
    import sympy as sp

    law = nf.pitchfork().sntk_norm(T=4, order=3)
    assert nf.T_SYMBOL not in law.expr.free_symbols
    g = nf.pitchfork().param
    generic = nf.pitchfork().sntk_norm(order=3).at_T(4)
    assert sp.simplify((law.expr - generic).subs(g, sp.Rational(1, 3))) == 0
    tau = sp.Symbol("tau", positive=True)
    assert tau in nf.stability_flip().sntk_norm(T=tau).expr.free_symbols
