"""NormalForm: parsing, validation errors, printing."""

import pytest
import sympy as sp

import normalforms as nf


def test_string_and_sympy_input_agree_whatever_the_symbol_assumptions():
    h, g = sp.symbols("h g")  # no assumptions: must still bind by name
    a = nf.NormalForm("g*h - h**3")
    b = nf.NormalForm(g * h - h**3)
    assert a == b
    assert a.state[0].is_real and a.param.is_real


def test_floats_become_exact_rationals():
    form = nf.NormalForm("0.1*h + g*h")
    assert form.rhs[0].coeff(form.state[0]) == sp.Rational(1, 10) + form.param


def test_vector_state_and_derivatives():
    form = nf.NormalForm(["g*x - y", "x*y"], state="x y")
    x, y = form.state
    g = form.param
    assert form.f_h == sp.Matrix([[g, -1], [y, x]])
    assert form.f_g == sp.Matrix([x, 0])
    assert form.dim == 2 and not form.is_scalar


def test_constants_are_substituted():
    form = nf.NormalForm("g*h - h**3 + eps", constants={"eps": "1/100"})
    assert form.rhs[0].subs({form.state[0]: 0}) == sp.Rational(1, 100)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rhs="a*h"), "symbol 'a'"),
        (dict(rhs="a*h + b"), "symbols 'a', 'b'"),
        (dict(rhs="h/0"), "non-finite"),
        (dict(rhs="oo*h"), "non-finite"),
        (dict(rhs="nan + h"), "non-finite"),
        (dict(rhs=["g*x", "y"], state="x"), "2 component"),
        (dict(rhs="g*x", state="x y"), "1 component"),
        (dict(rhs="F(h)"), "function 'F' is not supported"),
        (dict(rhs="I*h"), "imaginary unit"),
        (dict(rhs=sp.Function("F")(sp.Symbol("h"))), "undefined function"),
        (dict(rhs="g*h", g_star="oo"), "g_star"),
        (dict(rhs="g*h", g_star="a"), "g_star"),
        (dict(rhs="g*h", state="h h"), "repeat"),
        (dict(rhs="g*h", state="g"), "also a state"),
        (dict(rhs="g*h +", state="h"), "is not a formula"),
        (dict(rhs="g*h", param="a b"), "single name"),
        (dict(rhs="g*h", state=""), "empty"),
        (dict(rhs="g*h", constants={"eps": "oo"}), "non-finite"),
        (dict(rhs="g*h", constants={"eps": "1/0"}), "finite"),
    ],
)
def test_bad_input_raises_a_clear_error(kwargs, message):
    rhs = kwargs.pop("rhs")
    with pytest.raises(ValueError, match=message):
        nf.NormalForm(rhs, **kwargs)


def test_extra_symbol_message_says_what_to_pass():
    with pytest.raises(ValueError) as err:
        nf.NormalForm("a*h")
    assert "constants={'a': ...}" in str(err.value) and "param='a'" in str(err.value)


def test_printing():
    form = nf.pitchfork()
    assert repr(form) == "NormalForm('g*h - h**3', state='h', param='g', g_star=1, name='pitchfork')"
    assert "h_(t+1) = g*h - h**3" in str(form)
    assert form.latex() == "h_{t+1} = g h_{t} - h_{t}^{3}"
    assert form._repr_latex_().startswith("$") and form._repr_latex_().endswith("$")
    ns = nf.neimark_sacker()
    assert r"\begin{aligned}" in ns.latex() and "x_{t+1}" in ns.latex() and "y_{t+1}" in ns.latex()


def test_evaluate_is_exact():
    form = nf.pitchfork()
    assert form.evaluate(sp.Rational(1, 2), 2) == 1 - sp.Rational(1, 8)
    with pytest.raises(ValueError, match="1 component"):
        form.evaluate([1, 2], 1)


def test_from_expr_alias():
    form = nf.NormalForm.from_expr("r*h*(1-h)", state="h", param="r")
    assert form.param.name == "r" and form.g_star is None


def test_linear_homogeneous_maps_are_recognised():
    import normalforms as nf

    assert nf.stability_flip().is_linear_homogeneous
    assert nf.NormalForm(["g*x - y", "x + g*y/2"], state="x y").is_linear_homogeneous
    assert not nf.NormalForm("g*h + g").is_linear_homogeneous  # affine
    assert not nf.pitchfork().is_linear_homogeneous
    assert not nf.NormalForm("g*sin(h)").is_linear_homogeneous
