"""numerics.sweep / trajectories against independent references.

References: the exact closed form of the symbolic layer (stability flip,
evaluated by mpmath at 40 digits), direct Fraction/dual-number iteration
(conftest), the mpmath path ``numerics.reference`` (lambdify, no kernel
code), central finite differences, and the conjugacy / symmetry identities
of the catalogue maps.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

import normalforms as nf
import numerics
from tests.conftest import REFERENCE_MAPS, iterate_exact

FLIP = nf.stability_flip()
PITCHFORK = nf.pitchfork()


def exact_flip_norm(g: float, T: int, h0: np.ndarray) -> mpmath.mpf:
    """The symbolic layer's closed form (Piecewise in g and T), at 40 digits."""
    law = FLIP.sntk_norm(ensemble=nf.PointEnsemble([Fraction(float(v)) for v in h0]))
    expr = law.expr.subs({law.T: T, FLIP.param: sp.Rational(Fraction(float(g)))})
    return mpmath.mpf(str(sp.N(expr, 40)))


@given(
    g=st.floats(-1.6, 1.6, allow_nan=False),
    T=st.integers(1, 60),
    h0=st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=6),
)
def test_stability_flip_equals_symbolic_closed_form(g, T, h0):
    h0 = np.array(h0)
    assume(np.any(np.abs(h0) > 1e-3) and abs(g) > 1e-3)
    ref = exact_flip_norm(g, T, h0)
    got = numerics.sweep(FLIP, [g], T, h0, progress=False).norm[0]
    assert abs(got - float(ref)) <= 1e-12 * float(ref)


@pytest.mark.parametrize("g", [1.0, -1.0])
def test_stability_flip_at_resonance_is_T_cubed_law(g):
    h0 = np.array([0.3, -0.7])
    T = 40
    ref = exact_flip_norm(g, T, h0)  # the g^2 = 1 branch: M2 T(T+1)(2T+1)/6
    assert float(ref) == pytest.approx(float(np.sum(h0**2)) * T * (T + 1) * (2 * T + 1) / 6, rel=1e-14)
    assert numerics.sweep(FLIP, [g], T, h0, progress=False).norm[0] == pytest.approx(float(ref), rel=1e-13)


# transcritical is left out: its negative ICs escape for g near 1 (tested below).
NON_ESCAPING = ["stability_flip", "pitchfork", "period_doubling", "imperfect_pitchfork", "neimark_sacker",
                "saddle_node"]


@pytest.mark.parametrize("name", NON_ESCAPING)
def test_every_catalogue_form_matches_mpmath_reference(name):
    form = nf.catalog()[name]
    # the saddle node's negative ICs escape for g <= 1 (through the bottleneck)
    g = np.array([0.8, 0.97, 1.0, 1.03, 1.3]) if name != "saddle_node" else np.array([1.1, 1.3, 1.6])
    rng = np.random.default_rng(1)
    h0 = numerics.uniform_ics(0.1, 12, rng, dim=form.dim)
    res = numerics.sweep(form, g, 30, h0, profile=True, progress=False)
    ref = numerics.reference(form, g, 30, h0, dps=40)
    assert res.escaped.tolist() == ref.escaped == [0] * g.size
    for got, want, prof, want_prof in zip(res.norm, ref.norm, res.profile, ref.profile):
        assert abs(got - float(want)) <= 1e-10 * float(want)
        np.testing.assert_allclose(prof, [float(v) for v in want_prof], rtol=1e-10)


@pytest.mark.filterwarnings("ignore:every trajectory escaped")
@pytest.mark.parametrize("name", ["pitchfork", "saddle_node", "transcritical"])
def test_escaped_trajectories_are_counted_and_excluded(name):
    form = nf.catalog()[name]
    h0 = np.array([0.05, -0.08, 2.5, -3.0, 0.02])
    g = np.array([0.9, 1.2])
    res = numerics.sweep(form, g, 30, h0, profile=True, progress=False)
    ref = numerics.reference(form, g, 30, h0, dps=30)
    assert res.escaped.tolist() == ref.escaped and sum(ref.escaped) > 0
    np.testing.assert_allclose(res.norm, [float(v) for v in ref.norm], rtol=1e-10)
    np.testing.assert_allclose(res.profile.sum(axis=1), res.norm, rtol=1e-12)
    assert np.all(np.isfinite(res.norm)) and np.all(np.isfinite(res.profile))


def test_all_escaped_gives_zero_norm_and_a_warning():
    with pytest.warns(RuntimeWarning, match="every trajectory escaped"):
        res = numerics.sweep(PITCHFORK, [1.0], 10, [5.0, -6.0], progress=False)
    assert res.norm[0] == 0 and res.escaped[0] == 2 and np.isnan(res.mean[0])


def test_domain_error_is_reported_not_returned():
    form = nf.NormalForm("g*sqrt(h) - h", name="sqrt map")
    with pytest.raises(FloatingPointError, match="NaN inside the escape radius"):
        numerics.sweep(form, [1.0], 5, [0.5, -0.5], progress=False)


