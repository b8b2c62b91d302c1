r"""Multi-seed training runs, locally or as Dask tasks, gathered into one table.

Each seed is one task: :func:`train` with that seed (the teacher, the
student's draw, the batches and the diagnostics' probes all follow it), then a
summary row.  With a ``distributed.Client`` the tasks run on the cluster's
workers (``retries`` as for the distributed sweep; a task that still fails
makes the call raise, so the table is complete or absent); without one they run
here, one after the other, through the same code.
"""

from __future__ import annotations

import contextlib
import csv
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ._curves import loss_roughness
from ._events import bifurcation_events
from ._training import TrainConfig, TrainingRecord, train

COLUMNS = ("seed", "config", "optimizer", "steps", "final_loss", "min_loss", "roughness",
           "first_attractor_change", "final_stable_rank", "seconds")


def summarize(rec: TrainingRecord, seconds: float = float("nan")) -> dict:
    """The default row: final and minimal loss, roughness, first change in the number of attractors, rank."""
    events = bifurcation_events(rec.steps, rec.fixed_points, attractors_only=True)
    return {
        "seed": rec.config.seed, "config": rec.config.config, "optimizer": rec.config.optimizer,
        "steps": rec.config.steps, "final_loss": float(rec.loss[-1]), "min_loss": float(np.min(rec.loss)),
        "roughness": loss_roughness(rec.loss),
        "first_attractor_change": int(events[0].step_after) if events else None,
        "final_stable_rank": float(rec.stable_rank[-1]), "seconds": seconds,
    }


def _seed_task(cfg: TrainConfig, keep_record: bool, summary: Callable[[TrainingRecord, float], dict],
               blas: int | None = None):
    from .._threads import blas_threads

    start = time.perf_counter()
    # a Dask worker runs one task per thread: each task gets one BLAS thread, not a pool per task
    with contextlib.nullcontext() if blas is None else blas_threads(blas):
        rec = train(cfg, progress=False)
    row = summary(rec, time.perf_counter() - start)
    return row, (rec if keep_record else None)


@dataclass
class SeedRuns:
    """One row per seed (in the order given) and, if kept, the records."""

    rows: list[dict]
    records: list = field(default_factory=list)

    def column(self, name: str) -> list:
        if self.rows and name not in self.rows[0]:
            raise KeyError(f"no column {name!r}; columns are {list(self.rows[0])}")
        return [row[name] for row in self.rows]

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(self.rows[0]))
            writer.writeheader()
            writer.writerows(self.rows)
        return path

    def __repr__(self) -> str:
        return f"SeedRuns({len(self.rows)} seeds, columns {list(self.rows[0]) if self.rows else []})"

    def __str__(self) -> str:
        if not self.rows:
            return "(no runs)"
        names = list(self.rows[0])

        def fmt(v: Any) -> str:
            return f"{v:.4g}" if isinstance(v, float) else str(v)

        cells = [names] + [[fmt(r[n]) for n in names] for r in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(names))]
        return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells)


def _check_seeds(seeds) -> list[int]:
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of integers >= 0, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (a repeated seed repeats the same run), got {seeds!r}")
    return [int(s) for s in seeds]


def _init_process() -> None:
    from .._threads import limit_blas_threads

    limit_blas_threads(1)  # processes share the cores: one BLAS thread each (pools would oversubscribe)


def _run_tasks(fn: Callable, args: list[tuple], client: Any, processes: int, retries: int) -> list:
    """fn(*a) for every a, in order: here one after the other, in ``processes`` local processes
    (spawned, one BLAS thread each), or as Dask tasks on ``client`` (one BLAS thread per task)."""
    if isinstance(processes, bool) or not isinstance(processes, (int, np.integer)) or processes < 1:
        raise ValueError(f"processes must be a positive integer, got {processes!r}")
    if client is not None:
        from .._distributed import check_client

        futures = [check_client(client).submit(fn, *a, 1, retries=retries, pure=False) for a in args]
        return client.gather(futures)  # all of them, or the first error
    return map_processes(fn, args, processes)


