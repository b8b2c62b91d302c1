"""Amplification curves and the paper's figure 2.

matplotlib is imported inside the functions: ``import numerics`` stays fast
for sweeps in fresh processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import normalforms as nf

from ._inputs import as_generator, check_T
from ._sweep import SweepResult, sweep
from normalforms._repr import short_repr

FIGURE2_FORMS = ("stability_flip", "pitchfork", "saddle_node", "period_doubling")
FIGURE2_RANGES = (0.05, 0.1)
FIGURE2_T = 30


def plot_amplification(results: SweepResult | Sequence[SweepResult], ax: Any = None, *,
                       labels: Sequence[str] | None = None, title: str | None = None,
                       per_sample: bool = True):
    """Plot ||sNTK_g|| against g on a log axis, one curve per result.

    Parameters
    ----------
    results : SweepResult or sequence of them
        Typically one per initial-condition range, same form.
    ax : matplotlib Axes, optional
        Drawn into if given, else a new Figure is made.
    labels : sequence of str, optional
        Legend entries; default "h0 ~ U[-a, a]" read off each ensemble.
    per_sample : bool, default True
        Plot norm / (kept trajectories), comparable across ensemble sizes
        and IC ranges; False plots the sum over the ensemble.

    Returns
    -------
    matplotlib.figure.Figure
        With a dashed vertical line at the form's g*.
    """
    import matplotlib.pyplot as plt

    if isinstance(results, SweepResult):
        results = [results]
    results = list(results)
    if not results:
        raise ValueError("no results to plot; pass one SweepResult or a list of them")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.2), layout="constrained")
    else:
        fig = ax.figure
    if labels is None:
        labels = [f"$h_0 \\in [-{np.abs(r.h0).max():.2g}, {np.abs(r.h0).max():.2g}]$" for r in results]
    overflow = any(r.overflowed.any() for r in results)
    for r, label in zip(results, labels):
        y_log = r.log_mean if per_sample else r.log_norm
        if overflow:
            ax.plot(r.g, y_log / np.log(10), label=label)
        else:
            ax.semilogy(r.g, np.exp(y_log), label=label)
    form = results[0].form
    # Keep the whole grid visible even where every trajectory escaped (NaN).
    ax.set_xlim(min(r.g.min() for r in results), max(r.g.max() for r in results))
    if form.g_star is not None:
        ax.axvline(float(form.g_star), color="k", linestyle="--", linewidth=1)
    ax.set_xlabel(f"${form.param}$")
    what = r"\|\mathrm{sNTK}_g\|" + (" / B" if per_sample else "")
    ax.set_ylabel(f"$\\log_{{10}} {what}$" if overflow else f"${what}$")
    ax.set_title(title if title is not None else f"{form.name}, T = {results[0].T}")
    ax.legend(fontsize="small")
    return fig


@short_repr()
@dataclass(frozen=True)
class Figure2:
    """The reproduced figure 2 and the sweeps behind it.

    ``results[form_name][a]`` is the :class:`SweepResult` for ICs uniform on [-a, a].
    """

    figure: Any
    results: dict


def figure2(*, g: Any = None, T: int = FIGURE2_T, ranges: Sequence[float] = FIGURE2_RANGES,
            samples: int = 10_000, seed: int | np.random.Generator = 0, progress: bool | None = None) -> Figure2:
    """Reproduce the paper's figure 2: rank-one sNTK amplification, four panels.

    Stability flip g h, pitchfork g h - h^3, saddle node h + (g - 1) - h^2
    and period doubling -g h + h^3 (all g* = 1), T = 30, initial conditions
    uniform on [-0.05, 0.05] and [-0.1, 0.1] (paper, sec. 3, figure 2).  The
    paper does not state its g-range or ensemble size; the defaults are
    g in [0.5, 1.5] (401 points) and B = 10 000, the same ICs for every panel.

    Returns
    -------
    Figure2
    """
    import matplotlib.pyplot as plt

    from ._inputs import uniform_ics

    T = check_T(T)
    g = np.linspace(0.5, 1.5, 401) if g is None else g
    rng = as_generator(seed)
    # One unit-range draw scaled per range: the two ensembles differ only in width.
    unit = uniform_ics(1.0, samples, rng)
    catalogue = nf.catalog()
    fig, axes = plt.subplots(1, len(FIGURE2_FORMS), figsize=(4.0 * len(FIGURE2_FORMS), 3.3), layout="constrained")
    results: dict = {}
    for ax, name, letter in zip(axes, FIGURE2_FORMS, "ABCD"):
        form = catalogue[name]
        results[name] = {a: sweep(form, g, T, a * unit, progress=progress) for a in ranges}
        plot_amplification(list(results[name].values()), ax=ax, title=f"{letter}  {form.name}")
    return Figure2(figure=fig, results=results)


def plot_bifurcation_diagram(form: nf.NormalForm, interval: Any = None, box: Any = None, *, component: int = 0,
                             cycles: bool = True, ax: Any = None):
    """Bifurcation diagram: fixed-point branches (solid where stable, dashed where not), 2-cycles, and the
    bifurcation points labelled by kind.

    The branches are followed numerically (:func:`normalforms.fixed_points` with ``method="numeric"``,
    so any form works); the labelled points are those of :func:`normalforms.bifurcations` (exact where
    sympy can solve).  ``component`` picks the state variable drawn for a vector map.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not isinstance(form, nf.NormalForm):
        raise TypeError(f"expected a normalforms.NormalForm, got {type(form).__name__}")
    if isinstance(component, bool) or not isinstance(component, (int, np.integer)) or not 0 <= component < form.dim:
        raise ValueError(f"component must be an integer in 0..{form.dim - 1} (the state variable drawn)")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 3.8), layout="constrained")
    else:
        fig = ax.figure
    branches = nf.fixed_points(form, method="numeric", interval=interval, box=box)
    drawn = [("fixed points", branches, "C0")]
    if cycles:
        try:
            drawn.append(("2-cycles", nf.period_two_points(form, method="numeric", interval=interval, box=box), "C1"))
        except ValueError:
            pass
    for label, group, color in drawn:
        first = True
        for br in group:
            g = np.array([s[0] for s in br.samples])
            x = np.array([s[1][component] for s in br.samples])
            stable = np.array([s[2] for s in br.samples])
            for mask, style in ((stable, "-"), (~stable, "--")):
                y = np.where(mask, x, np.nan)
                ax.plot(g, y, style, color=color, linewidth=1.2 if style == "-" else 0.9,
                        label=(f"{label}, stable" if style == "-" else f"{label}, unstable") if first else None)
            first = False
    events = nf.bifurcations(form, interval=interval, box=box)
    lo, hi = ax.get_xlim()
    for ev in events:
        g0 = float(ev.parameter_value)
        if not lo <= g0 <= hi:
            continue
        x0 = float(ev.point[component])
        ax.plot([g0], [x0], "ko", markersize=4)
        ax.annotate(str(ev.kind), (g0, x0), textcoords="offset points", xytext=(4, 4), fontsize="x-small")
    state = form.state[component].name
    ax.set_xlabel(f"parameter {form.param}")
    ax.set_ylabel(f"fixed point / cycle, {state}")
    ax.set_title(f"{form.name}: bifurcation diagram")
    ax.legend(fontsize="x-small", loc="best")
    return fig


