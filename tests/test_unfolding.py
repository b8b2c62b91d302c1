"""The cusp, bifurcation curves in a parameter plane, and D_theta h_t for a parameter vector.

References: the textbook cusp (Kuznetsov, Elements of applied bifurcation theory, sec. 8.2:
fold curves 27 b1^2 = 4 b2^3), the fixed-point and multiplier conditions checked in exact
rational arithmetic on points of each curve, root counts of h^3 - b2 h - b1 by numpy, the
imperfect pitchfork's documented fold g = 1 + 3 (|eps|/2)^(2/3), and central finite differences
of h_t iterated in mpmath at 40 digits.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import normalforms as nf


def test_the_cusp_and_its_imperfect_pitchfork_slice():
    b1, b2, h, g, eps = sp.symbols("b1 b2 h g eps", real=True)
    cusp = nf.cusp(param="b2", b1=sp.Rational(1, 7))
    assert sp.expand(cusp.structure[0] - (b1 + (1 + b2) * h - h**3)) == 0
    assert cusp.param == b2 and cusp.constants == {"b1": sp.Rational(1, 7)}
    ip = nf.imperfect_pitchfork(sp.Rational(1, 7))
    # the slice b2 = g - 1, b1 = eps of the cusp is the imperfect pitchfork, value for value
    sliced = cusp.rhs[0].xreplace({b2: g - 1})
    assert sp.expand(sliced - ip.rhs[0]) == 0
    assert nf.cusp().g_star == 0 and nf.cusp(b2=1).g_star is None
    with pytest.raises(ValueError, match="'b1' or 'b2'"):
        nf.cusp(param="g")


def test_cusp_fold_curves_are_the_textbook_ones_and_satisfy_the_conditions_exactly():
    c = nf.bifurcation_curves(nf.cusp(), "b1", "b2")
    b1, b2, h = sp.symbols("b1 b2 h", real=True)
    assert sp.expand(c.implicit - (27 * b1**2 - 4 * b2**3)) == 0
    f = b1 + (1 + b2) * h - h**3
    for x, y in c.branches:
        for hv in (sp.Rational(-3, 2), sp.Rational(1, 3), sp.Rational(2, 5)):
            point = {b1: x.subs(c.state, hv), b2: y.subs(c.state, hv), h: hv}
            assert f.subs(point) == hv and sp.diff(f, h).subs(point) == 1
            assert c.implicit.subs(point) == 0


@pytest.mark.parametrize("b1, b2, roots", [(0.0, 0.5, 3), (0.05, 0.5, 3), (0.3, 0.5, 1), (0.1, -0.2, 1)])
def test_inside_the_cusp_three_fixed_points_outside_one(b1, b2, roots):
    real = np.roots([1.0, 0.0, -b2, -b1])
    assert np.sum(np.abs(real.imag) < 1e-12) == roots
    inside = 27 * b1**2 < 4 * b2**3
    c = nf.bifurcation_curves(nf.cusp(), "b1", "b2")
    sign = float(c.implicit.subs({c.x: b1, c.y: b2}))
    assert (sign < 0) == inside == (roots == 3)


def test_imperfect_pitchfork_fold_and_flip_curves_in_g_eps():
    fold = nf.bifurcation_curves(nf.imperfect_pitchfork(), "g", "eps")
    eps = 0.01
    hstar = -np.cbrt(eps / 2)  # eps = -2 h^3 on the fold
    (branch,) = fold.points([hstar])
    x, y = branch[0]
    assert y == pytest.approx(eps, rel=1e-12)
    assert x == pytest.approx(1 + 3 * (abs(eps) / 2) ** (2 / 3), rel=1e-12)  # the documented g_fold
    flip = nf.bifurcation_curves(nf.imperfect_pitchfork(), "g", "eps", kind="flip")
    g, e, h = sp.symbols("g eps h", real=True)
    f = g * h - h**3 + e
    for x, y in flip.branches:
        point = {g: x.subs(flip.state, sp.Rational(1, 5)), e: y.subs(flip.state, sp.Rational(1, 5)),
                 h: sp.Rational(1, 5)}
        assert f.subs(point) == point[h] and sp.diff(f, h).subs(point) == -1


def test_bad_planes_are_refused():
    with pytest.raises(ValueError, match="not a parameter"):
        nf.bifurcation_curves(nf.cusp(), "b1", "c")
    with pytest.raises(ValueError, match="two different"):
        nf.bifurcation_curves(nf.cusp(), "b1", "b1")
    with pytest.raises(ValueError, match="'fold'"):
        nf.bifurcation_curves(nf.cusp(), "b1", "b2", kind="hopf")
    with pytest.raises(ValueError, match="scalar"):
        nf.bifurcation_curves(nf.NormalForm(["g*x + c*y", "x"], state="x y", constants={"c": 1}), "g", "c")


def _h_T(theta: dict, T: int, h0) -> list:
    """h_1..h_T of h' = g h - h^3 + eps at 40 digits."""
    with mp.workdps(40):
        h, out = mp.mpf(h0), []
        for _ in range(T):
            h = theta["g"] * h - h**3 + theta["eps"]
            out.append(h)
        return out


