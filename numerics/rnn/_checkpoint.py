"""The complete state of a training run, written so that resuming reproduces an uninterrupted run bit for bit.

What must be restored exactly: the weights, the current batch, the one
generator that draws batches and diagnostic probes (its bit-generator state),
the natural gradient's warm-started subspace, eigenvalues, step counter and
generator, the teacher, and the record so far.  Arrays go to ``.npz``
(float64, exact), the rest to ``.json`` (generator states are integers).  Both
files are written to temporary names and renamed, the JSON last, so a
checkpoint is either complete or absent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ._config import TrainConfig
from ._model import RNN
from ._natural import LowRankNaturalGradient
from ._optim import Adam, Momentum
from ._records import RecordError, TrainingRecord, _atomic_write

_PER_RECORD = ("steps", "loss", "spectral_radius", "trace", "lambda_max", "stable_rank")


def _paths(path: str | Path) -> tuple[Path, Path]:
    # appended, not with_suffix: a stem may itself contain dots
    return Path(f"{path}.npz"), Path(f"{path}.json")


def natural_for(cfg: TrainConfig) -> LowRankNaturalGradient | Momentum | Adam | None:
    """The optimiser a config asks for beyond plain SGD (None for SGD), in its initial state."""
    if cfg.optimizer == "momentum":
        return Momentum(cfg.momentum)
    if cfg.optimizer == "adam":
        return Adam(cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps)
    if cfg.optimizer != "natural" and cfg.lr_rule != "edge":
        return None
    if cfg.lr_rule == "edge":  # the rank-1 estimator tracks lambda_max; its subspace is not used to precondition
        return LowRankNaturalGradient(rank=1, refresh=cfg.ng_refresh, iters=cfg.ng_iters, params=cfg.params,
                                      batch=cfg.ng_batch, rng=np.random.default_rng([cfg.seed, 1]))
    return LowRankNaturalGradient(rank=cfg.ng_rank, refresh=cfg.ng_refresh, iters=cfg.ng_iters,
                                  damping=cfg.ng_damping, params=cfg.params,
                                  rng=np.random.default_rng([cfg.seed, 1]),  # batches stay as in SGD
                                  threshold=cfg.ng_threshold, max_rank=cfg.ng_max_rank, probe=cfg.ng_probe,
                                  smoothing=cfg.ng_smoothing, batch=cfg.ng_batch)


@dataclass
class _Checkpoint:
    config: TrainConfig
    step: int
    rng: np.random.Generator
    diag_rng: np.random.Generator
    teacher: RNN
    W: np.ndarray
    b: np.ndarray
    x: np.ndarray
    record: TrainingRecord
    natural: LowRankNaturalGradient | Momentum | Adam | None

    def write(self, path: str | Path) -> None:
        npz, meta = _paths(path)
        rec, nat = self.record, self.natural
        arrays = dict(W=self.W, b=self.b, x=self.x, teacher_W=self.teacher.W, teacher_b=self.teacher.b,
                      x_diag=rec.x_diag, rec_W=np.array(rec.W), rec_b=np.array(rec.b),
                      batch_loss=np.asarray(rec.batch_loss, np.float64),
                      **{f"rec_{k}": np.asarray(getattr(rec, k), np.float64) for k in _PER_RECORD})
        natural = None
        if rec.ng_ranks:
            arrays["rec_ng_ranks"] = np.asarray(rec.ng_ranks, np.int64)
        if isinstance(nat, LowRankNaturalGradient):
            natural = {"steps": nat._steps, "rng": nat._gen.bit_generator.state, "k": nat.k,
                       "history": nat.history, "smoothed": None if nat.smoothed is None else nat.smoothed.tolist()}
            if nat.U is not None:
                arrays.update(nat_U=nat.U, nat_eigenvalues=nat.eigenvalues)
        elif nat is not None:  # momentum or Adam: its state arrays
            natural = {"kind": type(nat).__name__}
            arrays.update({f"opt_{k}": v for k, v in nat.state().items()})
        info = {"format": 2, "config": asdict(self.config), "step": self.step, "rng": self.rng.bit_generator.state,
                "diag_rng": self.diag_rng.bit_generator.state,
                "natural": natural, "fixed_points": rec.fixed_points}
        npz.parent.mkdir(parents=True, exist_ok=True)
        meta.unlink(missing_ok=True)  # the arrays and their description change together
        _atomic_write(npz, lambda fh: np.savez(fh, **arrays))
        _atomic_write(meta, lambda fh: fh.write(json.dumps(info).encode()))

    @classmethod
    def read(cls, path: str | Path, cfg: TrainConfig) -> "_Checkpoint | None":
        """The checkpoint at ``path`` for ``cfg``, or None if there is none."""
        npz, meta = _paths(path)
        if not (npz.is_file() and meta.is_file()):
            return None
        try:
            info = json.loads(meta.read_text())
            with np.load(npz, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            saved = TrainConfig(**info["config"])
        except Exception as exc:  # any damage: the checkpoint cannot be trusted
            raise RecordError(f"{meta}: unreadable training checkpoint ({type(exc).__name__}: {exc}); delete "
                              f"{npz.name} and {meta.name} to start the run afresh") from None
        if saved != cfg:
            raise RecordError(f"{meta}: the checkpoint belongs to another configuration; delete it to start afresh")
        if info.get("format") != 2:
            raise RecordError(f"{meta}: a checkpoint of an older format; delete it to start the run afresh")
        rng, diag_rng = np.random.default_rng(), np.random.default_rng()
        rng.bit_generator.state = info["rng"]
        diag_rng.bit_generator.state = info["diag_rng"]
        rec = TrainingRecord(cfg, teacher_W=arrays["teacher_W"], x_diag=arrays["x_diag"])
        for k in _PER_RECORD:
            setattr(rec, k, arrays[f"rec_{k}"].tolist())
        rec.steps = [int(s) for s in rec.steps]
        rec.W, rec.b = list(arrays["rec_W"]), list(arrays["rec_b"])
        rec.batch_loss = arrays["batch_loss"].tolist()
        rec.fixed_points = info["fixed_points"]
        rec.ng_ranks = [int(k) for k in arrays.get("rec_ng_ranks", [])]
        natural = natural_for(cfg)
        if isinstance(natural, LowRankNaturalGradient) and info["natural"] is not None:
            natural._steps = int(info["natural"]["steps"])
            natural._gen.bit_generator.state = info["natural"]["rng"]
            natural.k = int(info["natural"].get("k", natural.k))
            natural.history = [tuple(h) for h in info["natural"].get("history", [])]
            if info["natural"].get("smoothed") is not None:
                natural.smoothed = np.array(info["natural"]["smoothed"], dtype=np.float64)
            if "nat_U" in arrays:
                natural.U, natural.eigenvalues = arrays["nat_U"], arrays["nat_eigenvalues"]
        elif natural is not None:
            natural.load({k[4:]: v for k, v in arrays.items() if k.startswith("opt_")}, int(info["step"]))
        teacher = RNN(arrays["teacher_W"], arrays["teacher_b"])
        return cls(cfg, int(info["step"]), rng, diag_rng, teacher, arrays["W"], arrays["b"], arrays["x"], rec, natural)

    @staticmethod
    def remove(path: str | Path) -> None:
        for p in _paths(path):
            p.unlink(missing_ok=True)

    @staticmethod
    def progress(path: str | Path) -> int | None:
        """The step a checkpoint at ``path`` would resume from, without loading it (None if absent)."""
        _, meta = _paths(path)
        if not meta.is_file():
            return None
        try:
            return int(json.loads(meta.read_text())["step"])
        except (ValueError, KeyError, TypeError):
            return None
