"""The cell protocol: derivatives against central differences and the adjoint identity, the GRU against
PyTorch's documented equations written out here, planted bifurcations located and classified against
hand-derived one-dimensional reductions, weights round-tripped through PyTorch names."""

from __future__ import annotations

import numpy as np
import pytest

from numerics.rnn import (RNN, GRUCell, LeakyCell, Model, TanhCell, find_fixed_points, from_state_dict,
                          load_checkpoints, load_npz, to_state_dict, track_fixed_points)
from numerics.rnn._jet import Jet, sigmoid, tanh

N, NIN, B, T = 4, 2, 3, 6


def _cells(rng):
    return {
        "tanh+input": TanhCell(0.6 * rng.normal(size=(N, N)), 0.3 * rng.normal(size=N), rng.normal(size=(N, NIN))),
        "leaky": LeakyCell(0.6 * rng.normal(size=(N, N)), 0.3 * rng.normal(size=N), rng.normal(size=(N, NIN)),
                           alpha=0.3),
        "gru": GRUCell.init(N, NIN, rng),
        "paper": RNN(0.6 * rng.normal(size=(N, N)), 0.3 * rng.normal(size=N)),
    }


CELLS = ["tanh+input", "leaky", "gru", "paper"]


def _setup(name, seed=0):
    rng = np.random.default_rng(seed)
    cell = _cells(rng)[name]
    h0 = 0.5 * rng.normal(size=(B, N))
    X = rng.normal(size=(T, B, NIN)) if cell.n_in else None
    return rng, cell, h0, X


@pytest.mark.parametrize("name", CELLS)
def test_jvp_matches_central_differences(name):
    rng, cell, h0, X = _setup(name)
    H = cell.forward(h0, X, T=T)
    theta = cell.flat()
    U = rng.normal(size=(3, theta.size))
    eps = 1e-6
    fd = np.stack([(cell.with_flat(theta + eps * u).forward(h0, X, T=T)
                    - cell.with_flat(theta - eps * u).forward(h0, X, T=T))[1:] / (2 * eps) for u in U])
    assert np.max(np.abs(cell.jvp(H, X, U) - fd)) < 1e-8


