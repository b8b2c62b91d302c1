"""Catalogue of codimension-one forms, all parametrised so that g* = 1
(paper, fig. 2).  Each docstring states the parametrisation, where new
branches exist and which initial conditions escape to infinity.
"""

from __future__ import annotations

import inspect
from typing import Any

import sympy as sp

from ._form import NormalForm, _to_exact
from ._parse import as_real_number

__all__ = [
    "stability_flip",
    "pitchfork",
    "saddle_node",
    "period_doubling",
    "transcritical",
    "neimark_sacker",
    "imperfect_pitchfork",
    "catalog",
]


def stability_flip() -> NormalForm:
    r"""Linear stability flip :math:`h_{t+1} = g h_t` (paper, sec. 3).

    The origin is the only fixed point for g != 1 (at g = 1 every point is
    fixed); its multiplier g crosses +1 at g* = 1.  No new branch appears.
    Escape: for |g| > 1 every h0 != 0 grows geometrically without bound
    (no finite-time escape); for |g| < 1 everything decays.  Being linear,
    its sNTK norm is known exactly: h0^2 sum_{t=1}^T t^2 g^(2t-2).
    """
    desc = inspect.cleandoc(stability_flip.__doc__).split("\n\n", 1)[1]
    return NormalForm("g*h", name="stability flip", g_star=1, description=desc)


def pitchfork() -> NormalForm:
    r"""Supercritical pitchfork :math:`h_{t+1} = g h_t - h_t^3` (paper, sec. 3).

    The origin has multiplier g.  For g > 1 the branches h* = +-sqrt(g - 1)
    exist, with multiplier 3 - 2g, stable for 1 < g < 2 (they flip at g = 2).
    Escape: the 2-cycle +-sqrt(1 + g) bounds the basin; any |h0| > sqrt(1 + g)
    has |h_{t+1}| > |h_t| and escapes to infinity.  Odd map: h0 -> -h0
    leaves the sNTK norm unchanged.
    """
    desc = inspect.cleandoc(pitchfork.__doc__).split("\n\n", 1)[1]
    return NormalForm("g*h - h**3", name="pitchfork", g_star=1, description=desc)


def saddle_node() -> NormalForm:
    r"""Saddle node (fold) :math:`h_{t+1} = h_t + (g - 1) - h_t^2`.

    For g > 1 two fixed points h* = +-sqrt(g - 1) exist: +sqrt(g - 1) has
    multiplier 1 - 2 sqrt(g - 1) (stable for 1 < g < 2), -sqrt(g - 1) is
    unstable; they collide at g* = 1 and vanish for g < 1.  The fold
    coefficient is a = f_hh / 2 = -1.
    Escape: for g < 1 every orbit eventually runs to -infinity (slowly,
    through the bottleneck, when g is close to 1); for g >= 1 initial
    conditions with h0 < -sqrt(g - 1) or h0 > 1 + sqrt(g - 1) escape.
    The origin is not fixed, so the small-amplitude series does not apply.
    """
    desc = inspect.cleandoc(saddle_node.__doc__).split("\n\n", 1)[1]
    return NormalForm("h + (g - 1) - h**2", name="saddle node", g_star=1, description=desc)


def period_doubling() -> NormalForm:
    r"""Supercritical period doubling (flip) :math:`h_{t+1} = -g h_t + h_t^3`.

    The origin has multiplier -g, crossing -1 at g* = 1.  For g > 1 the
    2-cycle +-sqrt(g - 1) exists, with cycle multiplier (2g - 3)^2, stable
    for 1 < g < 2; Kuznetsov's flip coefficient is c = +1 > 0
    (supercritical).  Through k_t = (-1)^t h_t the map is conjugate to the
    pitchfork, so the two sNTK norms coincide for the same ensemble.
    Escape: the fixed points +-sqrt(1 + g) bound the basin; |h0| > sqrt(1 + g)
    escapes to infinity.
    """
    desc = inspect.cleandoc(period_doubling.__doc__).split("\n\n", 1)[1]
    return NormalForm("-g*h + h**3", name="period doubling", g_star=1, description=desc)


