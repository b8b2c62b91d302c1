"""Training records load only what they should: every field is checked against the schema."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from numerics.rnn import RecordError, TrainConfig, TrainingRecord, train


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    rec = train(TrainConfig(N=4, B=8, T=5, steps=4, record_every=2, diag_batch=4, fixed_point_seeds=4,
                            trace_passes=4, seed=3), progress=False)
    return rec, rec.save(folder / "good")


def _copy(saved, tmp_path, edit_json=None, edit_arrays=None):
    rec, npz = saved
    meta = json.loads(npz.with_suffix(".json").read_text())
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    if edit_json:
        edit_json(meta)
    if edit_arrays:
        edit_arrays(arrays)
    out = tmp_path / "edited"
    np.savez(out.with_suffix(".npz"), **arrays)
    out.with_suffix(".json").write_text(json.dumps(meta))
    return out


def test_a_saved_record_loads_back_equal(saved):
    rec, npz = saved
    back = TrainingRecord.load(npz)
    assert back.config == rec.config and back.steps == rec.steps == [0, 2, 4]
    np.testing.assert_array_equal(back.loss, rec.loss)
    np.testing.assert_array_equal(np.array(back.W), np.array(rec.W))
    assert back.fixed_points == rec.fixed_points
    assert "3 records" in repr(back) and "seed 3" in repr(back)


def _set(path, value):
    def edit(meta):
        target = meta
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


@pytest.mark.parametrize("edit, field", [
    (_set(("config",), []), "config"),
    (_set(("config", "box"), -1.0), "box"),
    (_set(("config", "box"), math.nan), "box"),
    (_set(("config", "seed"), "zero"), "seed"),
    (_set(("config", "trace_passes"), -3), "trace_passes"),
    (_set(("config", "N"), 5), "W"),
    (_set(("config", "colour"), "red"), "config.colour"),
    (lambda meta: meta["config"].pop("lr"), "config.lr"),
    (_set(("fixed_points",), []), "fixed_points"),
    (_set(("fixed_points", 0, 0), {"readout": "x"}), "fixed_points[0][0]"),
])
def test_edited_json_is_refused_naming_the_field(saved, tmp_path, edit, field):
    path = _copy(saved, tmp_path, edit_json=edit)
    with pytest.raises(RecordError) as info:
        TrainingRecord.load(path)
    message = str(info.value)
    assert path.name in message and field in message and "\n" not in message


def _array(name, value):
    def edit(arrays):
        arrays[name] = value(arrays[name]) if callable(value) else value
    return edit


@pytest.mark.parametrize("edit, field", [
    (_array("loss", np.array(["a", "b", "c"])), "loss"),
    (_array("loss", lambda a: a[:2]), "loss"),
    (_array("loss", lambda a: np.where(np.arange(a.size) == 1, np.nan, a)), "loss"),
    (_array("W", lambda a: a[:, :3, :3]), "W"),
    (_array("b", lambda a: np.full_like(a, np.inf)), "b"),
    (_array("steps", lambda a: a[::-1].copy()), "steps"),
    (_array("teacher_W", np.zeros((3, 3))), "teacher_W"),
    (lambda arrays: arrays.pop("W"), "W"),
])
def test_edited_arrays_are_refused_naming_the_field(saved, tmp_path, edit, field):
    path = _copy(saved, tmp_path, edit_arrays=edit)
    with pytest.raises(RecordError) as info:
        TrainingRecord.load(path)
    assert f"'{field}'" in str(info.value)


def test_truncated_and_foreign_files_give_one_line(saved, tmp_path):
    rec, npz = saved
    path = _copy(saved, tmp_path)
    data = path.with_suffix(".npz").read_bytes()
    path.with_suffix(".npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordError, match="truncated or not from nfsntk"):
        TrainingRecord.load(path)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(RecordError, match="not a training-record JSON"):
        TrainingRecord.load(path)
    with pytest.raises(FileNotFoundError, match="nfsntk train"):
        TrainingRecord.load(tmp_path / "missing")


def test_pickled_objects_are_never_loaded(saved, tmp_path):
    """An object array needs pickle to load; the loader refuses it instead."""
    path = _copy(saved, tmp_path, edit_arrays=_array("x_diag", np.array([object()], dtype=object)))
    with pytest.raises(RecordError, match="not a readable training record"):
        TrainingRecord.load(path)


@pytest.mark.parametrize("kwargs, field", [
    (dict(box=-1.0), "box"), (dict(box=float("nan")), "box"), (dict(seed="0"), "seed"), (dict(seed=-1), "seed"),
    (dict(trace_passes=-3), "trace_passes"), (dict(lr=0.0), "lr"), (dict(N=1), "N"), (dict(resample="yes"), "resample"),
    (dict(fixed_point_seeds=0), "fixed_point_seeds"), (dict(ng_damping=-1.0), "ng_damping"),
])
def test_train_config_refuses_bad_settings(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**kwargs)


def test_numpy_integers_are_accepted_and_stored_as_ints():
    cfg = TrainConfig(N=np.int64(8), seed=np.int64(2), steps=np.int32(5))
    assert type(cfg.N) is int and type(cfg.seed) is int and json.dumps(cfg.N) == "8"
