r"""Top-k eigenpairs of a symmetric positive semi-definite operator from block products (issue 23).

The state-space Fisher F = J^T J is only available as products with J and J^T
(one pass over the sequence each).  A pass over m directions at once turns the
per-step work into matrix-matrix products, 1.2-1.7x cheaper per direction than m
single passes (measured in ``benchmarks/bench_scaling.py``), so the top-k solver
works on blocks:

* **block Krylov with Rayleigh-Ritz** -- the basis is extended by the residuals
  R = F U - U Theta of the current top-b Ritz pairs (Krylov's block step: span{Q, R}
  = span{Q, F Q_last}), orthogonalised twice against the basis (classical
  Gram-Schmidt, twice is enough, Giraud et al. 2005);
* **thick restart** -- when the basis is full it is cut back to the best Ritz
  vectors, whose products F U are kept (no product is ever recomputed);
* **residual stopping rule** -- for the symmetric F the Ritz value theta_i is within
  min(||r_i||, ||r_i||^2 / gap_i) of an eigenvalue (Kato-Temple), gap_i the distance
  to the neighbouring Ritz values less their own residuals; the pair is converged
  when that bound is <= tol * theta_i.  ``tol = 1e-10`` gives eigenvalues to 1e-10
  relative, the accuracy of ``scipy.sparse.linalg.eigsh(tol=1e-10)``, with residuals
  ~sqrt(tol) instead of tol (eigenvalues converge twice as fast as vectors);
  ``vector_tol`` tightens the vectors too;
* **warm start** -- previous eigenvectors (the last checkpoint, the last refresh)
  seed the first block, and the solver usually stops after one or two blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._inputs import SeedLike, as_generator, real_array

__all__ = ["EigenResult", "EigenNotConverged", "block_top_eigenpairs"]


class EigenNotConverged(RuntimeError):
    """The block eigensolver reached its product budget with unconverged pairs."""


@dataclass(frozen=True)
class EigenResult:
    """Top eigenpairs: ``values`` (k,) descending, ``vectors`` (P, k), their residual norms, products used."""

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    products: int

    def __repr__(self) -> str:
        vals = ", ".join(f"{v:.6g}" for v in self.values)
        return (f"EigenResult(values=[{vals}], max relative residual "
                f"{float(np.max(self.residuals / np.maximum(np.abs(self.values), 1e-300))):.1e}, "
                f"{self.products} products)")


def _signed(V: np.ndarray) -> np.ndarray:
    """The columns of V, each with its largest entry positive (a reproducible sign)."""
    return V * np.sign(V[np.argmax(np.abs(V), axis=0), np.arange(V.shape[1])])


def _orthonormal_rows(W: np.ndarray, Q: np.ndarray, drop: float = 1e-10) -> np.ndarray:
    """Rows of W orthogonalised against the orthonormal rows of Q and among themselves; dependent rows dropped.

    Classical Gram-Schmidt against Q, repeated only for the rows whose norm it cut by more
    than half (Kahan-Parlett "twice is enough"; the residuals this solver feeds in are
    orthogonal to Q analytically, so one pass usually suffices -- every pass reads all of
    Q, the solver's main cost besides the products), then Cholesky-QR twice within the
    block; pivoted QR keeps the independent rows when Cholesky fails.
    """
    norms = np.linalg.norm(W, axis=1)
    for _ in range(3):
        if not Q.shape[0]:
            break
        W = W - (W @ Q.T) @ Q
        after = np.linalg.norm(W, axis=1)
        if np.all(after >= 0.5 * norms):
            break
        norms = after
    norms = np.linalg.norm(W, axis=1)
    W = W[norms > drop * max(float(norms.max(initial=0.0)), 1e-300)]
    if not W.shape[0]:
        return W
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    for _ in range(2):
        try:
            L = np.linalg.cholesky(W @ W.T)
        except np.linalg.LinAlgError:
            L = None
        if L is None or np.min(np.diag(L)) < 1e-6:  # nearly dependent rows: keep the independent ones
            from scipy.linalg import qr

            _, r, piv = qr(W.T, mode="economic", pivoting=True)
            rank = int(np.sum(np.abs(np.diag(r)) > drop * abs(r[0, 0])))
            return _orthonormal_rows(W[np.sort(piv[:rank])], Q, drop)
        W = np.linalg.inv(L) @ W  # b x b: a product is cheaper than a triangular solve over n columns
    return W


def block_top_eigenpairs(apply: Callable[[np.ndarray], np.ndarray], n: int, k: int, tol: float = 1e-10,
                         start: np.ndarray | None = None, block: int | None = None, max_basis: int | None = None,
                         max_products: int | None = None, vector_tol: float | None = None,
                         seed: SeedLike = 0) -> EigenResult:
    r"""The k largest eigenpairs of a symmetric positive semi-definite operator by block Krylov iteration.

    Parameters
    ----------
    apply : callable
        ``apply(U)`` = (A u_1, ..., A u_m) for m vectors given as the rows of U (m, n).
    n : int
        Dimension.
    k : int
        Number of eigenpairs, 1 <= k < n.
    tol : float
        Relative accuracy of the eigenvalues: stop when min(||r||, ||r||^2 / gap) <= tol * theta
        + 50 eps theta_1 for each of the top k Ritz pairs (module docstring).  The second term is
        double precision's limit for any solver (products are exact to ~eps ||A|| only): an
        eigenvalue below 50 eps theta_1 / tol gets that absolute accuracy instead.
    start : ndarray, shape (n, j) or (j, n), optional
        Warm start (e.g. the previous call's vectors); completed with random directions.
    block : int, optional
        Directions per product after the first block (which has max(block, k + 1)); default
        max(2, min(k, 3)) (measured best for k = 5 at N = 64 and 128).
    max_basis : int, optional
        Basis size before a thick restart; default max(4 block + k, 40).  When n is no larger,
        the operator is applied to the identity and diagonalised densely.
    max_products : int, optional
        Budget of single products (a block of m counts m); default max(300, 30 k).
    vector_tol : float, optional
        Also require ||r_i|| <= vector_tol * theta_i (eigenvector accuracy).
    seed : int or Generator
        For the random directions.

    Returns
    -------
    EigenResult

    Raises
    ------
    EigenNotConverged
        When the budget is spent; the message gives the worst pair's bound.
    """
    def count(name, value, default):
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer (or None for the default), got {value!r}")
        return int(value)

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise ValueError(f"k must be an integer in [1, {n - 1}], got {k!r}")
    for name, value in (("tol", tol), ("vector_tol", vector_tol)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, np.floating))
                                  or not 0 < value < 1):
            raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    b = min(count("block", block, max(2, min(k, 3))), n)
    q_max = count("max_basis", max_basis, max(4 * b + k, 40))
    if q_max < k + 2 * b:
        raise ValueError(f"max_basis must be at least k + 2 block = {k + 2 * b} (or n), got {q_max}")
    budget = count("max_products", max_products, max(300, 30 * k))
    rng = as_generator(seed)
    eps = np.finfo(float).eps

    def product(U: np.ndarray) -> np.ndarray:
        AU = apply(U)
        if not np.all(np.isfinite(AU)):
            raise FloatingPointError("the operator returned NaN or inf")
        return AU

    if n <= q_max:  # small: the whole operator costs no more products than the basis would
        A = product(np.eye(n))
        theta, Y = np.linalg.eigh(0.5 * (A + A.T))
        theta, Y = theta[::-1][:k], Y[:, ::-1][:, :k]
        return EigenResult(theta, _signed(Y), np.linalg.norm(A @ Y - Y * theta, axis=0), n)
    W = rng.standard_normal((max(b, k + 1), n))  # the first block gives every wanted pair a Ritz value
    if start is not None:
        S = real_array(start, "start")
        S = S[None] if S.ndim == 1 else S.T if S.ndim == 2 and S.shape[0] == n and S.shape[1] != n else S
        if S.ndim != 2 or S.shape[1] != n:
            raise ValueError(f"start must hold vectors of length {n} as (n, j) or (j, n), got {np.shape(start)}")
        if not np.all(np.isfinite(S)):
            raise ValueError("start must be finite; it holds NaN or inf")
        S = S[: W.shape[0]]
        W[: S.shape[0]] = S
    Qbuf = np.empty((q_max, n))
    AQbuf = np.empty((q_max, n))
    G = np.empty((q_max, q_max))
    q = 0
    products = 0
    while True:
        Q = Qbuf[:q]
        W = _orthonormal_rows(W, Q)
        if not W.shape[0]:  # the residuals lie in the basis: continue from random directions
            W = _orthonormal_rows(rng.standard_normal((b, n)), Q)
        if W.shape[0]:
            AW = product(W)
            products += W.shape[0]
            w = W.shape[0]
            Qbuf[q:q + w] = W
            AQbuf[q:q + w] = AW
            # the Gram Q^T A Q grows by a border only: Q_old^T A W and W^T A W
            G[:q + w, q:q + w] = Qbuf[:q + w] @ AW.T
            G[q:q + w, :q] = G[:q, q:q + w].T
            q += w
        Q, AQ = Qbuf[:q], AQbuf[:q]
        Gq = G[:q, :q]
        theta, Y = np.linalg.eigh(0.5 * (Gq + Gq.T))
        order = np.argsort(theta)[::-1]
        theta, Y = theta[order], Y[:, order]
        top = min(q, max(b, k + 1))
        U = Y[:, :top].T @ Q
        AU = Y[:, :top].T @ AQ
        R = AU - theta[:top, None] * U
        res = np.linalg.norm(R, axis=1)
        floor = 50 * eps * max(theta[0], 0.0)  # the products' own rounding: ~eps ||A|| absolute for any solver
        gaps = np.full(top, np.inf)
        for i in range(top):
            for j in (i - 1, i + 1):
                if 0 <= j < top:
                    gaps[i] = min(gaps[i], abs(theta[i] - theta[j]) - res[j])
        if top < q:
            gaps[top - 1] = min(gaps[top - 1], theta[top - 1] - theta[top])
        gaps = np.maximum(gaps, res)
        bound = np.minimum(res, res**2 / np.maximum(gaps, 1e-300))
        need = tol * np.abs(theta[:top]) + floor
        ok = bound[:k] <= need[:k]
        if vector_tol is not None:
            ok &= res[:k] <= vector_tol * np.abs(theta[:k]) + floor
        if ok.all():
            return EigenResult(theta[:k], _signed(U[:k].T), res[:k], products)
        if products >= budget:
            worst = int(np.argmax(bound[:k] / need[:k]))
            raise EigenNotConverged(
                f"top-{k} eigenpairs not converged after {products} products: pair {worst + 1} has error bound "
                f"{bound[worst]:.2e} against {need[worst]:.2e} (tol {tol:g}); raise max_products or loosen tol")
        # next block: the residuals of the best b Ritz pairs not yet converged (those add nothing)
        pending = np.flatnonzero(np.concatenate([~ok, np.ones(top - k, bool)]))[:b]
        W = R[pending]
        if q + b > q_max:  # thick restart on the best Ritz vectors, their products kept
            keep = min(q, max(q_max - 2 * b, k + b))
            Qbuf[:keep] = Y[:, :keep].T @ Q
            AQbuf[:keep] = Y[:, :keep].T @ AQ
            G[:keep, :keep] = np.diag(theta[:keep])
            q = keep
