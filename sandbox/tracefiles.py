"""Trace files: OpenTelemetry (OTLP JSON) and Jaeger JSON exports read into calls between services.

A distributed trace is a tree of spans; what the sandbox models is coarser: a
*hop* is one call into a service (the span where the service took the call,
and everything it did inside before answering). :func:`read_traces` reads a
file and returns its hops, each knowing the hop that called it, when it ran,
whether it failed, and the spans of its own outgoing calls (the time the
service spent waiting for others, which is not its own work).

Formats:

- **OTLP JSON**, as the OpenTelemetry Collector's file exporter writes it (one
  ``{"resourceSpans": [...]}`` object per line) or as one such object: field
  names in either spelling (``startTimeUnixNano`` or ``start_time_unix_nano``),
  enums by name or number, 64-bit integers as strings or numbers, ids in hex.
  It is read directly rather than through ``opentelemetry-proto``'s JSON
  parser (pure Python: 4.5 s to parse 70,000 spans, where this whole reader
  takes 1.7 s); the tests check the sandbox's own export against those
  definitions.
- **Jaeger JSON**, as the Jaeger UI's *Download JSON* writes it
  (``{"data": [{"traceID", "spans", "processes"}]}``).

How spans become hops: a span whose parent is missing or belongs to another
service begins a hop of its own service. Inside a hop, spans of kind CLIENT
(or a direct child in another service) are calls that the hop waited for;
PRODUCER and CONSUMER spans, and Jaeger's ``FOLLOWS_FROM`` references, are
asynchronous: the caller did not wait for them. The probability-sampling
threshold OpenTelemetry writes in ``tracestate`` (``ot=th:...``) gives the
share of requests the file kept.

>>> import json
>>> doc = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
...        "scopeSpans": [{"spans": [{"traceId": "01" * 16, "spanId": "02" * 8, "name": "GET /",
...        "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": "1000000000", "endTimeUnixNano": "1005000000"}]}]}]}
>>> hops = read_traces_text(json.dumps(doc), "t.json").hops
>>> hops[0].service, hops[0].duration_ms
('api', 5.0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import ScenarioError
from .yamlio import read_text

__all__ = ["Hop", "TraceSet", "read_traces", "read_traces_text", "MAX_TRACE_BYTES", "sampling_of_tracestate"]

MAX_TRACE_BYTES = 200_000_000   # a trace file larger than this is refused before it is read

_CLIENT, _PRODUCER, _CONSUMER = "client", "producer", "consumer"
_OTLP_KINDS = {0: "", 1: "internal", 2: "server", 3: _CLIENT, 4: _PRODUCER, 5: _CONSUMER}


@dataclass
class Hop:
    """One call into a service, from a trace: its span's times (ns), its caller and its own outgoing calls."""
    trace: str
    service: str
    start_ns: int
    end_ns: int
    error: bool
    parent: int | None = None           # index of the calling hop in TraceSet.hops (None: a root)
    asynchronous: bool = False          # the caller did not wait for it (a message, a FOLLOWS_FROM)
    waits: list[tuple[int, int]] = field(default_factory=list)   # (start, end) ns of the calls it waited for
    queue_wait_ns: int | None = None    # the time it queued before a worker took it, when the trace says
    calls: list[int] = field(default_factory=list)               # indexes of the hops it called

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    def self_ms(self) -> float:
        """Its own time: the span's duration less the time spent waiting for the calls it waited for."""
        lo, hi = self.start_ns, self.end_ns
        covered, reach = 0, lo
        for a, b in sorted(self.waits):
            a, b = max(a, reach, lo), min(b, hi)
            if b > a:
                covered += b - a
                reach = b
        return max(0, hi - lo - covered) / 1e6


@dataclass(frozen=True)
class TraceSet:
    """What a trace file holds: hops in file order, how many traces, and the sampling it declares."""
    source: str
    hops: list[Hop]
    traces: int
    sampling: float | None    # share of requests kept, from ot=th in tracestate (None: not said)

    def roots(self) -> list[Hop]:
        return [h for h in self.hops if h.parent is None]


@dataclass
class _Span:
    trace: str
    span: str
    parent: str
    service: str
    kind: str
    start_ns: int
    end_ns: int
    error: bool
    follows: bool = False
    tracestate: str = ""
    queue_wait_ns: int | None = None


