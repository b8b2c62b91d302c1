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

from .._inputs import SeedLike, as_generator, available_memory, real_array
from ._derivatives import cotangents_tbmn, jvp, jvp_sqnorm, tangents_tbmn, vjp
from ._eigen import EigenResult, block_top_eigenpairs
from ._cells import AbstractCell, directions_per_pass
from ._model import READOUT, RNN, forward

NEURON_SCOPES = ("all", "readout")
PARAM_SCOPES = ("Wb", "W")


def check_param_scope(params: str) -> None:
    """Raise unless ``params`` names a parameter scope: (W, b) or W only."""
    if params not in PARAM_SCOPES:
        raise ValueError(f"params must be one of {PARAM_SCOPES}, got {params!r}")


@dataclass(frozen=True)
class TraceEstimate:
    """A randomised trace: ``value`` +- ``stderr`` from ``passes`` applications of J or J^T (Hutch++)."""

    value: float
    stderr: float
    passes: int


class SntkOperator:
    r"""sNTK = J J^T and Fisher = J^T J of a recurrent model at fixed parameters and batch.

    Parameters
    ----------
    net : RNN or any cell of the protocol
        The paper's network, or a GRU / leaky / input-driven tanh cell (``numerics.rnn._cells``).
    x0 : ndarray, shape (B, 2)
        The paper's network: read-in initial conditions (embedded into neurons 0 and 1).
    T : int
        Horizon; the states h_1..h_T enter.  Taken from ``X`` when inputs are given.
    neurons : {"all", "readout"} or sequence of int
        States of all N neurons, only the two readout neurons (paper), or these neurons.
    params : {"Wb", "W"} or "all" or sequence of group names, optional
        The paper's network: (W, b) (default) or W only.  Any cell: ``"all"`` (default) or the
        parameter groups of its ``layout()`` to differentiate by (e.g. ``("weight_hh",)`` for a GRU).
    h0 : ndarray, shape (B, N), optional
        Any cell: the initial states (instead of ``x0``).
    X : ndarray, shape (T, B, n_in), optional
        Any cell with inputs: the input sequences.
    """

    def __init__(self, net, x0: np.ndarray | None = None, T: int | None = None, neurons="all", params=None,
                 h0: np.ndarray | None = None, X: np.ndarray | None = None) -> None:
        paper = isinstance(net, RNN) and X is None and h0 is None
        self._paper = paper
        if params is None:
            params = "Wb" if paper else "all"
        if paper:
            check_param_scope(params)
            self.H = forward(net, x0, T)
            self.X = None
        else:
            if not isinstance(net, AbstractCell):
                raise TypeError(f"net must be the paper's RNN or a cell of the protocol, got {type(net).__name__}")
            if x0 is not None:
                raise ValueError("x0 (read-in plane) is the paper network's; pass h0 (B, N) and X for other cells")
            if h0 is None:
                raise ValueError("pass the initial states h0 (B, N) (and X (T, B, n_in) for a cell with inputs)")
            self.X = None if X is None else np.asarray(X, dtype=np.float64)
            self.H = net.forward(h0, self.X, T=T)
            T = self.H.shape[0] - 1
        self.net, self.neurons, self.params = net, neurons, params
        self.T, self.B, self.N = T, self.H.shape[1], net.N
        self._mask = np.zeros(self.N, bool)
        if isinstance(neurons, str):
            if neurons not in NEURON_SCOPES:
                raise ValueError(f"neurons must be one of {NEURON_SCOPES} or a sequence of neuron indices, "
                                 f"got {neurons!r}")
            self._mask[list(READOUT) if neurons == "readout" else slice(None)] = True
        else:
            idx = np.asarray(neurons)
            if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= self.N:
                raise ValueError(f"neurons must be indices in [0, {self.N}), got {neurons!r}")
            self._mask[idx] = True
        if paper:
            self._groups = {"W", "b"} if params == "Wb" else {"W"}
        else:
            self._groups, self._index = net.scope(params)
        # every parameter in its own order: no scatter into (or gather from) the full vector
        self._everything = not paper and np.array_equal(self._index, np.arange(net.n_params))

    def __repr__(self) -> str:
        return (f"SntkOperator(N={self.N}, B={self.B}, T={self.T}, neurons={self.neurons!r}, params={self.params!r}: "
                f"{self.n_states} states x {self.n_params} parameters)")

    @property
    def n_params(self) -> int:
        if not self._paper:
            return int(self._index.size)
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

    def _check_params(self, u: np.ndarray) -> np.ndarray:
        u = real_array(u, "u")
        if u.shape[-1] != self.n_params:
            raise ValueError(f"parameter vectors must have length {self.n_params}, got {u.shape[-1]}")
        return u

    def J(self, u: np.ndarray) -> np.ndarray:
        """J u for parameter vectors u (..., P): scoped states (..., T, B, n)."""
        u = self._check_params(u)
        if not self._paper:
            return self._cell_J(u)
        out = jvp(self.net, self.H, *self._split(u))
        return out if self.neurons == "all" else out[..., self._mask]

    def _cell_J(self, u: np.ndarray) -> np.ndarray:
        lead = u.shape[:-1]
        flat = u.reshape(-1, u.shape[-1])
        if self._everything:
            full = flat
        else:
            full = np.zeros((flat.shape[0], self.net.n_params))
            full[:, self._index] = flat
        out = self.net.jvp(self.H, self.X, full)
        if not self._mask.all():
            out = out[..., self._mask]
        return out.reshape(lead + out.shape[1:])

    def sqnorms(self, u: np.ndarray, block: int = 64) -> np.ndarray:
        """||J u||^2 = u^T F u for parameter vectors u (..., P), without storing J u for all of them
        (the paper's network: none; any other cell: ``block`` at a time)."""
        u = self._check_params(u)
        if not self._paper:
            flat = u.reshape(-1, u.shape[-1])
            out = np.zeros(flat.shape[0])
            for i in range(0, flat.shape[0], block):
                Ju = self._cell_J(flat[i:i + block])
                out[i:i + block] = np.einsum("mtbn,mtbn->m", Ju, Ju)
            return out.reshape(u.shape[:-1])
        return jvp_sqnorm(self.net, self.H, *self._split(u), neurons=None if self.neurons == "all" else self._mask)

    def _states(self, v: np.ndarray) -> np.ndarray:
        """State vectors as (..., T, B, n); a flat (..., T*B*n) vector is accepted and reshaped."""
        v = real_array(v, "v")
        n = int(self._mask.sum())
        if v.shape[-3:] == (self.T, self.B, n):
            return v
        if v.shape[-1:] == (self.n_states,):
            return v.reshape(v.shape[:-1] + (self.T, self.B, n))
        raise ValueError(f"state vectors must have shape (..., {self.T}, {self.B}, {n}) or (..., {self.n_states}), "
                         f"got {v.shape}")

    def JT(self, v: np.ndarray) -> np.ndarray:
        """J^T v for scoped state cotangents v (..., T, B, n) or flat (..., T B n): parameter vectors (..., P)."""
        v = self._states(v)
        if self._mask.all():
            full = v
        else:
            full = np.zeros(v.shape[:-1] + (self.N,))
            full[..., self._mask] = v
        if not self._paper:
            lead = full.shape[:-3]
            g = self.net.vjp(self.H, self.X, full.reshape((-1,) + full.shape[-3:]))
            if not self._everything:
                g = g[:, self._index]
            return g.reshape(lead + (g.shape[-1],))
        gW, gb = vjp(self.net, self.H, full)
        return self._join(gW, gb)

    def _join(self, gW: np.ndarray, gb: np.ndarray) -> np.ndarray:
        flat = gW.reshape(gW.shape[:-2] + (self.N * self.N,))
        return np.concatenate([flat, gb], axis=-1) if self.params == "Wb" else flat

    def fisher_matvec(self, u: np.ndarray) -> np.ndarray:
        """F u = J^T (J u) for parameter vectors u (..., P)."""
        u = self._check_params(u)
        if not self._paper:
            return self.JT(self.J(u))
        # the paper network: both passes in the (T, B, m, N) layout, no transposes in between
        lead = u.shape[:-1]
        flat = u.reshape(-1, u.shape[-1])
        out = np.empty_like(flat)
        chunk = directions_per_pass(self.H)
        for i in range(0, flat.shape[0], chunk):
            dW, db = self._split(flat[i:i + chunk])
            dh = tangents_tbmn(self.net, self.H, dW, db)
            if not self._mask.all():
                dh[..., ~self._mask] = 0.0
            out[i:i + chunk] = self._join(*cotangents_tbmn(self.net, self.H, dh))
        return out.reshape(lead + (self.n_params,))

    def sntk_matvec(self, v: np.ndarray) -> np.ndarray:
        """sNTK v = J (J^T v), in the shape v was given ((..., T, B, n) or flat)."""
        out = self.J(self.JT(v))
        v = np.asarray(v)
        return out.reshape(v.shape) if v.shape[-1:] == (self.n_states,) else out

    def trace(self) -> float:
        r"""Exact tr(sNTK) = tr(F) = ||J||_F^2, without forming J.

        Every cell here has its parameters enter through pre-activations (weight times a step
        input, plus a bias), each feeding one neuron (``AbstractCell._trace_parts``).  With
        P_{t,s} = dh_t/dh_s, g_s the sensitivity of h_s to its pre-activation and the input Gram
        K_{ss'} = u_s . u_{s'} (+ 1 for a bias),

        .. math:: \mathrm{tr} = \sum_{(g, K)} \sum_t \sum_{s, s' \le t} K_{ss'}
                  \langle R P_{t,s} \mathrm{diag}(g_s), R P_{t,s'} \mathrm{diag}(g_{s'}) \rangle_F ,

        R the neuron scope.  The stack {P_{t,s}}_s is carried forward in t (N tangent directions
        per earlier step, one ``jvp_step`` each t): T^2 N^3 / 2 flops per trajectory and part (one
        part for the tanh and leaky cells and the paper's network, four for the GRU), 10-40x
        cheaper than the P = O(N^2) JVPs of sum_p ||J e_p||^2.  The paper's network with the two
        readout neurons carries those rows backward instead, T^2 m N^2 / 2.  A cell without
        ``_trace_parts``, and any horizon T > N (where T^2 N^3 passes P T N^2), gets the sum
        of ||J e_p||^2 over unit directions in blocks.

        Streamed: trajectories (directions) are taken in chunks whose work arrays fit
        min(2 GiB, a quarter of the available memory); a MemoryError gives the estimate when
        even one does not fit (use :meth:`trace_estimate` then).
        """
        budget = self._work_budget()
        rows = np.flatnonzero(self._mask)
        backward = self._paper and rows.size * 8 <= self.N
        # the stack costs ~T^2 N^3 per trajectory, the unit directions ~P T N^2 = T N^4: beyond T = N the
        # directions' well-shaped products win (T = 100, N = 64: 7.4 s by the stack, as slow as JAX's directions)
        parts = self.net._trace_parts(self.H, self.X, set(self._groups)) if backward or self.T <= self.N else None
        if parts is None:
            return self._trace_by_directions(budget)
        # per trajectory: the stack P (T N N doubles) and one part's scaled copy (T N m), or the rows (T m N)
        per_traj = 8.0 * self.T * self.N * (rows.size if backward else self.N + 2 * rows.size)
        chunk = int(min(32, budget // per_traj))
        if chunk < 1:
            raise MemoryError(f"the exact trace needs {per_traj / 2**30:.1f} GiB per trajectory (T={self.T}, "
                              f"N={self.N}), more than the {budget / 2**30:.1f} GiB available to it; "
                              f"use trace_estimate (Hutch++) instead")
        total = 0.0
        for start in range(0, self.B, chunk):
            part = slice(start, start + chunk)
            H = self.H[:, part]
            if backward:
                total += _trace_rows_backward(self.net.W, H, parts[0][1][part], rows)
            else:
                X = None if self.X is None else self.X[:, part]
                total += _trace_stack(self.net, H, X, [(g[:, part], K[part]) for g, K in parts], rows)
        return total

    def _trace_by_directions(self, budget: float) -> float:
        """sum_p ||J e_p||^2 over the unit directions, in blocks whose tangents fit the budget."""
        P = self.n_params
        per_direction = 8.0 * self.T * self.B * self.N
        block = int(min(64, budget // per_direction))
        if block < 1:
            raise MemoryError(f"the exact trace needs {per_direction / 2**30:.1f} GiB for a single direction's "
                              f"tangents (T={self.T}, B={self.B}, N={self.N}); use trace_estimate instead")
        return float(sum(np.sum(self.sqnorms(np.eye(min(block, P - i), P, k=i), block=block))
                         for i in range(0, P, block)))

    @staticmethod
    def _work_budget() -> float:
        """Bytes the exact trace may hold at once: a quarter of the available memory, at most 2 GiB."""
        return min(2.0 * 2**30, 0.25 * available_memory())

    def trace_estimate(self, passes: int = 150, seed: SeedLike = 0) -> TraceEstimate:
        r"""Hutch++ (Meyer, Musco, Musco & Woodruff 2021) for tr(F), F = J^T J, in ``passes`` applications of J or J^T.

        Plain Hutchinson's variance, 2 ||F||_F^2 for Rademacher probes, is
        near a bifurcation carried by the one amplified mode; Hutch++ takes
        that mode out exactly.  With k = passes // 6:

        * sketch: Q = orth(F S) for k Rademacher S (2k passes);
        * exact part: tr(Q^T F Q) = ||J Q||_F^2 (k passes);
        * remainder: tr((I - QQ^T) F (I - QQ^T)) = E ||J (I - QQ^T) g||^2 over
          m = passes - 3k Rademacher probes g (m passes).

        Because F = J^T J, both quadratic forms need J alone, so the remainder
        gets three times the probes that the generic Hutch++ (Fisher products
        throughout) would at the same cost.  The error bar is the standard
        error of the remainder's probe average.
        """
        if isinstance(passes, bool) or not isinstance(passes, (int, np.integer)) or passes < 8:
            raise ValueError(f"Hutch++ needs an integer number of passes >= 8 (2 sketch + 1 exact + 2 probes), got {passes!r}")
        rng = as_generator(seed)
        P = self.n_params
        k = max(1, passes // 6)
        m = passes - 3 * k
        S = rng.choice([-1.0, 1.0], size=(k, P))
        Q, _ = np.linalg.qr(self.fisher_matvec(S).T)  # (P, k)
        exact_part = float(np.sum(self.sqnorms(Q.T)))
        G = rng.choice([-1.0, 1.0], size=(m, P))
        G -= (G @ Q) @ Q.T
        samples = self.sqnorms(G)
        return TraceEstimate(exact_part + float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(m)), 3 * k + m)

    def top_eigenpairs(self, k: int = 5, tol: float = 1e-10, start: np.ndarray | None = None,
                       method: str = "block", seed: SeedLike = 0,
                       vector_tol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Largest k eigenvalues (descending) of F = J^T J and their parameter-space eigenvectors (P, k).

        ``method="block"`` (default): block Krylov with thick restart on batched products
        (:func:`~numerics.rnn._eigen.block_top_eigenpairs`), eigenvalues to ``tol`` relative by a
        residual bound, warm-started from ``start`` (e.g. the vectors of the previous checkpoint).
        ``vector_tol`` also bounds the block solver's residuals ||F v - lambda v|| <= vector_tol lambda
        (the eigenvalue bound alone leaves them ~sqrt(tol)).
        ``method="lanczos"``: scipy's ``eigsh`` (ARPACK, one product at a time, residuals <= tol).
        The sNTK eigenvectors are J v / sqrt(lambda).
        """
        return self.eigen(k, tol=tol, start=start, method=method, seed=seed, vector_tol=vector_tol)[:2]

    def eigen(self, k: int = 5, tol: float = 1e-10, start: np.ndarray | None = None, method: str = "block",
              seed: SeedLike = 0, vector_tol: float | None = None) -> tuple[np.ndarray, np.ndarray, EigenResult | None]:
        """:meth:`top_eigenpairs` with the solver's report (residual norms, products used; None for Lanczos)."""
        P = self.n_params
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < P:
            raise ValueError(f"k must be an integer in [1, {P - 1}], got {k!r}")
        if method == "block":
            res = block_top_eigenpairs(self.fisher_matvec, P, int(k), tol=tol, start=start, seed=seed,
                                       vector_tol=vector_tol)
            return res.values, res.vectors, res
        if method != "lanczos":
            raise ValueError(f"method must be 'block' or 'lanczos', got {method!r}")
        from scipy.sparse.linalg import LinearOperator, eigsh

        from .._threads import blas_threads

        op = LinearOperator((P, P), matvec=lambda u: self.fisher_matvec(np.ravel(u)), dtype=np.float64)
        v0 = np.ones(P) / np.sqrt(P) if start is None else np.asarray(start, dtype=np.float64).reshape(P, -1)[:, 0]
        # ARPACK's own vector work runs on scipy's OpenBLAS, the products on numpy's: two thread
        # pools spinning against each other on the same cores cost 3x at N = 256 (measured)
        with blas_threads(1, library="scipy"):
            vals, vecs = eigsh(op, k=k, which="LA", tol=tol, v0=v0)
        order = np.argsort(vals)[::-1]
        return vals[order], vecs[:, order], None

    def dense_fisher(self) -> np.ndarray:
        """F as a dense (P, P) matrix (small networks; used to test the operators)."""
        P = self.n_params
        Jd = self.J(np.eye(P)).reshape(P, -1)
        return Jd @ Jd.T


def _trace_stack(cell, H: np.ndarray, X: np.ndarray | None, parts: list, rows: np.ndarray) -> float:
    """sum over the parts (g, K) of sum_t sum_{s,s'<=t} K_{ss'} <P_{t,s} diag(g_s), P_{t,s'} diag(g_s')>_F
    restricted to the neuron rows (``AbstractCell._trace_parts``), P_{t,s} = dh_t/dh_s carried forward."""
    T, B, N = H.shape[0] - 1, H.shape[1], H.shape[2]
    m = rows.size
    # P[(s-1) N + j, b, :] = column j of P_{t,s} of trajectory b: N tangent directions per earlier step,
    # all advanced by one jvp_step per t
    P = np.empty((T * N, B, N))
    eye = np.broadcast_to(np.eye(N)[:, None, :], (N, B, N))
    total = 0.0
    for t in range(1, T + 1):
        if t > 1:
            P[: (t - 1) * N] = cell.jvp_step(H[t - 1], None if X is None else X[t - 1], P[: (t - 1) * N], None)
        P[(t - 1) * N: t * N] = eye
        S = P[: t * N].reshape(t, N, B, N)
        if m < N:
            S = S[..., rows]
        St = S.transpose(2, 0, 1, 3)  # (B, t, N_j, m): per trajectory, one row of M per step s
        M = np.empty((B, t, N, m))
        for g, K in parts:
            # the scaling by g and the transposition in one pass, into a contiguous M for the Gram
            np.multiply(St, g[:t].transpose(1, 0, 2)[..., None], out=M)
            Mf = M.reshape(B, t, N * m)
            total += float(np.einsum("bsr,bsr->", Mf @ Mf.transpose(0, 2, 1), K[:, :t, :t]))
    return total


def _trace_rows_backward(W: np.ndarray, H: np.ndarray, K: np.ndarray, rows: np.ndarray) -> float:
    T, B, N = H.shape[0] - 1, H.shape[1], H.shape[2]
    m = rows.size
    total = 0.0
    for t in range(1, T + 1):
        L = np.zeros((t, B, m, N))  # L[s-1] = P A_{t,s}
        L[t - 1][:, np.arange(m), rows] = 1.0 - H[t][:, rows] ** 2
        for s in range(t - 1, 0, -1):
            L[s - 1] = (L[s].reshape(B * m, N) @ W).reshape(B, m, N) * (1.0 - H[s] ** 2)[:, None, :]
        M = L.transpose(1, 0, 2, 3).reshape(B, t, m * N)
        total += float(np.einsum("bsr,bsr->", M @ M.transpose(0, 2, 1), K[:, :t, :t]))
    return total


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
