r"""Several parameters at once: the cusp, bifurcation curves in a parameter plane, and D_theta h_t.

A codimension-one form has one parameter g; its unfoldings have more.  Here the other parameters
are the form's declared constants (``NormalForm(..., constants={"eps": 0})``), kept symbolic
in :attr:`NormalForm.structure`:

* :func:`cusp` -- h' = beta_1 + (1 + beta_2) h - h^3, the codimension-two point whose slices
  beta_2 = g - 1 are the imperfect pitchforks (beta_1 = eps), the bifurcation a trained RNN
  without exact odd symmetry meets (paper, sec. 3 and fig. 1E; Kuznetsov, *Elements of applied
  bifurcation theory*, sec. 8.2 for flows, 9.2 for maps).
* :func:`bifurcation_curves` -- where in a plane of two parameters a fixed point has the
  multiplier +1 (fold) or -1 (flip): f(h) = h and f_h(h) = +-1, solved for the two parameters
  as curves parametrised by the state h, and as one implicit polynomial (the resultant in h).
  For the cusp: beta_1 = -2 h^3, beta_2 = 3 h^2, i.e. 27 beta_1^2 = 4 beta_2^3.
* :func:`parameter_sensitivities` -- D_theta h_t for a parameter vector theta (exact
  unrolling), the p x p kernel K = sum_t J_t^T J_t and the state-space sNTK J J^T with
  J = [D_theta h_t]_t.  K's top eigenvector is the combination of parameters the trajectories
  are most sensitive to -- the question the RNN cross-check asks of the full network
  (a learned critical direction), here in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import sympy as sp

from ._form import NormalForm, _to_exact
from ._parse import as_real_number
from ._unroll import MAX_UNROLL_STEPS, initial_state

#: Largest polynomial (terms) an unrolling may produce: expressions are expanded with sympy here, not in
#: unroll's polynomial ring, so the bound is tighter (T = 5 of a cubic in (g, eps), 3e4 terms, took > 20 GB)
_MAX_TERMS = 5_000

__all__ = ["cusp", "bifurcation_curves", "BifurcationCurves", "parameter_sensitivities", "ParameterSensitivities"]


def cusp(b1: Any = 0, b2: Any = 0, param: str = "b1") -> NormalForm:
    r"""The cusp :math:`h_{t+1} = \beta_1 + (1 + \beta_2) h_t - h_t^3` (``b1``, ``b2``).

    A fixed point with multiplier +1 and vanishing quadratic coefficient at (b1, b2) = (0, 0):
    the organising centre of folds.  Fixed points solve h^3 - b2 h - b1 = 0; three of them
    inside the cusp 27 b1^2 < 4 b2^3 (b2 > 0), one outside; the two fold curves
    b1 = -+2 (b2 / 3)^(3/2) meet at the origin (:func:`bifurcation_curves`).  The slice
    b2 = g - 1, b1 = eps is :func:`imperfect_pitchfork`; b1 = 0 is the pitchfork.  Escape:
    roughly |h0| > sqrt(2 + b2).

    Parameters
    ----------
    b1, b2 : number
        Values of the two unfolding parameters.
    param : {"b1", "b2"}
        Which of them is the form's parameter g (differentiated by the sNTK); the other is a
        declared constant, varied at run time by :func:`numerics.sweep_grid`.

    Examples
    --------
    >>> import normalforms as nf
    >>> f = nf.cusp(b2=0.5)
    >>> f.param, f.constants
    (b1, {'b2': 1/2})
    >>> f.structure
    (b1 - h**3 + h*(b2 + 1),)
    """
    if param not in ("b1", "b2"):
        raise ValueError(f"param must be 'b1' or 'b2' (the one the sNTK differentiates), got {param!r}")
    values = {"b1": _to_exact(as_real_number(b1, "b1")), "b2": _to_exact(as_real_number(b2, "b2"))}
    other = "b2" if param == "b1" else "b1"
    import inspect

    desc = inspect.cleandoc(cusp.__doc__).split("\n\n", 1)[1].split("\n\n", 1)[0]
    # the critical value of the parameter is known on the cusp's axis only (the other parameter 0)
    return NormalForm("b1 + (1 + b2)*h - h**3", param=param, constants={other: values[other]},
                      g_star=0 if values[other] == 0 else None, name=f"cusp ({other}={values[other]})",
                      description=desc)


def _parameters(form: NormalForm) -> dict[str, sp.Symbol]:
    """The form's parameter and declared constants, by name: what a plane, theta or ``at`` may name."""
    return {form.param.name: form.param} | {s.name: s for s in form.constant_symbols}


