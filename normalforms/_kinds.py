"""One vocabulary for bifurcations: their kinds, their criticality, and the one rule that reads it.

Used by the symbolic and numeric analysis of maps (``normalforms``) and by the
RNN fixed-point tracker (``numerics.rnn``) alike.  The members are strings,
so ``kind == "fold"`` and JSON output keep working.

Criticality (Kuznetsov 2004, sec. 4.4-4.7): a flip with c > 0, a
Neimark-Sacker point with d = Re(e^{-i theta} c1) < 0 and a pitchfork
with cubic coefficient b < 0 are supercritical (the bifurcating cycle, torus or
pair of fixed points is stable); the opposite sign is subcritical; zero is
degenerate (codimension two).  Folds and transcritical points have no
criticality, only a non-degeneracy a != 0.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["Kind", "Criticality", "criticality"]


class _Text(str, Enum):
    def __str__(self) -> str:  # the plain word, also in f-strings (Python 3.11 changed Enum.__format__)
        return self.value

    __format__ = lambda self, spec: format(self.value, spec)  # noqa: E731


class Kind(_Text):
    """A codimension-one bifurcation of a fixed point (or a special point met along a branch)."""

    FOLD = "fold"
    TRANSCRITICAL = "transcritical"
    PITCHFORK = "pitchfork"
    IMPERFECT_PITCHFORK = "imperfect pitchfork"
    FLIP = "flip"
    NEIMARK_SACKER = "neimark-sacker"
    BRANCH_POINT = "branch point"  # two branches cross; transcritical or pitchfork once classified
    DEGENERATE = "degenerate"


class Criticality(_Text):
    SUPERCRITICAL = "supercritical"
    SUBCRITICAL = "subcritical"
    DEGENERATE = "degenerate"
    NONE = "n/a"


# The coefficient whose sign decides, and the sign that makes a kind supercritical.
_RULES = {Kind.FLIP: ("c", 1), Kind.NEIMARK_SACKER: ("d", -1), Kind.PITCHFORK: ("b", -1)}


def criticality(kind: Any, values: dict, sign) -> Criticality:
    """The criticality of a bifurcation of ``kind`` from its critical coefficients ``values``.

    ``sign(x)`` returns -1, 0 or 1 (callers decide what counts as zero: exactly, or within the
    accuracy of a numerically located point).
    """
    kind = Kind(kind)
    if kind in (Kind.FOLD, Kind.TRANSCRITICAL):
        return Criticality.DEGENERATE if sign(values["a"]) == 0 else Criticality.NONE
    if kind not in _RULES:
        return Criticality.NONE
    name, super_sign = _RULES[kind]
    s = sign(values[name])
    if s == 0:
        return Criticality.DEGENERATE
    return Criticality.SUPERCRITICAL if s == super_sign else Criticality.SUBCRITICAL
