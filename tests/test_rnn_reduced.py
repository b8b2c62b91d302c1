"""The reduced map R(y, sigma) on a cell's invariant manifold, to any order.

References: a network whose reduced map is exactly a scalar tanh map (neuron 0 drives the others
and is not driven back), with its Taylor coefficients from mpmath derivatives at 30 digits; the
symbolic layer's pitchfork coefficient (exact sympy jets); the invariance equation itself, whose
residual must fall as the (K + 1)-th power of the distance for an order-K expansion (only forward
evaluations of the cell); and a resonance planted in a diagonal network.
"""

from __future__ import annotations

from math import comb, factorial

import mpmath
import numpy as np
import pytest
import sympy as sp

import normalforms as nf
from numerics.rnn import RNN, GRUCell, along, reduced_map, reduced_map_prediction, restricted_sntk
from numerics.rnn._crosscheck import _half_width, cusp_window, imperfect_pitchfork_prediction
from numerics.rnn._fixed_points import _newton


def driving(w: float = 1.2, beta: float = 0.1):
    """x0' = tanh(w x0 + b0) drives neurons 1-3; v moves b0 (flat index N^2)."""
    N = 4
    W = np.zeros((N, N))
    W[0, 0], W[1, 0], W[1, 1], W[2, 1], W[2, 2], W[3, 0], W[3, 3] = w, 0.5, 0.3, 0.4, -0.2, -0.3, 0.5
    b = np.zeros(N)
    b[0] = beta
    v = np.zeros(N * N + N)
    v[N * N] = 1.0
    return RNN(W, b), v


def settled(net, n=3000):
    h = np.zeros(net.N)
    for _ in range(n):
        h = net.map1(h)
    return _newton(net, h, 60, 1e-14, None)[0]


@pytest.mark.parametrize("centre", [0.0, 0.05])
def test_driving_neuron_coefficients_against_mpmath(centre):
    # on the manifold y = (x0 - x*) / q0 and x0 is autonomous, so q0 R(xi / q0, sigma) = tanh(a* + w xi + sigma) - x*
    # with a* = w x* + b0 + centre: the coefficient of xi^i sigma^j is tanh^(n)(a*) / n! C(n, i) w^i, n = i + j
    w, beta = 1.2, 0.1
    net, v = driving(w, beta)
    h_c = settled(along(net, v, centre))
    R = reduced_map(net, v, centre, h_c, order=7, near=w * (1 - h_c[0] ** 2), scales=(0.5, 0.5))
    mpmath.mp.dps = 30
    x_star = mpmath.findroot(lambda x: mpmath.tanh(w * x + beta + centre) - x, h_c[0])
    a_star = w * x_star + beta + centre
    assert R.multiplier == pytest.approx(float(w * (1 - x_star**2)), rel=1e-13)
    q0 = R.q[0]
    for n in range(1, 8):
        dn = mpmath.diff(mpmath.tanh, a_star, n) / factorial(n)
        for i in range(n + 1):
            ref = float(dn * comb(n, i) * mpmath.mpf(w) ** i) * q0 ** (i - 1)
            assert R.r[i, n - i] == pytest.approx(ref, rel=1e-10 * 10 ** max(0, n - 4), abs=1e-12), (i, n - i)
    # the coordinate is the driving neuron's: p = (1/q0, 0, 0, 0)
    np.testing.assert_allclose(R.p, [1 / q0, 0, 0, 0], atol=1e-13)


def test_pitchfork_coefficient_against_the_symbolic_layer():
    # W = S diag(1, 2/5, -3/10) S^-1, b = 0: the origin has the multiplier +1 and the map is odd
    S = sp.Matrix([[1, 1, 0], [0, 1, 1], [1, 0, 1]])
    Ws = S * sp.diag(1, sp.Rational(2, 5), sp.Rational(-3, 10)) * S.inv()
    W = np.array(Ws.evalf(30).tolist(), dtype=np.float64)
    R = reduced_map(RNN(W, np.zeros(3)), np.eye(12)[0], 0.0, np.zeros(3), order=5)
    x = sp.symbols("x0:3")
    form = nf.NormalForm([sp.tanh(sp.Symbol("g") * (Ws.row(i) * sp.Matrix(x))[0]) for i in range(3)],
                         state="x0 x1 x2")
    ref = nf.pitchfork_coefficients(form, (0, 0, 0), 1).values["b"]
    assert R.r[3, 0] == pytest.approx(float(sp.N(ref, 30)), rel=1e-10)
    assert abs(R.r[2, 0]) < 1e-13 and abs(R.r[4, 0]) < 1e-12  # odd symmetry: no even y-terms at sigma = 0
    assert R.multiplier == pytest.approx(1.0, abs=1e-13)


@pytest.mark.parametrize("K", [3, 5])
def test_invariance_residual_falls_as_the_next_power_in_a_gru(K):
    # any cell: a GRU with coupled gates at a non-trivial fixed point, the whole parameter vector moving
    rng = np.random.default_rng(41)
    cell = GRUCell(0.3 * rng.normal(size=(9, 1)), 0.9 * rng.normal(size=(9, 3)), 0.2 * rng.normal(size=9),
                   0.2 * rng.normal(size=9))
    v = rng.normal(size=cell.n_params)
    v /= np.linalg.norm(v)
    x = np.array([0.3])
    h_c = _newton(cell, np.zeros(3), 80, 1e-14, x)[0]
    real = np.linalg.eigvals(cell.jacobian_h(h_c, x))
    real = real[np.abs(real.imag) < 1e-12].real
    R = reduced_map(cell, v, 0.0, h_c, order=K, params="all", near=float(real.max()), x=x)

    def residual(eps):
        y, sig = 0.4 * eps, -0.3 * eps
        moved = along(cell, v, sig, "all")
        return np.linalg.norm(moved.map1(R.state(y, sig), x) - R.state(R(y, sig), sig))

    res = np.array([residual(e) for e in (0.2, 0.1, 0.05)])
    slopes = np.log2(res[:-1] / res[1:])
    np.testing.assert_allclose(slopes, K + 1, atol=0.3)
    # the truncation to a lower order is the lower-order expansion (same coefficients)
    low = reduced_map(cell, v, 0.0, h_c, order=K - 1, params="all", near=float(real.max()), x=x)
    np.testing.assert_allclose(R.truncate(K - 1).r, low.r, rtol=1e-9, atol=1e-13)


