"""The block eigensolver (numerics.rnn._eigen) and the batched Fisher products it runs on.

References: numpy's dense ``eigh`` of the explicitly formed matrix, operators with a spectrum
chosen by hand (so the eigenvalues are known exactly), and the one-direction-at-a-time products.
"""

from __future__ import annotations

import numpy as np
import pytest

from numerics._threads import blas_thread_counts, blas_threads, limit_blas_threads
from numerics.rnn import RNN, GRUCell, SntkOperator
from numerics.rnn._eigen import EigenNotConverged, block_top_eigenpairs


def _known_operator(values: np.ndarray, seed: int = 0):
    """A = V diag(values) V^T with a random orthogonal V: (apply on rows, V)."""
    n = values.size
    V, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    A = (V * values) @ V.T
    return (lambda U: U @ A), V


def _rel(a, b):
    return np.max(np.abs(a - b) / np.abs(b))


def test_paper_fisher_eigenpairs_match_the_dense_matrix():
    rng = np.random.default_rng(1)
    net = RNN.xavier(9, rng)
    op = SntkOperator(net, rng.uniform(-1, 1, (6, 2)), 12)
    F = op.dense_fisher()  # P = 90 > the default basis of 40: the iterative path runs
    ref_vals, ref_vecs = np.linalg.eigh(F)
    ref_vals, ref_vecs = ref_vals[::-1], ref_vecs[:, ::-1]
    vals, vecs, res = op.eigen(5)
    assert res.products < op.n_params
    assert _rel(vals, ref_vals[:5]) < 1e-10
    for i in range(5):  # vectors to the accuracy the residuals promise: sin angle <= ||r|| / gap
        gap = min(abs(ref_vals[i] - ref_vals[j]) for j in range(8) if j != i)
        assert 1 - abs(vecs[:, i] @ ref_vecs[:, i]) < max(1e-12, 2 * (res.residuals[i] / gap) ** 2)
    # the reported residuals are the residuals
    assert np.allclose(res.residuals, np.linalg.norm(F @ vecs - vecs * vals, axis=0), rtol=1e-6, atol=1e-9 * vals[0])


def test_gru_fisher_eigenpairs_match_the_dense_matrix():
    rng = np.random.default_rng(2)
    cell = GRUCell.init(4, 2, rng)
    op = SntkOperator(cell, h0=rng.normal(size=(3, 4)), X=rng.normal(size=(6, 3, 2)))
    ref = np.linalg.eigvalsh(op.dense_fisher())[::-1]
    assert _rel(op.top_eigenpairs(4)[0], ref[:4]) < 1e-10


@pytest.mark.parametrize("values", [
    np.r_[10.0, 10.0, 10.0, 9.999, np.linspace(5, 0, 296)],          # a triple eigenvalue and a near neighbour
    np.r_[1e6, 3e3, 2.9e3, 1.0, np.logspace(-2, -12, 396)],             # one amplified mode (near a bifurcation)
    np.r_[np.linspace(1.0, 0.9, 50), np.zeros(250)],                   # flat top, rank deficient
])
def test_known_spectra_to_1e_minus_10(values):
    apply, _ = _known_operator(values)
    res = block_top_eigenpairs(apply, values.size, 5, tol=1e-10)
    ref = np.sort(values)[::-1][:5]
    # 1e-10 relative, or double precision's limit ~eps ||A|| absolute for the small ones
    assert np.all(np.abs(res.values - ref) <= 1e-10 * ref + 100 * np.finfo(float).eps * ref[0])


def test_warm_start_from_the_eigenvectors_stops_after_one_block():
    values = np.r_[8.0, 4.0, 2.0, 1.0, np.linspace(0.5, 0.0, 196)]
    apply, V = _known_operator(values, seed=3)
    cold = block_top_eigenpairs(apply, 200, 3)
    warm = block_top_eigenpairs(apply, 200, 3, start=V[:, :3] + 1e-7 * np.random.default_rng(0).normal(size=(200, 3)))
    assert warm.products == 4 < cold.products  # the first block (k + 1 directions) is enough
    assert _rel(warm.values, values[:3]) < 1e-10


def test_vector_tol_tightens_the_residuals():
    values = np.r_[5.0, 4.0, 3.0, np.linspace(2.5, 0.0, 297)]
    apply, _ = _known_operator(values, seed=4)
    loose = block_top_eigenpairs(apply, 300, 3, tol=1e-10)
    tight = block_top_eigenpairs(apply, 300, 3, tol=1e-10, vector_tol=1e-12)
    assert np.all(tight.residuals <= 1e-12 * tight.values + 1e3 * np.finfo(float).eps * 5)
    assert np.max(loose.residuals) > np.max(tight.residuals)


