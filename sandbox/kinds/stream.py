"""Streams: a partitioned, retained log (Kafka, Kinesis); each outgoing edge is a consumer group.

A producer's call appends its message to partition ``key % partitions`` (in
turn without keys) and ends at once. Each consumer group (one per outgoing
edge) reads every partition in order, one message at a time per partition, so
a group processes at most ``partitions`` messages at once however many workers
its consumer has, and a hot key makes one partition lag while the others idle.
A message a group has not read within ``retention_s`` is lost for it. See
:mod:`sandbox.components.stream` for the runtime.

Theory (:meth:`StreamKind.predicted_figures`): with the consumer's workers at
least the partitions, each partition is an M/G/1 queue fed by its keys' share
of the messages (Poisson in, the consumer's service time), so its utilization
is rate x share x E[S], its mean wait Pollaczek-Khinchine's, and the group
keeps up while the hottest partition does: capacity 1 / (hottest share x
E[S]); past it, the lag grows by the excess of each partition over 1 / E[S]
a second. With fewer workers than partitions, the workers bound it:
workers / E[S].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Literal

from pydantic import Field

from ..components.stream import Stream
from ..findings import Finding
from ..keys import modulo_shares
from ..model import MAX_PRICE, MAX_S
from .base import COST_FIELD, Build, Capacity, FormField, Kind, NodeSpec, Problem, ScenarioView

if TYPE_CHECKING:  # pragma: no cover
    from ..components import Component

__all__ = ["StreamNode", "STREAM", "consumer_figures"]

MAX_PARTITIONS = 1024


class StreamNode(NodeSpec):
    """A partitioned log: messages by key into partitions, read in order by each consumer group."""
    kind: Literal["stream"]
    partitions: int = Field(default=6, ge=1, le=MAX_PARTITIONS, description="message k goes to partition k % partitions")
    retention_s: float = Field(default=3600.0, gt=0, le=MAX_S, description="a message unread this long is lost")
    cost_per_hour: float | None = Field(default=None, ge=0, le=MAX_PRICE)


def consumer_figures(s: ScenarioView, target: str) -> tuple[float, float, int, bool]:
    """A consumer's (mean service s, second moment s^2, workers in all replicas, exact?): its own service time;
    not exact when it makes calls of its own (their time is not counted: a lower bound)."""
    node: Any = s.nodes[target]
    st = getattr(node, "service_time", None)
    if st is None:
        return 0.0, 0.0, 1, False
    mean = st.mean_ms / 1000.0
    workers = int(getattr(node, "workers", 1)) * int(getattr(node, "replicas", 1))
    return mean, mean * mean * (1.0 + st.scv()), workers, not s.out_edges(target)


class StreamKind(Kind[StreamNode]):
    name = "stream"
    label = "stream"
    spec = StreamNode
    price = 0.10
    shape = "parallelogram"
    mermaid = ("[/", "/]")
    icon = "stream"
    stem = "stream"
    asynchronous = True
    palette: ClassVar[dict[str, Any]] = {"kind": "stream", "partitions": 6, "retention_s": 3600}
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = (
        (FormField("partitions", "Partitions", "integer",
                   "message k goes to partition k % partitions; a consumer group reads each partition in order, one "
                   "message at a time, so it processes at most this many at once", default=6),
         FormField("retention_s", "Retention s", "number", "a message a group has not read this long is lost for it",
                   step=60.0, default=3600.0)),
        (COST_FIELD,),
    )

    def problems(self, s: ScenarioView, name: str, node: StreamNode) -> Iterator[Problem]:
        groups = s.out_edges(name)
        if node.partitions * len(groups) > 100_000:
            yield f"nodes.{name}.partitions", (f"{node.partitions:,} partitions x {len(groups)} consumer groups is "
                                               f"{node.partitions * len(groups):,} readers; at most 100,000")
        for e in groups:
            if e.probability < 1:
                yield (f"nodes.{name}", f"the call to {e.target} has probability {e.probability:g}: a consumer group "
                                        "reads every message (leave out probability)")

    def compile(self, build: Build, name: str, node: StreamNode) -> Stream:
        duration = build.scenario.workload.duration_s
        return Stream(build.env, name, self.name, node.partitions, node.retention_s,
                      build.streams.sampler(f"node:{name}:route", "random"), max(1.0, duration / 2048))

    def start(self, build: Build, name: str, node: StreamNode, component: "Component") -> None:
        assert isinstance(component, Stream)
        component.start()

    def processes(self, s: ScenarioView, name: str, node: StreamNode) -> int:
        return int(node.partitions) * len(s.out_edges(name))

    def capacity(self, s: ScenarioView, name: str, node: StreamNode) -> Capacity:
        # per group: min(partitions, the consumer's workers) readers; their holds add up over the groups
        readers = sum(min(node.partitions, consumer_figures(s, e.target)[2]) for e in s.out_edges(name))
        return Capacity(max(1, readers), 1)

    def calls_in_flight(self, s: ScenarioView, name: str, node: StreamNode, target: str) -> int | None:
        return int(node.partitions) * sum(1 for e in s.out_edges(name) if e.target == target)   # a reader each

    def limit_rps(self, s: ScenarioView, name: str, node: StreamNode) -> float | None:
        groups = self.predicted_figures(s, node, lambda: 0.0)["groups"]
        return min((g["predicted_capacity_rps"] for g in groups.values()), default=None)

    def waiting_slots(self, node: StreamNode) -> int | None:
        return None

    def out_of_scope(self, node: StreamNode) -> str | None:
        return ("a stream's partitions are queues of their own, one per partition and group (see its group "
                "figures: each partition as an M/G/1 queue)")

    def predicted_figures(self, s: ScenarioView, node: StreamNode, rate: Callable[[], float]) -> dict[str, Any]:
        lam = rate()
        shares = modulo_shares(s.workload.keys, node.partitions)
        groups = {}
        for e in s.out_edges(s_name(s, node)):
            mean, second, workers, exact = consumer_figures(s, e.target)
            hot = max(range(node.partitions), key=lambda p: (shares[p], -p))
            util = [lam * q * mean for q in shares]
            if workers >= node.partitions:
                capacity = 1.0 / (shares[hot] * mean) if mean > 0 else float("inf")
                growth = sum(max(0.0, lam * q - 1.0 / mean) for q in shares) if mean > 0 else 0.0
                if max(util) < 1.0:
                    # Pollaczek-Khinchine per partition, weighted by its share of the messages
                    fresh = sum(q * (lam * q * second / (2 * (1 - u)) + mean) for q, u in zip(shares, util))
                else:
                    fresh = None
                method = "each partition an M/G/1 queue, by Pollaczek-Khinchine"
            else:
                capacity = workers / mean if mean > 0 else float("inf")
                growth = max(0.0, lam - capacity)
                fresh = None
                method = (f"the consumer's {workers} workers serve the {node.partitions} partitions: a bound on what "
                          "it keeps up with, no waits")
            groups[e.target] = {
                "predicted_capacity_rps": capacity, "predicted_partition_utilization": util,
                "predicted_hottest_partition": hot, "predicted_partition_shares": shares,
                "predicted_lag_growth_per_s": growth,
                "predicted_freshness_ms": 1000 * fresh if fresh is not None else None,
                "idle_consumers": max(0, workers - node.partitions),
                "method": method + ("" if exact else "; the consumer calls further nodes: its own service time only, "
                                                      "a lower bound"),
            }
        return {"groups": groups}

    def load_findings(self, s: ScenarioView, name: str, node: StreamNode, offered_rps: float) -> Iterable[Finding]:
        for group, f in self.predicted_figures(s, node, lambda: offered_rps)["groups"].items():
            if f["predicted_lag_growth_per_s"] > 0:
                yield Finding("warning", "consumer_lag", name,
                              f"consumer group {group} of {name} keeps up with {f['predicted_capacity_rps']:,.0f} "
                              f"messages a second at most: its lag grows by about "
                              f"{f['predicted_lag_growth_per_s']:,.0f} a second")
            if f["idle_consumers"]:
                yield Finding("info", "idle_consumers", group,
                              f"{group} has {f['idle_consumers']} more workers than {name} has partitions: they sit "
                              f"idle as its consumers (add partitions to use them)")

    def design_findings(self, s: ScenarioView, name: str, node: StreamNode) -> Iterable[Finding]:
        if not s.out_edges(name):
            yield Finding("warning", "no_consumers", name, f"{name} has no consumer groups: its messages expire unread")

    def summary(self, node: StreamNode) -> str:
        return f"{node.partitions} partitions, {node.retention_s:g} s retention"


def s_name(s: ScenarioView, node: StreamNode) -> str:
    """The name of `node` in `s` (predicted_figures is given the node, not its name)."""
    return next(n for n, other in s.nodes.items() if other is node)


STREAM = StreamKind()
