"""Experiments: many runs of a design, so a difference can be told from noise.

One simulation run is one sample. An experiment runs a scenario under several
seeds and reports each headline figure as a mean with a confidence interval:

- :func:`replicate`: N independent seeds; each figure as mean ± half-width
  (Student t), e.g. ``p99 = 180 ± 12 ms over 10 runs``.
- :func:`compare`: two designs (or one design and a change) on identical
  traffic. Seed k drives both, and the arrivals and every unchanged node draw
  from the same named streams (common random numbers), so the per-seed
  differences B - A are paired and their t-interval is much narrower than the
  two separate intervals suggest.
- :func:`sweep`: one or two settings over ranges (:func:`parse_range`), N seeds
  at every point, the :func:`knee` of the latency curve marked, and the
  :func:`pareto` frontier of cost (or workers) against p99.

The runs go through any :class:`concurrent.futures.Executor`
(:func:`~sandbox.executors.executor_for` picks one: in this process, a local
process pool, or a Dask cluster). Each task is plain data, ``(scenario dict,
seed, overrides)``, and each answer a compact :class:`RunSummary`, so the same
seeds give the same figures on every executor. The pieces live beside this
module: intervals in ``intervals.py``, executors in ``executors.py``, the
``--set`` grammar in ``settings.py``, knee and Pareto in ``curves.py``.

>>> from sandbox.scenario import loads
>>> mm1 = loads('''
... name: mm1
... workload: {entry: s, rate_rps: 50, duration_s: 30, warmup_s: 2}
... nodes: {s: {kind: service, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}}
... ''')
>>> rep = replicate(mm1, n=4, workers=1)
>>> rep.seeds
[0, 1, 2, 3]
>>> est = rep.figures["latency_ms.mean"]
>>> est.low < 20.0 < est.high    # M/M/1: 1 / (mu - lambda) = 1 / (100 - 50) s = 20 ms
True
>>> rep.headline().startswith("p99 = ") and rep.headline().endswith("ms over 4 runs")
True
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .curves import KNEE_FACTOR, knee, pareto, worsens_upwards
from .errors import SandboxError, ScenarioError, SimulationError
from .executors import InProcessExecutor, executor_for
from .kinds import KINDS
from .intervals import (CONFIDENCE, Estimate, estimate, format_number, json_safe, low_to_high, paired_estimate,
                        plus_minus, share_estimate,
                        t_quantile)
from .scenario import Scenario, from_dict, with_overrides
from .settings import SweepAxis, fit_axis, parse_range, parse_setting, show_value

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Limits

__all__ = [
    "replicate", "compare", "sweep", "summarise", "run_task", "verdict", "changed_name",
    "RunSummary", "TaskFailure", "ReplicationResult", "Delta", "ComparisonResult", "SweepPoint", "Knee",
    "SweepResult", "FIGURES", "Figure", "Progress", "format_estimate", "label", "text_table",
    # from the modules beside this one, so experiments need one import
    "executor_for", "InProcessExecutor", "parse_range", "parse_setting", "SweepAxis", "show_value",
    "knee", "pareto", "estimate", "paired_estimate", "t_quantile", "Estimate",
]

Progress = Callable[[int, int], None]   # (runs done, runs in all)
Task = tuple[dict[str, Any], int, dict[str, Any]]   # (scenario as plain data, seed, overrides)


# ── the figures of one run ───────────────────────────────────────────────────


@dataclass(frozen=True)
class Figure:
    """How a headline figure is named and shown."""
    label: str
    unit: str            # "ms", "rps", "share" (shown as %), "$/h", ""
    lower_is_better: bool


FIGURES: dict[str, Figure] = {
    "latency_ms.mean": Figure("mean latency", "ms", True),
    "latency_ms.p50": Figure("p50", "ms", True),
    "latency_ms.p95": Figure("p95", "ms", True),
    "latency_ms.p99": Figure("p99", "ms", True),
    "throughput_rps": Figure("throughput", "rps", False),
    "goodput": Figure("goodput", "share", False),
    "failure_rate": Figure("rejected or failed", "share", True),
    "cost_per_hour": Figure("cost", "$/h", True),
    "workers": Figure("workers", "", True),
}
"""The headline figures, in the order tables show them; ``utilization.<node>`` follow."""


@dataclass(frozen=True)
class RunSummary:
    """One run's headline figures: what a worker sends back (a few hundred bytes)."""
    seed: int
    figures: dict[str, float]     # keys of FIGURES (cost_per_hour when the results carry it), utilization.<node>
    bottleneck: str | None
    wall_s: float = field(default=0.0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"seed": self.seed, "figures": self.figures, "bottleneck": self.bottleneck})


