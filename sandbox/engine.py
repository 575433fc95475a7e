"""The engine: compile a scenario into components, run it on SimPy, summarise the results.

``simulate(scenario, seed)`` is the one entry point. It builds plain runtime
objects from the validated scenario (no networkx or pydantic on the hot path),
starts the workload, runs SimPy to ``duration_s``, and turns the streamed
statistics into :class:`~sandbox.results.Results`. The same scenario and seed
give the same results, byte for byte, apart from ``engine`` (wall time).

>>> from sandbox.scenario import loads
>>> r = simulate(loads('''
... name: mm1
... workload: {entry: s, rate_rps: 50, duration_s: 200}
... nodes: {s: {kind: service, service_time: {dist: exponential, mean_ms: 10}}}
... '''), seed=1)
>>> r.requests.arrived == r.requests.completed + r.requests.rejected + r.requests.failed + r.requests.in_flight
True
>>> 0.4 < r.nodes["s"].utilization < 0.6
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Generator

from simpy import Environment, Timeout

from .analysis import analyse, consumers as queue_consumers
from .components import (Cache, Component, Failure, LoadBalancer, MessageQueue, OutEdge, Policy, RateLimiter,
                         Request, Station)
from .components.autoscaler import autoscale
from .components.faults import schedule_faults
from .components.load_balancer import make_picker
from .errors import SimulationError
from .randomness import Streams, service_sampler
from .results import (Bottleneck, Cause, EdgeResult, EngineInfo, Latency, NodeResult, Requests, Results, Span, Trace,
                      compare_with_theory, find_bottleneck)
from .scenario import DEFAULT_COST_PER_HOUR, Scenario, with_overrides
from .stats import MAX_POINTS, LogHistogram, merge_pairs, window_quantile
from .workload import closed_loop_user, open_arrivals

__all__ = ["simulate", "Limits", "compile_components"]

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Limits:
    """Per-run limits, so one run cannot stall a shared server."""
    max_requests: int | None = None   # requests allowed: refused up front by estimate, stopped when reached
    max_nodes: int | None = None
    max_wall_s: float | None = None


def compile_components(scenario: Scenario, env: Environment, streams: Streams) -> dict[str, Component]:
    """Plain runtime components for every node, with their outgoing calls wired."""
    comps: dict[str, Component] = {}
    for name, node in scenario.nodes.items():
        route = streams.sampler(f"node:{name}:route", "random")
        if node.kind == "load_balancer":
            comps[name] = LoadBalancer(env, name, node.policy, route)
        elif node.kind == "rate_limiter":
            comps[name] = RateLimiter(env, name, node.rate_rps, node.burst, route)
        elif node.kind == "queue":
            comps[name] = MessageQueue(env, name, node.capacity, route)
        else:
            kw = dict(replicas=node.replicas, workers=node.workers, queue_limit=node.queue_limit,
                      service=service_sampler(streams, f"node:{name}:service", node.service_time),
                      route=route, parallel=node.parallel, error_rate=node.error_rate,
                      errors=streams.sampler(f"node:{name}:errors", "random"))
            if node.kind == "cache":
                station = Cache(env, name, node.hit_ratio, streams.sampler(f"node:{name}:hit", "random"), **kw)
            else:
                station = Station(env, name, node.kind, **kw)
            comps[name] = station
            if node.failures:
                schedule_faults(env, station, node.failures)
            if getattr(node, "autoscale", None) is not None:
                env.process(autoscale(env, station, node.autoscale))
    for name, comp in comps.items():
        edges = []
        for i, e in enumerate(scenario.edges):
            if e.source != name:
                continue
            target = comps[e.target]
            if isinstance(comp, LoadBalancer):
                pick = make_picker(comp.policy, target, streams.sampler(f"node:{name}:pick:{e.target}", "random"))
            else:
                pick = target.next_replica
            out = OutEdge(target, pick, e.probability, e.latency_ms / 1000.0, e.when, i)
            if e.resilient:
                out.policy = Policy(env, out, e, streams.sampler(f"edge:{i}:{e.source}->{e.target}:jitter", "random"))
            edges.append(out)
        if isinstance(comp, Cache):
            comp.set_edges(edges)
        else:
            comp.edges = edges
    for name, count in queue_consumers(scenario).items():
        comps[name].start(count)
    return comps


class _Run:
    """End-to-end bookkeeping for one run: requests, latency, causes, traces."""

    def __init__(self, env: Environment, scenario: Scenario, entry: Component, max_traces: int) -> None:
        w = scenario.workload
        self.env = env
        self.entry = entry
        self.entry_pick = entry.next_replica
        self.warmup = w.warmup_s
        self.slo_s = w.slo_ms / 1000.0 if w.slo_ms else None
        self.ids = 0
        self.max_requests: float = math.inf  # Limits.max_requests, enforced as requests are made
        self.arrived = self.completed = self.rejected = self.failed = self.finished = self.good = 0
        self.latency = LogHistogram()
        self.causes: dict[Failure, int] = {}
        self.traces: list[tuple[Request, Failure | None, float]] = []
        measured_s = w.duration_s - w.warmup_s
        expected = (w.rate_rps or 0) * measured_s or (w.users or 1) * measured_s / max(w.think_time_ms / 1000, 0.05)
        self.trace_every = max(1, int(expected // max(1, max_traces))) if max_traces else 0
        self.max_traces = max_traces
        self.window: dict[int, int] = {}
        self.window_arrivals = 0
        self.series: list[tuple] = []  # t_end, width, completed, p99, arrivals, p50, p90
        self.edge_series: dict[int, list[tuple[float, float, int, str]]] = {}  # t_end, width, attempts, state
        self.width = 1.0      # seconds per time-series point; doubles when a series gets long
        self.last_tick = 0.0
        self.policies: list[tuple[OutEdge, Policy]] = []
        self.last_attempts: dict[int, int] = {}
        self._mark_completed = 0

    def new_request(self, now: float) -> Request:
        self.ids += 1
        if self.ids > self.max_requests:
            raise SimulationError(f"the run reached this server's limit of {self.max_requests:,} requests at "
                                  f"{now:.1f} simulated s (lower the rate, the users or the duration)")
        measured = now >= self.warmup
        spans = None
        if measured:
            self.arrived += 1
            self.window_arrivals += 1
            if self.trace_every and self.arrived % self.trace_every == 1 % self.trace_every \
                    and len(self.traces) < self.max_traces:
                spans = []
        return Request(self.ids, now, measured, spans)

    def start(self, now: float) -> None:
        """An open arrival: one SimPy process per request."""
        self.env.process(self.visit(self.new_request(now)))

    def visit(self, request: Request) -> Generator:
        failure = yield from self.entry.serve(request, self.entry_pick())
        self.finish(request, failure)

    def visit_now(self, now: float) -> Generator:
        """A closed-loop user's request, run inside the user's own process."""
        return self.visit(self.new_request(now))

    def finish(self, request: Request, failure: Failure | None) -> None:
        if not request.measured:
            return
        self.finished += 1
        latency = self.env._now - request.t0
        if failure is None:
            self.completed += 1
            i = self.latency.add(latency)
            self.window[i] = self.window.get(i, 0) + 1
            if self.slo_s is None or latency <= self.slo_s:
                self.good += 1
        else:
            self.causes[failure] = self.causes.get(failure, 0) + 1
            if failure.status == "rejected":
                self.rejected += 1
            else:
                self.failed += 1
        if request.spans is not None:
            self.traces.append((request, failure, latency))

    def close_window(self, t_s: float, width_s: float) -> None:
        w, h = self.window, self.latency
        self.series.append((t_s, width_s, self.completed - self._mark_completed, window_quantile(w, 0.99, h),
                            self.window_arrivals, window_quantile(w, 0.50, h), window_quantile(w, 0.90, h)))
        self._mark_completed = self.completed
        self.window = {}
        self.window_arrivals = 0


def _policies(comps: dict[str, Component]) -> list[tuple[OutEdge, Policy]]:
    """Every resilient edge with its policy, in scenario order."""
    found = [(e, e.policy) for c in comps.values() for e in c.edges if e.policy is not None]
    return sorted(found, key=lambda pair: pair[0].index)


def _ticker(env: Environment, run: _Run, comps: dict[str, Component], warmup: float, end: float,
            marks: dict[str, tuple[float, float, float, float]]) -> Generator:
    """At warm-up, mark the time integrals; then close a 1-second window every second."""
    if warmup:
        yield Timeout(env, warmup)
    for name, c in comps.items():
        c.stats.mark(warmup)
        marks[name] = c.stats.areas_at(warmup)
    run.window, run.window_arrivals, run._mark_completed = {}, 0, run.completed
    run.policies = _policies(comps)
    run.last_attempts = {e.index: p.counters.attempts for e, p in run.policies}
    run.last_tick = t = warmup
    while t + run.width <= end + 1e-9:
        yield Timeout(env, run.width)
        t += run.width
        _close_windows(env._now, run, comps)


_STATE_RANK = {"closed": 0, "half_open": 1, "open": 2}


def _merge_run_points(a: tuple, b: tuple) -> tuple:
    """Two system points as one: counts add, p99 by the maximum, p50 and p90 weighted by completions."""
    n = a[2] + b[2]
    mix = (lambda x, y: (x * a[2] + y * b[2]) / n) if n else (lambda x, y: max(x, y))
    return (b[0], a[1] + b[1], n, max(a[3], b[3]), a[4] + b[4], mix(a[5], b[5]), mix(a[6], b[6]))


def _close_windows(now: float, run: _Run, comps: dict[str, Component]) -> None:
    """One point for every node, the system and every resilient edge; when the series
    reach MAX_POINTS, merge them pairwise and widen later windows to match."""
    width = now - run.last_tick
    run.last_tick = now
    for c in comps.values():
        c.stats.close_window(now, width)
    run.close_window(now, width)
    for e, p in run.policies:
        attempts = p.counters.attempts
        state = p.breaker.state if p.breaker is not None else "closed"
        run.edge_series.setdefault(e.index, []).append((now, width, attempts - run.last_attempts[e.index], state))
        run.last_attempts[e.index] = attempts
    if len(run.series) >= MAX_POINTS:
        for c in comps.values():
            c.stats.halve_series()
        run.series = merge_pairs(run.series, _merge_run_points)
        for i, points in run.edge_series.items():
            run.edge_series[i] = merge_pairs(points, lambda a, b: (
                b[0], a[1] + b[1], a[2] + b[2], max(a[3], b[3], key=_STATE_RANK.__getitem__)))
        run.width *= 2


def _close_last_window(env: Environment, run: _Run, comps: dict[str, Component]) -> None:
    """SimPy stops before events at the end time: close a window that ends exactly there."""
    if env.now - run.last_tick >= 1.0 - 1e-9:
        _close_windows(env.now, run, comps)


def simulate(scenario: Scenario, seed: int | None = None, *, rate_rps: float | None = None,
             duration_s: float | None = None, max_traces: int = 20, limits: Limits | None = None,
             progress: Progress | None = None) -> Results:
    """Run `scenario` once and return its :class:`Results`.

    `seed` defaults to the scenario's own ``seed`` (or 0). `rate_rps` and
    `duration_s` override the workload's. `progress` is called with the share
    of simulated time done (0 to 1), about a hundred times per run.
    """
    overrides = {}
    if rate_rps is not None:
        overrides["workload.rate_rps"] = rate_rps
    if duration_s is not None:
        overrides["workload.duration_s"] = duration_s
    if overrides:
        scenario = with_overrides(scenario, overrides)
    seed = seed if seed is not None else (scenario.seed or 0)
    _check_limits(scenario, limits)
    w = scenario.workload
    wall0 = time.perf_counter()
    env = Environment()
    streams = Streams(seed)
    comps = compile_components(scenario, env, streams)
    entry = comps[w.entry]
    run = _Run(env, scenario, entry, max_traces)
    if limits is not None and limits.max_requests is not None:
        run.max_requests = limits.max_requests
    if w.users is not None:
        for u in range(w.users):
            think = streams.sampler(f"user:{u}:think", "exponential", w.think_time_ms / 1000.0) \
                if w.think_time_ms else (lambda: 0.0)
            env.process(closed_loop_user(env, w, think, run.visit_now))
    else:
        env.process(open_arrivals(env, w, streams, run.start))
    marks: dict[str, tuple[float, float, float, float]] = {}
    env.process(_ticker(env, run, comps, w.warmup_s, w.duration_s, marks))
    _run_until(env, w.duration_s, limits, progress, wall0)
    _close_last_window(env, run, comps)
    wall = time.perf_counter() - wall0
    events = next(env._eid) if hasattr(env, "_eid") else 0
    return _summarise(scenario, seed, run, comps, marks, EngineInfo(wall, events))


def _check_limits(scenario: Scenario, limits: Limits | None) -> None:
    if limits is None:
        return
    w = scenario.workload
    if limits.max_nodes is not None and len(scenario.nodes) > limits.max_nodes:
        raise SimulationError(f"the design has {len(scenario.nodes)} nodes; this server allows {limits.max_nodes}")
    if limits.max_requests is not None:
        expected = w.peak_rate() * w.duration_s if w.users is None else \
            w.users * w.duration_s / max(w.think_time_ms / 1000.0, 0.001)
        if expected > limits.max_requests:
            raise SimulationError(f"the run would simulate about {expected:,.0f} requests; this server allows "
                                  f"{limits.max_requests:,} (lower the rate or the duration)")


def _run_until(env: Environment, end: float, limits: Limits | None, progress: Progress | None,
               wall0: float) -> None:
    """Run SimPy to `end`; a call chain too deep for Python becomes a SimulationError."""
    try:
        _run_chunks(env, end, limits, progress, wall0)
    except RecursionError:
        raise SimulationError(
            f"a request made more nested calls than Python allows (at {env.now:.3f} s): a cycle is taken "
            "too often (for example a -> b -> a with probability 0.99 makes ~100 passes on average and far "
            "more in its tail); lower the probability of an edge on the cycle") from None


def _run_chunks(env: Environment, end: float, limits: Limits | None, progress: Progress | None,
                wall0: float) -> None:
    max_wall = limits.max_wall_s if limits else None
    if progress is None and max_wall is None:
        env.run(until=end)
        return
    steps = 100
    for k in range(1, steps + 1):
        env.run(until=end * k / steps)
        if progress is not None:
            progress(k / steps)
        if max_wall is not None and time.perf_counter() - wall0 > max_wall and k < steps:
            raise SimulationError(f"the run reached this server's wall-time limit of {max_wall:g} s at "
                                  f"{env.now:.0f} of {end:g} simulated seconds (shorten the duration)")


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
    downstream = held if c.kind == "queue" else held - st.service.total
    in_node = (busy + queue) / measured_s if cap else st.response.total / measured_s
    pts = st.series
    series = {"t_s": [p[0] for p in pts], "throughput_rps": [p[2] / p[1] for p in pts],
              "p99_ms": [_ms(p[3]) for p in pts], "queue_mean": [p[4] / p[1] for p in pts],
              "utilization": [p[5] / p[6] if p[6] > 0 else 0.0 for p in pts],
              "replicas": [p[7] / p[1] for p in pts]}
    peak, peak_at = _peak(series["t_s"], series["utilization"], 5)
    return NodeResult(
        name=name, kind=c.kind, replicas=c.replica_count(), capacity=cap,
        peak_utilization=peak, peak_at_s=peak_at,
        arrived=st.arrived, completed=st.completed, rejected=st.rejected, failed=st.failed,
        utilization=util, throughput_rps=st.completed / measured_s,
        wait_ms=_summary(st.wait, "mean", "p95", "p99"),
        service_ms=_summary(st.service, "mean", "p99"),
        response_ms=_summary(st.response, "mean", "p95", "p99"),
        queue_length={"mean": queue / measured_s, "max": float(st.max_queue)},
        in_node_mean=in_node,
        downstream_share=min(1.0, max(0.0, downstream / held)) if held > 0 else 0.0,
        replicas_mean=replicas_mean, cost_per_hour=price_per_hour * replicas_mean,
        series=series)


def _edge_results(scenario: Scenario, comps: dict[str, Component], run: _Run, start: float,
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
            {"t_s": [q[0] for q in points], "attempts_per_s": [q[2] / q[1] for q in points],
             "breaker": [q[3] for q in points]}))
    return out


def _in_call_order(spans: list[tuple]) -> list[tuple]:
    """Spans by arrival; a caller (recorded after its callees) before the calls it made."""
    order = sorted(range(len(spans)), key=lambda k: (spans[k][2], -spans[k][4], -k))
    return [spans[k] for k in order]


def _summarise(scenario: Scenario, seed: int, run: _Run, comps: dict[str, Component],
               marks: dict[str, tuple[float, float]], engine: EngineInfo) -> Results:
    w = scenario.workload
    measured_s = w.duration_s - w.warmup_s
    end = w.duration_s
    nodes = {n: _node_result(n, c, measured_s, marks.get(n, (0.0, 0.0, 0.0, 0.0)), end, _price(scenario, n))
             for n, c in comps.items()}
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
    for e in edges:
        wasted[e.target] = wasted.get(e.target, 0) + e.wasted_calls
    bottleneck = find_bottleneck(nodes, lat["mean"], run.arrived, callers, wasted)
    traces = [Trace(r.id, r.t0, "completed" if f is None else f.status, _ms(latency),
                    [Span(s[0], s[1], _ms(s[2] - r.t0), _ms(s[3] - r.t0), _ms(s[4] - r.t0), s[5])
                     for s in _in_call_order(r.spans)])
              for r, f, latency in run.traces]
    series = {"t_s": [p[0] for p in run.series], "throughput_rps": [p[2] / p[1] for p in run.series],
              "p50_ms": [_ms(p[5]) for p in run.series], "p90_ms": [_ms(p[6]) for p in run.series],
              "p99_ms": [_ms(p[3]) for p in run.series], "arrivals": [p[4] / p[1] for p in run.series]}
    return Results(
        scenario=scenario.name, seed=seed, duration_s=w.duration_s, measured_s=measured_s,
        requests=requests, throughput_rps=run.completed / measured_s,
        goodput=run.good / run.arrived if run.arrived else 0.0, slo_ms=w.slo_ms,
        latency_ms=Latency(**lat),
        latency_histogram=[(_ms(lo), _ms(hi), n) for lo, hi, n in run.latency.buckets()],
        nodes=nodes, causes=causes, bottleneck=bottleneck, series=series, traces=traces,
        edges=edges, cost_per_hour=cost_per_hour,
        cost_per_million=spent / run.completed * 1e6 if run.completed else None,
        analysis=analysis, theory=compare_with_theory(nodes, analysis, _theory_context(w)), engine=engine)


def _price(scenario: Scenario, node: str) -> float:
    """Dollars per replica-hour: the node's own cost_per_hour or its kind's default."""
    n = scenario.nodes[node]
    own = getattr(n, "cost_per_hour", None)
    return own if own is not None else DEFAULT_COST_PER_HOUR[n.kind]


def _theory_context(w) -> str:
    """What the steady-state analysis leaves out of this workload."""
    if w.users is not None:
        return "closed loop: at most `users` requests are in the system, so fewer wait than open arrivals would"
    if w.profile is not None:
        return f"the load varies ({w.profile.shape}); theory uses its mean rate, queues build at its peak"
    return ""
