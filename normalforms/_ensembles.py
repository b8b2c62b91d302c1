"""Initial-condition ensembles described by their moments.

The sNTK norm of a nonlinear form, expanded in the initial amplitude, is a
linear combination of the ensemble moments M_n = E[h0^n] (paper, fig. 2:
h0 uniform on [-0.05, 0.05] and [-0.1, 0.1]).  An ensemble here is anything
with ``moment(n)`` and ``size`` (the batch size B, or None for an expectation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ._form import _to_exact
from ._parse import as_expression

__all__ = ["UniformEnsemble", "GaussianEnsemble", "PointEnsemble", "SymbolicMoments"]


def _finite_positive(value: Any, what: str) -> sp.Expr:
    v = _to_exact(as_expression(value, free_symbols=True, what=what)) if not isinstance(value, sp.Symbol) else value
    if isinstance(v, sp.Symbol):
        return sp.Symbol(v.name, positive=True)
    if v.free_symbols or not v.is_finite or not (v.is_positive is True):
        raise ValueError(f"{what} must be a finite positive number (e.g. 0.05); got {value!r}")
    return v


@dataclass(frozen=True)
class UniformEnsemble:
    """h0 uniform on [-a, a]: M_n = a^n / (n + 1) for even n, 0 for odd n.

    Examples
    --------
    >>> UniformEnsemble("1/10").moment(2)
    1/300
    """

    a: Any

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", _finite_positive(self.a, "the half-width a"))

    size = None

    def moment(self, n: int) -> sp.Expr:
        return sp.S.Zero if n % 2 else self.a**n / (n + 1)


@dataclass(frozen=True)
class GaussianEnsemble:
    """h0 ~ N(0, sigma^2): M_n = sigma^n (n - 1)!! for even n, 0 for odd n."""

    sigma: Any

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _finite_positive(self.sigma, "sigma"))

    size = None

    def moment(self, n: int) -> sp.Expr:
        return sp.S.Zero if n % 2 else self.sigma**n * sp.factorial2(n - 1)


@dataclass(frozen=True)
class PointEnsemble:
    """An explicit batch of initial conditions; moments are the empirical ones
    and the sNTK norm is summed over the batch (B = number of points)."""

    values: Sequence[Any]

    def __post_init__(self) -> None:
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Sequence):
            raise TypeError(f"PointEnsemble takes a sequence of numbers, e.g. [0.1, -0.05]; got {self.values!r}")
        vals = tuple(_to_exact(as_expression(v, what="initial condition")) for v in self.values)
        if not vals:
            raise ValueError("PointEnsemble needs at least one initial condition")
        for v in vals:
            if v.free_symbols or not v.is_finite or v.is_real is not True:
                raise ValueError(f"initial condition {v} is not a finite real number")
        object.__setattr__(self, "values", vals)

    @property
    def size(self) -> int:
        return len(self.values)

    def moment(self, n: int) -> sp.Expr:
        return sum(v**n for v in self.values) / len(self.values)


@dataclass(frozen=True)
class SymbolicMoments:
    """Unspecified ensemble: M_n is the symbol ``M_n``."""

    size = None

    def moment(self, n: int) -> sp.Expr:
        return sp.Symbol(f"M_{n}", real=True)
