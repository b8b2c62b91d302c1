"""Print a :class:`normalforms.NormalForm` to Python source and compile it with numba.

A form is compiled once: f, the Jacobian f_h and f_g are printed (common
subexpressions eliminated, small integer powers expanded into products) into
the kernel template of :mod:`numerics._template`, written as a real module in
a cache directory and imported.  Because the module is a file, numba's
on-disk cache (``cache=True``) works and a second process only loads machine
code; a ``lambdify`` closure could not be cached.

The module name is a hash of the printed form *and* of the template text, so
editing the template can never load stale machine code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from normalforms import NormalForm

from ._template import MODULE_TEMPLATE

# Powers up to this exponent are printed as products (x*x*x): numba would
# otherwise call pow(), which blocks vectorisation and costs ~20 cycles.
_MAX_EXPANDED_POWER = 8


class _KernelPrinter(PythonCodePrinter):
    """Python printer for numba: float literals, expanded integer powers."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "standard": "python3"})

    def _print_Rational(self, expr: sp.Rational) -> str:
        # float() of a sympy Rational is correctly rounded; printing the
        # division would leave the rounding to whoever folds the constant.
        return repr(float(expr))

    def _print_Integer(self, expr: sp.Integer) -> str:
        return repr(float(expr))

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, exp = expr.as_base_exp()
        if exp.is_Integer and 0 < abs(int(exp)) <= _MAX_EXPANDED_POWER:
            b = self.parenthesize(base, 1000)  # stronger than any binary operator
            product = "*".join([b] * abs(int(exp)))
            return f"({product})" if exp > 0 else f"(1.0/({product}))"
        if exp == sp.Rational(1, 2):
            return f"math.sqrt({self._print(base)})"
        if exp == -sp.Rational(1, 2):
            return f"(1.0/math.sqrt({self._print(base)}))"
        return super()._print_Pow(expr, rational=rational)


def _lines(assignments: list[tuple[str, sp.Expr]], printer: _KernelPrinter) -> list[str]:
    """Assignment statements with common subexpressions hoisted into ``_c*``."""
    names = [n for n, _ in assignments]
    exprs = [e for _, e in assignments]
    temps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"), optimizations="basic")
    out = [f"{sym} = {printer.doprint(val)}" for sym, val in temps]
    out += [f"{n} = {printer.doprint(e)}" for n, e in zip(names, reduced)]
    return out


@dataclass(frozen=True)
class FormSource:
    """The printed pieces of a form, ready to be placed in the template."""

    dim: int
    homogeneous: bool
    source: str
    key: str


def form_source(form: NormalForm) -> FormSource:
    """Generate the kernel module source for ``form``.

    Symbols are renamed (state -> ``x0, x1, ...``, parameter -> ``gp``) so a
    user's names can never collide with the template's variables.
    """
    if not isinstance(form, NormalForm):
        raise TypeError(f"expected a normalforms.NormalForm, got {type(form).__name__}; build one with NormalForm(...)")
    n = form.dim
    xs = sp.symbols(f"x0:{n}", real=True)
    ss = sp.symbols(f"s0:{n}", real=True)
    gp, scale = sp.symbols("gp scale", real=True)
    rename = dict(zip(form.state, xs)) | {form.param: gp}
    f = [e.xreplace(rename) for e in form.rhs]
    jac = [[sp.diff(fi, x) for x in xs] for fi in f]
    fg = [sp.diff(fi, gp) for fi in f]
    printer = _KernelPrinter()

    def tangent(scaled: bool) -> list[tuple[str, sp.Expr]]:
        assign = [(f"n_x{i}", f[i]) for i in range(n)]
        for i in range(n):
            drive = fg[i] * scale if scaled else fg[i]
            assign.append((f"n_s{i}", sum((jac[i][j] * ss[j] for j in range(n)), sp.S.Zero) + drive))
        return assign

    load_x = [f"x{i} = x[{i}]" for i in range(n)]
    load_s = [f"s{i} = s[{i}]" for i in range(n)]
    load_chunk = [f"x{i} = hc[{i}, b]" for i in range(n)] + [f"s{i} = sc[{i}, b]" for i in range(n)]
    store_chunk = [f"hc[{i}, b] = n_x{i}" for i in range(n)] + [f"sc[{i}, b] = n_s{i}" for i in range(n)]
    square = ["q = " + " + ".join(f"n_s{i} * n_s{i}" for i in range(n))]
    unscaled = _lines(tangent(False), printer)  # cse once; the scalar step and the chunk loop share it
    pieces = {
        "LOAD_X": "\n".join(load_x),
        "STEP_F": "\n".join(_lines([(f"out[{i}]", f[i]) for i in range(n)], printer)),
        "TANGENT_FN": "\n".join(
            load_x + load_s + unscaled
            + [f"xo[{i}] = n_x{i}" for i in range(n)] + [f"so[{i}] = n_s{i}" for i in range(n)]
        ),
        "UPDATE_UNSCALED": "\n".join(load_chunk + unscaled + store_chunk + square),
        "UPDATE_SCALED": "\n".join(load_chunk + _lines(tangent(True), printer) + store_chunk + square),
    }
    homogeneous = form.is_linear_homogeneous
    header = f"# form: {form.name}: " + "; ".join(f"{x} -> {e}" for x, e in zip(form.state, form.rhs))
    source = MODULE_TEMPLATE.render(dim=n, homogeneous=homogeneous, header=header, **pieces)
    return FormSource(dim=n, homogeneous=homogeneous, source=source, key=form_key(form))


