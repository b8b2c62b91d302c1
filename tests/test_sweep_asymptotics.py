"""Property-based checks of the linear law's regimes on the *numeric* layer.

S_T(g) = sum_{t=1}^T t^2 g^(2(t-1)) is ||sNTK_g|| of the stability flip with
h0 = 1.  Hand-derived facts used as references: at |g| = 1,
S_T = T(T+1)(2T+1)/6 = T^3/3 (1 + 3/(2T) + 1/(2T^2)); for |g| < 1, S_T
increases to (1+g^2)/(1-g^2)^3; for |g| > 1,
S_T (g^2-1)/(T^2 g^(2T)) = 1 - 2/(T(g^2-1)) + O(T^-2).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import normalforms as nf
import numerics

FLIP = nf.stability_flip()


def log_S(g: float, T: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numerics.NumericalOverflowWarning)
        return float(numerics.sweep(FLIP, [g], T, [1.0], progress=False).log_norm[0])


@given(T=st.integers(10, 5000), sign=st.sampled_from([1.0, -1.0]))
def test_critical_ratio_to_T_cubed_over_3_tends_to_one_like_1_over_T(T, sign):
    excess = math.exp(log_S(sign, T) - math.log(T**3 / 3)) - 1
    assert 0 < excess <= 2 / T


@given(g=st.floats(0.05, 0.95), T=st.integers(5, 400))
def test_below_one_increases_monotonically_to_the_limit(g, T):
    limit = (1 + g * g) / (1 - g * g) ** 3
    values = np.exp([log_S(g, t) for t in (T, T + 1, 2 * T)])
    assert values[0] <= values[1] <= values[2] <= limit * (1 + 1e-12)
    if (T + 1) ** 2 * g ** (2 * T) > 1e-12 * limit:  # the increment is visible in float64
        assert values[0] < values[1] < values[2]
    if (2 * T) ** 2 * g ** (4 * T) < 1e-13:
        assert abs(values[2] / limit - 1) < 1e-10


@given(g=st.floats(1.05, 2.0), T=st.integers(50, 3000))
def test_above_one_ratio_to_the_corrected_law_tends_to_one(g, T):
    x = g * g - 1
    assume(T * x > 20)
    ratio = math.exp(log_S(g, T) - (2 * math.log(T) + 2 * T * math.log(g) - math.log(x)))
    assert abs(ratio - 1) <= 3 / (T * x)
    assert ratio < 1  # approached from below: the correction is -2/(T (g^2 - 1))
