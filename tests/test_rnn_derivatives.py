"""RNN derivatives and sNTK operators against finite differences and dense algebra.

References: central finite differences of the forward pass (O(eps^2)), the
adjoint identity <v, J u> = <J^T v, u>, dense J built column by column from
the forward pass (not from the JVP), numpy.linalg.eigvalsh.
"""

from __future__ import annotations

import numpy as np
import pytest

from numerics.rnn import (RNN, SntkOperator, entropy_rank, forward, gradient, jvp, loss, loss_cotangent,
                          participation_ratio, vjp)


def small_net(N=6, seed=0, bias=True):
    return RNN.xavier(N, seed=seed, bias=bias)


def batch(B=5, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, size=(B, 2))


def dense_J_by_differences(net, x0, T, eps=1e-6):
    """Columns of J by central differences of forward (independent of jvp)."""
    theta = net.flat()
    cols = []
    for p in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[p] += eps
        down[p] -= eps
        Hu = forward(RNN.from_flat(up, net.N), x0, T)[1:]
        Hd = forward(RNN.from_flat(down, net.N), x0, T)[1:]
        cols.append(((Hu - Hd) / (2 * eps)).ravel())
    return np.array(cols).T


def test_jvp_matches_central_differences():
    net, x0, T = small_net(), batch(), 7
    H = forward(net, x0, T)
    rng = np.random.default_rng(2)
    dW, db = rng.normal(size=(6, 6)), rng.normal(size=6)
    exact = jvp(net, H, dW, db)
    for eps in (1e-4,):
        up = forward(RNN(net.W + eps * dW, net.b + eps * db), x0, T)[1:]
        down = forward(RNN(net.W - eps * dW, net.b - eps * db), x0, T)[1:]
        fd = (up - down) / (2 * eps)
        assert np.max(np.abs(fd - exact)) / np.max(np.abs(exact)) < 1e-6


def test_adjoint_identity():
    net, x0, T = small_net(8, seed=3), batch(4, seed=4), 9
    H = forward(net, x0, T)
    rng = np.random.default_rng(5)
    dW, db = rng.normal(size=(8, 8)), rng.normal(size=8)
    V = rng.normal(size=H[1:].shape)
    gW, gb = vjp(net, H, V)
    lhs = np.sum(V * jvp(net, H, dW, db))
    rhs = np.sum(gW * dW) + np.sum(gb * db)
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_bptt_gradient_matches_finite_differences():
    net, x0, T = small_net(5, seed=6), batch(6, seed=7), 10
    teacher = forward(small_net(5, seed=8), x0, T)[:, :, :2]
    H = forward(net, x0, T)
    gW, gb = gradient(net, H, teacher)
    g = np.concatenate([gW.ravel(), gb])
    theta, eps = net.flat(), 1e-6
    fd = np.empty_like(theta)
    for p in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[p] += eps
        down[p] -= eps
        fd[p] = (loss(forward(RNN.from_flat(up, 5), x0, T), teacher)
                 - loss(forward(RNN.from_flat(down, 5), x0, T), teacher)) / (2 * eps)
    assert np.max(np.abs(fd - g)) <= 1e-6 * np.max(np.abs(g))


@pytest.mark.parametrize("neurons, params", [("all", "Wb"), ("readout", "Wb"), ("all", "W"), ("readout", "W")])
def test_operators_against_dense_jacobian(neurons, params):
    net, x0, T = small_net(5, seed=9), batch(3, seed=10), 6
    op = SntkOperator(net, x0, T, neurons=neurons, params=params)
    J = dense_J_by_differences(net, x0, T).reshape(T, 3, 5, -1)
    if neurons == "readout":
        J = J[:, :, :2]
    J = J.reshape(-1, 30)
    if params == "W":
        J = J[:, :25]
    F = J.T @ J
    rng = np.random.default_rng(11)
    u = rng.normal(size=op.n_params)
    v = rng.normal(size=op.n_states)
    np.testing.assert_allclose(op.fisher_matvec(u), F @ u, rtol=1e-6, atol=1e-8 * np.abs(F).max())
    np.testing.assert_allclose(op.sntk_matvec(v.reshape(T, 3, -1)).ravel(), J @ (J.T @ v), rtol=1e-6,
                               atol=1e-8 * np.abs(F).max())
    assert op.trace() == pytest.approx(np.trace(F), rel=1e-7)
    ev = np.linalg.eigvalsh(F)[::-1]
    vals, vecs = op.top_eigenpairs(k=3)
    np.testing.assert_allclose(vals, ev[:3], rtol=1e-6)
    np.testing.assert_allclose(np.abs(vecs.T @ np.linalg.eigh(F)[1][:, ::-1][:, :3]).diagonal(), 1, atol=1e-5)
    assert participation_ratio(ev) == pytest.approx(np.sum(ev) ** 2 / np.sum(ev**2))


