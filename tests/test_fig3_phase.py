"""Figure 3's phase diagram: the teacher's parameterisation, the predicted lag, and the fit on the linear cells.

References: the textbook series sum_t t^2 mu^(2(t-1)) summed term by term, artanh(r)/r evaluated
directly, and hand-built cells with a known power law.
"""

from __future__ import annotations

import math

import pytest

from paper_checks.fig3_phase import LINEAR, curvature, fit, mu_to_r, predicted_ratio


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


def test_fit_uses_only_linear_cells_with_both_modes_learned():
    on = {"mu": [1.3, 1.1], "final": [1.3, 1.1]}
    cells = [{"linear": True, "predicted": p, "ratio": 2 * p ** 0.5, **on} for p in (10.0, 100.0, 1000.0, 1e4)]
    cells += [{"linear": False, "predicted": 5.0, "ratio": 1e6, **on},
              {"linear": True, "predicted": 7.0, "ratio": None, "ratio_at_least": 50.0, **on},
              {"linear": True, "predicted": 7.0, "ratio": 3.0, "mu": [1.3, 1.1], "final": [2.0, 2.0]}]
    f = fit(cells)
    assert f["cells"] == 4 and f["slope"] == pytest.approx(0.5) and f["r"] == pytest.approx(1.0)
    assert f["lower_bounds"] == 1 and f["consistent"] == 0  # predicted 7 below the measured bound 50
    assert fit(cells[4:]) == {"cells": 0, "lower_bounds": 1, "consistent": 0}
    assert LINEAR < 1



def test_cells_are_sorted_into_in_range_lower_bounds_and_saturated():
    from paper_checks.fig3_phase import classify

    cells = [{"ratio": 50.0, "linear": True}, {"ratio": 2.0, "linear": False}, {"ratio": None, "ratio_at_least": 40.0},
             {"ratio": None, "ratio_at_least": None}, {"ratio": 500.0, "linear": True}, {"diverged": "x"}]
    c = classify(cells)
    assert [len(c[k]) for k in ("learned", "in_range", "beyond", "saturated")] == [3, 1, 1, 1]


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
    saved["settings"]["fixed_lr"] = 1.0  # another setting: recomputed
    path.write_text(json.dumps(saved))
    assert fig3_phase.saved_map(tmp_path, quick=True) == [{"x": 2}]
    path.write_text("{not json")  # damaged: recomputed
    assert fig3_phase.saved_map(tmp_path, quick=True) == [{"x": 3}]
