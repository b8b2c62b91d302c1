"""The :class:`NormalForm` object: a validated discrete-time map h_{t+1} = f(h_t, g)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from ._parse import as_expression, as_real_number, check_name, parse_components

__all__ = ["NormalForm"]

_NON_FINITE = (sp.S.NaN, sp.S.Infinity, sp.S.NegativeInfinity, sp.S.ComplexInfinity)
_MAX_NAME_TEXT = 200


def _split_names(spec: Any, what: str) -> tuple[str, ...]:
    if isinstance(spec, sp.Symbol):
        return (spec.name,)
    if isinstance(spec, str):
        names = tuple(n for n in spec.replace(",", " ").split() if n)
    elif isinstance(spec, Iterable):
        names = tuple(s.name if isinstance(s, sp.Symbol) else s for s in spec)
    else:
        raise TypeError(
            f"{what} must be a name, a sympy Symbol or a sequence of them "
            f"(e.g. 'h' or ('x', 'y')); got {type(spec).__name__}"
        )
    if not names:
        raise ValueError(f"{what} is empty; pass at least one name, e.g. 'h'")
    for n in names:
        check_name(n, what)
    return names


def _label(text: Any, what: str, multiline: bool = False) -> str:
    # Labels are only ever printed, never placed in generated code; control
    # characters are still refused so a label cannot forge terminal output.
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string, got {type(text).__name__}")
    limit = 20 * _MAX_NAME_TEXT if multiline else _MAX_NAME_TEXT
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text)} characters long; keep it under {limit}")
    allowed = "\n\t" if multiline else ""
    bad = [c for c in text if (ord(c) < 32 or ord(c) == 127) and c not in allowed]
    if bad:
        raise ValueError(f"{what} {text[:40]!r} contains the control character {bad[0]!r}; use plain text")
    return text


def _to_exact(expr: sp.Expr) -> sp.Expr:
    # Floats are replaced by the rationals they print as, so that the exact
    # recurrence solver and rational-arithmetic tests see exact numbers.
    floats = expr.atoms(sp.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sp.Rational(str(f)) for f in floats})


def linear_homogeneous(exprs, state) -> bool:
    """Whether every component is linear in the ``state`` symbols with no state-free term (f = A h),
    whatever other symbols (the parameter, constants) its coefficients hold."""
    zero = {x: 0 for x in state}
    for e in exprs:
        if not e.is_polynomial(*state):
            return False
        if sp.simplify(e.subs(zero)) != 0 or sp.Poly(e, *state).total_degree() > 1:
            return False
    return True


class NormalForm:
    r"""A map :math:`h_{t+1} = f(h_t, g)` with scalar or vector state.

    The object validates the map once and then offers every symbolic
    derivation of the toolkit as a method (tangent recursion, small-amplitude
    series, :math:`\|\mathrm{sNTK}_g\|`, fixed points, bifurcations).

    Parameters
    ----------
    rhs : str, sympy.Expr, or sequence of them
        The right-hand side f.  One expression per state variable; a string is
        parsed with the state and parameter names bound to real symbols.
        Floating-point literals are replaced by the exact rationals they print
        as (``0.1 -> 1/10``).
    state : str or sequence of str, default ``"h"``
        State variable names: ``"h"``, ``"x y"``, ``("x", "y")``.
    param : str, default ``"g"``
        The bifurcation parameter g.
    g_star : number, optional
        The critical parameter value g*, if you know it (the catalogue forms
        have g* = 1).  Default None: unknown.  It is only used for display and
        defaults: plots draw a dashed line at g* when it is set, and numerical
        continuation searches g* +- 2 when no interval is given (else
        [-3, 3]).  :meth:`bifurcations` finds the critical values either way.
    name : str, optional
        A label used when printing.
    constants : mapping, optional
        Values for any other symbol in ``rhs`` (e.g. ``{"eps": 0.01}``).  The symbolic layer
        works with the values substituted (:attr:`rhs`); the numeric layer compiles the map
        with the constants as symbols (:attr:`structure`) and passes their values at run time,
        so forms that differ only in their constants share one compiled kernel, and sweeps
        can vary them over a grid (:func:`numerics.sweep_grid`).
    description : str, optional
        Free text shown by :meth:`describe`.

    Raises
    ------
    ValueError
        If ``rhs`` contains a symbol other than the state and the parameter, a
        non-finite constant (``oo``, ``zoo``, ``nan``), an undefined function, the
        imaginary unit, or has a number of components different from the
        number of state variables.

    Examples
    --------
    >>> import normalforms as nf
    >>> form = nf.NormalForm("g*h - h**3", name="pitchfork", g_star=1)
    >>> form
    NormalForm('g*h - h**3', state='h', param='g', g_star=1, name='pitchfork')
    >>> print(form.latex())
    h_{t+1} = g h_{t} - h_{t}^{3}
    >>> nf.NormalForm("a*h", state="h", param="g")
    Traceback (most recent call last):
    ...
    ValueError: the map contains the symbol 'a', which is neither the state (h) nor the parameter (g); give it a value with constants={'a': ...}, or make it the parameter with param='a'
    """

    def __init__(
        self,
        rhs: Any,
        state: Any = "h",
        param: Any = "g",
        *,
        g_star: Any = None,
        name: str | None = None,
        constants: Mapping[str, Any] | None = None,
        description: str = "",
    ) -> None:
        state_names = _split_names(state, "state")
        param_names = _split_names(param, "param")
        if len(param_names) != 1:
            raise ValueError(
                f"param must be a single name such as 'g'; got {param_names} "
                f"(codimension-one forms have one parameter)"
            )
        param_name = param_names[0]
        if len(set(state_names)) != len(state_names):
            raise ValueError(f"state names {state_names} repeat; give each state variable its own name")
        if param_name in state_names:
            raise ValueError(
                f"the parameter {param_name!r} is also a state variable; pick a parameter name "
                f"not in {state_names}"
            )
        self._state = tuple(sp.Symbol(n, real=True) for n in state_names)
        self._param = sp.Symbol(param_name, real=True)
        if constants is not None and not isinstance(constants, Mapping):
            raise TypeError(f"constants must be a mapping such as {{'eps': 0.01}}; got {type(constants).__name__}")
        self._constants = {}
        for key, value in (constants or {}).items():
            check_name(key, "constant")
            if key in state_names or key == param_name:
                raise ValueError(f"constant {key!r} is also the state or the parameter; give it another name")
            self._constants[key] = _to_exact(as_real_number(value, f"constant {key!r}"))
        self._constant_symbols = {k: sp.Symbol(k, real=True) for k in sorted(self._constants)}
        self._rhs = tuple(self._parse_rhs(rhs))
        # the same map with the constants kept as symbols: what the numeric layer compiles
        self._structure = tuple(self._parse_rhs(rhs, symbolic=True)) if self._constants else self._rhs
        self._g_star = None if g_star is None else _to_exact(as_real_number(g_star, "g_star"))
        self.name = _label(name, "name") if name is not None else "user map"
        self.description = _label(description, "description", multiline=True)

    # ------------------------------------------------------------------ parsing
    def _locals(self) -> dict[str, sp.Symbol]:
        loc = {s.name: s for s in self._state}
        loc[self._param.name] = self._param
        return loc

    def _parse_one(self, item: Any, index: int, symbolic: bool = False) -> sp.Expr:
        loc = self._locals()
        bound = self._constant_symbols if symbolic else self._constants
        what = "the map" if index is None else f"component {index}"
        expr = as_expression(item, loc | bound, free_symbols=True, what=what)
        # Bind user symbols by name, whatever assumptions they were created with.
        rename = {s: loc[s.name] for s in expr.free_symbols if s.name in loc}
        rename.update({s: bound[s.name] for s in expr.free_symbols if s.name in bound})
        return _to_exact(expr.xreplace(rename))

    def _parse_rhs(self, rhs: Any, symbolic: bool = False) -> list[sp.Expr]:
        bound = self._constant_symbols if symbolic else self._constants
        if isinstance(rhs, str):
            # "f1, f2" is one component per state variable
            exprs = [
                _to_exact(e) for e in
                parse_components(rhs, self._locals() | bound, free_symbols=True, what="the map")
            ]
            exprs = [self._parse_one(e, i if len(exprs) > 1 else None, symbolic) for i, e in enumerate(exprs)]
        else:
            if isinstance(rhs, sp.MatrixBase):
                items = list(rhs)
            elif isinstance(rhs, Sequence):
                items = list(rhs)
            else:
                items = [rhs]
            exprs = [self._parse_one(item, i if len(items) > 1 else None, symbolic) for i, item in enumerate(items)]
        if len(exprs) != len(self._state):
            names = ", ".join(s.name for s in self._state)
            raise ValueError(
                f"the map has {len(exprs)} component(s) but the state ({names}) has "
                f"{len(self._state)}; pass one expression per state variable, in state order"
            )
        allowed = set(self._state) | {self._param} | (set(self._constant_symbols.values()) if symbolic else set())
        for i, e in enumerate(exprs):
            where = f"component {i} ({e})" if len(exprs) > 1 else f"the map ({e})"
            if e.has(*_NON_FINITE):
                bad = [a for a in _NON_FINITE if e.has(a)]
                raise ValueError(
                    f"{where} contains the non-finite constant {bad[0]}; check for a division "
                    f"by zero or an infinite coefficient and pass finite numbers"
                )
            undefined = e.atoms(AppliedUndef)
            if undefined:
                fn = sorted(str(u.func) for u in undefined)[0]
                raise ValueError(
                    f"{where} calls the undefined function {fn!r}; use sympy functions "
                    f"(sin, exp, tanh, ...) or write the function out"
                )
            if e.has(sp.I):
                raise ValueError(
                    f"{where} contains the imaginary unit; the map must be real - write a "
                    f"complex map as two real components (state='x y')"
                )
            extra = sorted((s for s in e.free_symbols if s not in allowed), key=str)
            if extra:
                names = ", ".join(repr(s.name) for s in extra)
                plural = "s" if len(extra) > 1 else ""
                st = ", ".join(s.name for s in self._state)
                example = extra[0].name
                prefix = "the map" if len(exprs) == 1 else f"component {i}"
                raise ValueError(
                    f"{prefix} contains the symbol{plural} {names}, which "
                    f"{'are' if plural else 'is'} neither the state ({st}) nor the parameter "
                    f"({self._param.name}); give {'them values' if plural else 'it a value'} "
                    f"with constants={{{example!r}: ...}}, or make it the parameter with "
                    f"param={example!r}"
                )
        return exprs

    # ---------------------------------------------------------------- accessors
    @classmethod
    def from_expr(cls, rhs: Any, state: Any = "h", param: Any = "g", **kwargs: Any) -> "NormalForm":
        """Build a form from an expression or a string (alias of the constructor).

        Examples
        --------
        >>> import normalforms as nf
        >>> nf.NormalForm.from_expr("r*h*(1-h)", state="h", param="r").param
        r
        """
        return cls(rhs, state=state, param=param, **kwargs)

    @property
    def state(self) -> tuple[sp.Symbol, ...]:
        """State symbols (real)."""
        return self._state

    @property
    def param(self) -> sp.Symbol:
        """The parameter symbol g (real)."""
        return self._param

    @property
    def g_star(self) -> sp.Expr | None:
        """The critical parameter value g*, if given."""
        return self._g_star

    @property
    def dim(self) -> int:
        """Number of state variables."""
        return len(self._state)

    @property
    def is_scalar(self) -> bool:
        return self.dim == 1

    @property
    def rhs(self) -> tuple[sp.Expr, ...]:
        """The components of f, in state order."""
        return self._rhs

    @property
    def constants(self) -> dict[str, sp.Expr]:
        """The constants' exact values, by name (sorted)."""
        return {k: self._constants[k] for k in sorted(self._constants)}

    @property
    def constant_symbols(self) -> tuple[sp.Symbol, ...]:
        """The constants as real symbols, sorted by name: the runtime parameters of the compiled map."""
        return tuple(self._constant_symbols.values())

    @property
    def structure(self) -> tuple[sp.Expr, ...]:
        """The components of f with the constants kept as :attr:`constant_symbols` (= :attr:`rhs` without
        constants); substituting :attr:`constants` gives :attr:`rhs`."""
        return self._structure

    @property
    def f(self) -> sp.Expr | sp.Matrix:
        """f(h, g): an expression for a scalar form, a column Matrix otherwise."""
        return self._rhs[0] if self.is_scalar else sp.Matrix(self._rhs)

    @property
    def f_h(self) -> sp.Expr | sp.Matrix:
        """The state derivative (Jacobian) :math:`\\partial f / \\partial h`."""
        jac = sp.Matrix(self._rhs).jacobian(sp.Matrix(self._state))
        return jac[0, 0] if self.is_scalar else jac

    @property
    def f_g(self) -> sp.Expr | sp.Matrix:
        """The parameter derivative :math:`\\partial f / \\partial g`."""
        col = sp.Matrix([sp.diff(e, self._param) for e in self._rhs])
        return col[0, 0] if self.is_scalar else col

    @cached_property
    def is_linear_homogeneous(self) -> bool:
        """True when f(h, g) = A(g) h: linear in the state with f(0, g) = 0.

        Then (h, D_g h) is homogeneous of degree one in h0, so the sNTK norm
        is exactly M_2 times a function of g and T, and numerics may rescale
        h freely (such maps never "escape").
        """
        return linear_homogeneous(self._rhs, self._state)

    def evaluate(self, h: Any, g: Any) -> sp.Expr | sp.Matrix:
        """Exact value of f at a state ``h`` (scalar or sequence) and parameter ``g``."""
        values = [h] if self.is_scalar and not isinstance(h, (list, tuple)) else list(h)
        if len(values) != self.dim:
            raise ValueError(f"state has {self.dim} component(s); got {len(values)}")
        sub = {s: as_expression(v, free_symbols=True, what=f"state {s.name}") for s, v in zip(self._state, values)}
        sub[self._param] = as_expression(g, free_symbols=True, what=self._param.name)
        out = [e.xreplace(sub) for e in self._rhs]
        return out[0] if self.is_scalar else sp.Matrix(out)

    # ----------------------------------------------------------------- printing
    def _rhs_text(self) -> str:
        if self.is_scalar:
            return str(self._rhs[0])
        return "(" + ", ".join(str(e) for e in self._rhs) + ")"

    def __repr__(self) -> str:
        state = self._state[0].name if self.is_scalar else " ".join(s.name for s in self._state)
        parts = [repr(self._rhs_text()), f"state={state!r}", f"param={self._param.name!r}"]
        if self._g_star is not None:
            parts.append(f"g_star={self._g_star}")
        parts.append(f"name={self.name!r}")
        return f"NormalForm({', '.join(parts)})"

    def __str__(self) -> str:
        lines = []
        for s, e in zip(self._state, self._rhs):
            lines.append(f"{s.name}_(t+1) = {sp.sstr(e)}")
        crit = f", g* = {self._g_star}" if self._g_star is not None else ""
        head = f"{self.name} (parameter {self._param.name}{crit})"
        return head + "\n  " + "\n  ".join(lines)

    def latex(self) -> str:
        r"""The map as LaTeX, with time subscripts: ``h_{t+1} = g h_{t} - h_{t}^{3}``."""
        at_t = {s: sp.Symbol(f"{s.name}_{{t}}", real=True) for s in self._state}
        rows = [
            f"{s.name}_{{t+1}} = {sp.latex(e.xreplace(at_t))}" for s, e in zip(self._state, self._rhs)
        ]
        if len(rows) == 1:
            return rows[0]
        return r"\begin{aligned}" + r" \\ ".join(r.replace(" = ", " &= ", 1) for r in rows) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def describe(self) -> str:
        """The form, its parametrisation and its documented dynamics."""
        return str(self) + ("\n\n" + self.description.strip() if self.description else "")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NormalForm):
            return NotImplemented
        return (self._state, self._param, self._rhs, self._g_star) == (
            other._state,
            other._param,
            other._rhs,
            other._g_star,
        )

    def __hash__(self) -> int:
        return hash((self._state, self._param, self._rhs, self._g_star))

    # ------------------------------------------------------------ derivations
    # Thin delegations: the algorithms live in modules named for them.
    def tangent_recursion(self):
        """The tangent recursion s_{t+1} = f_h s_t + f_g (see :func:`normalforms.tangent_recursion`)."""
        from ._unroll import tangent_recursion

        return tangent_recursion(self)

    def unroll(self, T: int, h0: Any = None, g: Any = None, expand: bool = True):
        """Exact h_t, D_g h_t for t = 0..T (see :func:`normalforms.unroll`)."""
        from ._unroll import unroll

        return unroll(self, T, h0=h0, g=g, expand=expand)

    def sensitivity_series(self, order: int = 3, at: Any = None):
        """Closed forms in symbolic t of h_t and D_g h_t (see :func:`normalforms.sensitivity_series`)."""
        from ._series import sensitivity_series

        return sensitivity_series(self, order=order, at=at)

    def sntk_norm(self, T: Any = None, order: int | None = None, ensemble: Any = None, piecewise: bool = True):
        """||sNTK_g|| in closed form (see :func:`normalforms.sntk_norm`)."""
        from ._series import sntk_norm

        return sntk_norm(self, T=T, order=order, ensemble=ensemble, piecewise=piecewise)

    def asymptotic_regimes(self, ensemble: Any = None):
        """Large-T regimes of the linear law (see :func:`normalforms.asymptotic_regimes`)."""
        from ._asymptotics import asymptotic_regimes

        return asymptotic_regimes(self, ensemble=ensemble)

    def fixed_points(self, method: str = "auto", interval: Any = None, box: Any = None):
        """Fixed-point branches (see :func:`normalforms.fixed_points`)."""
        from ._fixed_points import fixed_points

        return fixed_points(self, method=method, interval=interval, box=box)

    def period_two_points(self, method: str = "auto", interval: Any = None, box: Any = None):
        """Period-2 cycles (see :func:`normalforms.period_two_points`)."""
        from ._fixed_points import period_two_points

        return period_two_points(self, method=method, interval=interval, box=box)

    def bifurcations(self, method: str = "auto", interval: Any = None, box: Any = None):
        """Bifurcation points, classified, with critical coefficients (see :func:`normalforms.bifurcations`)."""
        from ._bifurcations import bifurcations

        return bifurcations(self, method=method, interval=interval, box=box)
