r"""Low-rank natural gradient on the state-space Fisher (paper, app. C.1, fig. 4).

Near a bifurcation the Fisher F = J^T J is dominated by one amplified mode, so
reconditioning only its top k eigenpairs (U, Lambda) is enough:

.. math::

    \Delta\theta = -\Big[\, U (\Lambda + \delta I)^{-1} U^T
                   + \eta\, (I - U U^T) \Big]\, \nabla L ,

i.e. a damped Newton (Levenberg-Marquardt) step inside the top-k subspace and
plain SGD with learning rate eta on its orthogonal complement, which is kept,
not discarded.  F is the Gauss-Newton matrix of the readout MSE,
F = (2 / M) J_r^T J_r (M = T B n_out; ``neurons="readout"``), the Fisher of
the loss being minimised, or the same normalisation over all states
(``neurons="all"``, the paper's state-space sNTK).  The default damping
delta = 1 / eta makes the step continuous with SGD: a mode with
lambda << delta gets eta (SGD), one with lambda >> delta gets 1 / lambda
(its Newton step) instead of the eta that overshoots once eta lambda > 2.

(U, Lambda) come from warm-started subspace iteration with Rayleigh-Ritz
(``iters`` products F U per refresh), refreshed every ``refresh`` steps on
the current batch: between refreshes the step costs one extra k x P
projection, and a refresh costs ``iters`` J and J^T passes of rank k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._inputs import SeedLike, as_generator, real_array
from ._model import READOUT, RNN
from ._operators import SntkOperator, check_param_scope


def gauss_newton_spectrum(net: RNN, x0: np.ndarray, T: int, k: int = 6, params: str = "Wb",
                          neurons: str = "readout", tol: float = 1e-8) -> np.ndarray:
    """The top-``k`` eigenvalues of the Fisher (2 / M) J^T J that :class:`LowRankNaturalGradient` preconditions.

    SGD with learning rate eta is stable along a mode only while eta lambda < 2
    (the quadratic model's step multiplies the error by 1 - eta lambda), so
    ``lr * gauss_newton_spectrum(...)`` counts the modes at the edge of
    stability -- the rank a natural gradient needs to smooth the loss (fig. 4).
    Lanczos on the matrix-free operator; descending order.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    op, scale = fisher_operator(net, x0, T, neurons=neurons, params=params)
    return scale * op.top_eigenpairs(k, tol=tol)[0]


def fisher_operator(net: RNN, x0: np.ndarray, T: int, neurons: str = "readout",
                    params: str = "Wb") -> tuple[SntkOperator, float]:
    """The matrix-free J^T J over ``neurons`` and the factor 2 / M making it the Fisher (2 / M) J^T J.

    M = T B n_out counts the states entering the loss (n_out = 2 readout
    neurons, or all N), so with ``neurons="readout"`` the product is the
    Gauss-Newton matrix of the readout MSE being minimised.
    """
    op = SntkOperator(net, x0, T, neurons=neurons, params=params)
    n_out = len(READOUT) if neurons == "readout" else net.N
    return op, 2.0 / (T * op.B * n_out)


@dataclass
class LowRankNaturalGradient:
    """Rank-k natural-gradient preconditioner with warm-started subspace iteration.

    Parameters
    ----------
    rank : int or "auto", default 1
        k, the number of reconditioned Fisher modes; ``"auto"`` chooses it online (below).
    refresh : int, default 10
        Steps between eigenpair refreshes.
    iters : int, default 2
        Subspace-iteration products F U per refresh (warm start: the top modes move slowly).
    damping : float, optional
        delta; default 1 / lr (continuous with SGD below it).
    neurons : {"readout", "all"}
        States whose Fisher is used (readout: the loss's Gauss-Newton matrix).
    params : {"Wb", "W"}
    rng : int or Generator
        For the initial random subspace.
    threshold : float, default 1.0
        ``rank="auto"``: a mode joins the reconditioned set when lr lambda >= threshold.
        SGD multiplies a mode's error by 1 - lr lambda per step: beyond lr lambda = 1 it
        overshoots (the error flips sign every step, the source of a rough loss), at 2
        it diverges -- the edge of stability.  The default reconditions every mode that
        SGD would overshoot, before it reaches the edge.
    hysteresis : float, default 2.0
        A reconditioned mode leaves only when lr lambda < threshold / hysteresis, so k does
        not flicker while a mode sits near the threshold.
    max_rank : int, default 16
        Upper bound on the adaptive k.
    probe : int, default 1
        Extra subspace vectors tracked beyond k, whose Ritz values tell when the next mode
        reaches the threshold (k grows by at most ``probe`` per refresh).
    smoothing : float in [0, 1), default 0.8
        The rank is decided on an exponential average of the Ritz values over refreshes
        (weight ``smoothing`` on the past): each refresh sees one batch, and a batch's top
        Fisher eigenvalues scatter by a factor ~2 around the population's (paper scale), which
        made k flicker between 2 and 4 while 4 modes sat at lr lambda >= 1.
    batch : int, optional
        The Fisher of :meth:`step` and :meth:`edge_lr` on the first ``batch`` initial conditions of
        the step's batch only (None: all of them).  A refresh's cost is proportional to it, and the
        top of the spectrum, a mean over initial conditions, needs fewer of them than the gradient.

    With ``rank="auto"`` the chosen k after every refresh is in :attr:`history`
    (``(step, k)`` pairs) and the current one in :attr:`k`.  A refresh costs
    ``iters`` Fisher products of rank k + probe.
    """

    rank: int | str = 1
    refresh: int = 10
    iters: int = 2
    damping: float | None = None
    neurons: str = "readout"
    params: str = "Wb"
    rng: SeedLike = 0
    threshold: float = 1.0
    hysteresis: float = 2.0
    max_rank: int = 16
    probe: int = 1
    smoothing: float = 0.8
    batch: int | None = None

    def __post_init__(self) -> None:
        self.adaptive = isinstance(self.rank, str)
        if self.adaptive and self.rank != "auto":
            raise ValueError(f"rank must be a positive integer or 'auto', got {self.rank!r}")
        for name in ("refresh", "iters", "max_rank", "probe") + (() if self.adaptive else ("rank",)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.smoothing, bool) or not (isinstance(self.smoothing, (int, float, np.floating))
                                                   and 0 <= self.smoothing < 1):
            raise ValueError(f"smoothing must be a number in [0, 1), got {self.smoothing!r}")
        for name in ("threshold", "hysteresis"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not (
                    np.isfinite(value) and value > 0) or (name == "hysteresis" and value < 1):
                raise ValueError(f"{name} must be a finite number > 0 (hysteresis >= 1), got {value!r}")
        if self.batch is not None and (isinstance(self.batch, bool) or not isinstance(self.batch, (int, np.integer))
                                       or self.batch < 1):
            raise ValueError(f"batch must be a positive integer (or None for the whole batch), got {self.batch!r}")
        if self.damping is not None and not (np.isfinite(self.damping) and self.damping > 0):
            raise ValueError(f"damping must be a finite number > 0 (or None for 1 / lr), got {self.damping!r}")
        if self.neurons not in ("readout", "all"):
            raise ValueError(f"neurons must be 'readout' or 'all', got {self.neurons!r}")
        check_param_scope(self.params)
        self._gen = as_generator(self.rng)
        self.U: np.ndarray | None = None
        self.eigenvalues: np.ndarray | None = None
        self._steps = 0
        self.k = 1 if self.adaptive else int(self.rank)
        self.history: list[tuple[int, int]] = []
        self.smoothed: np.ndarray | None = None  # the averaged Ritz values the adaptive rank is decided on

    def fisher(self, net: RNN, x0: np.ndarray, T: int) -> tuple[SntkOperator, float]:
        """:func:`fisher_operator` over this preconditioner's neurons and parameters (on the first ``batch``
        initial conditions of ``x0``)."""
        if self.batch is not None:
            if len(x0) < self.batch:
                raise ValueError(f"the curvature batch ({self.batch}) exceeds the batch passed ({len(x0)})")
            x0 = x0[: self.batch]
        return fisher_operator(net, x0, T, neurons=self.neurons, params=self.params)

    def update_subspace(self, net: RNN, x0: np.ndarray, T: int, lr: float | None = None) -> None:
        """``iters`` steps of subspace iteration from the current U on the paper network's Fisher
        (``lr``: needed with ``rank="auto"``, to choose k)."""
        op, scale = self.fisher(net, x0, T)
        self.refresh_subspace(op, scale, lr)

    def refresh_subspace(self, op, scale: float = 1.0, lr: float | None = None) -> None:
        """``iters`` steps of subspace iteration from the current U on any Fisher ``scale * op``.

        ``op`` offers ``n_params`` and ``fisher_matvec(V)`` (rows of V (m, n_params) -> rows of
        J^T J V): an :class:`SntkOperator`, or :class:`ModelFisher` for a model with a readout.
        Each product Z = F U serves twice: U^T Z gives the Rayleigh-Ritz values and
        rotation of U, and the next U = qr(Z rot), so a refresh costs exactly
        ``iters`` rank-k Fisher products (the eigenvalues lag the subspace by one).
        """
        width = min(self.k + self.probe, self.max_rank + self.probe) if self.adaptive else self.rank
        if width >= op.n_params:
            raise ValueError(f"rank{' + probe' if self.adaptive else ''} must be below the number of parameters "
                             f"({op.n_params}), got {width}")
        if self.adaptive and lr is None:
            raise ValueError("rank='auto' needs the learning rate at each refresh (lr=...) to place lr lambda")
        U = self.U
        if U is None:
            U = np.linalg.qr(self._gen.normal(size=(op.n_params, width)))[0]
        elif U.shape[1] < width:  # k grew: fresh directions orthogonal to the tracked ones
            extra = self._gen.normal(size=(op.n_params, width - U.shape[1]))
            U = np.linalg.qr(np.concatenate([U, extra - U @ (U.T @ extra)], axis=1))[0]
        else:
            U = U[:, :width]
        for _ in range(self.iters):
            Z = scale * op.fisher_matvec(U.T).T
            vals, rot = np.linalg.eigh(U.T @ Z)
            order = np.argsort(vals)[::-1]
            U = np.linalg.qr(Z @ rot[:, order])[0]
        self.U, self.eigenvalues = U, np.maximum(vals[order], 0.0)
        if self.adaptive:
            vals = self.eigenvalues.copy()
            if self.smoothed is not None:  # positions the subspace had before: averaged; new ones start as seen
                m = min(vals.size, self.smoothed.size)
                vals[:m] = self.smoothing * self.smoothed[:m] + (1 - self.smoothing) * vals[:m]
            self.smoothed = vals
            self.k = choose_rank(lr * vals, self.k, self.threshold, self.hysteresis, self.max_rank)
            self.history.append((self._steps, self.k))

    def step(self, net: RNN, x0: np.ndarray, T: int, grad: np.ndarray, lr: float) -> np.ndarray:
        """The parameter change -[U (Lambda + delta)^-1 U^T + lr (I - U U^T)] grad (refreshing U when due)."""
        return self._step(lambda: self.refresh_subspace(*self.fisher(net, x0, T), lr=lr), grad, lr)

    def step_with(self, fisher, grad: np.ndarray, lr: float) -> np.ndarray:
        """:meth:`step` for any model: ``fisher()`` returns (op, scale) as :meth:`refresh_subspace`
        takes them, called only when a refresh is due (e.g. ``lambda: model_fisher(model, batch)``)."""
        return self._step(lambda: self.refresh_subspace(*fisher(), lr=lr), grad, lr)

    def edge_lr(self, fisher, cap: float) -> float:
        """SGD's learning rate at the edge, min(cap, 1 / lambda_max), lambda_max from the warm-started top
        eigenpair refreshed every ``refresh`` calls (``fisher()`` returns (op, scale), called only then)."""
        if self.U is None or self._steps % self.refresh == 0:
            self.refresh_subspace(*fisher(), lr=cap)
        self._steps += 1
        lam = float(self.eigenvalues[0])
        return cap if lam <= 1.0 / cap else 1.0 / lam

    def _step(self, refresh, grad, lr) -> np.ndarray:
        grad = real_array(grad, "grad")
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if self.U is None or self._steps % self.refresh == 0:
            refresh()
        self._steps += 1
        if grad.shape != (self.U.shape[0],):
            raise ValueError(f"grad must have shape ({self.U.shape[0]},), got {grad.shape}")
        delta = 1.0 / lr if self.damping is None else self.damping
        U, lam = self.U[:, :self.k], self.eigenvalues[:self.k]  # the probe vectors are tracked, not used
        coef = U.T @ grad
        return -(lr * (grad - U @ coef) + U @ (coef / (lam + delta)))


def choose_rank(lr_lambda: np.ndarray, k: int, threshold: float = 1.0, hysteresis: float = 2.0,
                max_rank: int = 16) -> int:
    """The adaptive rank after a refresh, from the Ritz values in units of the learning rate (descending).

    Grows to the number of modes with lr lambda >= ``threshold`` when that exceeds k; shrinks to the
    number with lr lambda >= threshold / ``hysteresis`` when that falls below k; else keeps k.
    Never below 1 or above ``max_rank`` (nor the number of values).
    """
    lr_lambda = np.asarray(lr_lambda, dtype=np.float64)
    above = int(np.sum(lr_lambda >= threshold))
    keep = int(np.sum(lr_lambda >= threshold / hysteresis))
    if above > k:
        k = above
    elif keep < k:
        k = keep
    return int(min(max(k, 1), max_rank, lr_lambda.size))


class ModelFisher:
    r"""The Gauss-Newton matrix of a model's readout MSE on one batch, matrix-free, in all its
    parameters -- the cell's (flat, protocol order) then the readout's weight and bias.

    With outputs y_t = C h_t + d over M = T B n_out numbers, the Jacobian in (theta, C, d) is
    J_y [u_theta, u_C, u_d] = C (J u_theta)_t + u_C h_t + u_d, so J_y^T J_y is one sequence JVP and
    one VJP of the cell per block of directions, and the Fisher of the loss is
    (2 / M) J_y^T J_y (:func:`model_fisher` returns it with that factor).  The paper network's
    ``neurons="readout"`` Fisher is the special case C = [I_2, 0], no readout parameters.
    """

    def __init__(self, model, batch) -> None:
        self.model = model
        self.X = batch.X
        self.H = model.cell.forward(batch.h0, batch.X, T=batch.Y.shape[0])
        self.n_params = model.n_params

    def jvp(self, U: np.ndarray) -> np.ndarray:
        """J_y U: output perturbations (m, T, B, n_out) for directions U (m, n_params)."""
        U = np.atleast_2d(real_array(U, "directions"))
        if U.shape[-1] != self.n_params:
            raise ValueError(f"directions must have shape (m, {self.n_params}), got {U.shape}")
        u_theta, u_C, u_d = self.model.split(U)
        dY = self.model.cell.jvp(self.H, self.X, u_theta) @ self.model.weight.T
        dY += np.einsum("mon,tbn->mtbo", u_C, self.H[1:])
        dY += u_d[:, None, None, :]
        return dY

    def vjp(self, V: np.ndarray) -> np.ndarray:
        """J_y^T V for output cotangents V (m, T, B, n_out): (m, n_params)."""
        g_theta, g_C, g_d = self.model.vjp(self.H, self.X, V)
        return np.concatenate([g_theta, g_C.reshape(V.shape[0], -1), g_d], axis=1)

    def fisher_matvec(self, U: np.ndarray) -> np.ndarray:
        """J_y^T J_y U for the rows of U (m, n_params)."""
        return self.vjp(self.jvp(U))


def model_fisher(model, batch) -> tuple[ModelFisher, float]:
    """:class:`ModelFisher` on ``batch`` and the factor 2 / M (M = T B n_out) making it the Fisher of the MSE."""
    op = ModelFisher(model, batch)
    return op, 2.0 / batch.Y.size
