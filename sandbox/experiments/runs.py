"""Running an experiment's runs: the task shipped to an executor, what comes back, and how to run a batch.

A task is plain data, ``(scenario dict, seed, overrides)``, and its answer a
compact :class:`RunSummary` (a few hundred bytes), so the same seeds give the
same figures on every executor: in this process, a local process pool, or a
Dask cluster (:func:`~sandbox.executors.executor_for`). :class:`RunOptions`
says how to run a batch: where, how many at once, within which limits, with
what progress report and what way to cancel.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypedDict

from ..errors import SandboxError, ScenarioError, SimulationError
from ..executors import InProcessExecutor, executor_for
from ..intervals import json_safe
from ..kinds import KINDS
from ..scenario import Scenario, from_dict, with_overrides

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Limits
    from ..results import Results

__all__ = ["Progress", "Cancel", "Task", "RunSummary", "TaskFailure", "summarise", "run_task", "RunOptions",
           "RunOptionsArgs", "choose_seeds", "need_interval"]

Progress = Callable[[int, int], None]   # (runs done, runs in all)
Cancel = Callable[[], bool]
Task = tuple[dict[str, Any], int, dict[str, Any]]   # (scenario as plain data, seed, overrides)


@dataclass(frozen=True)
class RunSummary:
    """One run's headline figures: what a worker sends back (a few hundred bytes)."""
    seed: int
    figures: dict[str, float]     # keys of FIGURES (cost_per_hour when the results carry it), utilization.<node>
    bottleneck: str | None
    wall_s: float = field(default=0.0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"seed": self.seed, "figures": self.figures, "bottleneck": self.bottleneck})


def summarise(results: "Results") -> RunSummary:
    """The headline figures of one :class:`~sandbox.results.Results`.

    ``workers`` counts the workers of services, databases and caches (a
    resource measure that exists even where cost does not); ``cost_per_hour``
    is included only when the results carry it.
    """
    lat, req = results.latency_ms, results.requests
    figures = {
        "latency_ms.mean": lat.mean, "latency_ms.p50": lat.p50, "latency_ms.p95": lat.p95,
        "latency_ms.p99": lat.p99, "throughput_rps": results.throughput_rps, "goodput": results.goodput,
        "failure_rate": (req.rejected + req.failed) / req.arrived if req.arrived else 0.0,
        "workers": float(sum(n.capacity for n in results.nodes.values() if KINDS[n.kind].has_workers)),
    }
    cost = getattr(results, "cost_per_hour", None)
    if cost is not None:
        figures["cost_per_hour"] = float(cost)
    for name, n in results.nodes.items():
        if n.capacity:
            figures[f"utilization.{name}"] = n.utilization
    for name, c in getattr(results, "classes", {}).items():  # per class, when the workload has classes
        figures[f"class.{name}.p99_ms"] = c.latency_ms.p99
        figures[f"class.{name}.goodput"] = c.goodput
        if c.error_budget.burn_rate is not None:
            figures[f"class.{name}.burn_rate"] = c.error_budget.burn_rate
    return RunSummary(results.seed, {k: float(v) for k, v in figures.items()}, results.bottleneck.node,
                      results.engine.wall_s)


@dataclass(frozen=True)
class TaskFailure:
    """A run that could not be done, sent back as plain text (errors with extra fields do not unpickle)."""
    kind: str      # "scenario" or "simulation"
    message: str


def run_task(task: Task, limits: "Limits | None" = None, cancel: Cancel | None = None) -> RunSummary | TaskFailure:
    """Simulate one ``(scenario dict, seed, overrides)`` task: the unit of work shipped to executors.

    `limits` bound the run as they bound any (:class:`~sandbox.engine.Limits`); `cancel`
    (a callable, so only for executors in this process) stops it early.
    """
    from ..engine import simulate
    data, seed, overrides = task
    try:
        scenario = from_dict(data, source="<task>")
        if overrides:
            scenario = with_overrides(scenario, overrides)
        return summarise(simulate(scenario, seed=seed, max_traces=0, limits=limits, cancel=cancel))
    except ScenarioError as exc:
        return TaskFailure("scenario", str(exc))
    except SandboxError as exc:
        return TaskFailure("simulation", str(exc))




