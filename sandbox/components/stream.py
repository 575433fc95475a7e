"""Streams and topics at run time: partitioned logs read by consumer groups, and pub/sub fan-out.

A **stream** appends each message to partition ``key % partitions`` (in turn when requests carry no key) and
answers the producer at once. Each outgoing edge is a consumer *group* with its own position in every
partition: one process per partition reads that partition's messages in order, one at a time, and makes the
group's call for each (partition p is served by replica ``p % replicas`` of the consumer, so a consumer with
fewer workers than partitions makes partitions wait for one another, and workers beyond the partitions sit
idle). A message older than ``retention_s`` that a group has not read is lost for that group (counted as
expired). The log keeps a message until every group has read it or it expires.

A **topic** gives every subscription (outgoing edge) its own copy of each message, in a FIFO buffer of its own
with its own consumers (a :class:`~sandbox.components.queue.MessageQueue` per subscription); a full
subscription drops its copy, the others and the publisher are unaffected.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from simpy import Environment, Event, Timeout

from ..randomness import Draw
from ..stats import LogHistogram
from .base import Component, OutEdge, Request, Serve
from .queue import MessageQueue

__all__ = ["Stream", "Group", "Topic"]


class Group:
    """One consumer group of a stream: its position in each partition, and what it read (measured messages)."""

    def __init__(self, stream: "Stream", edge: OutEdge) -> None:
        n = stream.partitions
        self.stream = stream
        self.edge = edge
        self.name = edge.target.name
        self.pos = [0] * n                        # the next offset it reads, per partition
        self.waiting: list[Event | None] = [None] * n
        self.consumed = [0] * n                   # measured messages processed, per partition
        self.failed = self.expired = 0
        self.freshness = LogHistogram()           # produce to processed, of the messages processed well
        self.busy = 0                             # partitions being processed now
        self.busy_area = 0.0
        self.t_last = 0.0
        self.series: list[tuple[float, list[int], float]] = []   # (t, lag per partition, oldest unread age s)

    def advance(self, now: float) -> None:
        self.busy_area += self.busy * (now - self.t_last)
        self.t_last = now

    def wake(self, p: int) -> None:
        ev = self.waiting[p]
        if ev is not None:
            self.waiting[p] = None
            ev.succeed()

    def lag(self, p: int) -> int:
        """Messages in partition p it has not taken yet."""
        return self.stream.produced[p] - self.pos[p]

    def consume(self, p: int) -> Serve:
        """Read partition p in order, one message at a time, forever."""
        stream, env, edge = self.stream, self.stream.env, self.edge
        log = stream.logs[p]
        target = edge.target
        while True:
            if self.pos[p] >= stream.produced[p]:
                ev = Event(env)
                self.waiting[p] = ev
                yield ev
                continue
            message = log[self.pos[p] - stream.base[p]]
            self.pos[p] += 1
            stream.unread(-1)
            if env.now - message.t0 > stream.retention:
                if message.measured:
                    self.expired += 1
                stream.trim(p)
                continue
            self.advance(env.now)
            self.busy += 1
            stream.stats.advance(env.now)
            stream.stats.busy += 1
            t_start = env.now
            if message.measured:
                edge.calls += 1
            if edge.policy is not None:
                failure = yield from edge.policy.call(message)
            else:
                replicas = getattr(target, "replicas", None)
                replica = replicas[p % len(replicas)] if replicas else edge.pick()
                if edge.latency_s:
                    yield Timeout(env, edge.latency_s)
                failure = yield from target.serve(message, replica)
                if edge.latency_s:
                    yield Timeout(env, edge.latency_s)
            now = env.now
            self.advance(now)
            self.busy -= 1
            stream.stats.advance(now)
            stream.stats.busy -= 1
            if message.measured:
                self.consumed[p] += 1
                stream.stats.record(t_start - message.t0, now - t_start, now - message.t0)
                if failure is None:
                    self.freshness.add(now - message.t0)
                else:
                    self.failed += 1
            stream.trim(p)

    def sample(self, now: float) -> None:
        """One point of its series: the lag of each partition, and the age of its oldest unread message."""
        stream = self.stream
        oldest = 0.0
        lags = []
        for p in range(stream.partitions):
            lag = self.lag(p)
            lags.append(lag)
            if lag:
                oldest = max(oldest, now - stream.logs[p][self.pos[p] - stream.base[p]].t0)
        self.series.append((now, lags, oldest))


class Stream(Component):
    """A partitioned, retained log with one consumer group per outgoing edge (see the module docstring)."""

    serves_itself = False

    def __init__(self, env: Environment, name: str, kind: str, partitions: int, retention_s: float,
                 route: Draw, sample_every_s: float) -> None:
        super().__init__(env, name, kind, route)
        self.partitions = partitions
        self.retention = retention_s
        self.logs: list[deque[Request]] = [deque() for _ in range(partitions)]
        self.base = [0] * partitions              # the offset of each log's first message
        self.produced = [0] * partitions          # messages appended, per partition (the next offset)
        self.measured_in = [0] * partitions       # of them, those after warm-up
        self.groups: list[Group] = []
        self.next_partition = 0
        self.sample_every = sample_every_s

    def capacity(self) -> int:
        return self.partitions * max(1, len(self.groups))

    def start(self) -> None:
        """One group per edge, one reader per partition in each; and the sampler of their lag."""
        self.groups = [Group(self, e) for e in self.edges]
        self.stats.capacity = self.capacity()
        for g in self.groups:
            for p in range(self.partitions):
                self.env.process(g.consume(p))
        if self.groups:
            self.env.process(self._sampler())

    def _sampler(self) -> Serve:
        while True:
            yield Timeout(self.env, self.sample_every)
            now = self.env.now
            for p in range(self.partitions):   # what has outlived the retention is gone, appended to or not
                self._expire(p, now)
            for g in self.groups:
                g.sample(now)

    def serve(self, request: Request, replica: Any) -> Serve:
        """Append a message for `request` to its partition; answers at once."""
        env = self.env
        now = env.now
        measured = request.measured
        if measured:
            self.stats.arrived += 1
            self.stats.completed += 1
        key = request.key
        if key >= 0:
            p = key % self.partitions
        else:
            p = self.next_partition
            self.next_partition = (p + 1) % self.partitions
        message = Request(request.id, now, measured, None, request.cls, key)
        message.zone = request.zone
        self.logs[p].append(message)
        self.produced[p] += 1
        if measured:
            self.measured_in[p] += 1
        self.unread(len(self.groups))
        self._expire(p, now)
        for g in self.groups:
            g.wake(p)
        return None
        yield  # a generator, like every serve()

    def _expire(self, p: int, now: float) -> None:
        """Drop the messages of partition p older than the retention: lost for every group that had not read them."""
        log, retention = self.logs[p], self.retention
        while log and now - log[0].t0 > retention:
            message = log.popleft()
            offset = self.base[p]
            self.base[p] += 1
            for g in self.groups:
                if g.pos[p] <= offset:
                    g.pos[p] = offset + 1
                    self.unread(-1)
                    if message.measured:
                        g.expired += 1

    def unread(self, change: int) -> None:
        """Messages not yet taken, summed over the groups: the node's queue."""
        stats = self.stats
        stats.advance(self.env.now)
        stats.queued += change
        if stats.queued > stats.max_queue:
            stats.max_queue = stats.queued

    def trim(self, p: int) -> None:
        """Drop the messages of partition p every group has read."""
        read = min(g.pos[p] for g in self.groups)
        log = self.logs[p]
        while self.base[p] < read and log:
            log.popleft()
            self.base[p] += 1

    def pipeline_figures(self, measured_s: float) -> dict[str, Any]:
        now = self.env.now
        groups = {}
        for g in self.groups:
            g.advance(now)
            lags = [g.lag(p) for p in range(self.partitions)]
            consumed = sum(g.consumed)
            hottest = max(range(self.partitions), key=lambda p: (g.consumed[p] + lags[p], -p))
            groups[g.name] = {
                "consumed": consumed, "failed": g.failed, "expired": g.expired,
                "consumed_per_partition": list(g.consumed), "lag_at_end": lags,
                "hottest_partition": hottest,
                "busy_partitions_mean": g.busy_area / now if now else 0.0,
                "freshness_ms": {"mean": 1000 * g.freshness.mean, "p50": 1000 * g.freshness.quantile(0.5),
                                 "p99": 1000 * g.freshness.quantile(0.99), "max": 1000 * g.freshness.high}
                if g.freshness.count else {"mean": 0.0, "p50": 0.0, "p99": 0.0, "max": 0.0},
                "series": {"t_s": [t for t, _, _ in g.series], "lag_messages": [sum(x) for _, x, _ in g.series],
                           "lag_by_partition": [x for _, x, _ in g.series],
                           "oldest_unread_s": [a for _, _, a in g.series]},
            }
        return {"partitions": self.partitions, "retention_s": self.retention,
                "produced_per_partition": list(self.measured_in), "groups": groups}


