"""Sweeps and multi-seed runs on a LocalCluster with 2 worker processes.

References: the local sweep (itself checked against mpmath and exact rationals in test_sweep) and
local seed runs; the distributed results must equal them to 1e-12 relative, or bit for bit where
the arithmetic is the same.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import distributed  # in the test extra (and nfsntk[distributed])
import numpy as np
import pytest

import normalforms as nf
import numerics
from numerics.rnn import TrainConfig, run_seeds



@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def close(a, b, rtol=1e-12):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


@pytest.mark.parametrize("chunks", [None, (7, 999), (1, 20_000), (64, 1)])
def test_distributed_sweep_equals_the_local_one(client, chunks):
    g = np.linspace(0.5, 1.5, 64)
    h0 = numerics.uniform_ics(0.1, 2000 if chunks == (64, 1) else 20_000, seed=1)
    local = numerics.sweep(nf.pitchfork(), g, 30, h0, profile=True, progress=False)
    dist = numerics.sweep(nf.pitchfork(), g, 30, h0, profile=True, client=client, chunks=chunks)
    close(dist.norm, local.norm)
    close(dist.profile, local.profile)
    np.testing.assert_array_equal(dist.escaped, local.escaped)


def test_escapes_overflow_and_vector_forms(client):
    h0 = numerics.uniform_ics(0.1, 3000, seed=2)
    g = np.linspace(0.9, 1.1, 21)
    with pytest.warns(RuntimeWarning, match="every trajectory escaped"):
        local = numerics.sweep(nf.saddle_node(), g, 60, h0, progress=False)
    with pytest.warns(RuntimeWarning, match="every trajectory escaped"):
        dist = numerics.sweep(nf.saddle_node(), g, 60, h0, client=client, chunks=(5, 700))
    assert local.escaped.sum() > 0  # the case under test: some orbits escape
    np.testing.assert_array_equal(dist.escaped, local.escaped)
    close(dist.norm, local.norm)
    with pytest.warns(numerics.NumericalOverflowWarning):
        big = numerics.sweep(nf.stability_flip(), [0.9, 1.5], 2000, h0[:50], client=client, chunks=(1, 7))
    with pytest.warns(numerics.NumericalOverflowWarning):
        ref = numerics.sweep(nf.stability_flip(), [0.9, 1.5], 2000, h0[:50])
    np.testing.assert_array_equal(big.overflowed, ref.overflowed)
    close(big.log_norm, ref.log_norm)
    h2 = numerics.uniform_ics(0.1, 500, seed=3, dim=2)
    ns = nf.catalog()["neimark_sacker"]
    close(numerics.sweep(ns, g, 40, h2, client=client, chunks=(4, 100)).norm, numerics.sweep(ns, g, 40, h2).norm)


def test_each_worker_compiles_a_form_once(client):
    g, h0 = np.linspace(0.5, 1.5, 8), numerics.uniform_ics(0.1, 400, seed=4)
    form = nf.NormalForm("g*h - h**3 + h**5/7")
    for _ in range(3):
        numerics.sweep(form, g, 20, h0, client=client, chunks=(1, 50))

    def signatures():
        from numerics import compile_form

        mod = compile_form(form).module
        return len(mod.run_items_norm.signatures)

    assert set(client.run(signatures).values()) == {1}


def test_a_kernel_error_on_a_worker_is_raised_here(client):
    form = nf.NormalForm("g*h + log(h)")
    with pytest.raises(FloatingPointError, match="NaN inside the escape radius"):
        numerics.sweep(form, [1.0, 1.1], 5, [0.5, 0.7, -0.5, 0.9], client=client, chunks=(1, 2), retries=0)


def test_a_worker_dying_mid_sweep_is_recomputed_not_dropped(client):
    g = np.linspace(0.5, 1.5, 48)
    h0 = numerics.uniform_ics(0.1, 60_000, seed=5)
    local = numerics.sweep(nf.pitchfork(), g, 400, h0, progress=False)
    pids = client.run(os.getpid)
    killed = []

    def kill_one_worker():
        deadline = time.time() + 20
        while time.time() < deadline:
            busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)  # the process dies as on a lost node: no clean-up
                killed.append(busy[0])
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    dist = numerics.sweep(nf.pitchfork(), g, 400, h0, client=client, chunks=(2, 15_000))
    killer.join()
    assert killed  # a worker really died while holding tasks
    close(dist.norm, local.norm)
    np.testing.assert_array_equal(dist.escaped, local.escaped)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next tests


def test_bad_chunks_are_refused(client):
    with pytest.raises(ValueError, match="chunks must be a pair of positive integers"):
        numerics.sweep(nf.pitchfork(), [1.0], 5, [0.1], client=client, chunks=(0, 5))


def test_a_scheduler_address_instead_of_a_client_is_refused():
    with pytest.raises(TypeError, match=r"client must be a distributed.Client .*got str"):
        numerics.sweep(nf.pitchfork(), [1.0], 5, [0.1], client="tcp://scheduler:8786")
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        run_seeds(TrainConfig(**SMALL), [1], client="tcp://scheduler:8786")


SMALL = dict(N=6, T=8, B=16, steps=30, record_every=10, diag_batch=8, fixed_point_seeds=5, lr=0.05)


def test_seed_runs_on_the_cluster_equal_the_local_ones(client):
    cfg = TrainConfig(**SMALL)
    here = run_seeds(cfg, [0, 3, 7])
    there = run_seeds(cfg, [0, 3, 7], client=client, keep_records=True)
    assert there.column("seed") == [0, 3, 7]
    for a, b in zip(here.rows, there.rows):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    assert all(r.loss[-1] == row["final_loss"] and r.config.seed == row["seed"]
               for r, row in zip(there.records, there.rows))
    assert "final_loss" in str(there)


def test_seed_runs_check_their_input(tmp_path):
    with pytest.raises(ValueError, match="distinct"):
        run_seeds(TrainConfig(**SMALL), [1, 1])
    with pytest.raises(TypeError, match="TrainConfig"):
        run_seeds(dict(SMALL), [1])
    table = run_seeds(TrainConfig(**SMALL), [2])
    text = table.to_csv(tmp_path / "runs.csv").read_text().splitlines()
    assert text[0].startswith("seed,config,optimizer") and text[1].startswith("2,paper,sgd")


def test_fit_seeds_of_any_model_on_the_cluster_equal_the_local_ones(client):
    from numerics.rnn import FlipFlop, ModelSpec, fit_seeds

    kw = dict(steps=15, lr=0.05, batch=8, every=5)
    here = fit_seeds(ModelSpec("leaky", 5, 2, 2), FlipFlop(bits=2, T=8), [0, 2], **kw)
    there = fit_seeds(ModelSpec("leaky", 5, 2, 2), FlipFlop(bits=2, T=8), [0, 2], client=client, **kw)
    for a, b in zip(here.rows, there.rows):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}


def test_a_parameter_grid_on_the_cluster_equals_the_local_one(client):
    form = nf.imperfect_pitchfork()
    axes = {"g": np.linspace(0.8, 1.2, 6), "eps": np.linspace(-0.02, 0.02, 5)}
    h0 = numerics.uniform_ics(0.2, 3000, seed=2)
    local = numerics.sweep_grid(form, axes, 20, h0, progress=False)
    remote = numerics.sweep_grid(form, axes, 20, h0, client=client, chunks=(4, 1000))
    close(remote.norm, local.norm)
    assert remote.norm.shape == (6, 5) and np.array_equal(remote.escaped, local.escaped)
