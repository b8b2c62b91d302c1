"""Multi-seed runs of any model (issue 18) and local parallel processes for the paper's runs.

References: single runs of :func:`fit` / :func:`train` made here with the documented seed streams;
the parallel tables must equal them bit for bit (same arithmetic, one process per seed)."""

from __future__ import annotations

import numpy as np
import pytest

from numerics.rnn import (FlipFlop, GRUCell, Model, ModelSpec, TrainConfig, fit, fit_seeds, run_seeds)

SPEC = ModelSpec("gru", 5, 2, 2)
TASK = FlipFlop(bits=2, T=10)
FIT = dict(steps=20, lr=0.05, batch=8, every=10)


def test_model_spec_draws_as_pytorch_does_cell_then_readout():
    rng = np.random.default_rng(5)
    cell = GRUCell.init(5, 2, rng)
    readout = rng.uniform(-1 / np.sqrt(5), 1 / np.sqrt(5), (2, 5))
    model = SPEC(5)
    for name, value in cell.params().items():
        np.testing.assert_array_equal(model.cell.params()[name], value)
    np.testing.assert_array_equal(model.weight, readout)
    np.testing.assert_array_equal(model.bias, 0.0)
    assert ModelSpec("leaky", 4, 0, 1, alpha=0.5)(0).cell.alpha == 0.5
    with pytest.raises(ValueError, match="kind"):
        ModelSpec("lstm", 4, 1, 1)


def test_fit_seeds_in_processes_equal_single_fits_with_the_documented_streams():
    table = fit_seeds(SPEC, TASK, [0, 4], processes=2, keep_records=True, **FIT)
    assert table.column("seed") == [0, 4] and table.column("model") == ["GRUCell", "GRUCell"]
    for s, row, rec in zip([0, 4], table.rows, table.records):
        _, ref = fit(SPEC(np.random.default_rng([s, 0])), TASK, seed=np.random.default_rng([s, 1]), **FIT)
        assert rec.loss == ref.loss
        assert row["final_loss"] == float(np.mean(ref.loss[-10:])) and row["min_loss"] == min(ref.loss)
    here = fit_seeds(SPEC, TASK, [0, 4], **FIT)
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in here.rows] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in table.rows]


def test_run_seeds_in_processes_equal_the_sequential_runs():
    cfg = TrainConfig(N=6, T=8, B=16, steps=20, record_every=10, diag_batch=8, fixed_point_seeds=5, lr=0.05)
    a = run_seeds(cfg, [1, 2], processes=2)
    b = run_seeds(cfg, [1, 2])
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in a.rows] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in b.rows]


def test_fit_seeds_refuses_bad_arguments_clearly():
    with pytest.raises(ValueError, match="picklable"):
        fit_seeds(lambda g: Model(GRUCell.init(3, 2, g), np.ones((2, 3))), TASK, [0, 1], processes=2, **FIT)
    with pytest.raises(ValueError, match="processes"):
        fit_seeds(SPEC, TASK, [0], processes=0, **FIT)
    with pytest.raises(ValueError, match="seed="):
        fit_seeds(SPEC, TASK, [0], seed=3, **FIT)
    with pytest.raises(ValueError, match="distinct"):
        fit_seeds(SPEC, TASK, [1, 1], **FIT)
    with pytest.raises(TypeError, match="make_model"):
        fit_seeds("gru", TASK, [0], **FIT)
