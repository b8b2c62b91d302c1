"""Printing forms to source, the on-disk module, and numba's cache across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

import normalforms as nf
import numerics
from numerics._codegen import compile_form, form_key, form_source


def test_small_powers_are_products_and_constants_are_floats():
    src = form_source(nf.NormalForm("g*h - h**3/3 + h**2*g**2")).source
    body = src[src.index("def step"): src.index("def tangent_step")]
    assert "**" not in body
    assert "0.3333333333333333" in body


def test_large_and_fractional_powers_stay_correct():
    form = nf.NormalForm("g*h - h**11/100 + sqrt(1 + h**2) - 1")
    h0 = np.array([0.3, -0.2])
    res = numerics.sweep(form, [0.9, 1.1], 12, h0, progress=False)
    ref = numerics.reference(form, [0.9, 1.1], 12, h0, dps=30)
    np.testing.assert_allclose(res.norm, [float(v) for v in ref.norm], rtol=1e-12)


def test_generated_step_equals_the_form():
    form = nf.NormalForm(["1 - a*x**2 + y", "3*x/10"], state="x y", param="a")
    mod = compile_form(form).module
    out = np.empty(2)
    mod.step(np.array([0.25, -0.5]), np.array([1.4]), out)
    exact = form.evaluate([sp.Rational(1, 4), sp.Rational(-1, 2)], sp.Rational(7, 5))
    np.testing.assert_allclose(out, [float(v) for v in exact], rtol=1e-15)


def test_module_is_keyed_by_the_form():
    a, b = nf.pitchfork(), nf.NormalForm("g*h - h**3")
    assert form_key(a) == form_key(b)  # same map, different name: same machine code
    assert form_key(a) != form_key(nf.period_doubling())
    assert compile_form(a).path.exists() and compile_form(a).path.read_text() == form_source(a).source


def test_linear_maps_are_recognised_as_homogeneous():
    assert compile_form(nf.stability_flip()).homogeneous
    assert compile_form(nf.NormalForm(["g*x - y", "x + g*y/2"], state="x y")).homogeneous
    assert not compile_form(nf.NormalForm("g*h + g")).homogeneous
    assert not compile_form(nf.pitchfork()).homogeneous


SCRIPT = textwrap.dedent(
    """
    import json, sys
    import normalforms as nf, numerics
    form = nf.NormalForm("g*h - h**3 + h**2/7", name="cache probe")
    r = numerics.sweep(form, [0.9, 1.1], 10, [0.1, -0.05], progress=False)
    kernel = numerics.compile_form(form).module.run_items_norm
    stats = kernel.stats
    print(json.dumps({"norm": r.norm.tolist(), "hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values())}))
    """
)


def test_second_process_loads_machine_code_from_disk(tmp_path):
    env = dict(os.environ, NFSNTK_CACHE_DIR=str(tmp_path))
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                                  check=True).stdout.strip().splitlines()[-1])
        for _ in range(2)
    ]
    assert runs[0]["misses"] >= 1 and runs[0]["hits"] == 0
    assert runs[1]["hits"] >= 1 and runs[1]["misses"] == 0
    assert runs[0]["norm"] == runs[1]["norm"]
    assert len(list(tmp_path.glob("nfsntk_form_*.py"))) == 1


def test_non_form_is_refused_by_the_printer():
    with pytest.raises(TypeError, match="NormalForm"):
        form_source("g*h")
