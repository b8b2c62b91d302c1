r"""SGD on the student-teacher task with sNTK and fixed-point diagnostics (paper, sec. 2, app. B).

Plain SGD, no momentum or clipping: theta <- theta - lr * grad L, with L the
readout MSE of ``_model.loss``.  Every ``record_every`` steps the record gets
the loss, the spectral radius of W, the parameters (checkpoints) and -- unless
``diagnostics="loss"``, for runs that need only the loss and the weights --
the sNTK trace (exact for small networks, Hutch++ otherwise), its largest
eigenvalue (Lanczos) and stable rank tr / lambda_max, and the student's fixed
points with their multipliers, so later analyses never retrain.

Choices the paper leaves open:

* initial conditions uniform on the box [-box, box]^2 in the read-in plane
  (box = 1), a new batch every step from the seeded generator (``resample``);
* the sNTK diagnostics use one fixed batch of ``diag_batch`` initial
  conditions drawn once at the start, so changes over training are changes of
  the network, not of the batch;
* configurations: ``"paper"`` (Xavier W and b, both trained) and
  ``"symmetric"`` (b = 0 and not trained, each batch mirrored [x; -x]: the
  student stays odd, so the origin stays a fixed point and its multiplier can
  genuinely cross +1 -- an exact pitchfork instead of the imperfect one that
  biases produce).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._inputs import SeedLike, as_generator
from ._derivatives import gradient
from ._fixed_points import find_fixed_points
from ._model import RNN, forward, loss
from ._natural import LowRankNaturalGradient
from ._operators import SntkOperator
from ._teacher import build_teacher

CONFIGS = ("paper", "symmetric")
OPTIMIZERS = ("sgd", "natural")
DIAGNOSTICS = ("full", "loss")


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
    optimizer : {"sgd", "natural"}
        Plain SGD or :class:`LowRankNaturalGradient` (app. C.1) with ``ng_rank`` (1),
        ``ng_refresh`` (10 steps), ``ng_iters`` (2) and ``ng_damping`` (None: 1 / lr).
    diagnostics : {"full", "loss"}
        "loss" records only the loss, spectral radius and weights (sNTK and fixed points NaN / empty);
        the diagnostics then draw nothing from the generator, so the batches differ from a "full" run.
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

    def __post_init__(self) -> None:
        if self.config not in CONFIGS:
            raise ValueError(f"config must be one of {CONFIGS}, got {self.config!r}")
        for name in ("N", "T", "B", "steps", "record_every", "diag_batch", "ng_rank", "ng_refresh", "ng_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.config == "symmetric" and self.B % 2:
            raise ValueError("the symmetric configuration mirrors the batch; B must be even")
        if self.diagnostics not in DIAGNOSTICS:
            raise ValueError(f"diagnostics must be one of {DIAGNOSTICS}, got {self.diagnostics!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.ng_damping is not None and not (np.isfinite(self.ng_damping) and self.ng_damping > 0):
            raise ValueError(f"ng_damping must be a finite number > 0 (or None for 1 / lr), got {self.ng_damping!r}")

    @property
    def params(self) -> str:
        """The trained parameters: W only in the symmetric control (b = 0 keeps h -> -h), else W and b."""
        return "W" if self.config == "symmetric" else "Wb"

    def inputs(self, size: int, rng: SeedLike = 0) -> np.ndarray:
        """``size`` inputs (read-in values) from the training distribution, shape (size, 2)."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 2:
            raise ValueError(f"size must be an integer >= 2, got {size!r}")
        return _batch(as_generator(rng), self, size + (size % 2 if self.config == "symmetric" else 0))


@dataclass
class TrainingRecord:
    """Per-record arrays (index = record), the final network and the config."""

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

    def save(self, path: str | Path) -> Path:
        """npz with arrays + JSON sidecar with the config and fixed points."""
        path = Path(path)
        np.savez_compressed(path.with_suffix(".npz"), steps=self.steps, loss=self.loss,
                            spectral_radius=self.spectral_radius, trace=self.trace, lambda_max=self.lambda_max,
                            stable_rank=self.stable_rank, W=np.array(self.W), b=np.array(self.b),
                            teacher_W=self.teacher_W, x_diag=self.x_diag, batch_loss=self.batch_loss)
        path.with_suffix(".json").write_text(json.dumps({"config": asdict(self.config),
                                                         "fixed_points": self.fixed_points}, indent=1))
        return path.with_suffix(".npz")

    @classmethod
    def load(cls, path: str | Path) -> "TrainingRecord":
        """Read what :meth:`save` wrote (``path`` with or without suffix)."""
        path = Path(path)
        data = np.load(path.with_suffix(".npz"))
        meta = json.loads(path.with_suffix(".json").read_text())
        config = dict(meta["config"])
        if "trace_matvecs" in config:  # records written before the budget was counted in J/J^T passes
            config["trace_passes"] = 2 * config.pop("trace_matvecs")
        rec = cls(TrainConfig(**config))
        for name in ("steps", "loss", "spectral_radius", "trace", "lambda_max", "stable_rank"):
            setattr(rec, name, data[name].tolist())
        rec.W, rec.b = list(data["W"]), list(data["b"])
        rec.teacher_W = data["teacher_W"] if "teacher_W" in data.files and data["teacher_W"].ndim == 2 else None
        rec.x_diag = data["x_diag"] if "x_diag" in data.files and data["x_diag"].ndim == 2 else None
        rec.fixed_points = meta["fixed_points"]
        rec.batch_loss = data["batch_loss"].tolist() if "batch_loss" in data.files else []
        return rec

    def network(self, index: int) -> RNN:
        return RNN(self.W[index], self.b[index])