def transcritical() -> NormalForm:
    r"""Transcritical :math:`h_{t+1} = g h_t - h_t^2`.

    Fixed points 0 (multiplier g) and g - 1 (multiplier 2 - g) cross at
    g* = 1 and exchange stability; g - 1 is stable for 1 < g < 3.
    Escape: for 1 < g < 3 the basin of g - 1 is (0, g); h0 < 0 or h0 > g
    run to -infinity.  For 0 < g < 1 the basin of 0 is (g - 1, 1).  With
    ICs symmetric about 0 some always escape for g > 1.
    """
    desc = inspect.cleandoc(transcritical.__doc__).split("\n\n", 1)[1]
    return NormalForm("g*h - h**2", name="transcritical", g_star=1, description=desc)


def neimark_sacker(cos_angle: Any = sp.Rational(3, 5), sin_angle: Any = sp.Rational(4, 5)) -> NormalForm:
    r"""Supercritical Neimark-Sacker map :math:`z' = e^{i w} z (g - |z|^2)`, z = x + i y.

    In real coordinates (x', y') = (g - x^2 - y^2) R(w) (x, y).  The origin
    has multipliers g e^{+-iw}, crossing the unit circle at g* = 1.  The
    default rotation cos w = 3/5, sin w = 4/5 is exact and free of strong
    resonances (3 + 4i over 5 is not a root of unity).  For g > 1 the
    invariant circle |z| = sqrt(g - 1) attracts (the radius obeys the
    pitchfork r' = r (g - r^2)); Kuznetsov's coefficient is d = -2 < 0 with
    |q| = 1 (supercritical).  Escape: |z0| > sqrt(1 + g).
    """
    c = _to_exact(as_real_number(cos_angle, "cos_angle"))
    s = _to_exact(as_real_number(sin_angle, "sin_angle"))
    if sp.simplify(c**2 + s**2 - 1) != 0:
        raise ValueError(f"cos_angle**2 + sin_angle**2 must equal 1; got {c}, {s}")
    if s == 0:
        raise ValueError("sin_angle = 0 gives real multipliers (a pitchfork or flip), not a Neimark-Sacker pair")
    desc = inspect.cleandoc(neimark_sacker.__doc__).split("\n\n", 1)[1]
    x, y, g = sp.symbols("x y g", real=True)
    r2 = g - x**2 - y**2
    return NormalForm(
        [r2 * (c * x - s * y), r2 * (s * x + c * y)],
        state=("x", "y"),
        name="Neimark-Sacker",
        g_star=1,
        description=desc,
    )


def imperfect_pitchfork(eps: Any = sp.Rational(1, 100)) -> NormalForm:
    r"""Imperfect pitchfork :math:`h_{t+1} = g h_t - h_t^3 + \varepsilon`.

    The unfolding a trained RNN without exact odd symmetry meets.  Fixed
    points solve h^3 - (g - 1) h - eps = 0: one branch (of the sign of eps)
    persists smoothly through g = 1, and a pair appears in a fold at
    g_fold = 1 + 3 (|eps| / 2)^(2/3).  With eps = 0 this is the pitchfork.
    The organising centre is g* = 1.  Escape: as for the pitchfork, roughly
    |h0| > sqrt(1 + g).
    """
    e = _to_exact(as_real_number(eps, "eps"))
    desc = inspect.cleandoc(imperfect_pitchfork.__doc__).split("\n\n", 1)[1]
    # eps a declared constant: one compiled kernel serves every eps, and sweep_grid can vary it
    return NormalForm("g*h - h**3 + eps", constants={"eps": e},
                      name=f"imperfect pitchfork (eps={e})", g_star=1, description=desc)


def catalog() -> dict[str, NormalForm]:
    """All catalogue forms by short name (the cusp: codimension two, parameter b1 at b2 = 0)."""
    from ._unfolding import cusp

    return {
        "stability_flip": stability_flip(),
        "pitchfork": pitchfork(),
        "saddle_node": saddle_node(),
        "period_doubling": period_doubling(),
        "transcritical": transcritical(),
        "neimark_sacker": neimark_sacker(),
        "imperfect_pitchfork": imperfect_pitchfork(),
        "cusp": cusp(),
    }
