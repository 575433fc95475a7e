"""Results: what a run produced, as plain picklable data.

Everything here is dataclasses of numbers, strings, lists and dicts, so results
cross process boundaries and caches unchanged. ``to_dict()`` gives the JSON
form (identical for the same seed, except ``engine``), and the ``*_frame()``
methods give pandas DataFrames. What the figures mean (the bottleneck, theory
beside simulation) is worked out in :mod:`sandbox.diagnosis`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .analysis import Analysis

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Results", "ClassResult", "ErrorBudget", "NodeResult", "EdgeResult", "Latency", "Requests", "Bottleneck", "Cause", "Span", "Trace",
           "Comparison", "ClassComparison", "ComparisonByClass", "EngineInfo", "analysis_json"]


@dataclass(frozen=True)
class Latency:
    """A latency distribution summary, in milliseconds."""
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float


@dataclass(frozen=True)
class Requests:
    """What became of the requests that arrived after warm-up."""
    arrived: int
    completed: int
    rejected: int
    failed: int
    in_flight: int  # still inside the system when the run ended


@dataclass(frozen=True)
class Cause:
    """Why some requests did not complete: how many, with what status, at which node."""
    status: str
    node: str
    reason: str
    count: int
    share: float  # of arrived requests


@dataclass(frozen=True)
class NodeResult:
    """One node's figures, all replicas together."""
    name: str
    kind: str
    replicas: int
    capacity: int                 # workers in all replicas (consumers for a queue)
    arrived: int
    completed: int
    rejected: int
    failed: int
    utilization: float            # busy worker time / available worker time
    peak_utilization: float       # the highest 5-second mean of utilization
    peak_at_s: float              # when that 5-second window ended
    throughput_rps: float
    wait_ms: dict[str, float]     # mean, p95, p99 before a worker (message age for a queue)
    service_ms: dict[str, float]  # mean, p99 of the node's own work
    response_ms: dict[str, float]  # mean, p95, p99 in the node, downstream calls included
    queue_length: dict[str, float]  # mean, max waiting
    in_node_mean: float           # mean calls in the node (waiting + held): L in Little's law
    downstream_share: float       # of the time a worker is held, the share spent waiting on calls
    replicas_mean: float          # time-weighted replicas serving (autoscaling changes it)
    cost_per_hour: float          # dollars: price per replica-hour x replicas_mean
    series: dict[str, list[float]]  # 1-second points: t_s, throughput_rps, p99_ms, queue_mean, utilization, replicas
    # per class, when the workload has classes: arrived, completed, rejected, failed, wait_ms {mean, p99}
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what a node that looks at keys saw: a keyed cache's reads that hit and missed, writes, evictions, entries
    # at the end, its hit ratio beside theory's (empty for every other node)
    keyed: dict[str, Any] = field(default_factory=dict)
    # a stream's consumer groups or a topic's subscriptions, beside theory's figures (empty for every other node)
    pipeline: dict[str, Any] = field(default_factory=dict)
    # a feature flag's rollout: per-variant calls and errors, the guardrails' decisions, the blast radius
    rollout: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorBudget:
    """A class's error budget over the run: a request is bad when it fails, is refused, or misses its SLO.

    ``burn_rate`` is bad_share / (1 - target): 1 spends the budget exactly over the run, 10 ten times over.
    ``exhausted_at_s`` is the simulated second by which the bad requests exceeded the budget of the whole run
    ((1 - target) x its requests), or None.
    """
    target: float | None
    bad: int
    bad_share: float
    allowed: float | None         # bad requests the budget allows over the run
    burn_rate: float | None
    exhausted_at_s: float | None


@dataclass(frozen=True)
class ClassResult:
    """One class of requests, end to end."""
    name: str
    share: float
    priority: int
    slo_ms: float | None
    requests: Requests
    throughput_rps: float
    goodput: float                # share of its arrivals completed within its SLO
    latency_ms: Latency
    causes: list[Cause]
    error_budget: ErrorBudget
    series: dict[str, list[float]]  # t_s, throughput_rps, p99_ms, bad (count), bad_share, burn_rate (with a target)


