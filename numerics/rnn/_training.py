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

import numpy as np

from .._inputs import as_generator
from ._config import CONFIGS, DIAGNOSTICS, OPTIMIZERS, TrainConfig, batch
from ._derivatives import gradient
from ._fixed_points import find_fixed_points
from ._model import RNN, forward, loss
from ._natural import LowRankNaturalGradient
from ._operators import SntkOperator
from ._records import TrainingRecord
from ._teacher import build_teacher

__all__ = ["CONFIGS", "DIAGNOSTICS", "OPTIMIZERS", "TrainConfig", "TrainingRecord", "train"]


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
    x_diag = batch(rng, cfg, cfg.diag_batch + (cfg.diag_batch % 2))
    x = batch(rng, cfg, cfg.B)
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
            x = batch(rng, cfg, cfg.B)
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
