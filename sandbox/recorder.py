"""The run's record: what happened to every request, and the system's figures second by second.

A :class:`RunRecorder` makes each request (counting it, choosing which to
trace), hears how each ended (completed within the SLO or not, rejected or
failed, and why), and keeps the end-to-end latency histogram. Its
:meth:`~RunRecorder.ticker` process marks the time integrals of every node at
the end of the warm-up and then closes one window a second for the system,
every node and every resilient call. Time series stay bounded: when they reach
:data:`~sandbox.stats.MAX_POINTS` points, neighbours merge and later windows
widen. :mod:`sandbox.summary` reads the record once the run is over.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING, Callable, Generator, NamedTuple

from simpy import Environment, Timeout

from .classes import ClassMix
from .components import Component, Failure, OutEdge, Request, Spans
from .components.resilience import Policy
from .errors import SimulationError
from .stats import MAX_POINTS, LogHistogram, merge_pairs, window_quantile

if TYPE_CHECKING:  # pragma: no cover
    from .components.placement import Zones
    from .randomness import Draw
    from .scenario import Scenario

__all__ = ["RunRecorder", "SystemPoint", "EdgePoint", "TracedRequest", "ClassRecord", "ClassPoint"]


class SystemPoint(NamedTuple):
    """One window of the whole system: sums, so neighbouring points merge exactly."""
    t_s: float          # end of the window
    width_s: float
    completed: int
    p99_s: float
    arrivals: int
    p50_s: float
    p90_s: float


class EdgePoint(NamedTuple):
    """One window of a resilient call: attempts made, and the breaker's worst state in it."""
    t_s: float
    width_s: float
    attempts: int
    state: str


class ClassPoint(NamedTuple):
    """One window of one class: requests that ended in it, the bad ones among them, and its p99."""
    t_s: float
    width_s: float
    completed: int
    finished: int
    bad: int
    p99_s: float


def _merge_class(a: ClassPoint, b: ClassPoint) -> ClassPoint:
    return ClassPoint(b.t_s, a.width_s + b.width_s, a.completed + b.completed, a.finished + b.finished,
                      a.bad + b.bad, max(a.p99_s, b.p99_s))


class ClassRecord:
    """One class's end-to-end record: counts, latency, causes, good and bad requests, its windows."""

    def __init__(self, slo_s: float | None) -> None:
        self.slo_s = slo_s
        self.arrived = self.completed = self.rejected = self.failed = self.finished = self.good = 0
        self.latency = LogHistogram()
        self.causes: dict[Failure, int] = {}
        self.window: dict[int, int] = {}
        self.marks = (0, 0, 0)          # completed, finished, bad at the window's start
        self.series: list[ClassPoint] = []

    @property
    def bad(self) -> int:
        """Requests that failed, were refused, or completed later than the SLO."""
        return self.finished - self.good

    def finish(self, failure: Failure | None, latency: float) -> None:
        self.finished += 1
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

    def close_window(self, t_s: float, width_s: float) -> None:
        completed, finished, bad = self.marks
        self.series.append(ClassPoint(t_s, width_s, self.completed - completed, self.finished - finished,
                                      self.bad - bad, window_quantile(self.window, 0.99, self.latency)))
        self.marks = (self.completed, self.finished, self.bad)
        self.window = {}


class TracedRequest(NamedTuple):
    """A sampled request once it ended: the request (its spans), how it failed (None: completed), its latency."""
    request: Request
    failure: Failure | None
    latency_s: float


_STATE_RANK = {"closed": 0, "half_open": 1, "open": 2}


def _merge_system(a: SystemPoint, b: SystemPoint) -> SystemPoint:
    """Two system points as one: counts add, p99 by the maximum, p50 and p90 weighted by completions."""
    n = a.completed + b.completed
    mix: Callable[[float, float], float] = (lambda x, y: (x * a.completed + y * b.completed) / n) if n \
        else (lambda x, y: max(x, y))
    return SystemPoint(b.t_s, a.width_s + b.width_s, n, max(a.p99_s, b.p99_s), a.arrivals + b.arrivals,
                       mix(a.p50_s, b.p50_s), mix(a.p90_s, b.p90_s))


def _merge_counts(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] + b[0], a[1] + b[1]