def _plane_symbols(form: NormalForm, x: str, y: str) -> tuple[sp.Symbol, sp.Symbol]:
    known = _parameters(form)
    for name in (x, y):
        if name not in known:
            raise ValueError(f"{name!r} is not a parameter of this form: the plane can use {sorted(known)} "
                             "(the parameter and the constants declared with constants=)")
    if x == y:
        raise ValueError(f"the plane needs two different parameters, got {x!r} twice")
    return known[x], known[y]


@dataclass(frozen=True)
class BifurcationCurves:
    r"""Curves in the (x, y) plane where a fixed point has multiplier +1 (``fold``) or -1 (``flip``).

    Attributes
    ----------
    kind : {"fold", "flip"}
    x, y : sympy.Symbol
        The plane's parameters.
    state : sympy.Symbol
        The curves' parameter: the fixed point h* itself.
    branches : list of (sympy.Expr, sympy.Expr)
        (x(h*), y(h*)) for each solution branch of f(h*) = h*, f_h(h*) = +-1.
    implicit : sympy.Expr or None
        A polynomial in x, y vanishing on the curves (the resultant in h of the two conditions,
        its factors free of x and y removed); None when f is not polynomial in h.
    others : dict
        Values of the form's remaining constants, substituted.
    """

    kind: str
    x: sp.Symbol
    y: sp.Symbol
    state: sp.Symbol
    branches: list
    implicit: sp.Expr | None
    others: dict

    def points(self, h: Any) -> list[np.ndarray]:
        """Each branch sampled at the fixed points ``h`` (array): a (len(h), 2) array of (x, y) per branch."""
        hh = np.asarray(h, dtype=np.float64)
        out = []
        for bx, by in self.branches:
            fx = sp.lambdify(self.state, bx, modules="numpy")
            fy = sp.lambdify(self.state, by, modules="numpy")
            out.append(np.column_stack([np.broadcast_to(fx(hh), hh.shape), np.broadcast_to(fy(hh), hh.shape)]))
        return out

    def __repr__(self) -> str:
        curves = "; ".join(f"({sp.sstr(a)}, {sp.sstr(b)})" for a, b in self.branches)
        return (f"BifurcationCurves({self.kind} in ({self.x}, {self.y}): ({self.x}, {self.y}) = {curves} over "
                f"{self.state}; implicit {sp.sstr(self.implicit)} = 0)")


def bifurcation_curves(form: NormalForm, x: str, y: str, kind: str = "fold") -> BifurcationCurves:
    r"""Fold (multiplier +1) or flip (-1) curves of a scalar form's fixed points in the (x, y) plane.

    Solves f(h, x, y) = h and f_h(h, x, y) = +1 (fold) or -1 (flip) for (x, y) as functions of
    the fixed point h, and eliminates h with the resultant for an implicit equation.  x and y
    are the form's parameter and/or declared constants; other constants keep their values.

    Examples
    --------
    >>> import normalforms as nf
    >>> c = nf.bifurcation_curves(nf.cusp(), "b1", "b2")
    >>> c.branches
    [(-2*h**3, 3*h**2)]
    >>> c.implicit
    27*b1**2 - 4*b2**3
    """
    if not isinstance(form, NormalForm):
        raise TypeError(f"expected a NormalForm, got {type(form).__name__}")
    if form.dim != 1:
        raise ValueError(f"bifurcation curves are derived for scalar forms; this one has {form.dim} states")
    if kind not in ("fold", "flip"):
        raise ValueError(f"kind must be 'fold' (multiplier +1) or 'flip' (multiplier -1), got {kind!r}")
    X, Y = _plane_symbols(form, x, y)
    h = form.state[0]
    others = {s: form.constants[s.name] for s in form.constant_symbols if s not in (X, Y)}
    f = form.structure[0].xreplace(others)
    fixed = f - h
    multiplier = sp.diff(f, h) - (1 if kind == "fold" else -1)
    sols = sp.solve([fixed, multiplier], [X, Y], dict=True)
    branches = [(sp.simplify(s[X]), sp.simplify(s[Y])) for s in sols if X in s and Y in s]
    if not branches:
        raise ValueError(f"could not solve f = h, f_h = {'+1' if kind == 'fold' else '-1'} for ({x}, {y}) in "
                         "closed form (the parameters should enter f algebraically)")
    implicit = None
    if fixed.is_polynomial(h) and multiplier.is_polynomial(h):
        res = sp.factor(sp.resultant(sp.expand(fixed), sp.expand(multiplier), h))
        factors = sp.Mul.make_args(res)
        kept = [fa for fa in factors if fa.free_symbols & {X, Y}]
        implicit = sp.expand(sp.Mul(*kept)) if kept else None
        if implicit is not None and sp.Poly(implicit, X, Y).LC() < 0:  # one sign, for display
            implicit = -implicit
    return BifurcationCurves(kind=kind, x=X, y=Y, state=h, branches=branches, implicit=implicit,
                             others={s.name: v for s, v in others.items()})


