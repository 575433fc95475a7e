"""What every component shares: requests, failures, per-node statistics and outgoing calls.

A component is a compiled node: plain Python objects holding SimPy state, with
no networkx or pydantic on the hot path. Each has ``serve(request, replica)``,
a generator that models one call to it and *returns* ``None`` on success or a
:class:`Failure` saying where and why the call failed. Callers chain these with
``yield from``, so a request is one SimPy process however many hops it makes,
and a synchronous call keeps the caller's worker held until the callee answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generator, NamedTuple, Optional

from simpy import AllOf, Environment, Timeout

from ..stats import LogHistogram, merge_pairs, window_quantile

if TYPE_CHECKING:  # pragma: no cover
    from ..randomness import Draw

__all__ = ["Request", "Failure", "NodeStats", "ClassNodeStats", "NodePoint", "Span", "Spans", "MAX_SPANS", "Component", "OutEdge",
           "Serve", "plain_call"]

Serve = Generator[Any, Any, "Optional[Failure]"]


class Request:
    """One request (or, behind a queue, one message) moving through the architecture."""

    __slots__ = ("id", "t0", "measured", "spans", "cls", "parent", "key", "zone")

    def __init__(self, rid: int, t0: float, measured: bool, spans: "Spans | None", cls: int = 0,
                 key: int = -1) -> None:
        self.id = rid
        self.t0 = t0
        self.measured = measured  # arrived after warm-up: counted in the statistics
        self.spans = spans        # its spans when this request is traced
        self.cls = cls            # its class: an index into the workload's classes (0 without classes)
        self.parent = -1          # traced only: the id of the span whose calls this process is making now
        self.key = key            # the key it is for (-1: the workload has no keys)
        self.zone = -1            # the zone of the replica making its calls now (-1: the design places nothing)

    def branch(self) -> "Request":
        """The request as seen by a call made in a process of its own (a parallel call, an attempt raced
        against a timeout): the same request, but a traced one gets its own `parent`, so the calls each
        process makes are attributed to the right span, and a placed one its own `zone`, so parallel calls
        to different zones do not move each other."""
        if self.spans is None and self.zone < 0:
            return self
        twin = Request(self.id, self.t0, self.measured, self.spans, self.cls, self.key)
        twin.parent = self.parent
        twin.zone = self.zone
        return twin


class Failure:
    """Why a call did not succeed: a status, the node, the reason in words, and its cause.

    ``status`` is "rejected" (refused at the door: a full queue, a rate limit) or
    "failed" (an error, a timeout, a node down, an open circuit). ``cause`` is the
    one-word category retry policies match: rejected, rate_limited, error, down,
    timeout, circuit_open.
    """

    __slots__ = ("status", "node", "reason", "cause")

    def __init__(self, status: str, node: str, reason: str, cause: str = "") -> None:
        self.status = status
        self.node = node
        self.reason = reason
        self.cause = cause or ("rejected" if status == "rejected" else "error")

    def key(self) -> str:
        return f"{self.status} at {self.node}: {self.reason}"


class NodeStats:
    """Counters, histograms and time integrals for one node, all replicas together.

    Counters and histograms cover measured requests (those that arrived after
    warm-up). The busy, queue, capacity and replica integrals are time-weighted;
    the engine differences them at warm-up, at each 1-second tick and at the end.
    Capacity and replicas change only when an autoscaler acts, so their
    integrals cost nothing on the hot path.
    """

    __slots__ = ("arrived", "completed", "rejected", "failed", "wait", "own_work", "response",
                 "max_queue", "busy", "queued", "busy_area", "queue_area", "t_last",
                 "capacity", "replicas", "cap_area", "replica_area", "cap_t",
                 "window", "series", "_mark")

    def __init__(self, capacity: int = 0, replicas: int = 1) -> None:
        self.arrived = self.completed = self.rejected = self.failed = 0
        self.wait = LogHistogram()       # seconds before a worker (or consumer) took the call
        self.own_work = LogHistogram()  # the node's own service time
        self.response = LogHistogram()   # time in the node, downstream calls included
        self.max_queue = 0
        self.busy = 0                    # workers held now, all replicas
        self.queued = 0                  # calls waiting now, all replicas
        self.busy_area = 0.0             # integral of busy over time
        self.queue_area = 0.0            # integral of queued over time
        self.t_last = 0.0
        self.capacity = capacity         # workers (or consumers) serving now
        self.replicas = replicas         # replicas serving now (what is paid for)
        self.cap_area = self.replica_area = 0.0
        self.cap_t = 0.0
        self.window: dict[int, int] = {}  # response-time buckets of the current 1-s window
        self.series: list[NodePoint] = []
        self._mark: tuple[float, float, float, float, int] = (0.0, 0.0, 0.0, 0.0, 0)

    def advance(self, now: float) -> None:
        """Bring the busy and queue integrals up to `now` (call before busy or queued change)."""
        dt = now - self.t_last
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += self.queued * dt
            self.t_last = now

    def resize(self, now: float, capacity: int, replicas: int) -> None:
        """Capacity or replica count changes at `now` (autoscaling)."""
        self.cap_area, self.replica_area = self.areas_at(now)[2:4]
        self.cap_t = now
        self.capacity, self.replicas = capacity, replicas

    def areas_at(self, now: float) -> tuple[float, float, float, float]:
        """(busy, queue, capacity, replica) integrals from time 0 to `now`."""
        self.advance(now)
        dt = now - self.cap_t
        return (self.busy_area, self.queue_area, self.cap_area + self.capacity * dt,
                self.replica_area + self.replicas * dt)

    def mark(self, now: float) -> None:
        """Start a new measuring window at `now` (warm-up's end)."""
        self._mark = (*self.areas_at(now), self.completed)
        self.window = {}

    def record(self, wait: float, service: float, response: float) -> None:
        """Record one finished call: its wait, own service time and time in the node."""
        if wait > 1e-9:
            self.wait.add(wait)
        else:
            self.wait.add_zero()
        self.own_work.add(service)
        i = self.response.add(response)
        window = self.window
        window[i] = window.get(i, 0) + 1

    def close_window(self, t_s: float, width_s: float) -> None:
        """Append one point of the time series (the window just ended), then start a new one.

        A point is a :class:`NodePoint`: sums, so neighbouring points merge exactly (p99 by its maximum).
        """
        busy, queue, cap, reps = self.areas_at(t_s)
        b0, q0, c0, r0, done0 = self._mark
        self._mark = (busy, queue, cap, reps, self.completed)
        p99 = window_quantile(self.window, 0.99, self.response)
        self.window = {}
        self.series.append(NodePoint(t_s, width_s, self.completed - done0, p99, queue - q0, busy - b0, cap - c0,
                                     reps - r0))

    def halve_series(self) -> None:
        """Merge neighbouring points: half the resolution, half the memory."""
        self.series = merge_pairs(self.series, _merge_node_points)


class ClassNodeStats:
    """One class's counters at one node (measured requests), and its wait for a worker."""

    __slots__ = ("arrived", "completed", "rejected", "failed", "wait")

    def __init__(self) -> None:
        self.arrived = self.completed = self.rejected = self.failed = 0
        self.wait = LogHistogram()

    def ended(self, failure: "Failure | None") -> None:
        if failure is None:
            self.completed += 1
        elif failure.status == "rejected":
            self.rejected += 1
        else:
            self.failed += 1


class NodePoint(NamedTuple):
    """One window of a node: sums (and areas under the curves), so neighbouring points merge exactly."""
    t_s: float            # end of the window
    width_s: float
    completed: int
    p99_s: float          # of the response times in the window (merged by the maximum)
    queue_area: float     # integral of calls waiting
    busy_area: float      # integral of workers held
    capacity_area: float  # integral of workers available
    replica_area: float   # integral of replicas serving


def _merge_node_points(a: NodePoint, b: NodePoint) -> NodePoint:
    return NodePoint(b.t_s, a.width_s + b.width_s, a.completed + b.completed, max(a.p99_s, b.p99_s),
                     a.queue_area + b.queue_area, a.busy_area + b.busy_area, a.capacity_area + b.capacity_area,
                     a.replica_area + b.replica_area)


MAX_SPANS = 1_000  # hops kept per traced request: a request of millions of calls keeps its first thousand


class Spans(list["Span"]):
    """A traced request's hops, the first MAX_SPANS of them (the rest are counted, not kept).

    A span is appended when its hop ends, so callees come before their caller. Each hop takes an id when it
    begins (:meth:`open`), and ``parent_of[id]`` is the id of the hop that called it (-1: none), so the
    call tree survives the order.
    """

    __slots__ = ("dropped", "parent_of")

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0
        self.parent_of: list[int] = []

    def open(self, request: Request) -> int:
        """A hop of `request` begins: its span id; the calls it makes from now on are its children."""
        sid = len(self.parent_of)
        self.parent_of.append(request.parent)
        request.parent = sid
        return sid

    def close(self, request: Request, span: "Span") -> None:
        """The hop of `span` ends: keep it, and hand the calls back to its caller."""
        self.append(span)
        request.parent = self.parent_of[span.sid]

    def append(self, span: "Span") -> None:
        if len(self) < MAX_SPANS:
            super().append(span)
        else:
            self.dropped += 1


class Span(NamedTuple):
    """One hop of a traced request, in simulated seconds: the node, its replica, arrival, start, end, outcome,
    and its id in the request's :class:`Spans` (which knows its caller)."""
    node: str
    replica: int
    arrive_s: float
    start_s: float
    end_s: float
    outcome: str
    sid: int


class OutEdge:
    """A compiled edge: the callee, how to pick its replica, the call's odds and delay,
    and (only when the scenario asks for one) its resilience policy."""

    __slots__ = ("target", "pick", "probability", "latency_s", "when", "index", "calls", "policy", "classes",
                 "weight")

    def __init__(self, target: "Component", pick: Callable[[], Any], probability: float,
                 latency_s: float, when: str, index: int) -> None:
        self.target = target
        self.pick = pick
        self.probability = probability
        self.latency_s = latency_s
        self.when = when
        self.index = index
        self.calls = 0          # calls made over this edge by measured requests
        self.policy: Any = None  # a resilience.Policy when timeouts, retries, breaker or hedging are set
        self.classes: frozenset[int] | None = None  # the classes that take it (None: every class)
        self.weight = 0.0        # its weight, from a weighted load balancer


class Component:
    """Base of all compiled nodes: a name, its kind's name, statistics and the calls it makes."""

    serves_itself = True   # its workers serve calls themselves (a queue's consumers only call downstream)

    def __init__(self, env: Environment, name: str, kind: str, route: "Draw") -> None:
        self.env = env
        self.name = name
        self.kind = kind
        self.stats = NodeStats()
        self.edges: list[OutEdge] = []
        self.parallel = False
        self.route = route  # uniform draws for edge probabilities (its own stream)
        # set only where classes or a one-of choice decide the calls (see sandbox.components.routing)
        self.choose: Callable[[Request, list[OutEdge]], list[OutEdge]] | None = None
        self.class_stats: "list[ClassNodeStats] | None" = None  # per class, when the workload has classes
        self.key_series: "list[tuple[int, int]] | None" = None  # a keyed cache's (hits, reads) per window

    def set_edges(self, edges: list[OutEdge]) -> None:
        """The calls it makes, in the scenario's order."""
        self.edges = edges

    def track_classes(self, count: int) -> None:
        """Count each class's calls here (the workload has `count` classes): wraps :meth:`serve`."""
        class_stats = self.class_stats = [ClassNodeStats() for _ in range(count)]
        plain = self.serve

        def serve(request: Request, replica: Any) -> Serve:
            cs = class_stats[request.cls]
            measured = request.measured
            if measured:
                cs.arrived += 1
                cs.wait.add_zero()  # it holds no workers: nothing waits here
            failure = yield from plain(request, replica)
            if measured:
                cs.ended(failure)
            return failure

        self.serve = serve  # type: ignore[method-assign]

    def close_key_window(self) -> None:
        """A keyed cache closes its window of hits and reads (the recorder calls it only where key_series is set)."""

    def key_figures(self, measured_s: float) -> dict[str, Any]:
        """A keyed cache's own figures (hits, misses, evictions, entries); empty for every other component."""
        return {}

    def pipeline_figures(self, measured_s: float) -> dict[str, Any]:
        """A stream's or topic's own figures (per consumer group or subscription); empty for every other component."""
        return {}

    def rollout_figures(self, measured_s: float) -> dict[str, Any]:
        """A feature flag's rollout (per variant, the guardrails' decisions); empty for every other component."""
        return {}

    def picker_for(self, target: "Component", draw: Callable[[], "Draw"]) -> Callable[[], Any]:
        """How this node picks the replica of `target` for each call (`draw` makes a random stream if needed)."""
        return target.next_replica

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
        if self.choose is not None:
            return (yield from self.call_chosen(request, self.choose(request, edges)))
        if self.parallel:
            return (yield from self._call_parallel(request, edges))
        env = self.env
        route = self.route
        for edge in edges:
            if edge.probability < 1.0 and route() >= edge.probability:
                continue
            if request.measured:
                edge.calls += 1
            if edge.policy is not None:
                failure = yield from edge.policy.call(request)
            else:
                latency = edge.latency_s
                if latency:
                    yield Timeout(env, latency)
                failure = yield from edge.target.serve(request, edge.pick())
                if latency:
                    yield Timeout(env, latency)
            if failure is not None:
                return failure
        return None

    def call_chosen(self, request: Request, edges: list[OutEdge]) -> Serve:
        """Make exactly these calls (already chosen by class and by chance), in order or all at once."""
        if self.parallel:
            if not edges:
                return None
            calls = [self.env.process(self._one_call(request.branch(), e)) for e in edges]
            yield AllOf(self.env, calls)
            for c in calls:
                if c.value is not None:
                    return c.value
            return None
        for edge in edges:
            if request.measured:
                edge.calls += 1
            if edge.policy is not None:
                failure = yield from edge.policy.call(request)
            else:
                failure = yield from plain_call(self.env, request, edge)
            if failure is not None:
                return failure
        return None

    def _call_parallel(self, request: Request, edges: list[OutEdge]) -> Serve:
        env = self.env
        route = self.route
        calls = [env.process(self._one_call(request.branch(), e)) for e in edges
                 if e.probability >= 1.0 or route() < e.probability]
        if not calls:
            return None
        yield AllOf(env, calls)
        for c in calls:
            if c.value is not None:
                return c.value
        return None

    def _one_call(self, request: Request, edge: OutEdge) -> Serve:
        if request.measured:
            edge.calls += 1
        if edge.policy is not None:
            return (yield from edge.policy.call(request))
        return (yield from plain_call(self.env, request, edge))


def plain_call(env: Environment, request: Request, edge: OutEdge) -> Serve:
    """One call over `edge`: network there, the callee, network back.

    (Component.call_edges inlines this on the hot path.)
    """
    latency = edge.latency_s
    if latency:
        yield Timeout(env, latency)
    failure = yield from edge.target.serve(request, edge.pick())
    if latency:
        yield Timeout(env, latency)
    return failure
