r"""The cell protocol: every recurrent model the RNN tools accept (issue 18).

A cell is the state update

.. math:: h_t = F(h_{t-1}, x_t; \theta),

with the parameters theta in named groups (``layout``: name -> shape, in the
order of the flat vector).  A cell writes two things:

* ``_update(h, x, p)`` -- F on a batch, written with ``+ - * @``, ``.T``, slicing and
  :func:`~numerics.rnn._jet.tanh` / :func:`~numerics.rnn._jet.sigmoid`, so that the
  same code evaluates on Taylor jets; every forward-mode derivative (JVP in theta
  and h, the Jacobian dF/dh, the second and third directional derivatives in h that
  the critical coefficients need) comes from it exactly;
* ``_update_vjp(h, x, h_new, lam)`` -- the adjoint of one step: given lambda on h_t,
  the cotangent on h_{t-1} and the parameter gradients (BPTT by hand: reverse mode
  cannot be derived from forward jets without a tape).

Everything else -- flattening in one place, batched forward, sequence JVP/VJP,
fixed-point maps at a constant input -- is the protocol's, shared by every cell.
Adding a cell is one class plus its tests; the GRU below is the worked example
(see ``docs/rnn.md``).  Cells are immutable: ``with_flat`` returns a new one.

Cells here: :class:`TanhCell` (tanh RNN with inputs), :class:`LeakyCell`
(Euler-discretised continuous-time RNN) and :class:`GRUCell` (PyTorch's
equations and layout).  The paper's autonomous network ``RNN`` (W, b) is a
cell too, with hand-fused kernels for its sequence derivatives.
"""

from __future__ import annotations

import abc
from typing import Mapping

import numpy as np

from .._inputs import real_array
from . import _fused
from ._jet import Jet, coefficient, sigmoid, tanh

__all__ = ["AbstractCell", "ParamCell", "TanhCell", "LeakyCell", "GRUCell"]


