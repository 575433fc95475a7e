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

from simpy import Environment, Event, Timeout
from simpy.core import StopSimulation
from simpy.events import URGENT

from .analysis import visits
from .components import (Cache, Component, Failure, LoadBalancer, MessageQueue, OutEdge, Policy, RateLimiter,
                         Request, Station)
from .components.autoscaler import autoscale
from .components.faults import schedule_faults
from .components.load_balancer import make_picker
from .errors import RunCancelled, ScenarioError, SimulationError
from .randomness import Streams, service_sampler
from .results import EngineInfo, Results
from .scenario import Scenario, Workload, queue_consumers, with_overrides
from .stats import MAX_POINTS, LogHistogram, merge_pairs, window_quantile
from .summary import summarise
from .workload import closed_loop_user, open_arrivals

__all__ = ["simulate", "Limits", "check_limits", "compile_components", "CHECK_EVERY"]

Progress = Callable[[float], None]
Cancel = Callable[[], bool]


@dataclass(frozen=True)
class Limits:
    """Per-run limits, so one run cannot stall a shared server.

    The engine enforces them itself: up front (:func:`check_limits`), while it
    builds the run, and every few thousand events while it runs, so no design
    (zero-time retries, fan-out, a crowd of users) gets past them.
    """
    max_requests: int | None = None   # requests allowed: refused up front by estimate, stopped when reached
    max_nodes: int | None = None
    max_wall_s: float | None = None   # seconds of wall time for the whole run
    max_events: int | None = None     # SimPy events processed (each call makes at least one)
    max_users: int | None = None      # closed-loop users plus queue consumers: each is a simulated process


CHECK_EVERY = 4096  # events between two looks at the clock, the event count and cancellation (~5 ms of work)


class _Guard:
    """Looks at the wall clock, the event count, cancellation and progress, between batches of events."""

    def __init__(self, limits: Limits | None, progress: Progress | None, cancel: Cancel | None, wall0: float,
                 end: float) -> None:
        self.max_wall = limits.max_wall_s if limits else None
        self.max_events = limits.max_events if limits else None
        self.progress, self.cancel, self.wall0, self.end = progress, cancel, wall0, end

    def check(self, now: float, events: int) -> None:
        if self.cancel is not None and self.cancel():
            raise RunCancelled(f"the run was cancelled at {now:.1f} of {self.end:g} simulated seconds")
        if self.max_wall is not None and time.perf_counter() - self.wall0 > self.max_wall:
            raise SimulationError(f"the run reached this server's wall-time limit of {self.max_wall:g} s at "
                                  f"{now:.1f} of {self.end:g} simulated seconds (shorten the duration, lower "
                                  "the rate, or reduce retries and fan-out)")
        if self.max_events is not None and events > self.max_events:
            raise SimulationError(f"the run reached this server's limit of {self.max_events:,} events at "
                                  f"{now:.3f} of {self.end:g} simulated seconds: each request makes a great many "
                                  "calls (retries or fan-out multiply them); reduce them or shorten the run")
        if self.progress is not None:
            self.progress(min(1.0, now / self.end))


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
             progress: Progress | None = None, cancel: Cancel | None = None) -> Results:
    """Run `scenario` once and return its :class:`Results`.

    `seed` defaults to the scenario's own ``seed`` (or 0). `rate_rps` and
    `duration_s` override the workload's. `limits` bound the run (see
    :class:`Limits`); `progress` is called with the share of simulated time done
    (0 to 1) every few thousand events and at the end; `cancel` is asked as
    often, and a True answer stops the run with :class:`~sandbox.errors.RunCancelled`.
    Neither changes the results.
    """
    overrides = {}
    if rate_rps is not None:
        overrides["workload.rate_rps"] = rate_rps
    if duration_s is not None:
        overrides["workload.duration_s"] = duration_s
    if overrides:
        scenario = with_overrides(scenario, overrides)
    seed = seed if seed is not None else (scenario.seed or 0)
    if seed < 0:
        raise ScenarioError("seed", [("", f"must be non-negative, got {seed}")])
    check_limits(scenario, limits)
    w = scenario.workload
    wall0 = time.perf_counter()
    guard = _Guard(limits, progress, cancel, wall0, w.duration_s)
    guard.check(0.0, 0)
    env = Environment()
    streams = Streams(seed)
    comps = compile_components(scenario, env, streams)
    entry = comps[w.entry]
    run = _Run(env, scenario, entry, max_traces)
    if limits is not None and limits.max_requests is not None:
        run.max_requests = limits.max_requests
    if w.users is not None:
        for u in range(w.users):
            if u % 1024 == 1023:  # building a large crowd takes a while: watch the clock here too
                guard.check(0.0, 0)
            think = streams.sampler(f"user:{u}:think", "exponential", w.think_time_ms / 1000.0) \
                if w.think_time_ms else (lambda: 0.0)
            env.process(closed_loop_user(env, w, think, run.visit_now))
    else:
        env.process(open_arrivals(env, w, streams, run.start))
    marks: dict[str, tuple[float, float, float, float]] = {}
    env.process(_ticker(env, run, comps, w.warmup_s, w.duration_s, marks))
    events = _run_until(env, w.duration_s, guard)
    _close_last_window(env, run, comps)
    if progress is not None:
        progress(1.0)
    wall = time.perf_counter() - wall0
    return summarise(scenario, seed, run, comps, marks, EngineInfo(wall, events))


