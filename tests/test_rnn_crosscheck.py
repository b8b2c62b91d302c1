"""The restricted sNTK along the critical direction and its normal-form prediction.

References: a dense Fisher from the exact JVP of every unit direction (itself checked against
finite differences in test_rnn_derivatives), central differences of the forward pass, and a
planted pitchfork whose critical multiplier g(s) is known in closed form.
"""

from __future__ import annotations

import numpy as np
import pytest

from numerics.rnn import RNN, SntkOperator
from numerics.rnn._crosscheck import (critical_direction, cusp_window, decompose, fd_step_study,
                                      imperfect_pitchfork_prediction, normal_form_prediction, restricted_sntk)

S = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
S_INV = np.linalg.inv(S)


def small():
    net = RNN.xavier(6, seed=31)
    return net, np.random.default_rng(32).uniform(-1, 1, (5, 2)), 7


def test_critical_direction_is_the_top_fisher_eigenvector():
    net, x0, T = small()
    F = SntkOperator(net, x0, T).dense_fisher()
    ev, U = np.linalg.eigh(F)
    cd = critical_direction(net, x0, T)
    assert abs(cd.v @ U[:, -1]) == pytest.approx(1.0, abs=1e-8)
    assert cd.gap == pytest.approx(ev[-1] / ev[-2], rel=1e-8)
    assert cd.share == pytest.approx(ev[-1] / np.trace(F), rel=1e-8)


def test_decomposition_against_the_dense_spectrum():
    net, x0, T = small()
    op = SntkOperator(net, x0, T)
    Jd = op.J(np.eye(op.n_params)).reshape(op.n_params, -1).T  # (states, P)
    K = Jd @ Jd.T
    u = np.random.default_rng(33).normal(size=op.n_params)
    u /= np.linalg.norm(u)
    dec = decompose(net, x0, T, u, k=6)
    Ju = Jd @ u
    assert dec.trace_share == pytest.approx(Ju @ Ju / np.trace(K), rel=1e-8)
    frob = (Ju @ Ju) / np.linalg.norm(K)
    assert dec.frobenius_share[0] - 1e-12 <= frob <= dec.frobenius_share[1] + 1e-12
    top = np.linalg.eigh(K)[1][:, -1]
    assert dec.alignment == pytest.approx(abs(top @ Ju) / np.linalg.norm(Ju), rel=1e-6)
    assert decompose(net, x0, T, critical_direction(net, x0, T).v, k=6).alignment == pytest.approx(1.0, abs=1e-8)


def test_finite_differences_converge_at_second_order():
    net, x0, T = small()
    v = critical_direction(net, x0, T).v
    err = fd_step_study(net, x0, T, v, np.array([1e-1, 1e-2, 1e-3]))
    assert 50 < err[0] / err[1] < 200 and 50 < err[1] / err[2] < 200  # eps^2: x100 per decade
    land = restricted_sntk(net, x0, T, v, np.linspace(-0.5, 0.5, 5))
    np.testing.assert_allclose(land.fd, land.exact, rtol=1e-6)
    assert land.eps == 10.0 ** -(2 + int(np.argmin(land.step_errors))) and land.step_errors.min() < 1e-8


def planted(w0: float = 1.0):
    """W(s) = S diag(w0 + s / c, 2/5, -3/10) S^-1 along the unit direction v = S E_00 S^-1 / c."""
    E = S @ np.diag([1.0, 0.0, 0.0]) @ S_INV
    c = np.linalg.norm(E)
    v = np.r_[(E / c).ravel(), np.zeros(3)]
    return RNN(S @ np.diag([w0, 0.4, -0.3]) @ S_INV, np.zeros(3)), v, c


