"""Topics: publish/subscribe (SNS, Google Pub/Sub, a fan-out exchange); each outgoing edge is a subscription.

A producer's call ends at once; every subscription gets its own copy of the
message, in a FIFO buffer of ``capacity`` messages with its own consumers
(``consumers`` per subscription; by default one per worker of the node it
feeds). A full subscription drops its copy; the others and the producer do not
notice. Each subscription is a queue of its own: with c consumers and the
subscriber's service time E[S], it keeps up while rate x E[S] < c.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Literal

from pydantic import Field

from ..components.stream import Topic
from ..findings import Finding
from ..model import MAX_COUNT, MAX_PRICE, MAX_PROCESSES
from .base import COST_FIELD, Build, Capacity, FormField, Kind, NodeSpec, Problem, ScenarioView
from .stream import consumer_figures

if TYPE_CHECKING:  # pragma: no cover
    from ..components import Component

__all__ = ["TopicNode", "TOPIC"]


class TopicNode(NodeSpec):
    """Pub/sub: every subscription (outgoing edge) gets a copy of each message."""
    kind: Literal["topic"]
    capacity: int = Field(default=10_000, ge=1, le=MAX_COUNT, description="messages each subscription holds at most")
    consumers: int | None = Field(default=None, ge=1, le=MAX_PROCESSES,
                                  description="consumers per subscription; default: the workers of the node it feeds")
    cost_per_hour: float | None = Field(default=None, ge=0, le=MAX_PRICE)


def subscription_consumers(s: ScenarioView, name: str) -> list[int]:
    """Each subscription's consumers, in the order of the edges."""
    node = s.nodes[name]
    assert isinstance(node, TopicNode)
    return [int(node.consumers) if node.consumers is not None else max(1, consumer_figures(s, e.target)[2])
            for e in s.out_edges(name)]


class TopicKind(Kind[TopicNode]):
    name = "topic"
    label = "topic"
    spec = TopicNode
    price = 0.05
    shape = "hexagon"
    mermaid = ("((", "))")
    icon = "campaign"
    stem = "topic"
    asynchronous = True
    palette: ClassVar[dict[str, Any]] = {"kind": "topic", "capacity": 10000}
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = (
        (FormField("capacity", "Capacity per subscription", "integer",
                   "messages each subscription holds at most; a full one drops its copy", default=10000),
         FormField("consumers", "Consumers per subscription", "optional_integer", "messages processed at once",
                   placeholder="default: the workers of the node it feeds")),
        (COST_FIELD,),
    )

    def problems(self, s: ScenarioView, name: str, node: TopicNode) -> Iterator[Problem]:
        total = sum(subscription_consumers(s, name))
        if total > MAX_PROCESSES:
            yield f"nodes.{name}.consumers", (f"its subscriptions start {total:,} consumers in all; at most "
                                              f"{MAX_PROCESSES:,} (set consumers)")
        for e in s.out_edges(name):
            if e.probability < 1:
                yield (f"nodes.{name}", f"the subscription of {e.target} has probability {e.probability:g}: every "
                                        "subscription gets every message (leave out probability)")

    def compile(self, build: Build, name: str, node: TopicNode) -> Topic:
        return Topic(build.env, name, self.name, node.capacity, build.streams.sampler(f"node:{name}:route", "random"))

    def start(self, build: Build, name: str, node: TopicNode, component: "Component") -> None:
        assert isinstance(component, Topic)
        component.start(subscription_consumers(build.scenario, name))

    def processes(self, s: ScenarioView, name: str, node: TopicNode) -> int:
        return sum(subscription_consumers(s, name))

    def capacity(self, s: ScenarioView, name: str, node: TopicNode) -> Capacity:
        return Capacity(max(1, sum(subscription_consumers(s, name))), 1)

    def calls_in_flight(self, s: ScenarioView, name: str, node: TopicNode, target: str) -> int | None:
        return sum(c for e, c in zip(s.out_edges(name), subscription_consumers(s, name)) if e.target == target)

    def limit_rps(self, s: ScenarioView, name: str, node: TopicNode) -> float | None:
        limits = [c / mean for e, c in zip(s.out_edges(name), subscription_consumers(s, name))
                  if (mean := consumer_figures(s, e.target)[0]) > 0]
        return min(limits, default=None)

    def waiting_slots(self, node: TopicNode) -> int:
        return int(node.capacity)

    def out_of_scope(self, node: TopicNode) -> str | None:
        return "each subscription is a queue of its own (see its figures: utilization per subscription)"

    def predicted_figures(self, s: ScenarioView, node: TopicNode, rate: Callable[[], float]) -> dict[str, Any]:
        lam = rate()
        name = next(n for n, other in s.nodes.items() if other is node)
        subs = {}
        for e, c in zip(s.out_edges(name), subscription_consumers(s, name)):
            mean, _, _, exact = consumer_figures(s, e.target)
            subs[e.target] = {"predicted_utilization": lam * mean / c,
                              "predicted_backlog_growth_per_s": max(0.0, lam - c / mean) if mean > 0 else 0.0,
                              "exact": exact}
        return {"subscriptions": subs}

    def load_findings(self, s: ScenarioView, name: str, node: TopicNode, offered_rps: float) -> Iterable[Finding]:
        for sub, f in self.predicted_figures(s, node, lambda: offered_rps)["subscriptions"].items():
            if f["predicted_backlog_growth_per_s"] > 0:
                yield Finding("warning", "subscription_backlog", name,
                              f"the subscription of {sub} to {name} falls behind by about "
                              f"{f['predicted_backlog_growth_per_s']:,.0f} messages a second: its buffer fills, then "
                              "drops copies")

    def design_findings(self, s: ScenarioView, name: str, node: TopicNode) -> Iterable[Finding]:
        if not s.out_edges(name):
            yield Finding("warning", "no_consumers", name, f"{name} has no subscriptions: its messages go nowhere")

    def summary(self, node: TopicNode) -> str:
        return f"capacity {node.capacity:,} per subscription"


TOPIC = TopicKind()
