"""The main job as a plan: what exists, what will be trained, how long it takes -- then run in parallel.

``python -m paper_checks`` builds a :class:`Plan` before doing any long work:
every check and the training runs it reads (:mod:`paper_checks._runs`), the
state of each record (done / a checkpoint at step k / missing), and an
estimated time for each task, measured by a short calibration of the actual
step and record costs of each kind of run on this machine.  The plan is
printed (``--dry-run`` stops there), then executed:

* tasks run in worker processes (default: one per CPU), each with one BLAS
  thread -- two trainings on two cores then run at full speed instead of
  fighting over threads (measured 10x slower with the default BLAS threads);
* training tasks run longest first; a check starts as soon as its records are
  there, so the short normal-form checks fill the gaps;
* figure 4's rank-k run is decided by the SGD run's Fisher spectrum, so it is
  added to the plan when that spectrum is known;
* one overall progress bar (tasks done of n, the work done against the
  estimate, the remaining time); training checkpoints every 1000 steps, and
  Ctrl-C stops every worker within a step, keeps the checkpoints and ends with
  one line -- rerunning the command continues where it stopped, and the
  finished records are bit-identical to uninterrupted ones.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import queue
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ._runs import (CheckNotRun, RunSpec, check_runs, default_seeds, obtain, run_check, seeded, status,
                    takes_seeds)
from ._verdict import Verdict

#: Environment of the worker processes: one BLAS/OpenMP thread each, no display.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

#: Analysis time of each check in seconds at paper scale on the reference machine (2-core EPYC, one BLAS
#: thread), measured with `python -m paper_checks` (records present); scaled by the calibrated speed.
ANALYSIS_SECONDS = {"fig2_amplification": 12, "sec3_stability_flip": 4, "sec3_pitchfork": 6,
                    "fig1_rnn_collapse": 80, "fig1e_crosscheck": 60, "fig3_two_modes": 8,
                    "fig3_phase": 400, "fig4_natural_gradient": 15}
QUICK_ANALYSIS_SECONDS = {"fig2_amplification": 4, "sec3_stability_flip": 3, "sec3_pitchfork": 2,
                          "fig1_rnn_collapse": 6, "fig1e_crosscheck": 10, "fig3_two_modes": 2,
                          "fig3_phase": 30, "fig4_natural_gradient": 3}
#: The paper-scale SGD step (N = 64, B = 256, T = 25, one BLAS thread) on the reference machine, seconds.
REFERENCE_STEP = 7.8e-3
SPECTRUM_SECONDS = 20
_CALIBRATION_STEPS = 40


@dataclass
class Task:
    """One unit of the plan: train a run, compute the figure-4 spectrum, or run a check."""

    key: str
    kind: str
    label: str
    estimate: float
    deps: set = field(default_factory=set)
    spec: RunSpec | None = None
    check: str | None = None
    seed: int = 0  # the seed of a figure-4 spectrum task
    state: str = "to do"
    progress: float = 0.0

    @property
    def done_seconds(self) -> float:
        return self.estimate * (1.0 if self.state == "done" else self.progress)


# ---------------------------------------------------------------- worker side
_queue = None
_cancel = None


def _init_worker(q, cancel) -> None:
    global _queue, _cancel
    _queue, _cancel = q, cancel
    from numerics._threads import limit_blas_threads

    limit_blas_threads(1)  # the environment already asks for it; a BLAS loaded some other way obeys this
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C and tells us via _cancel


def _train(out_dir: Path, key: str, spec: RunSpec) -> str:
    from numerics.rnn import TrainingInterrupted

    def report(step: int) -> None:
        _queue.put((key, step / max(1, spec.config.steps)))

    try:
        obtain(out_dir, spec, progress=False, should_stop=_cancel.is_set, on_progress=report)
    except TrainingInterrupted:
        return "interrupted"
    return "done"


def _spectrum(out_dir: Path, quick: bool, seed: int = 0) -> dict:
    from . import fig4_natural_gradient

    return fig4_natural_gradient.later_runs(out_dir, quick, train_missing=False, seed=seed)


def _check(out_dir: Path, name: str, quick: bool, seeds: int) -> list[Verdict]:
    module = importlib.import_module(f"paper_checks.{name}")
    try:
        verdicts = run_check(module, out_dir, quick, False, seeds)
    except CheckNotRun as why:
        verdicts = [Verdict.not_run(claim, paper, str(why)) for claim, paper in module.CLAIMS.items()]
    for v in verdicts:
        v.quick = quick
    return verdicts


def _calibrate(configs: list) -> list[tuple[float, float]]:
    """(seconds per step, seconds per record) of each config, from two short runs of it after a warm-up.

    A run of S steps with records only at its ends, and one with three more
    records in between: their difference is three records' cost.  The warm-up
    takes the one-time costs (imports, compilation) out of both.
    """
    from dataclasses import replace

    from numerics.rnn import train

    out = []
    S = _CALIBRATION_STEPS
    for cfg in configs:
        train(replace(cfg, steps=2, record_every=1), progress=False)
        times = []
        for every in (S, S // 4):
            start = time.perf_counter()
            train(replace(cfg, steps=S, record_every=every), progress=False)
            times.append(time.perf_counter() - start)
        per_record = max(0.0, (times[1] - times[0]) / 3)
        per_step = max(1e-6, (times[0] - 2 * per_record) / S)
        out.append((per_step, per_record))
    return out


# ---------------------------------------------------------------- the plan
def _run_specs(name: str, quick: bool, seeds: int) -> dict[str, RunSpec]:
    return check_runs(importlib.import_module(f"paper_checks.{name}"), quick, seeds)


@dataclass
class Plan:
    """Every task of the main job, its state and its estimated time; :meth:`execute` runs it."""

    out_dir: Path
    checks: list[str]
    quick: bool
    workers: int
    tasks: dict[str, Task]
    speed: float = 1.0  # this machine's step time / the reference machine's
    costs: dict = field(default_factory=dict)  # calibration key -> (seconds per step, per record)
    missing: list = field(default_factory=list)  # records not trained (train_missing=False)
    calibrated: bool = False  # speed measured on a paper-scale run
    seeds: int = 1  # seeds of the RNN checks

    @classmethod
    def build(cls, out_dir: Path, checks: list[str], quick: bool, workers: int | None = None,
              train_missing: bool = True, seeds: int | None = None) -> "Plan":
        """The plan for ``checks``: records' states, calibrated estimates (runs short trainings in workers)."""
        if workers is None:
            workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        seeds = default_seeds(quick) if seeds is None else seeds
        plan = cls(Path(out_dir), list(checks), quick, max(1, int(workers)), {}, seeds=seeds)
        specs: dict[str, RunSpec] = {}
        needs: dict[str, list[str]] = {}
        for name in checks:
            needs[name] = []
            for spec in _run_specs(name, quick, seeds).values():
                specs.setdefault(spec.name, spec)
                needs[name].append(spec.name)
        pending_rank_k: dict[int, RunSpec] = {}  # seed -> stand-in for its rank-k run, while its spectrum is unknown
        if "fig4_natural_gradient" in checks:
            from . import fig4_natural_gradient as fig4

            for seed in range(seeds):
                if _spectrum_known(out_dir, seeded(fig4.runs(quick)["SGD"], seed)):
                    for spec in fig4.later_runs(out_dir, quick, train_missing=False, seed=seed).values():
                        specs.setdefault(spec.name, spec)
                        needs["fig4_natural_gradient"].append(spec.name)
                elif train_missing:
                    pending_rank_k[seed] = specs_for_rank_k(quick, seed)
        states = {n: status(out_dir, spec) for n, spec in specs.items()}
        to_train = [specs[n] for n, (state, _) in states.items() if state != "done"]
        plan.missing = [] if train_missing else [f"{s.label}: {s.name} (make it with `{s.command}`)" for s in to_train]
        if not train_missing:
            to_train = []
        plan._calibrate(to_train + list(pending_rank_k.values())[:1])
        for spec in to_train:
            state, step = states[spec.name]
            what = "missing" if state == "missing" else f"resumes from its checkpoint at step {step}"
            key = f"train:{spec.name}"
            plan.tasks[key] = Task(key, "train", f"{spec.label} [{what}]",
                                   plan._train_seconds(spec) * (1 - step / spec.config.steps), spec=spec)
        for seed, stand_in in pending_rank_k.items():
            tag = "" if seed == 0 else f" seed {seed}"
            deps = {f"train:{seeded(fig4.runs(quick)['SGD'], seed).name}"} & set(plan.tasks)
            plan.tasks[f"spectrum:fig4{tag}"] = Task(
                f"spectrum:fig4{tag}", "spectrum", f"figure 4: the SGD run's Fisher spectrum decides the rank k of "
                f"the next run{' [seed %d]' % seed if seed else ''}",
                SPECTRUM_SECONDS * plan.speed * (0.2 if quick else 1.0), deps=deps, seed=seed)
            plan.tasks[f"train:rank-k{tag}"] = Task(
                f"train:rank-k{tag}", "placeholder", "figure 4: natural gradient, rank k = modes at the edge of "
                f"stability{' [seed %d]' % seed if seed else ''} [decided after the spectrum; estimated for k = 4, "
                "our paper-scale count]", plan._train_seconds(stand_in), deps={f"spectrum:fig4{tag}"}, seed=seed)
        for name in checks:
            deps = {f"train:{n}" for n in needs[name]} & set(plan.tasks)
            if name == "fig4_natural_gradient":
                deps |= {k for k, t in plan.tasks.items() if t.kind in ("spectrum", "placeholder")}
            table = QUICK_ANALYSIS_SECONDS if quick else ANALYSIS_SECONDS
            module = importlib.import_module(f"paper_checks.{name}")
            # a check over seeds analyses every seed's records (in parallel processes: the workers' share)
            per_seed = seeds / plan.workers if takes_seeds(module.run) else 1
            plan.tasks[f"check:{name}"] = Task(f"check:{name}", "check", name,
                                               table.get(name, 10) * plan.speed * max(1.0, per_seed),
                                               deps=deps, check=name)
        return plan

    def _calibrate(self, specs: list[RunSpec]) -> None:
        configs = {_cost_key(s.config): s.config for s in specs}
        if not configs:
            return
        with _pool(min(self.workers, len(configs))) as (pool, _, _):
            keys = list(configs)
            chunks = [keys[i::self.workers] for i in range(min(self.workers, len(keys)))]
            futures = [pool.submit(_calibrate, [configs[k] for k in chunk]) for chunk in chunks]
            for chunk, fut in zip(chunks, futures):
                self.costs.update(zip(chunk, fut.result()))
        reference = [k for k in self.costs if k[:4] == (64, 256, 25, "sgd")]
        if reference:
            self.speed = self.costs[reference[0]][0] / REFERENCE_STEP
            self.calibrated = True

    def _train_seconds(self, spec: RunSpec) -> float:
        cfg = spec.config
        per_step, per_record = self.costs.get(_cost_key(cfg), (REFERENCE_STEP * self.speed, 0.15 * self.speed))
        return cfg.steps * per_step + (cfg.steps // cfg.record_every + 1) * per_record

    # ------------------------------------------------------------ printing
    def total_seconds(self) -> float:
        return sum(t.estimate for t in self.tasks.values())

    def describe(self) -> str:
        scale = "reduced scale (--quick)" if self.quick else "paper scale"
        lines = [f"Plan: {len(self.checks)} checks at {scale}, RNN claims over {self.seeds} seed(s); outputs and records in {self.out_dir}",
                 f"      {self.workers} worker process(es), one BLAS thread each; machine speed "
                 f"{1 / self.speed:.2f}x the reference" if self.calibrated else
                 f"      {self.workers} worker process(es), one BLAS thread each"]
        trains = [t for t in self.tasks.values() if t.kind in ("train", "placeholder", "spectrum")]
        if trains:
            lines.append("  training (records in runs/):")
            for t in trains:
                lines.append(f"    {_minutes(t.estimate):>9}  {t.label}")
        elif self.missing:
            lines.append("  training: none (--no-train); missing records, whose checks will say 'not run':")
            lines += [f"    {m}" for m in self.missing]
        else:
            lines.append("  training: every record is present; nothing to train")
        lines.append("  checks:")
        for t in self.tasks.values():
            if t.kind == "check":
                lines.append(f"    {_minutes(t.estimate):>9}  {t.check}")
        lines.append(f"  estimated: {_minutes(self.total_seconds())} of work, about {_minutes(self.wall_seconds())} "
                     f"on {self.workers} worker(s)")
        return "\n".join(lines)

    # ------------------------------------------------------------ running
    def execute(self, progress: bool | None = True) -> list[Verdict]:
        """Run every task; verdicts in check order.  Ctrl-C: workers stop within a step, checkpoints kept."""
        from tqdm.auto import tqdm

        results: dict[str, list[Verdict]] = {}
        with _pool(self.workers) as (pool, q, cancel):
            running: dict[Future, Task] = {}
            bar = tqdm(total=max(1.0, self.total_seconds()), disable=progress is False, unit="s",
                       bar_format="{desc} |{bar}| {percentage:3.0f}% [{elapsed} elapsed, {remaining} left]",
                       leave=False)
            try:
                while any(t.state in ("to do", "running") for t in self.tasks.values()):
                    self._submit_ready(pool, running)
                    if not running:
                        break  # the rest waits on something that cannot run (a missing record)
                    finished, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
                    _drain(q, self.tasks)
                    for fut in finished:
                        task = running.pop(fut)
                        self._finish(task, fut.result(), results)
                    done = sum(t.state == "done" for t in self.tasks.values())
                    bar.set_description(f"paper checks: {done} of {len(self.tasks)} tasks done")
                    bar.n = min(bar.total, sum(t.done_seconds for t in self.tasks.values()))
                    bar.refresh()
            except KeyboardInterrupt:
                cancel.set()
                wait([f for f, t in running.items() if t.kind == "train"], timeout=60)
                raise KeyboardInterrupt(
                    f"training checkpoints are kept in {self.out_dir / 'runs'}; rerun the same command to continue"
                ) from None
            finally:
                bar.close()
        verdicts = []
        for name in self.checks:
            verdicts.extend(results.get(name, []))
        return verdicts

    def _submit_ready(self, pool: ProcessPoolExecutor, running: dict) -> None:
        busy = {t.key for t in running.values()}
        ready = [t for t in self.tasks.values() if t.state == "to do" and t.key not in busy
                 and all(self.tasks[d].state == "done" for d in t.deps if d in self.tasks)]
        rank = self._critical_paths()
        for task in sorted(ready, key=lambda t: -rank[t.key]):
            if task.kind == "train":
                fut = pool.submit(_train, self.out_dir, task.key, task.spec)
            elif task.kind == "spectrum":
                fut = pool.submit(_spectrum, self.out_dir, self.quick, task.seed)
            elif task.kind == "check":
                fut = pool.submit(_check, self.out_dir, task.check, self.quick, self.seeds)
            else:
                continue
            task.state = "running"
            running[fut] = task

    def _critical_paths(self) -> dict[str, float]:
        """Each task's estimate plus the longest chain of work that waits on it.

        Starting the task with the longest such path first (HLFET list scheduling) keeps
        the critical path -- figure 4's SGD run, its spectrum, then the rank-k run --
        from being started last behind shorter independent runs.
        """
        waiting: dict[str, list[str]] = {k: [] for k in self.tasks}
        for t in self.tasks.values():
            for d in t.deps:
                if d in waiting:
                    waiting[d].append(t.key)
        memo: dict[str, float] = {}

        def path(key: str) -> float:
            if key not in memo:
                memo[key] = self.tasks[key].estimate + max((path(k) for k in waiting[key]), default=0.0)
            return memo[key]

        return {k: path(k) for k in self.tasks}

    def wall_seconds(self) -> float:
        """Estimated wall time: the executor's own policy (start the ready task with the longest
        :meth:`_critical_paths` on each free worker) simulated on the estimates."""
        import heapq

        rank = self._critical_paths()
        finished: set = set()
        started: set = set()
        running: list = []  # (end time, key)
        now, free = 0.0, self.workers
        while True:
            ready = sorted((t for k, t in self.tasks.items() if k not in started
                            and all(d in finished for d in t.deps if d in self.tasks)), key=lambda t: -rank[t.key])
            for task in ready[:free]:
                heapq.heappush(running, (now + task.estimate, task.key))
                started.add(task.key)
                free -= 1
            if not running:
                return now
            now, key = heapq.heappop(running)
            finished.add(key)
            free += 1

    def _finish(self, task: Task, result, results: dict) -> None:
        task.state, task.progress = "done", 1.0
        if task.kind == "train" and result == "interrupted":
            raise KeyboardInterrupt
        if task.kind == "check":
            results[task.check] = result
        if task.kind == "spectrum":
            stand_in = task.key.replace("spectrum:fig4", "train:rank-k")
            self.tasks.pop(stand_in)  # the rank-k run is replaced by the rank the spectrum chose
            check = self.tasks["check:fig4_natural_gradient"]
            check.deps.discard(stand_in)
            for spec in result.values():
                state, step = status(self.out_dir, spec)
                if state != "done":
                    key = f"train:{spec.name}"
                    est = self._train_seconds(spec) * (1 - step / spec.config.steps)
                    self.tasks[key] = Task(key, "train", spec.label, est, spec=spec)
                    check.deps.add(key)


def specs_for_rank_k(quick: bool, seed: int = 0) -> RunSpec:
    """The rank-4 run, as a stand-in for figure 4's rank-k run before its k is known (k = 4 at paper scale here)."""
    from dataclasses import asdict

    from numerics.rnn import TrainConfig

    from . import fig4_natural_gradient as fig4

    base = seeded(fig4.runs(quick)["SGD"], seed).config
    return RunSpec("figure 4: natural gradient, rank k",
                   TrainConfig(**{**asdict(base), **fig4.NATURAL, **fig4.rank_k_settings(4)}), check="fig4_natural_gradient")


def _spectrum_known(out_dir: Path, sgd: RunSpec) -> bool:
    from ._runs import record_path

    cache = record_path(out_dir, sgd).with_name(f"{sgd.name}.spectrum.json")
    return status(out_dir, sgd)[0] == "done" and cache.is_file()


def _cost_key(cfg) -> tuple:
    return (cfg.N, cfg.B, cfg.T, cfg.optimizer, cfg.ng_rank, cfg.ng_refresh, cfg.ng_iters, cfg.diagnostics,
            cfg.config, cfg.diag_batch, cfg.fixed_point_seeds, cfg.trace_passes)


def _drain(q, tasks: dict) -> None:
    while True:
        try:
            key, fraction = q.get_nowait()
        except queue.Empty:
            return
        if key in tasks and tasks[key].state == "running":
            tasks[key].progress = min(1.0, max(tasks[key].progress, fraction))


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


class _pool:
    """A spawn-context process pool whose workers have one BLAS thread, a progress queue and a cancel flag."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def __enter__(self):
        ctx = multiprocessing.get_context("spawn")
        self.queue, self.cancel = ctx.Queue(), ctx.Event()
        saved = {k: os.environ.get(k) for k in WORKER_ENV}
        os.environ.update(WORKER_ENV)  # inherited by the spawned workers before they import numpy
        try:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                            initargs=(self.queue, self.cancel))
            # start the workers now, while the environment holds
            list(self.pool.map(_ping, range(self.workers)))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return self.pool, self.queue, self.cancel

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            for p in list(getattr(self.pool, "_processes", {}).values()):
                p.terminate()
            self.pool.shutdown(wait=False, cancel_futures=True)
        else:
            self.pool.shutdown(wait=True)


def _ping(_: int) -> int:
    return os.getpid()
