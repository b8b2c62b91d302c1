"""Print a :class:`normalforms.NormalForm` to Python source and compile it with numba.

A form is compiled once: f, the Jacobian f_h and f_g are printed (common
subexpressions eliminated, small integer powers expanded into products) into
the kernel template of :mod:`numerics._template`, written as a real module in
a cache directory and imported.  Because the module is a file, numba's
on-disk cache (``cache=True``) works and a second process only loads machine
code; a ``lambdify`` closure could not be cached.

Trust
-----
* The generated module holds only what this generator writes: the printed
  mathematics of f (symbols renamed to ``x0, x1, ...`` and ``gp``, functions
  from a fixed list) and the template.  No user text -- not the form's name,
  not its symbol names -- enters it.
* The module's name is the SHA-256 of its full text, so the key covers every
  byte.  Before a cached module is used its text is regenerated in memory
  and compared with the file; a mismatch (edited, planted, truncated) is
  rewritten atomically with a :class:`CacheIntegrityWarning`.  The verified
  text itself is what gets executed (compiled from memory, never from a
  ``.pyc``), so the file cannot change between check and use.
* numba's cache files are pickles: anyone who can write them can run code in
  the process that loads them.  The cache directory must therefore belong
  to the user and not be writable by group or others (it is created 0700,
  files 0600); a shared or foreign directory is refused with a
  :class:`CacheDirectoryError` naming ``NFSNTK_CACHE_DIR``.  Cluster workers
  of the *same* user may share one directory; several users may not.
* A numba cache file that fails to load (truncated, corrupt) is deleted for
  that form and the kernel recompiled, with a warning.

Verifying costs one printing of the form per process (~50 ms for the
catalogue forms; measured in ``benchmarks/README.md``).
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import tempfile
import threading
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from normalforms import NormalForm
from normalforms._form import linear_homogeneous

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
        return _float_literal(expr)

    def _print_Integer(self, expr: sp.Integer) -> str:
        return _float_literal(expr)

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


def _float_literal(number: sp.Rational) -> str:
    try:
        return repr(float(number))
    except OverflowError:
        raise ValueError(
            f"the map holds the number {sp.sstr(number)[:40]}..., beyond float64's range (about 1.8e308); the numeric "
            "layer computes in float64 - rescale the map"
        ) from None


# What the kernels can evaluate: the parser's functions (normalforms._parse.FUNCTIONS),
# sqrt as a power, and sign, which is the derivative of Abs.
_PRINTABLE_FUNCTIONS = frozenset({
    sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.asin, sp.acos, sp.atan, sp.atan2, sp.sinh, sp.cosh, sp.tanh,
    sp.asinh, sp.acosh, sp.atanh, sp.erf, sp.Abs, sp.sign,
})
_PRINTABLE_CONSTANTS = (sp.pi, sp.E)


def _check_compilable(form: NormalForm, f: list, jac: list, fg: list) -> None:
    """Refuse, with the function named, anything the kernel printer cannot turn into float64 code."""

    def scan(expr: sp.Expr, what: str) -> None:
        for node in sp.preorder_traversal(expr):
            if isinstance(node, (sp.Derivative, sp.Subs)):
                raise ValueError(
                    f"{what} has no closed form ({sp.sstr(node)[:60]}); the numeric layer needs f to be "
                    "differentiable in closed form - write the map with smooth functions"
                )
            if isinstance(node, sp.Function) and node.func not in _PRINTABLE_FUNCTIONS:
                raise ValueError(
                    f"the map uses the function {node.func}, which the numeric layer cannot compile; use "
                    "exp, log, sqrt, sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, tanh, asinh, acosh, "
                    "atanh, erf or Abs"
                )
            if isinstance(node, sp.NumberSymbol) and node not in _PRINTABLE_CONSTANTS:
                raise ValueError(f"the map uses the constant {node}; the numeric layer knows only pi and E")
            if node.is_Number and not node.is_real:
                raise ValueError(f"the map holds the non-real number {node}; the numeric layer is real")
            if isinstance(node, sp.Piecewise):
                raise ValueError("the map is piecewise; the numeric layer compiles smooth closed forms only")

    for e in f:
        scan(e, "the map")
    for row in jac:
        for e in row:
            scan(e, "its state derivative f_h")
    for e in fg:
        scan(e, f"its derivative in {form.param}")


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
    """The printed pieces of a form, ready to be placed in the template.

    ``runtime`` is True when the form's constants are runtime parameters of the module (its
    parameter rows are (g, constants in name order)); False when their values are printed in.
    """

    dim: int
    homogeneous: bool
    source: str
    key: str
    runtime: bool = False


def _runtime_constants(form: NormalForm) -> bool:
    """Whether ``form``'s constants can be runtime parameters: it has some, and keeping them symbolic does
    not change whether the map is linear homogeneous (e.g. g*h + c at c = 0 is; the structure is not --
    such a form is compiled with its values, so the homogeneous kernels' rescaling is kept)."""
    return bool(form.constant_symbols) and (
        linear_homogeneous(form.structure, form.state) == form.is_linear_homogeneous)


def form_source(form: NormalForm) -> FormSource:
    """Generate the kernel module source for ``form``.

    Symbols are renamed (state -> ``x0, x1, ...``, parameter -> ``gp``, constants -> ``k0, k1,
    ...`` in name order) so a user's names can never collide with the template's variables,
    and never enter the module.  The constants are runtime parameters (loaded from the
    parameter row, ``pv[1:]``) whenever :func:`_runtime_constants` allows: the module then
    depends only on the expression structure, not on the constants' values.
    """
    if not isinstance(form, NormalForm):
        raise TypeError(f"expected a normalforms.NormalForm, got {type(form).__name__}; build one with NormalForm(...)")
    n = form.dim
    xs = sp.symbols(f"x0:{n}", real=True)
    ss = sp.symbols(f"s0:{n}", real=True)
    gp, scale = sp.symbols("gp scale", real=True)
    runtime = _runtime_constants(form)
    ks = sp.symbols(f"k0:{len(form.constant_symbols)}", real=True) if runtime else ()
    rename = dict(zip(form.state, xs)) | {form.param: gp} | dict(zip(form.constant_symbols if runtime else (), ks))
    f = [e.xreplace(rename) for e in (form.structure if runtime else form.rhs)]
    jac = [[sp.diff(fi, x) for x in xs] for fi in f]
    fg = [sp.diff(fi, gp) for fi in f]
    _check_compilable(form, f, jac, fg)
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
    # Only the renamed mathematics, printed by sympy from whitelisted atoms: no
    # name, no user symbol, so equal maps share one module whatever they are called.
    header = ("f: " + "; ".join(f"x{i} -> {sp.sstr(e)}" for i, e in enumerate(f)) + " (parameter gp"
              + (f"; runtime constants {', '.join(map(str, ks))}" if ks else "") + ")")
    load_p = "\n".join(["gp = pv[0]"] + [f"{k} = pv[{j + 1}]" for j, k in enumerate(ks)])
    source = MODULE_TEMPLATE.render(dim=n, homogeneous=homogeneous, header=header, LOAD_P=load_p,
                                    npar=1 + len(ks), constants=", ".join(map(str, ks)) or "(none)", **pieces)
    key = hashlib.sha256(source.encode()).hexdigest()[:32]
    return FormSource(dim=n, homogeneous=homogeneous, source=source, key=key, runtime=runtime)


def form_key(form: NormalForm) -> str:
    """The name of a form's generated module: the SHA-256 of its full text.

    Any edit of the generator or of the template changes the text, hence the
    name, so stale machine code can never be loaded.
    """
    return form_source(form).key


class CacheDirectoryError(OSError):
    """The kernel cache directory cannot be used safely; set ``NFSNTK_CACHE_DIR``."""


class CacheIntegrityWarning(UserWarning):
    """A cached module or numba cache file did not match what it should be; it was regenerated."""


def cache_dir() -> Path:
    """Directory of generated kernel modules (and numba's cache beside them).

    ``$NFSNTK_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/nfsntk`` or
    ``~/.cache/nfsntk``.  It must belong to the user and not be writable by
    group or others (numba's cache files are pickles); it is created with
    mode 0700.  Workers of one user on a cluster may share it; several users
    may not -- give each user (or node) their own.
    """
    env = os.environ.get("NFSNTK_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nfsntk"


_FIX = ("set NFSNTK_CACHE_DIR to a directory only you can write (e.g. export NFSNTK_CACHE_DIR=$HOME/.cache/nfsntk; "
        "it is created with mode 0700)")


def _safe_directory(path: Path) -> Path:
    """Create ``path`` (0700) if needed and check that only this user can write it."""
    if path.exists() and not path.is_dir():
        raise CacheDirectoryError(f"the kernel cache path {path} is not a directory; {_FIX}")
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError as exc:
        raise CacheDirectoryError(f"cannot use the kernel cache directory {path}: {exc.strerror or exc}; {_FIX}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise CacheDirectoryError(f"the kernel cache path {path} is not a directory; {_FIX}")
    if hasattr(os, "geteuid"):
        if st.st_uid != os.geteuid():
            raise CacheDirectoryError(
                f"the kernel cache directory {path} belongs to another user (uid {st.st_uid}); loading its numba "
                f"files would run their code as you - {_FIX}"
            )
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise CacheDirectoryError(
                f"the kernel cache directory {path} is writable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                f"anyone who can write there could run code in your process - run chmod go-w {path}, or {_FIX}"
            )
    if not os.access(path, os.W_OK | os.X_OK):
        raise CacheDirectoryError(f"the kernel cache directory {path} is not writable; {_FIX}")
    return path


def _usable_cache_dir() -> Path:
    folder = _safe_directory(cache_dir())
    # numba writes its index and machine code here; check it like the folder itself
    _safe_directory(folder / "__pycache__")
    return folder


@dataclass(frozen=True)
class CompiledForm:
    """A form's generated kernel module.

    Attributes
    ----------
    form : NormalForm
    module : module
        The generated module (``sweep_kernel``, ``trajectory_kernel``, ``step``).
    path : pathlib.Path
        Its source file, readable: this is exactly the code that runs.
    homogeneous : bool
        True when f = A(g) h; then h and D_g h are rescaled together and no
        trajectory can escape (only over/underflow is handled).
    values : numpy.ndarray
        The form's constants in name order when they are runtime parameters of the module
        (empty when the module has them printed in): a parameter row is (g, *values).
    """

    form: NormalForm
    module: ModuleType
    path: Path
    homogeneous: bool
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _kernels: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def dim(self) -> int:
        return self.form.dim

    @property
    def runtime_constants(self) -> tuple[str, ...]:
        """Names of the constants passed at run time (the columns 1.. of a parameter row)."""
        return tuple(s.name for s in self.form.constant_symbols) if self.values.size else ()

    def rows(self, g: np.ndarray, overrides: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Parameter rows (G, 1 + K) for the kernels: g, then each runtime constant -- the form's value,
        or ``overrides[name]`` (an array of G values) where given."""
        g = np.asarray(g, dtype=np.float64)
        cols = [g]
        overrides = dict(overrides or {})
        for name, value in zip(self.runtime_constants, self.values):
            cols.append(np.asarray(overrides.pop(name), dtype=np.float64) if name in overrides
                        else np.full(g.shape, value))
        if overrides:
            raise ValueError(f"{sorted(overrides)} are not runtime constants of this form's kernel "
                             f"(it has {list(self.runtime_constants) or 'none'})")
        return np.ascontiguousarray(np.stack(cols, axis=-1))

    def kernel(self, name: str) -> "_GuardedKernel":
        """The jitted function ``name`` of the module, recompiled once if numba's cache for it is corrupt."""
        guarded = self._kernels.get(name)
        if guarded is None:
            guarded = self._kernels[name] = guarded_kernel(self.module, self.path, name)
        return guarded

    def __repr__(self) -> str:
        return f"CompiledForm({self.form.name!r}, dim={self.dim}, homogeneous={self.homogeneous}, path={str(self.path)!r})"


def _raised_by_numba_cache(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return any(Path(fr.filename).parts[-3:] == ("numba", "core", "caching.py") for fr in frames)


def _clear_numba_cache(module_path: Path) -> list[Path]:
    removed = []
    for pattern in (f"{module_path.stem}.*.nbi", f"{module_path.stem}.*.nbc"):
        for p in (module_path.parent / "__pycache__").glob(pattern):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


class _GuardedKernel:
    """A numba dispatcher whose disk-cache load failures are repaired, not fatal.

    numba unpickles its index and machine code without catching errors, so a
    truncated ``.nbi``/``.nbc`` file would make every later call of the form
    fail.  On such an error (recognised by its origin in numba's caching
    module) this form's cache files are deleted and the call is repeated,
    which compiles afresh.
    """

    def __init__(self, dispatcher: Any, module_path: Path) -> None:
        self.dispatcher = dispatcher
        self.module_path = module_path

    def __call__(self, *args: Any) -> Any:
        try:
            return self.dispatcher(*args)
        except Exception as exc:
            if not _raised_by_numba_cache(exc):
                raise
            with _lock:
                removed = _clear_numba_cache(self.module_path)
            warnings.warn(
                f"numba's disk cache for {self.module_path.name} could not be loaded ({type(exc).__name__}: {exc}); "
                f"removed {len(removed)} cache file(s) and recompiled",
                CacheIntegrityWarning,
                stacklevel=2,
            )
            return self.dispatcher(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dispatcher, name)


_memo: dict[tuple, tuple[ModuleType, Path]] = {}
_lock = threading.RLock()
_generated = [0]  # form modules generated and loaded in this process (see compile_count)


def compile_count() -> int:
    """How many form kernel modules this process has generated and loaded: one per expression
    structure, not per value of the constants (which are runtime parameters)."""
    return _generated[0]


def _write_atomic(path: Path, text: str) -> None:
    # Several processes (e.g. Dask workers) may generate the same module at
    # once; os.replace makes the file appear whole or not at all.  mkstemp
    # creates it 0600.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _verified_file(path: Path, source: str) -> None:
    """Make ``path`` hold exactly ``source``: write it if missing, rewrite it (with a warning) if it differs."""
    try:
        on_disk = path.read_bytes()
    except FileNotFoundError:
        on_disk = None
    except OSError as exc:
        raise CacheDirectoryError(f"cannot read the cached module {path}: {exc.strerror or exc}; {_FIX}") from None
    if on_disk == source.encode():
        return
    if on_disk is not None:
        warnings.warn(
            f"the cached kernel module {path} did not match the code generated for its form (edited, planted or "
            "truncated); it was regenerated and its numba cache cleared",
            CacheIntegrityWarning,
            stacklevel=4,
        )
        _clear_numba_cache(path)
    try:
        _write_atomic(path, source)
    except OSError as exc:
        raise CacheDirectoryError(f"cannot write the kernel module {path}: {exc.strerror or exc}; {_FIX}") from None


def compile_form(form: NormalForm) -> CompiledForm:
    """Generate (or reuse, after verifying it) and load the kernel module of ``form``.

    The in-process memo is keyed by the form itself, so a repeated call costs
    a dictionary lookup.  In a new process the module text is generated
    (printing with cse, ~50 ms) and compared byte for byte with the cached
    file, whose name is the text's hash; the verified text is then executed.
    Machine code is produced lazily by numba at the first kernel call and
    cached on disk next to the module.

    Raises
    ------
    ValueError
        The map uses something the kernels cannot evaluate (the function is named).
    CacheDirectoryError
        The cache directory cannot be used safely (see :func:`cache_dir`).
    """
    if not isinstance(form, NormalForm):
        raise TypeError(f"expected a normalforms.NormalForm, got {type(form).__name__}; build one with NormalForm(...)")
    runtime = _runtime_constants(form)
    # forms that differ only in their constants' values share the key, the module and its machine code
    memo_key = (form.state, form.param, form.structure if runtime else form.rhs, runtime,
                form.is_linear_homogeneous)
    with _lock:
        hit = _memo.get(memo_key)
        if hit is None:
            generated = form_source(form)
            name = f"nfsntk_form_{generated.key}"
            new = name not in sys.modules
            hit = _memo[memo_key] = verified_module(name, generated.source)
            _generated[0] += new
        module, path = hit
    values = np.array([float(v) for v in form.constants.values()]) if runtime else np.zeros(0)
    if values.size and not np.all(np.isfinite(values)):
        raise ValueError(f"the constants {form.constants} do not all fit in float64; rescale the map")
    return CompiledForm(form=form, module=module, path=path, homogeneous=module.HOMOGENEOUS, values=values)


def verified_module(name: str, source: str) -> tuple[ModuleType, Path]:
    """Load ``source`` -- text this package wrote, never user text -- as the module ``name`` from the
    kernel cache directory, so that numba's ``cache=True`` keeps its machine code beside it.

    The file is written if missing and rewritten (with a :class:`CacheIntegrityWarning`, its numba
    cache cleared) if it differs from ``source``; the module is executed from ``source`` itself,
    never from the file or a ``.pyc``, so nothing can change between the check and the use.
    ``name`` should carry a hash of ``source`` so that a changed text is a new module.
    """
    with _lock:
        path = _usable_cache_dir() / f"{name}.py"
        _verified_file(path, source)
        module = sys.modules.get(name)
        if module is None:
            # executed from the verified text, not imported from the file: the
            # import system would prefer a matching .pyc, which nobody verified
            module = ModuleType(name)
            module.__file__ = str(path)
            code = compile(source, str(path), "exec")
            sys.modules[name] = module
            try:
                exec(code, module.__dict__)  # noqa: S102 - our own generated, verified text
            except BaseException:
                sys.modules.pop(name, None)
                raise
        return module, path


def guarded_kernel(module: ModuleType, path: Path, name: str) -> "_GuardedKernel":
    """The jitted function ``name`` of a :func:`verified_module`, recompiled once if numba's cache for it is corrupt."""
    return _GuardedKernel(getattr(module, name), path)
