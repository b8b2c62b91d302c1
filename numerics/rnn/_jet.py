r"""Truncated Taylor arithmetic: the derivatives a cell protocol needs, from the cell's one update rule.

A :class:`Jet` is the truncated series x(s) = x_0 + x_1 s + ... + x_K s^K of an
array-valued function of one scalar s.  Evaluating a cell's update
F(h, x; theta) with h = h_0 + s u (and/or theta = theta_0 + s dtheta) as jets
gives its Taylor coefficients along that line exactly (to rounding):

* order 1: the JVP F_1 = DF[u] (in h and in theta at once);
* order 3 along u: F_2 = D^2F[u, u] / 2 and F_3 = D^3F[u, u, u] / 6, the jet that the
  critical normal-form coefficients need (Kuznetsov 2004, sec. 5.4), mixed second
  derivatives by polarisation, D^2F[u, v] = (D^2F[u+v, u+v] - D^2F[u-v, u-v]) / 4.

So a cell is written once, with ``+ - * @``, :func:`tanh` and :func:`sigmoid`, and the
protocol derives every forward-mode derivative from it (Griewank & Walther 2008, ch. 13:
the recurrences below).  The order-1 coefficient may carry leading direction axes
(x_1 of shape (m, ...)), which evaluates m JVPs in one pass.

Nonlinearities through their ODEs: y = tanh(a) has y' = (1 - y^2) a', y = sigmoid(a) has
y' = (y - y^2) a'; with w the series of the factor,

.. math:: y_k = \frac{1}{k} \sum_{j=1}^{k} j\, a_j\, w_{k-j}.
"""

from __future__ import annotations

import numpy as np


class Jet:
    """Coefficients ``c[0..K]`` of a truncated Taylor series (arrays, broadcast against each other)."""

    __array_ufunc__ = None  # so that ndarray (op) Jet defers to the Jet's reflected operator
    __slots__ = ("c",)

    def __init__(self, coefficients) -> None:
        self.c = list(coefficients)

    @property
    def order(self) -> int:
        return len(self.c) - 1

    def __getitem__(self, index) -> "Jet":
        return Jet([a if _zero(a) else a[index] for a in self.c])

    @property
    def T(self) -> "Jet":
        return Jet([a if _zero(a) else _swap(a) for a in self.c])

    def _coerce(self, other) -> "Jet":
        if isinstance(other, Jet):
            return other
        return Jet([np.asarray(other)] + [0.0] * self.order)

    def __add__(self, other) -> "Jet":
        o = self._coerce(other)
        return Jet([a + b for a, b in zip(self.c, _pad(o.c, self.order))])

    __radd__ = __add__

    def __neg__(self) -> "Jet":
        return Jet([-a for a in self.c])

    def __sub__(self, other) -> "Jet":
        return self + (-self._coerce(other))

    def __rsub__(self, other) -> "Jet":
        return self._coerce(other) + (-self)

    def _product(self, other, op) -> "Jet":
        if not isinstance(other, Jet):
            return Jet([_op(op, a, other) for a in self.c])
        return Jet(_cauchy(self.c, _pad(other.c, self.order), op))

    def __mul__(self, other) -> "Jet":
        return self._product(other, np.multiply)

    def __rmul__(self, other) -> "Jet":
        return Jet([_op(np.multiply, other, a) for a in self.c])

    def __matmul__(self, other) -> "Jet":
        return self._product(other, np.matmul)

    def __rmatmul__(self, other) -> "Jet":
        return Jet([_op(np.matmul, other, a) for a in self.c])


def _swap(a):
    a = np.asarray(a)
    return a if a.ndim < 2 else np.swapaxes(a, -1, -2)


def _pad(c: list, order: int) -> list:
    return list(c) + [0.0] * (order + 1 - len(c))


def _zero(x) -> bool:
    # absent coefficients are the scalar 0.0: skipped, so a matmul never meets a scalar
    return isinstance(x, float) and x == 0.0


def _op(op, x, y):
    return 0.0 if _zero(x) or _zero(y) else op(x, y)


def _cauchy(a: list, b: list, op) -> list:
    out = []
    for k in range(len(a)):
        term = 0.0
        for i in range(k + 1):
            part = _op(op, a[i], b[k - i])
            term = part if _zero(term) else (term if _zero(part) else term + part)
        out.append(term)
    return out


def _through(a: Jet, y0: np.ndarray, factor) -> Jet:
    """y with y_0 = y0 and y' = factor(y) a' (factor a polynomial in y, evaluated on jets)."""
    K = a.order
    y = [y0] + [0.0] * K
    for k in range(1, K + 1):
        w = factor(Jet(y[:k] + [0.0] * (K + 1 - k))).c  # w_0..w_{k-1} depend on y_0..y_{k-1} only
        terms = [_op(np.multiply, _op(np.multiply, float(j), a.c[j]), w[k - j]) for j in range(1, k + 1)]
        terms = [t for t in terms if not _zero(t)]
        y[k] = sum(terms[1:], terms[0]) / k if terms else 0.0
    return Jet(y)


def tanh(a):
    """tanh of an array or a jet."""
    if not isinstance(a, Jet):
        return np.tanh(a)
    return _through(a, np.tanh(a.c[0]), lambda y: 1.0 - y * y)


def sigmoid(a):
    """The logistic sigmoid 1 / (1 + e^-a) of an array or a jet (overflow-free for any a)."""
    if not isinstance(a, Jet):
        return _sigmoid(a)
    return _through(a, _sigmoid(a.c[0]), lambda y: y - y * y)


def _sigmoid(a):
    a = np.asarray(a, dtype=np.float64)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def coefficient(value, k: int):
    """The k-th coefficient of a jet (0 for a constant array and k > 0)."""
    if isinstance(value, Jet):
        return value.c[k] if k <= value.order else 0.0
    return value if k == 0 else 0.0