def summarise(results: Any) -> RunSummary:
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
    return RunSummary(results.seed, {k: float(v) for k, v in figures.items()}, results.bottleneck.node,
                      results.engine.wall_s)


@dataclass(frozen=True)
class TaskFailure:
    """A run that could not be done, sent back as plain text (errors with extra fields do not unpickle)."""
    kind: str      # "scenario" or "simulation"
    message: str


def run_task(task: Task, limits: "Limits | None" = None, cancel: Callable[[], bool] | None = None
             ) -> RunSummary | TaskFailure:
    """Simulate one ``(scenario dict, seed, overrides)`` task: the unit of work shipped to executors.

    `limits` bound the run as they bound any (:class:`~sandbox.engine.Limits`); `cancel`
    (a callable, so only for executors in this process) stops it early.
    """
    from .engine import simulate
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


def _estimates(runs: Sequence[RunSummary], confidence: float) -> dict[str, Estimate]:
    keys = [k for k in _ordered_keys(runs) if all(k in r.figures for r in runs)]
    return {k: (share_estimate if _is_share(k) else estimate)([r.figures[k] for r in runs], confidence)
            for k in keys}


def _is_share(key: str) -> bool:
    """Figures that are shares in [0, 1] get intervals that stay in [0, 1]."""
    return (FIGURES[key].unit == "share") if key in FIGURES else key.startswith("utilization.")


def _ordered_keys(runs: Sequence[RunSummary]) -> list[str]:
    seen = dict.fromkeys(k for r in runs for k in r.figures)
    return [k for k in FIGURES if k in seen] + sorted(k for k in seen if k not in FIGURES)


# ── running tasks ────────────────────────────────────────────────────────────


def _run_all(tasks: list[Task], *, executor: Executor | None, workers: int | None, scheduler: str | None,
             progress: Progress | None, limits: "Limits | None" = None,
             cancel: Callable[[], bool] | None = None) -> list[RunSummary]:
    """Run every task; answers in task order whatever order they finish in.

    Every task's scenario is checked against `limits` first, so nothing runs when one would be refused.
    """
    if limits is not None:
        from .engine import check_limits
        for data, _, overrides in {(id(t[0]), tuple(sorted(t[2].items(), key=str))): t for t in tasks}.values():
            scenario = from_dict(data, source="<task>")
            check_limits(with_overrides(scenario, overrides) if overrides else scenario, limits)
    if executor is None:
        with executor_for(min(workers or os.cpu_count() or 1, len(tasks)) if scheduler is None else None,
                          scheduler) as ex:
            return _run_on(ex, tasks, progress, limits, cancel)
    return _run_on(executor, tasks, progress, limits, cancel)


def _run_on(executor: Executor, tasks: list[Task], progress: Progress | None, limits: "Limits | None" = None,
            cancel: Callable[[], bool] | None = None) -> list[RunSummary]:
    # a callable does not cross to another process: cancellation reaches runs in this one only
    local = isinstance(executor, (InProcessExecutor, ThreadPoolExecutor))
    futures = {executor.submit(run_task, t, limits, cancel if local else None): i for i, t in enumerate(tasks)}
    out: list[RunSummary | None] = [None] * len(tasks)
    try:
        for done, fut in enumerate(as_completed(futures), 1):
            answer = fut.result()
            if isinstance(answer, TaskFailure):
                error = ScenarioError if answer.kind == "scenario" else SimulationError
                raise (error("<run>", [("", answer.message)]) if error is ScenarioError else error(answer.message))
            out[futures[fut]] = answer
            if progress is not None:
                progress(done, len(tasks))
    finally:
        for fut in futures:
            fut.cancel()
    return [r for r in out if r is not None]