def _merge_edge(a: EdgePoint, b: EdgePoint) -> EdgePoint:
    return EdgePoint(b.t_s, a.width_s + b.width_s, a.attempts + b.attempts,
                     max(a.state, b.state, key=_STATE_RANK.__getitem__))


class RunRecorder:
    """End-to-end bookkeeping for one run: requests, latency, causes, traces, time series."""

    def __init__(self, env: Environment, scenario: "Scenario", entry: Component, max_traces: int,
                 class_draw: "Draw | None" = None) -> None:
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
        self.traces: list[TracedRequest] = []
        measured_s = w.duration_s - w.warmup_s
        expected = (w.rate_rps or 0) * measured_s or (w.users or 1) * measured_s / max(w.think_time_ms / 1000, 0.05)
        self.trace_every = max(1, int(expected // max(1, max_traces))) if max_traces else 0
        self.max_traces = max_traces
        self.window: dict[int, int] = {}
        self.window_arrivals = 0
        self.series: list[SystemPoint] = []
        self.edge_series: dict[int, list[EdgePoint]] = {}
        self.width = 1.0      # seconds per time-series point; doubles when a series gets long
        self.last_tick = 0.0
        self.policies: list[tuple[OutEdge, Policy]] = []
        self.last_attempts: dict[int, int] = {}
        self.marks: dict[str, tuple[float, float, float, float]] = {}  # each node's integrals at warm-up's end
        self._mark_completed = 0
        # request classes: None without them (one implicit class, nothing more recorded)
        self.mix = ClassMix.of(w.classes, w.slo_ms) if w.classes else None
        self.class_draw = class_draw
        self.class_ends = self.mix.cumulative() if self.mix else []
        self.classes = [ClassRecord(slo) for slo in self.mix.slo_s] if self.mix else None
        self.key_draw: Callable[[], int] | None = None   # the key each request is for (workload.keys)
        # placement (see place()): where requests start, and per second of arrival [finished, completed]
        self.zones: "Zones | None" = None
        self.start_zone = -1
        self.by_second: list[list[int]] | None = None
        self.keyed: list[Component] = []                  # keyed caches, which keep a hit-ratio series

    def place(self, zones: "Zones") -> None:
        """The design places replicas in zones: requests start from nowhere, and availability is kept per second."""
        self.zones = zones
        self.start_zone = zones.layout.nowhere
        self.by_second = []

    # ── requests ─────────────────────────────────────────────────────────────

    def new_request(self, now: float, cls: int | None = None) -> Request:
        """A request arriving now; its class is `cls` (a closed-loop user's) or drawn from the class stream."""
        self.ids += 1
        if self.ids > self.max_requests:
            raise SimulationError(f"the run reached this server's limit of {self.max_requests:,} requests at "
                                  f"{now:.1f} simulated s (lower the rate, the users or the duration)")
        measured = now >= self.warmup
        spans: Spans | None = None
        if measured:
            self.arrived += 1
            self.window_arrivals += 1
            if self.trace_every and self.arrived % self.trace_every == 1 % self.trace_every \
                    and len(self.traces) < self.max_traces:
                spans = Spans()
        if self.classes is None:
            request = Request(self.ids, now, measured, spans)
        else:
            if cls is None:
                cls = bisect_right(self.class_ends, self.class_draw()) if self.class_draw is not None else 0
            if measured:
                self.classes[cls].arrived += 1
            request = Request(self.ids, now, measured, spans, cls)
        if self.key_draw is not None:
            request.key = self.key_draw()
        if self.start_zone >= 0:
            request.zone = self.start_zone
        return request

    def _second(self, t0: float, completed: bool) -> None:
        """Count a finished request in the second of the measured window it arrived in: [finished, completed]."""
        assert self.by_second is not None
        i = int(t0 - self.warmup)
        while len(self.by_second) <= i:
            self.by_second.append([0, 0])
        counts = self.by_second[i]
        counts[0] += 1
        counts[1] += completed

    def start(self, now: float) -> None:
        """An open arrival: one SimPy process per request."""
        self.env.process(self.visit(self.new_request(now)))

    def visit(self, request: Request) -> Generator:
        failure = yield from self.entry.serve(request, self.entry_pick())
        self.finish(request, failure)

    def visit_now(self, now: float) -> Generator:
        """A closed-loop user's request, run inside the user's own process."""
        return self.visit(self.new_request(now))

    def visitor(self, cls: int) -> Callable[[float], Generator]:
        """Closed-loop requests of class `cls` (a user's class is fixed)."""
        return lambda now: self.visit(self.new_request(now, cls))

    def finish(self, request: Request, failure: Failure | None) -> None:
        if not request.measured:
            return
        self.finished += 1
        latency = self.env.now - request.t0
        if self.by_second is not None:
            self._second(request.t0, failure is None)
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
        if self.classes is not None:
            self.classes[request.cls].finish(failure, latency)
        if request.spans is not None:
            self.traces.append(TracedRequest(request, failure, latency))

    # ── windows ──────────────────────────────────────────────────────────────

    def ticker(self, comps: dict[str, Component], warmup: float, end: float) -> Generator:
        """At warm-up, mark the time integrals; then close a 1-second window every second (a SimPy process)."""
        env = self.env
        if warmup:
            yield Timeout(env, warmup)
        for name, c in comps.items():
            c.stats.mark(warmup)
            self.marks[name] = c.stats.areas_at(warmup)
        self.window, self.window_arrivals, self._mark_completed = {}, 0, self.completed
        for record in self.classes or ():
            record.window, record.marks = {}, (record.completed, record.finished, record.bad)
        self.policies = _policies(comps)
        self.keyed = [c for c in comps.values() if c.key_series is not None]
        for c in self.keyed:
            c.close_key_window()   # the warm-up's hits are not the first window's
            assert c.key_series is not None
            c.key_series.clear()
        self.last_attempts = {e.index: p.counters.attempts for e, p in self.policies}
        self.last_tick = t = warmup
        while t + self.width <= end + 1e-9:
            yield Timeout(env, self.width)
            t += self.width
            self.close_windows(env.now, comps)

    def close_last_window(self, comps: dict[str, Component]) -> None:
        """SimPy stops before events at the end time: close a window that ends exactly there."""
        if self.env.now - self.last_tick >= 1.0 - 1e-9:
            self.close_windows(self.env.now, comps)

    def close_windows(self, now: float, comps: dict[str, Component]) -> None:
        """One point for every node, the system and every resilient edge; when the series
        reach MAX_POINTS, merge them pairwise and widen later windows to match."""
        width = now - self.last_tick
        self.last_tick = now
        for c in comps.values():
            c.stats.close_window(now, width)
        for c in self.keyed:
            c.close_key_window()
        self._close_system(now, width)
        for record in self.classes or ():
            record.close_window(now, width)
        for e, p in self.policies:
            attempts = p.counters.attempts
            state = p.breaker.state if p.breaker is not None else "closed"
            self.edge_series.setdefault(e.index, []).append(
                EdgePoint(now, width, attempts - self.last_attempts[e.index], state))
            self.last_attempts[e.index] = attempts
        if len(self.series) >= MAX_POINTS:
            for c in comps.values():
                c.stats.halve_series()
            for c in self.keyed:
                assert c.key_series is not None
                c.key_series = merge_pairs(c.key_series, _merge_counts)
            self.series = merge_pairs(self.series, _merge_system)
            for record in self.classes or ():
                record.series = merge_pairs(record.series, _merge_class)
            for i, points in self.edge_series.items():
                self.edge_series[i] = merge_pairs(points, _merge_edge)
            self.width *= 2

    def _close_system(self, t_s: float, width_s: float) -> None:
        w, h = self.window, self.latency
        self.series.append(SystemPoint(t_s, width_s, self.completed - self._mark_completed,
                                       window_quantile(w, 0.99, h), self.window_arrivals,
                                       window_quantile(w, 0.50, h), window_quantile(w, 0.90, h)))
        self._mark_completed = self.completed
        self.window = {}
        self.window_arrivals = 0


def _policies(comps: dict[str, Component]) -> list[tuple[OutEdge, Policy]]:
    """Every resilient edge with its policy, in scenario order."""
    found = [(e, e.policy) for c in comps.values() for e in c.edges if e.policy is not None]
    return sorted(found, key=lambda pair: pair[0].index)
