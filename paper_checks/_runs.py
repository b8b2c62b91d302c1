"""The training runs the RNN checks read: named by what defines them, never retrained behind the user's back.

A :class:`RunSpec` is a :class:`~numerics.rnn.TrainConfig` plus the name of a
*setup* (who the teacher and the initial student are: the paper's appendix-B
teacher with a Xavier student by default, figure 3's two-mode teacher with a
stable student).  Its record lives at ``<out>/runs/<name>.npz`` where the
name spells the defining settings and ends in a hash of all of them, so two
different runs can never share a file, and an existing file is never
overwritten: a record is either there (and used) or missing (and trained,
when the caller allows it, with a checkpoint that a rerun resumes).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from numerics.rnn import RNN, TrainConfig, TrainingRecord, record_name, train
from numerics.rnn._checkpoint import _Checkpoint

#: Setups by name: a function (TrainConfig) -> dict(teacher=..., student=...) given as "module:function".
SETUPS = {"": None, "two_mode": "paper_checks.fig3_two_modes:setup"}


class CheckNotRun(Exception):
    """A check could not evaluate its claim (a record is missing, or its premise is absent); says why."""


@dataclass(frozen=True)
class RunSpec:
    """One training run a check needs.

    Attributes
    ----------
    label : str
        What the plan prints, e.g. ``"figure 1: paper-faithful SGD"``.
    config : TrainConfig
    setup : str
        A key of :data:`SETUPS` ("" = the paper's teacher, Xavier student).
    check : str
        The check module that needs it (for the command that makes it).
    """

    label: str
    config: TrainConfig
    setup: str = ""
    check: str = ""

    def __post_init__(self) -> None:
        if self.setup not in SETUPS:
            raise ValueError(f"unknown setup {self.setup!r}; choose from {sorted(SETUPS)}")

    @property
    def name(self) -> str:
        return record_name(self.config, self.setup)

    def setup_kwargs(self) -> dict[str, RNN]:
        where = SETUPS[self.setup]
        if where is None:
            return {}
        module, function = where.split(":")
        return getattr(importlib.import_module(module), function)(self.config)

    @property
    def command(self) -> str:
        return f"nfsntk check --only {self.check}" if self.check else "nfsntk check"


def record_path(out_dir: Path, spec: RunSpec) -> Path:
    return Path(out_dir) / "runs" / spec.name


def checkpoint_path(out_dir: Path, name: str) -> Path:
    """The resumable state of the run whose record is named ``name`` (while it trains)."""
    return Path(out_dir) / "runs" / f"{name}.partial"


def status(out_dir: Path, spec: RunSpec) -> tuple[str, int]:
    """("done", steps) | ("partial", step resumed from) | ("missing", 0), without loading arrays."""
    if (record_path(out_dir, spec).parent / f"{spec.name}.npz").is_file():
        return "done", spec.config.steps
    step = _Checkpoint.progress(checkpoint_path(out_dir, spec.name))
    return ("partial", step) if step is not None else ("missing", 0)


def obtain(out_dir: Path, spec: RunSpec, *, train_missing: bool = True, progress: bool | None = None,
           should_stop: Callable[[], bool] | None = None,
           on_progress: Callable[[int], None] | None = None) -> TrainingRecord:
    """The record of ``spec``: loaded if it exists, else trained (resuming a checkpoint) and saved.

    Raises
    ------
    CheckNotRun
        The record is missing and ``train_missing`` is False (the message names the command that makes it).
    """
    path = record_path(out_dir, spec)
    if path.with_name(f"{spec.name}.npz").is_file():
        rec = TrainingRecord.load(path)
        if rec.config != spec.config:
            raise CheckNotRun(f"the record {path}.npz holds another configuration than its name says; delete it")
        return rec
    if not train_missing:
        raise CheckNotRun(f"the record {spec.name} ({spec.label}) is missing; make it with `{spec.command}`")
    rec = train(spec.config, progress=progress, checkpoint=checkpoint_path(out_dir, spec.name), should_stop=should_stop,
                on_progress=on_progress, **spec.setup_kwargs())
    rec.save(path)
    return rec
