r"""Sweeps on a Dask cluster: the grid and the ensemble cut into chunks, exact recombination.

||sNTK_g|| = sum_b sum_t ||D_g h_t^(b)||^2 is a sum over the ensemble, so a
sweep splits into independent (g block) x (ensemble block) tasks.  Each task
runs the form's compiled kernel on its worker (:func:`numerics.compile_form`
memoises per process and numba caches machine code on disk, so a worker
compiles a form once) and returns its *raw* partial sums -- mantissas and
power-of-two exponents, the same objects the local sweep combines -- so the
result equals the local one up to the order of float64 additions (≤ 1e-15
relative), with the exact logarithm kept where the norm overflows.

Failure behaviour: every task is submitted with Dask ``retries``; a worker
that dies has its tasks -- and the ensemble blocks it held, which are task
results with lineage rather than scattered data -- recomputed elsewhere by
the scheduler; ``gather``
returns all blocks or raises (the task's own error, e.g. the kernel's
FloatingPointError, or ``KilledWorker``), and the number of samples accounted
for is checked against the ensemble before combining.  A partial sum is never
returned.

Install with ``pip install nfsntk[distributed]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from normalforms import NormalForm

INSTALL_HINT = "the distributed sweep needs dask.distributed: pip install 'nfsntk[distributed]'"


def _require_distributed():
    try:
        import distributed
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(INSTALL_HINT) from err
    return distributed


def check_client(client: Any) -> Any:
    """``client`` itself if it is a ``distributed.Client``; otherwise a TypeError that says what to pass."""
    distributed = _require_distributed()
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a distributed.Client (e.g. Client('tcp://scheduler:8786') or "
                        f"Client(LocalCluster())), got {type(client).__name__} {client!r:.60}")
    return client


def _worker_threads() -> int:
    """The threads Dask gives this worker (so a kernel never oversubscribes a machine of several workers)."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def _hold(block: np.ndarray) -> np.ndarray:
    return block


def _chunk_task(form: NormalForm, g: np.ndarray, T: int, h0_k: np.ndarray, radius: float, profile: bool,
                params: dict | None = None):
    """One task: the raw partial sums of a (g block, ensemble block) and its sample count."""
    from ._sweep import partial_sums

    parts = partial_sums(form, g, T, h0_k, radius, profile, _worker_threads(), progress=False, params=params)
    return parts, int(h0_k.shape[1])


def check_chunks(chunks: Any, G: int, B: int, client) -> tuple[int, int]:
    """(g values, samples) per task; default about 4 tasks per worker thread, split over the ensemble first."""
    if chunks is None:
        tasks = 4 * max(1, sum(client.nthreads().values()))
        # split the ensemble first (blocks of >= 4096 samples keep the kernel's vector lanes full),
        # then the grid, until there are about `tasks` tasks
        e_blocks = max(1, min(tasks, math.ceil(B / 4096)))
        g_blocks = max(1, min(G, math.ceil(tasks / e_blocks)))
        return math.ceil(G / g_blocks), math.ceil(B / e_blocks)
    if (not isinstance(chunks, (tuple, list)) or len(chunks) != 2
            or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c >= 1 for c in chunks)):
        raise ValueError(f"chunks must be a pair of positive integers (g values, samples) per task, got {chunks!r}")
    return int(chunks[0]), int(chunks[1])


def distributed_partials(client, form: NormalForm, g: np.ndarray, T: int, h0_k: np.ndarray, radius: float,
                         profile: bool, chunks: Any = None, retries: int = 3, params: dict | None = None):
    """Submit every (g block, ensemble block) to ``client``, gather all of them, join their partial sums.

    Raises
    ------
    ImportError
        dask.distributed is not installed.
    RuntimeError
        the gathered blocks do not account for every sample at every g (never expected; checked).
    """
    check_client(client)
    from ._sweep import Partials

    if isinstance(retries, bool) or not isinstance(retries, (int, np.integer)) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    G, B = g.size, h0_k.shape[1]
    g_size, e_size = check_chunks(chunks, G, B, client)
    g_blocks = [g[i:i + g_size] for i in range(0, G, g_size)]
    p_blocks = [None if params is None else {k: v[i:i + g_size] for k, v in params.items()}
                for i in range(0, G, g_size)]
    e_blocks = [np.ascontiguousarray(h0_k[:, j:j + e_size]) for j in range(0, B, e_size)]
    # Each ensemble block goes to the cluster once, as a task whose result every g block shares.
    # Not client.scatter: scattered data has no lineage, so a worker dying with it would cancel
    # every task that needs it; a task result is recomputed from its spec on another worker.
    e_futures = [client.submit(_hold, block, pure=False) for block in e_blocks]
    futures = [[client.submit(_chunk_task, form, gb, T, ef, radius, profile, pb, retries=retries, pure=False)
                for ef in e_futures] for gb, pb in zip(g_blocks, p_blocks)]
    rows = client.gather(futures)  # every block, or the first error
    counted = [sum(n for _, n in row) for row in rows]
    if len(rows) != len(g_blocks) or any(c != B for c in counted):
        raise RuntimeError(f"distributed sweep accounted for {counted} samples per g block, expected {B}; "
                           "refusing to return a partial sum")
    return Partials.concatenate([[p for p, _ in row] for row in rows])