def read_traces(path: str | Path) -> TraceSet:
    """Read an OTLP JSON (or JSON lines) or Jaeger JSON trace file; ScenarioError names what is wrong."""
    source = str(path)
    try:
        text = read_text(path, limit=MAX_TRACE_BYTES)
    except ScenarioError as exc:   # its message says "a design file"; this is a trace file
        reasons = [(where, why.replace("a design file", "a trace file").replace("a scenario file", "a trace file")
                    .replace("give a YAML file", "give a trace file")) for where, why in exc.problems]
        raise ScenarioError(source, reasons) from None
    return read_traces_text(text, source)


def read_traces_text(text: str, source: str = "<traces>") -> TraceSet:
    """Trace file text (OTLP JSON, OTLP JSON lines, or Jaeger JSON) as a :class:`TraceSet`."""
    docs = list(_json_documents(text, source))
    spans: list[_Span] = []
    for where, doc in docs:
        if isinstance(doc, dict) and "data" in doc and "resourceSpans" not in doc:
            spans.extend(_jaeger_spans(doc, source, where))
        elif isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc):
            spans.extend(_otlp_spans(doc, source, where))
        else:
            raise ScenarioError(source, [(where, "is neither OTLP JSON (an object with resourceSpans) nor Jaeger "
                                                 "JSON (an object with data)")])
    if not spans:
        raise ScenarioError(source, [("", "holds no spans")])
    return _hops(spans, source)


