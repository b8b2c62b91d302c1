"""The rank-k natural gradient against a dense Gauss-Newton matrix and plain SGD.

References: the dense Fisher from unit-direction JVPs (checked against finite differences in
test_rnn_derivatives) and numpy's symmetric eigensolver; SGD's step written out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from numerics.rnn import RNN, LowRankNaturalGradient, SntkOperator, TrainConfig, forward, gradient, train


def small():
    net = RNN.xavier(5, seed=41)
    x0 = np.random.default_rng(42).uniform(-1, 1, (6, 2))
    return net, x0, 8


def dense_gauss_newton(net, x0, T):
    op = SntkOperator(net, x0, T, neurons="readout")
    return 2.0 / (T * x0.shape[0] * 2) * op.dense_fisher()


def test_subspace_iteration_converges_to_the_top_modes():
    net, x0, T = small()
    ev, V = np.linalg.eigh(dense_gauss_newton(net, x0, T))
    ng = LowRankNaturalGradient(rank=2, iters=1, rng=0)
    for _ in range(60):  # warm starts accumulate like plain subspace iteration
        ng.update_subspace(net, x0, T)
    np.testing.assert_allclose(ng.eigenvalues, ev[::-1][:2], rtol=1e-8)
    assert abs(ng.U[:, 0] @ V[:, -1]) == pytest.approx(1.0, abs=1e-8)


def test_step_is_damped_newton_on_top_modes_and_sgd_on_the_rest():
    net, x0, T = small()
    G = dense_gauss_newton(net, x0, T)
    ev, V = np.linalg.eigh(G)
    U = V[:, ::-1][:, :1]
    lr, delta = 0.05, 3.0
    grad = np.random.default_rng(43).normal(size=G.shape[0])
    expected = -(U @ np.linalg.solve(U.T @ G @ U + delta * np.eye(1), U.T @ grad) + lr * (grad - U @ (U.T @ grad)))
    ng = LowRankNaturalGradient(rank=1, iters=1, damping=delta, refresh=1000, rng=0)
    for _ in range(80):
        ng.update_subspace(net, x0, T)
    got = ng.step(net, x0, T, grad, lr)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-12)


def test_default_damping_reduces_to_sgd_for_flat_modes():
    # lambda << 1/lr: the top-mode factor 1/(lambda + 1/lr) = lr (1 - lr lambda + ...)
    net, x0, T = small()
    H = forward(net, x0, T)
    gW, gb = gradient(net, H, np.zeros((T, x0.shape[0], 2)))
    grad = np.r_[gW.ravel(), gb]
    lr = 1e-6
    got = LowRankNaturalGradient(rank=1).step(net, x0, T, grad, lr)
    np.testing.assert_allclose(got, -lr * grad, rtol=1e-4)


def test_training_with_the_natural_gradient():
    cfg = dict(N=8, steps=60, record_every=30, B=16, diag_batch=8, fixed_point_seeds=5, lr=2e-2)
    sgd = train(TrainConfig(**cfg), progress=False)
    nat = train(TrainConfig(optimizer="natural", ng_refresh=5, **cfg), progress=False)
    again = train(TrainConfig(optimizer="natural", ng_refresh=5, **cfg), progress=False)
    np.testing.assert_array_equal(nat.W[-1], again.W[-1])  # reproducible
    assert len(nat.batch_loss) == 60 and nat.batch_loss[-1] < nat.batch_loss[0]
    # same batches as SGD (the preconditioner draws from its own generator): the first losses agree
    assert nat.batch_loss[0] == sgd.batch_loss[0]
    assert not np.allclose(nat.W[-1], sgd.W[-1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(rank=0), "rank"), (dict(refresh=1.5), "refresh"), (dict(damping=-1.0), "damping"),
    (dict(neurons="hidden"), "neurons"), (dict(params="b"), "params"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LowRankNaturalGradient(**kwargs)


def test_bad_optimizer_name():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="adam")


@pytest.mark.parametrize("kwargs, match", [(dict(ng_rank=0), "ng_rank"), (dict(ng_refresh=-1), "ng_refresh"),
                                           (dict(ng_damping=float("nan")), "ng_damping")])
def test_bad_natural_gradient_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(optimizer="natural", **kwargs)


def test_gauss_newton_spectrum_is_the_top_of_the_dense_matrix():
    from numerics.rnn import gauss_newton_spectrum

    net, x0, T = small()
    ev = np.linalg.eigvalsh(dense_gauss_newton(net, x0, T))[::-1]
    np.testing.assert_allclose(gauss_newton_spectrum(net, x0, T, k=4), ev[:4], rtol=1e-7)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        gauss_newton_spectrum(net, x0, T, k=0)
