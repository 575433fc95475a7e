"""Sensitivity: which setting moves a figure most, each moved down and up on identical traffic.

Every setting chosen (``nodes.*.workers`` matches the workers of every node that has them) is moved by a
share ``by`` down and up from its value (whole numbers rounded, and at least one step away, never below 1),
and each variant runs under the same seeds as the design itself (common random numbers: the arrivals and
every unchanged node draw the same numbers). For each setting and figure the *swing* is the paired
difference high - low, seed by seed, with its Student t interval; the settings are ranked by the size of
their swing on the first figure (p99 latency by default), which is what a tornado chart draws.

>>> from sandbox.scenario import loads
>>> s = loads('''
... name: two knobs
... workload: {entry: web, rate_rps: 150, duration_s: 40, warmup_s: 5}
... nodes:
...   web: {kind: service, workers: 8, service_time: {dist: exponential, mean_ms: 5}}
...   db: {kind: database, workers: 2, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}
... edges: [{from: web, to: db}]
... ''')
>>> r = sensitivity(s, ["nodes.*.workers"], by=0.5, n=3, workers=1)
>>> r.ranked[0].path       # two db connections at 75% busy: the db's workers matter, web's 8 hardly do
'nodes.db.workers'
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import Any, Sequence, Unpack

from ..errors import ScenarioError
from ..intervals import CONFIDENCE, Estimate, estimate, paired_estimate
from ..scenario import Scenario
from ..settings import show_value
from .comparison import variant
from .figures import format_estimate, label, seed_span, text_table
from .runs import RunOptions, RunOptionsArgs, RunSummary, Task, choose_seeds, need_interval

__all__ = ["Knob", "SensitivityResult", "sensitivity", "expand_settings", "DEFAULT_FIGURES"]

DEFAULT_FIGURES = ("latency_ms.p99", "goodput", "cost_per_hour")


@dataclass(frozen=True)
class Knob:
    """One setting moved down and up: its values, and per figure the paired effects (low - base, high - base)
    and the swing high - low, each a mean with its interval over the seeds."""
    path: str
    base: Any
    low: Any
    high: Any
    low_effect: dict[str, Estimate]
    high_effect: dict[str, Estimate]
    swing: dict[str, Estimate]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "base": self.base, "low": self.low, "high": self.high,
                "low_effect": {k: e.to_dict() for k, e in self.low_effect.items()},
                "high_effect": {k: e.to_dict() for k, e in self.high_effect.items()},
                "swing": {k: e.to_dict() for k, e in self.swing.items()}}


@dataclass(frozen=True)
class SensitivityResult:
    """Each setting's effects on each figure, ranked by the size of their swing on the first figure."""
    scenario: str
    by: float
    seeds: list[int]
    figures: tuple[str, ...]
    base: dict[str, Estimate]
    ranked: list[Knob]
    confidence: float = CONFIDENCE

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per setting, most effective first: its values and, per figure, the effect of low and high."""
        header = ["setting", "low / base / high"] + [f"{label(f)}: low, high" for f in self.figures]
        rows = []
        for k in self.ranked:
            cells = [k.path, f"{show_value(k.low)} / {show_value(k.base)} / {show_value(k.high)}"]
            for f in self.figures:
                lo, hi = k.low_effect.get(f), k.high_effect.get(f)
                cells.append("n/a" if lo is None or hi is None else
                             f"{format_estimate(f, lo, signed=True)}, {format_estimate(f, hi, signed=True)}")
            rows.append(cells)
        return header, rows

    def text(self) -> str:
        first = self.figures[0]
        lines = [f"{self.scenario}: each setting {self.by:.0%} down and up, {len(self.seeds)} runs each "
                 f"(seeds {seed_span(self.seeds)}, the same traffic for every variant)", ""]
        header, rows = self.table()
        lines.append(text_table(header, rows))
        lines.append("")
        if self.ranked:
            top = self.ranked[0]
            swing = top.swing.get(first)
            lines.append(f"Most effective on {label(first)}: {top.path} (from {show_value(top.low)} to "
                         f"{show_value(top.high)} moves it by {format_estimate(first, swing, signed=True)})"
                         if swing is not None else f"No setting moved {label(first)}.")
            if len(self.ranked) > 1 and swing is not None:
                second = self.ranked[1].swing.get(first)
                if second is not None:
                    apart = abs(swing.mean) - abs(second.mean) > (swing.half_width or 0) + (second.half_width or 0)
                    lines.append(f"  ahead of {self.ranked[1].path} ({format_estimate(first, second, signed=True)}): "
                                 + ("the intervals do not overlap" if apart else
                                    "the intervals overlap: run more seeds (-n) to tell them apart"))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "by": self.by, "seeds": self.seeds, "figures": list(self.figures),
                "confidence": self.confidence, "base": {k: e.to_dict() for k, e in self.base.items()},
                "ranked": [k.to_dict() for k in self.ranked]}


def expand_settings(data: dict[str, Any], patterns: Sequence[str]) -> list[str]:
    """The numeric fields the patterns match (``nodes.*.workers``: every node's workers), in the order found;
    a pattern matching nothing is refused with the reason."""
    found: list[str] = []
    for pattern in patterns:
        matched = [p for p in _numeric_paths(data) if fnmatch.fnmatchcase(p, pattern)]
        if not matched:
            raise ScenarioError("--vary", [(pattern, "matches no numeric setting of the design (for example "
                                                     "nodes.*.workers, nodes.web.replicas, workload.rate_rps)")])
        found += [p for p in matched if p not in found]
    return found


def _numeric_paths(data: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k == "challenge":
                continue
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, bool):
                continue
            if isinstance(v, (int, float)) and math.isfinite(v):
                out.append(path)
            elif isinstance(v, dict):
                out += _numeric_paths(v, path)
    return out


def _moved(value: Any, by: float, up: bool) -> Any:
    """`value` moved by the share `by`: whole numbers rounded, at least one step, never below 1."""
    if isinstance(value, int):
        step = max(1, round(abs(value) * by))
        return max(1, value + step) if up else max(1, value - step)
    return value * (1 + by) if up else value * (1 - by)


def sensitivity(scenario: Scenario, vary: Sequence[str], by: float = 0.2, n: int = 5, *,
                figures: Sequence[str] = DEFAULT_FIGURES, seed: int | None = None, seeds: Sequence[int] | None = None,
                confidence: float = CONFIDENCE, run: RunOptions | None = None,
                **options: Unpack[RunOptionsArgs]) -> SensitivityResult:
    """Move each setting `vary` matches by `by` down and up, on the seeds of the design itself, and rank them
    by their swing on the first of `figures` (see the module docstring)."""
    if not 0 < by < 1:
        raise ScenarioError("--by", [(f"{by:g}", "must be a share between 0 and 1 (0.2 for 20%)")])
    data = scenario.to_dict()
    paths = expand_settings(data, vary)
    chosen = choose_seeds(scenario, n, seed, seeds)
    need_interval(len(chosen))
    variants: list[tuple[str, Any, Any, Any, Scenario, Scenario]] = []
    for path in paths:
        base = _value(data, path)
        low, high = _moved(base, by, up=False), _moved(base, by, up=True)
        if low == base == high:
            continue
        variants.append((path, base, low, high, variant(scenario, {path: low}), variant(scenario, {path: high})))
    designs = [scenario] + [v for *_, lo, hi in variants for v in (lo, hi)]
    tasks: list[Task] = [(d.to_dict(), s, {}) for d in designs for s in chosen]
    runs = RunOptions.of(run, options).run_all(tasks)
    k = len(chosen)
    base_runs = runs[:k]
    base = {f: e for f in figures if (e := _estimate(base_runs, f, confidence)) is not None}
    knobs = []
    for j, (path, value, low, high, _, _) in enumerate(variants):
        lo_runs, hi_runs = runs[k * (1 + 2 * j):k * (2 + 2 * j)], runs[k * (2 + 2 * j):k * (3 + 2 * j)]
        knobs.append(Knob(path, value, low, high, _effects(base_runs, lo_runs, figures, confidence),
                          _effects(base_runs, hi_runs, figures, confidence),
                          _effects(lo_runs, hi_runs, figures, confidence)))
    first = figures[0]
    knobs.sort(key=lambda kn: -abs(kn.swing[first].mean) if first in kn.swing else 0.0)
    return SensitivityResult(scenario.name, by, chosen, tuple(figures), base, knobs, confidence)


def _value(data: dict[str, Any], path: str) -> Any:
    cursor: Any = data
    for part in path.split("."):
        cursor = cursor[part]
    return cursor


def _figure(run: RunSummary, key: str) -> float | None:
    value = run.figures.get(key)
    return value if value is not None and math.isfinite(value) else None


def _estimate(runs: Sequence[RunSummary], key: str, confidence: float) -> Estimate | None:
    values = [_figure(r, key) for r in runs]
    if any(v is None for v in values):
        return None
    return estimate([v for v in values if v is not None], confidence)


def _effects(a: Sequence[RunSummary], b: Sequence[RunSummary], figures: Sequence[str],
             confidence: float) -> dict[str, Estimate]:
    """Per figure, the paired difference b - a over the seeds (figures missing in a run are left out)."""
    out = {}
    for f in figures:
        xa, xb = [_figure(r, f) for r in a], [_figure(r, f) for r in b]
        if any(v is None for v in xa + xb):
            continue
        out[f] = paired_estimate([v for v in xa if v is not None], [v for v in xb if v is not None], confidence)
    return out
