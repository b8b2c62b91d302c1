"""RNN fixed-point finder and the appendix-B teacher construction.

References: mpmath.findroot for h = tanh(2h) (independent of Newton here),
hand-derived multipliers, and the defining identity W tanh(X) = X.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from numerics.rnn import RNN
from numerics.rnn._fixed_points import find_fixed_points
from numerics.rnn._teacher import construct_W


def test_fixed_points_of_a_decoupled_network_by_hand():
    # h1' = tanh(2 h1), h2' = tanh(h2 / 2): origin (multipliers 2, 1/2) and +-(h*, 0),
    # h* = tanh(2 h*), multipliers 2 (1 - h*^2) and 1/2.
    net = RNN(np.diag([2.0, 0.5]), np.zeros(2))
    fps = find_fixed_points(net, seeds=50, rng=0)
    h_star = float(mpmath.findroot(lambda x: x - mpmath.tanh(2 * x), 0.9))
    assert len(fps) == 3
    by_x = {round(fp.h[0], 9): fp for fp in fps}
    origin = by_x[0.0]
    np.testing.assert_allclose(sorted(np.abs(origin.multipliers)), [0.5, 2.0], rtol=1e-12)
    assert not origin.stable and origin.n_unstable == 1
    for sign in (1, -1):
        fp = by_x[round(sign * h_star, 9)]
        assert fp.h[0] == pytest.approx(sign * h_star, abs=1e-12) and abs(fp.h[1]) < 1e-12
        np.testing.assert_allclose(sorted(np.abs(fp.multipliers)), sorted([2 * (1 - h_star**2), 0.5]), rtol=1e-10)
        assert fp.stable


def test_construction_places_fixed_points_exactly():
    rng = np.random.default_rng(0)
    N = 16
    X = rng.normal(0, 1.5, size=(N, 3))
    W = construct_W(X, rng.normal(0, 0.2, size=(N, N)))
    np.testing.assert_allclose(W @ np.tanh(X), X, atol=1e-12)
    net = RNN(W, np.zeros(N))
    for x in X.T:
        for sign in (1, -1):  # tanh is odd: -x is a fixed point too
            h = sign * np.tanh(x)
            np.testing.assert_allclose(np.tanh(net.W @ h), h, atol=1e-12)
    fps = find_fixed_points(net, seeds=30, rng=1, extra=np.concatenate([np.tanh(X.T), -np.tanh(X.T)]))
    for x in X.T:
        assert min(np.max(np.abs(fp.h - np.tanh(x))) for fp in fps) < 1e-9


def test_teacher_has_four_stable_and_five_unstable_fixed_points():
    from numerics.rnn import build_teacher

    teacher = build_teacher(64, seed=0, r=0.6)
    W = teacher.net.W
    r, c = 0.6, np.arctanh(0.6) / 0.6
    np.testing.assert_allclose(W[:2, :2], c * np.eye(2), atol=1e-12)  # readout block c I (by hand)
    pts = {tuple(np.round(fp.readout, 9)): fp for fp in teacher.fixed_points}
    assert len(pts) == 9 and teacher.n_stable == 4 and teacher.n_unstable == 5
    for (y0, y1), fp in pts.items():
        assert {abs(y0), abs(y1)} <= {0.0, r} and np.max(np.abs(fp.h[2:])) < 1e-12
        # in-plane multipliers by hand: c (1 - y^2) for each readout coordinate
        for e in (c * (1 - y0**2), c * (1 - y1**2)):
            assert np.min(np.abs(np.abs(fp.multipliers) - e)) < 1e-9 * e
        assert fp.stable == (abs(y0) == r and abs(y1) == r)


def test_teacher_rejects_bad_settings():
    from numerics.rnn import build_teacher

    with pytest.raises(ValueError, match="r must lie"):
        build_teacher(8, r=1.2)
    with pytest.raises(ValueError, match="hidden_norm"):
        build_teacher(8, hidden_norm=1.5)


def test_a_fixed_point_with_a_unit_multiplier_is_found():
    """Exactly at a pitchfork (origin's multiplier 1) Newton's Jacobian is singular; a start that
    already satisfies the tolerance is a fixed point all the same and must not be dropped."""
    S = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    net = RNN(S @ np.diag([1.0, 0.4, -0.3]) @ np.linalg.inv(S), np.zeros(3))
    origin = [fp for fp in find_fixed_points(net, seeds=5) if np.max(np.abs(fp.h)) == 0.0]
    assert len(origin) == 1 and abs(origin[0].multipliers[0] - 1) < 1e-12


def test_two_mode_teacher_has_exactly_two_unstable_eigenvalues():
    import math

    from numerics.rnn import build_two_mode_teacher

    r1, r2 = 0.8, 0.5
    teacher = build_two_mode_teacher(24, (r1, r2), seed=3)
    c1, c2 = math.atanh(r1) / r1, math.atanh(r2) / r2  # by hand: y' = tanh(c y) has fixed points +-r
    W = teacher.net.W
    np.testing.assert_allclose(W[:2, :2], np.diag([c1, c2]), atol=1e-12)
    moduli = np.sort(np.abs(np.linalg.eigvals(W)))[::-1]
    np.testing.assert_allclose(moduli[:2], [c1, c2], rtol=1e-12)
    assert moduli[2] < 1
    pts = {tuple(np.round(fp.readout, 9)): fp for fp in teacher.fixed_points}
    assert len(pts) == 9 and teacher.n_stable == 4
    for (y0, y1), fp in pts.items():
        assert abs(y0) in (0.0, r1) and abs(y1) in (0.0, r2)
        assert fp.stable == (abs(y0) == r1 and abs(y1) == r2)
    with pytest.raises(ValueError, match="1 > r_1 > r_2 > 0"):
        build_two_mode_teacher(8, (0.5, 0.8))
    with pytest.raises(ValueError, match="r must be a pair"):
        build_two_mode_teacher(8, 0.8)


def test_stable_student_has_the_requested_spectral_radius():
    from numerics.rnn import stable_student

    net = stable_student(12, radius=0.7, seed=2)
    # Gelfand's formula, independent of an eigensolver: ||W^k||^(1/k) -> rho(W)
    k = 400
    assert np.linalg.norm(np.linalg.matrix_power(net.W / 0.7, k), 2) ** (1 / k) == pytest.approx(1.0, abs=0.02)
    assert np.all(net.b == 0)
    with pytest.raises(ValueError, match="radius must lie in"):
        stable_student(8, radius=1.0)


def test_batched_newton_equals_newton_from_each_start_and_jacobians_equal_one_state_at_a_time():
    from numerics.rnn import GRUCell, RNN
    from numerics.rnn._fixed_points import newton_batch

    rng = np.random.default_rng(11)
    for net in (RNN(W=2.0 * np.eye(3) + 0.1 * rng.normal(size=(3, 3)), b=0.01 * rng.normal(size=3)),
                GRUCell.init(4, 2, rng)):
        starts = rng.uniform(-1, 1, (9, net.N))
        H, res = newton_batch(net, starts, 60, 1e-12)
        for s, h, r in zip(starts, H, res):
            # the reference: Newton written out here, one start, dense Jacobian by central differences
            g = s.copy()
            for _ in range(60):
                F = g - net.map1(g)
                Jd = np.stack([(net.map1(g + 1e-6 * e) - net.map1(g - 1e-6 * e)) / 2e-6 for e in np.eye(net.N)], 1)
                g = g - np.linalg.solve(np.eye(net.N) - Jd, F)
            assert r <= 1e-12 and np.max(np.abs(h - g)) < 1e-9
        Jb = net.jacobian_h_batch(H)
        assert np.allclose(Jb, np.stack([net.jacobian_h(h) for h in H]), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("starts, kwargs, match", [
    (np.zeros(4), {}, r"starts must have shape \(S, 4\)"), (np.zeros((3, 5)), {}, r"starts must have shape"),
    (np.full((2, 4), np.nan), {}, "starts must be finite"), (np.zeros((2, 4)), dict(iters=0), "iters must be"),
    (np.zeros((2, 4)), dict(tol=-1.0), "tol must be a number"),
])
def test_newton_batch_refuses_bad_starts_clearly(starts, kwargs, match):
    from numerics.rnn import RNN
    from numerics.rnn._fixed_points import newton_batch

    with pytest.raises(ValueError, match=match):
        newton_batch(RNN.xavier(4, 0), starts, **kwargs)
