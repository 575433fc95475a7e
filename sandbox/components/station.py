"""Stations: services, databases and caches, each replicas x workers with a bounded queue.

Think of a bank with several branches (replicas), each with a few tellers
(workers) and a waiting room of ``queue_limit`` chairs. A call picks a branch,
takes a free teller or a chair (or is turned away when every chair is taken),
is served for a random service time, then, still holding its teller, makes its
outgoing calls and waits for their answers: thread-per-request, which is how a
slow database exhausts the thread pool of the service in front of it.

Workers are counted by hand instead of with ``simpy.Resource``: a free worker is
taken without any event, and a finishing call hands its worker straight to the
first waiter. The behaviour is the same FIFO multi-server queue, with fewer
events per call.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from simpy import Environment, Event, Timeout

from ..randomness import Draw
from .base import ClassNodeStats, Component, Failure, OutEdge, Request, Serve, Span
from .overload import replicas_for, serve_classes

__all__ = ["Replica", "Station", "Cache"]


class Replica:
    """One copy of a station: its free workers and its waiting line."""

    __slots__ = ("index", "free", "waiting", "limit", "workers", "held")

    def __init__(self, index: int, workers: int, limit: int | None) -> None:
        self.index = index
        self.workers = workers
        self.free = workers
        self.waiting: deque[Event] = deque()
        self.limit = limit if limit is not None else float("inf")
        self.held = 0.0        # time its workers were held by measured calls (a shard's busy share)

    def load(self) -> int:
        """Calls in this replica now, served or waiting (for least-connections)."""
        return self.workers - self.free + len(self.waiting)


class Station(Component):
    """A node with replicas x workers: a service, a database, the base of a cache."""

    def __init__(self, env: Environment, name: str, kind: str, replicas: int, workers: int,
                 queue_limit: int | None, service: Draw, route: Draw, parallel: bool = False,
                 errors: Draw | None = None, error_rate: float = 0.0) -> None:
        # without an error stream, attempts never fail by chance (a fault's error rate needs one)
        super().__init__(env, name, kind, route)
        self.replicas = [Replica(i, workers, queue_limit) for i in range(replicas)]
        self.workers = workers
        self.queue_limit = queue_limit
        self.draw_service = service
        self.parallel = parallel
        self.queue_full = Failure("rejected", name, "queue full" if queue_limit else "no free worker and no queue")
        self._rr = 0
        self.stats.capacity, self.stats.replicas = workers * replicas, replicas
        # faults: `down` refuses calls, `slow` multiplies service times, `error_p` fails attempts
        self.down = False
        self.slow = 1.0
        self.base_error = self.error_p = error_rate
        self.draw_error: Draw = errors if errors is not None else (lambda: 1.0)
        self.down_failure = Failure("failed", name, "down (scheduled fault)", "down")
        self.error_failure = Failure("failed", name, "error", "error")
        self.next_index = replicas
        self.overload: Any = None  # an overload.Overload once use_classes() is called

    def use_classes(self, overload: Any, class_stats: list[ClassNodeStats]) -> None:
        """Serve by class (priority lines, bulkheads, shedding, expiry): see :mod:`sandbox.components.overload`."""
        self.overload = overload
        self.class_stats = class_stats
        self.replicas[:] = replicas_for(self, len(self.replicas))  # the same list: pickers hold it
        self.serve = lambda request, replica: serve_classes(self, request, replica)  # type: ignore[method-assign,arg-type]

    def replica_count(self) -> int:
        return len(self.replicas)

    def capacity(self) -> int:
        return self.workers * len(self.replicas)

    def add_replica(self) -> None:
        """A new replica starts serving (after its cold start)."""
        if self.overload is not None:
            self.replicas.extend(replicas_for(self, 1, self.next_index))
        else:
            self.replicas.append(Replica(self.next_index, self.workers, self.queue_limit))
        self.next_index += 1
        self.stats.resize(self.env.now, self.capacity(), len(self.replicas))

    def remove_replica(self) -> None:
        """The newest replica stops taking calls; calls already in it finish."""
        if len(self.replicas) > 1:
            self.replicas.pop()
            self.stats.resize(self.env.now, self.capacity(), len(self.replicas))

    def next_replica(self) -> Replica:
        """Round robin over replicas: how a node reached without a load balancer is spread."""
        reps = self.replicas
        if len(reps) == 1:
            return reps[0]
        self._rr = (self._rr + 1) % len(reps)
        return reps[self._rr]

    def calls_after_service(self, request: Request) -> list[OutEdge]:
        """The outgoing edges to consider once served (caches choose by hit or miss)."""
        return self.edges

    def flush(self) -> None:
        """Empty what it holds (a keyed cache's entries); validation keeps flushes off every other station."""

    def serve(self, request: Request, replica: Replica) -> Serve:
        env = self.env
        stats = self.stats
        measured = request.measured
        t_arrive = env.now
        if measured:
            stats.arrived += 1
        if self.down:
            if measured:
                stats.failed += 1
            return self.down_failure
        spans = request.spans
        sid = spans.open(request) if spans is not None else 0
        dt = t_arrive - stats.t_last  # stats.advance(t_arrive), inlined: this is the hot path
        if dt:
            stats.busy_area += stats.busy * dt
            stats.queue_area += stats.queued * dt
            stats.t_last = t_arrive
        if replica.free:
            replica.free -= 1
            stats.busy += 1
        elif len(replica.waiting) >= replica.limit:
            if measured:
                stats.rejected += 1
            if spans is not None:
                spans.close(request, Span(self.name, replica.index, t_arrive, t_arrive, t_arrive, "rejected", sid))
            return self.queue_full
        else:
            turn = Event(env)
            replica.waiting.append(turn)
            stats.queued += 1
            if stats.queued > stats.max_queue:
                stats.max_queue = stats.queued
            yield turn  # the finishing call hands its worker over (see below)
        t_start = env.now
        yield Timeout(env, self.draw_service() * self.slow)
        t_served = env.now
        failure: Failure | None
        if self.error_p and self.draw_error() < self.error_p:
            failure = self.error_failure
        else:
            edges = self.calls_after_service(request)
            failure = (yield from self.call_edges(request, edges)) if edges else None
        t_end = env.now
        dt = t_end - stats.t_last
        if dt:
            stats.busy_area += stats.busy * dt
            stats.queue_area += stats.queued * dt
            stats.t_last = t_end
        if replica.waiting:
            stats.queued -= 1
            replica.waiting.popleft().succeed()
        else:
            replica.free += 1
            stats.busy -= 1
        if measured:
            if failure is None:
                stats.completed += 1
            else:
                stats.failed += 1
            stats.record(t_start - t_arrive, t_served - t_start, t_end - t_arrive)
            replica.held += t_end - t_start
        if spans is not None:
            spans.close(request, Span(self.name, replica.index, t_arrive, t_start, t_end,
                                      "ok" if failure is None else "failed", sid))
        return failure


class Cache(Station):
    """A cache: a hit is answered here; a miss calls the `when: miss` edges."""

    def __init__(self, env: Environment, name: str, kind: str, hit_ratio: float, hit: Draw, **kw: Any) -> None:
        super().__init__(env, name, kind, **kw)
        self.hit_ratio = hit_ratio
        self.draw_hit = hit  # its own stream, so service-time changes keep the hit pattern
        self.on_hit: list[OutEdge] = []
        self.on_miss: list[OutEdge] = []

    def set_edges(self, edges: list[OutEdge]) -> None:
        self.edges = edges
        self.on_hit = [e for e in edges if e.when in ("always", "hit")]
        self.on_miss = [e for e in edges if e.when in ("always", "miss")]

    def calls_after_service(self, request: Request) -> list[OutEdge]:
        return self.on_hit if self.draw_hit() < self.hit_ratio else self.on_miss
