"""Fixed points, 2-cycles, stability intervals and dh*/dg against hand results."""

import pytest
import sympy as sp

import normalforms as nf


def _points(branches):
    return {b.point if len(b.point) > 1 else b.point[0] for b in branches}


def test_pitchfork_branches_by_hand():
    form = nf.pitchfork()
    g = form.param
    branches = form.fixed_points()
    assert _points(branches) == {0, sp.sqrt(g - 1), -sp.sqrt(g - 1)}
    for b in branches:
        if b.point[0] == 0:
            assert b.multipliers == [g] and b.stable == sp.Interval.open(-1, 1)
        else:
            assert sp.simplify(b.multipliers[0] - (3 - 2 * g)) == 0
            assert b.existence == sp.Interval(1, sp.oo)
            assert b.stable == sp.Interval.open(1, 2)


@pytest.mark.parametrize("factory", [nf.pitchfork, nf.saddle_node, nf.transcritical, lambda: nf.NormalForm("r*h*(1-h)", param="r")])
def test_branch_derivative_equals_implicit_function_theorem(factory):
    form = factory()
    h, g = form.state[0], form.param
    for b in form.fixed_points():
        ift = (sp.diff(form.rhs[0], g) / (1 - sp.diff(form.rhs[0], h))).subs(h, b.point[0])
        for gv in (sp.Rational(3, 2), sp.Rational(7, 4)):
            if b.existence.contains(gv):
                assert sp.simplify((b.derivative[0] - ift).subs(g, gv)) == 0


def test_saddle_node_stability_of_each_branch():
    form = nf.saddle_node()
    g = form.param
    by_point = {b.point[0]: b for b in form.fixed_points()}
    assert by_point[sp.sqrt(g - 1)].stable == sp.Interval.open(1, 2)
    assert by_point[-sp.sqrt(g - 1)].stable == sp.S.EmptySet


def test_logistic_two_cycle_is_textbook():
    # May, Nature 1976: the 2-cycle exists for r > 3 (and r < -1) and is stable up to 1 + sqrt(6);
    # at r = 3 and r = -1 it is the fixed point it is born from, so the sets are open there
    form = nf.NormalForm("r*h*(1-h)", param="r")
    (cycle,) = form.period_two_points()
    assert cycle.existence == sp.Union(sp.Interval.open(-sp.oo, -1), sp.Interval.open(3, sp.oo))
    assert sp.Interval.open(3, 1 + sp.sqrt(6)).is_subset(cycle.stable)
    r = form.param
    assert sp.simplify(cycle.multipliers[0] - (4 + 2 * r - r**2)) == 0


def test_transcritical_and_neimark_sacker_stability():
    tc = {b.point[0]: b for b in nf.transcritical().fixed_points()}
    g = nf.transcritical().param
    assert tc[g - 1].stable == sp.Interval.open(1, 3)
    (origin,) = nf.neimark_sacker().fixed_points()
    assert origin.stable == sp.Interval.open(-1, 1)


def test_henon_fixed_points_exist_beyond_the_fold():
    b = sp.Rational(3, 10)
    form = nf.NormalForm(["1 - a*x**2 + y", f"{b}*x"], state="x y", param="a")
    for branch in form.fixed_points():
        assert branch.existence.inf == -(1 - b) ** 2 / 4


def test_unsolvable_map_reports_clearly():
    form = nf.NormalForm("g*h - exp(h) + cos(h)")
    with pytest.raises(ValueError, match="numeric"):
        form.fixed_points(method="exact")
    # auto: no closed form, so the branches are continued numerically (never an error for that alone)
    assert all(not b.exact for b in form.fixed_points(interval=(0, 2), box=5))