def map_processes(fn: Callable, args: list[tuple], processes: int, initializer: Callable = _init_process) -> list:
    """fn(*a) for every a, in order: here when ``processes`` is 1 (or there is one task), else in that many
    spawned processes started by ``initializer`` (default: one BLAS thread each)."""
    if processes == 1 or len(args) <= 1:
        return [fn(*a) for a in args]
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    try:
        pickle.dumps((fn, args[0]))
    except Exception as exc:
        raise ValueError(f"with processes > 1 every argument must be picklable ({type(exc).__name__}: {exc}); "
                         "pass module-level functions (e.g. a ModelSpec instead of a lambda), or processes=1") from None
    with ProcessPoolExecutor(min(processes, len(args)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=initializer) as pool:
        return list(pool.map(fn, *zip(*args)))


def run_seeds(cfg: TrainConfig, seeds: Iterable[int], client: Any = None, *, keep_records: bool = False,
              summary: Callable[[TrainingRecord, float], dict] = summarize, retries: int = 1,
              processes: int = 1) -> SeedRuns:
    """Train ``cfg`` once per seed (locally, or one Dask task per seed with ``client``) and tabulate.

    Parameters
    ----------
    cfg : TrainConfig
        Everything but the seed.
    seeds : iterable of int
        Distinct seeds.
    client : distributed.Client, optional
        Run the seeds as tasks on this cluster (``pip install nfsntk[distributed]``).
    keep_records : bool, default False
        Also return every :class:`TrainingRecord` (checkpoints included: large at paper scale).
    summary : callable (record, seconds) -> dict
        The row of one run; default :func:`summarize`.  Runs on the worker.
    retries : int, default 1
        Dask retries per task.
    processes : int, default 1
        Without a client: run the seeds in this many local processes (one BLAS thread each).

    Returns
    -------
    SeedRuns
    """
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"cfg must be a TrainConfig, got {type(cfg).__name__}")
    configs = [replace(cfg, seed=s) for s in _check_seeds(seeds)]
    results = _run_tasks(_seed_task, [(c, keep_records, summary) for c in configs], client, processes, retries)
    rows = [row for row, _ in results]
    return SeedRuns(rows=rows, records=[rec for _, rec in results] if keep_records else [])


# ---- any model on any task (issue 18) ---------------------------------------------------------------

def fit_summary(rec, seconds: float = float("nan")) -> dict:
    """The default row of :func:`fit_seeds`: final loss (mean of the last 10 steps), minimal loss, roughness."""
    loss = np.asarray(rec.loss)
    return {"final_loss": float(np.mean(loss[-10:])), "min_loss": float(loss.min()),
            "roughness": loss_roughness(loss), "seconds": seconds}


def _fit_task(make_model, task, seed: int, fit_kwargs: dict, keep_record: bool, summary: Callable,
              blas: int | None = None):
    from .._threads import blas_threads
    from ._tasks import fit

    start = time.perf_counter()
    with contextlib.nullcontext() if blas is None else blas_threads(blas):
        model = make_model(np.random.default_rng([seed, 0]))
        _, rec = fit(model, task, seed=np.random.default_rng([seed, 1]), **fit_kwargs)
    row = {"seed": seed, "model": type(model.cell).__name__, "optimizer": fit_kwargs.get("optimizer", "adam"),
           "steps": len(rec.loss)}
    row.update(summary(rec, time.perf_counter() - start))
    return row, (rec if keep_record else None)


def fit_seeds(make_model: Callable, task, seeds: Iterable[int], client: Any = None, *, processes: int = 1,
              keep_records: bool = False, summary: Callable = fit_summary, retries: int = 1,
              **fit_kwargs) -> SeedRuns:
    """:func:`fit` any model on any task once per seed, in parallel processes or on a Dask cluster.

    Parameters
    ----------
    make_model : callable (numpy Generator) -> Model
        Builds a seed's initial model, e.g. ``ModelSpec("gru", 12, 3, 3)``.  Seed s draws the
        model from ``default_rng([s, 0])`` and its batches from ``default_rng([s, 1])``:
        independent streams, never shared between seeds.
    task
        A task (:class:`FlipFlop`, :class:`StudentTeacher` or anything with ``sample``).
    seeds : iterable of int
        Distinct seeds >= 0.
    client : distributed.Client, optional
        Run the seeds as Dask tasks.
    processes : int, default 1
        Without a client: this many local processes (one BLAS thread each).
    keep_records : bool
        Also return every :class:`FitRecord`.
    summary : callable (FitRecord, seconds) -> dict
        Columns of a row after seed, model, optimizer and steps; default :func:`fit_summary`.
    **fit_kwargs
        Passed to :func:`fit` (steps, lr, batch, optimizer, every, clip, natural).

    Returns
    -------
    SeedRuns
    """
    if not callable(make_model):
        raise TypeError(f"make_model must build a Model from a Generator (e.g. ModelSpec('gru', 12, 3, 3)), "
                        f"got {type(make_model).__name__}")
    if "seed" in fit_kwargs:
        raise ValueError("the seeds come from `seeds`; do not pass seed=")
    args = [(make_model, task, s, fit_kwargs, keep_records, summary) for s in _check_seeds(seeds)]
    results = _run_tasks(_fit_task, args, client, processes, retries)
    return SeedRuns(rows=[row for row, _ in results], records=[rec for _, rec in results] if keep_records else [])
