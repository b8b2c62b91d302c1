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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from numerics.rnn import RNN, TrainConfig, TrainingRecord, record_name, train
from numerics.rnn._checkpoint import _Checkpoint

#: Setups by name: a function (TrainConfig) -> dict(teacher=..., student=...) given as "module:function".
SETUPS = {"": None, "two_mode": "paper_checks.fig3_two_modes:setup",
          "stable_origin": "paper_checks.fig1_rnn_collapse:stable_origin"}

#: Seeds of the RNN checks' training runs in the main job: a claim about a trained network rests on
#: several independent runs (teacher, student draw and batches all follow the seed), reported as
#: median and range, with the number of seeds for which it holds.
SEEDS = 5
QUICK_SEEDS = 2


def seeded(spec: "RunSpec", seed: int) -> "RunSpec":
    """``spec`` with its configuration's seed replaced (seed 0 is the spec itself)."""
    if seed == spec.config.seed:
        return spec
    return RunSpec(f"{spec.label} [seed {seed}]", replace(spec.config, seed=int(seed)), spec.setup, spec.check)


def seed_keys(specs: dict[str, "RunSpec"], seeds: int) -> dict[tuple[str, int], "RunSpec"]:
    """Every run of ``specs`` at seeds 0 .. seeds - 1, keyed (name, seed)."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    return {(name, s): seeded(spec, s) for s in range(seeds) for name, spec in specs.items()}


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


def seed_names(specs: dict[str, "RunSpec"], seeds: int) -> dict[str, "RunSpec"]:
    """:func:`seed_keys` named for the plan: ``name`` at seed 0, ``name seed s`` after it."""
    return {(n if s == 0 else f"{n} seed {s}"): spec for (n, s), spec in seed_keys(specs, seeds).items()}


def ensure(out_dir: Path, specs: dict, train_missing: bool = True) -> None:
    """Every record of ``specs`` on disk: missing ones trained (resuming a checkpoint) where allowed, else
    :class:`CheckNotRun`; present ones are not loaded."""
    for spec in specs.values():
        if status(out_dir, spec)[0] != "done":
            obtain(out_dir, spec, train_missing=train_missing)


def takes_seeds(function) -> bool:
    import inspect

    return "seeds" in inspect.signature(function).parameters


def check_runs(module, quick: bool, seeds: int) -> dict[str, RunSpec]:
    """The runs a check module reads, at ``seeds`` seeds if it checks over seeds (the RNN checks)."""
    if not hasattr(module, "runs"):
        return {}
    return module.runs(quick, seeds=seeds) if takes_seeds(module.runs) else module.runs(quick)


def run_check(module, out_dir: Path, quick: bool, train_missing: bool, seeds: int) -> list:
    """``module.run`` over ``seeds`` seeds where it takes them."""
    if takes_seeds(module.run):
        return module.run(out_dir, quick=quick, train_missing=train_missing, seeds=seeds)
    return module.run(out_dir, quick=quick, train_missing=train_missing)


def default_seeds(quick: bool) -> int:
    return QUICK_SEEDS if quick else SEEDS


# ---- per-record analyses, cached beside the record and computed in parallel --------------------------

#: Bumped when an analysis changes what it computes: older caches are then recomputed, never reused.
ANALYSIS_VERSION = 3


def _record_digest(out_dir: Path, spec: RunSpec) -> str:
    import hashlib

    npz = record_path(out_dir, spec).with_name(f"{spec.name}.npz")
    return hashlib.sha256(npz.read_bytes()).hexdigest()


def _analysis_task(function: str, out_dir: Path, spec: RunSpec, kind: str, settings: dict, digest: str) -> dict:
    import json
    import os
    import tempfile

    module, name = function.split(":")
    try:
        result = {"value": getattr(importlib.import_module(module), name)(out_dir, spec, **settings)}
    except (ValueError, RuntimeError) as err:  # the analysis does not apply to this run: said, and kept
        result = {"not_run": str(err)}
    path = record_path(out_dir, spec).with_name(f"{spec.name}.{kind}.json")
    payload = {"version": ANALYSIS_VERSION, "record_sha256": digest, "settings": settings, "result": result}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, default=_json_default)
    os.replace(tmp, path)
    return result


def _json_default(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in an analysis cache")


def _init_analysis_process() -> None:
    """One BLAS thread; Ctrl-C is the main job's to handle (it ends the workers, one line, no tracebacks from
    here); and on Linux, die with the process that started us, so that ending a plan worker mid-check
    leaves no orphans behind."""
    import signal
    import sys

    from numerics.rnn._seeds import _init_process

    _init_process()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # no libc by that name: orphans end when their task does


def cached_analyses(out_dir: Path, specs: dict, kind: str, function: str, settings: dict,
                    processes: int | None = None) -> dict:
    """``function(out_dir, spec, **settings)`` for every record of ``specs`` (key -> RunSpec), each kept in
    ``<record>.<kind>.json`` and reused while the record's bytes (SHA-256), the settings and
    :data:`ANALYSIS_VERSION` match; the missing ones computed in parallel processes (one BLAS thread
    each).  Values are what JSON keeps (tuples become lists, arrays lists); an analysis that raises
    ValueError/RuntimeError gives ``{"not_run": message}`` instead of ``{"value": ...}``."""
    import json

    from numerics._inputs import check_threads
    from numerics.rnn._seeds import map_processes

    out = {}
    todo = []
    for key, spec in specs.items():
        digest = _record_digest(out_dir, spec)  # read once: checks the cache, or goes with the task
        path = record_path(out_dir, spec).with_name(f"{spec.name}.{kind}.json")
        try:
            saved = json.loads(path.read_text())
            if (saved.get("version") == ANALYSIS_VERSION and saved.get("settings") == settings
                    and saved.get("record_sha256") == digest):
                out[key] = saved["result"]
                continue
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # missing or damaged: computed again
        todo.append((key, (function, out_dir, spec, kind, settings, digest)))
    results = map_processes(_analysis_task, [a for _, a in todo], check_threads(processes),
                            initializer=_init_analysis_process)
    out.update(zip([k for k, _ in todo], results))
    return out
