r"""``sweep`` and ``trajectories``: ||sNTK_g|| over g-grids and IC ensembles.

The norm of the rank-one kernel sNTK_g = (D_g h)(D_g h)^T (paper, sec. 3 and
figure 2) is

.. math:: \|\mathrm{sNTK}_g\| = \sum_b \sum_{t=1}^{T} \|D_g h_t^{(b)}\|^2,

with D_g h_t from the tangent recursion s_{t+1} = f_h(h_t, g) s_t + f_g(h_t, g),
s_0 = 0 (states h_1..h_T; h_0 is held fixed).
"""

from __future__ import annotations

import csv
import math
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from normalforms import NormalForm

from ._codegen import compile_form
from ._inputs import check_form, check_g, check_memory, check_threads, validated
from normalforms._repr import short_repr

DEFAULT_ESCAPE_RADIUS = 1.0e6
"""|h| beyond which a trajectory counts as escaped (max-norm for vector states).

Large enough that no catalogue form (all O(1) near g* = 1) or reasonably
scaled user map is cut off inside its bounded dynamics; a trajectory of a
polynomial map that reaches it diverges within a few steps.  Linear maps
f = A(g) h never escape: h is rescaled instead.
"""

# Bits of one exponent unit of the kernels' extended-range sums (2**400).
_UNIT_BITS = 400
_LN2 = math.log(2.0)


class NumericalOverflowWarning(RuntimeWarning):
    """A result exceeds float64; its logarithm (``log_norm``) is exact."""


_pools: dict[int, ThreadPoolExecutor] = {}
_pool_lock = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _pool_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="nfsntk")
            _start_all_workers(pool, threads)
        return pool


