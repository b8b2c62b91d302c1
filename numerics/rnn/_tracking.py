r"""Fixed points tracked through training, with located and classified bifurcations (paper, fig. 1 A-C, G).

Each pair of consecutive checkpoints is joined by its chord (``_continuation``)
and every fixed point is continued across it by pseudo-arclength continuation
with adaptive steps, so a branch is followed wherever its multipliers move fast
and can neither jump to a neighbouring branch nor be lost between checkpoints:

* the fixed points of the earlier checkpoint are continued forward (alpha 0 -> 1);
  one that comes back to alpha = 0 was annihilated in a fold inside the segment;
* fixed points of the later checkpoint not reached that way were born inside
  the segment (or missed by the finder before) and are continued backward.

Every special point met is located to ~1e-12 in alpha and classified with the
centre-manifold coefficients of ``critical_coefficients`` (Kuznetsov's
formulas, the same as ``normalforms``), reduced to the scalar normal form

.. math:: z' = z + a z^2 + b z^3   (multiplier +1),

* ``branch point`` with a = 0: **pitchfork** (super- if b < 0); a != 0: transcritical;
* ``fold``: with the fold at z = 0, the cubic form is the imperfect pitchfork
  x' = x + eps + mu x + b x^3 seen from its fold at x_f = a / (3b), with
  imperfection eps = 2 a^3 / (27 b^2) (in the coordinate along q); it predicts
  the third fixed point of the cusp at z = -a/b.  If the network has a fixed
  point there (within half of |a/b|), the fold is the saddle-node half of an
  **imperfect pitchfork**; otherwise a plain **fold**;
* ``flip``: c of the period-doubling form; ``neimark-sacker``: the multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._inputs import SeedLike, as_generator
from ._continuation import Branch, Chord, ContinuationPoint, SpecialPoint, continue_branch
from ._fixed_points import find_fixed_points, near
from ._cells import AbstractCell
from ._normal_form import RnnCriticalCoefficients, critical_coefficients
from normalforms._kinds import Criticality, Kind, criticality
from normalforms._repr import short_repr


@short_repr("step", "kind", "classification", "attractor", "multiplier", "coefficients", "imperfection")
@dataclass(frozen=True)
class LocatedBifurcation:
    """A bifurcation located between records ``index - 1`` and ``index``.

    ``step`` is its position in training steps, step_before + alpha * (step_after - step_before).
    ``attractor``: every multiplier but the critical one(s) lies inside the unit circle, so
    the bifurcation creates, destroys or destabilises an attractor (what the loss can see).
    ``imperfection`` (eps), ``cusp_offset`` (a / 3b) and ``partner_error`` (distance of the
    cusp's third fixed point from its prediction, relative to |a / b|) are set for folds.
    """

    index: int
    step_before: int
    step_after: int
    alpha: float
    kind: str
    classification: str
    h: np.ndarray
    multiplier: complex
    network: AbstractCell
    coefficients: RnnCriticalCoefficients | None
    attractor: bool = False
    imperfection: float | None = None
    cusp_offset: float | None = None
    partner_error: float | None = None

    @property
    def step(self) -> float:
        return self.step_before + self.alpha * (self.step_after - self.step_before)

    @property
    def criticality(self) -> Criticality:
        """By the one rule of :func:`normalforms._kinds.criticality` (a zero below 1e-9 is degenerate)."""
        if self.coefficients is None:
            return Criticality.NONE
        kind = Kind.FOLD if self.classification == Kind.IMPERFECT_PITCHFORK else self.classification
        return criticality(kind, self.coefficients.values, lambda v: 0 if abs(v) < 1e-9 else (1 if v > 0 else -1))


@dataclass
class FixedPointTracks:
    """All continued branches per segment and the located bifurcations, in training order."""

    steps: list
    segments: list = field(default_factory=list)  # per segment: list of Branch
    bifurcations: list = field(default_factory=list)

    def __repr__(self) -> str:
        span = f"steps {self.steps[0]}..{self.steps[-1]} ({len(self.steps)} records)" if self.steps else "no records"
        branches = sum(len(seg) for seg in self.segments)
        events = "; ".join(f"{b.classification} at {b.step:.6g}" for b in self.bifurcations[:5])
        more = f"; ... {len(self.bifurcations) - 5} more" if len(self.bifurcations) > 5 else ""
        return (f"FixedPointTracks({span}, {branches} branch segments, {len(self.bifurcations)} bifurcations"
                + (f": {events}{more})" if events else ")"))

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{b.step:.6g}</td><td>{b.kind}</td><td>{b.classification}</td>"
                       f"<td>{'yes' if b.attractor else 'no'}</td><td>{abs(b.multiplier):.4g}</td></tr>"
                       for b in self.bifurcations)
        return (f"<p>{repr(self)}</p><table><tr><th>step</th><th>kind</th><th>classification</th>"
                f"<th>attractor</th><th>|multiplier|</th></tr>{rows}</table>")

    def leading_multipliers(self) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        """Per continued branch: (training steps, leading |multiplier|, stable at its start)."""
        out = []
        for i, branches in enumerate(self.segments, start=1):
            s0, s1 = self.steps[i - 1], self.steps[i]
            for br in branches:
                a = np.array([p.alpha for p in br.points])
                mu = np.array([abs(p.multipliers[0]) for p in br.points])
                out.append((s0 + a * (s1 - s0), mu, br.start.stable))
        return out


def _coincide(sp: SpecialPoint, others: list[SpecialPoint], alpha_tol: float, h_tol: float) -> bool:
    return any(abs(sp.point.alpha - o.point.alpha) < alpha_tol and near(sp.point.h, [o.point.h], h_tol)
               for o in others)


def _shifted(p: ContinuationPoint, by: float) -> ContinuationPoint:
    return ContinuationPoint(p.alpha + by, p.h, p.multipliers, p.tangent_alpha)


def classify(special: SpecialPoint, chord: Chord, index: int, step_before: int, step_after: int,
             seeds: int = 20, rng: SeedLike = 0) -> LocatedBifurcation:
    """Normal-form coefficients and the classification of one located special point."""
    p = special.point
    net = chord.network(p.alpha)
    x = chord.x
    mu = special.critical_multiplier
    rest = p.multipliers[np.abs(p.multipliers - mu) > 1e-6]
    if special.kind == Kind.NEIMARK_SACKER:
        rest = rest[np.abs(rest - np.conj(mu)) > 1e-6]
    base = dict(index=index, step_before=step_before, step_after=step_after, alpha=p.alpha, kind=special.kind,
                h=p.h, multiplier=mu, network=net, attractor=bool(np.all(np.abs(rest) < 1)))
    if special.kind == Kind.NEIMARK_SACKER:
        return LocatedBifurcation(classification=Kind.NEIMARK_SACKER, coefficients=None, **base)
    if special.kind == Kind.FLIP:
        coef = critical_coefficients(net, p.h, sign=-1, x=x)
        return LocatedBifurcation(classification=Kind.FLIP, coefficients=coef, **base)
    coef = critical_coefficients(net, p.h, sign=+1, x=x)
    a, b = coef.values["a"], coef.values["b"]
    if special.kind == Kind.BRANCH_POINT:
        # at an exact pitchfork the quadratic coefficient vanishes by symmetry (to rounding)
        label = Kind.PITCHFORK if abs(a) <= 1e-7 * max(1.0, abs(b)) else Kind.TRANSCRITICAL
        return LocatedBifurcation(classification=label, coefficients=coef, **base)
    if b == 0:
        return LocatedBifurcation(classification=Kind.FOLD, coefficients=coef, **base)
    third = p.h - (a / b) * coef.q
    others = find_fixed_points(net, seeds=seeds, rng=rng, extra=np.array([third]), x=x)
    scale = abs(a / b)
    # the fold point itself (and its near-degenerate pair) sits at distance |a/b| from the prediction
    away = [fp.h for fp in others if np.linalg.norm(fp.h - p.h) > 0.25 * scale]
    dist = min((np.linalg.norm(h - third) for h in away), default=np.inf) / scale
    return LocatedBifurcation(classification=Kind.IMPERFECT_PITCHFORK if dist < 0.5 else Kind.FOLD, coefficients=coef,
                              imperfection=2 * a**3 / (27 * b**2), cusp_offset=a / (3 * b), partner_error=float(dist),
                              **base)


def track_fixed_points(networks: list[AbstractCell], steps: list[int], seeds: int = 20, rng: SeedLike = 0,
                       progress: bool | None = None, x=None) -> FixedPointTracks:
    """Continue every fixed point across consecutive checkpoints and locate the bifurcations.

    Parameters
    ----------
    networks : list of cells
        Checkpoints in training order (e.g. ``[record.network(i) for i in range(...)]``): the paper's
        ``RNN`` or any cell of the protocol (GRU, leaky, tanh with inputs), all of one kind and size.
    steps : list of int
        Their training steps.
    seeds : int
        Random Newton starts per checkpoint for points the continuation cannot reach
        (born inside a segment, or present from the start).
    rng : int or Generator
    x : ndarray, shape (n_in,), optional
        The constant input at which an input-driven cell's fixed points are tracked (default 0).
    """
    if len(networks) != len(steps) or len(networks) < 2:
        raise ValueError(f"need >= 2 checkpoints and one step per checkpoint; got {len(networks)} networks, "
                         f"{len(steps)} steps")
    gen = as_generator(rng)
    tracks = FixedPointTracks(steps=list(steps))
    current = [fp.h for fp in find_fixed_points(networks[0], seeds=seeds, rng=gen, x=x)]
    at_checkpoint: list[SpecialPoint] = []  # events located on the last segment's end (alpha = 1)
    from tqdm.auto import tqdm

    for i in tqdm(range(1, len(networks)), desc="tracking fixed points", disable=progress is False,
                  delay=0 if progress else 1.0, leave=False):
        chord = Chord(networks[i - 1], networks[i], x)
        branches: list[Branch] = [continue_branch(chord, h, 0.0, +1) for h in current]
        arrived = [br.last.h for br in branches if br.end == "alpha=1"]
        found = find_fixed_points(networks[i], seeds=seeds, rng=gen, extra=np.array(arrived) if arrived else None,
                                  x=x)
        for fp in found:
            if not near(fp.h, arrived, 1e-6):
                br = continue_branch(chord, fp.h, 1.0, -1)
                branches.append(br)
        for br in branches:
            if br.end not in ("alpha=0", "alpha=1"):
                raise RuntimeError(f"continuation between steps {steps[i - 1]} and {steps[i]} stopped early "
                                   f"({br.end}); the checkpoints may be too far apart to track")
        tracks.segments.append(branches)
        seen: list[SpecialPoint] = []
        for br in branches:
            for sp in br.specials:
                if _coincide(sp, [o for o in seen if o.kind == sp.kind], 1e-7, 1e-4):
                    continue  # a fold is met from both of its branches
                seen.append(sp)
        # A checkpoint on (or within rounding of) a bifurcation ends one segment and starts the next on it:
        # the previous segment's events at alpha = 1 (carried over at alpha = 0) count here too, so it is
        # one event, and its side branches' turn is not a fold
        bps = [o for o in seen + at_checkpoint if o.kind == Kind.BRANCH_POINT]
        # a pitchfork's new branches turn in alpha at the branch point: seen from them it looks like a fold
        seen = [sp for sp in seen if not (sp.kind == Kind.FOLD and _coincide(sp, bps, 1e-2, 1e-2))]
        seen = [sp for sp in seen if not _coincide(sp, [o for o in at_checkpoint if o.kind == sp.kind], 1e-7, 1e-4)]
        at_checkpoint = []
        for sp in sorted(seen, key=lambda s: s.point.alpha):
            tracks.bifurcations.append(classify(sp, chord, i, steps[i - 1], steps[i], seeds=seeds, rng=gen))
            if sp.point.alpha > 1 - 1e-7:
                at_checkpoint.append(SpecialPoint(sp.kind, _shifted(sp.point, -1.0), sp.after))
        current = [fp.h for fp in found]
    return tracks
