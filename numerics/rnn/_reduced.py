r"""The reduced map of a cell along a parameter line, to any order: y' = R(y, sigma).

On the line theta(s) = theta* + s v, a fixed point h_c of F(.; theta(s_c)) with a
real multiplier mu (the critical one: nearest +1 at a fold or pitchfork, the
saddle's unstable one in an imperfect pitchfork) carries, in the suspended map
(h, sigma) -> (F(h; theta(s_c + sigma)), sigma), a two-dimensional invariant
manifold tangent to the mode q and to the parameter direction.  With the
adjoint mode p (p^T A = mu p^T, <p, q> = 1) it is a graph over the coordinate
y = <p, h - h_c>:

.. math::

    h = h_c + H(y, \sigma),\quad H(y, \sigma) = \sum_{i + j \ge 1} H_{ij}\, y^i \sigma^j,
    \qquad \langle p, H_{ij}\rangle = [\,(i, j) = (1, 0)\,],

and the map restricted to it is the scalar map
:math:`y' = R(y, \sigma) = \sum r_{ij} y^i \sigma^j` (Haragus & Iooss 2011, ch. 2;
Kuznetsov 2004, sec. 5.1 for the parameter-dependent centre manifold; the
parameterisation method of Cabre, Fontich & de la Llave 2003).  The invariance
equation F(h_c + H(y, sigma); theta(s_c + sigma)) = h_c + H(R(y, sigma), sigma),
collected at y^i sigma^j of total degree n, reads

.. math::

    (A - \mu^i I)\, H_{ij} = r_{ij}\, q + E_{ij},

with E_ij built from the coefficients of degree < n (the degree-n Taylor
coefficient of F along the lower-order manifold, the composition of the
lower-order H and R, and the higher-i coefficients of the same degree through
R's linear part).  Projecting on p gives r_ij = -<p, E_ij>; H_ij then solves
the bordered system [[A - mu^i I, q], [p^T, 0]], nonsingular unless mu^i is
another multiplier (a resonance, reported).  Every coefficient follows from
the cell's one update rule: the degree-n Taylor coefficients of F along the
manifold come from univariate jets (``_jet``) along n + 1 directions of the
(y, sigma) plane, unmixed by a (well-conditioned) homogeneous interpolation.

At order 3 with sigma = 0 this reproduces the fold/pitchfork coefficients
a = r_20 and b = r_30 of ``critical_coefficients`` (tested); higher orders are
the "higher-order reduced map" of the cross-check (paper, sec. 2, fig. 1E, and
sec. 3: the normal form is its truncation).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from ._jet import Jet
from ._normal_form import _eigvecs
from normalforms._repr import short_repr


def _poly_mul(P: np.ndarray, Q: np.ndarray, K: int) -> np.ndarray:
    """Product of two bivariate series P[i, j] y^i s^j, truncated at total degree K."""
    out = np.zeros((K + 1, K + 1) + np.broadcast_shapes(P.shape[2:], Q.shape[2:]))
    for i, j in zip(*np.nonzero(np.any(P.reshape(P.shape[0], P.shape[1], -1) != 0, axis=2))):
        for k, m in zip(*np.nonzero(np.any(Q.reshape(Q.shape[0], Q.shape[1], -1) != 0, axis=2))):
            if i + j + k + m <= K:
                out[i + k, j + m] += P[i, j] * Q[k, m]
    return out


def _degree(n: int):
    """The (i, j) of total degree n, highest power of y first (the order the recursion solves them)."""
    return [(i, n - i) for i in range(n, -1, -1)]


@short_repr()
@dataclass(frozen=True)
class ReducedMap:
    r"""y' = R(y, sigma) = sum r[i, j] y^i sigma^j on the invariant manifold h = h_c + H(y, sigma).

    Attributes
    ----------
    r : ndarray, shape (K + 1, K + 1)
        Coefficients of R (zero beyond total degree K = ``order``); r[1, 0] = ``multiplier``.
    H : ndarray, shape (K + 1, K + 1, N)
        The manifold's coefficients; H[1, 0] = q and <p, H[i, j]> = 0 otherwise.
    centre, h_centre
        s_c (sigma = s - s_c) and the fixed point h_c there.
    p, q
        Adjoint and critical modes at h_c (<p, q> = 1, ||q|| = 1).
    """

    r: np.ndarray
    H: np.ndarray
    order: int
    centre: float
    h_centre: np.ndarray
    multiplier: float
    p: np.ndarray
    q: np.ndarray

    def truncate(self, order: int) -> "ReducedMap":
        """The same map to total degree ``order`` (<= self.order)."""
        if not (isinstance(order, (int, np.integer)) and 1 <= order <= self.order):
            raise ValueError(f"order must be an integer in [1, {self.order}], got {order!r}")
        keep = np.add.outer(np.arange(self.order + 1), np.arange(self.order + 1)) <= order
        r = np.where(keep, self.r, 0.0)[:order + 1, :order + 1]
        H = np.where(keep[..., None], self.H, 0.0)[:order + 1, :order + 1]
        return ReducedMap(r, H, int(order), self.centre, self.h_centre, self.multiplier, self.p, self.q)

    def radius(self, variable: str) -> float:
        r"""Estimated radius of convergence of R in ``"y"`` (at sigma = 0) or ``"sigma"`` (at y = 0).

        A straight-line fit of log|c_n| against n over the upper half of the orders
        (|c_n| ~ C rho^-n for a series with radius rho; Domb & Sykes 1957 for the
        ratio idea); ``inf`` if those coefficients vanish.  An estimate from finitely many
        terms: use order >= 7 for a meaningful number.
        """
        if variable not in ("y", "sigma"):
            raise ValueError(f"variable must be 'y' or 'sigma', got {variable!r}")
        c = np.abs(self.r[:, 0] if variable == "y" else self.r[0, :])
        start = 2 if variable == "y" else 1  # R's linear y-term is the multiplier, not a series term
        n = np.arange(max(start, (self.order + 1) // 2), self.order + 1)
        n = n[c[n] > 1e-12 * c.max()]  # a symmetry's vanishing terms (zero up to rounding) carry no rate
        if n.size < 2:
            return float("inf")
        slope = np.polyfit(n, np.log(c[n]), 1)[0]
        return float(np.exp(-slope))

    def __call__(self, y, sigma) -> np.ndarray:
        """R(y, sigma) (broadcast)."""
        y, sigma = np.asarray(y, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
        return sum(self.r[i, j] * y**i * sigma**j for i, j in zip(*np.nonzero(self.r)))

    def state(self, y, sigma) -> np.ndarray:
        """The manifold's point h_c + H(y, sigma), shape (..., N)."""
        y, sigma = np.asarray(y, dtype=np.float64)[..., None], np.asarray(sigma, dtype=np.float64)[..., None]
        out = np.broadcast_to(self.h_centre, np.broadcast_shapes(y.shape, sigma.shape)[:-1] + self.h_centre.shape)
        out = out.copy()
        for i, j in zip(*np.nonzero(np.any(self.H != 0, axis=2))):
            out += self.H[i, j] * y**i * sigma**j
        return out

    def reduce(self, h: np.ndarray) -> np.ndarray:
        """y = <p, h - h_c> for states h (..., N)."""
        return (np.asarray(h, dtype=np.float64) - self.h_centre) @ self.p

    def expression(self) -> tuple[str, dict]:
        """R as an expression in ``y`` and the parameter ``e`` (= sigma) with its coefficients as constants.

        The string is generated here from integer exponents and constant names only; the
        values travel in the constants mapping, never as text.
        """
        terms, constants = [], {}
        for i, j in sorted(zip(*np.nonzero(self.r))):
            name = f"r{i}_{j}"
            constants[name] = float(self.r[i, j])
            terms.append("*".join([name] + (["y" if i == 1 else f"y**{i}"] if i else [])
                                  + (["e" if j == 1 else f"e**{j}"] if j else [])))
        return " + ".join(terms), constants


