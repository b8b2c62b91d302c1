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


def run_seeds(cfg: TrainConfig, seeds: Iterable[int], client: Any = None, *, keep_records: bool = False,
              summary: Callable[[TrainingRecord, float], dict] = summarize, retries: int = 1) -> SeedRuns:
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

    Returns
    -------
    SeedRuns
    """
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"cfg must be a TrainConfig, got {type(cfg).__name__}")
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of integers >= 0, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (a repeated seed repeats the same run), got {seeds!r}")
    configs = [replace(cfg, seed=int(s)) for s in seeds]
    if client is None:
        results = [_seed_task(c, keep_records, summary) for c in configs]
    else:
        from .._distributed import check_client

        futures = [check_client(client).submit(_seed_task, c, keep_records, summary, 1, retries=retries, pure=False)
                   for c in configs]
        results = client.gather(futures)  # all of them, or the first error
    rows = [row for row, _ in results]
    return SeedRuns(rows=rows, records=[rec for _, rec in results] if keep_records else [])
