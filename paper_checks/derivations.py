"""The symbolic derivations as text: what ``nfsntk derive`` prints for one form or the catalogue."""

from __future__ import annotations

import sympy as sp

import normalforms as nf


def _section(title: str) -> str:
    return f"\n{title}\n{'-' * len(title)}"


def derive(form: nf.NormalForm, order: int = 3, latex: bool = False, interval=None, box=None) -> str:
    """Every symbolic derivation of the toolkit for one form, as text (or LaTeX).

    Fixed points and bifurcations are exact where sympy can solve, otherwise found by
    continuation over ``interval`` within the state box ``box`` (see :func:`normalforms.bifurcations`).
    """
    show = sp.latex if latex else sp.sstr
    out = [f"== {form.name} ==", form.latex() if latex else str(form)]
    if form.description:
        out.append(form.description.strip())
    out.append(_section("tangent recursion (s_t = D_g h_t)"))
    recursion = form.tangent_recursion()
    out.append(recursion._repr_latex_() if latex else str(recursion))
    out.append(_section("exact unrolled D_g h_t, t = 1..3"))
    try:
        u = form.unroll(3)
    except ValueError as exc:
        out.append(f"  not available: {exc}")
    else:
        for t in (1, 2, 3):
            out.append(f"  t={t}: {show(u.dg_h[t])}")
    try:
        series = form.sensitivity_series(order=order)
    except ValueError as exc:
        out.append(_section("small-amplitude series"))
        out.append(f"  not available: {exc}")
    else:
        out.append(_section(f"small-amplitude series to O(h0**{order + 1}), symbolic t"))
        out.append(f"  h_t     = {show(series.h)}")
        out.append(f"  D_g h_t = {show(series.dg_h)}")
        norm = form.sntk_norm(order=1 if series.exact else order)
        out.append(_section("||sNTK_g|| = sum_b sum_{t=1}^T (D_g h_t)^2, moments M_n = E[h0^n]"))
        out.append(f"  {show(norm.expr)}")
        regimes = form.asymptotic_regimes()
        out.append(_section("large-T regimes of the linear law"))
        out.append(str(regimes))
    out.append(_section("fixed points"))
    try:
        for b in form.fixed_points(interval=interval, box=box):
            if latex and b.exact:
                point = show(b.point[0] if len(b.point) == 1 else sp.Matrix(b.point))
                mults = ", ".join(show(m) for m in b.multipliers)
                out.append(f"  $h^* = {point}$, multipliers ${mults}$, exists for ${show(b.existence)}$, "
                           f"stable for ${show(b.stable)}$")
            else:
                out.append(f"  {b}")
        out.append(_section("bifurcations (Kuznetsov coefficients)"))
        out.append(str(form.bifurcations(interval=interval, box=box)))
    except ValueError as exc:
        out.append(f"  not available: {exc}")
    return "\n".join(out)


def catalog_report(order: int = 3, latex: bool = False) -> str:
    """Derivations for the whole catalogue (as LaTeX with ``latex``)."""
    return "\n\n".join(derive(form, order=order, latex=latex) for form in nf.catalog().values())
