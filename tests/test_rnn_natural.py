"""The rank-k natural gradient against a dense Gauss-Newton matrix and plain SGD.

References: the dense Fisher from unit-direction JVPs (checked against finite differences in
test_rnn_derivatives) and numpy's symmetric eigensolver; SGD's step written out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from numerics.rnn import (RNN, LowRankNaturalGradient, SntkOperator, TrainConfig, forward, gauss_newton_spectrum, gradient,
                          train)


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
        TrainConfig(optimizer="rmsprop")


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


# ---- any model with a readout (issue 18) ---------------------------------------------------------

def _model_and_batch(kind):
    from numerics.rnn import GRUCell, LeakyCell, Model
    from numerics.rnn._tasks import Batch

    rng = np.random.default_rng(7)
    N, n_in, n_out, T, B = 4, 2, 3, 5, 3
    cell = (GRUCell.init(N, n_in, rng) if kind == "gru"
            else LeakyCell(rng.normal(size=(N, N)), rng.normal(size=N), rng.normal(size=(N, n_in)), alpha=0.4))
    model = Model(cell, rng.normal(size=(n_out, N)), rng.normal(size=n_out))
    batch = Batch(0.5 * rng.normal(size=(B, N)), rng.normal(size=(T, B, n_in)), rng.normal(size=(T, B, n_out)))
    return model, batch


def _outputs_at(model, batch, x):
    from numerics.rnn import Model

    P, C = model.cell.n_params, model.weight
    m = Model(model.cell.with_flat(x[:P]), x[P:P + C.size].reshape(C.shape), x[P + C.size:])
    return m.outputs(m.cell.forward(batch.h0, batch.X, T=batch.Y.shape[0]))


@pytest.mark.parametrize("kind", ["gru", "leaky"])
def test_model_fisher_is_the_gauss_newton_matrix_of_the_readout_mse(kind):
    """(2 / M) J_y^T J_y with J_y from central differences of the outputs in every parameter
    (cell and readout), formed densely."""
    from numerics.rnn import model_fisher

    model, batch = _model_and_batch(kind)
    op, scale = model_fisher(model, batch)
    x = np.concatenate([model.cell.flat(), model.weight.ravel(), model.bias])
    assert op.n_params == x.size
    eps = 1e-6
    J = np.stack([(_outputs_at(model, batch, x + eps * e) - _outputs_at(model, batch, x - eps * e)).ravel() / (2 * eps)
                  for e in np.eye(x.size)], axis=1)
    dense = 2.0 / batch.Y.size * J.T @ J
    got = scale * op.fisher_matvec(np.eye(x.size))
    np.testing.assert_allclose(got, dense, rtol=1e-6, atol=1e-8 * np.abs(dense).max())


def test_natural_step_on_a_model_is_damped_newton_on_its_top_mode():
    from numerics.rnn import model_fisher

    model, batch = _model_and_batch("gru")
    op, scale = model_fisher(model, batch)
    G = scale * op.fisher_matvec(np.eye(op.n_params))
    ev, V = np.linalg.eigh(0.5 * (G + G.T))
    U = V[:, ::-1][:, :2]
    lr, delta = 0.05, 2.0
    grad = np.random.default_rng(9).normal(size=op.n_params)
    expected = -(U @ np.linalg.solve(U.T @ G @ U + delta * np.eye(2), U.T @ grad) + lr * (grad - U @ (U.T @ grad)))
    ng = LowRankNaturalGradient(rank=2, iters=1, damping=delta, refresh=1000, rng=0)
    for _ in range(200):
        ng.refresh_subspace(op, scale)
    np.testing.assert_allclose(ng.eigenvalues, ev[::-1][:2], rtol=1e-9)
    got = ng.step_with(lambda: (op, scale), grad, lr)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-12)


def test_fit_with_the_natural_gradient_on_a_gru():
    from numerics.rnn import FlipFlop, GRUCell, Model, fit

    def model():
        rng = np.random.default_rng(3)
        return Model(GRUCell.init(6, 2, rng), rng.uniform(-0.3, 0.3, (2, 6)))

    task = FlipFlop(bits=2, T=12)
    kw = dict(steps=25, lr=0.05, batch=16, seed=4, every=25)
    _, sgd = fit(model(), task, optimizer="sgd", **kw)
    _, nat = fit(model(), task, optimizer="natural", natural=LowRankNaturalGradient(rank=2, refresh=5), **kw)
    _, again = fit(model(), task, optimizer="natural", natural=LowRankNaturalGradient(rank=2, refresh=5), **kw)
    np.testing.assert_array_equal(nat.thetas[-1], again.thetas[-1])
    assert nat.loss[0] == sgd.loss[0]  # same batches
    assert not np.allclose(nat.thetas[-1], sgd.thetas[-1])
    assert np.mean(nat.loss[-5:]) < nat.loss[0]
    with pytest.raises(ValueError, match="optimizer='natural'"):
        fit(model(), task, optimizer="adam", natural=LowRankNaturalGradient(), **kw)


class _Diagonal:
    """A Fisher with a known spectrum: F = diag(lam) in n parameters (fisher_matvec on rows)."""

    def __init__(self, lam):
        self.lam = np.asarray(lam, dtype=np.float64)
        self.n_params = self.lam.size

    def fisher_matvec(self, V):
        return V * self.lam


def test_choose_rank_grows_shrinks_with_hysteresis():
    from numerics.rnn._natural import choose_rank

    assert choose_rank([3.0, 1.5, 1.0, 0.4], k=1) == 3  # every mode SGD overshoots (lr lambda >= 1) joins
    assert choose_rank([3.0, 1.5, 0.7, 0.4], k=3) == 3  # 0.7 >= 1/2: stays (hysteresis)
    assert choose_rank([3.0, 0.45, 0.3, 0.1], k=3) == 1  # below 1/2: leaves
    assert choose_rank([0.1, 0.05], k=1) == 1  # never below 1
    assert choose_rank([5.0] * 6, k=1, max_rank=4) == 4
    assert choose_rank([5.0, 5.0, 5.0], k=1, threshold=2.0, hysteresis=1.0) == 3


def test_adaptive_rank_follows_a_known_spectrum():
    # lr lambda = 8, 4, 2, 1.2 then < 0.5: the rank grows by the probe width per refresh up to 4
    lr = 0.1
    lam = np.array([80.0, 40.0, 20.0, 12.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.2]) / 1.0
    ng = LowRankNaturalGradient(rank="auto", iters=30, refresh=1, probe=1, rng=3, smoothing=0.0)
    op = _Diagonal(lam)
    ks = []
    for _ in range(6):
        ng.refresh_subspace(op, 1.0, lr=lr)
        ks.append(ng.k)
    assert ks[:3] == [2, 3, 4] and ks[-1] == 4  # one probe vector: one more mode per refresh
    np.testing.assert_allclose(ng.eigenvalues[:4], lam[:4], rtol=1e-8)
    # the step uses only the top k: damped Newton there, SGD elsewhere
    grad = np.arange(1.0, 11.0)
    expected = -lr * grad
    expected[:4] = -grad[:4] / (lam[:4] + 1 / lr)
    np.testing.assert_allclose(ng.step_with(lambda: (op, 1.0), grad, lr), expected, rtol=1e-7)
    # the spectrum falls: modes leave once lr lambda < 1/2
    op.lam = lam / 10.0  # lr lambda = 0.8, 0.4, ...
    for _ in range(3):
        ng.refresh_subspace(op, 1.0, lr=lr)
    assert ng.k == 1 and [k for _, k in ng.history][-1] == 1
    with pytest.raises(ValueError, match="learning rate"):
        ng.refresh_subspace(op, 1.0)
    with pytest.raises(ValueError, match="'auto'"):
        LowRankNaturalGradient(rank="adaptive")


def test_smoothing_keeps_the_rank_through_batch_noise():
    # a spectrum whose 3rd mode scatters around lr lambda = 1.2 (batch to batch: 0.4 or 2.0): without averaging
    # k jumps between 2 and 3; averaged over refreshes (0.8 on the past) the mode stays at ~1.2 and k at 3
    lr = 1.0
    tail = [0.05, 0.04, 0.03, 0.02, 0.01]
    spectra = [np.array([5.0, 3.0, 0.4] + tail), np.array([5.0, 3.0, 2.0] + tail)]

    def ks(smoothing):
        ng = LowRankNaturalGradient(rank="auto", iters=40, refresh=1, probe=2, rng=0, smoothing=smoothing)
        out = []
        for i in range(30):
            ng.refresh_subspace(_Diagonal(spectra[(i + 1) % 2]), 1.0, lr=lr)
            out.append(ng.k)
        return out[10:]

    assert set(ks(0.0)) == {2, 3}
    assert set(ks(0.8)) == {3}
    with pytest.raises(ValueError, match="smoothing"):
        LowRankNaturalGradient(rank="auto", smoothing=1.0)


def test_adam_and_momentum_against_their_recurrences():
    from numerics.rnn._optim import Adam, Momentum

    rng = np.random.default_rng(5)
    grads = rng.normal(size=(4, 3))
    adam, mom = Adam(), Momentum(0.5)
    m = v = vel = np.zeros(3)
    for t, g in enumerate(grads, start=1):
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        np.testing.assert_allclose(adam.step(g, 0.01),
                                   -0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8), rtol=1e-12)
        vel = 0.5 * vel + g
        np.testing.assert_allclose(mom.step(g, 0.1), -0.1 * vel, rtol=1e-15)
    # Adam's first step is lr sign(g) in magnitude, whatever the gradient's scale
    np.testing.assert_allclose(Adam().step(np.array([1e-3, -50.0]), 0.01), [-0.01, 0.01], rtol=1e-4)
    with pytest.raises(ValueError, match="beta1"):
        Adam(beta1=1.0)
    with pytest.raises(ValueError, match="momentum"):
        Momentum(-0.1)


def _interrupted_and_resumed(cfg, tmp_path, at: int):
    """The record of ``cfg`` trained with a stop requested at the ``at``-th step, then resumed from its checkpoint."""
    from numerics.rnn import TrainingInterrupted

    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] == at

    with pytest.raises(TrainingInterrupted):
        train(cfg, progress=False, checkpoint=tmp_path / "ck", checkpoint_every=20, should_stop=stop)
    return train(cfg, progress=False, checkpoint=tmp_path / "ck", checkpoint_every=20)


@pytest.mark.parametrize("opt", [dict(optimizer="adam", lr=1e-3), dict(optimizer="momentum", lr=2e-3),
                                 dict(optimizer="natural", ng_rank="auto"),
                                 # a low threshold, so that k moves and the averaged Ritz values decide it
                                 dict(optimizer="natural", ng_rank="auto", ng_threshold=0.002)])
def test_baselines_and_adaptive_rank_train_and_resume_bit_for_bit(tmp_path, opt):
    from numerics.rnn import TrainConfig, TrainingRecord, record_name, train

    cfg = TrainConfig(N=8, B=32, steps=120, record_every=20, diag_batch=8, fixed_point_seeds=5, diagnostics="loss",
                      **opt)
    rec = train(cfg, progress=False)
    assert rec.loss[-1] < rec.loss[0]
    resumed = _interrupted_and_resumed(cfg, tmp_path, at=70)
    assert np.array_equal(rec.W[-1], resumed.W[-1]) and rec.ng_ranks == resumed.ng_ranks
    assert (len(rec.ng_ranks) == len(rec.steps)) == (cfg.ng_rank == "auto")
    rec.save(tmp_path / "r")
    assert TrainingRecord.load(tmp_path / "r").ng_ranks == rec.ng_ranks
    assert opt["optimizer"] in record_name(cfg)


def test_settings_added_later_keep_the_names_of_existing_records():
    from numerics.rnn import TrainConfig, record_name

    # the hash of the paper-faithful seed-0 run as named before ng_threshold, momentum and Adam existed
    assert record_name(TrainConfig()) == "paper-sgd-N64-s35000-lr0p005-seed0-068f873d45"
    assert record_name(TrainConfig(momentum=0.5)) != record_name(TrainConfig())
    with pytest.raises(ValueError, match="auto"):
        TrainConfig(ng_rank="auto")


def test_edge_learning_rate_is_one_over_the_top_fisher_eigenvalue():
    from numerics.rnn._natural import fisher_operator

    net = RNN.xavier(6, seed=3)
    x0 = np.random.default_rng(4).uniform(-1, 1, (16, 2))
    lam = gauss_newton_spectrum(net, x0, 8, k=1)[0]  # Lanczos on the same operator, to 1e-8
    ng = LowRankNaturalGradient(rank=1, iters=60, refresh=1, rng=1)
    assert ng.edge_lr(lambda: fisher_operator(net, x0, 8), cap=1e9) == pytest.approx(1 / lam, rel=1e-6)
    assert ng.edge_lr(lambda: fisher_operator(net, x0, 8), cap=0.1 / lam) == 0.1 / lam  # the cap binds
    with pytest.raises(ValueError, match="lr_rule"):
        TrainConfig(lr_rule="cosine")
    with pytest.raises(ValueError, match="plain SGD"):
        TrainConfig(lr_rule="edge", optimizer="adam")


def test_sgd_at_the_edge_keeps_lr_lambda_at_one_and_resumes(tmp_path):
    from numerics.rnn import record_name

    cfg = TrainConfig(N=8, B=32, steps=60, record_every=20, diag_batch=8, fixed_point_seeds=5, diagnostics="loss",
                      lr_rule="edge", lr=1e3, ng_refresh=1, ng_iters=3)
    rec = train(cfg, progress=False)
    assert rec.loss[-1] < rec.loss[0] and "-edge-" in record_name(cfg)
    assert np.array_equal(_interrupted_and_resumed(cfg, tmp_path, at=35).W[-1], rec.W[-1])


def test_the_adaptive_state_survives_a_checkpoint(tmp_path):
    # k, its history and the averaged Ritz values are what the next rank decision reads: all must come back
    from numerics.rnn import TrainingRecord
    from numerics.rnn._checkpoint import _Checkpoint, natural_for

    cfg = TrainConfig(N=4, B=8, steps=40, record_every=20, diag_batch=4, fixed_point_seeds=3, diagnostics="loss",
                      optimizer="natural", ng_rank="auto")
    nat = natural_for(cfg)
    nat.U, nat.eigenvalues = np.linalg.qr(np.random.default_rng(0).normal(size=(20, 3)))[0], np.array([3., 2., 1.])
    nat.k, nat.history, nat.smoothed, nat._steps = 2, [(0, 1), (10, 2)], np.array([2.5, 1.75, 0.8125]), 20
    net = RNN.xavier(4, seed=0)
    rec = TrainingRecord(cfg, teacher_W=net.W, x_diag=np.zeros((4, 2)))
    _Checkpoint(cfg, 20, np.random.default_rng(1), np.random.default_rng(2), net, net.W, net.b, np.zeros((8, 2)), rec,
                nat).write(tmp_path / "ck")
    back = _Checkpoint.read(tmp_path / "ck", cfg).natural
    assert back.k == 2 and back.history == [(0, 1), (10, 2)] and back._steps == 20
    np.testing.assert_array_equal(back.smoothed, nat.smoothed)
    np.testing.assert_array_equal(back.U, nat.U)


def test_the_curvature_batch_is_the_fisher_of_the_first_initial_conditions(tmp_path):
    # the preconditioner's Fisher on a sub-batch is the dense Gauss-Newton matrix of those inputs alone,
    # normalised by their own count; the rest of the batch does not enter
    net, x0, T = small()
    ng = LowRankNaturalGradient(rank=2, batch=4, rng=0)
    op, scale = ng.fisher(net, x0, T)
    P = op.n_params
    dense = scale * np.stack([op.fisher_matvec(e) for e in np.eye(P)])
    np.testing.assert_allclose(dense, dense_gauss_newton(net, x0[:4], T), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="exceeds the batch"):
        ng.fisher(net, x0[:3], T)
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        LowRankNaturalGradient(batch=0)
    with pytest.raises(ValueError, match="ng_batch must be at most"):
        TrainConfig(B=32, ng_batch=64)
    cfg = TrainConfig(N=8, B=32, steps=60, record_every=20, diag_batch=8, fixed_point_seeds=5, diagnostics="loss",
                      optimizer="natural", ng_rank="auto", ng_batch=8, lr=0.05)
    assert record_name_differs(cfg)
    rec = train(cfg, progress=False)
    assert rec.loss[-1] < rec.loss[0]
    assert np.array_equal(_interrupted_and_resumed(cfg, tmp_path, at=35).W[-1], rec.W[-1])


def record_name_differs(cfg):
    from dataclasses import replace

    from numerics.rnn import record_name

    return record_name(cfg) != record_name(replace(cfg, ng_batch=None))
