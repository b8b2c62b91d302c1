"""Shared references for the tests.

Everything here is independent of the code under test: maps are written by
hand as Python functions, and the exact references use ``fractions.Fraction``
with forward-mode dual numbers (for D_g) and truncated power series in h0
(for the small-amplitude coefficients).  No sympy is involved.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "nfsntk",
    deadline=None,  # sympy's first calls (and later numba's JIT) are slow
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("nfsntk")


@pytest.fixture(scope="session")
def checks_out(tmp_path_factory):
    """One output folder for the reduced paper checks and the notebooks: the reduced training
    records are made once and read by both (the checks retrain a record whose config differs)."""
    return tmp_path_factory.mktemp("checks")


class Dual:
    """a + b*eps with eps**2 = 0; b carries d/dg."""

    __slots__ = ("a", "b")

    def __init__(self, a, b=0):
        self.a, self.b = a, b

    @staticmethod
    def lift(x):
        return x if isinstance(x, Dual) else Dual(x, 0)

    def __add__(self, o):
        if isinstance(o, Jet):
            return NotImplemented
        o = Dual.lift(o)
        return Dual(self.a + o.a, self.b + o.b)

    __radd__ = __add__

    def __neg__(self):
        return Dual(-self.a, -self.b)

    def __sub__(self, o):
        if isinstance(o, Jet):
            return NotImplemented
        return self + (-Dual.lift(o))

    def __rsub__(self, o):
        return Dual.lift(o) - self

    def __mul__(self, o):
        if isinstance(o, Jet):
            return NotImplemented
        o = Dual.lift(o)
        return Dual(self.a * o.a, self.a * o.b + self.b * o.a)

    __rmul__ = __mul__

    def __pow__(self, n: int):
        out = Dual(1, 0)
        for _ in range(n):
            out = out * self
        return out


class Jet:
    """Polynomial in h0 truncated above degree N; coefficients may be Duals."""

    def __init__(self, coeffs, N):
        self.N = N
        self.c = (list(coeffs) + [0] * (N + 1))[: N + 1]

    @staticmethod
    def lift(x, N):
        return x if isinstance(x, Jet) else Jet([x], N)

    def __add__(self, o):
        o = Jet.lift(o, self.N)
        return Jet([x + y for x, y in zip(self.c, o.c)], self.N)

    __radd__ = __add__

    def __neg__(self):
        return Jet([-x for x in self.c], self.N)

    def __sub__(self, o):
        return self + (-Jet.lift(o, self.N))

    def __rsub__(self, o):
        return Jet.lift(o, self.N) - self

    def __mul__(self, o):
        if not isinstance(o, Jet):
            return Jet([x * o for x in self.c], self.N)
        out = [0] * (self.N + 1)
        for i, x in enumerate(self.c):
            for j, y in enumerate(o.c[: self.N + 1 - i]):
                out[i + j] = out[i + j] + x * y
        return Jet(out, self.N)

    __rmul__ = __mul__

    def __pow__(self, n: int):
        out = Jet([1], self.N)
        for _ in range(n):
            out = out * self
        return out


# Catalogue maps written out by hand (Python arithmetic only).
REFERENCE_MAPS = {
    "stability_flip": lambda h, g: g * h,
    "pitchfork": lambda h, g: g * h - h**3,
    "saddle_node": lambda h, g: h + (g - 1) - h**2,
    "period_doubling": lambda h, g: -g * h + h**3,
    "transcritical": lambda h, g: g * h - h**2,
    "imperfect_pitchfork": lambda h, g: g * h - h**3 + Fraction(1, 100),
}

SERIES_FORMS = ["stability_flip", "pitchfork", "period_doubling", "transcritical"]


def iterate_exact(fn, h0, g, T):
    """Exact (h_t, D_g h_t) for t = 0..T with Fractions and dual numbers."""
    h = Dual(Fraction(h0), 0)
    gd = Dual(Fraction(g), 1)
    out = [(h.a, h.b)]
    for _ in range(T):
        h = fn(h, gd)
        out.append((h.a, h.b))
    return out


def iterate_jet(fn, g, T, N):
    """Coefficients of h0^k (k <= N) of h_t and D_g h_t, exactly, t = 0..T."""
    gd = Dual(Fraction(g), 1)
    h = Jet([Dual(0, 0), Dual(1, 0)], N)
    out = [h]
    for _ in range(T):
        h = fn(h, gd)
        out.append(h)
    return [([Dual.lift(c).a for c in j.c], [Dual.lift(c).b for c in j.c]) for j in out]


def _sigint_default() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture()
def sigint_default():
    """``preexec_fn`` for a child that must see Ctrl-C as at a terminal, whatever the test runner inherited (a
    shell's background job starts with SIGINT ignored, and Python then installs no KeyboardInterrupt)."""
    return _sigint_default
