"""Catalogue maps against hand-written expressions and their documented dynamics."""

from fractions import Fraction

import pytest
import sympy as sp

import normalforms as nf
from conftest import REFERENCE_MAPS

FACTORIES = {
    "stability_flip": nf.stability_flip,
    "pitchfork": nf.pitchfork,
    "saddle_node": nf.saddle_node,
    "period_doubling": nf.period_doubling,
    "transcritical": nf.transcritical,
    "imperfect_pitchfork": nf.imperfect_pitchfork,
}


@pytest.mark.parametrize("name", sorted(REFERENCE_MAPS))
def test_map_matches_hand_written_reference(name):
    form = FACTORIES[name]()
    for h in (Fraction(-3, 7), Fraction(1, 5), Fraction(2)):
        for g in (Fraction(1, 2), Fraction(1), Fraction(13, 10)):
            assert form.evaluate(sp.Rational(h.numerator, h.denominator), sp.Rational(g.numerator, g.denominator)) == sp.Rational(
                *(lambda v: (v.numerator, v.denominator))(REFERENCE_MAPS[name](h, g))
            )
    assert form.g_star == 1


def test_catalog_lists_every_form():
    assert set(nf.catalog()) == set(FACTORIES) | {"neimark_sacker", "cusp"}
    for form in nf.catalog().values():
        assert form.description  # each documents its branches and escape


def test_pitchfork_escape_bound_is_sharp():
    # |h0| just above sqrt(1 + g) grows monotonically; just below does not escape.
    g = Fraction(3, 2)
    f = REFERENCE_MAPS["pitchfork"]
    bound = (1 + g) ** 0.5
    h = Fraction(bound) * Fraction(1001, 1000)
    prev = abs(h)
    for _ in range(6):
        h = f(h, g)
        assert abs(h) > prev
        prev = abs(h)
    h = Fraction(bound) * Fraction(999, 1000)
    for _ in range(200):
        h = Fraction(float(f(h, g)))  # float-rounded to keep numbers small
    assert abs(h) < bound


def test_period_doubling_is_conjugate_to_pitchfork():
    pd, pf = REFERENCE_MAPS["period_doubling"], REFERENCE_MAPS["pitchfork"]
    g, a = Fraction(6, 5), Fraction(1, 7)
    x = y = a
    for t in range(1, 5):
        x, y = pd(x, g), pf(y, g)
        assert x == (-1) ** t * y


def test_neimark_sacker_radius_obeys_the_pitchfork():
    form = nf.neimark_sacker()
    x, y = sp.Rational(1, 3), sp.Rational(-1, 5)
    g = sp.Rational(6, 5)
    img = form.evaluate([x, y], g)
    r2 = x**2 + y**2
    assert sp.simplify(img[0] ** 2 + img[1] ** 2 - r2 * (g - r2) ** 2) == 0


def test_imperfect_pitchfork_reduces_to_pitchfork():
    assert nf.imperfect_pitchfork(0).rhs == nf.pitchfork().rhs


@pytest.mark.parametrize("call, message", [
    (lambda: nf.neimark_sacker(1, 1), "must equal 1"),
    (lambda: nf.neimark_sacker(1, 0), "real multipliers"),
    (lambda: nf.imperfect_pitchfork("oo"), "non-finite"),
    (lambda: nf.imperfect_pitchfork("1/0"), "finite"),
    (lambda: nf.imperfect_pitchfork("a"), "unknown name 'a'; a number is expected"),
])
def test_catalogue_bad_parameters(call, message):
    with pytest.raises(ValueError, match=message):
        call()
