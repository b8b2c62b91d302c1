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


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an int seed or a Generator.

    ``None`` is refused: every random result must be reproducible.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int or a numpy.random.Generator, got {seed!r}; pass e.g. seed=0")


def _check_samples(samples: Any) -> int:
    if isinstance(samples, bool) or not isinstance(samples, numbers.Integral) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    return int(samples)


def _check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 1:
        raise ValueError(f"dim must be a positive integer (the form's state dimension), got {dim!r}")
    return int(dim)


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
    if not (isinstance(a, numbers.Real) and np.isfinite(a) and a > 0):
        raise ValueError(f"the half-width a must be a finite number > 0, got {a!r}")
    rng = as_generator(seed)
    samples, dim = _check_samples(samples), _check_dim(dim)
    out = rng.uniform(-float(a), float(a), size=(samples, dim))
    return out[:, 0].copy() if dim == 1 else out


def gaussian_ics(sigma: float, samples: int, seed: SeedLike, dim: int = 1) -> np.ndarray:
    """Initial conditions N(0, sigma^2 I); shapes as :func:`uniform_ics`."""
    if not (isinstance(sigma, numbers.Real) and np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    rng = as_generator(seed)
    samples, dim = _check_samples(samples), _check_dim(dim)
    out = rng.normal(0.0, float(sigma), size=(samples, dim))
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
    try:
        arr = np.asarray(g, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"g must be a number or a 1-D array of numbers, got {g!r}") from exc
    arr = np.atleast_1d(arr)
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
    return int(T)


def check_h0(form: NormalForm, h0: Any) -> np.ndarray:
    """Initial conditions as a (dim, B) C-contiguous float64 array.

    Accepts shape (B,) for a scalar form and (B, dim) for any form.
    """
    try:
        arr = np.asarray(h0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"h0 must be an array of numbers, got {type(h0).__name__}") from exc
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
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1 (or None for all available CPUs), got {threads!r}")
    return int(threads)


def check_radius(radius: Any) -> float:
    if not isinstance(radius, numbers.Real) or isinstance(radius, bool) or not radius > 0:
        raise ValueError(f"escape_radius must be a number > 0 (or math.inf), got {radius!r}")
    return float(radius)


def validated(form: Any, g: Any, T: Any, h0: Any, escape_radius: Any):
    """(form, g, T, h0 as (dim, B), radius) checked; radius = inf for maps f = A(g) h,
    which diverge like g^t but never escape."""
    form = check_form(form)
    g, T, h0_k, radius = check_g(g), check_T(T), check_h0(form, h0), check_radius(escape_radius)
    return form, g, T, h0_k, (math.inf if form.is_linear_homogeneous else radius)
