"""The whitelist parser: what it accepts means what sympy would read, and every function it accepts compiles."""

from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import parse_expr

import normalforms as nf
import numerics
from normalforms._parse import (FUNCTIONS, MAX_DEPTH, MAX_EXPONENT, MAX_NUMBER_BITS, MAX_TEXT_LENGTH, as_real_number,
                                check_name, parse_expression)

h, g = sp.symbols("h g", real=True)
NAMES = {"h": h, "g": g}

# ---------------------------------------------------------------- agreement with sympy on safe text
# Formulas from a small grammar; sympy's own parser (run here on test-made text only) is the reference.
_atoms = st.one_of(st.sampled_from(["h", "g", "pi", "E"]), st.integers(0, 50).map(str),
                   st.tuples(st.integers(1, 9), st.integers(1, 9)).map(lambda p: f"({p[0]}/{p[1]})"))
_UNARY = ["exp", "sin", "cos", "tanh", "atan", "sinh", "asinh", "erf"]


def _extend(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.integers(-3, 4)).map(lambda t: f"({t[0]})**{t[1]}" if t[1] >= 0 else f"({t[0]})**({t[1]})"),
        st.tuples(st.sampled_from(_UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
        inner.map(lambda e: f"-({e})"),
    )


formulas = st.recursive(_atoms, _extend, max_leaves=8)


def _value(expr, point):
    return complex(sp.N(expr.xreplace(point), 30))


@given(text=formulas, hv=st.floats(-1.5, 1.5), gv=st.floats(0.1, 2.0))
def test_parser_reads_safe_formulas_as_sympy_does(text, hv, gv):
    ours = parse_expression(text, NAMES)
    theirs = parse_expr(text, local_dict=dict(NAMES))
    point = {h: sp.Rational(str(round(hv, 3))), g: sp.Rational(str(round(gv, 3)))}
    try:
        ref = _value(theirs, point)
    except (ZeroDivisionError, TypeError, ValueError):
        return  # undefined at this point for both (e.g. 0**-1); nothing to compare
    if not np.isfinite(abs(ref)):
        return
    assert abs(_value(ours, point) - ref) <= 1e-20 * max(1.0, abs(ref))


def test_decimals_are_read_exactly_from_their_text():
    assert parse_expression("0.1") == sp.Rational(1, 10)
    assert parse_expression("1e-3 + 2.5E2") == sp.Rational(1, 1000) + 250
    assert parse_expression("1_000.5") == sp.Rational(2001, 2)


def test_tuples_give_components_and_are_refused_where_one_formula_is_expected():
    assert nf.NormalForm("x*y, x + g*y", state="x y").rhs == (sp.Symbol("x", real=True) * sp.Symbol("y", real=True),
                                                          sp.Symbol("x", real=True) + g * sp.Symbol("y", real=True))
    with pytest.raises(ValueError, match="2 comma-separated parts"):
        parse_expression("h, g", NAMES)


# ---------------------------------------------------------------- every whitelisted function compiles and is right
# Arguments kept inside each function's domain for h in [-0.1, 0.1] and g near 1.
_ARGUMENT = {"log": "2 + h", "sqrt": "2 + h", "acosh": "2 + h", "asin": "h/2", "acos": "h/2", "atanh": "h/2"}


@pytest.mark.parametrize("name", sorted(set(FUNCTIONS)))
def test_every_allowed_function_compiles_and_matches_mpmath(name):
    arity = FUNCTIONS[name][1]
    arg = _ARGUMENT.get(name, "h/2 + g/3")
    call = f"{name}({arg}, 2 + g)" if arity == 2 else f"{name}({arg})"
    form = nf.NormalForm(f"g*h/2 + {call}/10")
    h0 = np.array([0.05, -0.03])
    res = numerics.sweep(form, [0.9, 1.1], 6, h0, progress=False)
    ref = numerics.reference(form, [0.9, 1.1], 6, h0, dps=40)
    np.testing.assert_allclose(res.norm, [float(v) for v in ref.norm], rtol=1e-11)


def test_reference_value_of_one_function_by_hand():
    # tanh: f = g h/2 + tanh(h/2 + g/3)/10; D_g h_1 = h0/2 + sech^2(h0/2 + g/3)/30 at g = 0.9, h0 = 0.05
    form = nf.NormalForm("g*h/2 + tanh(h/2 + g/3)/10")
    tr = numerics.trajectories(form, 0.9, 1, [0.05])
    expected = 0.025 + float(mpmath.sech(mpmath.mpf("0.025") + mpmath.mpf("0.3")) ** 2) / 30
    assert abs(tr.dg_h[0, 1, 0] - expected) < 1e-15


# ---------------------------------------------------------------- limits
def test_limits_are_enforced_before_any_work():
    with pytest.raises(ValueError, match=re.escape(f"limit |n| <= {MAX_EXPONENT}")):
        parse_expression(f"h**{MAX_EXPONENT + 1}", NAMES)
    assert parse_expression(f"h**{MAX_EXPONENT}", NAMES) == h**MAX_EXPONENT
    with pytest.raises(ValueError, match="exceeds the limit"):
        parse_expression("9**9**9")
    with pytest.raises(ValueError, match=f"more than {MAX_NUMBER_BITS} bits"):
        parse_expression("10**1000 * 10**(1000) * 10**300")  # 2300 digits when multiplied
    with pytest.raises(ValueError, match=f"beyond the limit of {MAX_TEXT_LENGTH}"):
        parse_expression("h+" * MAX_TEXT_LENGTH + "h", NAMES)
    with pytest.raises(ValueError, match="nested more than"):
        parse_expression("exp(" * (MAX_DEPTH + 1) + "h" + ")" * (MAX_DEPTH + 1), NAMES)
    with pytest.raises(ValueError, match="outside float64's range"):
        parse_expression("1e-999999999")
    # a long flat polynomial is not "deep"
    poly = " + ".join(f"h**{k}/{k}" for k in range(1, 400))
    assert parse_expression(poly, NAMES).is_polynomial(h)


def test_power_limit_also_bounds_exact_numbers():
    assert parse_expression("2**100") == 2**100
    with pytest.raises(ValueError, match="bits"):
        parse_expression("(10**900)**5")


@pytest.mark.parametrize("name, ok", [("h", True), ("x_1", True), ("eps", True), ("__class__", False), ("_h", False),
                                      ("lambda", False), ("exp", False), ("h-1", False), ("ℎ", False), ("a" * 65, False)])
def test_declared_names(name, ok):
    if ok:
        assert check_name(name, "state") == name
    else:
        with pytest.raises(ValueError):
            check_name(name, "state")


def test_real_numbers_from_every_kind_of_input():
    from fractions import Fraction

    assert as_real_number("sqrt(2)/2", "x") == sp.sqrt(2) / 2
    assert as_real_number(np.float64(0.25), "x") == sp.Rational(1, 4)
    assert as_real_number(Fraction(2, 3), "x") == sp.Rational(2, 3)
    assert as_real_number(np.int64(7), "x") == 7
    for bad, error in [(1j, TypeError), (np.complex128(1), TypeError), (True, TypeError), ([1], TypeError),
                       (float("nan"), ValueError), ("g", ValueError), ("log(0)", ValueError)]:
        with pytest.raises(error):
            as_real_number(bad, "x")