def test_radius_of_the_tanh_map_is_its_pole():
    # at b0 = 0 the saddle's map is tanh(w q0 y + sigma) / q0: poles at w q0 y + sigma = +-i pi/2, so the
    # radius is pi/2 in sigma and pi/(2 w q0) in y (odd series: the fit uses every other term)
    w = 1.2
    net, v = driving(w, 0.0)
    R = reduced_map(net, v, 0.0, np.zeros(4), order=15, near=w, scales=(1.0, 1.0))
    assert R.radius("sigma") == pytest.approx(np.pi / 2, rel=0.15)
    assert R.radius("y") == pytest.approx(np.pi / (2 * w * R.q[0]), rel=0.15)


def test_resonance_and_bad_inputs_are_reported():
    net = RNN(np.diag([1.2, 1.44, 0.3]), np.zeros(3))  # mu = 1.2, mu^2 = 1.44 is another multiplier
    v = np.eye(12)[0]
    with pytest.raises(ValueError, match="resonance at y\\^2"):
        reduced_map(net, v, 0.0, np.zeros(3), order=3, near=1.2)
    assert reduced_map(net, v, 0.0, np.zeros(3), order=1, near=1.2).r[1, 0] == pytest.approx(1.2)
    with pytest.raises(ValueError, match="order"):
        reduced_map(net, v, 0.0, np.zeros(3), order=0)
    with pytest.raises(ValueError, match="order"):
        reduced_map(net, v, 0.0, np.zeros(3), order=True)
    with pytest.raises(ValueError, match="scales"):
        reduced_map(net, v, 0.0, np.zeros(3), scales=(1.0, -1.0))
    with pytest.raises(ValueError, match="not near a fixed point"):
        reduced_map(RNN(np.diag([1.2, 0.5, 0.3]), np.ones(3)), v, 0.0, np.zeros(3))
    with pytest.raises(ValueError, match="order must be an integer in"):
        reduced_map(net, v, 0.0, np.zeros(3), order=1, near=1.2).truncate(2)
    with pytest.raises(ValueError, match="variable"):
        reduced_map(net, v, 0.0, np.zeros(3), order=1, near=1.2).radius("x")


def test_expression_carries_values_as_constants_only():
    net, v = driving(1.2, 0.0)
    R = reduced_map(net, v, 0.0, np.zeros(4), order=3, near=1.2)
    expression, constants = R.expression()
    assert set(expression.replace("**", "^")) <= set("r0123456789_ye*^+ ")
    form = nf.NormalForm(expression, state="y", param="e", constants=constants)
    y, e = 0.3, -0.02
    assert float(form.rhs[0].subs({sp.Symbol("y", real=True): y, sp.Symbol("e", real=True): e})) == \
        pytest.approx(float(R(y, e)), rel=1e-12)


def test_higher_orders_converge_where_the_network_has_a_spectral_gap():
    # the planted cusp reduces exactly to the scalar tanh map, whose series converges over the window: the
    # reduced-map predictions approach the network's landscape as the order grows.  A truncation whose leading
    # term is expanding (order 5: tanh's +2u^5/15) is not confining, and trajectories escape -- marked invalid
    net, v = driving(1.2, 0.0)
    win = cusp_window(net, v, (-0.5, 0.5))
    x0 = np.random.default_rng(35).uniform(-0.5, 0.5, (512, 2))
    s = win.centre + np.linspace(-2, 2, 41) * (win.folds[1] - win.folds[0])
    observed = restricted_sntk(net, x0, 25, v, s).fd
    out, valid = {}, {}
    for K in (3, 5, 7):
        pred = reduced_map_prediction(net, x0, 25, v, s, win, K)
        assert pred.scalar_slowest.all()  # the other neurons contract faster: a one-dimensional slow manifold
        out[K], valid[K] = pred.compare(observed), pred.valid.mean()
    assert valid[3] == valid[7] == 1.0 and valid[5] < 0.5
    assert out[3]["pearson_r"] > 0.99 and out[7]["relative_l2"] < 0.6 * out[3]["relative_l2"]
    cubic, _ = imperfect_pitchfork_prediction(net, x0, 25, v, s, window=win)
    assert out[3]["relative_l2"] < 0.5 * cubic.compare(observed)["relative_l2"]
    assert out[7]["width_ratio"] == pytest.approx(1.0, abs=0.05)


def test_half_width_of_a_triangle():
    s = np.linspace(-1, 1, 201)
    y = np.maximum(0, 1 - np.abs(s - 0.1) / 0.4)  # FWHM 0.4 exactly
    assert _half_width(s, y) == (pytest.approx(0.4, abs=1e-12), True)
    assert _half_width(s, np.exp(s))[1] is False  # the maximum sits at the edge: not a closed peak
