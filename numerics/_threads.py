"""BLAS threads, set deliberately (issue 23).

numpy and scipy each ship their own OpenBLAS, each with a thread pool as large as the
machine.  Two things go wrong when they are left alone:

* **two pools on the same cores** -- in a solver that alternates numpy products with
  scipy's vector work (ARPACK inside ``eigsh``), the pool that has just finished spins
  while the other works: 3x slower at N = 256 on 2 cores (measured);
* **several processes** -- training workers, seed runs and Dask workers each start a
  full pool, so 2 processes on 2 cores run 4+ spinning threads.

:func:`blas_threads` limits the pools for a block of code; :func:`limit_blas_threads`
sets them for the rest of a worker process (``threadpoolctl``, which works after numpy
is imported, unlike ``OPENBLAS_NUM_THREADS``).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

__all__ = ["blas_threads", "limit_blas_threads", "blas_thread_counts"]

_LIBRARIES = (None, "numpy", "scipy")


def _check(n, library) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of BLAS threads must be a positive integer, got {n!r}")
    if library not in _LIBRARIES:
        raise ValueError(f"library must be None (every BLAS), 'numpy' or 'scipy', got {library!r}")


def _select(controller, library):
    if library is None:
        return controller.select(user_api="blas")
    # each wheel's OpenBLAS lives in <package>.libs: select by that folder
    libs = [info for info in controller.info() if info.get("user_api") == "blas"
            and f"{library}.libs" in str(info.get("filepath", ""))]
    return controller.select(filepath=[info["filepath"] for info in libs]) if libs else None


@contextlib.contextmanager
def blas_threads(n: int, library: str | None = None) -> Iterator[None]:
    """Limit BLAS to ``n`` threads inside a ``with`` block (every BLAS, or only numpy's / scipy's)."""
    _check(n, library)
    from threadpoolctl import ThreadpoolController

    selected = _select(ThreadpoolController(), library)
    if selected is None:  # that library ships no separate BLAS here (e.g. a system build): nothing to limit
        yield
        return
    with selected.limit(limits=n):
        yield


def limit_blas_threads(n: int = 1) -> None:
    """Set every BLAS of this process to ``n`` threads from now on (worker processes)."""
    _check(n, None)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")


def blas_thread_counts() -> dict[str, int]:
    """{library file: threads} of every BLAS loaded in this process (for reports and tests)."""
    from threadpoolctl import threadpool_info

    return {info["filepath"]: int(info["num_threads"]) for info in threadpool_info() if info.get("user_api") == "blas"}