def _start_all_workers(pool: ThreadPoolExecutor, threads: int) -> None:
    """Start every worker thread now, with Ctrl-C held back until they are registered.

    ThreadPoolExecutor starts a thread inside submit() and only then records it for the exit
    handler; a KeyboardInterrupt landing between the two left an unrecorded idle worker that
    the interpreter waited for forever at exit (seen on ~1 in 4 interrupted cold-cache sweeps).
    Starting all workers up front, with SIGINT blocked meanwhile (delivered right after), closes
    that window for every later submit.
    """
    import signal

    block = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    if block:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        barrier = threading.Barrier(threads + 1)
        futures = [pool.submit(barrier.wait) for _ in range(threads)]  # each blocks a distinct new worker
        barrier.wait()
        for fut in futures:
            fut.result()
    finally:
        if block:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _combine(m: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum m * 2**(400 e) over the last axis: (value as float64 or inf, log, overflowed)."""
    positive = m > 0
    e_top = np.where(positive, e, np.iinfo(np.int64).min).max(axis=-1, keepdims=True)
    e_top = np.where(e_top == np.iinfo(np.int64).min, 0, e_top)
    with np.errstate(under="ignore"):
        mant = np.ldexp(m, (_UNIT_BITS * (e - e_top)).clip(-2000, 0).astype(np.int32)).sum(axis=-1)
    e_top = e_top[..., 0]
    with np.errstate(divide="ignore"):
        log = np.log(mant) + _UNIT_BITS * _LN2 * e_top
    with np.errstate(over="ignore"):
        value = np.ldexp(mant, (_UNIT_BITS * e_top).clip(-2000, 2000).astype(np.int32))
    overflowed = ~np.isfinite(value)
    return value, log, overflowed


@dataclass(frozen=True, eq=False)
class SweepResult:
    r"""||sNTK_g|| of a form over a g-grid and an initial-condition ensemble.

    Attributes
    ----------
    form : NormalForm
    g : ndarray, shape (G,)
    T : int
    h0 : ndarray, shape (B, dim)
        The initial conditions used.
    escape_radius : float
    norm : ndarray, shape (G,)
        :math:`\sum_b \sum_{t=1}^T \|D_g h_t^{(b)}\|^2` over the trajectories
        that did not escape.  ``inf`` only where float64 overflows (then a
        :class:`NumericalOverflowWarning` was issued and ``overflowed`` is set).
    log_norm : ndarray, shape (G,)
        Natural log of ``norm``, finite even where ``norm`` overflows
        (``-inf`` only where the norm is exactly 0).
    escaped : ndarray of int, shape (G,)
        Trajectories excluded because they left ``escape_radius``.
    profile, log_profile : ndarray, shape (G, T) or None
        Per-time sums :math:`\sum_b \|D_g h_t^{(b)}\|^2`, t = 1..T (``profile=True``).
    """

    form: NormalForm
    g: np.ndarray
    T: int
    h0: np.ndarray
    escape_radius: float
    norm: np.ndarray
    log_norm: np.ndarray
    escaped: np.ndarray
    overflowed: np.ndarray
    profile: np.ndarray | None = None
    log_profile: np.ndarray | None = None
    seconds: float = field(default=0.0, repr=False)

    @property
    def samples(self) -> int:
        """Ensemble size B."""
        return self.h0.shape[0]

    @property
    def kept(self) -> np.ndarray:
        """Trajectories that stayed within the escape radius, per g."""
        return self.samples - self.escaped

    @property
    def mean(self) -> np.ndarray:
        """Per-sample norm ``norm / kept`` (NaN where every trajectory escaped)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.kept > 0, self.norm / np.maximum(self.kept, 1), np.nan)

    @property
    def log_mean(self) -> np.ndarray:
        """log of :attr:`mean`, finite where :attr:`norm` overflows."""
        with np.errstate(divide="ignore"):
            return np.where(self.kept > 0, self.log_norm - np.log(np.maximum(self.kept, 1)), np.nan)

    def peak(self) -> tuple[float, float]:
        """(g, log_norm) at the largest norm on the grid."""
        i = int(np.nanargmax(self.log_norm))
        return float(self.g[i]), float(self.log_norm[i])

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write g, norm, log_norm, mean, escaped (and the profile, if any) as CSV."""
        path = Path(path)
        header = ["g", "norm", "log_norm", "mean", "escaped"]
        if self.profile is not None:
            header += [f"t{t}" for t in range(1, self.T + 1)]
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for i in range(self.g.size):
                row = [repr(float(self.g[i])), repr(float(self.norm[i])), repr(float(self.log_norm[i])),
                       repr(float(self.mean[i])), int(self.escaped[i])]
                if self.profile is not None:
                    row += [repr(float(v)) for v in self.profile[i]]
                w.writerow(row)
        return path

    def __repr__(self) -> str:
        g_peak, log_peak = self.peak()
        return (
            f"SweepResult({self.form.name}: G={self.g.size} on [{self.g.min():g}, {self.g.max():g}], "
            f"B={self.samples}, T={self.T}; peak log-norm {log_peak:.6g} at g={g_peak:.6g}; "
            f"escaped {int(self.escaped.sum())} of {self.samples * self.g.size})"
        )


def _raise_kernel_error(info: np.ndarray, rows: np.ndarray, h0: np.ndarray, names: tuple = ()) -> None:
    """Raise for the first work item whose kernel reported a domain error or an overflow, naming its parameter
    row (g = rows[:, 0], then the runtime constants ``names``)."""
    bad = np.argwhere(info[..., 0] != 0)
    if bad.size == 0:
        return
    ig, p = bad[0]
    status, t, sample = (int(v) for v in info[ig, p])
    consts = "".join(f", {n} = {float(v)!r}" for n, v in zip(names, rows[ig, 1:]))
    where = f"g = {float(rows[ig, 0])!r}{consts}, initial condition {h0[:, sample].tolist()} (sample {sample}), step t = {t}"
    if status == 2:
        raise FloatingPointError(
            f"f(h, g) returned NaN inside the escape radius at {where}: the map is undefined there "
            "(e.g. log or sqrt of a negative number); restrict g or the initial conditions"
        )
    raise OverflowError(
        f"D_g h overflowed float64 within one check interval at {where}: it grew by more than 2**25 per "
        "step; shorten T or rescale the map"
    )


def sweep(
    form: NormalForm,
    g: Any,
    T: int,
    h0: Any,
    *,
    profile: bool = False,
    escape_radius: float = DEFAULT_ESCAPE_RADIUS,
    threads: int | None = None,
    progress: bool | None = None,
    client: Any = None,
    chunks: tuple[int, int] | None = None,
    retries: int = 3,
) -> SweepResult:
    r"""||sNTK_g|| of ``form`` at every g of a grid, summed over an IC ensemble.

    .. math:: \|\mathrm{sNTK}_g\| = \sum_b \sum_{t=1}^{T} \|D_g h_t^{(b)}\|^2

    (paper, sec. 3 and figure 2), with D_g h_t from the tangent recursion
    s_{t+1} = f_h s_t + f_g, s_0 = 0, evaluated in float64 by the form's
    compiled kernel (:func:`numerics.compile_form`).

    Parameters
    ----------
    form : NormalForm
        Any form, scalar or n-D.
    g : float or array_like, shape (G,)
        Parameter values (finite).
    T : int
        Horizon, >= 1.
    h0 : array_like, shape (B,) or (B, dim)
        Initial conditions, e.g. :func:`uniform_ics` (finite).
    profile : bool, default False
        Also return the per-time sums (G, T).
    escape_radius : float, default :data:`DEFAULT_ESCAPE_RADIUS`
        Trajectories with max_i |h_i| > radius at some step are excluded and
        counted in ``escaped``; not used for linear maps f = A(g) h.
    threads : int, optional
        Worker threads (default: the CPUs available to this process).
    progress : bool, optional
        Progress bar; by default shown when the sweep runs longer than 1 s.
    client : distributed.Client, optional
        Run on a Dask cluster instead (``pip install nfsntk[distributed]``):
        the grid and the ensemble are cut into ``chunks``, each chunk's raw
        partial sums are computed by the compiled kernel on a worker and
        combined here exactly as the local parts are (:mod:`numerics._distributed`).
    chunks : (int, int), optional
        (g values, samples) per task with ``client``; default: about 4 tasks
        per worker thread.
    retries : int, default 3
        Dask retries of a failed task; a task that still fails makes the call
        raise -- a partial sum is never returned.

    Returns
    -------
    SweepResult

    Raises
    ------
    FloatingPointError
        f is undefined (NaN) at a point inside the escape radius.
    OverflowError
        D_g h grows by more than 2**25 in one step.

    Examples
    --------
    >>> import numpy as np, normalforms as nf, numerics
    >>> r = numerics.sweep(nf.stability_flip(), [0.5, 1.0], T=3, h0=[1.0])
    >>> r.norm.tolist()   # sum_t t^2 g^(2t-2) h0^2: 1 + 4/4 + 9/16 and 1 + 4 + 9
    [2.5625, 14.0]
    """
    form, g, T, h0_k, radius = validated(form, g, T, h0, escape_radius)
    if client is not None:
        from ._distributed import distributed_partials

        parts = distributed_partials(client, form, g, T, h0_k, radius, profile, chunks, retries)
    else:
        parts = partial_sums(form, g, T, h0_k, radius, profile, check_threads(threads), progress)
    return _result(form, g, T, h0_k, radius, parts)


@dataclass(frozen=True)
class GridResult:
    r"""||sNTK_g|| over a grid of several parameters: g and any of the form's constants.

    Attributes
    ----------
    form : NormalForm
    axes : dict of str -> ndarray
        The grid's axes in order, by name (the form's parameter and constants).
    T : int
    norm, log_norm : ndarray, shape (len(axis_1), ..., len(axis_k))
        :math:`\sum_b \sum_t \|D_g h_t^{(b)}\|^2` at every grid point (``log_norm`` exact
        where ``norm`` overflows), as :class:`SweepResult`.
    escaped : ndarray of int, same shape
    overflowed : ndarray of bool, same shape
    profile, log_profile : ndarray, shape (..., T) or None
    flat : SweepResult
        The same numbers over the flattened grid (row-major, the last axis fastest).
    """

    form: NormalForm
    axes: dict
    T: int
    norm: np.ndarray
    log_norm: np.ndarray
    escaped: np.ndarray
    overflowed: np.ndarray
    profile: np.ndarray | None
    log_profile: np.ndarray | None
    flat: "SweepResult" = field(repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(v.size for v in self.axes.values())

    @property
    def seconds(self) -> float:
        return self.flat.seconds

    @property
    def log_mean(self) -> np.ndarray:
        """log of the per-sample norm (over the trajectories kept), finite where the norm overflows."""
        return self.flat.log_mean.reshape(self.shape)

    def peak(self) -> dict[str, float]:
        """The grid point of the largest norm, by axis name, with its ``log_norm``."""
        idx = np.unravel_index(int(np.nanargmax(self.log_norm)), self.shape)
        out = {name: float(v[i]) for (name, v), i in zip(self.axes.items(), idx)}
        out["log_norm"] = float(self.log_norm[idx])
        return out

    def to_csv(self, path: str | os.PathLike) -> Path:
        """One row per grid point: the axes' values, norm, log_norm, mean, escaped (the last axis fastest)."""
        path = Path(path)
        mesh = np.meshgrid(*self.axes.values(), indexing="ij")
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(list(self.axes) + ["norm", "log_norm", "mean", "escaped"])
            mean = self.flat.mean
            for i in range(self.norm.size):
                w.writerow([repr(float(m.flat[i])) for m in mesh]
                           + [repr(float(self.norm.flat[i])), repr(float(self.log_norm.flat[i])),
                              repr(float(mean[i])), int(self.escaped.flat[i])])
        return path

    def __repr__(self) -> str:
        axes = ", ".join(f"{k}: {v.size} on [{v.min():g}, {v.max():g}]" for k, v in self.axes.items())
        return f"GridResult({self.form.name}: {axes}; B={self.flat.samples}, T={self.T}; peak {self.peak()})"


