"""Summaries: turn a finished run's streamed statistics into :class:`~sandbox.results.Results`.

Reads the compiled components and the run's bookkeeping once, after SimPy has
stopped: percentiles from the histograms, utilization and queue length from the
time integrals, per-edge resilience counters, cost, the bottleneck sentence and
the comparison with theory.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from .analysis import Analysis, analyse
from .components import Component, Span as SpanRecord, Spans
from .diagnosis import class_sentence, compare_with_theory, find_bottleneck, pipeline_sentence, shard_sentence
from .graph import offered_rps
from .kinds import kind_of
from .recorder import RunRecorder
from .results import Cause, ClassResult, EdgeResult, ErrorBudget, EngineInfo, Latency, NodeResult, Requests, Results, Span, Trace
from .placement_results import outage_sentence, placement_figures
from .scenario import Scenario
from .stats import LogHistogram
from .workload import Workload

__all__ = ["summarise"]


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _summary(h: LogHistogram, *stats: str) -> dict[str, float]:
    qs = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}
    values = h.quantiles([qs[s] for s in stats if s in qs])
    out, k = {}, 0
    for s in stats:
        if s == "mean":
            out[s] = _ms(h.mean)
        elif s == "max":
            out[s] = _ms(h.high)
        else:
            out[s] = _ms(values[k])
            k += 1
    return out


def _peak(t_s: list[float], values: list[float], width: int) -> tuple[float, float]:
    """The highest mean of `width` consecutive points, and the time of the last of them."""
    if len(values) < width:
        return (sum(values) / len(values), t_s[-1]) if values else (0.0, 0.0)
    best, at = -1.0, 0.0
    window = sum(values[:width])
    for k in range(width, len(values) + 1):
        if k > width:
            window += values[k - 1] - values[k - 1 - width]
        if window / width > best + 1e-12:
            best, at = window / width, t_s[k - 1]
    return best, at


def _node_result(name: str, c: Component, measured_s: float, mark: tuple[float, float, float, float],
                 end: float, price_per_hour: float) -> NodeResult:
    st = c.stats
    areas = st.areas_at(end)
    busy, queue, cap_area, replica_area = (x - m for x, m in zip(areas, mark))
    cap = c.capacity()
    util = busy / cap_area if cap_area > 0 else 0.0
    replicas_mean = replica_area / measured_s
    held = st.response.total - st.wait.total  # time workers were held, measured calls
    # a queue's consumers do nothing but call downstream; a station also serves itself
    downstream = held - st.own_work.total if c.serves_itself else held
    in_node = (busy + queue) / measured_s if cap else st.response.total / measured_s
    pts = st.series
    series = {"t_s": [p.t_s for p in pts], "throughput_rps": [p.completed / p.width_s for p in pts],
              "p99_ms": [_ms(p.p99_s) for p in pts], "queue_mean": [p.queue_area / p.width_s for p in pts],
              "utilization": [p.busy_area / p.capacity_area if p.capacity_area > 0 else 0.0 for p in pts],
              "replicas": [p.replica_area / p.width_s for p in pts]}
    if c.key_series is not None:   # a keyed cache: its hit ratio per window (a cold start, a flush)
        series["hit_ratio"] = [hits / reads if reads else 0.0 for hits, reads in c.key_series]
    peak, peak_at = _peak(series["t_s"], series["utilization"], 5)
    return NodeResult(
        name=name, kind=c.kind, replicas=c.replica_count(), capacity=cap,
        peak_utilization=peak, peak_at_s=peak_at,
        arrived=st.arrived, completed=st.completed, rejected=st.rejected, failed=st.failed,
        utilization=util, throughput_rps=st.completed / measured_s,
        wait_ms=_summary(st.wait, "mean", "p95", "p99"),
        service_ms=_summary(st.own_work, "mean", "p99"),
        response_ms=_summary(st.response, "mean", "p95", "p99"),
        queue_length={"mean": queue / measured_s, "max": float(st.max_queue)},
        in_node_mean=in_node,
        downstream_share=min(1.0, max(0.0, downstream / held)) if held > 0 else 0.0,
        replicas_mean=replicas_mean, cost_per_hour=price_per_hour * replicas_mean,
        series=series)


def _node_classes(c: Component, names: tuple[str, ...]) -> dict[str, dict[str, object]]:
    """Per class at one node: its counts and its wait for a worker."""
    if c.class_stats is None:
        return {}
    return {name: {"arrived": cs.arrived, "completed": cs.completed, "rejected": cs.rejected, "failed": cs.failed,
                   "wait_ms": _summary(cs.wait, "mean", "p99")}
            for name, cs in zip(names, c.class_stats)}


def _class_results(scenario: Scenario, run: RunRecorder, measured_s: float) -> dict[str, ClassResult]:
    """Each class end to end: requests, latency, causes, error budget, and its windows."""
    mix, records = run.mix, run.classes
    if mix is None or records is None:
        return {}
    out = {}
    for k, (name, rec) in enumerate(zip(mix.names, records)):
        target = mix.targets[k]
        arrived = rec.arrived
        bad = rec.bad  # requests still in flight at the end are neither good nor bad
        bad_share = bad / rec.finished if rec.finished else 0.0
        allowed = (1 - target) * arrived if target is not None else None
        exhausted = None
        if allowed is not None:
            total = 0
            for p in rec.series:
                total += p.bad
                if total > allowed:
                    exhausted = p.t_s
                    break
        pts = rec.series
        series: dict[str, list[float]] = {
            "t_s": [p.t_s for p in pts], "throughput_rps": [p.completed / p.width_s for p in pts],
            "p99_ms": [_ms(p.p99_s) for p in pts],
            "bad": [float(p.bad) for p in pts], "bad_share": [p.bad / p.finished if p.finished else 0.0 for p in pts]}
        if target is not None:
            series["burn_rate"] = [share / (1 - target) for share in series["bad_share"]]
        causes = sorted((Cause(f.status, f.node, f.reason, n, n / max(1, arrived)) for f, n in rec.causes.items()),
                        key=lambda c: (-c.count, c.status, c.node, c.reason))
        slo = mix.slo_s[k]
        out[name] = ClassResult(
            name=name, share=mix.shares[k], priority=mix.priorities[k], slo_ms=_ms(slo) if slo else None,
            requests=Requests(arrived, rec.completed, rec.rejected, rec.failed, arrived - rec.finished),
            throughput_rps=rec.completed / measured_s, goodput=rec.good / arrived if arrived else 0.0,
            latency_ms=Latency(**_summary(rec.latency, "mean", "p50", "p90", "p95", "p99", "p999", "max")),
            causes=causes,
            error_budget=ErrorBudget(target, bad, bad_share, allowed,
                                     bad_share / (1 - target) if target is not None else None, exhausted),
            series=series)
    return out


def _edge_results(scenario: Scenario, comps: dict[str, Component], run: RunRecorder, start: float,
                  end: float) -> list[EdgeResult]:
    """Calls and attempts per edge; resilience figures where the edge has a policy."""
    by_index = {e.index: e for c in comps.values() for e in c.edges}
    out = []
    for i, spec in enumerate(scenario.edges):
        e = by_index[i]
        p = e.policy
        if p is None:
            out.append(EdgeResult(spec.source, spec.target, i, e.calls, e.calls, 1.0 if e.calls else 0.0,
                                  0, 0, {}, 0, 0.0, 0, 0, 0, 0, 0.0, [], {}))
            continue
        k = p.counters
        b = p.breaker
        points = run.edge_series.get(i, [])
        transitions = [[t, state] for t, state in b.transitions[:200]] if b else []
        out.append(EdgeResult(
            spec.source, spec.target, i, e.calls, k.attempts, (k.attempts + k.hedges) / e.calls if e.calls else 0.0,
            k.successes, k.retries, dict(sorted(k.by_cause.items())), k.wasted_calls, _ms(k.wasted_s),
            k.hedges, k.hedge_wins, k.short_circuited, b.times_opened if b else 0,
            b.open_seconds(start, end) if b else 0.0, transitions,
            {"t_s": [q.t_s for q in points], "attempts_per_s": [q.attempts / q.width_s for q in points],
             "breaker": [q.state for q in points]}))
    return out


def _in_call_order(spans: list[SpanRecord]) -> list[SpanRecord]:
    """Spans by arrival; a caller (recorded after its callees) before the calls it made."""
    order = sorted(range(len(spans)), key=lambda k: (spans[k].arrive_s, -spans[k].end_s, -k))
    return [spans[k] for k in order]


def _trace_spans(spans: Spans | None, t0: float) -> list[Span]:
    """A traced request's spans in call order, each pointing at its caller's place in the list."""
    if not spans:
        return []
    ordered = _in_call_order(spans)
    place = {s.sid: i for i, s in enumerate(ordered)}
    out = []
    for s in ordered:
        up = spans.parent_of[s.sid]
        out.append(Span(s.node, s.replica, _ms(s.arrive_s - t0), _ms(s.start_s - t0), _ms(s.end_s - t0),
                        s.outcome, place.get(up) if up >= 0 else None))
    return out


def summarise(scenario: Scenario, seed: int, run: RunRecorder, comps: dict[str, Component],
              engine: EngineInfo) -> Results:
    """The :class:`Results` of a finished run, from its components and its record."""
    w = scenario.workload
    measured_s = w.duration_s - w.warmup_s
    end = w.duration_s
    nodes = {n: _node_result(n, c, measured_s, run.marks.get(n, (0.0, 0.0, 0.0, 0.0)), end, _price(scenario, n))
             for n, c in comps.items()}
    for n, c in comps.items():
        figures = c.key_figures(measured_s)
        node = scenario.nodes[n]
        offered = functools.partial(offered_rps, scenario, n)
        if figures:
            nodes[n] = replace(nodes[n], keyed=figures | kind_of(node).predicted_figures(scenario, node, offered))
        rollout = c.rollout_figures(measured_s)
        if rollout:
            nodes[n] = replace(nodes[n], rollout=rollout)
        flows = c.pipeline_figures(measured_s)
        if flows:
            nodes[n] = replace(nodes[n], pipeline=_merged(flows, kind_of(node).predicted_figures(scenario, node, offered)))
    classes = _class_results(scenario, run, measured_s)
    if classes:
        names = tuple(classes)
        nodes = {n: replace(r, classes=_node_classes(comps[n], names)) for n, r in nodes.items()}
    edges = _edge_results(scenario, comps, run, w.warmup_s, end)
    cost_per_hour = sum(n.cost_per_hour for n in nodes.values())
    spent = cost_per_hour * measured_s / 3600.0
    lat = _summary(run.latency, "mean", "p50", "p90", "p95", "p99", "p999", "max")
    in_flight = run.arrived - run.finished
    requests = Requests(run.arrived, run.completed, run.rejected, run.failed, in_flight)
    causes = sorted((Cause(f.status, f.node, f.reason, n, n / max(1, run.arrived)) for f, n in run.causes.items()),
                    key=lambda c: (-c.count, c.status, c.node, c.reason))
    analysis = analyse(scenario)
    callers: dict[str, list[str]] = {}
    for e in scenario.edges:
        callers.setdefault(e.target, []).append(e.source)
    wasted: dict[str, int] = {}
    for er in edges:
        wasted[er.target] = wasted.get(er.target, 0) + er.wasted_calls
    shed = {f.node: n for f, n in run.causes.items() if f.cause == "shed"}
    bottleneck = find_bottleneck(nodes, lat["mean"], run.arrived, callers, wasted, shed)
    hot = next((s for s in (shard_sentence(n) for n in nodes.values()) if s), "")
    behind = "; ".join(s for s in (pipeline_sentence(n) for n in nodes.values()) if s)
    if behind:
        hot = f"{hot}. {behind[:1].upper()}{behind[1:]}" if hot else behind
    placement = placement_figures(scenario, run.zones, comps, run.by_second or [], run.arrived, run.completed) \
        if run.zones is not None else {}
    outage = outage_sentence(placement, run.arrived) if placement else ""
    if outage:
        hot = f"{hot}. {outage[:1].upper()}{outage[1:]}" if hot else outage
    if hot:
        why = bottleneck.why.rstrip()
        bottleneck = replace(bottleneck, why=f"{why}{'' if why.endswith('.') else '.'} {hot[:1].upper()}{hot[1:]}.")
    if classes:
        why = bottleneck.why.rstrip()
        bottleneck = replace(bottleneck, why=f"{why}{'' if why.endswith('.') else '.'} {class_sentence(classes)}")
    traces = [Trace(r.id, r.t0, "completed" if f is None else f.status, _ms(latency), _trace_spans(r.spans, r.t0),
                    run.mix.names[r.cls] if run.mix else None)
              for r, f, latency in run.traces]
    pts = run.series
    series = {"t_s": [p.t_s for p in pts], "throughput_rps": [p.completed / p.width_s for p in pts],
              "p50_ms": [_ms(p.p50_s) for p in pts], "p90_ms": [_ms(p.p90_s) for p in pts],
              "p99_ms": [_ms(p.p99_s) for p in pts], "arrivals": [p.arrivals / p.width_s for p in pts]}
    return Results(
        scenario=scenario.name, seed=seed, duration_s=w.duration_s, measured_s=measured_s,
        requests=requests, throughput_rps=run.completed / measured_s,
        goodput=run.good / run.arrived if run.arrived else 0.0, slo_ms=w.slo_ms,
        latency_ms=Latency(**lat),
        latency_histogram=[(_ms(lo), _ms(hi), n) for lo, hi, n in run.latency.buckets()],
        nodes=nodes, causes=causes, bottleneck=bottleneck, series=series, traces=traces,
        edges=edges, cost_per_hour=cost_per_hour,
        cost_per_million=spent / run.completed * 1e6 if run.completed else None,
        analysis=analysis, theory=compare_with_theory(nodes, analysis, _theory_context(w, analysis)), engine=engine,
        classes=classes,
        placement=placement)


def _merged(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """`a` with `b`'s entries added, mappings merged key by key (a group's figures beside theory's)."""
    out = dict(a)
    for k, v in b.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _price(scenario: Scenario, node: str) -> float:
    """Dollars per replica-hour: the node's own cost_per_hour or its kind's default."""
    n = scenario.nodes[node]
    return n.cost_per_hour if n.cost_per_hour is not None else kind_of(n).price


def _theory_context(w: Workload, analysis: Analysis) -> str:
    """What the steady-state analysis leaves out of this workload."""
    if w.users is not None and analysis.latency_accuracy != "exact":
        return ("closed loop: the analysis approximates it (a worker held across a call is not product form), "
                "and at most `users` requests are in the system")
    if w.profile is not None:
        return f"the load varies ({w.profile.shape}); theory uses its mean rate, queues build at its peak"
    return ""
