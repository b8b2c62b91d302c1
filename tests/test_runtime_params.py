"""Constants as runtime parameters of the compiled kernels, and sweeps over grids of several parameters.

References: the same map compiled with each value printed in (the kernels before runtime parameters),
mpmath at 30 digits (``numerics.reference``), and the numba dispatchers' own compilation records.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import normalforms as nf
import numerics
from numerics._codegen import form_source


def _printed_in(value: float) -> nf.NormalForm:
    return nf.NormalForm(f"g*h - h**3 + ({value!r})")


def test_values_of_a_constant_share_one_module_and_one_compilation():
    forms = [nf.imperfect_pitchfork(e) for e in (0.01, -0.3, 0.125)]
    paths = {numerics.compile_form(f).path for f in forms}
    assert len(paths) == 1
    before = numerics.compile_count()
    h0 = numerics.uniform_ics(0.2, 64, seed=0)
    for f in forms:
        numerics.sweep(f, [0.9, 1.1], 12, h0, progress=False)
    numerics.sweep(nf.imperfect_pitchfork(0.07), [1.0], 12, h0, progress=False)  # a new value
    assert numerics.compile_count() == before  # no module generated for any new value
    kernel = numerics.compile_form(forms[0]).module.run_items_norm
    assert len(kernel.signatures) == 1  # numba compiled the kernel once, for every value
    # the module's text carries no value of the constant, and no user name
    src = form_source(forms[1]).source
    assert "0.3" not in src and not re.search(r"\beps\b", src) and "k0 = pv[1]" in src


def test_a_grid_equals_kernels_compiled_per_value_and_mpmath():
    g, eps = np.linspace(0.6, 1.4, 9), np.array([-0.03, 0.0, 0.02])
    h0 = numerics.uniform_ics(0.3, 200, seed=3)
    res = numerics.sweep_grid(nf.imperfect_pitchfork(), {"g": g, "eps": eps}, 25, h0, progress=False)
    assert res.norm.shape == (9, 3) and set(res.axes) == {"g", "eps"}
    for j, e in enumerate(eps):
        per_value = numerics.sweep(_printed_in(float(e)), g, 25, h0, progress=False).norm
        # the same arithmetic up to the order of one addition (k0 added before or after h^3)
        np.testing.assert_allclose(res.norm[:, j], per_value, rtol=1e-13, atol=0)
    ref = numerics.reference(nf.imperfect_pitchfork(sp_rational(0.02)), g[::4], 25, h0[:20], dps=30)
    sub = numerics.sweep_grid(nf.imperfect_pitchfork(), {"g": g[::4], "eps": [0.02]}, 25, h0[:20], progress=False)
    np.testing.assert_allclose(sub.norm[:, 0], [float(v) for v in ref.norm], rtol=1e-12)


def sp_rational(x: float):
    import sympy as sp

    return sp.Rational(str(x))


def test_constants_not_on_the_grid_keep_the_forms_values_and_axes_follow_the_given_order():
    h0 = numerics.uniform_ics(0.2, 50, seed=5)
    form = nf.NormalForm("g*h - c*h**3 + eps", constants={"c": 2, "eps": 0.01})
    res = numerics.sweep_grid(form, {"eps": [0.0, 0.01], "g": [0.8, 1.2, 1.3]}, 15, h0, progress=False)
    assert res.norm.shape == (2, 3)
    direct = numerics.sweep(form, [0.8, 1.2, 1.3], 15, h0, progress=False).norm  # c = 2, eps = 0.01
    np.testing.assert_allclose(res.norm[1], direct, rtol=1e-15)
    peak = res.peak()
    assert peak["log_norm"] == pytest.approx(np.max(res.log_norm)) and set(peak) == {"eps", "g", "log_norm"}
    prof = numerics.sweep_grid(form, {"g": [1.1], "eps": [0.0, 0.02]}, 15, h0, profile=True, progress=False)
    assert prof.profile.shape == (1, 2, 15)
    np.testing.assert_allclose(prof.profile.sum(axis=-1), prof.norm, rtol=1e-12)


def test_escapes_and_errors_name_the_constants():
    h0 = np.array([0.1, 3.0])
    res = numerics.sweep_grid(nf.imperfect_pitchfork(), {"g": [1.0], "eps": [0.0, 0.5]}, 20, h0, progress=False)
    assert res.escaped.tolist() == [[1, 1]]  # |h0| = 3 runs off; 0.1 stays
    form = nf.NormalForm("g*h + log(h + c)", constants={"c": 0.0})
    with pytest.raises(FloatingPointError, match=r"c = -5\.0"):
        numerics.sweep_grid(form, {"g": [0.5], "c": [-5.0]}, 5, [0.5], progress=False)


@pytest.mark.parametrize("axes, match", [
    ({"g": [1.0], "delta": [0.1]}, "not a parameter of this form's kernel"),
    ({"eps": [0.1]}, "needs the parameter 'g'"),
    ({"g": [1.0], "eps": [0.1, float("nan")]}, "axis 'eps'.*non-finite"),
    ({"g": [[1.0, 2.0]]}, "axis 'g'.*1-D"),
    ([1.0, 2.0], "mapping"),
])
def test_bad_grids_are_refused_with_the_fix(axes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        numerics.sweep_grid(nf.imperfect_pitchfork(), axes, 5, [0.1], progress=False)


def test_a_constant_whose_value_makes_the_map_linear_stays_compiled_in():
    # g*h + c at c = 0 is linear homogeneous (never escapes, rescaled freely); kept symbolic it would not be
    form = nf.NormalForm("g*h + c", constants={"c": 0})
    assert numerics.compile_form(form).homogeneous and not form_source(form).runtime
    with pytest.raises(ValueError, match="compiled in"):
        numerics.sweep_grid(form, {"g": [1.0], "c": [0.1]}, 5, [0.1], progress=False)
    assert form_source(nf.NormalForm("g*h + c", constants={"c": 1})).runtime


def test_the_crosscheck_window_form_compiles_once_for_every_g0():
    from numerics.rnn._crosscheck import window_form

    h0 = numerics.uniform_ics(0.05, 40, seed=1)
    numerics.sweep(window_form(1.02), [0.0, 0.01], 10, h0, progress=False)
    before = numerics.compile_count()
    for g0 in (1.0137, 0.998, 1.25):  # windows of other networks and seeds
        res = numerics.sweep(window_form(g0), [0.0, 0.01], 10, h0, progress=False)
        ref = numerics.sweep(nf.NormalForm(f"{g0!r}*y - y**3 + e", state="y", param="e"), [0.0, 0.01], 10, h0,
                             progress=False)
        np.testing.assert_allclose(res.norm, ref.norm, rtol=1e-13)
    assert numerics.compile_count() == before + 3  # only the three per-value references were compiled


def test_a_three_parameter_grid_has_one_axis_per_parameter():
    form = nf.NormalForm("g*h - c*h**3 + eps", constants={"c": 1, "eps": 0})
    h0 = numerics.uniform_ics(0.2, 30, seed=2)
    res = numerics.sweep_grid(form, {"g": [0.9, 1.1], "c": [0.5, 1.0, 2.0], "eps": [0.0, 0.01]}, 10, h0, progress=False)
    assert res.norm.shape == (2, 3, 2)
    one = nf.NormalForm("g*h - 2*h**3 + 0.01")  # the point c = 2, eps = 0.01, compiled per value
    np.testing.assert_allclose(res.norm[:, 2, 1], numerics.sweep(one, [0.9, 1.1], 10, h0, progress=False).norm,
                               rtol=1e-13)


def test_the_amplification_map_draws_the_symbolic_fold_curve():
    import matplotlib

    matplotlib.use("Agg")
    res = numerics.sweep_grid(nf.imperfect_pitchfork(), {"g": np.linspace(0.8, 1.6, 12), "eps": np.linspace(-0.1, 0.1, 9)},
                              10, numerics.uniform_ics(0.1, 40, seed=0), progress=False)
    fig = numerics.plot_amplification_map(res)
    ax = fig.axes[0]
    folds = [l for l in ax.get_lines() if l.get_label().startswith("fold") or l.get_linestyle() == "-"]
    assert folds
    x, y = folds[0].get_xdata(), folds[0].get_ydata()
    ok = np.isfinite(x) & np.isfinite(y)
    # on the fold of the imperfect pitchfork: 27 eps^2 = 4 (g - 1)^3 (Kuznetsov's cusp with b2 = g - 1)
    np.testing.assert_allclose(27 * y[ok] ** 2, 4 * (x[ok] - 1) ** 3, atol=1e-12)
    assert ax.get_xlabel() == "g" and ax.get_ylabel() == "eps"
    with pytest.raises(ValueError, match="exactly two axes"):
        numerics.plot_amplification_map(numerics.sweep_grid(nf.imperfect_pitchfork(), {"g": [1.0]}, 5, [0.1],
                                                            progress=False))