def _seeds(scenario: Scenario, n: int, seed: int | None, seeds: Sequence[int] | None) -> list[int]:
    if seeds is not None:
        seeds = [int(s) for s in seeds]
        if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
            raise ScenarioError("seeds", [("", f"must be distinct and non-negative, got {seeds}")])
        return seeds
    if n < 1:
        raise ScenarioError("-n", [("", f"must be at least 1, got {n}")])
    base = seed if seed is not None else (scenario.seed or 0)
    if base < 0:
        raise ScenarioError("--seed", [("", f"must be non-negative, got {base}")])
    return list(range(base, base + n))


def _need_interval(n: int) -> None:
    if n < 2:
        raise ScenarioError("-n", [("", f"a confidence interval needs at least 2 runs, got {n}")])


# ── replications ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ReplicationResult:
    """One design over several seeds: every figure as mean ± half-width."""
    scenario: str
    seeds: list[int]
    runs: list[RunSummary]
    figures: dict[str, Estimate]
    confidence: float = CONFIDENCE

    def headline(self, key: str = "latency_ms.p99") -> str:
        """``p99 = 180 ± 12 ms over 10 runs``."""
        return f"{FIGURES[key].label if key in FIGURES else key} = {format_estimate(key, self.figures[key])}" \
               f" over {len(self.runs)} runs"

    def bottlenecks(self) -> list[tuple[str | None, int]]:
        """How often each node was the bottleneck, most often first."""
        return Counter(r.bottleneck for r in self.runs).most_common()

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows: each figure as mean ± half-width, and its interval's ends."""
        rows = [[label(k), format_estimate(k, e), _end(k, e.low, e), _end(k, e.high, e)]
                for k, e in self.figures.items()]
        return ["figure", f"mean ± {self.confidence:.0%} CI", "low", "high"], rows

    def text(self) -> str:
        """The terminal form: what ran, the table, the bottleneck, the headline."""
        necks = ", ".join(f"{n or 'none'} in {c} of {len(self.runs)} runs" for n, c in self.bottlenecks())
        return "\n".join([f"{self.scenario}: {len(self.runs)} runs, seeds {_seed_span(self.seeds)}; "
                          f"{self.confidence:.0%} intervals (Student t, {len(self.runs) - 1} degrees of freedom)",
                          "", text_table(*self.table()), "", f"Bottleneck  {necks}", self.headline()])

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "seeds": self.seeds, "confidence": self.confidence,
                "figures": {k: e.to_dict() for k, e in self.figures.items()},
                "bottlenecks": [{"node": n, "runs": c} for n, c in self.bottlenecks()],
                "runs": [r.to_dict() for r in self.runs]}


def replicate(scenario: Scenario, n: int = 10, *, seed: int | None = None, seeds: Sequence[int] | None = None,
              overrides: dict[str, Any] | None = None, confidence: float = CONFIDENCE,
              executor: Executor | None = None, workers: int | None = None, scheduler: str | None = None,
              progress: Progress | None = None, limits: "Limits | None" = None,
              cancel: Callable[[], bool] | None = None) -> ReplicationResult:
    """Run `scenario` under `n` seeds (``seed``, ``seed + 1``, ...) and give each figure a t-interval.

    `seed` defaults to the scenario's own seed, else 0; `seeds` lists them
    outright. `overrides` are dotted-path settings applied to every run.
    """
    chosen = _seeds(scenario, n, seed, seeds)
    _need_interval(len(chosen))
    base = with_overrides(scenario, overrides) if overrides else scenario
    data = base.to_dict()
    runs = _run_all([(data, s, {}) for s in chosen], executor=executor, workers=workers,
                    scheduler=scheduler, progress=progress, limits=limits, cancel=cancel)
    return ReplicationResult(base.name, chosen, runs, _estimates(runs, confidence), confidence)


# ── A/B comparison ───────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Delta:
    """One figure in A and in B, and the paired difference B - A."""
    a: Estimate
    b: Estimate
    diff: Estimate          # mean of per-seed differences b - a, paired t-interval
    relative: float | None  # diff.mean / a.mean

    @property
    def significant(self) -> bool:
        """The interval of B - A excludes 0: the difference is not noise (at this confidence)."""
        return self.diff.excludes_zero()

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.to_dict(), "b": self.b.to_dict(), "diff": self.diff.to_dict(),
                "relative": json_safe(self.relative), "significant": self.significant}


