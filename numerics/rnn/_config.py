"""What defines a training run of the student-teacher RNN (paper, app. B), and its input distribution."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._inputs import SeedLike, as_generator, positive_int

CONFIGS = ("paper", "symmetric")
OPTIMIZERS = ("sgd", "natural", "momentum", "adam")
DIAGNOSTICS = ("full", "events", "loss")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (and its seed); defaults are the paper's scale (app. B).

    Attributes
    ----------
    N, T, B : int
        Neurons (64), horizon (25) and batch size (256).
    steps, lr : int, float
        Training steps (35 000) and learning rate (5e-3).
    record_every : int
        Steps between records (100); see :class:`TrainingRecord`.
    config : {"paper", "symmetric"}
        Xavier W and b both trained, or b = 0 untrained with mirrored batches.
    box, resample : float, bool
        Inputs uniform on [-box, box]^2; a new batch every step.
    diag_batch, trace_passes, fixed_point_seeds : int
        The fixed diagnostic batch (64 inputs), Hutch++ J/J^T passes (60), Newton seeds (40).
    seed : int
        One generator drives the teacher, the student's draw, the batches and the probes.
    optimizer : {"sgd", "natural", "momentum", "adam"}
        Plain SGD; :class:`LowRankNaturalGradient` (app. C.1) with ``ng_rank`` (1, or "auto":
        chosen online, modes with lr lambda >= ``ng_threshold`` (1.0) in the Ritz values averaged
        over refreshes (``ng_smoothing`` 0.8), at most ``ng_max_rank`` (16), ``ng_probe`` (1) extra
        vectors tracked), ``ng_refresh`` (10 steps), ``ng_iters``
        (2) and ``ng_damping`` (None: 1 / lr), the Fisher on the first ``ng_batch`` initial
        conditions of the step's batch (None: all of it); heavy-ball ``momentum`` (0.9); or Adam
        (``adam_beta1``, ``adam_beta2``, ``adam_eps``: 0.9, 0.999, 1e-8) -- the baselines the
        natural gradient is measured against (:mod:`numerics.rnn._optim`).
    lr_rule : {"fixed", "edge"}
        SGD with the fixed ``lr``, or at the edge: lr_t = 1 / lambda_max of the loss's Fisher,
        re-estimated every ``ng_refresh`` steps by ``ng_iters`` warm-started power iterations
        (lr lambda_max = 1, half SGD's edge of stability 2: the largest step the current
        curvature allows).  ``lr`` then only caps the step: lr_t = min(lr, 1 / lambda_max).
    diagnostics : {"full", "events", "loss"}
        What each record holds besides the loss, spectral radius and weights: "full" adds the sNTK
        trace, largest eigenvalue and stable rank and the fixed points; "events" only the fixed
        points (enough to locate changes in the attractors, e.g. figure 4's natural-gradient runs);
        "loss" neither (NaN / empty).  The diagnostics draw from their own generator, so the batches
        are the same whatever is recorded.
    """

    N: int = 64
    T: int = 25
    B: int = 256
    steps: int = 35_000
    lr: float = 5e-3
    record_every: int = 100
    config: str = "paper"
    box: float = 1.0
    resample: bool = True
    diag_batch: int = 64
    trace_passes: int = 60
    fixed_point_seeds: int = 40
    seed: int = 0
    optimizer: str = "sgd"
    ng_rank: int = 1
    ng_refresh: int = 10
    ng_iters: int = 2
    ng_damping: float | None = None
    diagnostics: str = "full"
    # settings added later: a record's name hashes them only when they differ from these defaults
    ng_threshold: float = 1.0
    ng_max_rank: int = 16
    ng_probe: int = 1
    ng_smoothing: float = 0.8
    momentum: float = 0.9
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    lr_rule: str = "fixed"
    ng_batch: int | None = None

    def __post_init__(self) -> None:
        auto = self.ng_rank == "auto"
        if auto and self.optimizer != "natural":
            raise ValueError(f"ng_rank='auto' is the natural gradient's adaptive rank; optimizer is {self.optimizer!r}")
        for name in ("N", "T", "B", "steps", "record_every", "diag_batch", "trace_passes", "fixed_point_seeds",
                     "ng_refresh", "ng_iters", "ng_max_rank", "ng_probe") + (() if auto else ("ng_rank",)):
            # stored as a plain int: the config is written to JSON
            object.__setattr__(self, name, positive_int(name, getattr(self, name)))
        if self.N < 2:
            raise ValueError(f"N must be >= 2 (neurons 0 and 1 are read-in/readout), got {self.N}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        if self.lr_rule not in ("fixed", "edge"):
            raise ValueError(f"lr_rule must be 'fixed' or 'edge', got {self.lr_rule!r}")
        if self.lr_rule == "edge" and self.optimizer != "sgd":
            raise ValueError(f"lr_rule='edge' is for plain SGD; optimizer is {self.optimizer!r}")
        for name in ("config", "optimizer", "diagnostics"):
            choices = {"config": CONFIGS, "optimizer": OPTIMIZERS, "diagnostics": DIAGNOSTICS}[name]
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        _positive_real("lr", self.lr)
        _positive_real("box", self.box)
        if self.ng_batch is not None:
            object.__setattr__(self, "ng_batch", positive_int("ng_batch (or None for the whole batch)", self.ng_batch))
            if self.ng_batch > self.B:
                raise ValueError(f"ng_batch must be at most the batch size B = {self.B}, got {self.ng_batch}")
        if self.ng_damping is not None:
            _positive_real("ng_damping (or None for 1 / lr)", self.ng_damping)
        for name in ("ng_threshold", "adam_eps"):
            _positive_real(name, getattr(self, name))
        for name in ("momentum", "adam_beta1", "adam_beta2", "ng_smoothing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        if not isinstance(self.resample, (bool, np.bool_)):
            raise ValueError(f"resample must be True or False, got {self.resample!r}")
        if self.config == "symmetric" and self.B % 2:
            raise ValueError("the symmetric configuration mirrors the batch; B must be even")

    @property
    def params(self) -> str:
        """The trained parameters: W only in the symmetric control (b = 0 keeps h -> -h), else W and b."""
        return "W" if self.config == "symmetric" else "Wb"

    def inputs(self, size: int, rng: SeedLike = 0) -> np.ndarray:
        """``size`` inputs (read-in values) from the training distribution, shape (size, 2)."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 2:
            raise ValueError(f"size must be an integer >= 2, got {size!r}")
        return batch(as_generator(rng), self, size + (size % 2 if self.config == "symmetric" else 0))


def _positive_real(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def batch(rng: np.random.Generator, cfg: TrainConfig, size: int) -> np.ndarray:
    """``size`` read-in values uniform on [-box, box]^2; mirrored [x; -x] in the symmetric configuration."""
    if cfg.config == "symmetric":
        half = rng.uniform(-cfg.box, cfg.box, size=(size // 2, 2))
        return np.concatenate([half, -half])
    return rng.uniform(-cfg.box, cfg.box, size=(size, 2))