def test_small_operators_are_diagonalised_densely():
    values = np.arange(20.0, 0.0, -1.0)
    apply, _ = _known_operator(values, seed=5)
    res = block_top_eigenpairs(apply, 20, 3)
    assert res.products == 20 and _rel(res.values, values[:3]) < 1e-12


def test_budget_and_nan_are_reported():
    values = np.r_[1.0, 0.999999, np.linspace(0.99, 0.0, 498)]
    apply, _ = _known_operator(values, seed=6)
    with pytest.raises(EigenNotConverged, match="not converged after .* products"):
        block_top_eigenpairs(apply, 500, 2, max_products=8)
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        block_top_eigenpairs(lambda U: U * np.nan, 500, 2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(k=0), "k must be an integer in"), (dict(k=100), "k must be an integer in"), (dict(k=2.5), "k must be"),
    (dict(tol=0.0), "tol must be"), (dict(tol=float("nan")), "tol must be"),
    (dict(max_basis=5), "max_basis must be at least"), (dict(start=np.ones((3, 7))), "start must hold vectors"),
])
def test_bad_arguments(kwargs, match):
    args = dict(k=2) | kwargs
    with pytest.raises(ValueError, match=match):
        block_top_eigenpairs(lambda U: U, 100, **args)


def test_lanczos_and_block_agree_and_bad_method_is_refused():
    rng = np.random.default_rng(7)
    op = SntkOperator(RNN.xavier(8, rng), rng.uniform(-1, 1, (5, 2)), 10)
    a = op.top_eigenpairs(3)[0]
    b = op.top_eigenpairs(3, method="lanczos")[0]
    assert _rel(a, b) < 1e-10
    with pytest.raises(ValueError, match="method must be 'block' or 'lanczos'"):
        op.top_eigenpairs(3, method="arnoldi")


@pytest.mark.parametrize("neurons", ["all", "readout", [0, 3, 5]])
def test_batched_fisher_products_equal_one_direction_at_a_time(neurons):
    rng = np.random.default_rng(8)
    op = SntkOperator(RNN.xavier(7, rng), rng.uniform(-1, 1, (4, 2)), 9, neurons=neurons)
    U = rng.normal(size=(6, op.n_params))
    one_by_one = np.stack([op.JT(op.J(u)) for u in U])
    assert np.allclose(op.fisher_matvec(U), one_by_one, rtol=1e-12, atol=1e-12 * np.abs(one_by_one).max())
    F = op.dense_fisher()
    assert np.allclose(op.fisher_matvec(U), U @ F, rtol=1e-10, atol=1e-10 * np.abs(F).max())


def test_blas_threads_are_limited_inside_the_block_and_restored():
    before = blas_thread_counts()
    with blas_threads(1):
        assert set(blas_thread_counts().values()) == {1}
    assert blas_thread_counts() == before
    with pytest.raises(ValueError, match="positive integer"):
        with blas_threads(0):
            pass
    with pytest.raises(ValueError, match="library must be"):
        with blas_threads(1, library="torch"):
            pass
    with pytest.raises(ValueError, match="positive integer"):
        limit_blas_threads(True)


@pytest.mark.parametrize("neurons, N", [("all", 6), ("readout", 16)])  # the forward stack; the backward rows
def test_exact_trace_streams_trajectories_when_memory_is_short(monkeypatch, neurons, N):
    rng = np.random.default_rng(9)
    op = SntkOperator(RNN.xavier(N, rng), rng.uniform(-1, 1, (5, 2)), 6, neurons=neurons)
    reference = float(np.trace(op.dense_fisher()))
    per_trajectory = 8.0 * 6 * N * (2 if neurons == "readout" else 2 * N)
    monkeypatch.setattr(SntkOperator, "_work_budget", staticmethod(lambda: 1.5 * per_trajectory))  # one at a time
    assert op.trace() == pytest.approx(reference, rel=1e-12)
    monkeypatch.setattr(SntkOperator, "_work_budget", staticmethod(lambda: 0.5 * per_trajectory))
    with pytest.raises(MemoryError, match="per trajectory .* use trace_estimate"):
        op.trace()


