r"""Bifurcation events along a training record (paper, sec. 2, figure 1 A-C, G).

Between consecutive checkpoints the student's fixed points are compared: an
event is a change in the number of fixed points or in the number of stable
ones.  Its type is read off the change:

* ``pitchfork``: two fixed points appear and a persisting point changes
  stability (one unstable direction gained) -- exact in the symmetric control;
* ``fold``: a stable/unstable pair appears (or disappears) with no persisting
  point changing stability -- what an *imperfect* pitchfork looks like (one
  branch connects smoothly, the other pair is born in a fold);
* ``stability change``: the number of fixed points is unchanged but one
  becomes stable or unstable (a multiplier crossed the unit circle: flip or
  Neimark-Sacker if it was -1 or complex).

Checkpoints are only as dense as ``record_every``; the bracket of steps says
where the event lies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from normalforms._kinds import Kind


@dataclass(frozen=True)
class Event:
    """A change between records ``index - 1`` and ``index`` (steps ``step_before``..``step_after``)."""

    index: int
    step_before: int
    step_after: int
    kind: str
    n_before: int
    n_after: int
    stable_before: int
    stable_after: int


def _counts(fps: list) -> tuple[int, int]:
    return len(fps), sum(bool(fp["stable"]) for fp in fps)


def _persisting_changed(before: list, after: list, tol: float = 0.05) -> bool:
    """Whether a fixed point present in both (matched by readout within tol) changed stability."""
    for fa in after:
        ra = np.array(fa["readout"])
        near = [fb for fb in before if np.max(np.abs(np.array(fb["readout"]) - ra)) < tol]
        if near and any(bool(fb["stable"]) != bool(fa["stable"]) for fb in near):
            return True
    return False


def bifurcation_events(steps: list, fixed_points: list, attractors_only: bool = False) -> list[Event]:
    """Events between consecutive records (``TrainingRecord.steps``, ``.fixed_points``).

    With ``attractors_only`` only changes in the number of *stable* fixed
    points count: those are found reliably (every run of the map lands on
    one), whereas a Newton search from finitely many seeds can miss an
    unstable point at one checkpoint and find it at the next.
    """
    events = []
    for i in range(1, len(steps)):
        (n0, s0), (n1, s1) = _counts(fixed_points[i - 1]), _counts(fixed_points[i])
        if (n0, s0) == (n1, s1) or (attractors_only and s0 == s1):
            continue
        changed = _persisting_changed(fixed_points[i - 1], fixed_points[i])
        if n1 != n0 and changed:
            kind = Kind.PITCHFORK
        elif n1 != n0:
            kind = Kind.FOLD
        else:
            kind = "stability change"
        events.append(Event(i, steps[i - 1], steps[i], kind, n0, n1, s0, s1))
    return events
