"""Continuation, location and classification of bifurcations between checkpoints.

Every network here has a bifurcation planted at a parameter known in closed form
(or found independently by mpmath.findroot on the defining equations), embedded
in a coupled 3-neuron network W = S diag(w, 2/5, -3/10) S^-1 so that the critical
direction is not a coordinate axis.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from numerics.rnn import RNN, find_fixed_points
from numerics.rnn._continuation import Chord, continue_branch
from numerics.rnn._tracking import track_fixed_points

S = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])


def coupled(w: float, b: np.ndarray | None = None) -> RNN:
    return RNN(S @ np.diag([w, 0.4, -0.3]) @ np.linalg.inv(S), np.zeros(3) if b is None else b)


def test_exact_pitchfork_is_located_and_classified():
    nets = [coupled(0.8), coupled(1.3)]  # the origin's multiplier w crosses +1 at alpha = 0.4
    tracks = track_fixed_points(nets, [0, 100], progress=False)
    (bif,) = tracks.bifurcations
    assert (bif.kind, bif.classification) == ("branch point", "pitchfork")
    assert bif.alpha == pytest.approx(0.4, abs=1e-10) and bif.step == pytest.approx(40, abs=1e-8)
    assert abs(bif.multiplier - 1) < 1e-10 and np.max(np.abs(bif.h)) < 1e-12
    assert bif.coefficients.values["b"] < 0 and bif.attractor
    ends = sorted(br.end for br in tracks.segments[0])
    assert ends.count("alpha=1") == 3  # origin + the two new branches reach the later checkpoint


def test_flip_is_located():
    tracks = track_fixed_points([coupled(-0.8), coupled(-1.2)], [0, 10], progress=False)
    (bif,) = tracks.bifurcations
    assert bif.kind == "flip" and bif.alpha == pytest.approx(0.5, abs=1e-10)
    assert abs(bif.multiplier + 1) < 1e-10


def test_neimark_sacker_is_located():
    def rot(r):
        c, s = np.cos(1.0), np.sin(1.0)
        W = np.zeros((3, 3))
        W[:2, :2] = r * np.array([[c, -s], [s, c]])
        W[2, 2] = 0.5
        return RNN(W, np.zeros(3))

    (bif,) = track_fixed_points([rot(0.8), rot(1.2)], [0, 10], progress=False).bifurcations
    assert bif.kind == "neimark-sacker" and bif.alpha == pytest.approx(0.5, abs=1e-10)
    assert abs(abs(bif.multiplier) - 1) < 1e-10 and abs(np.angle(bif.multiplier)) == pytest.approx(1.0, abs=1e-9)


def test_fold_is_located_around_its_turning_point():
    # h0' = tanh(2 h0 + beta), beta: -0.2 -> -0.8; fold at h = 1/sqrt(2), beta = atanh(h) - sqrt(2)
    nets = [RNN(np.diag([2.0, 0.5]), np.array([-0.2, 0.0])), RNN(np.diag([2.0, 0.5]), np.array([-0.8, 0.0]))]
    h_star = 1 / np.sqrt(2)
    alpha_star = (-(np.arctanh(h_star) - 2 * h_star) - 0.2) / 0.6
    tracks = track_fixed_points(nets, [0, 1], progress=False)
    (bif,) = tracks.bifurcations  # met from both of its branches, reported once
    assert bif.kind == "fold" and bif.alpha == pytest.approx(alpha_star, abs=1e-10)
    assert bif.h[0] == pytest.approx(h_star, abs=1e-5)  # h ~ sqrt(alpha error) at a fold
    assert bif.coefficients.values["a"] == pytest.approx(-np.sqrt(2), rel=1e-5)
    # the cubic form puts the cusp's third point at h* - a/b q = 0.71 + 2.1: no such fixed point
    assert bif.classification == "fold" and bif.partner_error > 1 and bif.attractor
    assert sorted(br.end for br in tracks.segments[0]) == ["alpha=0", "alpha=0", "alpha=1"]


def imperfect(beta: float, w1: float = 1.6):
    """w: 0.8 -> w1 with bias S (beta, 0, 0): in centre coordinates (||q|| = 1, <p, q> = 1) the
    imperfection of x' = x + eps + (w - 1) x + b x^3 is <p, bias> = sqrt(2) beta to leading order."""
    nets = [coupled(w, S @ np.array([beta, 0.0, 0.0])) for w in (0.8, w1)]
    return track_fixed_points(nets, [0, 1], progress=False).bifurcations


def test_imperfect_pitchfork_is_located_and_classified():
    """Located against mpmath.findroot on the fold equations of the full 3-neuron map."""
    beta = 1e-3
    (bif,) = imperfect(beta)
    mp.mp.dps = 30
    Sm = mp.matrix(S.tolist())
    bias = Sm * mp.matrix([beta, 0, 0])

    def fold(alpha, x0, x1, x2):
        W = Sm * mp.diag([0.8 + 0.8 * alpha, 0.4, -0.3]) * mp.inverse(Sm)
        h = mp.matrix([x0, x1, x2])
        a = W * h + bias
        A = mp.diag([1 - mp.tanh(a[i]) ** 2 for i in range(3)]) * W
        return [h[i] - mp.tanh(a[i]) for i in range(3)] + [mp.det(mp.eye(3) - A)]

    root = mp.findroot(fold, [bif.alpha + 1e-3] + [float(v) + 1e-3 for v in bif.h])
    assert bif.alpha == pytest.approx(float(root[0]), abs=1e-10)
    assert bif.classification == "imperfect pitchfork" and bif.partner_error < 0.1 and bif.attractor