class _OpaqueGRU(GRUCell):
    """A cell that does not describe its parameter structure: the trace falls back to unit directions."""

    def _trace_parts(self, H, X, groups):
        return None

    def _from_groups(self, groups, check):
        return _OpaqueGRU(groups["weight_ih"], groups["weight_hh"], groups["bias_ih"], groups["bias_hh"], check)


def test_cell_exact_trace_streams_directions_when_memory_is_short(monkeypatch):
    rng = np.random.default_rng(10)
    g = GRUCell.init(3, 1, rng)
    cell = _OpaqueGRU(g.weight_ih, g.weight_hh, g.bias_ih, g.bias_hh)
    op = SntkOperator(cell, h0=rng.normal(size=(2, 3)), X=rng.normal(size=(3, 2, 1)))
    reference = float(np.trace(op.dense_fisher()))
    assert op.trace() == pytest.approx(reference, rel=1e-12)
    per_direction = 8.0 * 3 * 2 * 3
    monkeypatch.setattr(SntkOperator, "_work_budget", staticmethod(lambda: 5 * per_direction))
    assert op.trace() == pytest.approx(reference, rel=1e-12)
    monkeypatch.setattr(SntkOperator, "_work_budget", staticmethod(lambda: 0.5 * per_direction))
    with pytest.raises(MemoryError, match="single direction"):
        op.trace()


@pytest.mark.parametrize("kind", ["paper", "tanh+input", "leaky", "gru", "gru autonomous"])
@pytest.mark.parametrize("scope", ["all", "one group", "weights only"])
@pytest.mark.parametrize("neurons", ["all", [0, 2]])
@pytest.mark.parametrize("T", [4, 6])  # T <= N: the stack of dh_t/dh_s; T > N: unit directions
def test_exact_trace_of_every_cell_and_scope_equals_the_dense_fisher(kind, scope, neurons, T):
    from numerics.rnn import LeakyCell, TanhCell

    rng = np.random.default_rng(12)
    N, B, n_in = 5, 3, 2
    X = rng.normal(size=(T, B, n_in))
    h0 = 0.5 * rng.normal(size=(B, N))
    cell = {"paper": RNN.xavier(N, rng),
            "tanh+input": TanhCell(rng.normal(size=(N, N)) / 2, rng.normal(size=N) / 3, rng.normal(size=(N, n_in))),
            "leaky": LeakyCell(rng.normal(size=(N, N)), rng.normal(size=N) / 3, rng.normal(size=(N, n_in)), alpha=0.3),
            "gru": GRUCell.init(N, n_in, rng), "gru autonomous": GRUCell.init(N, 0, rng)}[kind]
    groups = list(cell.layout())
    params = {"all": None, "one group": [groups[-1]],
              "weights only": [g for g in groups if "b" != g[0]]}[scope]
    if kind == "paper":
        params = {"all": "Wb", "one group": "W", "weights only": "W"}[scope]
        op = SntkOperator(cell, rng.uniform(-1, 1, (B, 2)), T, neurons=neurons, params=params)
    else:
        op = SntkOperator(cell, h0=h0, X=None if cell.n_in == 0 else X, T=T, neurons=neurons,
                          **({} if params is None else {"params": params}))
    assert op.trace() == pytest.approx(float(np.trace(op.dense_fisher())), rel=1e-11)


@pytest.mark.parametrize("neurons", ["all", "readout"])
def test_large_batch_sqnorms_stream_and_agree_with_the_stored_tangents(neurons):
    rng = np.random.default_rng(13)
    op = SntkOperator(RNN.xavier(6, rng), rng.uniform(-1, 1, (130, 2)), 5, neurons=neurons)  # B >= 128: streamed
    U = rng.normal(size=(7, op.n_params))
    Ju = op.J(U)
    assert np.allclose(op.sqnorms(U), np.einsum("mtbn,mtbn->m", Ju, Ju), rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(block=0), "block must be a positive integer"), (dict(max_products=0), "max_products must be"),
    (dict(max_basis=-1), "max_basis must be a positive integer"), (dict(tol="x"), "tol must be a number"),
    (dict(vector_tol=2.0), "vector_tol must be a number"), (dict(start=np.array(3.0)), "start must hold vectors"),
    (dict(start=np.full((100, 2), np.nan)), "start must be finite"),
])
def test_bad_solver_settings_are_refused_before_any_work(kwargs, match):
    calls = []
    with pytest.raises(ValueError, match=match):
        block_top_eigenpairs(lambda U: calls.append(1) or U, 100, 2, **kwargs)
    assert not calls
