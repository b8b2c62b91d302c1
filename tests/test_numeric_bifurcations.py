"""Numerical continuation of any form against independent references.

References: the exact symbolic path where sympy can solve (catalogue, logistic,
Hénon, delayed logistic); mpmath root finding written here for transcendental
maps; coefficients derived by hand (centre-manifold reductions in the comments).
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

import normalforms as nf
from normalforms._kinds import Criticality, Kind, criticality

TOL = 1e-10


def close(a, b, tol=TOL) -> bool:
    return abs(complex(sp.N(a, 30)) - complex(sp.N(b, 30))) <= tol * max(1.0, abs(complex(sp.N(b, 30))))


def matches(exact, numeric) -> None:
    """Every exact event has a numeric twin: same kind, parameter, point and coefficients to 1e-10."""
    assert len(numeric) == len(exact), (exact, numeric)
    for ev in exact:
        twins = [n for n in numeric if n.kind == ev.kind and close(n.parameter_value, ev.parameter_value)
                 and all(close(a, b) for a, b in zip(n.point, ev.point))]
        assert twins, f"no numeric twin of {ev}"
        tw = twins[0]
        assert not tw.exact and tw.error is not None and tw.error < 1e-12
        assert tw.criticality == ev.criticality
        for k, v in ev.coefficients.values.items():
            if k in ("c1",):
                continue
            assert close(tw.coefficients.values[k], v, 1e-9), (k, tw.coefficients.values[k], v)


CASES = [
    (nf.pitchfork, dict(interval=(-1.5, 2.5), box=3)),
    (nf.saddle_node, dict(interval=(0.5, 1.5), box=3)),
    (nf.period_doubling, dict(interval=(-1.5, 2.5), box=3)),
    (nf.transcritical, dict(interval=(-0.5, 3.5), box=4)),
    (lambda: nf.imperfect_pitchfork("1/50"), dict(interval=(0.5, 1.8), box=3)),
    (nf.neimark_sacker, dict(interval=(0.5, 1.5), box=1.5)),
    (nf.stability_flip, dict(interval=(-1.5, 1.5), box=3)),
]


@pytest.mark.parametrize("make, where", CASES, ids=lambda c: getattr(c, "__name__", "form") if callable(c) else "")
def test_numeric_path_equals_the_exact_one_on_the_catalogue(make, where):
    form = make()
    lo, hi = where["interval"]
    exact = [e for e in form.bifurcations(method="exact") if lo < float(e.parameter_value) < hi]
    matches(exact, form.bifurcations(method="numeric", **where))


@pytest.mark.parametrize("form, where", [
    (nf.NormalForm("r*h*(1 - h)", param="r"), dict(interval=(-2, 4), box=3)),
    (nf.NormalForm("1 - a*x**2 + y, 3*x/10", state="x y", param="a"), dict(interval=(-1, 2), box=5)),
    (nf.NormalForm("y, r*y*(1 - x)", state="x y", param="r"), dict(interval=(0.5, 2.5), box=3)),
], ids=["logistic", "henon", "delayed logistic"])
def test_numeric_path_equals_the_exact_one_on_classic_maps(form, where):
    lo, hi = where["interval"]
    exact = [e for e in form.bifurcations(method="exact") if lo < float(e.parameter_value) < hi]
    assert exact
    matches(exact, form.bifurcations(method="numeric", **where))


def test_g_sin_h_by_hand_and_by_mpmath():
    """f = g sin h.  Origin: multiplier g, so a branch point at g = 1; f is odd, a = 0 and
    b = f'''/6 = -1/6 (supercritical pitchfork).  Non-trivial branch g = h / sin h: its multiplier
    g cos h = h / tan h is -1 where tan h = -h; there c = f'''/6 + f''^2/4 = 1/6 + h^2/4 (f''' = -g cos h = 1,
    f'' = -g sin h = -h)."""
    form = nf.NormalForm("g*sin(h)")
    events = form.bifurcations(interval=(0, 3), box=4)  # auto: sympy cannot solve g sin h = h
    assert all(not e.exact for e in events)
    pitch = [e for e in events if e.kind == Kind.PITCHFORK]
    assert len(pitch) == 1 and close(pitch[0].parameter_value, 1) and close(pitch[0].point[0], 0)
    assert close(pitch[0].coefficients.values["b"], sp.Rational(-1, 6)) and pitch[0].criticality == "supercritical"
    with mpmath.workdps(40):
        h = mpmath.findroot(lambda x: mpmath.tan(x) + x, 2.0)
        g = h / mpmath.sin(h)
        c = mpmath.mpf(1) / 6 + h**2 / 4
    flips = sorted((e for e in events if e.kind == Kind.FLIP), key=lambda e: float(e.point[0]))
    assert len(flips) == 2  # the mirror pair +-h
    for ev, sign in zip(flips, (-1, 1)):
        assert close(ev.parameter_value, g) and close(ev.point[0], sign * h)
        assert close(ev.coefficients.values["c"], c) and ev.criticality == "supercritical"


def test_tanh_with_a_quadratic_term_by_hand_and_by_mpmath():
    """f = g tanh h + h^2/20.  Origin: multiplier g, f_g = tanh 0 = 0, so a transcritical point at g = 1
    with a = f''/2 = 1/20.  The other branch g(h) = (h - h^2/20) / tanh h has a minimum: a fold."""
    form = nf.NormalForm("g*tanh(h) + 0.05*h**2")
    events = form.bifurcations(interval=(0, 2), box=5)
    trans = [e for e in events if e.kind == Kind.TRANSCRITICAL]
    assert len(trans) == 1 and close(trans[0].parameter_value, 1) and close(trans[0].coefficients.values["a"],
                                                                            sp.Rational(1, 20))
    with mpmath.workdps(40):
        branch = lambda x: (x - x**2 / 20) / mpmath.tanh(x)  # noqa: E731
        h = mpmath.findroot(lambda x: mpmath.diff(branch, x), 0.07)
        g = branch(h)
    folds = [e for e in events if e.kind == Kind.FOLD]
    assert len(folds) == 1 and close(folds[0].parameter_value, g, 1e-9) and close(folds[0].point[0], h, 1e-9)


def test_a_three_dimensional_map_by_its_centre_manifold():
    """x' = g x - x^3 + y/5, y' = y/2 + 3xz/10, z' = 2z/5 + x^2.  At g = 1 the origin has multipliers
    1, 1/2, 2/5; on the centre manifold z = x^2 / (1 - 2/5) = 5x^2/3 and y = (3/10) x z / (1/2) = x^3,
    so x' = x - x^3 + x^3/5: a pitchfork (odd map) with b = -4/5, supercritical."""
    form = nf.NormalForm("g*x - x**3 + y/5, y/2 + 3*x*z/10, 2*z/5 + x**2", state="x y z")
    events = form.bifurcations(interval=(0.5, 1.5), box=3)  # dim 3: numeric by default
    assert [e.kind for e in events] == [Kind.PITCHFORK]
    ev = events[0]
    assert close(ev.parameter_value, 1) and all(close(c, 0) for c in ev.point)
    assert close(ev.coefficients.values["b"], sp.Rational(-4, 5)) and ev.criticality == "supercritical"


def test_numeric_two_cycles_of_the_logistic_map():
    form = nf.NormalForm("r*h*(1 - h)", param="r")
    cycles = form.period_two_points(method="numeric", interval=(2, 4), box=2)
    assert len(cycles) == 1 and cycles[0].period == 2 and not cycles[0].exact
    stable = cycles[0].stable
    # born at the flip r = 3, stable until its own flip at r = 1 + sqrt 6 (the exact path's result)
    assert isinstance(stable, sp.Interval)
    assert abs(float(stable.inf) - 3) < 1e-3 and close(stable.sup, 1 + sp.sqrt(6), 1e-9)
    exact = form.period_two_points(method="exact")[0]
    assert exact.existence == sp.Union(sp.Interval.open(-sp.oo, -1), sp.Interval.open(3, sp.oo))


def test_auto_never_fails_for_lack_of_a_closed_form_and_explains_an_empty_box():
    form = nf.NormalForm("g*tanh(h) + 0.05*h**2")
    with pytest.raises(ValueError, match="sympy cannot solve"):
        form.fixed_points(method="exact")
    branches = form.fixed_points(interval=(0, 2), box=5)
    assert branches and all(not b.exact and b.samples for b in branches)
    assert max(b.error for b in branches) < 1e-9
    with pytest.raises(ValueError, match="no fixed point .* widen"):
        nf.NormalForm("h + 1 + g**2").fixed_points(method="numeric")
    with pytest.raises(ValueError, match="method must be one of"):
        form.fixed_points(method="guess")
    with pytest.raises(ValueError, match="g_lo < g_hi"):
        form.bifurcations(interval=(2, 1))


def test_neimark_sacker_with_a_transcendental_rotation():
    """The reproducer of the issue: the exact null space misses exp(i); d = 2 (-cos 1 + sin(1) / 2)."""
    form = nf.NormalForm(["(1+mu)*(cos(1)*x - sin(1)*y) + (x**2+y**2)*(-x - y/2)",
                          "(1+mu)*(sin(1)*x + cos(1)*y) + (x**2+y**2)*(-y + x/2)"], state="x y", param="mu", g_star=0)
    d = nf.neimark_sacker_coefficient(form, (0, 0), 0).values["d"]
    assert close(d, 2 * (-sp.cos(1) + sp.sin(1) / 2))
    assert abs(float(d) - (-0.2391336269)) < 1e-10


def test_one_rule_for_criticality():
    sign = lambda v: (v > 0) - (v < 0)  # noqa: E731
    assert criticality(Kind.FLIP, {"c": 2}, sign) is Criticality.SUPERCRITICAL
    assert criticality(Kind.FLIP, {"c": -2}, sign) is Criticality.SUBCRITICAL
    assert criticality(Kind.NEIMARK_SACKER, {"d": -1}, sign) is Criticality.SUPERCRITICAL
    assert criticality(Kind.PITCHFORK, {"a": 0, "b": 1}, sign) is Criticality.SUBCRITICAL
    assert criticality(Kind.PITCHFORK, {"a": 0, "b": 0}, sign) is Criticality.DEGENERATE
    assert criticality(Kind.FOLD, {"a": 0.3}, sign) is Criticality.NONE
    assert Kind.FOLD == "fold" and f"{Kind.NEIMARK_SACKER}" == "neimark-sacker" and str(Criticality.NONE) == "n/a"


def test_the_cli_derives_and_draws_a_transcendental_map(tmp_path, capsys):
    from paper_checks.cli import main

    assert main(["derive", "--map", "g*sin(h)", "--range", "0:3", "--box", "4", "--order", "1"]) == 0
    out = capsys.readouterr().out
    assert "pitchfork at g = 1" in out and "[numeric" in out and "numeric branch of fixed points" in out
    png = tmp_path / "d.png"
    assert main(["diagram", "--map", "r*h*(1-h)", "--param", "r", "--range=-2:4", "--box", "3",
                 "--png", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["diagram", "pitchfork", "--range", "2:1"]) == 2
