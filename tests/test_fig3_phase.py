"""Figure 3's phase diagram: the teacher's parameterisation, the predicted lag, and the fit on the linear cells.

References: the textbook series sum_t t^2 mu^(2(t-1)) summed term by term, artanh(r)/r evaluated
directly, the gradient-flow integral against plain gradient descent on the scalar loss
sum_t (w^t - mu^t)^2 written out in NumPy, and hand-built cells with a known power law.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from paper_checks.fig3_phase import LINEAR, curvature, fit, flow_integral, flow_ratio, mu_to_r, predicted_ratio


@pytest.mark.parametrize("mu", [1.0001, 1.05, 1.3733, 2.5])
def test_mu_to_r_inverts_artanh_r_over_r(mu):
    r = mu_to_r(mu)
    assert 0 < r < 1 and math.atanh(r) / r == pytest.approx(mu, rel=1e-12)


def test_curvature_is_the_stability_flip_sum():
    for mu, T in ((1.37, 25), (1.05, 10), (0.9, 30)):
        assert curvature(mu, T) == pytest.approx(sum(t * t * mu ** (2 * (t - 1)) for t in range(1, T + 1)),
                                                 rel=1e-12)
    # the lag grows like (mu1 / mu2)^(2T) for large T
    assert predicted_ratio(1.2, 1.1, 200) / predicted_ratio(1.2, 1.1, 100) == pytest.approx((1.2 / 1.1) ** 200,
                                                                                            rel=0.05)
    with pytest.raises(ValueError, match="exceed 1"):
        mu_to_r(0.9)


def test_fit_uses_only_linear_sgd_cells_with_both_modes_learned():
    on = {"mu": [1.3, 1.1], "final": [1.3, 1.1], "kind": "sgd"}
    cells = [{"linear": True, "flow": p, "predicted": p * p, "ratio": 2 * p ** 0.5, "t1": 10, "t2": 20 * p ** 0.5,
              "flow_times": [5.0, 10 * p], **on} for p in (10.0, 100.0, 1000.0, 1e4)]
    cells += [{"linear": False, "flow": 5.0, "predicted": 5.0, "ratio": 1e6, **on},
              {"linear": True, "flow": 7.0, "predicted": 70.0, "ratio": None, "ratio_at_least": 50.0, **on},
              {"linear": True, "flow": 7.0, "predicted": 7.0, "ratio": 3.0, "mu": [1.3, 1.1], "final": [2.0, 2.0],
               "kind": "sgd"},
              {"linear": True, "flow": 7.0, "predicted": 7.0, "ratio": 3.0, **dict(on, kind="natural rank 2")}]
    f = fit(cells)
    assert f["cells"] == 4 and f["slope"] == pytest.approx(0.5) and f["r"] == pytest.approx(1.0)
    assert f["median_ratio"] == pytest.approx(2 * (100 * 1000) ** -0.25, rel=1e-9)  # exp median log(2 / sqrt p)
    assert f["t1"]["median_ratio"] == pytest.approx(2.0) and f["t2"]["slope"] == pytest.approx(0.5)
    assert f["t1"]["r"] is None  # t_1 the same in every cell: no correlation to report
    assert f["lower_bounds"] == 1 and f["consistent"] == 0  # predicted 7 below the measured bound 50
    g = fit(cells, "predicted")  # the curvature ratio: slope 1/4 against the same measurements
    assert g["slope"] == pytest.approx(0.25) and "t1" not in g and g["consistent"] == 1
    assert fit(cells[4:]) == {"cells": 0, "lower_bounds": 1, "consistent": 0}
    assert LINEAR < 1


def _gradient_descent_steps(mu, T, w0, eta):
    """Steps plain gradient descent w <- w + eta sum_t t w^(t-1) (mu^t - w^t) takes from w0 to cross 1."""
    t = np.arange(1, T + 1)
    w, n = w0, 0
    while w <= 1:
        w += eta * np.sum(t * w ** (t - 1) * (mu ** t - w ** t))
        n += 1
    return n


@pytest.mark.parametrize("mu,T,w0", [(1.2, 25, 0.9), (1.05, 10, 0.5), (1.1, 25, 0.7)])
def test_flow_integral_is_the_time_gradient_descent_takes(mu, T, w0):
    eta = 1e-3 / sum(t * t * mu ** (2 * (t - 1)) for t in range(1, T + 1))  # small steps: the flow's time
    assert _gradient_descent_steps(mu, T, w0, eta) * eta == pytest.approx(flow_integral(mu, T, w0), rel=2e-3)


def test_the_flow_lag_depends_on_the_path_not_the_curvature_at_the_teacher():
    # from the same start, a larger mu_2 is learned sooner; the lag grows as the start moves towards 1, where
    # the path is short and the curvature near the teacher dominates
    assert flow_ratio(1.2, 1.1, 25, 0.5) < flow_ratio(1.2, 1.1, 25, 0.9) < predicted_ratio(1.2, 1.1, 25)
    assert flow_ratio(1.2, 1.05, 25) > flow_ratio(1.2, 1.1, 25) > 1
    with pytest.raises(ValueError, match="w0"):
        flow_integral(0.9, 25)


def test_the_decoupled_student_starts_both_modes_at_w0():
    from paper_checks.fig3_phase import decoupled_student

    net = decoupled_student(8, 0.9, seed=3)
    assert np.array_equal(net.W[:2, :2], 0.9 * np.eye(2)) and not net.W[:2, 2:].any() and not net.W[2:, :2].any()
    assert np.max(np.abs(np.linalg.eigvals(net.W))) == pytest.approx(0.9, rel=1e-12) and not net.b.any()


def test_cells_are_sorted_into_in_range_lower_bounds_and_saturated():
    from paper_checks.fig3_phase import classify

    on, off = {"mu": [1.3, 1.1], "final": [1.3, 1.1]}, {"mu": [1.3, 1.1], "final": [2.0, 2.0]}
    cells = [{"ratio": 50.0, "linear": True, **on}, {"ratio": 2.0, "linear": False, **on},
             {"ratio": None, "ratio_at_least": 40.0, **on}, {"ratio": None, "ratio_at_least": None, **on},
             {"ratio": 500.0, "linear": True, **on}, {"diverged": "x", **on},
             {"ratio": 3.0, "linear": False, **off}]  # saturated, but ended off the teacher's modes
    c = classify(cells)
    assert [len(c[k]) for k in ("learned", "in_range", "beyond", "saturated")] == [4, 1, 1, 1]


def test_on_teacher_tells_the_teachers_modes_from_a_complex_pair():
    from paper_checks.fig3_phase import on_teacher

    assert on_teacher({"mu": [1.37, 1.2], "final": [1.37, 1.21]})
    assert not on_teacher({"mu": [1.37, 1.2], "final": [1.47, 1.47]})  # a complex pair above 1: not the modes
    assert not on_teacher({"mu": [1.37, 1.2]})  # diverged: no final eigenvalues


def test_a_saved_map_is_reused_only_with_its_settings(tmp_path, monkeypatch):
    import json

    from paper_checks import fig3_phase

    calls = []
    monkeypatch.setattr(fig3_phase, "phase_map", lambda quick, seed, processes: calls.append(1) or [{"x": len(calls)}])
    assert fig3_phase.saved_map(tmp_path, quick=True) == [{"x": 1}]
    assert fig3_phase.saved_map(tmp_path, quick=True) == [{"x": 1}] and len(calls) == 1  # reused
    path = tmp_path / "fig3_phase_quick.json"
    saved = json.loads(path.read_text())
    saved["settings"]["w0"] = 0.5  # another setting: recomputed
    path.write_text(json.dumps(saved))
    assert fig3_phase.saved_map(tmp_path, quick=True) == [{"x": 2}]
    path.write_text("{not json")  # damaged: recomputed
    assert fig3_phase.saved_map(tmp_path, quick=True) == [{"x": 3}]