def test_imperfection_is_recovered_as_the_bias_vanishes():
    """eps / (sqrt(2) beta) -> 1 with the cubic truncation error, O(x_f^2) = O(beta^(2/3))."""
    errors = [abs(imperfect(beta)[0].imperfection / (np.sqrt(2) * beta) - 1) for beta in (1e-3, 1e-4)]
    assert errors[1] < 0.02
    assert 3 < errors[0] / errors[1] < 7  # 10^(2/3) = 4.6


def test_no_branch_jump_near_the_cusp():
    """beta = 1e-5: the saddle, the smooth branch and the fold pair lie within ~0.03; a long
    step from the saddle lands on the smooth branch and would report a false branch point."""
    assert [(b.kind, b.classification) for b in imperfect(1e-5)] == [("fold", "imperfect pitchfork")]


@pytest.mark.parametrize("beta, w1", [(1e-5, 1.2), (3e-6, 1.6), (1e-5, 2.0), (1e-4, 3.0)])
def test_no_false_event_near_the_cusp_whatever_the_segment(beta, w1):
    """Segments of other lengths put the steps elsewhere relative to the cusp: each one of these
    produced false branch points when steps across a special point were accepted at any length."""
    assert [b.kind for b in imperfect(beta, w1)] == ["fold"]


def test_a_strongly_imperfect_cusp_is_still_an_imperfect_pitchfork():
    """beta = 1e-2: the quartic and quintic terms move the third fixed point by ~15 % of |a/b|
    from the cubic prediction, well inside the half-|a/b| criterion."""
    (bif,) = imperfect(1e-2)
    assert bif.classification == "imperfect pitchfork" and 0.05 < bif.partner_error < 0.5


def test_tracked_branches_meet_the_fixed_points_of_the_later_checkpoint():
    nets = [coupled(0.8), coupled(1.1), coupled(1.3)]
    tracks = track_fixed_points(nets, [0, 100, 200], progress=False)
    arrived = [br.last.h for br in tracks.segments[1] if br.end == "alpha=1"]
    found = [fp.h for fp in find_fixed_points(nets[2], seeds=40)]
    assert len(arrived) == len(found) == 3
    for h in found:
        assert min(np.max(np.abs(h - a)) for a in arrived) < 1e-10
    history = tracks.leading_multipliers()
    origin = [mu for steps, mu, stable in history if stable]
    assert any(np.all(np.diff(mu) > 0) for mu in origin)  # the origin's |mu| grows monotonically with w


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: track_fixed_points([coupled(0.8)], [0]), ">= 2 checkpoints"),
        (lambda: track_fixed_points([coupled(0.8), coupled(0.9)], [0]), "one step per checkpoint"),
        (lambda: Chord(coupled(0.8), RNN(np.eye(2), np.zeros(2))), "one kind and size"),
        (lambda: continue_branch(Chord(coupled(0.8), coupled(0.9)), np.ones(3), 0.0), "not \\(near\\) a fixed point"),
        (lambda: continue_branch(Chord(coupled(0.8), coupled(0.9)), np.zeros(3), 0.0, direction=0), "direction"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("on, w_on", [(5, 1.0), (0, 1.0), (10, 1.0), (5, np.nextafter(1.0, 2.0)),
                                       (5, np.nextafter(1.0, 0.0)), (5, 1.0 + 1e-13)])
def test_a_checkpoint_exactly_on_the_bifurcation_is_tracked_through(on, w_on):
    # issue 18 reproducer: W = diag(w, 0.5, 0.3), w = 1 exactly at the checkpoint ``on`` (the first,
    # an inner one, the last); the origin's multiplier is w, so the pitchfork is at that step, with
    # b = tanh'''(0)/6 = -1/3 along e_0 (tanh u = u - u^3/3 + ...), reported once
    steps = list(range(11))
    nets = [RNN(np.diag([1.0 + 0.02 * (s - on), 0.5, 0.3]), np.zeros(3)) for s in steps]
    # also within rounding of it: just past, the side branches born ~1e-8 away must not add a "fold"
    nets[on] = RNN(np.diag([w_on, 0.5, 0.3]), np.zeros(3))
    tracks = track_fixed_points(nets, steps, seeds=10, progress=False)
    (bif,) = tracks.bifurcations
    assert bif.classification == "pitchfork" and bif.step == pytest.approx(on, abs=1e-8)
    assert bif.coefficients.values["b"] == pytest.approx(-1 / 3, rel=1e-6)


def test_the_finder_returns_one_point_at_a_degenerate_root():
    # h - tanh(h) ~ h^3/3 is below any residual tolerance on a whole interval around the root
    net = RNN(np.diag([1.0, 0.5, 0.3]), np.zeros(3))
    (fp,) = find_fixed_points(net, seeds=20)
    assert np.max(np.abs(fp.h)) < 1e-6
