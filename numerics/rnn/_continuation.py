r"""Pseudo-arclength continuation of a cell's fixed points between two checkpoints.

Between checkpoints theta_0 = (W_0, b_0) and theta_1 the parameters are joined
by the chord theta(alpha) = theta_0 + alpha (theta_1 - theta_0), alpha in [0, 1],
and the fixed-point curve

.. math:: G(h, \alpha) = h - F(h, x; \theta(\alpha)) = 0

(for the paper's cell F = tanh(W h + b); any cell of the protocol, at a constant input x)

is followed in (h, alpha) by pseudo-arclength continuation (Keller; Kuznetsov
2004, sec. 10.2): tangent predictor, Newton corrector on the hyperplane
orthogonal to the tangent, so the curve is followed around folds, where
natural continuation in alpha fails.  The step is adapted: it is halved when
Newton needs more than a few iterations, when the tangent turns by more than
``max_turn``, when the corrector moves more than a tenth of the step away from
the predictor, or when any multiplier moves by more than ``max_dmu`` -- which is
what keeps the continuation on its branch where the multipliers move fast --
and grows again where the curve is smooth.  A step across a special point is
only accepted once it is shorter than ``confirm_ds``, so a special point is
never reported from a step that jumped between branches.

Special points between two accepted steps are detected by test functions and
located by bisection along the arc to ~1e-12:

* ``fold``: the alpha-component of the tangent changes sign (limit point; a real
  multiplier passes +1 there);
* ``branch point``: a real multiplier passes +1 with no fold (pitchfork or
  transcritical -- nongeneric unless a symmetry holds, as in the symmetric
  control);
* ``flip``: a real multiplier passes -1;
* ``neimark-sacker``: a complex pair crosses the unit circle.

The chord is not the SGD path between checkpoints, but a codimension-one
bifurcation is a hypersurface in parameter space: any path between two
checkpoints on opposite sides crosses it, and the crossing on the chord lies
within the chord's distance from the SGD path of the one SGD crosses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._fixed_points import multipliers
from ._cells import AbstractCell
from normalforms._kinds import Kind
from normalforms._repr import short_repr

SPECIAL_KINDS = (Kind.FOLD, Kind.BRANCH_POINT, Kind.FLIP, Kind.NEIMARK_SACKER)


@short_repr()
@dataclass(frozen=True)
class ContinuationPoint:
    """A point (h, alpha) on the fixed-point curve with all multipliers (decreasing modulus)."""

    alpha: float
    h: np.ndarray
    multipliers: np.ndarray
    tangent_alpha: float

    @property
    def stable(self) -> bool:
        return bool(np.abs(self.multipliers[0]) < 1)


@short_repr()
@dataclass(frozen=True)
class SpecialPoint:
    """A located bifurcation on a branch: its kind, the critical point (h, alpha), and
    ``after``: the index in ``Branch.points`` of the last regular point before it."""

    kind: str
    point: ContinuationPoint
    after: int = -1

    @property
    def critical_multiplier(self) -> complex:
        mu = self.point.multipliers
        if self.kind in (Kind.FOLD, Kind.BRANCH_POINT):
            return complex(mu[np.argmin(np.abs(mu - 1))])
        if self.kind == Kind.FLIP:
            return complex(mu[np.argmin(np.abs(mu + 1))])
        return complex(mu[np.argmin(np.abs(np.abs(mu) - 1))])


@short_repr()
@dataclass
class Branch:
    """Points in order of arclength from the start, the special points met, and why it ended.

    ``end`` is ``"alpha=0"`` or ``"alpha=1"`` (the branch reached a checkpoint),
    or ``"max steps"`` / ``"step too small"`` (continuation gave up, reported,
    never silently truncated).
    """

    points: list = field(default_factory=list)
    specials: list = field(default_factory=list)
    end: str = ""

    @property
    def start(self) -> ContinuationPoint:
        return self.points[0]

    @property
    def last(self) -> ContinuationPoint:
        return self.points[-1]


class Chord:
    """theta(alpha) = theta_0 + alpha (theta_1 - theta_0) between two cells of one kind, and the
    fixed-point map h = F(h, x; theta(alpha)) on it at the constant input ``x`` (default 0)."""

    def __init__(self, net0: AbstractCell, net1: AbstractCell, x=None) -> None:
        if type(net0) is not type(net1) or net0.layout() != net1.layout():
            raise ValueError(f"checkpoints must be cells of one kind and size; got {net0!r} and {net1!r}")
        if net0.hyperparameters() != net1.hyperparameters():
            raise ValueError(f"checkpoints must share their hyperparameters (not on the chord): "
                             f"{net0.hyperparameters()} and {net1.hyperparameters()}")
        self.net0, self.net1, self.x = net0, net1, x
        self.theta0 = net0.flat()
        self.dtheta = net1.flat() - self.theta0

    def network(self, alpha: float) -> AbstractCell:
        # unchecked: an RNN re-validating all N^2 weights on every Newton step costs more than the step
        return self.net0.with_flat(self.theta0 + alpha * self.dtheta, check=False)

    def residual(self, y: np.ndarray) -> np.ndarray:
        h = y[:-1]
        return h - self.network(y[-1]).map1(h, self.x)

    def jacobian(self, y: np.ndarray) -> np.ndarray:
        """[G_h, G_alpha], shape (N, N + 1)."""
        h = y[:-1]
        net = self.network(y[-1])
        return np.hstack([np.eye(h.size) - net.jacobian_h(h, self.x),
                          -net.param_jvp1(h, self.dtheta, self.x)[:, None]])


def _tangent(chord: Chord, y: np.ndarray, previous: np.ndarray, conditioned: bool = False) -> np.ndarray:
    """The unit tangent of the curve at y, oriented along ``previous``.

    On a singular point (a checkpoint exactly on a fold or branch point) the bordered
    system is singular -- or, with ``conditioned``, ill-conditioned beyond 1e12 -- and the
    tangent is ``previous`` projected onto the null space of [G_h, G_alpha]: at a branch
    point, of the two branches through it, the one closest to the way the curve came (from
    a checkpoint: the one that continues in alpha); at a fold, where that projection
    vanishes, its null vector.
    """
    J = chord.jacobian(y)
    M = np.vstack([J, previous[None, :]])
    try:
        if not conditioned or np.linalg.cond(M) < 1e12:
            t = np.linalg.solve(M, np.r_[np.zeros(J.shape[0]), 1.0])
            return t / np.linalg.norm(t)
    except np.linalg.LinAlgError:
        pass
    _, sv, Vt = np.linalg.svd(J)  # J is N x (N + 1): its last right singular vector is always null
    null = Vt[np.r_[np.flatnonzero(sv < 1e-8 * max(sv[0], 1.0)), J.shape[1] - 1]]
    t = null.T @ (null @ previous)
    if np.linalg.norm(t) < 1e-12:
        t = null[-1] * np.sign(null[-1][np.argmax(np.abs(null[-1]))])
    return t / np.linalg.norm(t)


def _correct(chord: Chord, guess: np.ndarray, anchor: np.ndarray, tangent: np.ndarray,
             tol: float = 1e-12, iters: int = 8, step_tol: float | None = None) -> tuple[np.ndarray | None, int]:
    """Newton on G(y) = 0, tangent . (y - anchor) = 0; (None, iters) when it does not converge.

    ``step_tol`` (default ``tol``) bounds the last Newton step.  Where G_h is singular at the
    solution (a checkpoint exactly on a bifurcation) Newton converges only linearly; the caller
    then allows more iterations and a looser step, the residual still below ``tol``.
    """
    step_tol = tol if step_tol is None else step_tol
    y = guess.copy()
    for k in range(1, iters + 1):
        F = np.r_[chord.residual(y), tangent @ (y - anchor)]
        M = np.vstack([chord.jacobian(y), tangent[None, :]])
        try:
            step = np.linalg.solve(M, F)
        except np.linalg.LinAlgError:  # exactly singular (on a bifurcation): the least-squares step
            step = np.linalg.lstsq(M, F, rcond=None)[0]
        y = y - step
        if not np.all(np.isfinite(y)):
            return None, k
        if np.max(np.abs(step)) < step_tol and np.max(np.abs(chord.residual(y))) < tol:
            return y, k
    return None, iters


def _point(chord: Chord, y: np.ndarray, tangent: np.ndarray) -> ContinuationPoint:
    return ContinuationPoint(float(y[-1]), y[:-1].copy(), multipliers(chord.network(y[-1]), y[:-1], chord.x),
                             float(tangent[-1]))


def _state(kind: str, p: ContinuationPoint) -> int:
    """The discrete quantity whose change marks a special point of ``kind``.

    Determinant signs rather than counts of real multipliers: sign det(I - A) =
    sign prod(1 - mu) flips exactly when a real multiplier passes +1 (complex
    pairs contribute |1 - mu|^2 > 0), so the collision of two real multipliers
    into a complex pair is not mistaken for a crossing.
    """
    mu = p.multipliers
    if kind == Kind.FOLD:
        return int(np.sign(p.tangent_alpha))
    if kind == Kind.BRANCH_POINT:
        return int(np.sign(np.prod(1.0 - mu).real))
    if kind == Kind.FLIP:
        return int(np.sign(np.prod(1.0 + mu).real))
    return int(np.sum(np.abs(mu) > 1))


def _locate(chord: Chord, kind: str, y0: np.ndarray, t0: np.ndarray, ds: float, p0: ContinuationPoint) -> ContinuationPoint:
    """Bisect along the arc from y0 (tangent t0) in [0, ds] for the change of ``_state(kind)``."""
    lo, hi = 0.0, ds
    start = _state(kind, p0)
    best = p0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        y, _ = _correct(chord, y0 + mid * t0, y0 + mid * t0, t0)
        if y is None:
            hi = mid
            continue
        best = _point(chord, y, _tangent(chord, y, t0))
        if _state(kind, best) == start:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, ds):
            break
    return best


def continue_branch(chord: Chord, h: np.ndarray, alpha: float, direction: int = +1, ds: float = 1.0,
                    ds_max: float = 1.0, ds_min: float = 1e-9, max_turn: float = 0.2, max_dmu: float = 0.05,
                    confirm_ds: float = 1e-3, max_steps: int = 5000) -> Branch:
    """Follow the fixed point h of ``chord.network(alpha)`` while alpha stays in [0, 1].

    Parameters
    ----------
    chord : Chord
    h : ndarray, shape (N,)
        A fixed point (polished by a Newton step at fixed alpha first).
    alpha : float
        Its position on the chord, 0 or 1 when starting at a checkpoint.
    direction : {+1, -1}
        Initial sense of alpha.
    ds, ds_max, ds_min : float
        Initial, largest and smallest arclength steps in (h, alpha).
    max_turn : float
        Largest accepted angle (radians) between consecutive tangents.
    max_dmu : float
        Largest accepted change of any multiplier (sorted by modulus) per step.
    confirm_ds : float
        Largest step accepted across a special point (the step is halved until it is this short).
    """
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    y = np.r_[np.asarray(h, dtype=np.float64), float(alpha)]
    residual = float(np.max(np.abs(chord.residual(y))))
    fixed = np.r_[np.zeros(y.size - 1), 1.0]
    if residual > 1e-8:
        raise ValueError(f"the start is not (near) a fixed point of the network at alpha = {alpha} (residual "
                         f"{residual:.1e} > 1e-8); pass a fixed point, e.g. from find_fixed_points")
    # polish at fixed alpha, so the start is on the curve to rounding; on a singular point (a
    # checkpoint exactly on a bifurcation) that Newton system is singular and the start stays as given
    polished, _ = _correct(chord, y, y, fixed)
    if polished is not None:
        y = polished
    t = _tangent(chord, y, np.r_[np.zeros(y.size - 1), float(direction)], conditioned=True)
    branch = Branch()
    p = _point(chord, y, t)
    branch.points.append(p)
    for _ in range(max_steps):
        y_new, iters = _correct(chord, y + ds * t, y + ds * t, t)
        ok = y_new is not None
        if ok:
            t_new = _tangent(chord, y_new, t)
            p_new = _point(chord, y_new, t_new)
            turn = np.arccos(np.clip(t @ t_new, -1.0, 1.0))
            # sorted moduli are continuous along the branch (the multipliers' order is not)
            dmu = np.max(np.abs(np.abs(p_new.multipliers) - np.abs(p.multipliers)))
            # a corrector that travels far from the predictor may have landed on a neighbouring branch
            moved = np.linalg.norm(y_new - (y + ds * t))
            ok = turn <= max_turn and dmu <= max_dmu and moved <= 0.1 * ds and iters <= 5
            # a step across a special point is accepted only when short: a long step that lands on
            # another branch would otherwise fake one (e.g. a "branch point" near a cusp)
            if ok and ds > confirm_ds and any(_changes(p, p_new).values()):
                ok = False
        edge = _edge_crossed(y[-1], y_new[-1]) if ok else None
        if edge is not None:
            # leaving [0, 1]: land exactly on the checkpoint instead
            guess = y + (y_new - y) * (edge - y[-1]) / (y_new[-1] - y[-1])
            anchor = np.r_[np.zeros(y.size - 1), edge]
            y_new, _ = _correct(chord, guess, anchor, fixed)
            if y_new is None:  # the checkpoint may lie exactly on a bifurcation: G_h singular there
                y_new, _ = _correct(chord, guess, anchor, fixed, iters=200, step_tol=1e-9)
            ok = y_new is not None
            if ok:
                t_new = _tangent(chord, y_new, t)
                p_new = _point(chord, y_new, t_new)
        if not ok:
            ds *= 0.5
            if ds < ds_min:
                branch.end = "step too small"
                return branch
            continue
        _record_specials(chord, branch, y, t, float(t @ (y_new - y)), p, p_new)
        y, t, p = y_new, t_new, p_new
        branch.points.append(p)
        if edge is not None:
            branch.end = f"alpha={edge:g}"
            return branch
        if iters <= 3:
            ds = min(ds * 1.5, ds_max)
    branch.end = "max steps"
    return branch


def _edge_crossed(a0: float, a1: float) -> float | None:
    for edge in (0.0, 1.0):
        if a0 != edge and (a0 - edge) * (a1 - edge) <= 0:
            return edge
    return None


def _changes(p: ContinuationPoint, p_new: ContinuationPoint) -> dict[str, bool]:
    return {kind: _state(kind, p) != _state(kind, p_new) for kind in SPECIAL_KINDS}


def _record_specials(chord: Chord, branch: Branch, y: np.ndarray, t: np.ndarray, ds: float,
                     p: ContinuationPoint, p_new: ContinuationPoint) -> None:
    changed = _changes(p, p_new)
    found = []
    if changed[Kind.FOLD]:
        found.append(Kind.FOLD)  # a real multiplier passes +1 at a fold too; it is not a second event
    elif changed[Kind.BRANCH_POINT]:
        found.append(Kind.BRANCH_POINT)
    if changed[Kind.FLIP]:
        found.append(Kind.FLIP)
    if changed[Kind.NEIMARK_SACKER] and not (changed[Kind.FOLD] or changed[Kind.BRANCH_POINT] or changed[Kind.FLIP]):
        found.append(Kind.NEIMARK_SACKER)  # the count of |mu| > 1 changed with no real crossing: a complex pair
    for kind in found:
        branch.specials.append(SpecialPoint(kind, _locate(chord, kind, y, t, ds, p), len(branch.points) - 1))
