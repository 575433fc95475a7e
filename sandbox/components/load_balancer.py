"""Load balancers: pick a replica of the downstream node for each call, by policy.

A load balancer holds no workers and adds no service time; it passes each call
to one replica of each downstream node it calls (its edges, taken like any
node's). The policy is a small class per name, registered in :data:`POLICIES`:

- ``round_robin``: replicas in turn.
- ``random``: a replica uniformly at random (a Jackson split: each replica sees
  a Poisson stream at rate / replicas).
- ``least_connections``: the replica with the fewest calls in it, served or waiting.
- ``power_of_two``: two distinct replicas at random, the less loaded of the two.
"""

from __future__ import annotations

from typing import Any, Callable

from simpy import Environment

from ..randomness import Draw
from .base import Component, Request, Serve, Span
from .station import Replica, Station

__all__ = ["LoadBalancer", "POLICIES", "make_picker"]


class RoundRobin:
    def __init__(self, replicas: list[Replica], draw: Draw) -> None:
        self.replicas = replicas
        self.i = -1

    def __call__(self) -> Replica:
        self.i = (self.i + 1) % len(self.replicas)
        return self.replicas[self.i]


class RandomChoice:
    def __init__(self, replicas: list[Replica], draw: Draw) -> None:
        self.replicas = replicas
        self.draw = draw

    def __call__(self) -> Replica:
        return self.replicas[int(self.draw() * len(self.replicas))]


class LeastConnections:
    def __init__(self, replicas: list[Replica], draw: Draw) -> None:
        self.replicas = replicas

    def __call__(self) -> Replica:
        return min(self.replicas, key=Replica.load)  # ties: the lowest index


class PowerOfTwo:
    def __init__(self, replicas: list[Replica], draw: Draw) -> None:
        self.replicas = replicas
        self.draw = draw

    def __call__(self) -> Replica:
        reps = self.replicas
        n = len(reps)
        if n == 1:
            return reps[0]
        a = int(self.draw() * n)
        b = int(self.draw() * (n - 1))
        b = b + 1 if b >= a else b  # a second, different replica
        return reps[a] if reps[a].load() <= reps[b].load() else reps[b]


POLICIES: dict[str, type] = {
    "round_robin": RoundRobin,
    "random": RandomChoice,
    "least_connections": LeastConnections,
    "power_of_two": PowerOfTwo,
}


def make_picker(policy: str, target: Component, draw: Draw) -> Callable[[], object]:
    """The replica chooser a load balancer uses for calls to `target`."""
    if not isinstance(target, Station):
        return target.next_replica  # queues and other balancers have no replicas to choose
    return POLICIES[policy](target.replicas, draw)


class LoadBalancer(Component):
    """Passes calls through to its downstream nodes, choosing replicas by policy."""

    def __init__(self, env: Environment, name: str, kind: str, policy: str, route: Draw) -> None:
        super().__init__(env, name, kind, route)
        self.policy = policy

    def picker_for(self, target: Component, draw: Callable[[], Draw]) -> Callable[[], Any]:
        return make_picker(self.policy, target, draw())

    def serve(self, request: Request, replica: object) -> Serve:
        env = self.env
        stats = self.stats
        t_arrive = env.now
        measured = request.measured
        if measured:
            stats.arrived += 1
        spans = request.spans
        sid = spans.open(request) if spans is not None else 0
        failure = yield from self.call_edges(request, self.edges)
        if measured:
            if failure is None:
                stats.completed += 1
            else:
                stats.failed += 1
            stats.record(0.0, 0.0, env.now - t_arrive)
        if spans is not None:
            spans.close(request, Span(self.name, 0, t_arrive, t_arrive, env.now,
                                      "ok" if failure is None else "failed", sid))
        return failure