def test_stability_flip_long_horizon_gives_exact_log_norm():
    h0 = np.array([0.05, -0.1, 0.07])
    with pytest.warns(numerics.NumericalOverflowWarning, match="log_norm"):
        res = numerics.sweep(FLIP, [1.5, 0.9], 2000, h0, profile=True, progress=False)
    assert res.overflowed.tolist() == [True, False]
    assert np.isinf(res.norm[0]) and np.all(np.isfinite(res.log_norm))
    with mpmath.workdps(40):
        m2 = mpmath.fsum(mpmath.mpf(float(v)) ** 2 for v in h0)
        for gv, got in zip([1.5, 0.9], res.log_norm):
            exact = m2 * mpmath.fsum(t * t * mpmath.mpf(gv) ** (2 * t - 2) for t in range(1, 2001))
            assert got == pytest.approx(float(mpmath.log(exact)), rel=1e-13)
        last = m2 * 2000**2 * mpmath.mpf(1.5) ** 3998
        assert res.log_profile[0, -1] == pytest.approx(float(mpmath.log(last)), rel=1e-13)


def test_rescaling_of_a_non_homogeneous_map_is_exact():
    """h' = g h + g is not homogeneous in h, so only D_g h is rescaled (f_g
    carries the running scale).  h_t = (g^(t+1) - g)/(g - 1), hence
    D_g h_t = [((t+1) g^t - 1)(g - 1) - (g^(t+1) - g)] / (g - 1)^2 (by hand)."""
    form = nf.NormalForm("g*h + g", name="affine")
    T = 1800
    with pytest.warns(numerics.NumericalOverflowWarning):
        res = numerics.sweep(form, [1.4], T, [0.0], escape_radius=math.inf, progress=False)
    with mpmath.workdps(60):
        g = mpmath.mpf(1.4)
        d = lambda t: (((t + 1) * g**t - 1) * (g - 1) - (g ** (t + 1) - g)) / (g - 1) ** 2
        total = mpmath.fsum(d(t) ** 2 for t in range(1, T + 1))
    assert res.log_norm[0] == pytest.approx(float(mpmath.log(total)), rel=1e-12)


def test_period_doubling_and_pitchfork_norms_coincide():
    h0 = numerics.uniform_ics(0.1, 5000, seed=3)
    g = np.linspace(0.5, 1.5, 41)
    a = numerics.sweep(PITCHFORK, g, 30, h0, progress=False)
    b = numerics.sweep(nf.period_doubling(), g, 30, h0, progress=False)
    np.testing.assert_allclose(a.norm, b.norm, rtol=1e-14)


@pytest.mark.parametrize("name", ["stability_flip", "pitchfork", "period_doubling"])
def test_odd_maps_are_invariant_under_reflection(name):
    form = nf.catalog()[name]
    h0 = numerics.uniform_ics(0.1, 3000, seed=4)
    g = np.linspace(0.6, 1.4, 17)
    np.testing.assert_array_equal(numerics.sweep(form, g, 25, h0, progress=False).norm,
                                  numerics.sweep(form, g, 25, -h0, progress=False).norm)


def test_trajectories_match_exact_iteration():
    # dyadic inputs are exact in float64; the cubic map squares denominators'
    # bit length each step, so T stays small for the exact reference.
    g, T = 1.25, 7
    h0 = [0.3125, -0.4375, 0.015625]
    tr = numerics.trajectories(PITCHFORK, [g], T, h0)
    for b, x in enumerate(h0):
        exact = iterate_exact(REFERENCE_MAPS["pitchfork"], Fraction(x), Fraction(g), T)
        np.testing.assert_allclose(tr.h[0, :, b], [float(h) for h, _ in exact], rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(tr.dg_h[0, :, b], [float(d) for _, d in exact], rtol=1e-12, atol=1e-300)


def test_trajectories_mark_escapes_with_their_step():
    tr = numerics.trajectories(PITCHFORK, [1.0], 8, [0.1, 3.0], escape_radius=1e6)
    assert tr.escape_step[0, 0] == -1 and tr.escape_step[0, 1] > 0
    k = tr.escape_step[0, 1]
    assert np.all(np.isnan(tr.h[0, k:, 1])) and np.all(np.isfinite(tr.h[0, :k, 1]))
    assert abs(tr.h[0, k - 1, 1]) <= 1e6


def test_sensitivity_equals_central_difference_at_second_order():
    """(h_T(g+e) - h_T(g-e)) / 2e - D_g h_T = O(e^2): the error falls 4x per halving."""
    g, T = 1.15, 20
    h0 = [0.08, -0.05]
    exact = numerics.trajectories(PITCHFORK, [g], T, h0).dg_h[0, T]
    errors = []
    for eps in (4e-3, 2e-3, 1e-3):
        up = numerics.trajectories(PITCHFORK, [g + eps], T, h0).h[0, T]
        down = numerics.trajectories(PITCHFORK, [g - eps], T, h0).h[0, T]
        errors.append(np.abs((up - down) / (2 * eps) - exact))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.6) & (ratios < 4.4)), ratios