class Topic(Component):
    """Pub/sub: every subscription (outgoing edge) gets a copy of each message (see the module docstring)."""

    serves_itself = False

    def __init__(self, env: Environment, name: str, kind: str, capacity: int, route: Draw) -> None:
        super().__init__(env, name, kind, route)
        self.capacity_messages = capacity
        self.subscriptions: list[MessageQueue] = []

    def capacity(self) -> int:
        return 0   # it holds no workers itself: its subscriptions' consumers are in its figures

    def start(self, consumers: list[int]) -> None:
        """A buffer and its consumers per subscription, in the order of the edges."""
        for edge, count in zip(self.edges, consumers):
            sub = MessageQueue(self.env, f"{self.name}:{edge.target.name}", self.kind, self.capacity_messages,
                               self.route)
            sub.set_edges([edge])
            sub.start(count)
            self.subscriptions.append(sub)

    def serve(self, request: Request, replica: Any) -> Serve:
        """Publish: a copy to every subscription (a full one drops its copy); answers at once."""
        if request.measured:
            self.stats.arrived += 1
            self.stats.completed += 1
        for sub in self.subscriptions:
            yield from sub.serve(request, None)
        return None

    def pipeline_figures(self, measured_s: float) -> dict[str, Any]:
        subs = {}
        for sub, edge in zip(self.subscriptions, self.edges):
            st = sub.stats
            subs[edge.target.name] = {
                "delivered": st.completed, "failed": st.failed, "dropped": st.rejected,
                "backlog_at_end": len(sub.buffer), "backlog_max": st.max_queue, "consumers": sub.consumers,
                "age_ms": {"mean": 1000 * st.wait.mean, "p99": 1000 * st.wait.quantile(0.99)}
                if st.wait.count else {"mean": 0.0, "p99": 0.0},
                "arrived": st.arrived,
            }
        return {"subscriptions": subs}