def reduced_map(net, v: np.ndarray, centre: float, h_centre: np.ndarray, order: int = 5, params=None, *,
                near: float = 1.0, scales: tuple[float, float] = (1.0, 1.0), x=None) -> ReducedMap:
    r"""The reduced map R(y, sigma) of ``net`` along theta* + s v at the fixed point h_c of s = ``centre``.

    Parameters
    ----------
    net
        The paper's RNN or any cell of the protocol (autonomous at the constant input ``x``).
    v : ndarray
        The parameter direction (scoped by ``params`` as in :func:`along`).
    centre : float
        s_c; sigma = s - s_c.
    h_centre : ndarray, shape (N,)
        A fixed point at s_c (to 1e-6; refined by Newton here).
    order : int
        Total degree K of the expansion in (y, sigma), 1 <= K <= 15.
    near : float
        The critical multiplier is the real one nearest this value (1 for a fold or a
        pitchfork; the saddle's unstable multiplier for an imperfect pitchfork).
    scales : (float, float)
        Typical sizes of y and sigma: the jets are taken along directions of that
        aspect ratio, so the degree-n coefficients are unmixed from comparable terms.

    Raises
    ------
    ValueError
        On a bad argument, a complex critical multiplier, or a resonance (mu^i equal
        to another multiplier to 1e-8: the manifold has no Taylor expansion at that order).

    See the module docstring for the equations; paper, sec. 3 (the normal form as the
    truncated reduced map) and fig. 1E.
    """
    from ._crosscheck import along
    from ._fixed_points import _newton

    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order <= 15:
        raise ValueError(f"order must be an integer in [1, 15], got {order!r}")
    Y, S = (float(e) for e in scales)
    if not (np.isfinite(Y) and np.isfinite(S) and Y > 0 and S > 0):
        raise ValueError(f"scales must be two positive finite numbers (sizes of y and sigma), got {scales!r}")
    K = int(order)
    cell = along(net, v, float(centre), params)
    h_given = np.asarray(h_centre, dtype=np.float64)
    off = float(np.linalg.norm(cell.map1(h_given, x) - h_given))
    h_c, res = _newton(cell, h_given, 60, 1e-13, x)
    if off > 1e-6 * max(1.0, float(np.linalg.norm(h_given))) or res > 1e-9:
        raise ValueError(f"h_centre is not near a fixed point at s = {centre:g} (|F(h) - h| = {off:.2e}); pass a "
                         "fixed point of the cell at that s, e.g. from find_fixed_points or cusp_window")
    p0 = cell.params()
    one = along(net, v, float(centre) + 1.0, params).params()
    dp = {k: one[k] - p0[k] for k in p0}
    A = cell.jacobian_h(h_c, x)
    mu, q, p = _eigvecs(A, float(near))
    mu = float(mu.real)
    N = h_c.size
    others = np.delete(np.linalg.eigvals(A), np.argmin(np.abs(np.linalg.eigvals(A) - mu)))
    xin = cell._x1(x)

    H = np.zeros((K + 1, K + 1, N))
    r = np.zeros((K + 1, K + 1))
    if K >= 1:
        H[1, 0], r[1, 0] = q, mu

    def taylor(n: int) -> dict:
        """Degree-n coefficients of F(h_c + H(y, sigma); theta(s_c + sigma)) (H of degree < n)."""
        phis = np.pi * (np.arange(n + 1) + 0.5) / (n + 1)
        cs, ds = Y * np.cos(phis), S * np.sin(phis)
        rows = []
        for c, d in zip(cs, ds):
            hj = [h_c[None]] + [sum((H[i, m - i] * c**i * d**(m - i) for i in range(m + 1)), np.zeros(N))[None]
                                for m in range(1, n)] + [0.0]
            pj = {k: Jet([p0[k], d * dp[k]] + [0.0] * (n - 1)) for k in p0}
            rows.append(np.broadcast_to(cell._update(Jet(hj), xin, pj).c[n], (1, N))[0])
        # F_n(c, d) = sum_i L[i, n - i] c^i d^(n - i): unmix in the scaled basis (cos^i sin^(n-i))
        basis = np.array([[np.cos(f) ** i * np.sin(f) ** (n - i) for i in range(n + 1)] for f in phis])
        scaled = np.linalg.solve(basis, np.array(rows))
        return {(i, n - i): scaled[i] / (Y**i * S**(n - i)) for i in range(n + 1)}

    def bordered(m: float) -> np.ndarray:
        return np.block([[A - m * np.eye(N), q[:, None]], [p[None, :], np.zeros((1, 1))]])

    for n in range(1, K + 1):
        L = taylor(n)
        # composition H_<n(R_<n(y, s), s) at degree n: R's powers, each H_kl times R^k s^l
        if n >= 2:
            Rpow = [np.zeros((K + 1, K + 1)) for _ in range(n + 1)]
            Rpow[0][0, 0] = 1.0
            for k in range(1, n + 1):
                Rpow[k] = _poly_mul(Rpow[k - 1], r, n)
        for i, j in _degree(n):
            if (i, j) == (1, 0):
                continue
            if n == 1:
                E = -L[(i, j)]  # (0, 1): (A - I) H_01 = r_01 q - dF/dsigma
            else:
                E = -L[(i, j)].copy()
                for (k, l) in zip(*np.nonzero(np.any(H != 0, axis=2))):
                    if k + l < n and j - l >= 0:
                        E += H[k, l] * Rpow[k][i, j - l]
                for k in range(i + 1, n + 1):
                    E += comb(k, i) * mu**i * r[0, 1] ** (k - i) * H[k, n - k]
            m = mu**i
            if np.min(np.abs(others - m)) < 1e-8 * max(1.0, abs(m)):
                raise ValueError(f"resonance at y^{i} s^{j}: mu^{i} = {m:.6g} is another multiplier; the manifold "
                                 f"has no Taylor expansion to order {n}; lower the order")
            r[i, j] = -(p @ E)
            rhs = np.concatenate([E + r[i, j] * q, [0.0]])
            H[i, j] = np.linalg.solve(bordered(m), rhs)[:N]
    return ReducedMap(r, H, K, float(centre), h_c, mu, p, q)
