"""Loss-curve measures against hand-built curves and a plain-Python median."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numerics.rnn import loss_drops, loss_roughness, median_filter


def test_roughness_counts_upward_log_jumps_only():
    e = math.e
    # up by e (1), down, up by e^2 (2), down by e^5 (ignored)
    assert loss_roughness([1.0, e, 1.0, e**2, e**-3]) == pytest.approx(3.0, rel=1e-14)
    assert loss_roughness([5.0, 4.0, 1.0, 0.5]) == 0.0


@given(st.lists(st.floats(1e-6, 1e3), min_size=2, max_size=40), st.floats(1e-3, 1e3))
def test_roughness_is_scale_free_and_matches_the_definition(values, scale):
    by_hand = sum(max(0.0, math.log(b) - math.log(a)) for a, b in zip(values, values[1:]))
    assert loss_roughness(values) == pytest.approx(by_hand, rel=1e-9, abs=1e-12)
    assert loss_roughness([scale * v for v in values]) == pytest.approx(by_hand, rel=1e-9, abs=1e-9)


@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=30), st.sampled_from([1, 3, 5, 7]))
def test_median_filter_is_the_running_median_with_edge_padding(values, width):
    half = width // 2
    padded = [values[0]] * half + values + [values[-1]] * half
    expected = [statistics.median(padded[i:i + width]) for i in range(len(values))]
    np.testing.assert_allclose(median_filter(values, width), expected, rtol=0, atol=0)


def test_drops_are_located_and_spikes_are_not_drops():
    steps = np.arange(60) * 100
    log_loss = np.where(np.arange(60) < 30, 0.0, -math.log(10.0))  # one 10x drop between records 29 and 30
    log_loss[10] += 3.0  # an isolated spike: its recovery is not a drop
    drops = loss_drops(steps, np.exp(log_loss))
    assert len(drops) == 1
    assert drops[0].step == 3000 and drops[0].factor == pytest.approx(10.0, rel=1e-12)


def test_two_separate_drops_and_a_slow_decline():
    n = 80
    log_loss = -0.01 * np.arange(n)  # a slow decline: 0.05 per 5 records, far below log 2
    log_loss[20:] -= math.log(3.0)
    log_loss[60:] -= math.log(4.0)
    drops = loss_drops(np.arange(n), np.exp(log_loss))
    assert [d.step for d in drops] == [20, 60]
    # the episode runs from the first window that contains the drop (record 15) to the end of the last
    # (19 + 5 = 24): 9 intervals of the decline ride along
    assert (drops[0].start, drops[0].end) == (15, 24)
    assert drops[0].factor == pytest.approx(3.0 * math.exp(0.09), rel=1e-9)


@pytest.mark.parametrize("call, match", [
    (lambda: loss_roughness([1.0]), "at least 2"),
    (lambda: loss_roughness([1.0, 0.0]), "positive"),
    (lambda: loss_roughness([1.0, float("nan")]), "NaN or inf"),
    (lambda: median_filter([1.0, 2.0], 4), "odd positive"),
    (lambda: loss_drops([0, 1], [1.0, 0.5, 0.2]), "same length"),
    (lambda: loss_drops([0, 1], [1.0, 0.5], factor=0.5), "factor must be > 1"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_factor_is_the_threshold():
    loss = np.where(np.arange(30) < 15, 1.0, 1 / 1.8)  # one 1.8x fall
    assert loss_drops(np.arange(30), loss) == []  # below the default 2x
    (drop,) = loss_drops(np.arange(30), loss, factor=1.7)
    assert drop.step == 15 and drop.factor == pytest.approx(1.8, rel=1e-12)