def test_planted_pitchfork_is_predicted_and_beats_the_linear_null():
    net, v, c = planted()
    x0 = np.random.default_rng(34).uniform(-0.05, 0.05, (64, 2))
    s = np.linspace(-0.2, 0.2, 41) * c
    pred = normal_form_prediction(net, x0, 25, v, s, np.zeros(3))
    np.testing.assert_allclose(pred.parameter, 1 + s / c, atol=1e-9)  # the origin's multiplier, in closed form
    observed = restricted_sntk(net, x0, 25, v, s).fd
    matched, null = pred.compare(observed), pred.compare(observed, "linear")
    assert matched["pearson_r"] > 0.98 and matched["relative_l2"] < 0.2
    assert null["pearson_r"] < matched["pearson_r"] - 0.2


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: critical_direction(*small(), params="b"), "params"),
        (lambda: restricted_sntk(*small(), np.zeros(3), np.linspace(-1, 1, 3)), "direction must have shape"),
        (lambda: restricted_sntk(*small(), np.zeros(42), np.array([0.0, 1.0])), ">= 3 points"),
        (lambda: restricted_sntk(*small(), np.zeros(42), np.linspace(-1, 1, 3), eps=0.0), "eps"),
        (lambda: normal_form_prediction(*small(), np.zeros(42), np.array([1.0, 0.0, -1.0]), np.zeros(6)),
         "increasing"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def planted_cusp(w: float = 1.2):
    """Neuron 0 alone: x' = tanh(w x + b_0), others driven by it; v moves b_0 only.

    Its reduced map is exactly scalar, so the window is known in closed form: folds
    where w (1 - x^2) = 1, i.e. x_f = +-sqrt(1 - 1/w), b_0 = -+(atanh(x_f) - w x_f);
    the saddle's peak multiplier is w at b_0 = 0; the cubic is -w^3 q_0^2 / 3.
    """
    N = 4
    W = np.zeros((N, N))
    W[0, 0], W[1, 0], W[1, 1], W[2, 1], W[2, 2], W[3, 0], W[3, 3] = w, 0.5, 0.3, 0.4, -0.2, -0.3, 0.5
    v = np.zeros(N * N + N)
    v[N * N] = 1.0
    return RNN(W, np.zeros(N)), v


def test_planted_cusp_window_in_closed_form():
    w = 1.2
    net, v = planted_cusp(w)
    win = cusp_window(net, v, (-0.5, 0.5))
    xf = np.sqrt(1 - 1 / w)
    bf = np.arctanh(xf) - w * xf
    np.testing.assert_allclose(win.folds, (-abs(bf), abs(bf)), atol=1e-9)
    assert win.g0 == pytest.approx(w, abs=1e-9) and win.centre == pytest.approx(0.0, abs=1e-6)
    q0 = win.coefficients.q[0]
    assert win.coefficients.values["b"] == pytest.approx(-w**3 * q0**2 / 3, rel=1e-8)
    # eps > 0 (s > 0, b_0 > 0) puts the lone attractor at x > 0
    assert win.orientation * np.sign(win.coefficients.p[0]) > 0
    # the fold separation in y is 2 sqrt((g0 - 1)/3) in the cubic form; tanh's quintic term shrinks it
    assert 0.7 < win.fold_scale / win.scale < 1.0


def test_planted_imperfect_pitchfork_chain_matches_and_beats_the_null():
    net, v = planted_cusp()
    x0 = np.random.default_rng(35).uniform(-0.5, 0.5, (1024, 2))
    pred, win = imperfect_pitchfork_prediction(net, x0, 25, v)
    np.testing.assert_allclose(pred.parameter, win.kappa * win.orientation * (pred.s - win.centre))
    observed = restricted_sntk(net, x0, 25, v, pred.s).fd
    matched, null = pred.compare(observed), pred.compare(observed, "linear")
    assert matched["pearson_r"] > 0.95 and matched["pearson_r_log"] > 0.95
    assert null["pearson_r"] < matched["pearson_r"] - 0.1 and null["relative_l2"] > matched["relative_l2"] + 0.3


def test_no_window_is_reported():
    net, v, _ = planted()  # an exact pitchfork: branches meet, none turns twice
    with pytest.raises(ValueError, match="turns twice"):
        cusp_window(net, v, (-0.1, 0.1))
    with pytest.raises(ValueError, match="s_range"):
        cusp_window(net, v, (0.1, 0.2))


@pytest.mark.parametrize("kind", ["gru", "leaky"])
def test_the_cross_check_runs_on_any_cell(kind):
    """critical_direction / decompose / restricted_sntk through the cell protocol: the direction against
    the dense Fisher's top eigenvector, the landscape's central differences against its JVP."""
    from numerics.rnn import GRUCell, LeakyCell, along

    rng = np.random.default_rng(21)
    N, B, T, n_in = 5, 4, 8, 2
    cell = (GRUCell.init(N, n_in, rng) if kind == "gru"
            else LeakyCell(1.3 * rng.normal(size=(N, N)), 0.2 * rng.normal(size=N), rng.normal(size=(N, n_in)), 0.4))
    h0, X = 0.4 * rng.normal(size=(B, N)), rng.normal(size=(T, B, n_in))
    groups = [g for g in cell.layout() if "h" in g or g == "W"]  # the recurrent weights only
    cd = critical_direction(cell, None, T, params=groups, h0=h0, X=X)
    F = SntkOperator(cell, h0=h0, X=X, params=groups).dense_fisher()
    vals, vecs = np.linalg.eigh(F)
    assert cd.eigenvalues[0] == pytest.approx(vals[-1], rel=1e-10)
    assert abs(cd.v @ vecs[:, -1]) == pytest.approx(1.0, abs=1e-9)
    assert cd.trace == pytest.approx(np.trace(F), rel=1e-11)
    dec = decompose(cell, None, T, cd.v, params=groups, k=4, h0=h0, X=X)
    assert dec.trace_share == pytest.approx(vals[-1] / np.trace(F), rel=1e-9)
    land = restricted_sntk(cell, None, T, cd.v, np.linspace(-0.2, 0.2, 5), params=groups, h0=h0, X=X)
    assert np.allclose(land.fd, land.exact, rtol=1e-6)
    # theta + s v moves exactly the scoped groups
    moved = along(cell, cd.v, 0.1, groups)
    for name, value in moved.params().items():
        assert np.array_equal(value, cell.params()[name]) == (name not in groups)
    with pytest.raises(ValueError, match="direction must have shape"):
        restricted_sntk(cell, None, T, np.zeros(3), np.linspace(-1, 1, 3), params=groups, h0=h0, X=X)
    with pytest.raises(ValueError, match="x0 .* is the paper network's"):
        critical_direction(cell, np.zeros((B, 2)), T, h0=h0, X=X)


# ---- the normal-form chain on any cell (issue 18) ------------------------------------------------

def test_planted_pitchfork_in_a_gru_is_predicted_from_its_own_cell():
    """GRU with W_hn = diag(2 + s, .5, .3), all else 0: at the origin r = z = 1/2, so the multiplier
    along e_0 is g(s) = 1/2 + (2 + s)/4 in closed form (+1 at s = 0, a pitchfork: the map is odd)."""
    from numerics.rnn import GRUCell

    Whh = np.zeros((9, 3))
    Whh[6:] = np.diag([2.0, 0.5, 0.3])
    cell = GRUCell(np.zeros((9, 1)), Whh, np.zeros(9), np.zeros(9))
    v = np.zeros(27)
    v[6 * 3 + 0] = 1.0  # weight_hh[6, 0] in the group's flat order
    h0 = np.random.default_rng(36).uniform(-0.05, 0.05, (48, 3))
    s = np.linspace(-0.6, 0.6, 41)
    pred = normal_form_prediction(cell, None, 50, v, s, np.zeros(3), params=("weight_hh",), h0=h0, x=np.zeros(1))
    np.testing.assert_allclose(pred.parameter, 0.5 + (2 + s) / 4, atol=1e-9)
    # h' = h/2 + tanh(w h / 2)/2 = h - h^3/6 + ... along e_0 at s = 0: b = -1/6, p = +-e_0
    assert pred.cubic == pytest.approx(-1 / 6, rel=1e-8)
    np.testing.assert_allclose(np.abs(pred.y0), np.sqrt(1 / 6) * np.abs(h0[:, 0]), rtol=1e-9)
    observed = restricted_sntk(cell, None, 50, v, s, params=("weight_hh",), h0=h0, X=np.zeros((50, 48, 1))).fd
    matched, null = pred.compare(observed), pred.compare(observed, "linear")
    assert matched["pearson_r"] > 0.97 and null["pearson_r"] < matched["pearson_r"] - 0.3


def test_planted_cusp_window_in_a_leaky_rnn_in_closed_form():
    """The planted cusp as a leaky cell: its fixed points are those of x = tanh(w x + b_0), the folds
    where w (1 - x^2) = 1 as for the tanh network, the saddle's peak multiplier 1 - alpha + alpha w."""
    from numerics.rnn import LeakyCell

    w, alpha = 1.2, 0.4
    net, _ = planted_cusp(w)
    cell = LeakyCell(net.W, net.b, alpha=alpha)
    v = np.zeros(20)
    v[16] = 1.0  # b_0
    win = cusp_window(cell, v, (-0.5, 0.5))
    xf = np.sqrt(1 - 1 / w)
    bf = np.arctanh(xf) - w * xf
    np.testing.assert_allclose(win.folds, (-abs(bf), abs(bf)), atol=1e-9)
    assert win.g0 == pytest.approx(1 - alpha + alpha * w, abs=1e-9) and win.centre == pytest.approx(0.0, abs=1e-6)
    h0 = np.random.default_rng(37).uniform(-0.5, 0.5, (256, 4))
    pred, _ = imperfect_pitchfork_prediction(cell, None, 25, v, h0=h0, window=win)
    observed = restricted_sntk(cell, None, 25, v, pred.s, h0=h0).fd
    assert pred.compare(observed)["pearson_r"] > pred.compare(observed, "linear")["pearson_r"]
    with pytest.raises(ValueError, match="h0"):
        imperfect_pitchfork_prediction(cell, None, 25, v, window=win)


def test_the_scalar_form_is_compared_only_where_the_critical_multiplier_is_real():
    """W(s) = [[w, beta, 0], [-beta, 1/2, 0], [0, 0, 0.3]] with w = 1 + 2 beta^2 + s: the origin's critical
    multiplier is the larger root of l^2 - (w + 1/2) l + (w/2 + beta^2) = 0 (= 1 at s = 0: a pitchfork, the
    map is odd), real while |w - 1/2| >= 2 beta and a complex pair beyond -- all in closed form."""
    beta = 0.1
    W0 = np.array([[1 + 2 * beta**2, beta, 0.0], [-beta, 0.5, 0.0], [0.0, 0.0, 0.3]])
    v = np.zeros(12)
    v[0] = 1.0  # W[0, 0]
    net = RNN(W0, np.zeros(3))
    s = np.linspace(-0.45, 0.15, 31)
    x0 = np.random.default_rng(38).uniform(-0.05, 0.05, (32, 2))
    pred = normal_form_prediction(net, x0, 25, v, s, np.zeros(3))
    w = W0[0, 0] + s
    disc = (w - 0.5) ** 2 - 4 * beta**2
    real = disc >= 0
    # validity ends outwards at the first complex point
    expected = real & (s > s[~real].max()) if (~real).any() else real
    np.testing.assert_array_equal(pred.valid, expected)
    assert (~expected).sum() >= 5  # the test does exercise the collision
    larger_root = ((w + 0.5) + np.sqrt(np.maximum(disc, 0))) / 2
    np.testing.assert_allclose(pred.parameter[expected], larger_root[expected], atol=1e-9)
    assert np.all(np.isnan(pred.predicted[~expected])) and np.all(np.isfinite(pred.predicted[expected]))
    observed = restricted_sntk(net, x0, 25, v, s).fd
    out = pred.compare(observed)
    assert out["compared"] == pytest.approx(expected.mean()) and out["compared_s"][0] == s[expected][0]


def test_slowest_mode_of_the_attractor_is_reported():
    # origin attractor with multipliers w (real, along e_0) and rho e^(+-i theta): the real mode is the slowest,
    # so a one-dimensional slow manifold exists, only while w >= rho
    from numerics.rnn._crosscheck import _attractor_multipliers

    rho, theta = 0.8, 0.7
    rot = rho * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    nets = []
    for w in (0.9, 0.7):
        W = np.zeros((3, 3))
        W[0, 0], W[1:, 1:] = w, rot
        nets.append(RNN(W, np.zeros(3)))
    mu, slowest, states = _attractor_multipliers(nets)
    np.testing.assert_allclose(mu, [0.9, 0.7], atol=1e-12)
    np.testing.assert_array_equal(slowest, [True, False])
    np.testing.assert_allclose(states, 0.0, atol=1e-12)
