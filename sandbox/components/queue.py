"""Message queues: the producer's call ends once the message is stored; consumers do the rest.

A queue decouples: a producer's call succeeds as soon as its message is in the
queue (or is rejected when ``capacity`` messages are already waiting), so slow
consumers show as queue depth and message age, not as producer latency.
``consumers`` processes each take the oldest message and make the queue's
outgoing calls for it, synchronously, one message at a time.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from simpy import Environment, Event

from ..randomness import Draw
from .base import ClassNodeStats, Component, Failure, Request, Serve, Span

__all__ = ["MessageQueue"]


class MessageQueue(Component):
    """A bounded FIFO buffer with a pool of consumers."""

    serves_itself = False  # its consumers only make the queue's calls

    def __init__(self, env: Environment, name: str, kind: str, capacity: int, route: Draw) -> None:
        super().__init__(env, name, kind, route)
        self.capacity_messages = capacity
        self.consumers = 0
        self.buffer: deque[Request] = deque()
        self.idle: deque[Event] = deque()  # consumers waiting for a message
        self.full = Failure("rejected", name, f"queue full ({capacity} messages)")
        self.consumed = 0                  # messages taken by a consumer (for conservation)

    def capacity(self) -> int:
        return self.consumers

    def track_classes(self, count: int) -> None:
        """Count each class's messages: arrived and rejected when sent, completed and age when consumed."""
        self.class_stats = [ClassNodeStats() for _ in range(count)]

    def start(self, consumers: int) -> None:
        """Start the consumer processes (after the edges are compiled)."""
        self.consumers = consumers
        self.stats.capacity = consumers
        for _ in range(consumers if self.edges else 0):
            self.env.process(self.consume())

    def serve(self, request: Request, replica: Any) -> Serve:
        """Enqueue a message for `request`; answers at once."""
        stats = self.stats
        now = self.env.now
        measured = request.measured
        class_stats = self.class_stats
        if measured:
            stats.arrived += 1
            if class_stats is not None:
                class_stats[request.cls].arrived += 1
        if len(self.buffer) >= self.capacity_messages:
            if measured:
                stats.rejected += 1
                if class_stats is not None:
                    class_stats[request.cls].rejected += 1
            spans = request.spans
            if spans is not None:
                spans.close(request, Span(self.name, 0, now, now, now, "rejected", spans.open(request)))
            return self.full
        message = Request(request.id, now, measured, request.spans, request.cls, request.key)
        message.zone = request.zone   # its consumers call from where it was sent
        if message.spans is not None:
            # the queue's span (ended when a consumer is done with the message) is the caller's child,
            # and the parent of the calls the consumer makes for it
            message.parent = request.parent
            message.spans.open(message)
        if self.idle:
            self.idle.popleft().succeed(message)
        else:
            stats.advance(now)
            self.buffer.append(message)
            stats.queued += 1
            if stats.queued > stats.max_queue:
                stats.max_queue = stats.queued
        return None
        yield  # a generator, like every serve()

    def consume(self) -> Serve:
        """One consumer: take the oldest message, make the queue's calls for it, repeat."""
        env = self.env
        stats = self.stats
        while True:
            if self.buffer:
                stats.advance(env.now)
                stats.queued -= 1
                message = self.buffer.popleft()
            else:
                wake = Event(env)
                self.idle.append(wake)
                message = yield wake
            t_start = env.now
            self.consumed += 1
            stats.advance(t_start)
            stats.busy += 1
            failure = yield from self.call_edges(message, self.edges)
            t_end = env.now
            stats.advance(t_end)
            stats.busy -= 1
            if message.measured:
                if failure is None:
                    stats.completed += 1
                else:
                    stats.failed += 1
                # wait = the message's age when taken; service = the consumer's calls
                stats.record(t_start - message.t0, t_end - t_start, t_end - message.t0)
                if self.class_stats is not None:
                    cs = self.class_stats[message.cls]
                    cs.ended(failure)
                    if t_start - message.t0 > 1e-9:
                        cs.wait.add(t_start - message.t0)
                    else:
                        cs.wait.add_zero()
            if message.spans is not None:
                message.spans.append(Span(self.name, 0, message.t0, t_start, t_end,
                                          "ok" if failure is None else "failed", message.parent))
