"""Overload control at a station: request classes served by priority, behind bulkheads, shed, or expired.

A station whose workload has classes (or that sheds or expires calls) serves
through :func:`serve_classes` instead of :meth:`Station.serve`, so stations
without these features keep their fast path. Each replica's workers form
*pools*: one shared pool, and one per bulkhead (workers that serve only their
class; that class uses only them). Each pool has its own line:

- ``discipline: fifo`` (default): first come, first served;
- ``discipline: priority``: the highest class priority first, FIFO within one,
  non-preemptive (a call being served is never interrupted).

Two overload policies refuse or drop calls, each with its own cause:

- **shed**: an arrival that finds more than ``queue_over`` calls waiting at its
  replica is refused at once (cause ``shed``) if its class's priority is below
  ``below_priority``;
- **max_wait_ms**: a call that waited longer than this for a worker is dropped
  when it reaches the head of its line (cause ``expired``: its caller has given
  up); the worker goes on to the next call.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from simpy import Environment, Event, Timeout

from .base import ClassNodeStats, Failure, NodeStats, OutEdge, Request, Serve, Span

if TYPE_CHECKING:  # pragma: no cover
    from ..randomness import Draw

__all__ = ["Pool", "ClassReplica", "Overload", "ClassStation", "serve_classes", "replicas_for"]


class ClassStation(Protocol):
    """What serving by class reads of its station (a :class:`~sandbox.components.station.Station`, which
    imports this module: the protocol keeps the import one way)."""
    env: Environment
    name: str
    stats: NodeStats
    overload: Any
    class_stats: list[ClassNodeStats] | None
    workers: int
    queue_limit: int | None
    down: bool
    slow: float
    error_p: float
    draw_error: "Draw"
    down_failure: Failure
    error_failure: Failure
    queue_full: Failure

    def calls_after_service(self, request: Request) -> list[OutEdge]: ...

    def call_edges(self, request: Request, edges: list[OutEdge]) -> Serve: ...


class Pool:
    """Workers of one replica that serve the same classes, and their line."""

    __slots__ = ("free", "fifo", "heap", "seq")

    def __init__(self, workers: int) -> None:
        self.free = workers
        self.fifo: deque[tuple[Event, float]] = deque()
        self.heap: list[tuple[int, int, Event, float]] = []   # (-priority, arrival order, turn, arrived at)
        self.seq = 0

    def waiting(self) -> int:
        return len(self.fifo) + len(self.heap)


class _Waiting:
    """A replica's waiting calls over all its pools, counted as ``len()`` (what least-connections reads)."""

    __slots__ = ("pools",)

    def __init__(self, pools: list[Pool]) -> None:
        self.pools = pools

    def __len__(self) -> int:
        return sum(p.waiting() for p in self.pools)


class ClassReplica:
    """One copy of a class-aware station: its pools of workers (shared first, then the bulkheads)."""

    __slots__ = ("index", "workers", "free", "waiting", "limit", "pools", "queued", "held")

    def __init__(self, index: int, workers: int, limit: int | None, bulkheads: Sequence[int]) -> None:
        self.index = index
        self.workers = workers
        self.free = workers
        self.pools = [Pool(workers - sum(bulkheads))] + [Pool(n) for n in bulkheads]
        self.waiting = _Waiting(self.pools)
        self.limit = limit if limit is not None else float("inf")
        self.queued = 0   # calls waiting in all pools
        self.held = 0.0   # time its workers were held by measured calls (a shard's busy share)

    def load(self) -> int:
        return self.workers - self.free + self.queued


class Overload:
    """A station's class-aware settings: pools, line order, service times, shedding and expiry, by class."""

    def __init__(self, name: str, priorities: Sequence[int], priority_order: bool, pool_of: Sequence[int],
                 bulkheads: Sequence[int], services: Sequence["Draw"], shed_over: int | None, shed_below: int,
                 max_wait_s: float | None, shed_reason: str) -> None:
        self.priorities = list(priorities)
        self.priority_order = priority_order
        self.pool_of = list(pool_of)        # class index -> pool index (0: shared)
        self.bulkheads = list(bulkheads)    # workers of pools 1.. per replica
        self.services = list(services)      # class index -> service-time draw
        self.shed_over = shed_over
        self.shed_below = shed_below
        self.max_wait_s = max_wait_s
        self.shed = Failure("rejected", name, shed_reason, "shed")
        self.expired = Failure("failed", name, f"expired (waited over {(max_wait_s or 0) * 1000:g} ms for a worker)",
                               "expired")


