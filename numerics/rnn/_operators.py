r"""Matrix-free sNTK and state-space Fisher operators of the RNN (paper, sec. 2, app. A).

J is the Jacobian of the (scoped) hidden states h_1..h_T of the whole batch
with respect to the (scoped) parameters.  The state-space NTK is
sNTK = J J^T (on states) and the state-space Fisher is F = J^T J (on
parameters); they share their nonzero spectrum, so traces and eigenvalues are
computed on F, which is the smaller side (N^2 + N parameters).

Effective ranks (each of the spectrum lambda_1 >= lambda_2 >= ... of sNTK):

* stable rank            tr / lambda_max;
* participation ratio    tr^2 / tr(K^2)  =  (sum lambda)^2 / sum lambda^2;
* entropy effective rank exp(-sum p_i log p_i), p_i = lambda_i / tr  (Roy & Vetterli 2007).

All are 1 for a rank-one kernel and equal to the rank for a flat spectrum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._inputs import SeedLike, as_generator
from ._derivatives import jvp, vjp
from ._model import READOUT, RNN, forward

NEURON_SCOPES = ("all", "readout")
PARAM_SCOPES = ("Wb", "W")


@dataclass(frozen=True)
class TraceEstimate:
    """A randomised trace: ``value`` +- ``stderr`` from ``matvecs`` products (Hutch++)."""

    value: float
    stderr: float
    matvecs: int


class SntkOperator:
    r"""sNTK = J J^T and Fisher = J^T J of an RNN at fixed parameters and batch.

    Parameters
    ----------
    net : RNN
    x0 : ndarray, shape (B, 2)
        Read-in initial conditions.
    T : int
        Horizon; the states h_1..h_T enter.
    neurons : {"all", "readout"}
        States of all N neurons, or only the two readout neurons.
    params : {"Wb", "W"}
        Differentiate with respect to (W, b) or W only.
    """

    def __init__(self, net: RNN, x0: np.ndarray, T: int, neurons: str = "all", params: str = "Wb") -> None:
        if neurons not in NEURON_SCOPES:
            raise ValueError(f"neurons must be one of {NEURON_SCOPES}, got {neurons!r}")
        if params not in PARAM_SCOPES:
            raise ValueError(f"params must be one of {PARAM_SCOPES}, got {params!r}")
        self.net, self.neurons, self.params = net, neurons, params
        self.H = forward(net, x0, T)
        self.T, self.B, self.N = T, self.H.shape[1], net.N
        self._mask = np.zeros(self.N, bool)
        self._mask[list(READOUT) if neurons == "readout" else slice(None)] = True

    @property
    def n_params(self) -> int:
        return self.N * self.N + (self.N if self.params == "Wb" else 0)

    @property
    def n_states(self) -> int:
        return self.T * self.B * int(self._mask.sum())

    def _split(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        N = self.N
        lead = u.shape[:-1]
        dW = u[..., : N * N].reshape(lead + (N, N))
        db = u[..., N * N:] if self.params == "Wb" else np.zeros(lead + (N,))
        return dW, db

    def J(self, u: np.ndarray) -> np.ndarray:
        """J u for parameter vectors u (..., P): scoped states (..., T, B, n)."""
        u = np.asarray(u, dtype=np.float64)
        if u.shape[-1] != self.n_params:
            raise ValueError(f"parameter vectors must have length {self.n_params}, got {u.shape[-1]}")
        return jvp(self.net, self.H, *self._split(u))[..., self._mask]

    def JT(self, v: np.ndarray) -> np.ndarray:
        """J^T v for scoped state cotangents v (..., T, B, n): parameter vectors (..., P)."""
        v = np.asarray(v, dtype=np.float64)
        full = np.zeros(v.shape[:-1] + (self.N,))
        full[..., self._mask] = v
        gW, gb = vjp(self.net, self.H, full)
        flat = gW.reshape(gW.shape[:-2] + (self.N * self.N,))
        return np.concatenate([flat, gb], axis=-1) if self.params == "Wb" else flat

    def fisher_matvec(self, u: np.ndarray) -> np.ndarray:
        """F u = J^T (J u)."""
        return self.JT(self.J(u))

    def sntk_matvec(self, v: np.ndarray) -> np.ndarray:
        """sNTK v = J (J^T v)."""
        return self.J(self.JT(v))

    def trace(self, block: int = 32) -> float:
        """Exact tr(sNTK) = tr(F) = sum_p ||J e_p||^2, by JVPs in blocks of ``block`` directions."""
        total = 0.0
        P = self.n_params
        for start in range(0, P, block):
            E = np.zeros((min(block, P - start), P))
            E[np.arange(E.shape[0]), start + np.arange(E.shape[0])] = 1.0
            total += float(np.sum(self.J(E) ** 2))
        return total

    def trace_estimate(self, matvecs: int = 30, seed: SeedLike = 0) -> TraceEstimate:
        """Hutch++ (Meyer, Musco, Musco & Woodruff 2021) with ``matvecs`` products of F.

        A third of the budget sketches the dominant subspace Q (exact trace
        there), the rest estimates the deflated remainder with Rademacher
        probes; plain Hutchinson's variance is ~ 2 ||F||_F^2, which near a
        bifurcation is dominated by one mode, Hutch++ removes it.  The error
        bar is the standard error of the remainder's probe average.
        """
        if matvecs < 6:
            raise ValueError(f"Hutch++ needs at least 6 matrix-vector products, got {matvecs}")
        rng = as_generator(seed)
        P = self.n_params
        k = matvecs // 3
        S = rng.choice([-1.0, 1.0], size=(k, P))
        Q, _ = np.linalg.qr(self.fisher_matvec(S).T)  # (P, k)
        FQ = self.fisher_matvec(Q.T)                 # (k, P)
        exact_part = float(np.sum(Q.T * FQ))
        m = matvecs - 2 * k
        G = rng.choice([-1.0, 1.0], size=(m, P))
        G = G - (G @ Q) @ Q.T
        samples = np.sum(G * self.fisher_matvec(G), axis=1)
        rest = float(samples.mean())
        stderr = float(samples.std(ddof=1) / np.sqrt(m)) if m > 1 else float("inf")
        return TraceEstimate(exact_part + rest, stderr, 2 * k + m)

    def top_eigenpairs(self, k: int = 5, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
        """Largest k eigenvalues (descending) of F = J^T J and their parameter-space eigenvectors (P, k),
        by Lanczos (scipy.sparse.linalg.eigsh).  The sNTK eigenvectors are J v / sqrt(lambda)."""
        from scipy.sparse.linalg import LinearOperator, eigsh

        P = self.n_params
        if not 1 <= k < P:
            raise ValueError(f"k must be in [1, {P - 1}], got {k}")
        op = LinearOperator((P, P), matvec=lambda u: self.fisher_matvec(np.ravel(u)), dtype=np.float64)
        vals, vecs = eigsh(op, k=k, which="LA", tol=tol, v0=np.ones(P) / np.sqrt(P))
        order = np.argsort(vals)[::-1]
        return vals[order], vecs[:, order]

    def dense_fisher(self) -> np.ndarray:
        """F as a dense (P, P) matrix (small networks; used to test the operators)."""
        P = self.n_params
        Jd = self.J(np.eye(P)).reshape(P, -1)
        return Jd @ Jd.T


def stable_rank(trace: float, lam_max: float) -> float:
    """tr / lambda_max."""
    return float(trace / lam_max)


def participation_ratio(eigenvalues: np.ndarray) -> float:
    """(sum lambda)^2 / sum lambda^2 over a (full) spectrum."""
    lam = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    return float(lam.sum() ** 2 / np.sum(lam**2))


def entropy_rank(eigenvalues: np.ndarray) -> float:
    """exp(Shannon entropy of lambda / sum lambda) over a (full) spectrum."""
    lam = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    p = lam[lam > 0] / lam.sum()
    return float(np.exp(-np.sum(p * np.log(p))))