def _check_axes(form: NormalForm, axes: Any) -> dict[str, np.ndarray]:
    from ._codegen import compile_form

    if not isinstance(axes, Mapping) or not axes:
        raise TypeError("axes must be a mapping from parameter names to 1-D grids, e.g. "
                        f"{{{form.param.name!r}: numpy.linspace(0.5, 1.5, 200), 'eps': numpy.linspace(-0.1, 0.1, 200)}}")
    names = [str(k) for k in axes]
    runtime = compile_form(form).runtime_constants
    known = (form.param.name,) + runtime
    for name in names:
        if name not in known:
            compiled_in = name in form.constants and name not in runtime
            raise ValueError(
                f"{name!r} is not a parameter of this form's kernel: "
                + ("its value is compiled in (keeping it symbolic would change whether the map is linear "
                   "homogeneous); give it a nonzero value or build the form without it" if compiled_in else
                   f"the grid can vary {list(known)} (the parameter and the constants declared with constants=)"))
    if form.param.name not in names:
        raise ValueError(f"the grid needs the parameter {form.param.name!r} as an axis (a single value is fine: "
                         f"{{{form.param.name!r}: [1.0], ...}})")
    out = {}
    for name, values in axes.items():
        try:
            out[str(name)] = check_g(values)
        except ValueError as err:
            raise ValueError(f"axis {name!r}: {err}") from None
    return out