def _batch(rng: np.random.Generator, cfg: TrainConfig, size: int) -> np.ndarray:
    if cfg.config == "symmetric":
        half = rng.uniform(-cfg.box, cfg.box, size=(size // 2, 2))
        return np.concatenate([half, -half])
    return rng.uniform(-cfg.box, cfg.box, size=(size, 2))


def _record(rec: TrainingRecord, step: int, net: RNN, teacher: RNN, x_diag: np.ndarray, cfg: TrainConfig,
            rng: np.random.Generator) -> None:
    H = forward(net, x_diag, cfg.T)
    rec.steps.append(step)
    rec.loss.append(loss(H, forward(teacher, x_diag, cfg.T)[:, :, :2]))
    rec.spectral_radius.append(float(np.max(np.abs(np.linalg.eigvals(net.W)))))
    rec.W.append(net.W.copy())
    rec.b.append(net.b.copy())
    if cfg.diagnostics == "loss":  # sNTK and fixed points not computed: NaN marks "not measured", not a failure
        rec.trace.append(np.nan)
        rec.lambda_max.append(np.nan)
        rec.stable_rank.append(np.nan)
        rec.fixed_points.append([])
        return
    op = SntkOperator(net, x_diag, cfg.T, params=cfg.params)
    tr = op.trace() if op.n_params <= 600 else op.trace_estimate(cfg.trace_passes, rng).value
    lam = float(op.top_eigenpairs(1, tol=1e-6)[0][0])
    rec.trace.append(tr)
    rec.lambda_max.append(lam)
    rec.stable_rank.append(tr / lam)
    fps = find_fixed_points(net, seeds=cfg.fixed_point_seeds, rng=rng)
    rec.fixed_points.append([{"readout": list(fp.readout), "abs_multipliers": np.abs(fp.multipliers[:3]).tolist(),
                              "stable": fp.stable} for fp in fps])


def train(cfg: TrainConfig, teacher: RNN | None = None, progress: bool | None = None,
          student: RNN | None = None) -> TrainingRecord:
    """Train a student on the teacher's readout trajectories by plain SGD (``optimizer="sgd"``) or the
    rank-``ng_rank`` natural gradient (``"natural"``, :class:`LowRankNaturalGradient`, app. C.1).

    Deterministic by ``cfg.seed``: the student's Xavier draw, the batches and
    the diagnostics' random probes all come from one seeded generator.  A
    given ``student`` (e.g. a checkpoint, or the initially stable student of
    figure 3) replaces the Xavier draw; the draw is still made, so the
    batches are the same either way.
    """
    rng = as_generator(cfg.seed)
    teacher = build_teacher(cfg.N, seed=rng).net if teacher is None else teacher
    if teacher.N != cfg.N:
        raise ValueError(f"teacher has N = {teacher.N}, config has N = {cfg.N}")
    drawn = RNN.xavier(cfg.N, rng, bias=cfg.config == "paper")
    student = drawn if student is None else student
    if student.N != cfg.N:
        raise ValueError(f"student has N = {student.N}, config has N = {cfg.N}")
    if cfg.config == "symmetric" and np.any(student.b):
        raise ValueError("the symmetric configuration keeps b = 0 (untrained); pass a student with b = 0")
    W, b = student.W.copy(), student.b.copy()
    x_diag = _batch(rng, cfg, cfg.diag_batch + (cfg.diag_batch % 2))
    x = _batch(rng, cfg, cfg.B)
    rec = TrainingRecord(cfg, teacher_W=teacher.W.copy(), x_diag=x_diag)
    natural = None
    if cfg.optimizer == "natural":
        natural = LowRankNaturalGradient(rank=cfg.ng_rank, refresh=cfg.ng_refresh, iters=cfg.ng_iters,
                                         damping=cfg.ng_damping, params=cfg.params,
                                         rng=np.random.default_rng([cfg.seed, 1]))  # batches stay as in SGD
    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.steps, desc=f"train {cfg.config}", disable=progress is False, delay=0 if progress else 1.0,
               leave=False)
    for step in range(cfg.steps + 1):
        net = RNN(W, b)
        if step % cfg.record_every == 0 or step == cfg.steps:
            _record(rec, step, net, teacher, x_diag, cfg, rng)
        if step == cfg.steps:
            break
        if cfg.resample:
            x = _batch(rng, cfg, cfg.B)
        H = forward(net, x, cfg.T)
        target = forward(teacher, x, cfg.T)[:, :, :2]
        rec.batch_loss.append(loss(H, target))
        gW, gb = gradient(net, H, target)
        if not (np.all(np.isfinite(gW)) and np.all(np.isfinite(gb))):
            raise FloatingPointError(f"non-finite gradient at step {step}; lower lr (now {cfg.lr})")
        g = np.concatenate([gW.ravel(), gb]) if cfg.params == "Wb" else gW.ravel()
        d = -cfg.lr * g if natural is None else natural.step(net, x, cfg.T, g, cfg.lr)
        W = W + d[: cfg.N * cfg.N].reshape(cfg.N, cfg.N)
        if cfg.params == "Wb":
            b = b + d[cfg.N * cfg.N:]
        bar.update(1)
    bar.close()
    return rec