def _check_growth(f: sp.Matrix, state, T: int, start: list) -> None:
    """Refuse an unrolling whose polynomials would exceed _MAX_TERMS terms (degree deg(f)^T in the
    symbols left: a symbolic h0 and the parameters not fixed with ``at``) before computing it."""
    free = set().union(*(e.free_symbols for e in f)) - set(state)
    free |= set().union(*(sp.sympify(v).free_symbols for v in start))
    if not free or not all(e.is_polynomial(*state) for e in f):
        return
    d = max(sp.Poly(e, *state).total_degree() for e in f) if f else 1
    degree = d ** T
    terms = sp.binomial(degree + len(free), len(free))
    if d > 1 and terms > _MAX_TERMS:
        ok = max((k for k in range(T) if sp.binomial(d ** k + len(free), len(free)) <= _MAX_TERMS), default=0)
        raise ValueError(
            f"unrolling {T} steps with {len(free)} symbol(s) left ({', '.join(sorted(map(str, free)))}) gives "
            f"polynomials of degree up to {degree} (~{int(terms):.2g} terms); use T <= {ok}, fix parameters with "
            "at={...}, pass a numeric h0, or use the numeric layer")


@dataclass(frozen=True)
class ParameterSensitivities:
    r"""D_theta h_t, t = 0..T, for a parameter vector theta, exact.

    Attributes
    ----------
    form : NormalForm
    params : tuple of sympy.Symbol
        theta, in order.
    h : list of sympy.Matrix
        h_t (dim x 1).
    J : list of sympy.Matrix
        J_t = D_theta h_t (dim x p); J_0 = 0.
    h0 : list
        The initial state.
    """

    form: NormalForm
    params: tuple
    h: list
    J: list
    h0: list
    fixed: dict

    @property
    def T(self) -> int:
        return len(self.J) - 1

    def kernel(self) -> sp.Matrix:
        r"""The p x p kernel K = sum_{t=1}^T J_t^T J_t (parameter space); K and the state-space sNTK
        J J^T (:meth:`sntk`) share their nonzero eigenvalues, and tr K = ||D_theta h||^2."""
        p = len(self.params)
        K = sp.zeros(p, p)
        for Jt in self.J[1:]:
            K += Jt.T * Jt
        return K.applyfunc(sp.expand)

    def sntk(self) -> sp.Matrix:
        """The state-space sNTK J J^T over t = 1..T (a (T dim) x (T dim) matrix), J the stacked J_t."""
        J = sp.Matrix.vstack(*self.J[1:])
        return (J * J.T).applyfunc(sp.expand)

    def kernel_at(self, values: dict, h0: Any = None) -> np.ndarray:
        """K as float64 at parameter ``values`` (by name; missing constants take the form's values), summed
        over the initial conditions ``h0`` (an array of B states, or one) when the unrolling kept h0 symbolic."""
        K = self.kernel()
        sub = {s: self.form.constants[s.name] for s in self.form.constant_symbols}
        sub.update(self.fixed)
        names = _parameters(self.form)
        for name, v in values.items():
            if name not in names:
                raise ValueError(f"{name!r} is not a parameter of this form ({sorted(names)})")
            sub[names[name]] = _to_exact(as_real_number(v, name))
        K = K.xreplace(sub)
        starts = [s for s in self.h0 if not s.is_number]
        if not starts:
            return np.array(K.evalf(30).tolist(), dtype=np.float64)
        if h0 is None:
            raise ValueError("the unrolling kept h0 symbolic: pass h0 (the initial conditions to sum over)")
        fn = sp.lambdify(starts, K, modules="mpmath")
        pts = np.atleast_1d(np.asarray(h0, dtype=np.float64))
        pts = pts.reshape(len(pts), -1) if pts.ndim > 1 or len(starts) == 1 else pts[None, :]
        total = np.zeros((len(self.params), len(self.params)))
        for row in pts:
            total += np.array(fn(*[float(v) for v in np.atleast_1d(row)]).tolist(), dtype=np.float64)
        return total

    def critical_direction(self, values: dict, h0: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(eigenvalues descending, eigenvectors as columns) of :meth:`kernel_at`: the first column is the
        combination of parameters the trajectories respond to most (its sign fixed: largest entry positive)."""
        w, V = np.linalg.eigh(self.kernel_at(values, h0))
        order = np.argsort(w)[::-1]
        w, V = w[order], V[:, order]
        for j in range(V.shape[1]):
            if V[np.argmax(np.abs(V[:, j])), j] < 0:
                V[:, j] = -V[:, j]
        return w, V

    def __repr__(self) -> str:
        return (f"ParameterSensitivities({self.form.name!r}, theta = ({', '.join(map(str, self.params))}), "
                f"t = 0..{self.T}; .J[t], .kernel(), .sntk())")


def parameter_sensitivities(form: NormalForm, params: Sequence[str] | None = None, T: int = 3,
                            h0: Any = None, at: dict | None = None) -> ParameterSensitivities:
    r"""Exact D_theta h_t, t = 0..T, for theta = ``params`` (the parameter and/or declared constants).

    The tangent recursion of each parameter, stacked: J_{t+1} = f_h(h_t) J_t + f_theta(h_t),
    J_0 = 0, with f_theta = [df/dtheta_1, ..., df/dtheta_p] from the form's structure (its
    constants symbolic).  For p = 1 and theta = g this is :func:`unroll`'s D_g h_t.  Exact
    expressions grow like deg(f)^T: T <= 12, as :func:`unroll`.

    Parameters
    ----------
    form : NormalForm
    params : sequence of str, optional
        theta; default: the parameter and every constant.
    T : int
    h0 : number, sequence or expression, optional
        Initial state; symbolic ``h0`` by default.
    at : dict, optional
        Values of parameters (by name) fixed after differentiating, so J_t is the true
        derivative there (as :func:`unroll`'s ``g``); the others stay symbolic.

    Examples
    --------
    >>> import normalforms as nf
    >>> s = nf.parameter_sensitivities(nf.imperfect_pitchfork(), ["g", "eps"], T=2, h0=0, at={"eps": 0})
    >>> s.J[2]   # from h0 = 0 at eps = 0 only eps moves the state: D_eps h_2 = 1 + g
    Matrix([[0, g + 1]])
    """
    if not isinstance(form, NormalForm):
        raise TypeError(f"expected a NormalForm, got {type(form).__name__}")
    if isinstance(T, bool) or not isinstance(T, int) or not 0 <= T <= MAX_UNROLL_STEPS:
        raise ValueError(f"T must be an integer in [0, {MAX_UNROLL_STEPS}] (exact expressions grow as deg(f)**T), "
                         f"got {T!r}")
    known = _parameters(form)
    names = list(known) if params is None else [str(p) for p in params]
    for name in names:
        if name not in known:
            raise ValueError(f"{name!r} is not a parameter of this form: theta can use {sorted(known)}")
    if len(set(names)) != len(names):
        raise ValueError(f"params repeat: {names}")
    theta = tuple(known[n] for n in names)
    n = form.dim
    start = initial_state(form, h0)
    f = sp.Matrix(form.structure)
    jac = f.jacobian(sp.Matrix(form.state))
    ftheta = f.jacobian(sp.Matrix(theta))
    fixed = {s: form.constants[s.name] for s in form.constant_symbols if s not in theta}
    for name, v in (at or {}).items():
        if name not in known:
            raise ValueError(f"at: {name!r} is not a parameter of this form ({sorted(known)})")
        fixed[known[name]] = _to_exact(as_real_number(v, name))
    f, jac, ftheta = (m.xreplace(fixed) for m in (f, jac, ftheta))
    _check_growth(f, form.state, T, start)
    h = sp.Matrix(start)
    J = sp.zeros(n, len(theta))
    hs, Js = [h], [J]
    for _ in range(T):
        point = dict(zip(form.state, h))
        J = (jac.xreplace(point) * J + ftheta.xreplace(point)).applyfunc(sp.expand)
        h = f.xreplace(point).applyfunc(sp.expand)
        hs.append(h)
        Js.append(J)
    return ParameterSensitivities(form=form, params=theta, h=hs, J=Js, h0=start, fixed=fixed)