def sweep_grid(form: NormalForm, axes: Mapping[str, Any], T: int, h0: Any, *, profile: bool = False,
               escape_radius: float = DEFAULT_ESCAPE_RADIUS, threads: int | None = None,
               progress: bool | None = None, client: Any = None, chunks: tuple[int, int] | None = None,
               retries: int = 3) -> GridResult:
    r"""||sNTK_g|| over the product grid of g and any of the form's constants (e.g. a (g, eps) map).

    .. math:: \|\mathrm{sNTK}_g\|(g, c_1, ...) = \sum_b \sum_{t=1}^{T} \|D_g h_t^{(b)}\|^2

    The constants are runtime parameters of the form's compiled kernel: the whole grid runs in
    one kernel module, compiled once for the expression structure (:func:`numerics.compile_count`
    does not grow with the number of values).  Everything else -- escapes, exact logs past
    float64, threads, the Dask path -- is :func:`sweep`'s.

    Parameters
    ----------
    form : NormalForm
        A form whose other parameters are declared as constants (``constants={"eps": 0.0}``,
        e.g. :func:`normalforms.cusp`, :func:`normalforms.imperfect_pitchfork`).
    axes : mapping of str to 1-D array_like
        The grid, axis by axis, by name: the form's parameter (required) and any constants;
        constants not named keep the form's values.
    T, h0, profile, escape_radius, threads, progress, client, chunks, retries
        As :func:`sweep`.

    Returns
    -------
    GridResult
        Arrays shaped by the axes, in the order given.

    Examples
    --------
    >>> import numpy as np, normalforms as nf, numerics
    >>> r = numerics.sweep_grid(nf.imperfect_pitchfork(), {"g": [0.9, 1.1], "eps": [0.0, 0.01, 0.02]}, T=10,
    ...                         h0=[0.05, -0.05], progress=False)
    >>> r.norm.shape
    (2, 3)
    """
    form = check_form(form)
    grid = _check_axes(form, axes)
    mesh = np.meshgrid(*grid.values(), indexing="ij")
    flat = {name: np.ascontiguousarray(m.ravel()) for name, m in zip(grid, mesh)}
    g = flat.pop(form.param.name)
    form, g, T, h0_k, radius = validated(form, g, T, h0, escape_radius)
    params = flat or None
    if client is not None:
        from ._distributed import distributed_partials

        parts = distributed_partials(client, form, g, T, h0_k, radius, profile, chunks, retries, params=params)
    else:
        parts = partial_sums(form, g, T, h0_k, radius, profile, check_threads(threads), progress, params=params)
    res = _result(form, g, T, h0_k, radius, parts)
    shape = tuple(v.size for v in grid.values())
    prof = None if res.profile is None else res.profile.reshape(shape + (T,))
    lprof = None if res.log_profile is None else res.log_profile.reshape(shape + (T,))
    return GridResult(form=form, axes=grid, T=T, norm=res.norm.reshape(shape), log_norm=res.log_norm.reshape(shape),
                      escaped=res.escaped.reshape(shape), overflowed=res.overflowed.reshape(shape), profile=prof,
                      log_profile=lprof, flat=res)


