"""Sweeps: a design at every combination of one or two settings, the knee of its latency curve, its Pareto frontier.

Each point runs under the same seeds, so neighbouring points see the same
traffic and the curve is smooth. Along the first setting, the **knee** is
where p99 first exceeds a factor (2) of its best (:func:`~sandbox.curves.knee`);
over the design settings, the **Pareto frontier** joins the designs no other
beats on both cost (or workers) and p99 (:func:`~sandbox.curves.pareto`).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence, Unpack

from ..curves import KNEE_FACTOR, knee, pareto, worsens_upwards
from ..errors import ScenarioError
from ..intervals import CONFIDENCE, Estimate, format_number, json_safe
from ..scenario import Scenario, with_overrides
from ..settings import SweepAxis, fit_axis, parse_range, show_value
from .figures import FIGURES, estimates, format_estimate, label, seed_span, text_table
from .runs import RunOptions, RunOptionsArgs, RunSummary, choose_seeds

__all__ = ["SweepPoint", "Knee", "SweepResult", "sweep"]


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
                 f"(seeds {seed_span(self.seeds)}); {self.confidence:.0%} intervals", "",
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
          confidence: float = CONFIDENCE, run: RunOptions | None = None,
          **options: Unpack[RunOptionsArgs]) -> SweepResult:
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
        raise ScenarioError("setting", [("", f"a sweep varies one or two settings, got {len(parsed)}")])
    if len(parsed) == 2 and parsed[0].path == parsed[1].path:
        raise ScenarioError("setting", [(parsed[0].path, "is set twice")])
    data = scenario.to_dict()
    parsed = [fit_axis(a, data) for a in parsed]
    chosen = choose_seeds(scenario, n, seed, seeds)
    grid = [dict(zip([a.path for a in parsed], combo[::-1]))
            for combo in itertools.product(*[a.values for a in reversed(parsed)])]
    for settings in grid:   # validate every point before running any
        try:
            with_overrides(scenario, settings)
        except ScenarioError as exc:
            shown = ", ".join(f"{k}={show_value(v)}" for k, v in settings.items())
            raise ScenarioError("setting", [(f"{path or shown}", f"{reason} (at {shown})")
                                          for path, reason in exc.problems]) from None
    tasks = [(data, s, settings) for settings in grid for s in chosen]
    runs = RunOptions.of(run, options).run_all(tasks)
    k = len(chosen)
    points = [SweepPoint(settings, runs[i * k:(i + 1) * k], estimates(runs[i * k:(i + 1) * k], confidence))
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


def _sortable(v: Any) -> Any:
    return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))