@dataclass(frozen=True)
class EdgeResult:
    """Calls over one edge: how many, how many attempts they took, and what went wrong.

    ``amplification`` is (attempts + hedge copies) per call: what retries and hedges multiply the
    callee's load by. Resilience figures are zero on edges without a policy.
    """
    source: str
    target: str
    index: int
    calls: int
    attempts: int
    amplification: float
    successes: int
    retries: int
    failures: dict[str, int]      # failed attempts by cause: timeout, error, down, rejected, ...
    wasted_calls: int             # attempts the caller abandoned (timeout, lost hedge) that the callee finished
    wasted_ms: float              # their total duration
    hedges: int
    hedge_wins: int
    short_circuited: int          # calls failed at once by an open breaker
    breaker_opened: int
    breaker_open_s: float         # time not closed within the measured window
    breaker_transitions: list[list]  # [t_s, state], the first 200
    series: dict[str, list]       # 1-second points: t_s, attempts_per_s, breaker state


@dataclass(frozen=True)
class Bottleneck:
    """The node that limits the system, and one sentence saying why."""
    node: str | None
    why: str


@dataclass(frozen=True)
class Span:
    """One hop of a traced request: arrival, start of service, end (ms from the request's start), and the
    place in the trace's spans of the hop that made this call (None for the first hop, or when the caller
    was past the trace's first 1,000 hops)."""
    node: str
    replica: int
    arrive_ms: float
    start_ms: float
    end_ms: float
    outcome: str
    parent: int | None = None


@dataclass(frozen=True)
class Trace:
    """A sampled request, one span per hop, like a distributed trace (its first 1,000 hops)."""
    request_id: int
    start_s: float
    status: str
    latency_ms: float
    spans: list[Span]
    request_class: str | None = None  # its class, when the workload has classes


@dataclass(frozen=True)
class Comparison:
    """Theory beside simulation for one node, with a flag where they disagree."""
    node: str
    predicted_utilization: float
    simulated_utilization: float
    predicted_wait_ms: float | None
    simulated_wait_ms: float
    agrees: bool | None            # None: outside what the analysis models (the note says why)
    note: str
    predicted_rejected: float = 0.0
    simulated_rejected: float = 0.0
    accuracy: str = "exact"        # of the estimate: exact | approximate | none


@dataclass(frozen=True)
class ClassComparison:
    """Theory beside simulation for one class of requests at one node."""
    predicted_share: float         # of the node's arriving calls
    simulated_share: float
    predicted_wait_ms: float | None   # None: theory says the class's line grows without bound
    simulated_wait_ms: float
    agrees: bool | None            # None: outside what the analysis models (the note says why)
    note: str
    accuracy: str = "exact"


@dataclass(frozen=True)
class ComparisonByClass(Comparison):
    """A node's comparison where the workload has classes: the node's figures, and each class's (a subclass, so
    the results of a workload without classes keep their form)."""
    classes: dict[str, ClassComparison] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineInfo:
    """How the run went: wall time and SimPy events (the only part that varies between runs)."""
    wall_s: float
    events: int