def _release(station: ClassStation, replica: ClassReplica, pool: Pool, now: float) -> None:
    """A call finished with a worker of `pool`: hand it to the next call in line that is still wanted."""
    ov: Overload = station.overload
    stats = station.stats
    max_wait = ov.max_wait_s
    while True:
        if pool.heap:
            _, _, turn, t_arrive = heapq.heappop(pool.heap)
        elif pool.fifo:
            turn, t_arrive = pool.fifo.popleft()
        else:
            break
        replica.queued -= 1
        stats.queued -= 1
        if max_wait is not None and now - t_arrive > max_wait:
            turn.succeed(False)  # its caller has given up: dropped at the head of the line
            continue
        turn.succeed(True)       # the worker passes straight to it
        return
    pool.free += 1
    replica.free += 1
    stats.busy -= 1


def serve_classes(station: ClassStation, request: Request, replica: ClassReplica) -> Serve:
    """One call to a class-aware station (the same steps as :meth:`Station.serve`, by class and by pool)."""
    env = station.env
    stats = station.stats
    ov: Overload = station.overload
    cls = request.cls
    cstats: list[ClassNodeStats] = station.class_stats  # type: ignore[assignment]
    cs = cstats[cls]
    measured = request.measured
    t_arrive = env.now
    if measured:
        stats.arrived += 1
        cs.arrived += 1
    failure: Failure | None
    if station.down:
        failure = station.down_failure
        if measured:
            stats.failed += 1
            cs.failed += 1
        return failure
    spans = request.spans
    sid = spans.open(request) if spans is not None else 0
    stats.advance(t_arrive)
    pool = replica.pools[ov.pool_of[cls]]
    if ov.shed_over is not None and replica.queued > ov.shed_over and ov.priorities[cls] < ov.shed_below:
        failure = ov.shed
    elif pool.free:
        pool.free -= 1
        replica.free -= 1
        stats.busy += 1
        failure = None
    elif pool.waiting() >= replica.limit:
        failure = station.queue_full
    else:
        turn = Event(env)
        if ov.priority_order:
            pool.seq += 1
            heapq.heappush(pool.heap, (-ov.priorities[cls], pool.seq, turn, t_arrive))
        else:
            pool.fifo.append((turn, t_arrive))
        replica.queued += 1
        stats.queued += 1
        if stats.queued > stats.max_queue:
            stats.max_queue = stats.queued
        wanted = yield turn
        failure = None if wanted else ov.expired
        if failure is not None:
            if measured:
                stats.failed += 1
                cs.failed += 1
            if spans is not None:
                spans.close(request, Span(station.name, replica.index, t_arrive, env.now, env.now, "expired", sid))
            return failure
    if failure is not None:  # refused at the door: shed or a full line
        if measured:
            stats.rejected += 1
            cs.rejected += 1
        if spans is not None:
            spans.close(request, Span(station.name, replica.index, t_arrive, t_arrive, t_arrive,
                                      "shed" if failure is ov.shed else "rejected", sid))
        return failure
    t_start = env.now
    yield Timeout(env, ov.services[cls]() * station.slow)
    t_served = env.now
    if station.error_p and station.draw_error() < station.error_p:
        failure = station.error_failure
    else:
        edges = station.calls_after_service(request)
        failure = (yield from station.call_edges(request, edges)) if edges else None
    t_end = env.now
    stats.advance(t_end)
    _release(station, replica, pool, t_end)
    if measured:
        if failure is None:
            stats.completed += 1
            cs.completed += 1
        else:
            stats.failed += 1
            cs.failed += 1
        wait = t_start - t_arrive
        stats.record(wait, t_served - t_start, t_end - t_arrive)
        replica.held += t_end - t_start
        if wait > 1e-9:
            cs.wait.add(wait)
        else:
            cs.wait.add_zero()
    if spans is not None:
        spans.close(request, Span(station.name, replica.index, t_arrive, t_start, t_end,
                                  "ok" if failure is None else "failed", sid))
    return failure


def replicas_for(station: ClassStation, count: int, start: int = 0) -> list[Any]:
    """`count` class-aware replicas for `station`, numbered from `start`."""
    ov: Overload = station.overload
    return [ClassReplica(start + i, station.workers, station.queue_limit, ov.bulkheads) for i in range(count)]
