"""Event detection on hand-built fixed-point sequences (readouts, stability)."""

from numerics.rnn._events import bifurcation_events


def fp(x, y, stable):
    return {"readout": [x, y], "abs_multipliers": [], "stable": stable}


def test_pitchfork_fold_and_stability_change_are_told_apart():
    steps = [0, 100, 200, 300, 400]
    seq = [
        [fp(0, 0, True)],                                                  # one stable origin
        [fp(0, 0, True)],
        [fp(0, 0, False), fp(0.3, 0.1, True), fp(-0.3, -0.1, True)],       # origin loses stability, pair born
        [fp(0, 0, False), fp(0.3, 0.1, True), fp(-0.3, -0.1, True), fp(0.5, -0.5, True), fp(0.4, -0.3, False)],
        [fp(0, 0, False), fp(0.3, 0.1, True), fp(-0.3, -0.1, False), fp(0.5, -0.5, True), fp(0.4, -0.3, False)],
    ]
    ev = bifurcation_events(steps, seq)
    assert [(e.kind, e.step_before, e.step_after) for e in ev] == [
        ("pitchfork", 100, 200), ("fold", 200, 300), ("stability change", 300, 400)]
    assert (ev[0].n_before, ev[0].n_after, ev[0].stable_before, ev[0].stable_after) == (1, 3, 1, 2)


def test_no_events_when_nothing_changes():
    assert bifurcation_events([0, 1], [[fp(0, 0, True)], [fp(0.01, 0, True)]]) == []