def test_parameter_sensitivities_are_the_finite_difference_derivatives():
    T, h0, at = 5, sp.Rational(3, 10), {"g": sp.Rational(11, 10), "eps": sp.Rational(1, 50)}
    s = nf.parameter_sensitivities(nf.imperfect_pitchfork(), ["g", "eps"], T=T, h0=h0, at=at)
    delta = mp.mpf("1e-15")
    with mp.workdps(40):
        base = {k: mp.mpf(sp.Rational(v).p) / sp.Rational(v).q for k, v in at.items()}
        for j, name in enumerate(("g", "eps")):
            up = _h_T({**base, name: base[name] + delta}, T, mp.mpf(3) / 10)
            dn = _h_T({**base, name: base[name] - delta}, T, mp.mpf(3) / 10)
            for t in range(1, T + 1):
                fd = (up[t - 1] - dn[t - 1]) / (2 * delta)
                exact = s.J[t][0, j]  # a number: differentiated symbolically, then evaluated at `at`
                assert float(exact) == pytest.approx(float(fd), rel=1e-12)


def test_one_parameter_is_unrolls_dg_h_and_the_kernels_share_their_spectrum():
    form = nf.pitchfork()
    s = nf.parameter_sensitivities(form, ["g"], T=4)
    u = nf.unroll(form, 4)
    for t in range(5):
        assert sp.expand(s.J[t][0, 0] - u.dg_h[t]) == 0
    two = nf.parameter_sensitivities(nf.imperfect_pitchfork(), ["g", "eps"], T=3, h0=sp.Rational(1, 4),
                                     at={"g": 1, "eps": 0})
    K, G = two.kernel(), two.sntk()
    assert K.shape == (2, 2) and G.shape == (3, 3)
    assert sp.simplify(K.trace() - G.trace()) == 0  # tr J^T J = tr J J^T = ||D_theta h||^2
    kv = sorted(float(v) for v in K.eigenvals(multiple=True))
    gv = sorted(float(v) for v in G.eigenvals(multiple=True))
    np.testing.assert_allclose(kv, gv[-2:], rtol=1e-12)
    assert abs(gv[0]) < 1e-12


def test_small_initial_conditions_make_the_imperfection_the_critical_direction():
    # at g = 1, eps = 0: D_g h_t = t h0 (to O(h0^3)) and D_eps h_t = t, so K ~ [[h0^2, h0], [h0, 1]] S:
    # the top eigenvector leans towards eps by an angle ~ h0
    s = nf.parameter_sensitivities(nf.imperfect_pitchfork(), ["g", "eps"], T=3, h0=0, at={})
    sym = nf.parameter_sensitivities(nf.imperfect_pitchfork(), ["g", "eps"], T=3)
    for h0 in (1e-3, 1e-2):
        w, V = sym.critical_direction({"g": 1, "eps": 0}, h0=[h0, -h0])
        assert V[1, 0] > 0.99 and abs(V[0, 0]) == pytest.approx(0.0, abs=3 * h0)
        assert w[1] / w[0] < 10 * h0**2 + 1e-12
    assert s.J[1][0, 0] == 0  # from h0 = 0, g alone does not move the state
    with pytest.raises(ValueError, match="not a parameter"):
        nf.parameter_sensitivities(nf.imperfect_pitchfork(), ["g", "delta"], T=2)
    with pytest.raises(ValueError, match="T must be"):
        nf.parameter_sensitivities(nf.imperfect_pitchfork(), ["g"], T=40)
    with pytest.raises(ValueError, match="pass h0"):
        sym.kernel_at({"g": 1})
    with pytest.raises(ValueError, match="degree up to 243"):  # refused before the expansion is attempted
        nf.parameter_sensitivities(nf.imperfect_pitchfork(), ["g", "eps"], T=5, h0=sp.Rational(3, 10))