def _expected_requests(w: Workload) -> float:
    """Requests a run is expected to make: the peak rate over the run, or users over their cycle."""
    if w.users is None:
        return w.peak_rate() * w.duration_s
    return w.users * w.duration_s / max(w.think_time_ms / 1000.0, 0.001)


def check_limits(scenario: Scenario, limits: Limits | None) -> None:
    """Refuse, before anything runs, a scenario that `limits` would stop: SimulationError says which and why."""
    if limits is None:
        return
    w = scenario.workload
    if limits.max_nodes is not None and len(scenario.nodes) > limits.max_nodes:
        raise SimulationError(f"the design has {len(scenario.nodes)} nodes; this server allows {limits.max_nodes}")
    if limits.max_users is not None:
        processes = (w.users or 0) + sum(queue_consumers(scenario).values())
        if processes > limits.max_users:
            raise SimulationError(f"the design has {processes:,} users and consumers; this server allows "
                                  f"{limits.max_users:,} (each is a simulated process)")
    expected = _expected_requests(w)
    if limits.max_requests is not None and expected > limits.max_requests:
        raise SimulationError(f"the run would simulate about {expected:,.0f} requests; this server allows "
                              f"{limits.max_requests:,} (lower the rate or the duration)")
    if limits.max_events is not None:
        per_request = sum(v for v in visits(scenario).values() if math.isfinite(v))
        calls = expected * per_request
        if calls > limits.max_events:  # every call is at least one event
            raise SimulationError(f"the run would make about {calls:,.0f} calls ({expected:,.0f} requests x "
                                  f"{per_request:,.1f} calls each); this server allows {limits.max_events:,} "
                                  "events (retries and repeated calls multiply the calls)")


def _halt(event: Event) -> None:
    raise StopSimulation(None)


def _run_until(env: Environment, end: float, guard: _Guard) -> int:
    """Process events up to `end` (as ``env.run(until=end)`` does), checking `guard` every CHECK_EVERY
    events; returns the number processed. A call chain too deep for Python becomes a SimulationError.
    """
    stop = Event(env)
    stop.callbacks.append(_halt)
    env.schedule(stop, URGENT, end - env.now)  # before any event at `end`, as env.run(until=end) stops
    step = env.step
    events = 0
    k = 0
    try:
        while True:
            for k in range(CHECK_EVERY):
                step()
            events += CHECK_EVERY
            guard.check(env.now, events)
    except StopSimulation:
        return events + k
    except RecursionError:
        raise SimulationError(
            f"a request made more nested calls than Python allows (at {env.now:.3f} s): a cycle is taken "
            "too often (for example a -> b -> a with probability 0.99 makes ~100 passes on average and far "
            "more in its tail); lower the probability of an edge on the cycle") from None
