"""Message queues: a producer's call ends once the message is stored; consumers do the work later.

A queue decouples: enqueuing answers at once (or is rejected when
``capacity`` messages wait), so slow consumers show as queue depth and message
age, not as producer latency, and the work behind a queue never fails the
request that sent it. ``consumers`` processes take the oldest message each and
make the queue's calls for it; by default there is one consumer per worker of
the nodes the queue feeds (see :func:`consumers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator, Literal

from pydantic import Field

from ..components import MessageQueue
from ..findings import Finding
from ..model import MAX_COUNT, MAX_PRICE, MAX_PROCESSES
from ..calls import ROUTE_HELP, Route, route_problems
from .base import COST_FIELD, Build, Capacity, FormField, Kind, NodeSpec, Problem, ScenarioView

if TYPE_CHECKING:  # pragma: no cover
    from ..components import Component

__all__ = ["QueueNode", "QUEUE", "consumers"]


class QueueNode(NodeSpec):
    """A message queue: accepts a message at once, consumers process it later."""
    kind: Literal["queue"]
    capacity: int = Field(default=10_000, ge=1, le=MAX_COUNT, description="messages held at most; a full queue rejects")
    consumers: int | None = Field(default=None, ge=1, le=MAX_PROCESSES,
                                  description="concurrent consumers; default: the workers of the nodes it feeds")
    cost_per_hour: float | None = Field(default=None, ge=0, le=MAX_PRICE)
    route: Route | None = Field(default=None, description=ROUTE_HELP)


def consumers(s: ScenarioView, name: str) -> int:
    """The consumers of queue `name`: as set, or one per worker of the nodes it feeds (at least one)."""
    node = s.nodes[name]
    assert isinstance(node, QueueNode)
    if node.consumers is not None:
        return int(node.consumers)
    total = 0
    for e in s.out_edges(name):
        t: Any = s.nodes[e.target]  # workers, for nodes that have them
        total += t.workers * t.replicas if hasattr(t, "workers") else 1
    return max(total, 1)


class QueueKind(Kind[QueueNode]):
    name = "queue"
    label = "queue"
    spec = QueueNode
    price = 0.05
    shape = "cds"
    mermaid = (">", "]")     # an asymmetric flag, like the DOT diagram's arrow box
    images = ("rabbitmq", "activemq", "nats", "kafka", "redpanda", "sqs", "elasticmq")
    icon = "view_list"
    stem = "queue"
    asynchronous = True
    palette: ClassVar[dict[str, Any]] = {"kind": "queue", "capacity": 10000}
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = (
        (FormField("capacity", "Capacity (messages)", "integer", "messages held at most; a full queue rejects",
                   default=10000),),
        (FormField("consumers", "Consumers", "optional_integer", "messages processed at once",
                   placeholder="default: the workers of the nodes it feeds"),),
        (COST_FIELD,),
    )

    def problems(self, s: ScenarioView, name: str, node: QueueNode) -> Iterator[Problem]:
        yield from route_problems(s.edges, s.workload.classes or (), name, node.route)
        count = consumers(s, name)
        if node.consumers is None and count > MAX_PROCESSES:
            yield f"nodes.{name}.consumers", (f"by default {name} starts one consumer per worker of the nodes it "
                                              f"feeds, {count:,} consumers; set consumers (at most "
                                              f"{MAX_PROCESSES:,})")

    def compile(self, build: Build, name: str, node: QueueNode) -> MessageQueue:
        return MessageQueue(build.env, name, self.name, node.capacity,
                            build.streams.sampler(f"node:{name}:route", "random"))

    def start(self, build: Build, name: str, node: QueueNode, component: "Component") -> None:
        assert isinstance(component, MessageQueue)
        component.start(consumers(build.scenario, name))

    def processes(self, s: ScenarioView, name: str, node: QueueNode) -> int:
        return consumers(s, name)

    def capacity(self, s: ScenarioView, name: str, node: QueueNode) -> Capacity:
        return Capacity(consumers(s, name), 1)

    def waiting_slots(self, node: QueueNode) -> int:
        return int(node.capacity)

    def spof_finding(self, name: str, node: QueueNode) -> Finding | None:
        return Finding("info", "single_point_of_failure", name,
                       f"every request enqueues at {name}; if it is down, requests fail")

    def design_findings(self, s: ScenarioView, name: str, node: QueueNode) -> Iterable[Finding]:
        if not s.out_edges(name):
            yield Finding("warning", "no_consumers", name, f"{name} has no consumers: it fills up and then rejects")

    def summary(self, node: QueueNode) -> str:
        return f"capacity {node.capacity:,}"


QUEUE = QueueKind()
