"""Numeric critical coefficients of the tanh RNN against the symbolic layer.

Small networks with exactly planted bifurcations; the reference is
``normalforms`` (exact sympy jets) on the same map written as a NormalForm.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import normalforms as nf
from numerics.rnn import RNN, find_fixed_points
from numerics.rnn._normal_form import critical_coefficients


def test_planted_fold_matches_symbolic_layer():
    # h1' = tanh(2 h1 + beta): multiplier 2 (1 - h^2) = 1 at h* = 1/sqrt(2), beta = atanh(h*) - sqrt(2)
    h_star = 1 / np.sqrt(2)
    beta = np.arctanh(h_star) - 2 * h_star
    net = RNN(np.diag([2.0, 0.5]), np.array([beta, 0.0]))
    num = critical_coefficients(net, np.array([h_star, 0.0]), +1)
    assert abs(num.multiplier - 1) < 1e-12
    form = nf.NormalForm(["tanh(2*x + g)", "tanh(y/2)"], state="x y")
    g0 = sp.atanh(1 / sp.sqrt(2)) - sp.sqrt(2)
    ref = nf.fold_coefficient(form, (1 / sp.sqrt(2), 0), g0).values["a"]
    assert num.values["a"] == pytest.approx(float(sp.N(ref, 30)), rel=1e-12)
    assert num.values["a"] == pytest.approx(-np.sqrt(2), rel=1e-12)  # by hand: -t (1 - t^2) w^2


def test_planted_pitchfork_matches_symbolic_layer():
    # coupled 3-neuron network, W = S diag(1, 2/5, -3/10) S^-1 exactly (rational), b = 0:
    # the origin has a simple multiplier +1, and odd symmetry makes a = 0
    S = sp.Matrix([[1, 1, 0], [0, 1, 1], [1, 0, 1]])
    Ws = S * sp.diag(1, sp.Rational(2, 5), sp.Rational(-3, 10)) * S.inv()
    W = np.array(Ws.evalf(30).tolist(), dtype=np.float64)
    num = critical_coefficients(RNN(W, np.zeros(3)), np.zeros(3), +1)
    assert abs(num.multiplier - 1) < 1e-12
    x = sp.symbols("x0:3")
    g = sp.Symbol("g")
    form = nf.NormalForm([sp.tanh(g * (Ws.row(i) * sp.Matrix(x))[0]) for i in range(3)], state="x0 x1 x2")
    ref = nf.pitchfork_coefficients(form, (0, 0, 0), 1)
    assert abs(num.values["a"]) < 1e-12 and ref.values["a"] == 0
    assert num.values["b"] == pytest.approx(float(sp.N(ref.values["b"], 30)), rel=1e-10)
    assert num.values["b"] < 0  # tanh saturates: supercritical


def test_planted_flip_matches_symbolic_layer():
    net = RNN(np.diag([-1.0, 0.5]), np.zeros(2))
    num = critical_coefficients(net, np.zeros(2), -1)
    form = nf.NormalForm(["tanh(-g*x)", "tanh(y/2)"], state="x y")
    ref = nf.flip_coefficient(form, (0, 0), 1).values["c"]
    assert num.values["c"] == pytest.approx(float(ref), rel=1e-12) and float(ref) == pytest.approx(1 / 3)


def test_bad_sign():
    with pytest.raises(ValueError, match="sign"):
        critical_coefficients(RNN(np.eye(2), np.zeros(2)), np.zeros(2), 0)


def test_off_critical_reduced_map_of_a_driving_neuron():
    # x0' = tanh(1.5 x0 + 0.1) drives x1' = tanh(0.9 x1 + 0.05 x0) but is not driven back, so its map is
    # exactly the reduced map: a = f''(x*) q0 / 2, b = f'''(x*) q0^2 / 6 at the multiplier f'(x*) ~ 0.30,
    # which `near` must pick over the slaved neuron's multiplier (nearer to 1)
    w, beta = 1.5, 0.1
    x = 0.0
    for _ in range(200):
        x = np.tanh(w * x + beta)
    net = RNN(np.array([[w, 0.0], [0.05, 0.9]]), np.array([beta, 0.0]))
    h = np.array([x, 0.0])
    for _ in range(300):
        h = np.tanh(net.W @ h + net.b)
    t = np.tanh(w * x + beta)
    mu0 = w * (1 - t**2)
    num = critical_coefficients(net, h, +1, near=mu0)
    assert num.multiplier.real == pytest.approx(mu0, rel=1e-12)
    assert abs(critical_coefficients(net, h, +1).multiplier - mu0) > 0.05  # the default picks the other one
    q0 = num.q[0]
    assert num.values["a"] == pytest.approx(-2 * t * (1 - t**2) * w**2 * q0 / 2, rel=1e-9)
    assert num.values["b"] == pytest.approx(-2 * (1 - t**2) * (1 - 3 * t**2) * w**3 * q0**2 / 6, rel=1e-9)
    with pytest.raises(ValueError, match="near"):
        critical_coefficients(net, h, -1, near=0.5)


def test_off_critical_cubic_matches_the_traced_unstable_manifold():
    # a coupled saddle (multiplier 1.73): its unstable manifold is traced by iterating the map from
    # h* +- 1e-7 q, and the reduced map u -> u' = <p, F(h) - h*> on those points is fitted by a
    # polynomial; the curvature of the manifold enters b through h2, solved with mu^2 I - A
    net = RNN(np.array([[1.4, 0.6], [0.9, 0.2]]), np.array([0.15, -0.1]))
    saddle = next(fp for fp in find_fixed_points(net, seeds=50) if fp.n_unstable == 1)
    mu = saddle.real_multipliers.max()
    coef = critical_coefficients(net, saddle.h, +1, near=mu)
    u, u_next = [], []
    for sign in (1, -1):
        x = saddle.h + sign * 1e-7 * coef.q
        while abs(coef.p @ (x - saddle.h)) < 0.08:
            y = np.tanh(net.W @ x + net.b)
            if abs(coef.p @ (x - saddle.h)) > 1e-4:
                u.append(coef.p @ (x - saddle.h))
                u_next.append(coef.p @ (y - saddle.h))
            x = y
    fit = np.polyfit(u, np.array(u_next) - mu * np.array(u), 5)[::-1]
    assert coef.values["a"] == pytest.approx(fit[2], rel=1e-5)
    assert coef.values["b"] == pytest.approx(fit[3], rel=1e-5)
