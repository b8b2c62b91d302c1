"""Training records on disk: what :func:`train` keeps, written and read back under a checked schema.

A record is two files beside each other: ``NAME.npz`` (arrays, loaded with
``allow_pickle=False`` so no object can be unpickled from it) and
``NAME.json`` (the config and the fixed points found at each record).  On
load every field is checked -- types, finiteness where it matters, shapes
consistent with the config's N and with each other -- and anything wrong is
one ``RecordError`` naming the file and the field: a truncated, edited or
foreign file never loads silently into a default config or a wrong network.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ._config import TrainConfig
from ._model import RNN

__all__ = ["TrainingRecord", "RecordError", "record_files", "record_name"]

_PER_RECORD = ("steps", "loss", "spectral_radius", "trace", "lambda_max", "stable_rank")


class RecordError(ValueError):
    """A training record on disk is unreadable or does not match its schema."""


@dataclass
class TrainingRecord:
    """Per-record arrays (index = record), the checkpoints and the config."""

    config: TrainConfig
    steps: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    spectral_radius: list = field(default_factory=list)
    trace: list = field(default_factory=list)
    lambda_max: list = field(default_factory=list)
    stable_rank: list = field(default_factory=list)
    fixed_points: list = field(default_factory=list)  # per record: list of (readout, |mu| sorted, stable)
    W: list = field(default_factory=list)
    b: list = field(default_factory=list)
    teacher_W: np.ndarray | None = None
    x_diag: np.ndarray | None = None
    batch_loss: list = field(default_factory=list)  # every step, on that step's training batch
    ng_ranks: list = field(default_factory=list)  # per record: the adaptive natural gradient's k (ng_rank="auto")

    def save(self, path: str | Path) -> Path:
        """npz with arrays + JSON sidecar with the config and fixed points, each written atomically.

        ``path`` with or without ``.npz``; other dots in the name are kept.
        """
        npz, meta = record_files(path)
        optional = {k: v for k, v in (("teacher_W", self.teacher_W), ("x_diag", self.x_diag)) if v is not None}
        if self.ng_ranks:
            optional["ng_ranks"] = np.asarray(self.ng_ranks, np.int64)
        arrays = dict(steps=np.asarray(self.steps, np.int64), loss=self.loss, spectral_radius=self.spectral_radius,
                      trace=self.trace, lambda_max=self.lambda_max, stable_rank=self.stable_rank,
                      W=np.array(self.W), b=np.array(self.b), batch_loss=np.asarray(self.batch_loss, np.float64),
                      **optional)
        npz.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(npz, lambda fh: np.savez_compressed(fh, **arrays))
        text = json.dumps({"config": asdict(self.config), "fixed_points": self.fixed_points}, indent=1)
        _atomic_write(meta, lambda fh: fh.write(text.encode()))
        return npz

    @classmethod
    def load(cls, path: str | Path) -> "TrainingRecord":
        """Read what :meth:`save` wrote (``path`` with or without suffix), checking every field.

        Raises
        ------
        FileNotFoundError
            Either file is missing (the message says how to make the record).
        RecordError
            A file is truncated, not a record, or a field has the wrong type,
            shape or value; the message names the file and the field.
        """
        npz, meta_path = record_files(path)
        for p in (npz, meta_path):
            if not p.is_file():
                raise FileNotFoundError(2, "no such training record (train it with `nfsntk train`)", str(p))
        meta = _read_json(meta_path)
        config = _config(meta_path, meta)
        arrays = _read_npz(npz)
        rec = cls(config)
        R = _check_per_record(npz, arrays, rec)
        _check_networks(npz, arrays, rec, R, config.N)
        rec.fixed_points = _fixed_points(meta_path, meta, R)
        rec.batch_loss = _vector(npz, arrays, "batch_loss", required=False).tolist()
        ranks = _vector(npz, arrays, "ng_ranks", required=False)
        if ranks.size not in (0, R):
            raise _fail(npz, "ng_ranks", f"has {ranks.size} entries but 'steps' has {R}")
        rec.ng_ranks = [int(k) for k in ranks]
        return rec

    def network(self, index: int) -> RNN:
        return RNN(self.W[index], self.b[index])

    def __repr__(self) -> str:
        c = self.config
        span = f"steps {self.steps[0]}..{self.steps[-1]}" if self.steps else "empty"
        last = f", final loss {self.loss[-1]:.4g}" if self.loss else ""
        return (f"TrainingRecord({c.config}, N={c.N}, {c.optimizer}, seed {c.seed}: {len(self.steps)} records, "
                f"{span}{last})")


def _slug(value: float) -> str:
    return f"{value:g}".replace(".", "p").replace("+", "")


#: TrainConfig settings added after records were first named, at their defaults.
LATER_DEFAULTS = {"ng_threshold": 1.0, "ng_max_rank": 16, "ng_probe": 1, "ng_smoothing": 0.8, "momentum": 0.9, "adam_beta1": 0.9,
                  "adam_beta2": 0.999, "adam_eps": 1e-8, "lr_rule": "fixed", "ng_batch": None}


def record_name(cfg: TrainConfig, variant: str = "") -> str:
    """A file stem that spells what defines a run and ends in a hash of every setting.

    ``{config}-{optimizer}[-rank{k}]-N{N}-s{steps}-lr{lr}-seed{seed}[-{variant}]-{hash}``, with
    no dots (``lr0p005``), so different runs never share a file and the name
    is readable in a listing.  ``variant`` names anything outside the config
    that defines the run (e.g. another teacher).

    Examples
    --------
    >>> from numerics.rnn import TrainConfig, record_name
    >>> record_name(TrainConfig())[:35]
    'paper-sgd-N64-s35000-lr0p005-seed0-'
    """
    import hashlib

    if not isinstance(variant, str) or (variant and not variant.replace("_", "").isalnum()):
        raise ValueError(f"variant must be letters, digits and '_', got {variant!r}")
    opt = cfg.optimizer + (f"-rank{cfg.ng_rank}" if cfg.optimizer == "natural" else "") + (
        "-edge" if cfg.lr_rule == "edge" else "")
    settings = asdict(cfg)
    for name, default in LATER_DEFAULTS.items():  # records named before these settings existed keep their names
        if settings[name] == default:
            del settings[name]
    digest = hashlib.sha256(json.dumps([settings, variant], sort_keys=True).encode()).hexdigest()[:10]
    parts = [cfg.config, opt, f"N{cfg.N}", f"s{cfg.steps}", f"lr{_slug(cfg.lr)}", f"seed{cfg.seed}"]
    return "-".join(parts + ([variant] if variant else []) + [digest])


def record_files(path: str | Path) -> tuple[Path, Path]:
    """(``NAME.npz``, ``NAME.json``) for ``NAME``, ``NAME.npz`` or ``NAME.json`` (dots inside NAME are kept)."""
    text = str(path)
    for suffix in (".npz", ".json"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return Path(text + ".npz"), Path(text + ".json")


def _atomic_write(path: Path, write) -> None:
    # A record is written whole or not at all: an interrupted save must not leave a truncated file
    # that a later run would have to refuse.
    # (an ordinary open, not mkstemp: records get the usual permissions, so a team can share them)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fail(path: Path, field_name: str, problem: str) -> RecordError:
    return RecordError(f"{path}: field {field_name!r} {problem}; the record is damaged or not from nfsntk - "
                       "delete it and train it again")


def _read_json(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: not a training-record JSON file ({exc}); delete it and train it again") from None
    if not isinstance(meta, dict):
        raise _fail(path, "(top level)", f"is a {type(meta).__name__}, not an object")
    return meta


def _config(path: Path, meta: dict) -> TrainConfig:
    config = meta.get("config")
    if not isinstance(config, dict):
        raise _fail(path, "config", f"is {type(config).__name__}, not an object with the run's settings")
    config = dict(config)
    if "trace_matvecs" in config:  # records written before the budget was counted in J/J^T passes
        config["trace_passes"] = 2 * config.pop("trace_matvecs")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise _fail(path, f"config.{unknown[0]}", "is not a training setting")
    # These define the run; settings added later to TrainConfig keep their defaults in older records.
    missing = [k for k in ("N", "T", "B", "steps", "lr", "seed", "config") if k not in config]
    if missing:
        raise _fail(path, f"config.{missing[0]}", "is missing")
    try:
        return TrainConfig(**config)
    except (ValueError, TypeError) as exc:
        raise RecordError(f"{path}: field 'config' is invalid: {exc}") from None


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise RecordError(f"{path}: not a readable training record ({type(exc).__name__}: {exc}); the file is "
                          "truncated or not from nfsntk - delete it and train it again") from None


def _vector(path: Path, arrays: dict, name: str, required: bool = True) -> np.ndarray:
    if name not in arrays:
        if required:
            raise _fail(path, name, "is missing")
        return np.zeros(0)
    a = arrays[name]
    if a.dtype.kind not in "iuf" or a.ndim != 1:
        raise _fail(path, name, f"must be a 1-D numeric array, is {a.dtype} with shape {a.shape}")
    return a


def _check_per_record(path: Path, arrays: dict, rec: TrainingRecord) -> int:
    R = None
    for name in _PER_RECORD:
        a = _vector(path, arrays, name)
        if R is None:
            R = a.size
        elif a.size != R:
            raise _fail(path, name, f"has {a.size} entries but 'steps' has {R}")
        setattr(rec, name, a.tolist())
    steps = np.asarray(rec.steps)
    if R == 0:
        raise _fail(path, "steps", "is empty")
    if np.any(steps != np.round(steps)) or np.any(np.diff(steps) <= 0) or steps[0] < 0:
        raise _fail(path, "steps", "must be increasing non-negative integers")
    rec.steps = [int(s) for s in steps]
    if not np.all(np.isfinite(rec.loss)):
        raise _fail(path, "loss", "holds NaN or inf")
    return R


def _check_networks(path: Path, arrays: dict, rec: TrainingRecord, R: int, N: int) -> None:
    for name, shape in (("W", (R, N, N)), ("b", (R, N))):
        a = arrays.get(name)
        if a is None:
            raise _fail(path, name, "is missing")
        if a.dtype.kind != "f" or a.shape != shape:
            raise _fail(path, name, f"must be float with shape {shape} (records x N = {N} from the config), "
                                    f"is {a.dtype} {a.shape}")
        if not np.all(np.isfinite(a)):
            raise _fail(path, name, "holds NaN or inf")
    rec.W, rec.b = list(arrays["W"]), list(arrays["b"])
    for name, shape in (("teacher_W", (N, N)), ("x_diag", (None, 2))):
        a = arrays.get(name)
        if a is None:
            continue
        if a.dtype.kind != "f" or a.ndim != 2 or a.shape[1] != shape[1] or (shape[0] and a.shape[0] != shape[0]):
            raise _fail(path, name, f"must be float with shape {shape}, is {a.dtype} {a.shape}")
        setattr(rec, name, a)


def _fixed_points(path: Path, meta: dict, R: int) -> list:
    fps = meta.get("fixed_points")
    if not isinstance(fps, list) or len(fps) != R:
        raise _fail(path, "fixed_points", f"must be a list with one entry per record ({R})")
    for i, entry in enumerate(fps):
        if not isinstance(entry, list):
            raise _fail(path, f"fixed_points[{i}]", "must be a list")
        for j, fp in enumerate(entry):
            where = f"fixed_points[{i}][{j}]"
            if not isinstance(fp, dict) or set(fp) != {"readout", "abs_multipliers", "stable"}:
                raise _fail(path, where, "must have exactly readout, abs_multipliers and stable")
            if not (_numbers(fp["readout"]) and len(fp["readout"]) == 2 and _numbers(fp["abs_multipliers"])
                    and isinstance(fp["stable"], bool)):
                raise _fail(path, where, "has a value of the wrong type")
    return fps


def _numbers(values: Any) -> bool:
    return isinstance(values, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    )