@dataclass(frozen=True)
class Results:
    """Everything one simulation run produced."""
    scenario: str
    seed: int
    duration_s: float
    measured_s: float             # duration_s - warmup_s: the window the statistics cover
    requests: Requests
    throughput_rps: float
    goodput: float                # share of arrivals completed (within slo_ms when set)
    slo_ms: float | None
    latency_ms: Latency
    latency_histogram: list[tuple[float, float, int]]  # (low_ms, high_ms, count)
    nodes: dict[str, NodeResult]
    causes: list[Cause]
    bottleneck: Bottleneck
    series: dict[str, list[float]]  # system-wide points (1 s each, wider past 2048 points): t_s, throughput_rps, p50_ms, p90_ms, p99_ms, arrivals (per s)
    traces: list[Trace]
    edges: list[EdgeResult]
    cost_per_hour: float          # dollars, time-weighted over the measured window
    cost_per_million: float | None  # dollars per million completed requests
    analysis: Analysis
    theory: list[Comparison]
    engine: EngineInfo = field(compare=False)
    classes: dict[str, ClassResult] = field(default_factory=dict)  # empty without workload classes
    placement: dict[str, Any] = field(default_factory=dict)  # zones, crossings, outages: empty without placement

    def to_dict(self, series: bool = True) -> dict[str, Any]:
        """The JSON form. ``series=False`` leaves out time series, histograms and traces."""
        r = self
        if not series:  # drop the long parts before copying, not after
            r = replace(self, series={}, latency_histogram=[], traces=[],
                        nodes={k: replace(n, series={}) for k, n in self.nodes.items()},
                        edges=[replace(e, series={}) for e in self.edges],
                        classes={k: replace(c, series={}) for k, c in self.classes.items()})
        d = _clean(asdict(r))
        d["analysis"] = analysis_json(self.analysis)
        for node in d["nodes"].values():  # only nodes that look at keys have these figures, only streams and topics
            if not node["keyed"]:         # pipelines
                node.pop("keyed")
            if not node["rollout"]:
                node.pop("rollout")
            elif not series:
                node["rollout"].pop("series", None)
            if not node["pipeline"]:
                node.pop("pipeline")
            elif not series:
                for group in node["pipeline"].get("groups", {}).values():
                    group.pop("series", None)
        if not self.placement:   # likewise a design that places nothing
            d.pop("placement")
        elif not series:
            d["placement"].pop("availability_series")
            d["placement"].pop("health_events")
        if not self.classes:  # a design without classes gives the same JSON as before they existed
            d.pop("classes")
            for node in d["nodes"].values():
                node.pop("classes")
            for trace in d.get("traces", []):
                trace.pop("request_class")
        elif not series:
            for c in d["classes"].values():
                c.pop("series")
        if not series:
            for key in ("series", "latency_histogram", "traces"):
                d.pop(key)
            for node in d["nodes"].values():
                node.pop("series")
            for edge in d["edges"]:
                edge.pop("series")
        return d

    def to_json(self, series: bool = True, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(series), indent=indent, allow_nan=False)

    def nodes_frame(self) -> "pd.DataFrame":
        """One row per node: counts, utilization, waits, queue lengths."""
        import pandas as pd
        rows = []
        for n in self.nodes.values():
            row = {k: v for k, v in asdict(n).items() if k != "series" and not isinstance(v, dict)}
            for group in ("wait_ms", "service_ms", "response_ms", "queue_length"):
                for stat, value in getattr(n, group).items():
                    row[f"{group}.{stat}"] = value
            rows.append(row)
        return pd.DataFrame(rows).set_index("name")

    def series_frame(self) -> "pd.DataFrame":
        """Long-form 1-second time series: one row per (node, second); node "*" is the system."""
        import pandas as pd
        frames = [pd.DataFrame(self.series).assign(node="*")]
        frames += [pd.DataFrame(n.series).assign(node=n.name) for n in self.nodes.values()]
        return pd.concat(frames, ignore_index=True)

    def traces_frame(self) -> "pd.DataFrame":
        """One row per span of the sampled traces, for a waterfall chart."""
        import pandas as pd
        rows = [{"request_id": t.request_id, "status": t.status, **asdict(sp)} for t in self.traces for sp in t.spans]
        return pd.DataFrame(rows, columns=["request_id", "status", "node", "replica", "arrive_ms",
                                           "start_ms", "end_ms", "outcome"])

    def theory_frame(self) -> "pd.DataFrame":
        """Theory beside simulation, one row per node."""
        import pandas as pd
        return pd.DataFrame([asdict(c) for c in self.theory]).set_index("node")


def _clean(x: Any) -> Any:
    """Round floats (stable JSON, no false precision) and turn inf/nan into None."""
    if isinstance(x, float):
        return round(x, 6) if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def analysis_json(a: Analysis) -> dict[str, Any]:
    """The JSON form of an analysis (inf as None, floats rounded), as results and ``analyse --json`` give it.
    The per-class figures appear only where the workload has classes (so a design without them reads as before)."""
    out = _clean({
        "rate_rps": a.rate_rps,
        "saturation_rps": a.saturation_rps,
        "first_to_saturate": a.first_to_saturate,
        "predicted_latency_ms": a.predicted_latency_ms,
        "cost_per_hour": a.cost_per_hour,
        "latency_accuracy": a.latency_accuracy,
        "latency_band": a.latency_band,
        "nodes": {n: {"offered_rps": e.offered_rps, "visits": e.visits,
                      "predicted_utilization": e.predicted_utilization,
                      "predicted_wait_ms": e.predicted_wait_ms, "hold_ms": e.hold_ms,
                      "predicted_rejected": e.predicted_rejected, "offered_utilization": e.offered_utilization,
                      "accuracy": e.accuracy, "method": e.method, "utilization_band": e.utilization_band,
                      "wait_band": e.wait_band, "reason": e.reason}
                  for n, e in a.nodes.items()},
        "out_of_scope": list(a.out_of_scope),
        "findings": [asdict(f) for f in a.findings],
    })
    if a.classes:
        for n, e in a.nodes.items():
            out["nodes"][n]["classes"] = _clean({k: asdict(c) for k, c in e.classes.items()})
        out["classes"] = _clean({k: asdict(c) for k, c in a.classes.items()})
    return out