@dataclass(frozen=True)
class ComparisonResult:
    """Two designs on identical traffic: per-figure deltas with paired intervals, and a verdict."""
    a_name: str
    b_name: str
    seeds: list[int]
    a: ReplicationResult
    b: ReplicationResult
    deltas: dict[str, Delta]
    verdict: str
    confidence: float = CONFIDENCE

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows: A, B, the paired difference B - A, the relative change; * marks a real difference."""
        rows = [[label(k), format_estimate(k, d.a), format_estimate(k, d.b), format_estimate(k, d.diff, signed=True),
                 f"{d.relative:+.1%}" if d.relative is not None and math.isfinite(d.relative) else "",
                 _mark(k, d)]
                for k, d in self.deltas.items()]
        return ["figure", self.a_name, self.b_name, f"{self.b_name} - {self.a_name}", "change", ""], rows

    def text(self) -> str:
        """The terminal form: the two designs, the table of deltas, the verdict."""
        n = len(self.seeds)
        return "\n".join([f"{self.a_name} = {self.a.scenario}    {self.b_name} = {self.b.scenario}",
                          f"{n} paired runs on identical traffic (seeds {_seed_span(self.seeds)}); "
                          f"{self.confidence:.0%} intervals, paired Student t with {n - 1} degrees of freedom",
                          "", text_table(*self.table()), "",
                          f"better / worse / changed: the interval of {self.b_name} - {self.a_name} excludes 0, "
                          f"a real difference at {self.confidence:.0%} confidence", f"Verdict: {self.verdict}"])

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a_name, "b": self.b_name, "seeds": self.seeds, "confidence": self.confidence,
                "deltas": {k: d.to_dict() for k, d in self.deltas.items()}, "verdict": self.verdict,
                "runs": {"a": [r.to_dict() for r in self.a.runs], "b": [r.to_dict() for r in self.b.runs]}}


def compare(a: Scenario, b: Scenario | dict[str, Any], n: int = 10, *, seed: int | None = None,
            seeds: Sequence[int] | None = None, confidence: float = CONFIDENCE, a_label: str = "A",
            b_label: str = "B", executor: Executor | None = None, workers: int | None = None,
            scheduler: str | None = None, progress: Progress | None = None, limits: "Limits | None" = None,
            cancel: Callable[[], bool] | None = None) -> ComparisonResult:
    """Run designs `a` and `b` under the same seeds and give the paired differences B - A.

    `b` is a second scenario, or a dict of dotted-path changes to `a`
    (``{"nodes.web.replicas": 5}``). Seed k drives both designs with the same
    arrivals (common random numbers), so each difference is measured on
    identical traffic and the interval of the mean difference is a paired
    Student t-interval over the n per-seed differences.

    >>> from sandbox.scenario import loads
    >>> a = loads('''
    ... name: one worker
    ... workload: {entry: s, rate_rps: 60, duration_s: 60, warmup_s: 2}
    ... nodes: {s: {kind: service, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}}
    ... ''')
    >>> c = compare(a, {"nodes.s.workers": 2}, n=3, workers=1)   # 1 worker at rho 0.6, then 2
    >>> c.deltas["latency_ms.p99"].significant, c.deltas["latency_ms.p99"].diff.mean < 0
    (True, True)
    >>> c.verdict.startswith("B lowers p99 by")
    True
    """
    b_scenario = with_overrides(a, {"name": changed_name(a.name, b), **b}) if isinstance(b, dict) else b
    chosen = _seeds(a, n, seed, seeds)
    _need_interval(len(chosen))
    da, db = a.to_dict(), b_scenario.to_dict()
    tasks = [(da, s, {}) for s in chosen] + [(db, s, {}) for s in chosen]
    runs = _run_all(tasks, executor=executor, workers=workers, scheduler=scheduler, progress=progress,
                    limits=limits, cancel=cancel)
    ra, rb = runs[:len(chosen)], runs[len(chosen):]
    rep_a = ReplicationResult(a.name, chosen, ra, _estimates(ra, confidence), confidence)
    rep_b = ReplicationResult(b_scenario.name, chosen, rb, _estimates(rb, confidence), confidence)
    deltas = {}
    for key in rep_a.figures:
        if key in rep_b.figures:
            xa, xb = [r.figures[key] for r in ra], [r.figures[key] for r in rb]
            diff = paired_estimate(xa, xb, confidence)
            mean_a = rep_a.figures[key].mean
            deltas[key] = Delta(rep_a.figures[key], rep_b.figures[key], diff,
                                diff.mean / mean_a if mean_a else None)
    return ComparisonResult(a_label, b_label, chosen, rep_a, rep_b, deltas,
                            verdict(deltas, b_label, a_label), confidence)


def _mark(key: str, d: Delta) -> str:
    """better or worse for B when the difference is real; changed where neither direction is better."""
    if not d.significant:
        return ""
    if key not in FIGURES:
        return "changed"
    return "better" if (d.diff.mean < 0) == FIGURES[key].lower_is_better else "worse"


def changed_name(name: str, changes: dict[str, Any]) -> str:
    """A name for a design that is another with some settings changed.

    >>> changed_name("Checkout API", {"nodes.api.workers": 5})
    'Checkout API with nodes.api.workers=5'
    """
    return f"{name} with " + ", ".join(f"{k}={show_value(v)}" for k, v in changes.items()) if changes else name


def verdict(deltas: dict[str, Delta], b: str = "B", a: str = "A") -> str:
    """The comparison in words: p99 first, then failures, throughput and cost where they differ.

    A change counts only when its interval excludes 0; cost is told when both
    designs carry it.
    """
    parts = []
    p99 = deltas.get("latency_ms.p99")
    if p99 is not None:
        d = p99.diff
        rel = f" ({p99.relative:+.0%})" if p99.relative is not None else ""
        if p99.significant:
            word = "lowers" if d.mean < 0 else "raises"
            parts.append(f"{word} p99 by {plus_minus(abs(d.mean), d.half_width)} ms{rel}")
        else:
            parts.append(f"leaves p99 unchanged within the noise ({plus_minus(d.mean, d.half_width, signed=True)} ms, "
                         "an interval that includes 0)")
    fail = deltas.get("failure_rate")
    if fail is not None and fail.significant and abs(fail.diff.mean) >= 1e-4:
        parts.append(f"rejects or fails {fail.b.mean:.1%} of requests instead of {fail.a.mean:.1%} "
                     f"({plus_minus(fail.diff.mean * 100, (fail.diff.half_width or 0) * 100, signed=True)} points)")
    tput = deltas.get("throughput_rps")
    if tput is not None and tput.significant and tput.relative is not None and abs(tput.relative) >= 0.01:
        word = "more" if tput.diff.mean > 0 else "less"
        parts.append(f"serves {abs(tput.relative):.0%} {word} throughput")
    cost = deltas.get("cost_per_hour")
    if cost is not None and cost.relative is not None:
        if abs(cost.relative) < 0.005:
            parts.append("costs the same")
        else:
            parts.append(f"costs {abs(cost.relative):.0%} {'more' if cost.relative > 0 else 'less'}")
    if not parts:
        return f"{b} and {a} share no figure to compare."
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{b} {body}."


# ── sweeps ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SweepPoint:
    """One combination of settings, with its figures over the seeds."""
    settings: dict[str, Any]
    runs: list[RunSummary]
    figures: dict[str, Estimate]
    pareto: bool = False   # on the frontier of resource against p99

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "figures": {k: e.to_dict() for k, e in self.figures.items()},
                "pareto": self.pareto, "bottlenecks": dict(Counter(r.bottleneck for r in self.runs)),
                "runs": [r.to_dict() for r in self.runs]}


@dataclass(frozen=True)
class Knee:
    """Where a curve turns bad: the first point whose value exceeds `factor` x the curve's best.

    The curve is walked in the direction in which it worsens (rising load,
    falling replicas). `safe` is the setting just before the knee.
    """
    figure: str
    path: str
    fixed: dict[str, Any]   # the other axis's setting, for a two-axis sweep
    index: int | None       # into the curve's points (None: no knee in range)
    value: Any              # the setting at the knee
    safe: Any               # the last setting before it (None if the first point is already past)
    y: float | None
    baseline: float         # the best (lowest) value on the curve
    factor: float

    def sentence(self) -> str:
        label = FIGURES[self.figure].label if self.figure in FIGURES else self.figure
        where = "".join(f" (with {k} = {show_value(v)})" for k, v in self.fixed.items())
        if self.index is None:
            return (f"No knee{where}: {label} stays within {self.factor:g}x its best "
                    f"({format_number(self.baseline)} ms) over the whole range of {self.path}.")
        safe = f"; it holds up to {self.path} = {show_value(self.safe)}" if self.safe is not None else ""
        return (f"Knee{where} at {self.path} = {show_value(self.value)}: {label} reaches {format_number(self.y or 0.0)} ms, "
                f"more than {self.factor:g}x its best ({format_number(self.baseline)} ms){safe}.")

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"figure": self.figure, "path": self.path, "fixed": self.fixed, "index": self.index,
                       "value": self.value, "safe": self.safe, "y": self.y, "baseline": self.baseline,
                       "factor": self.factor, "sentence": self.sentence()})


def _frontier(points: list[SweepPoint], axes: list[SweepAxis], resource: str, figure: str) -> set[int]:
    """Pareto points among the designs: one frontier per workload setting (designs meet the same load)."""
    if all(a.path.startswith("workload.") for a in axes):
        return set()   # only the load varies: there are no designs to choose between
    load = [a.path for a in axes if a.path.startswith("workload.")]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault(tuple(p.settings[k] for k in load), []).append(i)
    front: set[int] = set()
    for idx in groups.values():
        costs = [points[i].figures[resource].mean for i in idx]
        values = [points[i].figures[figure].mean if figure in points[i].figures else math.nan for i in idx]
        front |= {idx[j] for j in pareto(costs, values)}
    return front


@dataclass(frozen=True)
class SweepResult:
    """A grid of settings (one or two axes) x seeds: curves, knees and the Pareto frontier.

    The frontier (``SweepPoint.pareto``) is over the design settings (paths
    outside ``workload.``), one per workload setting, of `resource` against
    p99: a sweep of the load alone has none.
    """
    scenario: str
    axes: list[SweepAxis]
    seeds: list[int]
    points: list[SweepPoint]       # the grid, the first axis varying fastest
    knees: list[Knee]              # one per curve along the first axis
    resource: str                  # "cost_per_hour", or "workers" where the results carry no cost
    confidence: float = CONFIDENCE

    def curve(self, figure: str = "latency_ms.p99", fixed: dict[str, Any] | None = None) -> list[SweepPoint]:
        """The points along the first axis, at the `fixed` setting of the second (if any)."""
        fixed = fixed or {}
        return [p for p in self.points if all(p.settings[k] == v for k, v in fixed.items())]

    def curves(self) -> list[tuple[dict[str, Any], list[SweepPoint]]]:
        """Every curve along the first axis: one, or one per value of the second axis."""
        if len(self.axes) == 1:
            return [({}, list(self.points))]
        other = self.axes[1]
        return [({other.path: v}, self.curve(fixed={other.path: v})) for v in other.values]

    def table(self, figures: Sequence[str] = ("latency_ms.p50", "latency_ms.p99", "throughput_rps", "goodput",
                                                 "failure_rate")) -> tuple[list[str], list[list[str]]]:
        """Header and rows: one row per point, the knee and the Pareto frontier marked."""
        knee_at = {id(curve[k.index]) for k, (_, curve) in zip(self.knees, self.curves()) if k.index is not None}
        keys = [f for f in figures if all(f in p.figures for p in self.points)] + [self.resource]
        header = [a.name for a in self.axes] + [label(k, unit=True) for k in keys] + ["bottleneck", "marks"]
        rows = []
        for p in self.points:
            marks = [m for m, on in (("knee", id(p) in knee_at), ("pareto", p.pareto)) if on]
            neck = Counter(r.bottleneck for r in p.runs).most_common(1)[0][0]
            rows.append([show_value(p.settings[a.path]) for a in self.axes]
                        + [format_estimate(k, p.figures[k], unitless=True) for k in keys]
                        + [neck or "-", ", ".join(marks)])
        return header, rows

    def text(self) -> str:
        """The terminal form: the grid, the table with marks, each knee, the frontier."""
        shape = " x ".join(f"{a.path} ({len(a.values)} values)" for a in self.axes)
        res = label(self.resource, unit=True)
        front = sorted((p for p in self.points if p.pareto),
                       key=lambda p: tuple(_sortable(p.settings[a.path]) for a in self.axes[::-1]
                                           if a.path.startswith("workload.")) + (p.figures[self.resource].mean,))
        lines = [f"{self.scenario}: sweep of {shape}, {len(self.seeds)} runs each "
                 f"(seeds {_seed_span(self.seeds)}); {self.confidence:.0%} intervals", "",
                 text_table(*self.table()), ""]
        lines += [k.sentence() for k in self.knees]
        if front:
            lines.append(f"Pareto frontier ({res} against p99): "
                         + "; ".join(", ".join(f"{a.name} {show_value(p.settings[a.path])}" for a in self.axes)
                                     + f" ({format_number(p.figures[self.resource].mean)}, "
                                     f"{format_estimate('latency_ms.p99', p.figures['latency_ms.p99'])})"
                                     for p in front if "latency_ms.p99" in p.figures))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "axes": [{"path": a.path, "values": a.values} for a in self.axes],
                "seeds": self.seeds, "confidence": self.confidence, "resource": self.resource,
                "knees": [k.to_dict() for k in self.knees],
                "points": [p.to_dict() for p in self.points]}


def sweep(scenario: Scenario, axes: Sequence[SweepAxis | str], n: int = 5, *, seed: int | None = None,
          seeds: Sequence[int] | None = None, figure: str = "latency_ms.p99", factor: float = KNEE_FACTOR,
          confidence: float = CONFIDENCE, executor: Executor | None = None, workers: int | None = None,
          scheduler: str | None = None, progress: Progress | None = None, limits: "Limits | None" = None,
          cancel: Callable[[], bool] | None = None) -> SweepResult:
    """Run `scenario` at every combination of one or two settings, `n` seeds each.

    `axes` are :class:`SweepAxis` or ``PATH=START:STOP:STEPS`` strings. Every
    point is checked (validated) before anything runs, so a bad path or value
    fails at once. Every point uses the same seeds, so neighbouring points see
    the same traffic and the curve is smooth. The knee is marked on each curve
    of `figure` along the first axis (see :func:`knee`), and the Pareto
    frontier of cost against p99 over all points (workers where there is no cost).

    >>> from sandbox.scenario import loads
    >>> s = loads('''
    ... name: mm1
    ... workload: {entry: s, rate_rps: 10, duration_s: 60, warmup_s: 2}
    ... nodes: {s: {kind: service, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}}
    ... ''')
    >>> sw = sweep(s, ["workload.rate_rps=10,40,90"], n=2, workers=1)
    >>> [p.settings["workload.rate_rps"] for p in sw.points]    # rate_rps is a float field
    [10.0, 40.0, 90.0]
    >>> sw.knees[0].value, sw.knees[0].safe   # theory: p99 51 ms at rho 0.1, 77 at 0.4, 460 at 0.9
    (90.0, 40.0)
    """
    parsed = [parse_range(a) if isinstance(a, str) else a for a in axes]
    if not 1 <= len(parsed) <= 2:
        raise ScenarioError("--set", [("", f"a sweep varies one or two settings, got {len(parsed)}")])
    if len(parsed) == 2 and parsed[0].path == parsed[1].path:
        raise ScenarioError("--set", [(parsed[0].path, "is set twice")])
    data = scenario.to_dict()
    parsed = [fit_axis(a, data) for a in parsed]
    chosen = _seeds(scenario, n, seed, seeds)
    grid = [dict(zip([a.path for a in parsed], combo[::-1]))
            for combo in itertools.product(*[a.values for a in reversed(parsed)])]
    for settings in grid:   # validate every point before running any
        try:
            with_overrides(scenario, settings)
        except ScenarioError as exc:
            shown = ", ".join(f"{k}={show_value(v)}" for k, v in settings.items())
            raise ScenarioError("--set", [(f"{path or shown}", f"{reason} (at {shown})")
                                          for path, reason in exc.problems]) from None
    tasks = [(data, s, settings) for settings in grid for s in chosen]
    runs = _run_all(tasks, executor=executor, workers=workers, scheduler=scheduler, progress=progress,
                    limits=limits, cancel=cancel)
    k = len(chosen)
    points = [SweepPoint(settings, runs[i * k:(i + 1) * k], _estimates(runs[i * k:(i + 1) * k], confidence))
              for i, settings in enumerate(grid)]
    resource = "cost_per_hour" if all("cost_per_hour" in p.figures for p in points) else "workers"
    front = _frontier(points, parsed, resource, figure)
    points = [SweepPoint(p.settings, p.runs, p.figures, i in front) for i, p in enumerate(points)]
    result = SweepResult(scenario.name, parsed, chosen, points, [], resource, confidence)
    knees = []
    for fixed, curve in result.curves():
        xs = [p.settings[parsed[0].path] for p in curve]
        ys = [p.figures[figure].mean if figure in p.figures else math.nan for p in curve]
        i = knee(xs, ys, factor)
        finite = [y for y in ys if math.isfinite(y)]
        safe = None
        if i is not None:
            j = i - 1 if worsens_upwards(ys) else i + 1
            safe = xs[j] if 0 <= j < len(xs) else None
        knees.append(Knee(figure, parsed[0].path, fixed, i, xs[i] if i is not None else None, safe,
                          ys[i] if i is not None else None, min(finite) if finite else math.nan, factor))
    return SweepResult(scenario.name, parsed, chosen, points, knees, resource, confidence)


# ── formatting ───────────────────────────────────────────────────────────────


def label(key: str, unit: bool = False) -> str:
    """The name a table shows for a figure key, with its unit when `unit`.

    >>> label("latency_ms.p99", unit=True), label("utilization.db")
    ('p99 ms', 'utilization db')
    """
    if key in FIGURES:
        f = FIGURES[key]
        suffix = {"share": " %", "": ""}.get(f.unit, f" {f.unit}") if unit else ""
        return f.label + suffix
    if key.startswith("utilization."):
        return "utilization " + key.split(".", 1)[1] + (" %" if unit else "")
    return key


def _end(key: str, x: float, e: Estimate) -> str:
    """One end of an interval, as precise as the interval."""
    if e.half_width is None:
        return ""
    return format_estimate(key, Estimate(x, e.half_width, e.n, e.std), unitless=True).split(" ± ")[0]


def format_estimate(key: str, e: Estimate, signed: bool = False, unitless: bool = False) -> str:
    """``180 ± 12 ms``, ``97.12 ± 0.41%``: a figure with its interval and unit.

    The half-width keeps two significant digits and the mean as many decimals.

    >>> format_estimate("latency_ms.p99", Estimate(180.4, 12.2, 10, 17.0))
    '180 ± 12 ms'
    >>> format_estimate("latency_ms.mean", Estimate(19.874, 0.4312, 10, 0.6))
    '19.87 ± 0.43 ms'
    >>> format_estimate("goodput", Estimate(0.9712, 0.0041, 10, 0.005))
    '97.12 ± 0.41%'
    >>> format_estimate("failure_rate", share_estimate([0.0, 0.0, 0.08, 0.0, 0.0]))
    '1.6% (0.2 to 13.8%)'
    """
    unit = FIGURES[key].unit if key in FIGURES else ("share" if key.startswith("utilization.") else "")
    if unit == "share":
        if e.bounds is not None and not signed:  # lopsided near 0 or 1: shown as its ends
            return low_to_high(e.mean, e.low, e.high, 100, "" if unitless else "%")
        hw = e.half_width * 100 if e.half_width is not None else None
        return plus_minus(e.mean * 100, hw, signed) + ("" if unitless else "%")
    body = plus_minus(e.mean, e.half_width, signed)
    return f"{body} {unit}" if unit and not unitless else body


def _sortable(v: Any) -> Any:
    return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))


def _seed_span(seeds: Sequence[int]) -> str:
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ", ".join(map(str, seeds))


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain aligned table: the first column to the left, the others to the right."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda row: "  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                                for i, (x, w) in enumerate(zip(row, widths))).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])
