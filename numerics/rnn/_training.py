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

from pathlib import Path
from typing import Callable

import numpy as np

from .._inputs import as_generator, positive_int
from ._config import CONFIGS, DIAGNOSTICS, OPTIMIZERS, TrainConfig, batch
from ._derivatives import gradient
from ._fixed_points import find_fixed_points
from ._model import RNN, forward, loss
from ._operators import SntkOperator
from ._checkpoint import _Checkpoint, natural_for
from ._records import TrainingRecord
from ._teacher import build_teacher

__all__ = ["CONFIGS", "DIAGNOSTICS", "OPTIMIZERS", "TrainConfig", "TrainingRecord", "TrainingInterrupted", "train"]


def _record(rec: TrainingRecord, step: int, net: RNN, teacher: RNN, x_diag: np.ndarray, cfg: TrainConfig,
            rng: np.random.Generator) -> None:
    H = forward(net, x_diag, cfg.T)
    rec.steps.append(step)
    rec.loss.append(loss(H, forward(teacher, x_diag, cfg.T)[:, :, :2]))
    rec.spectral_radius.append(float(np.max(np.abs(np.linalg.eigvals(net.W)))))
    rec.W.append(net.W.copy())
    rec.b.append(net.b.copy())
    if cfg.diagnostics == "full":
        op = SntkOperator(net, x_diag, cfg.T, params=cfg.params)
        tr = op.trace() if op.n_params <= 600 else op.trace_estimate(cfg.trace_passes, rng).value
        lam = float(op.top_eigenpairs(1, tol=1e-6)[0][0])
        rec.trace.append(tr)
        rec.lambda_max.append(lam)
        rec.stable_rank.append(tr / lam)
    else:  # not computed: NaN marks "not measured", not a failure
        rec.trace.append(np.nan)
        rec.lambda_max.append(np.nan)
        rec.stable_rank.append(np.nan)
    if cfg.diagnostics == "loss":
        rec.fixed_points.append([])
        return
    fps = find_fixed_points(net, seeds=cfg.fixed_point_seeds, rng=rng)
    rec.fixed_points.append([{"readout": list(fp.readout), "abs_multipliers": np.abs(fp.multipliers[:3]).tolist(),
                              "stable": fp.stable} for fp in fps])


class TrainingInterrupted(Exception):
    """Training stopped on request (``should_stop``); the last checkpoint holds its state."""


def train(cfg: TrainConfig, teacher: RNN | None = None, progress: bool | None = None,
          student: RNN | None = None, *, checkpoint: str | Path | None = None, checkpoint_every: int = 1000,
          should_stop: Callable[[], bool] | None = None,
          on_progress: Callable[[int], None] | None = None) -> TrainingRecord:
    """Train a student on the teacher's readout trajectories by plain SGD (``optimizer="sgd"``), the
    rank-``ng_rank`` natural gradient (``"natural"``, :class:`LowRankNaturalGradient`, app. C.1; rank
    ``"auto"`` records its k at every record in ``ng_ranks``), or the baselines heavy-ball momentum
    and Adam.

    Deterministic by ``cfg.seed``: the student's Xavier draw and the batches
    come from one seeded generator, the diagnostics' random probes from a
    second (so the batches do not depend on ``cfg.diagnostics``).  A
    given ``student`` (e.g. a checkpoint, or the initially stable student of
    figure 3) replaces the Xavier draw; the draw is still made, so the
    batches are the same either way.

    Parameters
    ----------
    checkpoint : path, optional
        Resumable training: every ``checkpoint_every`` steps (at a record) the
        whole state -- weights, generator states, the natural gradient's
        subspace, the record so far -- is written atomically to
        ``checkpoint`` (``.npz`` + ``.json``).  If that file exists when
        training starts, training continues from it, and the finished record
        is bit-identical to an uninterrupted run.  It is deleted when the run
        completes.
    should_stop : callable, optional
        Polled every step; when it returns True a checkpoint is written and
        :class:`TrainingInterrupted` raised.
    on_progress : callable, optional
        Called with the number of steps done, every record.
    """
    checkpoint_every = positive_int("checkpoint_every", checkpoint_every)
    state = _Checkpoint.read(checkpoint, cfg) if checkpoint is not None else None
    if state is not None:
        if teacher is not None and not (np.array_equal(teacher.W, state.teacher.W)
                                        and np.array_equal(teacher.b, state.teacher.b)):
            raise ValueError(f"the checkpoint {checkpoint} was made with another teacher; delete it to start afresh")
        rng, diag_rng, teacher, W, b, x, rec, natural, start = (
            state.rng, state.diag_rng, state.teacher, state.W, state.b, state.x, state.record, state.natural, state.step)
    else:
        rng = as_generator(cfg.seed)
        # the diagnostics' probes have their own stream: the batches do not depend on what is recorded
        diag_rng = np.random.default_rng([cfg.seed, 2])
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
        natural = natural_for(cfg)
        start = 0
    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.steps, initial=start, desc=f"train {cfg.config}", disable=progress is False,
               delay=0 if progress else 1.0, leave=False)
    try:
        for step in range(start, cfg.steps + 1):
            net = RNN(W, b)
            if step % cfg.record_every == 0 or step == cfg.steps:
                if not (state is not None and step == start):  # a resumed run has recorded its first step
                    _record(rec, step, net, teacher, rec.x_diag, cfg, diag_rng)
                    if cfg.ng_rank == "auto":
                        rec.ng_ranks.append(natural.k)
                if on_progress is not None:
                    on_progress(step)
                if checkpoint is not None and step % checkpoint_every == 0 and step not in (start, cfg.steps):
                    _Checkpoint(cfg, step, rng, diag_rng, teacher, W, b, x, rec, natural).write(checkpoint)
            if step == cfg.steps:
                break
            if should_stop is not None and should_stop():
                if checkpoint is not None:
                    _Checkpoint(cfg, step, rng, diag_rng, teacher, W, b, x, rec, natural).write(checkpoint)
                raise TrainingInterrupted(f"stopped at step {step} of {cfg.steps}")
            if cfg.resample:
                x = batch(rng, cfg, cfg.B)
            H = forward(net, x, cfg.T)
            target = forward(teacher, x, cfg.T)[:, :, :2]
            rec.batch_loss.append(loss(H, target))
            gW, gb = gradient(net, H, target)
            if not (np.all(np.isfinite(gW)) and np.all(np.isfinite(gb))):
                raise FloatingPointError(f"non-finite gradient at step {step}; lower lr (now {cfg.lr})")
            g = np.concatenate([gW.ravel(), gb]) if cfg.params == "Wb" else gW.ravel()
            if natural is None:
                d = -cfg.lr * g
            elif cfg.lr_rule == "edge":
                d = -natural.edge_lr(lambda: natural.fisher(net, x, cfg.T), cfg.lr) * g
            elif cfg.optimizer == "natural":
                d = natural.step(net, x, cfg.T, g, cfg.lr)
            else:  # momentum, Adam
                d = natural.step(g, cfg.lr)
            W = W + d[: cfg.N * cfg.N].reshape(cfg.N, cfg.N)
            if cfg.params == "Wb":
                b = b + d[cfg.N * cfg.N:]
            bar.update(1)
    finally:
        bar.close()
    if checkpoint is not None:
        _Checkpoint.remove(checkpoint)
    return rec
