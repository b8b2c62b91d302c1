"""Hypothesis strategies for the toolkit's objects, in the manner of ``hypothesis.extra.numpy``.

Use them in your own test suite, or pass them to :func:`normalforms.verify_law`::

    from hypothesis import given
    from normalforms import strategies as nfs

    @given(nfs.parameters("abs(g) < 1"))
    def test_my_law(g): ...

Every strategy draws exact values (sympy Rationals) unless ``exact=False``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from hypothesis import strategies as st

from ._catalog import catalog
from ._ensembles import GaussianEnsemble, PointEnsemble, UniformEnsemble
from ._form import NormalForm
from ._kinds import Kind
from ._laws import regime_set

__all__ = ["parameters", "catalogue_forms", "polynomial_maps", "ensembles", "horizons"]


def parameters(regime: Any, param: str = "g", *, exact: bool = True, margin: float = 1e-3, bound: float = 10.0,
               max_denominator: int = 10_000) -> st.SearchStrategy:
    """Parameter values inside a regime ('abs(g) < 1', 'g = 1', '1 < g < 2', (lo, hi) or a sympy Set).

    Values stay ``margin`` inside the regime's open ends (laws change at the edges, and a value
    too close to one needs horizons beyond any practical T); unbounded ends are cut at +-``bound``.
    ``exact``: Rationals with denominators up to ``max_denominator``; else floats.
    """
    region = regime_set(regime, sp.Symbol(param, real=True))
    if isinstance(region, sp.FiniteSet):
        return st.sampled_from(sorted(region, key=float) if exact else [float(v) for v in region])
    pieces = list(region.args) if isinstance(region, sp.Union) else [region]
    options = []
    for piece in pieces:
        if not isinstance(piece, sp.Interval):
            raise ValueError(f"cannot draw from the regime piece {piece}")
        lo = float(max(piece.start, -bound)) + (margin if piece.left_open or piece.start == -sp.oo else 0.0)
        hi = float(min(piece.end, bound)) - (margin if piece.right_open or piece.end == sp.oo else 0.0)
        if lo > hi:
            continue
        if exact:
            options.append(st.fractions(min_value=_frac(lo, max_denominator, up=True),
                                        max_value=_frac(hi, max_denominator, up=False),
                                        max_denominator=max_denominator).map(lambda f: sp.Rational(f.numerator,
                                                                                                   f.denominator)))
        else:
            options.append(st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False))
    if not options:
        raise ValueError(f"the regime {regime!r} leaves nothing inside a margin of {margin}")
    return st.one_of(*options)


def _frac(x: float, max_denominator: int, up: bool):
    from fractions import Fraction

    f = Fraction(x).limit_denominator(max_denominator)
    step = Fraction(1, max_denominator)
    if up and f < x:
        f += step
    if not up and f > x:
        f -= step
    return f


def catalogue_forms() -> st.SearchStrategy:
    """One of the catalogue's forms (stability flip, pitchfork, saddle node, ...)."""
    forms = catalog()
    return st.sampled_from(sorted(forms)).map(lambda name: forms[name])


def polynomial_maps(kind: Any = Kind.PITCHFORK, g_star: Any = 1, max_degree: int = 5) -> st.SearchStrategy:
    """Scalar polynomial maps with a bifurcation of ``kind`` at g = g_star at the origin.

    * fold: h' = h + (g - g*) + a h^2 + ... (a != 0);
    * transcritical: h' = (1 + g - g*) h + a h^2 + ... (a != 0);
    * pitchfork: h' = (1 + g - g*) h + b h^3 + odd terms (b != 0);
    * flip: h' = -(1 + g - g*) h + c2 h^2 + c3 h^3 + ... (generic c).

    Coefficients are small nonzero rationals; the map's exact bifurcation is at (0, g*).
    """
    kind = Kind(kind)
    gs = sp.nsimplify(g_star)
    h, g = sp.symbols("h g", real=True)
    nonzero = st.fractions(min_value=-3, max_value=3, max_denominator=5).filter(lambda f: f != 0)
    coef = st.fractions(min_value=-3, max_value=3, max_denominator=5)
    degrees = range(2, max_degree + 1)

    def build(lead, rest):
        r = lambda f: sp.Rational(f.numerator, f.denominator)  # noqa: E731
        if kind is Kind.FOLD:
            expr = h + (g - gs) + r(lead) * h**2 + sum(r(c) * h**d for c, d in zip(rest, degrees[1:]))
        elif kind is Kind.TRANSCRITICAL:
            expr = (1 + g - gs) * h + r(lead) * h**2 + sum(r(c) * h**d for c, d in zip(rest, degrees[1:]))
        elif kind is Kind.PITCHFORK:
            expr = (1 + g - gs) * h + r(lead) * h**3 + sum(r(c) * h**d for c, d in zip(rest, range(5, max_degree + 1, 2)))
        elif kind is Kind.FLIP:
            expr = -(1 + g - gs) * h + r(lead) * h**2 + sum(r(c) * h**d for c, d in zip(rest, degrees[1:]))
        else:
            raise ValueError(f"kind must be fold, transcritical, pitchfork or flip, got {kind}")
        return NormalForm(expr, g_star=gs, name=f"random {kind}")

    return st.builds(build, nonzero, st.lists(coef, max_size=max(0, max_degree - 2)))


def ensembles() -> st.SearchStrategy:
    """Uniform or Gaussian ensembles of small exact width, or a few exact points."""
    width = st.fractions(min_value=sp.Rational(1, 100), max_value=sp.Rational(1, 5), max_denominator=100)
    point = st.fractions(min_value=-sp.Rational(1, 5), max_value=sp.Rational(1, 5), max_denominator=100)
    return st.one_of(width.map(UniformEnsemble), width.map(GaussianEnsemble),
                     st.lists(point.filter(lambda f: f != 0), min_size=1, max_size=4).map(PointEnsemble))


def horizons(min_T: int = 1, max_T: int = 200) -> st.SearchStrategy:
    """Integer horizons T."""
    return st.integers(min_value=min_T, max_value=max_T)