class RunOptionsArgs(TypedDict, total=False):
    """The fields of :class:`RunOptions`, given as keywords to an experiment (``workers=1``)."""
    executor: Executor | None
    workers: int | None
    scheduler: str | None
    progress: Progress | None
    limits: "Limits | None"
    cancel: Cancel | None


@dataclass(frozen=True)
class RunOptions:
    """How an experiment's runs are made.

    - `executor`: run on this one (kept open for the caller); otherwise one is
      made for the batch from `workers` (local processes, default every core;
      1 runs here) or `scheduler` (a Dask cluster, ``tcp://HOST:8786``);
    - `progress`: called with (runs done, runs in all) as runs finish;
    - `limits`: every run's :class:`~sandbox.engine.Limits`, checked for every
      task before any runs;
    - `cancel`: asked during every run, which stops when it answers True; a
      callable reaches runs in this process only (in-process or thread executors).
    """
    executor: Executor | None = None
    workers: int | None = None
    scheduler: str | None = None
    progress: Progress | None = field(default=None, compare=False)
    limits: "Limits | None" = None
    cancel: Cancel | None = field(default=None, compare=False)

    @classmethod
    def of(cls, run: "RunOptions | None", options: RunOptionsArgs) -> "RunOptions":
        """`run` (default: the defaults) with `options` given as keywords laid over it."""
        base = run if run is not None else cls()
        return replace(base, **options) if options else base

    def run_all(self, tasks: list[Task]) -> list[RunSummary]:
        """Run every task; answers in task order whatever order they finish in."""
        if self.limits is not None:
            from ..engine import check_limits
            for data, _, overrides in {(id(t[0]), tuple(sorted(t[2].items(), key=str))): t for t in tasks}.values():
                scenario = from_dict(data, source="<task>")
                check_limits(with_overrides(scenario, overrides) if overrides else scenario, self.limits)
        if self.executor is not None:
            return self._run_on(self.executor, tasks)
        workers = min(self.workers or os.cpu_count() or 1, len(tasks)) if self.scheduler is None else None
        with executor_for(workers, self.scheduler) as ex:
            return self._run_on(ex, tasks)

    def _run_on(self, executor: Executor, tasks: list[Task]) -> list[RunSummary]:
        # a callable does not cross to another process: cancellation reaches runs in this one only
        local = isinstance(executor, (InProcessExecutor, ThreadPoolExecutor))
        cancel = self.cancel if local else None
        futures = {executor.submit(run_task, t, self.limits, cancel): i for i, t in enumerate(tasks)}
        out: list[RunSummary | None] = [None] * len(tasks)
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                answer = fut.result()
                if isinstance(answer, TaskFailure):
                    if answer.kind == "scenario":
                        raise ScenarioError("<run>", [("", answer.message)])
                    raise SimulationError(answer.message)
                out[futures[fut]] = answer
                if self.progress is not None:
                    self.progress(done, len(tasks))
        finally:
            for fut in futures:
                fut.cancel()
        return [r for r in out if r is not None]


def choose_seeds(scenario: Scenario, n: int, seed: int | None, seeds: Sequence[int] | None) -> list[int]:
    """`seeds` as given, or `n` seeds from `seed` (default: the scenario's own seed, else 0)."""
    if seeds is not None:
        seeds = [int(s) for s in seeds]
        if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
            raise ScenarioError("seeds", [("", f"must be distinct and non-negative, got {seeds}")])
        return seeds
    if n < 1:
        raise ScenarioError("runs", [("", f"must be at least 1, got {n}")])
    base = seed if seed is not None else (scenario.seed or 0)
    if base < 0:
        raise ScenarioError("seed", [("", f"must be non-negative, got {base}")])
    return list(range(base, base + n))


def need_interval(n: int) -> None:
    if n < 2:
        raise ScenarioError("runs", [("", f"a confidence interval needs at least 2 runs, got {n}")])