# Any edit of the generator or of the template renames every module, so stale
# machine code can never be loaded.
_GENERATOR_FINGERPRINT = hashlib.sha256(
    Path(__file__).read_bytes() + Path(__file__).with_name("_template.py").read_bytes()
).hexdigest()


def form_key(form: NormalForm) -> str:
    """Hash naming a form's generated module: the exact sympy trees of f, the
    state and parameter names, and the generator's own source."""
    text = "\n".join([_GENERATOR_FINGERPRINT, sp.srepr(form.state), sp.srepr(form.param), sp.srepr(form.rhs)])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_dir() -> Path:
    """Directory of generated kernel modules (and numba's cache beside them).

    ``$NFSNTK_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/nfsntk`` or
    ``~/.cache/nfsntk``.
    """
    env = os.environ.get("NFSNTK_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nfsntk"


@dataclass(frozen=True)
class CompiledForm:
    """A form's generated kernel module.

    Attributes
    ----------
    form : NormalForm
    module : module
        The imported generated module (``sweep_kernel``, ``trajectory_kernel``, ``step``).
    path : pathlib.Path
        Its source file, readable: this is exactly the code that runs.
    homogeneous : bool
        True when f = A(g) h; then h and D_g h are rescaled together and no
        trajectory can escape (only over/underflow is handled).
    """

    form: NormalForm
    module: ModuleType
    path: Path
    homogeneous: bool

    @property
    def dim(self) -> int:
        return self.form.dim


_memo: dict[tuple, CompiledForm] = {}
_lock = threading.Lock()


def _write_atomic(path: Path, text: str) -> None:
    # Several processes (e.g. Dask workers) may generate the same module at
    # once; os.replace makes the file appear whole or not at all.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def compile_form(form: NormalForm) -> CompiledForm:
    """Generate (or reuse) and import the kernel module of ``form``.

    The in-process memo is keyed by the form itself, so a repeated call costs
    a dictionary lookup; the on-disk module is keyed by a hash of its source.
    Machine code is produced lazily by numba at the first kernel call and
    cached on disk next to the module.
    """
    memo_key = (form.state, form.param, form.rhs)
    with _lock:
        hit = _memo.get(memo_key)
        if hit is not None:
            return hit
        folder = cache_dir()
        name = f"nfsntk_form_{form_key(form)}"
        path = folder / f"{name}.py"
        if not path.exists():
            # Printing (cse) costs ~50 ms, so it only runs when the module is missing.
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, form_source(form).source)
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        compiled = CompiledForm(form=form, module=module, path=path, homogeneous=module.HOMOGENEOUS)
        _memo[memo_key] = compiled
        return compiled
