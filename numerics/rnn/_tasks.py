r"""Models (a cell plus a linear readout), tasks, and training by BPTT for any cell (issue 18).

A :class:`Model` is a cell of the protocol and a linear readout y_t = C h_t + d
(PyTorch's ``nn.Linear``: ``weight`` (n_out, N), ``bias`` (n_out,)).  A task supplies
batches (h_0, inputs X (T, B, n_in) or None, targets Y (T, B, n_out)):

* :class:`FlipFlop` -- the 3-bit flip-flop of Sussillo & Barak (2013): each input channel
  carries rare +-1 pulses, each output must hold the sign of its channel's last pulse.
  Every channel is pulsed at the first step, so there is no "unset" output to hold (which
  would add 3^bits - 2^bits spurious memories); a solution stores the 2^bits corners as
  stable fixed points at zero input.
* :class:`StudentTeacher` -- the paper's task (sec. 2, app. B): no inputs, the initial
  condition written into neurons 0 and 1, targets the teacher's readout.

:func:`fit` trains cell and readout on the mean squared error over (t, b, output) by
exact BPTT through the cell's ``vjp``, with Adam (Kingma & Ba 2015) or plain SGD, and
keeps checkpoints for the tracker.  The paper's own runs use ``train`` (its SGD, its
records); this is the same loop for a model a researcher brings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._inputs import SeedLike, as_generator, positive_int, real_array
from ._cells import AbstractCell
from ._optim import Adam
from normalforms._repr import short_repr

__all__ = ["Model", "ModelSpec", "FlipFlop", "StudentTeacher", "Batch", "FitRecord", "fit"]


@dataclass(frozen=True)
class Batch:
    """h0 (B, N), inputs X (T, B, n_in) or None, targets Y (T, B, n_out) for t = 1..T."""

    h0: np.ndarray
    X: np.ndarray | None
    Y: np.ndarray


class Model:
    """A cell and its linear readout y_t = C h_t + d (``nn.Linear`` layout: C (n_out, N), d (n_out,))."""

    def __init__(self, cell: AbstractCell, weight, bias=None) -> None:
        if not isinstance(cell, AbstractCell):
            raise TypeError(f"cell must follow the cell protocol (an AbstractCell), got {type(cell).__name__}")
        C = real_array(weight, "readout weight")
        if C.ndim != 2 or C.shape[1] != cell.N:
            raise ValueError(f"the readout weight must have shape (n_out, {cell.N}), got {C.shape}")
        d = np.zeros(C.shape[0]) if bias is None else real_array(bias, "readout bias")
        if d.shape != (C.shape[0],):
            raise ValueError(f"the readout bias must have shape ({C.shape[0]},), got {d.shape}")
        if not (np.all(np.isfinite(C)) and np.all(np.isfinite(d))):
            raise ValueError("the readout must be finite; it holds NaN or inf")
        self.cell, self.weight, self.bias = cell, C, d

    def __repr__(self) -> str:
        return f"Model({self.cell!r}, readout {self.weight.shape[0]} x {self.cell.N})"

    @property
    def n_out(self) -> int:
        return self.weight.shape[0]

    def outputs(self, H: np.ndarray) -> np.ndarray:
        """y_1..y_T (T, B, n_out) from the states h_0..h_T."""
        return H[1:] @ self.weight.T + self.bias

    @property
    def n_params(self) -> int:
        """The cell's parameters, then the readout's weight and bias: the model's flat vector."""
        return self.cell.n_params + self.weight.size + self.bias.size

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A flat vector (..., n_params) in the model's order -> (cell theta (..., P), weight (..., n_out, N),
        bias (..., n_out)), views where the layout allows."""
        P, C = self.cell.n_params, self.weight
        return x[..., :P], x[..., P:P + C.size].reshape(x.shape[:-1] + C.shape), x[..., P + C.size:]

    def vjp(self, H: np.ndarray, X, V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """J_y^T V for output cotangents V (m, T, B, n_out) on y_1..y_T: the gradients in the cell's
        parameters (m, P), the readout weight (m, n_out, N) and bias (m, n_out), batch summed."""
        return (self.cell.vjp(H, X, V @ self.weight), np.einsum("mtbo,tbn->mon", V, H[1:]), V.sum(axis=(1, 2)))

    def loss_and_gradients(self, batch: Batch) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """L = mean (y - y*)^2 and its gradients: (L, d theta_cell (P,), d weight, d bias)."""
        H = self.cell.forward(batch.h0, batch.X, T=batch.Y.shape[0])
        err = self.outputs(H) - batch.Y
        d_theta, d_weight, d_bias = self.vjp(H, batch.X, (2.0 * err / err.size)[None])
        return float(np.mean(err**2)), d_theta[0], d_weight[0], d_bias[0]


@dataclass(frozen=True)
class ModelSpec:
    """A model to build from a seed: a ``kind`` of cell ("tanh", "leaky" or "gru") of ``N`` units with
    ``n_in`` inputs and a readout to ``n_out`` outputs, every weight drawn as PyTorch draws it by default,
    U(-1/sqrt(N), 1/sqrt(N)) (cell first, then the readout; readout bias 0); ``alpha`` for the leaky cell.

    Picklable, so it can cross to the worker processes of :func:`fit_seeds`.
    """

    kind: str
    N: int
    n_in: int
    n_out: int
    alpha: float = 0.2

    def __post_init__(self) -> None:
        if self.kind not in ("tanh", "leaky", "gru"):
            raise ValueError(f"kind must be 'tanh', 'leaky' or 'gru', got {self.kind!r}")
        positive_int("N", self.N)
        positive_int("n_out", self.n_out)
        if isinstance(self.n_in, bool) or not isinstance(self.n_in, (int, np.integer)) or self.n_in < 0:
            raise ValueError(f"n_in must be an integer >= 0, got {self.n_in!r}")

    def __call__(self, seed: SeedLike) -> Model:
        from ._cells import GRUCell, LeakyCell, TanhCell

        rng = as_generator(seed)
        N, n_in = self.N, self.n_in
        k = 1.0 / np.sqrt(N)
        if self.kind == "gru":
            cell = GRUCell.init(N, n_in, rng)
        else:
            W, b = rng.uniform(-k, k, (N, N)), rng.uniform(-k, k, N)
            W_in = rng.uniform(-k, k, (N, n_in)) if n_in else None
            cell = LeakyCell(W, b, W_in, alpha=self.alpha) if self.kind == "leaky" else TanhCell(W, b, W_in)
        return Model(cell, rng.uniform(-k, k, (self.n_out, N)))


@short_repr()
@dataclass(frozen=True)
class FlipFlop:
    """The ``bits``-bit flip-flop (Sussillo & Barak 2013) over ``T`` steps, pulse probability ``p`` per step."""

    bits: int = 3
    T: int = 50
    p: float = 0.05

    def __post_init__(self) -> None:
        positive_int("bits", self.bits)
        positive_int("T", self.T)
        if not 0.0 < self.p < 1.0:
            raise ValueError(f"the pulse probability p must lie in (0, 1), got {self.p}")

    @property
    def n_in(self) -> int:
        return self.bits

    @property
    def n_out(self) -> int:
        return self.bits

    def sample(self, B: int, N: int, rng: SeedLike) -> Batch:
        gen = as_generator(rng)
        pulse = gen.random((self.T, B, self.bits)) < self.p
        pulse[0] = True  # every channel set at t = 1: the memories are the 2^bits corners, no "unset" state
        X = np.where(pulse, gen.choice([-1.0, 1.0], size=pulse.shape), 0.0)
        Y = np.zeros_like(X)
        state = np.zeros((B, self.bits))
        for t in range(self.T):
            state = np.where(X[t] != 0, X[t], state)
            Y[t] = state
        return Batch(np.zeros((B, N)), X, Y)


@dataclass(frozen=True)
class StudentTeacher:
    """The paper's task: h0 = (x0, 0, ...), x0 uniform on [-box, box]^2, targets the teacher's readout."""

    teacher: object
    T: int = 15
    box: float = 1.0

    n_in = 0
    n_out = 2

    def sample(self, B: int, N: int, rng: SeedLike) -> Batch:
        from ._model import READOUT, embed, forward

        gen = as_generator(rng)
        x0 = gen.uniform(-self.box, self.box, size=(B, 2))
        Y = forward(self.teacher, x0, self.T)[1:][:, :, list(READOUT)]
        return Batch(embed(x0, N), None, Y)


@dataclass
class FitRecord:
    """Loss every step; checkpoints (cell parameters and readout) every ``every`` steps."""

    loss: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    thetas: list = field(default_factory=list)
    readouts: list = field(default_factory=list)
    template: AbstractCell | None = None

    def __repr__(self) -> str:
        last = f", final loss {self.loss[-1]:.3g}" if self.loss else ""
        return f"FitRecord({len(self.loss)} steps, {len(self.steps)} checkpoints{last})"

    def cell(self, i: int) -> AbstractCell:
        return self.template.with_flat(self.thetas[i])

    def model(self, i: int) -> Model:
        return Model(self.cell(i), *self.readouts[i])

    def cells(self) -> list:
        return [self.cell(i) for i in range(len(self.steps))]


def fit(model: Model, task, steps: int, lr: float = 1e-2, batch: int = 64, optimizer: str = "adam",
        seed: SeedLike = 0, every: int = 100, clip: float | None = 1.0,
        natural=None) -> tuple[Model, FitRecord]:
    """Train ``model`` on ``task`` by BPTT; returns the trained model and its record.

    Parameters
    ----------
    steps, lr, batch : int, float, int
        Optimiser steps, learning rate, batch size (a new batch from ``seed`` every step).
    optimizer : {"adam", "sgd", "natural"}
        Adam with the usual (0.9, 0.999, 1e-8), plain SGD, or the low-rank natural gradient
        (paper app. C.1) on the Gauss-Newton matrix of the readout MSE in all the model's
        parameters (:class:`ModelFisher`, refreshed on the current batch).
    natural : LowRankNaturalGradient, optional
        The preconditioner for ``optimizer="natural"`` (rank, refresh, iterations, damping);
        default rank 1, refreshed every 10 steps, damping 1 / lr.
    every : int
        Checkpoint interval (the first and the last step are always kept).
    clip : float or None
        Rescale the joint gradient to this norm when longer (exploding gradients are
        common in the first steps of a gated network); ``None`` to train without it.
    """
    steps = positive_int("steps", steps)
    batch = positive_int("batch", batch)
    every = positive_int("every", every)
    if optimizer not in ("adam", "sgd", "natural"):
        raise ValueError(f"optimizer must be 'adam', 'sgd' or 'natural', got {optimizer!r}")
    if natural is not None and optimizer != "natural":
        raise ValueError(f"a natural-gradient preconditioner was given with optimizer={optimizer!r}; "
                         "pass optimizer='natural'")
    if optimizer == "natural":
        from ._natural import LowRankNaturalGradient

        natural = LowRankNaturalGradient() if natural is None else natural
        if not isinstance(natural, LowRankNaturalGradient):
            raise TypeError(f"natural must be a LowRankNaturalGradient, got {type(natural).__name__}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if getattr(task, "n_in", 0) != model.cell.n_in or task.n_out != model.n_out:
        raise ValueError(f"the task has {task.n_in} inputs and {task.n_out} outputs; the model takes "
                         f"{model.cell.n_in} and gives {model.n_out}")
    gen = as_generator(seed)
    cell = model.cell
    x = np.concatenate([cell.flat(), model.weight.ravel(), model.bias])  # the model's flat order (Model.split)
    adam = Adam()
    rec = FitRecord(template=cell)

    def keep(step: int) -> None:
        rec.steps.append(step)
        theta, weight, bias = model.split(x)
        rec.thetas.append(theta.copy())
        rec.readouts.append((weight.copy(), bias.copy()))

    keep(0)
    for step in range(1, steps + 1):
        theta, weight, bias = model.split(x)
        current = Model(cell.with_flat(theta, check=False), weight, bias)
        data = task.sample(batch, cell.N, gen)
        L, g_theta, g_C, g_d = current.loss_and_gradients(data)
        if not np.isfinite(L):
            raise FloatingPointError(f"the loss became {L} at step {step}; lower lr (now {lr})")
        g = np.concatenate([g_theta, g_C.ravel(), g_d])
        norm = float(np.linalg.norm(g))
        if clip is not None and norm > clip:
            g *= clip / norm
        if optimizer == "sgd":
            x -= lr * g
        elif optimizer == "natural":
            from ._natural import model_fisher

            x += natural.step_with(lambda: model_fisher(current, data), g, lr)
        else:
            x += adam.step(g, lr)
        rec.loss.append(L)
        if step % every == 0 or step == steps:
            keep(step)
    return rec.model(len(rec.steps) - 1), rec