def test_series_of_the_symbolic_layer_matches_with_error_at_next_order():
    """sntk_norm(order=3) keeps D_g h to O(h0^3): the norm's error is O(a^6),
    so it falls ~64x when the amplitude a halves."""
    g, T = 0.9, 15
    base = [Fraction(1), Fraction(-3, 5), Fraction(3, 10), Fraction(17, 20)]
    errs = []
    for a in (Fraction(2, 25), Fraction(1, 25), Fraction(1, 50)):
        h0 = [a * v for v in base]  # small exact rationals keep sympy fast
        series = PITCHFORK.sntk_norm(T=T, order=3, ensemble=nf.PointEnsemble(h0))
        predicted = float(sp.N(series.expr.subs(PITCHFORK.param, sp.Rational(9, 10)), 30))
        numeric = numerics.sweep(PITCHFORK, [g], T, [float(v) for v in h0], progress=False).norm[0]
        errs.append(abs(numeric - predicted) / numeric)
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    # relative error O(a^4): 16x per halving
    assert np.all((ratios > 12) & (ratios < 20)), (errs, ratios)


def test_threads_and_ensemble_splitting_do_not_change_results():
    h0 = numerics.uniform_ics(0.1, 3001, seed=5)
    g = np.linspace(0.8, 1.2, 9)
    one = numerics.sweep(PITCHFORK, g, 30, h0, threads=1, progress=False).norm
    two = numerics.sweep(PITCHFORK, g, 30, h0, threads=2, progress=False).norm
    single = [numerics.sweep(PITCHFORK, [gv], 30, h0, threads=2, progress=False).norm[0] for gv in g]
    np.testing.assert_allclose(one, two, rtol=1e-14)
    np.testing.assert_allclose(single, one, rtol=1e-13)


def test_vector_form_matches_reference_and_reports_shape_errors():
    form = nf.neimark_sacker()
    h0 = numerics.gaussian_ics(0.05, 7, seed=6, dim=2)
    res = numerics.sweep(form, [0.95, 1.05], 40, h0, progress=False)
    ref = numerics.reference(form, [0.95, 1.05], 40, h0, dps=30)
    np.testing.assert_allclose(res.norm, [float(v) for v in ref.norm], rtol=1e-10)
    with pytest.raises(ValueError, match=r"pass shape \(B, 2\)"):
        numerics.sweep(form, [1.0], 10, [0.1, 0.2, 0.3])


def test_per_sample_mean_and_csv(tmp_path):
    h0 = numerics.uniform_ics(0.05, 100, seed=7)
    res = numerics.sweep(PITCHFORK, [0.9, 1.0, 1.1], 30, h0, profile=True, progress=False)
    np.testing.assert_allclose(res.mean, res.norm / 100, rtol=1e-15)
    path = res.to_csv(tmp_path / "sweep.csv")
    rows = path.read_text().splitlines()
    assert rows[0].startswith("g,norm,log_norm,mean,escaped,t1") and len(rows) == 4
    assert float(rows[2].split(",")[1]) == res.norm[1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(g=[]), "empty"),
        (dict(g=[1.0, np.nan]), "non-finite"),
        (dict(g=[[1.0, 2.0]]), "1-D"),
        (dict(T=0), "T must be >= 1"),
        (dict(T=2.5), "positive integer"),
        (dict(h0=[0.1, np.inf]), "non-finite initial conditions"),
        (dict(h0=[]), "empty"),
        (dict(h0=np.zeros((3, 2))), r"pass shape \(B, 1\)"),
        (dict(escape_radius=-1.0), "escape_radius"),
        (dict(threads=0), "threads must be a positive integer"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, match):
    args = dict(form=PITCHFORK, g=[1.0], T=10, h0=[0.1])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        numerics.sweep(**args)


def test_trajectories_refuse_bad_thread_counts():
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        numerics.trajectories(PITCHFORK, [1.0], 3, [0.1], threads=0)


def test_non_form_is_refused():
    with pytest.raises(TypeError, match="NormalForm"):
        numerics.sweep("g*h - h**3", [1.0], 10, [0.1])


def test_ic_helpers_are_seeded():
    a = numerics.uniform_ics(0.1, 50, seed=11)
    assert np.array_equal(a, numerics.uniform_ics(0.1, 50, seed=11)) and np.abs(a).max() <= 0.1
    assert numerics.gaussian_ics(0.2, 10, np.random.default_rng(1), dim=3).shape == (10, 3)
    with pytest.raises(TypeError, match="seed"):
        numerics.uniform_ics(0.1, 5, seed=None)
    with pytest.raises(ValueError, match="half-width"):
        numerics.uniform_ics(-0.1, 5, seed=0)


def test_no_warnings_in_the_ordinary_case():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numerics.sweep(PITCHFORK, np.linspace(0.5, 1.5, 11), 30, numerics.uniform_ics(0.1, 500, seed=0),
                       progress=False)
