"""The calibration's check: the traces' p50 and p99 beside the calibrated model's, flagged where they disagree.

Per node the figures are each call's span duration (the model measured from its own traces, exactly as
the file was); end to end, the entry's root spans beside every simulated request. A figure *agrees* when
the 95% interval of the trace's quantile (from order statistics, distribution-free) and the same
interval of the model's overlap, each widened by AGREEMENT_SLACK for the rounding of fitted values. Two
95% intervals that miss each other are a difference at about the 0.5% level, so a flag is rarely chance.
The model's end-to-end figures come from every simulated request and are taken as exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .fitting import quantile
from .results import Results
from .scenario import Scenario
from .tracefiles import Hop, TraceSet

__all__ = ["Agreement", "AGREEMENT_SLACK", "agreement"]

AGREEMENT_SLACK = 0.05     # each interval widened by this, for the rounding of fitted values
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Agreement:
    """Traces beside the calibrated model for one node (or end to end): p50 and p99, and whether they agree."""
    what: str                       # a node, or "end to end"
    trace_calls: int
    trace_p50_ms: float
    trace_p99_ms: float
    model_p50_ms: float
    model_p99_ms: float
    p50_interval: tuple[float, float]
    p99_interval: tuple[float, float]
    p50_agrees: bool
    p99_agrees: bool

    @property
    def agrees(self) -> bool:
        return self.p50_agrees and self.p99_agrees


def _interval(xs: list[float], q: float) -> tuple[float, float]:
    """A distribution-free 95% interval for the q-quantile: order statistics at n q -/+ 1.96 sqrt(n q (1-q))."""
    s = sorted(xs)
    n = len(s)
    half = _Z95 * math.sqrt(n * q * (1 - q))
    lo = max(0, math.floor(n * q - half) - 1)
    hi = min(n - 1, math.ceil(n * q + half))
    return s[lo], s[hi]


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """The two intervals, each widened by AGREEMENT_SLACK, share a point."""
    return a[0] * (1 - AGREEMENT_SLACK) <= b[1] * (1 + AGREEMENT_SLACK) and \
        b[0] * (1 - AGREEMENT_SLACK) <= a[1] * (1 + AGREEMENT_SLACK)


def _row(what: str, trace: list[float], model: list[float] | tuple[float, float]) -> Agreement:
    p50_i, p99_i = _interval(trace, 0.5), _interval(trace, 0.99)
    if isinstance(model, tuple):   # from every request: exact, but for the histogram's buckets
        m50, m99 = model
        m50_i, m99_i = (m50, m50), (m99, m99)
    else:
        m50, m99 = quantile(model, 0.5), quantile(model, 0.99)
        m50_i, m99_i = _interval(model, 0.5), _interval(model, 0.99)
    return Agreement(what, len(trace), quantile(trace, 0.5), quantile(trace, 0.99), m50, m99, p50_i, p99_i,
                     _overlap(p50_i, m50_i), _overlap(p99_i, m99_i))


def agreement(base: Scenario, traces: TraceSet, by_node: dict[str, list[Hop]], results: Results,
               calibrated: Scenario) -> list[Agreement]:
    """p50 and p99 per node (each call's span duration) and end to end (the entry's root spans), trace beside
    model; the model's per-node figures are measured the same way, from its own traces."""
    model_by: dict[str, list[float]] = {}
    for t in results.traces:   # each span is one hop, as its OTLP export would read back
        for sp in t.spans:
            if sp.outcome == "ok":
                model_by.setdefault(sp.node, []).append(sp.end_ms - sp.arrive_ms)
    rows = []
    entry = base.workload.entry
    roots = [h.duration_ms for h in traces.roots() if h.service == entry and not h.error]
    if roots:
        lat = results.latency_ms
        rows.append(_row("end to end", roots, (lat.p50, lat.p99)))
    for name in base.nodes:
        trace = [h.duration_ms for h in by_node.get(name, []) if not h.error]
        model = model_by.get(name, [])
        if trace and model:
            rows.append(_row(name, trace, model))
    return rows