@pytest.mark.parametrize("name", CELLS)
def test_vjp_is_the_adjoint_of_jvp(name):
    rng, cell, h0, X = _setup(name, seed=1)
    H = cell.forward(h0, X, T=T)
    U = rng.normal(size=(2, cell.n_params))
    V = rng.normal(size=(3, T, B, N))
    lhs = np.einsum("mtbn,ktbn->mk", cell.jvp(H, X, U), V)
    rhs = U @ cell.vjp(H, X, V).T
    assert np.allclose(lhs, rhs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
def test_state_derivatives_match_finite_differences(name):
    rng, cell, _, _ = _setup(name, seed=2)
    h = 0.4 * rng.normal(size=N)
    x = rng.normal(size=NIN) if cell.n_in else None
    F = lambda z: cell.map1(z, x)  # noqa: E731
    eps = 1e-6
    Jfd = np.stack([(F(h + eps * e) - F(h - eps * e)) / (2 * eps) for e in np.eye(N)], axis=1)
    assert np.max(np.abs(cell.jacobian_h(h, x) - Jfd)) < 1e-9
    u, v = rng.normal(size=N), rng.normal(size=N)
    d2 = lambda e: (F(h + e * u + e * v) - F(h + e * u - e * v) - F(h - e * u + e * v)  # noqa: E731
                    + F(h - e * u - e * v)) / (4 * e * e)
    d3 = lambda e: (F(h + 2 * e * u) - 2 * F(h + e * u) + 2 * F(h - e * u) - F(h - 2 * e * u)) / (2 * e**3)  # noqa: E731
    # central stencils err by O(e^2): one Richardson step leaves O(e^4) ~ 1e-8 at e = 1e-2
    e = 1e-2
    ref2, ref3 = (4 * d2(e / 2) - d2(e)) / 3, (4 * d3(e / 2) - d3(e)) / 3
    assert np.max(np.abs(cell.second(h, u, v, x) - ref2)) < 1e-6 * max(1.0, np.max(np.abs(ref2)))
    assert np.max(np.abs(cell.third(h, u, x) - ref3)) < 1e-6 * max(1.0, np.max(np.abs(ref3)))
    d = rng.normal(size=cell.n_params)
    theta = cell.flat()
    Fp = lambda s: cell.with_flat(theta + s * d).map1(h, x)  # noqa: E731
    assert np.max(np.abs(cell.param_jvp1(h, d, x) - (Fp(eps) - Fp(-eps)) / (2 * eps))) < 1e-8


def test_jets_match_the_taylor_series_of_tanh_and_sigmoid():
    # the series of tanh and the logistic function at a0 (textbook derivatives)
    a0 = 0.3
    t = np.tanh(a0)
    s = 1 / (1 + np.exp(-a0))
    tj = tanh(Jet([np.array(a0), 1.0, 0.0, 0.0])).c
    sj = sigmoid(Jet([np.array(a0), 1.0, 0.0, 0.0])).c
    assert np.allclose([float(c) for c in tj], [t, 1 - t**2, -t * (1 - t**2), -(1 - t**2) * (1 - 3 * t**2) / 3],
                       rtol=1e-14)
    ds = s * (1 - s)
    assert np.allclose([float(c) for c in sj], [s, ds, ds * (1 - 2 * s) / 2, ds * (1 - 6 * ds) / 6], rtol=1e-13)


def _torch_gru_reference(x, h, w_ih, w_hh, b_ih, b_hh):
    # PyTorch's documented nn.GRU equations, gate by gate (r, z, n stacked in that order)
    n = h.shape[-1]
    W_ir, W_iz, W_in = w_ih[:n], w_ih[n:2 * n], w_ih[2 * n:]
    W_hr, W_hz, W_hn = w_hh[:n], w_hh[n:2 * n], w_hh[2 * n:]
    b_ir, b_iz, b_in = b_ih[:n], b_ih[n:2 * n], b_ih[2 * n:]
    b_hr, b_hz, b_hn = b_hh[:n], b_hh[n:2 * n], b_hh[2 * n:]
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    r = sig(W_ir @ x + b_ir + W_hr @ h + b_hr)
    z = sig(W_iz @ x + b_iz + W_hz @ h + b_hz)
    nn_ = np.tanh(W_in @ x + b_in + r * (W_hn @ h + b_hn))
    return (1 - z) * nn_ + z * h


def test_gru_follows_pytorchs_equations():
    rng = np.random.default_rng(3)
    cell = GRUCell.init(5, 3, rng)
    p = cell.params()
    h0 = rng.normal(size=(2, 5))
    X = rng.normal(size=(7, 2, 3))
    H = cell.forward(h0, X)
    for b in range(2):
        h = h0[b]
        for t in range(7):
            h = _torch_gru_reference(X[t, b], h, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
            assert np.allclose(H[t + 1, b], h, rtol=0, atol=1e-14)


def _gru(w, w_r=0.0):
    # gates act diagonally: with zero biases and input the origin is fixed; its multiplier along e_0 is
    # z + (1 - z) r w = 1/2 + w/4 (r = z = 1/2), so +1 at w = 2
    Whh = np.zeros((9, 3))
    Whh[6:] = np.diag([w, 0.5, 0.3])
    Whh[0, 0] = w_r
    return GRUCell(np.zeros((9, 1)), Whh, np.zeros(9), np.zeros(9))


def test_planted_pitchfork_in_a_gru_is_located_and_classified():
    # W_hr = W_hz = 0 keeps the map odd: along e_0, h' = h/2 + tanh(w h / 2)/2 = h - h^3/6 + ... at w = 2
    tracks = track_fixed_points([_gru(1.9), _gru(2.1)], [0, 100], seeds=10, progress=False)
    (bif,) = tracks.bifurcations
    assert bif.classification == "pitchfork"
    assert abs(bif.alpha - 0.5) < 1e-8
    assert bif.coefficients.values["b"] == pytest.approx(-1 / 6, rel=1e-8)


def test_planted_transcritical_in_a_gru_has_the_hand_derived_coefficient():
    # a reset weight w_r breaks the symmetry: r = 1/2 + w_r h/4 + ..., n = tanh(r w h), and at w = 2 the
    # quadratic term of h' = n + z (h - n) is (w w_r / 4)/2 h^2 = w_r/4 h^2
    w_r = 0.8
    tracks = track_fixed_points([_gru(1.9, w_r), _gru(2.1, w_r)], [0, 100], seeds=10, progress=False)
    (bif,) = [b for b in tracks.bifurcations if abs(b.alpha - 0.5) < 1e-6]
    assert bif.classification == "transcritical"
    assert abs(bif.alpha - 0.5) < 1e-8
    assert bif.coefficients.values["a"] == pytest.approx(w_r / 4, rel=1e-8)


@pytest.mark.parametrize("alpha", [0.2, 1.0])
def test_planted_pitchfork_in_a_leaky_rnn(alpha):
    # multiplier 1 - alpha + alpha w along e_0: +1 at w = 1; h' = (1-alpha) h + alpha tanh h = h - alpha h^3/3
    cells = [LeakyCell(np.diag([w, 0.5, 0.3]), np.zeros(3), alpha=alpha) for w in (0.9, 1.1)]
    (bif,) = track_fixed_points(cells, [0, 10], seeds=10, progress=False).bifurcations
    assert bif.classification == "pitchfork" and abs(bif.alpha - 0.5) < 1e-8
    assert bif.coefficients.values["b"] == pytest.approx(-alpha / 3, rel=1e-8)


def test_flip_in_a_leaky_rnn_and_fixed_points_at_a_constant_input():
    # multiplier 1 - alpha + alpha w = -1 at w = 1 - 2/alpha
    alpha = 0.8
    w_c = 1 - 2 / alpha
    cells = [LeakyCell(np.diag([w, 0.2, 0.1]), np.zeros(3), alpha=alpha) for w in (w_c + 0.1, w_c - 0.1)]
    (bif,) = track_fixed_points(cells, [0, 10], seeds=10, progress=False).bifurcations
    assert bif.classification == "flip" and abs(bif.alpha - 0.5) < 1e-8
    # with an input the fixed point moves off the origin; it solves h = tanh(W h + W_in x + b) (leaky: same set)
    rng = np.random.default_rng(4)
    cell = LeakyCell(0.5 * rng.normal(size=(3, 3)), 0.1 * rng.normal(size=3), rng.normal(size=(3, 2)), alpha=0.5)
    x = np.array([0.7, -0.2])
    for fp in find_fixed_points(cell, seeds=20, x=x):
        assert np.max(np.abs(fp.h - np.tanh(cell.W @ fp.h + cell.W_in @ x + cell.b))) < 1e-12


def test_paper_cell_agrees_with_the_generic_protocol():
    # the paper's RNN keeps its fused kernels; the generic path (TanhCell without input) is independent code
    rng = np.random.default_rng(5)
    net = RNN.xavier(5, rng)
    twin = TanhCell(net.W, net.b)
    h0 = rng.normal(size=(3, 5))
    H = net.forward(h0, T=8)
    assert np.array_equal(H, twin.forward(h0, T=8))
    U = rng.normal(size=(2, net.n_params))
    assert np.allclose(net.jvp(H, None, U), twin.jvp(H, None, U), rtol=1e-13, atol=1e-14)
    V = rng.normal(size=(2, 8, 3, 5))
    assert np.allclose(net.vjp(H, None, V), twin.vjp(H, None, V), rtol=1e-13, atol=1e-14)
    h, u, v = rng.normal(size=(3, 5))
    assert np.allclose(net.second(h, u, v), twin.second(h, u, v), rtol=1e-12, atol=1e-14)
    assert np.allclose(net.third(h, u), twin.third(h, u), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["tanh+input", "gru"])
def test_state_dict_round_trip(name, tmp_path):
    rng, cell, h0, X = _setup(name, seed=6)
    model = Model(cell, rng.normal(size=(3, N)), rng.normal(size=3))
    sd = to_state_dict(model)
    assert set(sd) == {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                       "fc.weight", "fc.bias"}
    back = from_state_dict({k: v.astype(np.float32).astype(np.float64) for k, v in sd.items()})
    assert type(back.cell) is type(cell)
    np.testing.assert_allclose(back.cell.flat(), cell.flat(), rtol=1e-6)
    np.savez(tmp_path / "a.npz", **sd)
    np.savez(tmp_path / "b.npz", **sd)
    loaded = load_checkpoints([tmp_path / "a.npz", tmp_path / "b.npz"])
    assert np.array_equal(loaded[1].cell.flat(), cell.flat()) and np.array_equal(loaded[0].weight, model.weight)
    H = cell.forward(h0, X, T=T)
    assert np.array_equal(loaded[0].outputs(loaded[0].cell.forward(h0, X, T=T)), model.outputs(H))


def test_nn_rnn_biases_enter_as_their_sum():
    rng = np.random.default_rng(7)
    sd = {"weight_ih_l0": rng.normal(size=(4, 2)), "weight_hh_l0": rng.normal(size=(4, 4)),
          "bias_ih_l0": rng.normal(size=4), "bias_hh_l0": rng.normal(size=4)}
    m = from_state_dict(sd)
    assert np.array_equal(m.cell.b, sd["bias_ih_l0"] + sd["bias_hh_l0"]) and np.array_equal(m.weight, np.eye(4))


@pytest.mark.parametrize("state, match", [
    ({"weight_hh_l0": np.zeros((4, 2))}, "exactly one 'weight_ih_l0'"),
    ({"weight_ih_l0": np.zeros((16, 1)), "weight_hh_l0": np.zeros((16, 4)), "bias_ih_l0": np.zeros(16),
      "bias_hh_l0": np.zeros(16)}, "LSTMs"),
    ({"weight_ih_l1": np.zeros((4, 1))}, "single-layer"),
    ({"weight_ih_l0": np.zeros((4, 1)), "weight_hh_l0": np.full((4, 4), np.nan), "bias_ih_l0": np.zeros(4),
      "bias_hh_l0": np.zeros(4)}, "NaN"),
])
def test_bad_state_dicts_are_refused_clearly(state, match):
    with pytest.raises(ValueError, match=match):
        from_state_dict(state)


def test_an_npz_holding_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weight_hh_l0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="plain arrays"):
        load_npz(path)


@pytest.mark.parametrize("make, match", [
    (lambda: GRUCell(np.zeros((9, 1)), np.zeros((8, 3)), np.zeros(9), np.zeros(9)), r"\(3N, N\)"),
    (lambda: TanhCell(np.zeros((3, 3)), np.zeros(2)), r"b must have shape \(3,\)"),
    (lambda: LeakyCell(np.zeros((3, 3)), np.zeros(3), alpha=1.5), r"alpha"),
    (lambda: TanhCell(np.eye(3), np.zeros(3)).with_flat(np.zeros(5)), r"theta must have shape \(12,\)"),
    (lambda: TanhCell(np.eye(2), np.zeros(2), np.ones((2, 1))).forward(np.zeros((1, 2)), T=3), "takes inputs"),
])
def test_bad_cells_get_one_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sntk_operator_on_any_cell():
    from numerics.rnn import SntkOperator, embed

    rng = np.random.default_rng(8)
    net = RNN.xavier(4, rng)
    x0 = rng.uniform(-1, 1, size=(3, 2))
    paper = SntkOperator(net, x0, T=5)
    twin = SntkOperator(TanhCell(net.W, net.b), h0=embed(x0, 4), T=5)  # the generic path, other code
    assert twin.trace() == pytest.approx(paper.trace(), rel=1e-12)
    assert np.allclose(twin.dense_fisher(), paper.dense_fisher(), rtol=1e-11, atol=1e-13)
    gru = GRUCell.init(3, 2, rng)
    op = SntkOperator(gru, h0=rng.normal(size=(2, 3)), X=rng.normal(size=(4, 2, 2)), params=("weight_hh", "bias_hh"),
                      neurons=[0, 2])
    assert op.n_params == 9 * 3 + 9 and op.n_states == 4 * 2 * 2
    F = op.dense_fisher()
    u, v = rng.normal(size=op.n_params), rng.normal(size=op.n_states)
    assert u @ op.JT(v) == pytest.approx(np.ravel(op.J(u)) @ v, rel=1e-12)
    assert op.trace() == pytest.approx(np.trace(F), rel=1e-12)
    lam, _ = op.top_eigenpairs(2)
    assert np.allclose(lam, np.sort(np.linalg.eigvalsh(F))[::-1][:2], rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_flipflop_gru_stores_its_eight_memories_as_tracked_stable_fixed_points(seed):
    from numerics.rnn import FlipFlop, fit

    rng = np.random.default_rng(seed)
    model = Model(GRUCell.init(12, 3, rng), rng.uniform(-0.25, 0.25, (3, 12)))
    trained, rec = fit(model, FlipFlop(T=40), steps=1000, lr=1e-2, batch=64, seed=seed + 10, every=250)
    assert rec.loss[-1] < 0.01 * rec.loss[0]
    tracks = track_fixed_points(rec.cells()[-3:], rec.steps[-3:], seeds=30, progress=False, x=np.zeros(3))
    stable = [br.last.h for br in tracks.segments[-1] if br.end == "alpha=1" and br.last.stable]
    # each memory is a corner of the readout cube: the output there is the stored bit pattern
    corners = {tuple(np.sign(trained.weight @ h + trained.bias).astype(int)) for h in stable}
    outputs = np.array([trained.weight @ h + trained.bias for h in stable])
    assert len(stable) == 8 and len(corners) == 8
    assert np.max(np.abs(np.abs(outputs) - 1)) < 0.15


def _bad_input_cases():
    from numerics.rnn import FlipFlop, SntkOperator, fit
    from numerics.rnn._continuation import Chord

    gru = GRUCell.init(3, 2, 0)
    h0, X = np.zeros((2, 3)), np.zeros((4, 2, 2))
    leaky = [LeakyCell(np.eye(3), np.zeros(3), alpha=a) for a in (0.2, 0.3)]
    return [
        (lambda: Chord(*leaky), "share their hyperparameters"),
        (lambda: Chord(gru, TanhCell(np.eye(3), np.zeros(3))), "one kind and size"),
        (lambda: SntkOperator(gru, h0=h0, X=X, params=("weight_hh", "W")), "sequence of the cell's groups"),
        (lambda: SntkOperator(gru, h0=h0, X=X, params="Wb"), "sequence of the cell's groups"),
        (lambda: SntkOperator(gru, h0=h0, X=X, neurons=[0, 3]), r"indices in \[0, 3\)"),
        (lambda: SntkOperator(gru, np.zeros((2, 2)), 4), "pass h0"),
        (lambda: SntkOperator(gru, h0=h0), "takes inputs"),
        (lambda: Model(gru, np.zeros((3, 4))), r"shape \(n_out, 3\)"),
        (lambda: fit(Model(gru, np.zeros((3, 3))), FlipFlop(bits=2), steps=1), "the task has 2 inputs"),
        (lambda: fit(Model(gru, np.zeros((2, 3))), FlipFlop(bits=2), steps=1, optimizer="lbfgs"), "'adam', 'sgd' or 'natural'"),
        (lambda: FlipFlop(p=1.5), "pulse probability"),
        (lambda: gru.map1(np.zeros(3), np.zeros(3)), r"constant input must have shape \(2,\)"),
    ]


@pytest.mark.parametrize("make, match", _bad_input_cases())
def test_bad_inputs_to_the_protocol_tools_get_one_clear_error(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("name", ["tanh+input", "leaky", "gru"])
@pytest.mark.parametrize("which", ["h", "theta", "both", "one group"])
def test_hand_written_jvp_steps_equal_the_jets(name, which):
    """Each cell's hand-written step tangent against the protocol's exact Taylor-jet evaluation of its update."""
    from numerics.rnn import AbstractCell

    rng, cell, h0, X = _setup(name, seed=4)
    x = None if X is None else X[0]
    m = 3
    dh = rng.normal(size=(m, B, N)) if which in ("h", "both") else 0.0
    dtheta = rng.normal(size=(m, cell.n_params))
    dp = None
    if which in ("theta", "both"):
        dp = cell._tangent_groups(dtheta)
    elif which == "one group":  # only the biases move: the direction axis must still be there
        dp = {k: v for k, v in cell._tangent_groups(dtheta).items() if k.startswith("b")}
    if dp is None and np.ndim(dh) != 3:
        dh = rng.normal(size=(m, B, N))
    hand = cell.jvp_step(h0, x, dh, dp)
    jets = AbstractCell.jvp_step(cell, h0, x, dh, dp)
    assert hand.shape == (m, B, N)
    assert np.allclose(hand, jets, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", ["tanh+input", "leaky", "gru"])
def test_sequence_jvp_kernels_equal_the_protocols_step_by_step_jvp(name, monkeypatch):
    """The cells' whole-sequence tangent kernels against the protocol's generic loop over jet steps,
    also when the directions are split into memory-bounded chunks."""
    from numerics.rnn import AbstractCell
    import numerics.rnn._cells as cells

    rng, cell, h0, X = _setup(name, seed=5)
    H = cell.forward(h0, X, T=T)
    U = rng.normal(size=(5, cell.n_params))
    generic = AbstractCell.jvp(cell, H, X, U)
    assert np.allclose(cell.jvp(H, X, U), generic, rtol=1e-12, atol=1e-13)
    monkeypatch.setattr(cells, "_direction_chunks", lambda c, H_, d, w: [d[i:i + 2] for i in range(0, len(d), 2)])
    assert np.allclose(cell.jvp(H, X, U), generic, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", ["tanh+input", "leaky", "gru", "gru autonomous"])
def test_fused_sequence_paths_equal_the_protocols_generic_loops(name, monkeypatch):
    """forward, jvp and vjp of the cells that override them (the GRU's fused numba steps, the affine
    cells' kernels) against the protocol's generic step-by-step loops (``_update`` on jets and
    ``_update_vjp``), also with the directions split into chunks."""
    from numerics.rnn import AbstractCell
    import numerics.rnn._cells as cells

    if name == "gru autonomous":
        rng = np.random.default_rng(6)
        cell, X = GRUCell.init(N, 0, rng), None
        h0 = 0.5 * rng.normal(size=(B, N))
    else:
        rng, cell, h0, X = _setup(name, seed=6)
    H = cell.forward(h0, X, T=T)
    assert np.allclose(H, AbstractCell.forward(cell, h0, X, T=T), rtol=0, atol=1e-15)
    U = rng.normal(size=(5, cell.n_params))
    V = rng.normal(size=(5, T, B, N))
    generic_j, generic_v = AbstractCell.jvp(cell, H, X, U), AbstractCell.vjp(cell, H, X, V)
    assert np.allclose(cell.jvp(H, X, U), generic_j, rtol=1e-12, atol=1e-13)
    assert np.allclose(cell.vjp(H, X, V), generic_v, rtol=1e-12, atol=1e-13)
    monkeypatch.setattr(cells, "directions_per_pass", lambda *a, **k: 2)
    assert np.allclose(cell.vjp(H, X, V), generic_v, rtol=1e-12, atol=1e-13)


def test_gru_with_saturated_gates_stays_finite_and_exact():
    """Pre-activations of +-800 (exp(800) overflows): the fused update, written with tanh(a/2) for the
    sigmoid, against PyTorch's equations evaluated with mpmath."""
    import mpmath as mp

    rng = np.random.default_rng(8)
    cell = GRUCell(400 * rng.choice([-1.0, 1.0], size=(9, 2)), 200 * rng.normal(size=(9, 3)), np.zeros(9), np.zeros(9))
    h0 = rng.uniform(-1, 1, size=(2, 3))
    X = rng.choice([-2.0, 2.0], size=(3, 2, 2))
    H = cell.forward(h0, X)
    p = {k: mp.matrix(v.tolist()) for k, v in cell.params().items()}
    sig = lambda a: 1 / (1 + mp.exp(-a))  # noqa: E731
    for b in range(2):
        h = mp.matrix(h0[b].tolist())
        for t in range(3):
            gi = p["weight_ih"] * mp.matrix(X[t, b].tolist())
            gh = p["weight_hh"] * h
            new = [(1 - sig(gi[3 + j] + gh[3 + j])) * mp.tanh(gi[6 + j] + sig(gi[j] + gh[j]) * gh[6 + j])
                   + sig(gi[3 + j] + gh[3 + j]) * h[j] for j in range(3)]
            h = mp.matrix(new)
            assert np.allclose(H[t + 1, b], [float(v) for v in new], rtol=0, atol=1e-15)
    U = rng.normal(size=(2, cell.n_params))
    assert np.all(np.isfinite(cell.jvp(H, X, U))) and np.all(np.isfinite(cell.vjp(H, X, rng.normal(size=(2, 3, 2, 3)))))