@dataclass
class Partials:
    """Raw per-part sums of one sweep: mantissas m and exponents e of sum * 2**(400 e), shape (G, parts[, T])."""

    norm_m: np.ndarray
    norm_e: np.ndarray
    escaped: np.ndarray
    prof_m: np.ndarray | None
    prof_e: np.ndarray | None
    seconds: float

    @classmethod
    def concatenate(cls, blocks: list[list["Partials"]]) -> "Partials":
        """Rows of blocks (one row per g block, one entry per ensemble block) -> one (G, parts) set.

        Parts are independent partial sums, so ensemble blocks are joined
        along the parts axis; rows with fewer parts are padded with empty
        parts (m = 0 adds nothing).
        """
        names = ("norm_m", "norm_e", "escaped") + (("prof_m", "prof_e") if blocks[0][0].prof_m is not None else ())
        rows = [{n: np.concatenate([getattr(p, n) for p in row], axis=1) for n in names} for row in blocks]
        width = max(r["norm_m"].shape[1] for r in rows)

        def padded(x: np.ndarray) -> np.ndarray:
            return np.pad(x, [(0, 0), (0, width - x.shape[1])] + [(0, 0)] * (x.ndim - 2))

        joined = {n: np.concatenate([padded(r[n]) for r in rows], axis=0) for n in names}
        joined.setdefault("prof_m", None)
        joined.setdefault("prof_e", None)
        return cls(**joined, seconds=sum(p.seconds for row in blocks for p in row))