def plot_amplification_map(result, ax: Any = None, *, curves: Sequence[str] = ("fold", "flip"),
                           per_sample: bool = True, title: str | None = None):
    r"""Heatmap of log10 ||sNTK_g|| over two parameters, with the form's bifurcation curves drawn on it.

    Parameters
    ----------
    result : GridResult
        From :func:`numerics.sweep_grid` with exactly two axes (x = first, y = second).
    ax : matplotlib Axes, optional
    curves : sequence of {"fold", "flip"}
        Which curves of :func:`normalforms.bifurcation_curves` to overlay (multiplier +1 / -1 of a
        fixed point), derived symbolically for the two axes; a kind the symbolic layer cannot
        solve is skipped with a note in the legend.
    per_sample : bool, default True
        log10 of norm / (kept trajectories); False: of the ensemble sum.

    Returns
    -------
    matplotlib.figure.Figure
        Grid points where every trajectory escaped are left blank (NaN), not coloured as zero.
    """
    import matplotlib.pyplot as plt

    from ._sweep import GridResult

    if not isinstance(result, GridResult):
        raise TypeError(f"expected a GridResult from numerics.sweep_grid, got {type(result).__name__}")
    if len(result.axes) != 2:
        raise ValueError(f"a map needs exactly two axes; this grid has {list(result.axes)} - slice it, or sweep two")
    (xn, x), (yn, y) = result.axes.items()
    z = (result.log_mean if per_sample else result.log_norm) / np.log(10)
    z = np.where(np.isfinite(z), z, np.nan)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.0), layout="constrained")
    else:
        fig = ax.figure
    mesh = ax.pcolormesh(x, y, z.T, shading="auto", cmap="magma")
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\|\mathrm{sNTK}_g\|$" + (" per sample" if per_sample else ""))
    form = result.form
    for kind, style in (("fold", "-"), ("flip", "--")):
        if kind not in curves or form.dim != 1:
            continue
        try:
            c = nf.bifurcation_curves(form, xn, yn, kind=kind)
        except ValueError:
            ax.plot([], [], "w" + style, label=f"{kind}: no closed form")
            continue
        hs = np.linspace(-3, 3, 2001)
        label = f"{kind} (multiplier {'+1' if kind == 'fold' else '-1'})"
        for pts in c.points(hs):
            keep = ((pts[:, 0] >= x.min()) & (pts[:, 0] <= x.max()) & (pts[:, 1] >= y.min()) & (pts[:, 1] <= y.max()))
            seg = np.where(keep[:, None], pts, np.nan)
            if np.any(keep):
                ax.plot(seg[:, 0], seg[:, 1], "c" + style, linewidth=1.2, label=label)
                label = None
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    ax.set_xlabel(xn)
    ax.set_ylabel(yn)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left")
    on_axes = {xn, yn} & set(form.constants)
    name = form.name.split(" (")[0] if on_axes else form.name  # a constant on an axis: its one value is not the map's
    ax.set_title(title or f"{name}, T = {result.T}", fontsize=9)
    return fig
