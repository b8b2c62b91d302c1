"""Training is reproducible and resumable: same seed -> bit-identical record; an interrupted run resumed
from its checkpoint -> the same record, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from numerics.rnn import RecordError, TrainConfig, TrainingInterrupted, record_name, train

FIELDS = ("steps", "loss", "spectral_radius", "trace", "lambda_max", "stable_rank", "W", "b", "batch_loss")

SMALL = dict(N=6, B=16, T=6, steps=60, record_every=5, diag_batch=8, fixed_point_seeds=6, trace_passes=6, seed=4)


def identical(a, b) -> bool:
    same = all(np.array_equal(np.asarray(getattr(a, k)), np.asarray(getattr(b, k)), equal_nan=True) for k in FIELDS)
    return same and a.fixed_points == b.fixed_points and np.array_equal(a.teacher_W, b.teacher_W)


@pytest.mark.parametrize("settings", [dict(), dict(optimizer="natural", ng_rank=2, ng_refresh=3),
                                      dict(config="symmetric", diagnostics="events")])
def test_same_seed_same_record(settings):
    cfg = TrainConfig(**SMALL, **settings)
    assert identical(train(cfg, progress=False), train(cfg, progress=False))


@pytest.mark.parametrize("settings", [dict(), dict(optimizer="natural", ng_rank=2, ng_refresh=3)])
@pytest.mark.parametrize("stop_at", [1, 23, 30])  # before the first checkpoint, between two, at a record step
def test_an_interrupted_run_resumes_bit_identically(tmp_path, settings, stop_at):
    cfg = TrainConfig(**SMALL, **settings)
    reference = train(cfg, progress=False)
    checkpoint = tmp_path / "run.partial"
    polls = {"n": 0}

    def stop() -> bool:
        polls["n"] += 1
        return polls["n"] == stop_at + 1

    with pytest.raises(TrainingInterrupted, match=f"step {stop_at} of 60"):
        train(cfg, progress=False, checkpoint=checkpoint, checkpoint_every=10, should_stop=stop)
    assert (tmp_path / "run.partial.npz").exists() and (tmp_path / "run.partial.json").exists()
    resumed = train(cfg, progress=False, checkpoint=checkpoint, checkpoint_every=10)
    assert identical(reference, resumed)
    assert not (tmp_path / "run.partial.npz").exists()  # a finished run leaves no checkpoint


def test_periodic_checkpoints_bound_the_loss_of_a_crash(tmp_path):
    """A run killed without warning restarts from its last periodic checkpoint, not from step 0."""
    from numerics.rnn._checkpoint import _Checkpoint

    cfg = TrainConfig(**SMALL)
    checkpoint = tmp_path / "run.partial"

    def crash(step: int) -> None:
        if step == 45:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        train(cfg, progress=False, checkpoint=checkpoint, checkpoint_every=20, on_progress=crash)
    assert _Checkpoint.progress(checkpoint) == 40
    assert identical(train(cfg, progress=False, checkpoint=checkpoint), train(cfg, progress=False))


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    checkpoint = tmp_path / "run.partial"
    with pytest.raises(TrainingInterrupted):
        train(TrainConfig(**SMALL), progress=False, checkpoint=checkpoint, should_stop=lambda: True)
    with pytest.raises(RecordError, match="another configuration"):
        train(TrainConfig(**{**SMALL, "seed": 5}), progress=False, checkpoint=checkpoint)
    (tmp_path / "run.partial.json").write_text("{broken")
    with pytest.raises(RecordError, match="unreadable training checkpoint"):
        train(TrainConfig(**SMALL), progress=False, checkpoint=checkpoint)


def test_batches_do_not_depend_on_what_is_recorded():
    """The diagnostics draw from their own stream: the training batches and weights are the same."""
    full = train(TrainConfig(**SMALL), progress=False)
    light = train(TrainConfig(**{**SMALL, "diagnostics": "loss"}), progress=False)
    np.testing.assert_array_equal(np.array(full.W), np.array(light.W))
    np.testing.assert_array_equal(full.batch_loss, light.batch_loss)
    assert np.all(np.isnan(light.stable_rank)) and not np.any(np.isnan(full.stable_rank))


def test_record_names_spell_the_settings_and_differ_for_every_setting():
    base = TrainConfig()
    name = record_name(base)
    assert name.startswith("paper-sgd-N64-s35000-lr0p005-seed0-") and "." not in name
    others = {record_name(TrainConfig(box=2.0)), record_name(TrainConfig(trace_passes=61)), record_name(base, "two_mode"),
              record_name(TrainConfig(optimizer="natural")), name}
    assert len(others) == 5
    with pytest.raises(ValueError):
        record_name(base, "../evil")