def test_hutchpp_is_accurate_on_a_rank_one_dominated_operator():
    """A planted spike: F = 1e6 u u^T + a flat remainder.  Hutch++ deflates the
    spike; plain Hutchinson with the same budget carries a relative error of order one."""
    net, x0, T = small_net(6, seed=12), batch(4, seed=13), 8
    op = SntkOperator(net, x0, T)
    base_trace = op.trace()
    P = op.n_params
    u = np.random.default_rng(14).normal(size=P)
    u /= np.linalg.norm(u)
    spike = 1e6 * base_trace

    class Spiked(SntkOperator):
        """F + spike * u u^T: J extended by one output row sqrt(spike) u^T."""

        def sqnorms(self, w):
            return super().sqnorms(w) + spike * (np.asarray(w) @ u) ** 2

        def fisher_matvec(self, w):
            return super().fisher_matvec(w) + spike * np.multiply.outer(w @ u, u)

    sp_op = Spiked(net, x0, T)
    exact = base_trace + spike
    est = sp_op.trace_estimate(passes=30, seed=15)
    assert abs(est.value - exact) / exact < 1e-6
    assert abs(est.value - exact) <= 5 * est.stderr + 1e-9 * exact
    rng = np.random.default_rng(15)
    Z = rng.choice([-1.0, 1.0], size=(30, P))
    hutch = np.mean(np.sum(Z * sp_op.fisher_matvec(Z), axis=1))
    assert abs(hutch - exact) / exact > 1e-3  # what Hutch++ is protecting against


def test_trace_estimate_within_one_percent_on_a_real_network():
    net = RNN.xavier(16, seed=16)
    op = SntkOperator(net, batch(8, seed=17), 12)
    est = op.trace_estimate(passes=150, seed=18)
    assert abs(est.value / op.trace() - 1) < 0.01
    assert est.passes == 150


@pytest.mark.parametrize("neurons", ["all", "readout"])
def test_exact_trace_equals_the_sum_over_parameter_directions(neurons):
    """Both trace algorithms (forward stack for all neurons, backward rows for the
    readout, chosen by size) against sum_p ||J e_p||^2 over the P unit directions;
    B = 40 also crosses the internal batch chunk of 32."""
    net = RNN.xavier(16, seed=19)
    op = SntkOperator(net, batch(40, seed=20), 9, neurons=neurons)
    reference = float(np.sum(op.J(np.eye(op.n_params)) ** 2))
    assert op.trace() == pytest.approx(reference, rel=1e-12)


def test_ranks_of_known_spectra():
    assert entropy_rank(np.array([3.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert entropy_rank(np.ones(7)) == pytest.approx(7.0)
    assert participation_ratio(np.ones(4)) == pytest.approx(4.0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: RNN(np.zeros((3, 2)), np.zeros(3)), "square"),
        (lambda: RNN(np.zeros((3, 3)), np.zeros(2)), "shape"),
        (lambda: RNN(np.full((3, 3), np.nan), np.zeros(3)), "finite"),
        (lambda: forward(small_net(), batch(), 0), "positive integer"),
        (lambda: forward(small_net(), np.zeros((4, 3)), 5), r"\(B, 2\)"),
        (lambda: SntkOperator(small_net(), batch(), 5, neurons="some"), "neurons"),
        (lambda: RNN.xavier(1, seed=0), "N must be"),
        (lambda: loss_cotangent(forward(small_net(), batch(), 3), np.zeros((3, 5, 3))), "target readout"),
    ],
)
def test_bad_inputs(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sqnorms_are_the_fisher_quadratic_form():
    """u^T F u from the streaming ||J u||^2 against the dense F (all and readout scopes)."""
    net, x0, T = small_net(5, seed=21), batch(3, seed=22), 6
    for neurons in ("all", "readout"):
        op = SntkOperator(net, x0, T, neurons=neurons)
        U = np.random.default_rng(23).normal(size=(4, op.n_params))
        np.testing.assert_allclose(op.sqnorms(U), np.einsum("mp,pq,mq->m", U, op.dense_fisher(), U), rtol=1e-10)
