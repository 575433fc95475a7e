"""What every component shares: requests, failures, per-node statistics and outgoing calls.

A component is a compiled node: plain Python objects holding SimPy state, with
no networkx or pydantic on the hot path. Each has ``serve(request, replica)``,
a generator that models one call to it and *returns* ``None`` on success or a
:class:`Failure` saying where and why the call failed. Callers chain these with
``yield from``, so a request is one SimPy process however many hops it makes,
and a synchronous call keeps the caller's worker held until the callee answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generator, Optional

from simpy import AllOf, Environment, Timeout

from ..stats import LogHistogram, window_quantile

if TYPE_CHECKING:  # pragma: no cover
    from ..randomness import Draw

__all__ = ["Request", "Failure", "NodeStats", "Component", "OutEdge", "Serve"]

Serve = Generator[Any, Any, "Optional[Failure]"]


class Request:
    """One request (or, behind a queue, one message) moving through the architecture."""

    __slots__ = ("id", "t0", "measured", "spans")

    def __init__(self, rid: int, t0: float, measured: bool, spans: list | None) -> None:
        self.id = rid
        self.t0 = t0
        self.measured = measured  # arrived after warm-up: counted in the statistics
        self.spans = spans        # a list of span tuples when this request is traced


class Failure:
    """Why a call did not succeed: a status ("rejected" or "failed"), the node, the reason."""

    __slots__ = ("status", "node", "reason")

    def __init__(self, status: str, node: str, reason: str) -> None:
        self.status = status
        self.node = node
        self.reason = reason

    def key(self) -> str:
        return f"{self.status} at {self.node}: {self.reason}"


class NodeStats:
    """Counters, histograms and time integrals for one node, all replicas together.

    Counters and histograms cover measured requests (those that arrived after
    warm-up); the busy and queue integrals are time-weighted over the run, and
    the engine differences them at warm-up and at each 1-second tick.
    """

    __slots__ = ("arrived", "completed", "rejected", "failed", "wait", "service", "response",
                 "max_queue", "busy", "queued", "busy_area", "queue_area", "t_last",
                 "window", "series", "_mark_busy", "_mark_queue", "_mark_completed")

    def __init__(self) -> None:
        self.arrived = self.completed = self.rejected = self.failed = 0
        self.wait = LogHistogram()       # seconds before a worker (or consumer) took the call
        self.service = LogHistogram()    # the node's own service time
        self.response = LogHistogram()   # time in the node, downstream calls included
        self.max_queue = 0
        self.busy = 0                    # workers held now, all replicas
        self.queued = 0                  # calls waiting now, all replicas
        self.busy_area = 0.0             # integral of busy over time
        self.queue_area = 0.0            # integral of queued over time
        self.t_last = 0.0
        self.window: dict[int, int] = {}  # response-time buckets of the current 1-s window
        self.series: list[tuple] = []     # (t_s, completed, p99_s, queue_mean, utilization)
        self._mark_busy = self._mark_queue = 0.0
        self._mark_completed = 0

    def advance(self, now: float) -> None:
        """Bring the time integrals up to `now` (call before busy or queued change)."""
        dt = now - self.t_last
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += self.queued * dt
            self.t_last = now

    def record(self, wait: float, service: float, response: float) -> None:
        """Record one finished call: its wait, own service time and time in the node."""
        if wait > 1e-9:
            self.wait.add(wait)
        else:
            self.wait.add_zero()
        self.service.add(service)
        i = self.response.add(response)
        window = self.window
        window[i] = window.get(i, 0) + 1

    def close_window(self, t_s: float, capacity: int) -> None:
        """Append one 1-second point of the time series, then start a new window."""
        self.advance(t_s)
        busy = self.busy_area - self._mark_busy
        queue = self.queue_area - self._mark_queue
        completed = self.completed - self._mark_completed
        self._mark_busy, self._mark_queue, self._mark_completed = self.busy_area, self.queue_area, self.completed
        p99 = window_quantile(self.window, 0.99, self.response)
        self.window = {}
        util = busy / capacity if capacity else 0.0
        self.series.append((t_s, completed, p99, queue, util))


class OutEdge:
    """A compiled edge: the callee, how to pick its replica, and the call's odds and delay."""

    __slots__ = ("target", "pick", "probability", "latency_s", "when", "index")

    def __init__(self, target: "Component", pick: Callable[[], Any], probability: float,
                 latency_s: float, when: str, index: int) -> None:
        self.target = target
        self.pick = pick
        self.probability = probability
        self.latency_s = latency_s
        self.when = when
        self.index = index


class Component:
    """Base of all compiled nodes: a name, statistics and the calls it makes."""

    kind = "component"

    def __init__(self, env: Environment, name: str, route: "Draw") -> None:
        self.env = env
        self.name = name
        self.stats = NodeStats()
        self.edges: list[OutEdge] = []
        self.parallel = False
        self.route = route  # uniform draws for edge probabilities (its own stream)

    # replicas: components without replicas answer None
    def replica_count(self) -> int:
        return 1

    def capacity(self) -> int:
        """Workers (or consumers) in all replicas: the denominator of utilization."""
        return 0

    def next_replica(self) -> Any:
        return None

    def serve(self, request: Request, replica: Any) -> Serve:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    def call_edges(self, request: Request, edges: list[OutEdge]) -> Serve:
        """Make the outgoing calls in order (or all at once when parallel)."""
        if self.parallel:
            return (yield from self._call_parallel(request, edges))
        env = self.env
        route = self.route
        for edge in edges:
            if edge.probability < 1.0 and route() >= edge.probability:
                continue
            latency = edge.latency_s
            if latency:
                yield Timeout(env, latency)
            failure = yield from edge.target.serve(request, edge.pick())
            if latency:
                yield Timeout(env, latency)
            if failure is not None:
                return failure
        return None

    def _call_parallel(self, request: Request, edges: list[OutEdge]) -> Serve:
        env = self.env
        route = self.route
        calls = [env.process(self._one_call(request, e)) for e in edges
                 if e.probability >= 1.0 or route() < e.probability]
        if not calls:
            return None
        yield AllOf(env, calls)
        for c in calls:
            if c.value is not None:
                return c.value
        return None

    def _one_call(self, request: Request, edge: OutEdge) -> Serve:
        latency = edge.latency_s
        if latency:
            yield Timeout(self.env, latency)
        failure = yield from edge.target.serve(request, edge.pick())
        if latency:
            yield Timeout(self.env, latency)
        return failure