def partial_sums(form: NormalForm, g: np.ndarray, T: int, h0_k: np.ndarray, radius: float, profile: bool,
                 threads: int, progress: bool | None = False, params: dict | None = None) -> Partials:
    """The kernel's raw partial sums for validated inputs (a worker runs this on its chunk); ``params``:
    values of runtime constants per g value (arrays of g's length), else the form's own."""
    compiled = compile_form(form)
    mod = compiled.module
    rows = compiled.rows(g, params)
    _pool(threads)  # workers started before any progress is shown (see _start_all_workers)
    G, B = g.size, h0_k.shape[1]
    # Split each g's ensemble when there are too few g values to keep every
    # thread busy; never into pieces smaller than one kernel chunk.
    parts = max(1, min(math.ceil(4 * threads / G), math.ceil(B / mod.CHUNK)))
    items = G * parts
    Tp = T if profile else 1
    # outputs, plus the (G, T, parts) temporaries of the exact combination of a profile
    check_memory(48.0 * items + (40.0 * items * T + 16.0 * G * T if profile else 0.0),
                 f"a sweep of {G} g values{' with a (G, T) profile' if profile else ''}",
                 "sweep fewer g values per call (e.g. in blocks of 1000) or drop profile=True")
    norm_m = np.zeros((G, parts))
    norm_e = np.zeros((G, parts), np.int64)
    escaped = np.zeros((G, parts), np.int64)
    info = np.zeros((G, parts, 3), np.int64)
    prof_m = np.zeros((G, parts, Tp))
    prof_e = np.zeros((G, parts, Tp), np.int64)
    kernel = compiled.kernel("run_items_profile" if profile else "run_items_norm")
    if not kernel.signatures:
        _warm_up(kernel, h0_k.shape[0], rows.shape[1])
    stop = np.zeros(1, np.int64)
    n_slices = min(items, threads * 16)
    edges = np.linspace(0, items, n_slices + 1).astype(np.int64)
    args = (rows, h0_k, T, radius, parts)
    outs = (norm_m, norm_e, escaped, info, prof_m, prof_e, stop)
    slices = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    updates = float(G) * B * T * h0_k.shape[0]
    estimate = _estimate_seconds(kernel, rows, h0_k, T, radius, profile, updates, min(threads, items))
    start = time.perf_counter()
    bar = _progress_bar(progress, items, form, updates, estimate)
    try:
        _run_on_threads(threads, [(lambda a=a, b=b: kernel(*args, a, b, *outs)) for a, b in slices],
                        [b - a for a, b in slices], bar, stop)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    _raise_kernel_error(info, rows, h0_k, compiled.runtime_constants)

    return Partials(norm_m, norm_e, escaped, prof_m if profile else None, prof_e if profile else None, seconds)


def _run_on_threads(threads: int, calls: list, counts: list[int], bar, stop: np.ndarray) -> None:
    """Run ``calls`` (nogil kernels) on the pool; Ctrl-C stops them within one check interval.

    The main thread only waits, so a KeyboardInterrupt reaches it at once; it
    then sets ``stop`` -- which every running kernel reads between check
    intervals -- drops the calls not yet started, waits for the running ones
    to return and re-raises.  No half-filled result escapes.
    """
    pool = _pool(threads)
    futures = []
    try:
        # submitted inside the try: a Ctrl-C between two submissions must still stop the running ones
        # (it left a kernel running, and the process unable to exit, when it landed there)
        for count, call in zip(counts, calls):
            futures.append((count, pool.submit(call)))
        for count, fut in futures:
            fut.result()
            bar.update(count)
    except BaseException:
        stop[0] = 1
        for _, fut in futures:
            fut.cancel()
        for _, fut in futures:
            if not fut.cancelled():
                try:
                    fut.result()
                except Exception:  # the first error is the one re-raised
                    pass
        raise


# Below this many state updates a sweep takes < ~0.1 s and needs no estimate.
_ESTIMATE_ABOVE = 5e8