def _json_documents(text: str, source: str) -> Iterator[tuple[str, Any]]:
    """One JSON document, or one per line (the collector's file exporter writes JSON lines)."""
    stripped = text.strip()
    if not stripped:
        raise ScenarioError(source, [("", "is empty")])
    try:
        yield "", json.loads(stripped)
        return
    except json.JSONDecodeError as whole:
        if "\n" not in stripped:
            raise ScenarioError(source, [("", f"is not JSON: {whole.msg} at line {whole.lineno} column "
                                              f"{whole.colno}")]) from None
    for i, line in enumerate(stripped.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"line {i}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScenarioError(source, [(f"line {i}", f"is not JSON: {exc.msg} at column {exc.colno}")]) from None


_KIND_NAMES = {"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
               "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}
_STATUS_ERROR = (2, "STATUS_CODE_ERROR")


def _field(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """A field by its OTLP JSON name (lowerCamelCase) or its proto name (snake_case): both are valid."""
    return obj[camel] if camel in obj else obj.get(snake)


def _list(obj: dict[str, Any], camel: str, snake: str, where: str, source: str) -> list[Any]:
    value = _field(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScenarioError(source, [(f"{where}.{camel}", f"must be a list, not {type(value).__name__}")])
    return value


def _nanos(sp: dict[str, Any], camel: str, snake: str, at: str, source: str) -> int:
    value = _field(sp, camel, snake)
    try:   # 64-bit integers are strings in OTLP JSON; numbers are accepted too
        if isinstance(value, bool):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise ScenarioError(source, [(f"{at}.{camel}", f"must be an integer of nanoseconds, got {value!r}")]) from None


def _attributes(obj: dict[str, Any]) -> dict[str, Any]:
    """key -> the value inside its AnyValue ({"stringValue": "x"} -> "x")."""
    out = {}
    for a in obj.get("attributes") or []:
        if isinstance(a, dict) and isinstance(a.get("key"), str) and isinstance(a.get("value"), dict):
            v = a["value"]
            out[a["key"]] = next(iter(v.values()), None) if v else None
    return out


def _otlp_spans(doc: dict[str, Any], source: str, where: str) -> Iterator[_Span]:
    """The spans of one ExportTraceServiceRequest in OTLP JSON, read directly (see the module docstring)."""
    pre = f"{where}: " if where else ""
    for r, rs in enumerate(_list(doc, "resourceSpans", "resource_spans", pre.rstrip(": ") or "file", source)):
        at_r = f"{pre}resourceSpans[{r}]"
        if not isinstance(rs, dict):
            raise ScenarioError(source, [(at_r, "must be an object")])
        resource = rs.get("resource") or {}
        service = _attributes(resource).get("service.name") if isinstance(resource, dict) else None
        for s, ss in enumerate(_list(rs, "scopeSpans", "scope_spans", at_r, source)):
            at_s = f"{at_r}.scopeSpans[{s}]"
            if not isinstance(ss, dict):
                raise ScenarioError(source, [(at_s, "must be an object")])
            for k, sp in enumerate(_list(ss, "spans", "spans", at_s, source)):
                at = f"{at_s}.spans[{k}]"
                if not isinstance(sp, dict):
                    raise ScenarioError(source, [(at, "must be an object")])
                if not isinstance(service, str) or not service:
                    raise ScenarioError(source, [(f"{at_r}.resource", "has no service.name attribute, so its "
                                                                      "spans belong to no service")])
                span_id = _field(sp, "spanId", "span_id")
                trace_id = _field(sp, "traceId", "trace_id")
                if not isinstance(span_id, str) or not span_id:
                    raise ScenarioError(source, [(at, "has no spanId")])
                if not isinstance(trace_id, str) or not trace_id:
                    raise ScenarioError(source, [(at, "has no traceId")])
                start = _nanos(sp, "startTimeUnixNano", "start_time_unix_nano", at, source)
                end = _nanos(sp, "endTimeUnixNano", "end_time_unix_nano", at, source)
                if end < start:
                    raise ScenarioError(source, [(at, "ends before it starts")])
                kind = sp.get("kind", 0)
                kind = _KIND_NAMES.get(kind, 0) if isinstance(kind, str) else kind
                status = sp.get("status") or {}
                code = status.get("code") if isinstance(status, dict) else None
                parent = _field(sp, "parentSpanId", "parent_span_id") or ""
                wait = _attributes(sp).get("sandbox.queue_wait_ns")
                try:
                    queue_wait = int(wait) if wait is not None else None
                except (TypeError, ValueError):
                    queue_wait = None
                yield _Span(trace_id.lower(), span_id.lower(), str(parent).lower(), service,
                            _OTLP_KINDS.get(kind, "") if isinstance(kind, int) else "", start, end,
                            code in _STATUS_ERROR, tracestate=str(_field(sp, "traceState", "trace_state") or ""),
                            queue_wait_ns=queue_wait)


def _jaeger_spans(doc: dict[str, Any], source: str, where: str) -> Iterator[_Span]:
    data = doc.get("data")
    pre = f"{where}: " if where else ""
    if not isinstance(data, list):
        raise ScenarioError(source, [(f"{pre}data", "must be a list of traces (Jaeger JSON)")])
    for t, trace in enumerate(data):
        if not isinstance(trace, dict):
            raise ScenarioError(source, [(f"{pre}data[{t}]", "must be a trace object")])
        processes = trace.get("processes") or {}
        for k, sp in enumerate(trace.get("spans") or []):
            at = f"{pre}data[{t}].spans[{k}]"
            if not isinstance(sp, dict):
                raise ScenarioError(source, [(at, "must be a span object")])
            proc = processes.get(sp.get("processID")) if isinstance(processes, dict) else None
            service = (proc or {}).get("serviceName") if isinstance(proc, dict) else None
            if not service:
                raise ScenarioError(source, [(at, "has no service name (its processID names no process with a "
                                                  "serviceName)")])
            try:
                start = int(sp["startTime"]) * 1000          # Jaeger writes microseconds
                end = start + int(sp["duration"]) * 1000
                span_id = str(sp["spanID"])
                trace_id = str(sp.get("traceID") or trace.get("traceID") or "")
            except (KeyError, TypeError, ValueError) as exc:
                raise ScenarioError(source, [(at, f"needs spanID, startTime and duration ({exc} is missing or "
                                                  "not a number)")]) from None
            refs = [r for r in sp.get("references") or [] if isinstance(r, dict)]
            parent = next((str(r.get("spanID")) for r in refs if r.get("refType") == "CHILD_OF"), "")
            follows = False
            if not parent:
                parent = next((str(r.get("spanID")) for r in refs if r.get("refType") == "FOLLOWS_FROM"), "")
                follows = bool(parent)
            tags = {str(g.get("key")): g.get("value") for g in sp.get("tags") or [] if isinstance(g, dict)}
            error = tags.get("error") in (True, "true") or str(tags.get("otel.status_code", "")).upper() == "ERROR"
            yield _Span(trace_id, span_id, parent, str(service), str(tags.get("span.kind") or "").lower(),
                        start, end, error, follows=follows)


def _hops(spans: list[_Span], source: str) -> TraceSet:
    """Spans grouped into hops: a span starts a hop when its caller is missing, in another service, or did not
    wait for it (asynchronous)."""
    by_id: dict[tuple[str, str], _Span] = {}
    for s in spans:
        if (s.trace, s.span) in by_id:
            raise ScenarioError(source, [("", f"trace {s.trace} has two spans with id {s.span}")])
        by_id[(s.trace, s.span)] = s

    def caller(s: _Span) -> _Span | None:
        return by_id.get((s.trace, s.parent)) if s.parent else None

    def starts_hop(s: _Span, up: _Span | None) -> bool:
        return up is None or up.service != s.service or s.follows or s.kind == _CONSUMER

    top_of: dict[tuple[str, str], _Span] = {}
    for s in spans:
        path, cur = [], s
        while (cur.trace, cur.span) not in top_of:
            path.append(cur)
            up = caller(cur)
            if starts_hop(cur, up):
                top_of[(cur.trace, cur.span)] = cur
                break
            assert up is not None
            cur = up
            if len(path) > len(spans):
                raise ScenarioError(source, [("", f"trace {s.trace}: its spans' parents form a cycle")])
        top = top_of[(cur.trace, cur.span)]
        for c in path:
            top_of[(c.trace, c.span)] = top

    tops = sorted({id(t): t for t in top_of.values()}.values(), key=lambda t: (t.trace, t.start_ns, t.span))
    index = {(t.trace, t.span): i for i, t in enumerate(tops)}
    hops = [Hop(t.trace, t.service, t.start_ns, t.end_ns, t.error, queue_wait_ns=t.queue_wait_ns) for t in tops]
    for i, t in enumerate(tops):
        up = caller(t)
        if up is None:
            continue
        # the caller did not wait: a message consumed later, a FOLLOWS_FROM reference, a producer's send
        hops[i].asynchronous = t.follows or t.kind == _CONSUMER or up.kind == _PRODUCER
        home = top_of[(up.trace, up.span)]
        parent = index[(home.trace, home.span)]
        hops[i].parent = parent
        hops[parent].calls.append(i)
        if not hops[i].asynchronous and up.kind not in (_CLIENT, _PRODUCER):
            hops[parent].waits.append((t.start_ns, t.end_ns))   # called directly: waited for its whole span
    for s in spans:   # a CLIENT span is time its service waited, whether or not the callee is in the file
        if s.kind == _CLIENT:
            top = top_of[(s.trace, s.span)]
            hops[index[(top.trace, top.span)]].waits.append((s.start_ns, s.end_ns))
    return TraceSet(source, hops, len({s.trace for s in spans}), _sampling(spans))


def sampling_of_tracestate(tracestate: str) -> float | None:
    """The share of requests kept, from OpenTelemetry's ``ot=th:T`` (T: up to 14 hex digits of the rejection
    threshold; the kept share is 1 - T/2^56).

    >>> sampling_of_tracestate("ot=th:8"), sampling_of_tracestate("ot=th:0"), sampling_of_tracestate("vendor=1")
    (0.5, 1.0, None)
    """
    for member in tracestate.split(","):
        key, _, value = member.strip().partition("=")
        if key != "ot":
            continue
        for part in value.split(";"):
            name, _, th = part.partition(":")
            if name == "th" and th and len(th) <= 14:
                try:
                    threshold = int(th.ljust(14, "0"), 16)
                except ValueError:
                    return None
                return 1.0 - threshold / 2 ** 56
    return None


def _sampling(spans: list[_Span]) -> float | None:
    """The sampling the root spans declare (the most common one, when they differ)."""
    found: dict[float, int] = {}
    for s in spans:
        if not s.parent and s.tracestate:
            p = sampling_of_tracestate(s.tracestate)
            if p is not None:
                found[p] = found.get(p, 0) + 1
    return max(found, key=lambda p: found[p]) if found else None
