"""OTLP export: a run's sampled traces as OpenTelemetry JSON, the form the Collector's file exporter writes.

Each traced request becomes one trace; each hop one span of kind SERVER in the
resource of its node (``service.name`` = the node's name), its parent the hop
that made the call. A queue's hop is a CONSUMER span that begins when the
message was sent and ends when a consumer was done with it. Simulated time 0
is placed at :data:`EPOCH_NS` (2026-01-01T00:00:00Z), so the same run writes the
same bytes. Each span carries ``sandbox.queue_wait_ns`` (the time it queued
before a worker took it), which a real tracer cannot know and
:func:`sandbox.calibrate` uses when present. Root spans declare the share of
requests that were traced in ``tracestate`` (OpenTelemetry's ``ot=th:``
threshold), so a rate fitted from the file can be scaled back up.

>>> import sandbox
>>> s = sandbox.loads('''
... name: demo
... workload: {entry: api, rate_rps: 50, duration_s: 2}
... nodes: {api: {kind: service, service_time: {dist: exponential, mean_ms: 5}}}
... ''')
>>> doc = to_otlp(sandbox.simulate(s, seed=1, max_traces=10), s)
>>> span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
>>> span["kind"], span["name"]
(2, 'api')
"""

from __future__ import annotations

import json
from typing import Any

from .kinds import kind_of
from .results import Results
from .scenario import Scenario

__all__ = ["to_otlp", "otlp_json", "traced_share", "EPOCH_NS"]

EPOCH_NS = 1_767_225_600 * 1_000_000_000   # 2026-01-01T00:00:00Z: where simulated time 0 is placed
_SERVER, _CONSUMER = 2, 5
_ERROR, _OK = 2, 1


def _ns(t_s: float) -> str:
    return str(EPOCH_NS + round(t_s * 1e9))


def _threshold(share: float) -> str:
    """OpenTelemetry's rejection threshold for keeping `share` of traces: 14 hex digits, trailing zeros cut."""
    th = round((1.0 - share) * 2 ** 56)
    th = min(max(th, 0), 2 ** 56 - 1)
    return f"{th:014x}".rstrip("0") or "0"


def traced_share(results: Results) -> float:
    """The share of requests that were traced: the engine traces every k-th request (from the first after
    warm-up, until it has enough), so the ids of the traced ones are k apart."""
    ids = sorted(t.request_id for t in results.traces)
    if len(ids) < 2 or ids[-1] == ids[0]:
        return 1.0
    return min(1.0, (len(ids) - 1) / (ids[-1] - ids[0]))


def to_otlp(results: Results, scenario: Scenario) -> dict[str, Any]:
    """The traces of `results` as one OTLP ``ExportTraceServiceRequest`` (a dict ready for JSON)."""
    state = f"ot=th:{_threshold(traced_share(results))}"
    by_node: dict[str, list[dict[str, Any]]] = {}
    for t in results.traces:
        trace_id = f"{results.seed & 0xFFFFFFFF:08x}{t.request_id:024x}"
        for i, sp in enumerate(t.spans):
            node = scenario.nodes.get(sp.node)
            queue_like = node is not None and kind_of(node).asynchronous
            span: dict[str, Any] = {
                "traceId": trace_id,
                "spanId": f"{t.request_id & 0xFFFFFFFF:08x}{i + 1:08x}",
                "name": sp.node,
                "kind": _CONSUMER if queue_like else _SERVER,
                "startTimeUnixNano": _ns(t.start_s + sp.arrive_ms / 1000),
                "endTimeUnixNano": _ns(t.start_s + sp.end_ms / 1000),
                "attributes": [
                    {"key": "sandbox.replica", "value": {"intValue": str(sp.replica)}},
                    {"key": "sandbox.queue_wait_ns", "value": {"intValue": str(round((sp.start_ms - sp.arrive_ms) * 1e6))}},
                    {"key": "sandbox.outcome", "value": {"stringValue": sp.outcome}},
                ],
                "status": {"code": _OK if sp.outcome == "ok" else _ERROR},
            }
            if t.request_class is not None:
                span["attributes"].append({"key": "sandbox.class", "value": {"stringValue": t.request_class}})
            if sp.parent is not None:
                span["parentSpanId"] = f"{t.request_id & 0xFFFFFFFF:08x}{sp.parent + 1:08x}"
            else:
                span["traceState"] = state
            by_node.setdefault(sp.node, []).append(span)
    resources = []
    for name in sorted(by_node):
        node = scenario.nodes.get(name)
        attrs = [{"key": "service.name", "value": {"stringValue": name}}]
        if node is not None:
            attrs.append({"key": "sandbox.kind", "value": {"stringValue": kind_of(node).name}})
        resources.append({"resource": {"attributes": attrs},
                          "scopeSpans": [{"scope": {"name": "sandbox", "version": "1"}, "spans": by_node[name]}]})
    return {"resourceSpans": resources}


def otlp_json(results: Results, scenario: Scenario) -> str:
    """:func:`to_otlp` as one line of JSON, as the Collector's file exporter writes each batch."""
    return json.dumps(to_otlp(results, scenario), separators=(",", ":"), allow_nan=False) + "\n"