class AbstractCell(abc.ABC):
    """h_t = F(h_{t-1}, x_t; theta) with named parameter groups; see the module docstring."""

    # ---- what a cell provides -------------------------------------------------------------
    @property
    @abc.abstractmethod
    def N(self) -> int:
        """Hidden size."""

    @property
    def n_in(self) -> int:
        """Input size (0 for an autonomous cell)."""
        return 0

    @abc.abstractmethod
    def layout(self) -> dict[str, tuple[int, ...]]:
        """Parameter groups, name -> shape, in the order of the flat vector."""

    @abc.abstractmethod
    def params(self) -> dict[str, np.ndarray]:
        """The current values of the groups."""

    @abc.abstractmethod
    def _from_groups(self, groups: dict[str, np.ndarray], check: bool) -> "AbstractCell":
        """A cell of the same kind and hyperparameters with these group values."""

    def hyperparameters(self) -> dict:
        """Fixed settings that are not parameters (not trained, not on a chord): {} unless a cell has some."""
        return {}

    def _trace_parts(self, H: np.ndarray, X: np.ndarray | None, groups) -> list | None:
        r"""The exact trace's structure, or None (then the trace sums ||J e_p||^2 over unit directions).

        A cell whose parameters enter through pre-activations c = M u + beta (a weight M applied to
        an input u of the step -- h_{t-1} or x_t -- and a bias beta), each pre-activation feeding
        only its own neuron j, has dh_s/dM_{jk} = e_j g_s[j] u_{s,k}: the trace over the groups in
        scope is then, with P_{t,s} = dh_t/dh_s,

        .. math:: \mathrm{tr} = \sum_{(g, K)} \sum_t \sum_{s, s' \le t} K_{ss'}
                  \langle P_{t,s} \mathrm{diag}(g_s), P_{t,s'} \mathrm{diag}(g_{s'}) \rangle_F ,

        K_{ss'} = u_s . u_{s'} (weight in scope) + 1 (bias in scope).  Returns the pairs
        (g (T, B, N), K (B, T, T)); P is carried forward by :meth:`jvp_step`.
        """
        return None

    @abc.abstractmethod
    def _update(self, h, x, p):
        """F(h, x; p) for a batch h (B, N), x (B, n_in) or None; any argument may be a Jet."""

    @abc.abstractmethod
    def _update_vjp(self, h: np.ndarray, x: np.ndarray | None, h_new: np.ndarray,
                    lam: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One step's adjoint: lam (m, B, N) on h_new -> (cotangent on h (m, B, N), grads {group: (m, *shape)})."""

    # ---- flattening, in one place ---------------------------------------------------------
    @property
    def n_params(self) -> int:
        return int(sum(int(np.prod(s, dtype=np.int64)) for s in self.layout().values()))

    def slices(self) -> dict[str, slice]:
        """Where each group sits in the flat vector."""
        out, start = {}, 0
        for name, shape in self.layout().items():
            size = int(np.prod(shape, dtype=np.int64))
            out[name] = slice(start, start + size)
            start += size
        return out

    def scope(self, params="all") -> tuple[list[str], np.ndarray]:
        """The parameter groups named by ``params`` ("all" or a sequence of group names) and the positions
        of their entries in the flat vector, in the order given: the coordinates of scoped directions."""
        slices = self.slices()
        groups = list(slices) if isinstance(params, str) and params == "all" else params
        if isinstance(groups, str) or not all(g in slices for g in groups) or not len(groups):
            raise ValueError(f"params must be 'all' or a sequence of the cell's groups {list(slices)}, "
                             f"got {params!r}")
        groups = list(groups)
        return groups, np.concatenate([np.arange(self.n_params)[slices[g]] for g in groups])

    def flat(self) -> np.ndarray:
        """theta: the groups raveled (row-major) and concatenated in ``layout`` order."""
        p = self.params()
        return np.concatenate([np.ravel(p[name]) for name in self.layout()])

    def split(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Flat vectors (..., P) -> {group: (..., *shape)} (views)."""
        theta = np.asarray(theta)
        lead = theta.shape[:-1]
        return {name: theta[..., sl].reshape(lead + self.layout()[name]) for name, sl in self.slices().items()}

    def with_flat(self, theta: np.ndarray, check: bool = True) -> "AbstractCell":
        """The same cell with parameters theta (P,); ``check=False`` skips validation (inner loops)."""
        if check:
            theta = real_array(theta, "theta")
            if theta.shape != (self.n_params,):
                raise ValueError(f"theta must have shape ({self.n_params},) for this {type(self).__name__}, "
                                 f"got {theta.shape}")
        return self._from_groups({k: v.copy() for k, v in self.split(theta).items()}, check)

    # ---- sequences --------------------------------------------------------------------------
    def _inputs(self, X, T: int | None, B: int) -> tuple[np.ndarray | None, int]:
        if X is None:
            if self.n_in:
                raise ValueError(f"this {type(self).__name__} takes inputs: pass X of shape (T, B, {self.n_in})")
            if T is None:
                raise ValueError("an autonomous cell needs the horizon T")
            return None, int(T)
        X = real_array(X, "X")
        if X.ndim != 3 or X.shape[1:] != (B, self.n_in):
            raise ValueError(f"inputs must have shape (T, {B}, {self.n_in}), got {X.shape}")
        return X, X.shape[0]

    def _start(self, h0, X, T):
        h0 = real_array(h0, "h0")
        if h0.ndim != 2 or h0.shape[1] != self.N:
            raise ValueError(f"h0 must have shape (B, {self.N}), got {h0.shape}")
        X, T = self._inputs(X, T, h0.shape[0])
        return h0, X, T

    def forward(self, h0: np.ndarray, X: np.ndarray | None = None, T: int | None = None) -> np.ndarray:
        """States h_0..h_T, shape (T + 1, B, N), from h0 (B, N) and inputs X (T, B, n_in) (or T alone)."""
        h0, X, T = self._start(h0, X, T)
        H = np.empty((T + 1,) + h0.shape)
        H[0] = h0
        p = self.params()
        for t in range(1, T + 1):
            H[t] = self._update(H[t - 1], None if X is None else X[t - 1], p)
        if not np.all(np.isfinite(H)):
            raise FloatingPointError("the states overflowed (NaN/inf) in the forward pass")
        return H

    def _tangent_groups(self, dtheta: np.ndarray) -> dict[str, np.ndarray]:
        # m directions on a leading axis; vectors get a unit batch axis to broadcast against (m, B, N)
        m = dtheta.shape[0]
        return {name: v.reshape((m,) + (1,) * max(0, 2 - len(v.shape[1:])) + v.shape[1:])
                for name, v in self.split(dtheta).items()}

    def jvp_step(self, h: np.ndarray, x: np.ndarray | None, dh, dp: dict | None) -> np.ndarray:
        """DF[dh, dp] at (h, x): dh (m, B, N) or 0, dp {group: tangent with leading m} or None -> (m, B, N)."""
        p = self.params()
        pj = p if dp is None else {k: Jet([v, dp[k]]) if k in dp else v for k, v in p.items()}
        out = coefficient(self._update(Jet([h, dh]), x, pj), 1)
        # out lacks the direction axis where no tangent reached it (e.g. only b moved): give it back
        m = np.shape(dh)[0] if np.ndim(dh) == 3 else next(iter(dp.values())).shape[0]
        return np.broadcast_to(out, (m,) + h.shape)

    def jvp(self, H: np.ndarray, X: np.ndarray | None, dtheta: np.ndarray) -> np.ndarray:
        """J dtheta: the state perturbations dh_1..dh_T, (m, T, B, N), for m flat directions (m, P)."""
        dtheta = self._check_directions(dtheta)
        dp = self._tangent_groups(dtheta)
        T = H.shape[0] - 1
        out = np.empty((dtheta.shape[0], T) + H.shape[1:])
        dh = 0.0
        for t in range(1, T + 1):
            dh = self.jvp_step(H[t - 1], None if X is None else X[t - 1], dh, dp)
            out[:, t - 1] = dh
        return out

    def _check_directions(self, dtheta) -> np.ndarray:
        dtheta = np.atleast_2d(real_array(dtheta, "dtheta"))
        if dtheta.ndim != 2 or dtheta.shape[-1] != self.n_params:
            raise ValueError(f"parameter directions must have shape (m, {self.n_params}), got {dtheta.shape}")
        return dtheta

    def vjp(self, H: np.ndarray, X: np.ndarray | None, V: np.ndarray) -> np.ndarray:
        """J^T V: cotangents V (m, T, B, N) on h_1..h_T -> flat parameter gradients (m, P), batch summed."""
        V = self._check_cotangents(H, V)
        m, T = V.shape[0], H.shape[0] - 1
        grads = {name: np.zeros((m,) + shape) for name, shape in self.layout().items()}
        lam = np.zeros((m,) + H.shape[1:])
        for t in range(T, 0, -1):
            lam = lam + V[:, t - 1]
            lam, g = self._update_vjp(H[t - 1], None if X is None else X[t - 1], H[t], lam)
            for name, value in g.items():
                grads[name] += value
        return self._join_grads(grads)

    def _check_cotangents(self, H, V) -> np.ndarray:
        V = real_array(V, "V")
        if V.ndim == 3:
            V = V[None]
        if V.shape[1:] != H[1:].shape:
            raise ValueError(f"cotangents must have shape (m,) + {H[1:].shape}, got {V.shape}")
        return V

    def _join_grads(self, grads: dict) -> np.ndarray:
        m = next(iter(grads.values())).shape[0]
        return np.concatenate([grads[name].reshape(m, -1) for name in self.layout()], axis=1)

    # ---- one state at a constant input: fixed points, continuation, normal forms --------------
    def _x1(self, x) -> np.ndarray | None:
        if self.n_in == 0:
            return None
        x = np.zeros(self.n_in) if x is None else np.asarray(x, dtype=np.float64)
        if x.shape != (self.n_in,):
            raise ValueError(f"the constant input must have shape ({self.n_in},), got {x.shape}")
        return x[None]

    def map1(self, h: np.ndarray, x=None) -> np.ndarray:
        """F(h, x) for one state h (N,) at the constant input x (default 0)."""
        return self._update(h[None], self._x1(x), self.params())[0]

    def jacobian_h(self, h: np.ndarray, x=None) -> np.ndarray:
        """dF/dh (N, N) at one state."""
        return self.jacobian_h_batch(h[None], x)[0]

    def jacobian_h_batch(self, H: np.ndarray, x=None) -> np.ndarray:
        """dF/dh (S, N, N) at S states (S, N) at the constant input x: N tangent directions on all of them."""
        S, N = H.shape
        dh = np.broadcast_to(np.eye(N)[:, None, :], (N, S, N))
        return self.jvp_step(H, self._x1(x), dh, None).transpose(1, 2, 0)

    def param_jvp1(self, h: np.ndarray, dtheta: np.ndarray, x=None) -> np.ndarray:
        """dF/dtheta . dtheta (N,) at one state, for one flat direction (P,)."""
        return self.jvp_step(h[None], self._x1(x), 0.0, self._tangent_groups(dtheta[None]))[0, 0]

    def _taylor(self, h: np.ndarray, u: np.ndarray, x=None) -> list:
        c = self._update(Jet([h[None], u[None], 0.0, 0.0]), self._x1(x), self.params()).c
        return [np.broadcast_to(ck, (1, self.N))[0] for ck in c]

    def second(self, h: np.ndarray, u: np.ndarray, v: np.ndarray, x=None) -> np.ndarray:
        """D^2F[u, v] (N,) at one state, by polarisation of second directional derivatives."""
        return 0.5 * (self._taylor(h, u + v, x)[2] - self._taylor(h, u - v, x)[2])

    def third(self, h: np.ndarray, u: np.ndarray, x=None) -> np.ndarray:
        """D^3F[u, u, u] (N,) at one state."""
        return 6.0 * self._taylor(h, u, x)[3]


class ParamCell(AbstractCell):
    """A cell holding its groups in a dict, validated against its layout once at construction.

    A subclass sets ``_N`` (hidden size) and ``_nin`` (input size) before calling this ``__init__``.
    """

    @property
    def N(self) -> int:
        return self._N

    @property
    def n_in(self) -> int:
        return self._nin

    def __init__(self, groups: Mapping[str, np.ndarray], check: bool = True) -> None:
        self._p = dict(groups)
        if check:
            for name, shape in self.layout().items():
                if name not in self._p:
                    raise ValueError(f"{type(self).__name__} needs the parameter group {name!r} of shape {shape}")
                value = real_array(self._p[name], name)
                if value.shape != shape:
                    raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
                if not np.all(np.isfinite(value)):
                    raise ValueError(f"{name} must be finite; it holds NaN or inf")
                self._p[name] = value
            extra = set(self._p) - set(self.layout())
            if extra:
                raise ValueError(f"unknown parameter groups {sorted(extra)} for {type(self).__name__}; "
                                 f"it has {list(self.layout())}")

    def params(self) -> dict[str, np.ndarray]:
        return self._p

    def __getattr__(self, name: str):
        p = self.__dict__.get("_p")
        if p is not None and name in p:
            return p[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(N={self.N}, n_in={self.n_in}, {self.n_params} parameters)"


def _affine(h, x, W, b, W_in):
    a = h @ W.T + b
    return a if x is None else a + x @ W_in.T


def _directions(dh, dp) -> int:
    return np.shape(dh)[0] if np.ndim(dh) == 3 else next(iter(dp.values())).shape[0]


def _rows_times(v: np.ndarray, dM: np.ndarray) -> np.ndarray:
    """v (B, n) times each of m matrices dM (m, r, n) transposed: (m, B, r), as one (B, n) x (n, m r) product."""
    m, r, n = dM.shape
    return (v @ dM.reshape(m * r, n).T).reshape(v.shape[0], m, r).transpose(1, 0, 2)


def _linear_tangent(dh, dp, h, x, M: str, M_in: str | None, bias: tuple[str, ...], p, m: int):
    """d(M h + M_in x + sum of biases) for tangents dh (m, B, N) or 0 and dp {group: (m, ...)} or None."""
    B, N = h.shape
    if not dp and np.ndim(dh) == 3:  # state tangents only (Jacobians, the trace's stack): one product
        return (np.reshape(dh, (-1, N)) @ p[M].T).reshape(m, B, -1)
    out = np.zeros((m, B, p[M].shape[0]))
    if np.ndim(dh) == 3:
        out += (np.reshape(dh, (-1, N)) @ p[M].T).reshape(m, B, -1)
    if dp:
        if M in dp:
            out += _rows_times(h, dp[M])
        if M_in is not None and M_in in dp and x is not None:
            out += _rows_times(np.broadcast_to(x, (B, x.shape[-1])), dp[M_in])
        for name in bias:
            if name in dp:
                out += dp[name]
    return out


class TanhCell(ParamCell):
    r"""h_t = tanh(W h_{t-1} + W_in x_t + b) (``W_in`` absent: the autonomous network)."""

    def __init__(self, W, b, W_in=None, check: bool = True) -> None:
        W = np.asarray(W, dtype=np.float64)
        if check and (W.ndim != 2 or W.shape[0] != W.shape[1]):
            raise ValueError(f"W must be a square (N, N) matrix, got shape {W.shape}")
        self._N = W.shape[0]
        self._nin = 0 if W_in is None else int(np.shape(W_in)[1]) if np.ndim(W_in) == 2 else -1
        if self._nin < 0:
            raise ValueError(f"W_in must have shape (N, n_in), got {np.shape(W_in)}")
        groups = {"W": W, "b": b} if W_in is None else {"W": W, "W_in": W_in, "b": b}
        super().__init__(groups, check)

    def layout(self) -> dict[str, tuple[int, ...]]:
        out = {"W": (self._N, self._N)}
        if self._nin:
            out["W_in"] = (self._N, self._nin)
        out["b"] = (self._N,)
        return out

    def _from_groups(self, groups, check):
        return TanhCell(groups["W"], groups["b"], groups.get("W_in"), check=check)

    def _update(self, h, x, p):
        return tanh(_affine(h, x, p["W"], p["b"], p.get("W_in")))

    def _update_vjp(self, h, x, h_new, lam):
        delta = lam * (1.0 - h_new**2)
        return _affine_vjp(delta, h, x, self._p, lam_prev=0.0)

    def jvp_step(self, h, x, dh, dp):
        # by hand (the jets' result, 3-4x faster): D (W dh + dW h + dW_in x + db), D = 1 - F(h)^2
        da = _linear_tangent(dh, dp, h, x, "W", "W_in", ("b",), self._p, _directions(dh, dp))
        da *= 1.0 - np.tanh(_affine(h, x, self._p["W"], self._p["b"], self._p.get("W_in"))) ** 2
        return da

    def jvp(self, H, X, dtheta):
        return _affine_sequence_jvp(self, H, X, dtheta, leak=0.0)

    def vjp(self, H, X, V):
        return _affine_sequence_vjp(self, H, X, V, leak=0.0)

    def _trace_parts(self, H, X, groups):
        K = _affine_kernel(H, X, groups)
        return [] if K is None else [(1.0 - H[1:] ** 2, K)]


def _drive(V: np.ndarray, dM: np.ndarray) -> np.ndarray:
    """V (T, B, n) times each of m matrices dM (m, r, n) transposed, for every step at once: (T, B, m, r)."""
    T, B, n = V.shape
    m, r, _ = dM.shape
    return (V.reshape(T * B, n) @ dM.reshape(m * r, n).T).reshape(T, B, m, r)


def directions_per_pass(H: np.ndarray, width: int | None = None, total: int = 2**29, cap: int = 64) -> int:
    """How many directions one (T, B, m, width) tangent pass should carry (width defaults to N): at most
    ``cap``, a step's slab (B m width doubles) within 4 MiB so the per-step work stays in cache
    (measured: B = 256 ran 1.3x slower with 64), the whole array within ``total`` bytes."""
    T, B = H.shape[0] - 1, H.shape[1]
    width = H.shape[2] if width is None else width
    return int(max(1, min(cap, 2**22 // (8 * B * width), total // (8 * T * B * width))))


def _direction_chunks(cell, H, dtheta, width: int):
    """Blocks of directions whose (T, B, m, width) work arrays stay below 256 MiB (slab as above)."""
    size = directions_per_pass(H, width, total=2**28, cap=dtheta.shape[0])
    return [dtheta[i:i + size] for i in range(0, dtheta.shape[0], size)]


def affine_tangent_recurrence(out: np.ndarray, E: np.ndarray, W: np.ndarray, leak: float = 0.0) -> np.ndarray:
    """In place over the layout (T, B, m, N), ``out`` holding the parameter drives: the tangent of
    h_t = leak h_{t-1} + (1 - leak) tanh(a_t),  dh_t = E_t (drive_t + W dh_{t-1}) + leak dh_{t-1}
    (E_t (T, B, N) the activation's slope times 1 - leak; the paper's network: leak 0)."""
    T, B, m, N = out.shape
    WT = W.T
    out[0] *= E[0][:, None, :]
    for t in range(1, T):
        out[t] += (out[t - 1].reshape(B * m, N) @ WT).reshape(B, m, N)
        out[t] *= E[t][:, None, :]
        if leak:
            out[t] += leak * out[t - 1]
    return out


def _affine_slopes(cell, H, X, leak: float) -> np.ndarray:
    """E_t = (1 - leak)(1 - tanh^2 a_t), (T, B, N); leak 0: 1 - h_t^2 (no tanh recomputed)."""
    if not leak:
        return 1.0 - H[1:] ** 2
    p = cell.params()
    T, B, N = H.shape[0] - 1, H.shape[1], H.shape[2]
    A = (H[:-1].reshape(T * B, N) @ p["W"].T).reshape(T, B, N) + p["b"]
    if X is not None and "W_in" in p:
        A += X @ p["W_in"].T
    return (1.0 - leak) * (1.0 - np.tanh(A) ** 2)


def _affine_sequence_jvp(cell, H, X, dtheta, leak: float) -> np.ndarray:
    """J dtheta for h_t = leak h_{t-1} + (1 - leak) tanh(a_t), a_t = W h_{t-1} + W_in x_t + b (leak 0: TanhCell).

    The tangent obeys dh_t = leak dh_{t-1} + E_t (W dh_{t-1} + dW h_{t-1} + dW_in x_t + db),
    E_t = (1 - leak)(1 - tanh^2 a_t): the parameter drive of every step is one product before
    the loop and the recurrence one (B m, N) x (N, N) product per step, in the layout (T, B, m, N).
    """
    dtheta = cell._check_directions(dtheta)
    parts = _direction_chunks(cell, H, dtheta, cell.N)
    if len(parts) > 1:
        return np.concatenate([_affine_sequence_jvp(cell, H, X, d, leak) for d in parts])
    p = cell.params()
    g = cell.split(dtheta)
    out = _drive(H[:-1], g["W"])
    if X is not None and "W_in" in g:
        out += _drive(X, g["W_in"])
    out += g["b"][None, None]
    affine_tangent_recurrence(out, _affine_slopes(cell, H, X, leak), p["W"], leak)
    return np.ascontiguousarray(out.transpose(2, 0, 1, 3))


def affine_cotangent_recurrence(V: np.ndarray, E: np.ndarray, W: np.ndarray, leak: float = 0.0) -> np.ndarray:
    """The adjoints delta_t = dL/da_t, (T, B, m, N), of every step for cotangents V (T, B, m, N) on h_1..h_T:
    lam_T = V_T, delta_t = E_t lam_t, lam_{t-1} = V_{t-1} + W^T delta_t + leak lam_t (the transpose of
    :func:`affine_tangent_recurrence`; E_t as there)."""
    T, B, m, N = V.shape
    delta = np.empty_like(V)
    lam = V[T - 1].copy()
    for t in range(T, 0, -1):
        np.multiply(lam, E[t - 1][:, None, :], out=delta[t - 1])
        if t > 1:
            nxt = (delta[t - 1].reshape(B * m, N) @ W).reshape(B, m, N)
            if leak:
                nxt += leak * lam
            nxt += V[t - 2]
            lam = nxt
    return delta


def weight_grad(delta: np.ndarray, U: np.ndarray) -> np.ndarray:
    """sum over steps and batch of delta_t^T u_t: delta (T, B, m, r), U (T, B, n) -> (m, r, n), one product."""
    T, B, m, r = delta.shape
    return (delta.reshape(T * B, m * r).T @ U.reshape(T * B, -1)).reshape(m, r, -1)


def _tbmn(V: np.ndarray) -> np.ndarray:
    """Cotangents (m, T, B, N) -> the kernels' layout (T, B, m, N)."""
    return np.ascontiguousarray(V.transpose(1, 2, 0, 3))


def _affine_sequence_vjp(cell, H, X, V, leak: float) -> np.ndarray:
    """J^T V for h_t = leak h_{t-1} + (1 - leak) tanh(a_t) (the adjoint of :func:`_affine_sequence_jvp`):
    the adjoints of every step kept, the weight gradients one product each after the loop."""
    V = cell._check_cotangents(H, V)
    size = directions_per_pass(H, cell.N, total=2**28, cap=V.shape[0])
    if V.shape[0] > size:
        return np.concatenate([_affine_sequence_vjp(cell, H, X, V[i:i + size], leak)
                               for i in range(0, V.shape[0], size)])
    p = cell.params()
    E = _affine_slopes(cell, H, X, leak)
    delta = affine_cotangent_recurrence(_tbmn(V), E, p["W"], leak)
    grads = {"W": weight_grad(delta, H[:-1]), "b": delta.sum(axis=(0, 1))}
    if "W_in" in p:
        grads["W_in"] = weight_grad(delta, X)
    return cell._join_grads(grads)


def _gram(U: np.ndarray) -> np.ndarray:
    """u_s . u_s' per trajectory: U (T, B, d) -> (B, T, T)."""
    return np.einsum("sbn,rbn->bsr", U, U)


def _input_kernel(terms, bias: bool, B: int, T: int) -> np.ndarray | None:
    """K_{ss'} = sum of u_s . u_s' over the step inputs u (T, B, d) of the weights in scope, + 1 for a bias
    in scope; None when nothing of this pre-activation is in scope."""
    terms = [U for U in terms if U is not None]
    if not terms and not bias:
        return None
    K = np.full((B, T, T), 1.0 if bias else 0.0)
    for U in terms:
        K += _gram(U)
    return K


def _affine_kernel(H, X, groups) -> np.ndarray | None:
    """K of a = W h_{s-1} + W_in x_s + b (TanhCell, LeakyCell, the paper's RNN)."""
    return _input_kernel([H[:-1] if "W" in groups else None,
                          X if X is not None and "W_in" in groups else None], "b" in groups, H.shape[1], H.shape[0] - 1)


def _affine_vjp(delta, h, x, p, lam_prev):
    """Cotangents through a = W h + W_in x + b given dL/da = delta (m, B, N)."""
    m, B, N = delta.shape
    back = (delta.reshape(m * B, N) @ p["W"]).reshape(m, B, -1)
    dT = delta.transpose(0, 2, 1)  # (m, N, B) @ (B, .): one batched GEMM (einsum would loop)
    grads = {"W": dT @ h, "b": delta.sum(axis=1)}
    if x is not None and "W_in" in p:
        grads["W_in"] = dT @ x
    return lam_prev + back, grads


class LeakyCell(TanhCell):
    r"""Euler-discretised continuous-time RNN: h_t = (1 - alpha) h_{t-1} + alpha tanh(W h_{t-1} + W_in x_t + b).

    ``alpha`` = dt / tau in (0, 1] is a fixed hyperparameter, not trained.
    """

    def __init__(self, W, b, W_in=None, alpha: float = 0.1, check: bool = True) -> None:
        alpha = float(alpha)
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha = dt/tau must lie in (0, 1], got {alpha}")
        self.alpha = alpha
        super().__init__(W, b, W_in, check=check)

    def hyperparameters(self) -> dict:
        return {"alpha": self.alpha}

    def _from_groups(self, groups, check):
        return LeakyCell(groups["W"], groups["b"], groups.get("W_in"), alpha=self.alpha, check=check)

    def _update(self, h, x, p):
        return (1.0 - self.alpha) * h + self.alpha * tanh(_affine(h, x, p["W"], p["b"], p.get("W_in")))

    def _update_vjp(self, h, x, h_new, lam):
        th = np.tanh(_affine(h, x, self._p["W"], self._p["b"], self._p.get("W_in")))
        delta = self.alpha * lam * (1.0 - th**2)
        return _affine_vjp(delta, h, x, self._p, lam_prev=(1.0 - self.alpha) * lam)

    def jvp_step(self, h, x, dh, dp):
        # by hand: (1 - alpha) dh + alpha (1 - tanh(a)^2) da
        m = _directions(dh, dp)
        da = _linear_tangent(dh, dp, h, x, "W", "W_in", ("b",), self._p, m)
        th = np.tanh(_affine(h, x, self._p["W"], self._p["b"], self._p.get("W_in")))
        out = self.alpha * (1.0 - th**2) * da
        return out + (1.0 - self.alpha) * dh if np.ndim(dh) == 3 else out

    def jvp(self, H, X, dtheta):
        return _affine_sequence_jvp(self, H, X, dtheta, leak=1.0 - self.alpha)

    def vjp(self, H, X, V):
        return _affine_sequence_vjp(self, H, X, V, leak=1.0 - self.alpha)

    def _trace_parts(self, H, X, groups):
        K = _affine_kernel(H, X, groups)
        if K is None:
            return []
        A = H[:-1] @ self._p["W"].T + self._p["b"]
        if X is not None and "W_in" in self._p:
            A = A + X @ self._p["W_in"].T
        return [(self.alpha * (1.0 - np.tanh(A) ** 2), K)]

    def __repr__(self) -> str:
        return f"LeakyCell(N={self.N}, n_in={self.n_in}, alpha={self.alpha:g}, {self.n_params} parameters)"


class GRUCell(ParamCell):
    r"""The gated recurrent unit with PyTorch's equations and parameter layout (``torch.nn.GRU``):

    .. math::
        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \\
        z &= \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}), \\
        n &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \\
        h' &= (1 - z) \odot n + z \odot h,

    ``weight_ih`` = [W_ir; W_iz; W_in] (3N, n_in), ``weight_hh`` = [W_hr; W_hz; W_hn] (3N, N),
    ``bias_ih``, ``bias_hh`` (3N,) -- the names of ``nn.GRU``'s ``*_l0`` entries.
    """

    def __init__(self, weight_ih, weight_hh, bias_ih, bias_hh, check: bool = True) -> None:
        weight_hh = np.asarray(weight_hh, dtype=np.float64)
        if check and (weight_hh.ndim != 2 or weight_hh.shape[0] != 3 * weight_hh.shape[1]):
            raise ValueError(f"weight_hh must have shape (3N, N), got {weight_hh.shape}")
        self._N = weight_hh.shape[1]
        weight_ih = np.asarray(weight_ih, dtype=np.float64)
        if check and (weight_ih.ndim != 2 or weight_ih.shape[0] != 3 * self._N):
            raise ValueError(f"weight_ih must have shape (3N, n_in) = ({3 * self._N}, n_in), got {weight_ih.shape}")
        self._nin = weight_ih.shape[1]
        super().__init__({"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh},
                         check)

    def layout(self) -> dict[str, tuple[int, ...]]:
        N = self._N
        return {"weight_ih": (3 * N, self._nin), "weight_hh": (3 * N, N), "bias_ih": (3 * N,), "bias_hh": (3 * N,)}

    def _from_groups(self, groups, check):
        return GRUCell(groups["weight_ih"], groups["weight_hh"], groups["bias_ih"], groups["bias_hh"], check=check)

    @classmethod
    def init(cls, N: int, n_in: int, seed) -> "GRUCell":
        """PyTorch's default initialisation: every entry U(-1/sqrt(N), 1/sqrt(N))."""
        from .._inputs import as_generator

        rng = as_generator(seed)
        k = 1.0 / np.sqrt(N)
        return cls(rng.uniform(-k, k, (3 * N, n_in)), rng.uniform(-k, k, (3 * N, N)),
                   rng.uniform(-k, k, 3 * N), rng.uniform(-k, k, 3 * N))

    def _gates(self, h, x, p):
        N = self._N
        gh = h @ p["weight_hh"].T + p["bias_hh"]
        gi = p["bias_ih"] if x is None or self._nin == 0 else x @ p["weight_ih"].T + p["bias_ih"]
        r = sigmoid(gi[..., :N] + gh[..., :N])
        z = sigmoid(gi[..., N:2 * N] + gh[..., N:2 * N])
        n = tanh(gi[..., 2 * N:] + r * gh[..., 2 * N:])
        return r, z, n, gh

    def _update(self, h, x, p):
        _, z, n, _ = self._gates(h, x, p)
        return (1.0 - z) * n + z * h

    def _update_vjp(self, h, x, h_new, lam):
        r, z, n, gh = self._gates(h, x, self._p)
        dn = lam * (1.0 - z) * (1.0 - n**2)          # through tanh: d(pre-activation of n)
        dz = lam * (h - n) * z * (1.0 - z)
        dr = dn * gh[..., 2 * self._N:] * r * (1.0 - r)
        d_gi = np.concatenate([dr, dz, dn], axis=-1)
        d_gh = np.concatenate([dr, dz, dn * r], axis=-1)
        m, B, _ = lam.shape
        back = lam * z + (d_gh.reshape(m * B, -1) @ self._p["weight_hh"]).reshape(m, B, self._N)
        grads = {"weight_hh": d_gh.transpose(0, 2, 1) @ h, "bias_hh": d_gh.sum(axis=1),
                 "bias_ih": d_gi.sum(axis=1)}
        grads["weight_ih"] = (d_gi.transpose(0, 2, 1) @ x if x is not None and self._nin
                              else np.zeros((m,) + self.layout()["weight_ih"]))
        return back, grads

    def jvp_step(self, h, x, dh, dp):
        # by hand, the tangent of PyTorch's equations (class docstring): with gh = W_hh h + b_hh and
        # gi = W_ih x + b_ih, dr = r(1-r)(dgi_r + dgh_r), dz = z(1-z)(dgi_z + dgh_z),
        # dn = (1-n^2)(dgi_n + dr gh_n + r dgh_n), dh' = (1-z) dn + z dh + (h - n) dz
        N, m = self._N, _directions(dh, dp)
        r, z, n, gh = self._gates(h, x, self._p)
        xin = x if x is not None and self._nin else None
        dgh = _linear_tangent(dh, dp, h, None, "weight_hh", None, ("bias_hh",), self._p, m)
        dgi = np.zeros_like(dgh)
        if dp:
            if xin is not None and "weight_ih" in dp:
                dgi += _rows_times(np.broadcast_to(xin, (h.shape[0], self._nin)), dp["weight_ih"])
            if "bias_ih" in dp:
                dgi += dp["bias_ih"]
        dr = r * (1.0 - r) * (dgi[..., :N] + dgh[..., :N])
        dz = z * (1.0 - z) * (dgi[..., N:2 * N] + dgh[..., N:2 * N])
        dn = (1.0 - n**2) * (dgi[..., 2 * N:] + dr * gh[..., 2 * N:] + r * dgh[..., 2 * N:])
        out = (1.0 - z) * dn + (h - n) * dz
        return out + z * dh if np.ndim(dh) == 3 else out

    def _trace_parts(self, H, X, groups):
        # h' depends on neuron j's pre-activations only (gates act elementwise): per gate, the
        # sensitivity of h'_j to its pre-activation; r and z take gh and gi alike, n takes r gh_n + gi_n
        N = self._N
        xin = X if X is not None and self._nin else None
        r, z, n, gh = self._gates(H[:-1], xin, self._p)
        base = (1.0 - z) * (1.0 - n**2)
        B, T = H.shape[1], H.shape[0] - 1
        Kh = _input_kernel([H[:-1] if "weight_hh" in groups else None], "bias_hh" in groups, B, T)
        Ki = _input_kernel([xin if xin is not None and "weight_ih" in groups else None], "bias_ih" in groups, B, T)
        parts = []
        if Kh is not None or Ki is not None:
            both = (0.0 if Kh is None else Kh) + (0.0 if Ki is None else Ki)
            parts += [(base * gh[..., 2 * N:] * r * (1.0 - r), both), ((H[:-1] - n) * z * (1.0 - z), both)]
        if Kh is not None:
            parts.append((base * r, Kh))
        if Ki is not None:
            parts.append((base, Ki))
        return parts

    def _fused_gates(self, Hprev, xin, hnew, coefficients=None):
        """The update over any leading shape: the two input products, tanh in numpy, the rest fused
        (``_fused``); with ``coefficients`` (5, ..., N) also the step tangent above rearranged,
        c = (C_r, C_z, C_n, r, z):
        dh' = C_r (dgi_r + dgh_r) + C_z (dgi_z + dgh_z) + C_n (r dgh_n + dgi_n) + z dh,
        C_n = (1-z)(1-n^2), C_r = C_n gh_n r(1-r), C_z = (h-n) z(1-z).  The sequence loops call it
        step by step: for all steps at once the arrays leave the cache (2.5x slower at B = 256)."""
        p = self._p
        Hp = Hprev.reshape(-1, self._N)
        GH = Hp @ p["weight_hh"].T
        GH += p["bias_hh"]
        GI = p["bias_ih"][None] if xin is None else xin.reshape(-1, self._nin) @ p["weight_ih"].T + p["bias_ih"]
        return self._gates_from(Hp, GH, GI, hnew.reshape(Hp.shape),
                                None if coefficients is None else coefficients.reshape((5,) + Hp.shape))

    def _gates_from(self, Hp, GH, GI, hnew, c):
        N = self._N
        Trz = GH[:, :2 * N] + GI[:, :2 * N]
        Trz *= 0.5
        np.tanh(Trz, out=Trz)  # sigmoid(a) = (1 + tanh(a/2)) / 2: no overflow at any a
        r, z, n = (np.empty_like(Hp) for _ in range(3)) if c is None else (c[3], c[4], np.empty_like(Hp))
        _fused.kernel("gru_gates_rz")(Trz, GH, GI, r, z, n)
        np.tanh(n, out=n)
        dummy = np.empty((1, 1))
        _fused.kernel("gru_gates_out")(n, GH, Hp, r, z, hnew, c is not None,
                                       *((dummy,) * 3 if c is None else (c[0], c[1], c[2])))
        return hnew

    def forward(self, h0, X=None, T=None):
        # the protocol's forward with the update fused (``_gates_from``): the input products of all
        # steps before the loop, per step one product, tanh and two fused passes
        h0, X, T = self._start(h0, X, T)
        p, N = self._p, self._N
        B = h0.shape[0]
        xin = X if X is not None and self._nin else None
        GI = (xin.reshape(-1, self._nin) @ p["weight_ih"].T + p["bias_ih"]).reshape(T, B, 3 * N) if xin is not None \
            else np.broadcast_to(p["bias_ih"], (T, 1, 3 * N))
        H = np.empty((T + 1, B, N))
        H[0] = h0
        GH = np.empty((B, 3 * N))
        WT = p["weight_hh"].T
        for t in range(T):
            np.matmul(H[t], WT, out=GH)
            GH += p["bias_hh"]
            self._gates_from(H[t], GH, np.ascontiguousarray(GI[t]), H[t + 1], None)
        if not np.all(np.isfinite(H)):
            raise FloatingPointError("the states overflowed (NaN/inf) in the forward pass")
        return H

    def jvp(self, H, X, dtheta):
        # per step, in the layout (B, m, .): the weight drive dW_hh h_{t-1} and the recurrence
        # W_hh dh_{t-1} as two products, the rest fused in one pass (``_fused``); each step's
        # arrays stay in cache (all steps at once, out of cache, was 1.2-1.9x slower)
        dtheta = self._check_directions(dtheta)
        parts = _direction_chunks(self, H, dtheta, 3 * self._N)
        if len(parts) > 1:
            return np.concatenate([self.jvp(H, X, d) for d in parts])
        N = self._N
        T, B, m = H.shape[0] - 1, H.shape[1], dtheta.shape[0]
        g = self.split(dtheta)
        xin = X if X is not None and self._nin else None
        c, scratch = np.empty((5, B, N)), np.empty((B, N))
        step = _fused.kernel("gru_tangent_step")
        dWhT = g["weight_hh"].reshape(m * 3 * N, N).T
        dWiT = g["weight_ih"].reshape(m * 3 * N, -1).T if xin is not None else None
        bh, bi = np.ascontiguousarray(g["bias_hh"]), np.ascontiguousarray(g["bias_ih"])
        WT = self._p["weight_hh"].T
        out = np.empty((T, B, m, N))
        P, Q = np.empty((B, m, 3 * N)), np.empty((B, m, 3 * N))
        Pi = np.empty((B, m, 3 * N)) if xin is not None else np.empty((1, 1, 1))
        for t in range(T):
            np.matmul(H[t], dWhT, out=P.reshape(B, m * 3 * N))
            if t:
                np.matmul(out[t - 1].reshape(B * m, N), WT, out=Q.reshape(B * m, 3 * N))
            if xin is not None:
                np.matmul(xin[t], dWiT, out=Pi.reshape(B, m * 3 * N))
            self._fused_gates(H[t], None if xin is None else xin[t], scratch, c)
            step(P, Q, bh, Pi, bi, xin is not None, t > 0, *c, out[t - 1] if t else out[t], out[t])
        return np.ascontiguousarray(out.transpose(2, 0, 1, 3))

    def vjp(self, H, X, V):
        # the transpose of jvp: lam_t = dL/dh_t, pre-activation adjoints Gh_t = lam_t [C_r, C_z, C_n r]
        # (hidden side) and, for the input side, C_n lam_t in the n block; lam_{t-1} = V_{t-1} +
        # W_hh^T Gh_t + z_t lam_t.  Per step one product and one fused pass; the weight gradients
        # one product each after the loop
        V = self._check_cotangents(H, V)
        N = self._N
        size = directions_per_pass(H, 3 * N, total=2**28, cap=V.shape[0])
        if V.shape[0] > size:
            return np.concatenate([self.vjp(H, X, V[i:i + size]) for i in range(0, V.shape[0], size)])
        T, B, m = H.shape[0] - 1, H.shape[1], V.shape[0]
        xin = X if X is not None and self._nin else None
        c, c_next, scratch = np.empty((5, B, N)), np.empty((5, B, N)), np.empty((B, N))
        step = _fused.kernel("gru_adjoint_step")
        Vt = _tbmn(V)
        Gh = np.empty((T, B, m, 3 * N))
        Gin = np.empty((T, B, m, N))
        lam, nxt = np.empty((B, m, N)), np.empty((B, m, N))
        back = np.zeros((B, m, N))
        W = self._p["weight_hh"]
        for t in range(T - 1, -1, -1):
            if t < T - 1:
                np.matmul(Gh[t + 1].reshape(B * m, 3 * N), W, out=back.reshape(B * m, N))
            self._fused_gates(H[t], None if xin is None else xin[t], scratch, c)
            # z of step t + 1 carries lam_{t+1} back (c_next: the previous iteration's coefficients)
            step(back, c_next[4] if t < T - 1 else c[4], lam, Vt[t], t == T - 1, c[0], c[1], c[2], c[3],
                 nxt, Gh[t], Gin[t])
            lam, nxt = nxt, lam
            c, c_next = c_next, c
        grads = {"weight_hh": weight_grad(Gh, H[:-1]), "bias_hh": Gh.sum(axis=(0, 1))}
        gi = grads["bias_hh"].copy()  # the r and z blocks are shared; the n block is C_n lam, not C_n r lam
        gi[:, 2 * N:] = Gin.sum(axis=(0, 1))
        grads["bias_ih"] = gi
        if xin is not None:
            wi = weight_grad(Gh, xin)
            wi[:, 2 * N:] = weight_grad(Gin, xin)
            grads["weight_ih"] = wi
        else:
            grads["weight_ih"] = np.zeros((m,) + self.layout()["weight_ih"])
        return self._join_grads(grads)
