"""Validation of user input and seeded initial-condition ensembles.

Everything a kernel receives passes through here, so kernels can assume
finite float64 C-contiguous arrays of the right shape.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np

from normalforms import NormalForm

SeedLike = int | np.random.Generator | None

#: Longest horizon accepted by the kernels (int64 loop counters, and beyond
#: ~1e12 steps no sweep finishes in a lifetime).
MAX_T = 10**12
_GIB = 1024.0**3


def positive_int(name: str, value: Any, maximum: int | None = None) -> int:
    """``value`` as an int >= 1 (any ``numbers.Integral`` but bool), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return int(value)


def real_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 array; complex, text or object input is refused with ``name`` in the message.

    numpy would silently drop an imaginary part (with only a ComplexWarning);
    a sensitivity computed from the real part alone is not what was asked for.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex values; pass {name}.real if the imaginary part is zero")
    if arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "O" and any(isinstance(v, complex) for v in arr.ravel()[:1000]):
            raise TypeError(f"{name} must be real, got complex values")
        if arr.dtype.kind in "USO":
            raise ValueError(f"{name} must hold numbers, got {arr.dtype.kind == 'O' and 'objects' or 'text'} "
                             f"({str(value)[:40]!r})")
    try:
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 2**62  # unknown: do not refuse


def check_memory(nbytes: float, what: str, advice: str) -> None:
    """Refuse, before allocating, work that needs more than 80 % of the available memory."""
    free = available_memory()
    if nbytes > 0.8 * free:
        raise ValueError(
            f"{what} would need {nbytes / _GIB:.1f} GiB of memory, more than the {0.8 * free / _GIB:.1f} GiB "
            f"this machine can spare; {advice}"
        )


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an int seed or a Generator.

    ``None`` is refused: every random result must be reproducible.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int or a numpy.random.Generator, got {seed!r}; pass e.g. seed=0")


def _check_ensemble(samples: Any, dim: Any) -> tuple[int, int]:
    samples, dim = positive_int("samples", samples), positive_int("dim (the form's state dimension)", dim)
    check_memory(8.0 * samples * dim, f"an ensemble of {samples} initial conditions",
                 "draw fewer samples, or several ensembles with different seeds and add their sweeps' norms")
    return samples, dim


def _check_scale(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, numbers.Complex):
            raise TypeError(f"{what} must be real, got the complex number {value!r}")
        raise ValueError(f"{what} must be a finite number > 0, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a finite number > 0, got {value!r}")
    return float(value)


def uniform_ics(a: float, samples: int, seed: SeedLike, dim: int = 1) -> np.ndarray:
    """Initial conditions uniform on [-a, a] (on the cube [-a, a]^dim).

    Parameters
    ----------
    a : float
        Half-width, > 0 (the paper's figure 2 uses a = 0.05 and a = 0.1).
    samples : int
        Ensemble size B.
    seed : int or numpy.random.Generator
    dim : int, default 1
        State dimension; shape ``(B,)`` for 1, ``(B, dim)`` otherwise.

    Examples
    --------
    >>> from numerics import uniform_ics
    >>> h0 = uniform_ics(0.1, 4, seed=0)
    >>> h0.shape, bool(abs(h0).max() <= 0.1)
    ((4,), True)
    """
    a = _check_scale(a, "the half-width a")
    rng = as_generator(seed)
    samples, dim = _check_ensemble(samples, dim)
    out = rng.uniform(-a, a, size=(samples, dim))
    return out[:, 0].copy() if dim == 1 else out


def gaussian_ics(sigma: float, samples: int, seed: SeedLike, dim: int = 1) -> np.ndarray:
    """Initial conditions N(0, sigma^2 I); shapes as :func:`uniform_ics`."""
    sigma = _check_scale(sigma, "sigma")
    rng = as_generator(seed)
    samples, dim = _check_ensemble(samples, dim)
    out = rng.normal(0.0, sigma, size=(samples, dim))
    return out[:, 0].copy() if dim == 1 else out


def check_form(form: Any) -> NormalForm:
    if not isinstance(form, NormalForm):
        raise TypeError(
            f"expected a normalforms.NormalForm, got {type(form).__name__}; "
            "use a catalogue form (normalforms.pitchfork()) or NormalForm('g*h - h**3')"
        )
    return form


def check_g(g: Any) -> np.ndarray:
    """A non-empty 1-D float64 grid of finite values (a scalar becomes shape (1,))."""
    arr = np.atleast_1d(real_array(g, "g"))
    if arr.ndim != 1:
        raise ValueError(f"g must be 1-D, got shape {arr.shape}; flatten it or loop over rows")
    if arr.size == 0:
        raise ValueError("the g-grid is empty; pass e.g. numpy.linspace(0.5, 1.5, 201)")
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][:3]
        raise ValueError(f"the g-grid holds non-finite values {bad.tolist()}; pass finite parameter values")
    return np.ascontiguousarray(arr)


def check_T(T: Any) -> int:
    """A horizon: a positive integer number of time steps (the states h_1..h_T enter)."""
    if isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 1:
        raise ValueError(f"T must be >= 1, a positive integer number of time steps (the states h_1..h_T "
                         f"enter), got {T!r}")
    if T > MAX_T:
        raise ValueError(f"T = {T} is beyond the limit of {MAX_T:.0e} time steps")
    return int(T)


def check_h0(form: NormalForm, h0: Any) -> np.ndarray:
    """Initial conditions as a (dim, B) C-contiguous float64 array.

    Accepts shape (B,) for a scalar form and (B, dim) for any form.
    """
    arr = real_array(h0, "h0")
    n = form.dim
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim == 1:
        if n != 1:
            raise ValueError(
                f"h0 has shape {arr.shape} but the form has a {n}-dimensional state "
                f"({', '.join(map(str, form.state))}); pass shape (B, {n})"
            )
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(
            f"h0 has shape {arr.shape}; the form's state is {n}-dimensional, so pass shape (B, {n})"
            + (" or (B,)" if n == 1 else "")
        )
    if arr.shape[0] == 0:
        raise ValueError("h0 is empty; pass at least one initial condition (e.g. uniform_ics(0.1, 1000, seed=0))")
    if not np.all(np.isfinite(arr)):
        rows = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[:3]
        raise ValueError(f"h0 holds non-finite initial conditions at rows {rows.tolist()}; pass finite values")
    return np.ascontiguousarray(arr.T)


def check_threads(threads: Any) -> int:
    """Worker threads: the CPUs available to this process when None, else an integer >= 1."""
    if threads is None:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    return positive_int("threads", threads)


def check_radius(radius: Any) -> float:
    if isinstance(radius, numbers.Complex) and not isinstance(radius, numbers.Real):
        raise TypeError(f"escape_radius must be real, got the complex number {radius!r}")
    if not isinstance(radius, numbers.Real) or isinstance(radius, bool) or not radius > 0:
        raise ValueError(f"escape_radius must be a number > 0 (or math.inf), got {radius!r}")
    return float(radius)


def validated(form: Any, g: Any, T: Any, h0: Any, escape_radius: Any):
    """(form, g, T, h0 as (dim, B), radius) checked; radius = inf for maps f = A(g) h,
    which diverge like g^t but never escape."""
    form = check_form(form)
    g, T, h0_k, radius = check_g(g), check_T(T), check_h0(form, h0), check_radius(escape_radius)
    return form, g, T, h0_k, (math.inf if form.is_linear_homogeneous else radius)