def _estimate_seconds(kernel, g: np.ndarray, h0_k: np.ndarray, T: int, radius: float, profile: bool,
                      updates: float, workers: int) -> float | None:
    """Wall time of the sweep from a timed probe (one g, <= 1024 samples, ~2.6e5 updates), or None if small.

    The probe (~0.1 ms) runs twice and the faster run counts: the first call
    after loading a kernel pays one-off costs that would inflate the estimate.
    """
    if updates < _ESTIMATE_ABOVE:
        return None
    # ~2.6e5 state updates (~0.1-1 ms): enough that the call overhead does not count
    n = min(h0_k.shape[1], 1024)
    T_probe = min(T, max(256, 2**18 // n))
    probe = np.ascontiguousarray(h0_k[:, :n])
    Tp = T_probe if profile else 1
    best = math.inf
    for _ in range(2):
        outs = (np.zeros((1, 1)), np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64),
                np.zeros((1, 1, 3), np.int64), np.zeros((1, 1, Tp)), np.zeros((1, 1, Tp), np.int64),
                np.zeros(1, np.int64))
        start = time.perf_counter()
        kernel(g[:1], probe, T_probe, radius, 1, 0, 1, *outs)
        best = min(best, time.perf_counter() - start)
    return updates * best / (n * T_probe * h0_k.shape[0]) / workers


def _format_seconds(seconds: float) -> str:
    if seconds < 1:
        return "< 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _result(form: NormalForm, g: np.ndarray, T: int, h0_k: np.ndarray, radius: float, parts: Partials) -> SweepResult:
    """Combine the partial sums exactly (mantissa/exponent), warn on overflow and empty ensembles."""
    norm_m, norm_e, escaped, prof_m, prof_e, seconds = (parts.norm_m, parts.norm_e, parts.escaped, parts.prof_m,
                                                        parts.prof_e, parts.seconds)
    profile = prof_m is not None
    G, B = g.size, h0_k.shape[1]
    norm, log_norm, overflowed = _combine(norm_m, norm_e)
    esc = escaped.sum(axis=1)
    prof = log_prof = None
    if profile:
        prof, log_prof, prof_over = _combine(np.moveaxis(prof_m, 1, 2), np.moveaxis(prof_e, 1, 2))
        overflowed = overflowed | prof_over.any(axis=1)
    if overflowed.any():
        where = g[overflowed]
        warnings.warn(
            f"||sNTK_g|| exceeds float64 at {where.size} of {G} g values (first g = {float(where[0])!r}); "
            "norm is inf there - use result.log_norm (and log_profile), which are exact",
            NumericalOverflowWarning,
            stacklevel=3,  # the caller of sweep
        )
    if np.any(esc == B):
        where = g[esc == B]
        warnings.warn(
            f"every trajectory escaped at {where.size} g values (first g = {float(where[0])!r}); the norm there is 0 "
            "over an empty ensemble and the per-sample mean is NaN",
            RuntimeWarning,
            stacklevel=3,  # the caller of sweep
        )
    return SweepResult(
        form=form, g=g, T=T, h0=np.ascontiguousarray(h0_k.T), escape_radius=radius,
        norm=norm, log_norm=log_norm, escaped=esc, overflowed=overflowed,
        profile=prof, log_profile=log_prof, seconds=seconds,
    )


def _warm_up(kernel, dim: int, npar: int = 1) -> None:
    """Compile (or load from the disk cache) before timing and the progress bar start."""
    kernel(np.zeros((1, npar)), np.zeros((dim, 1)), 1, 1.0, 1, 0, 1, np.zeros((1, 1)), np.zeros((1, 1), np.int64),
           np.zeros((1, 1), np.int64), np.zeros((1, 1, 3), np.int64), np.zeros((1, 1, 1)),
           np.zeros((1, 1, 1), np.int64), np.zeros(1, np.int64))


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(progress: bool | None, total: int, form: NormalForm, updates: float, estimate: float | None):
    if progress is False:
        return _NoBar()
    from tqdm.auto import tqdm

    desc = f"sweep {form.name}: {updates:.2g} updates"
    if estimate is not None:
        desc += f", about {_format_seconds(estimate)}"
    # delay=1: the bar only appears for sweeps that run longer than a second,
    # at once for those estimated to take longer (so the estimate is seen).
    show_now = progress or (estimate is not None and estimate > 10)
    return tqdm(total=total, desc=desc, unit="item", delay=0 if show_now else 1.0, leave=False)


@short_repr("form", "g", "T", "h0", "escape_radius", "h")
@dataclass(frozen=True, eq=False)
class Trajectories:
    """States and sensitivities of every trajectory, for inspection.

    Attributes
    ----------
    h, dg_h : ndarray, shape (G, T+1, B) for scalar forms, (G, T+1, B, dim) otherwise
        h_t and D_g h_t for t = 0..T.  After a trajectory escapes (step
        ``escape_step``) its entries are NaN - marked, not computed.
    escape_step : ndarray of int, shape (G, B)
        First step with max_i |h_i| > escape_radius, or -1.
    """

    form: NormalForm
    g: np.ndarray
    T: int
    h0: np.ndarray
    escape_radius: float
    h: np.ndarray
    dg_h: np.ndarray
    escape_step: np.ndarray


def trajectories(form: NormalForm, g: Any, T: int, h0: Any, *, escape_radius: float = DEFAULT_ESCAPE_RADIUS,
                 threads: int | None = None) -> Trajectories:
    """Every h_t and D_g h_t, t = 0..T, for a (small) grid and ensemble.

    Same inputs and conventions as :func:`sweep`; keeps all states in memory
    (refused, before anything is allocated, when that exceeds what the
    machine can spare - use :func:`sweep` for norms).  No rescaling: an
    overflow raises ``OverflowError`` pointing to ``sweep(...).log_norm``.

    Examples
    --------
    >>> import normalforms as nf, numerics
    >>> tr = numerics.trajectories(nf.pitchfork(), 2.0, T=2, h0=[0.5])
    >>> tr.h[0, :, 0].tolist(), tr.dg_h[0, :, 0].tolist()
    ([0.5, 0.875, 1.080078125], [0.0, 0.5, 0.7265625])
    """
    form, g, T, h0_k, radius = validated(form, g, T, h0, escape_radius)
    compiled = compile_form(form)
    rows = compiled.rows(g)
    n, B = h0_k.shape
    states = float(g.size) * (T + 1) * B
    # H and S, their reordered copies, and three boolean masks
    check_memory(4 * 8.0 * states * n + 3.0 * states, f"trajectories of {g.size} x {B} orbits over {T} steps",
                 "reduce the grid, T or the ensemble, or use sweep() for the norm")
    H = np.empty((g.size, T + 1, n, B))
    S = np.empty((g.size, T + 1, n, B))
    step = np.empty((g.size, B), np.int64)
    threads = check_threads(threads)
    slices = np.array_split(np.arange(g.size), min(g.size, threads))
    kernel = compiled.kernel("trajectory_kernel")
    stop = np.zeros(1, np.int64)

    def run(idx: np.ndarray) -> None:
        # Rows of H are separate C-contiguous blocks, so each thread fills its own.
        sub_h, sub_s, sub_step = H[idx[0]: idx[-1] + 1], S[idx[0]: idx[-1] + 1], step[idx[0]: idx[-1] + 1]
        kernel(rows[idx[0]: idx[-1] + 1], h0_k, T, radius, sub_h, sub_s, sub_step, stop)

    _run_on_threads(threads, [(lambda idx=idx: run(idx)) for idx in slices], [len(idx) for idx in slices],
                    _NoBar(), stop)
    alive = np.ones((g.size, T + 1, B), bool)
    for ig, b in zip(*np.nonzero(step >= 0)):
        alive[ig, step[ig, b]:, b] = False
    finite = np.isfinite(H).all(axis=2) & np.isfinite(S).all(axis=2)
    bad = alive & ~finite
    if bad.any():
        ig, t, b = (int(v) for v in np.argwhere(bad)[0])
        raise OverflowError(
            f"h or D_g h left float64 at g = {g[ig]!r}, sample {b}, step {t} without escaping; "
            "for long horizons use sweep(...).log_norm, which rescales"
        )
    H = np.moveaxis(H, 2, 3)
    S = np.moveaxis(S, 2, 3)
    if n == 1:
        H, S = H[..., 0], S[..., 0]
    return Trajectories(form=form, g=g, T=T, h0=np.ascontiguousarray(h0_k.T), escape_radius=radius,
                        h=np.ascontiguousarray(H), dg_h=np.ascontiguousarray(S), escape_step=step)
