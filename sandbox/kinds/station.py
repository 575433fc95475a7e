"""What services, databases and caches share: replicas x workers with a bounded queue, and scheduled faults.

A *station* holds workers: a call takes one (or waits in its replica's queue,
or is turned away when the queue is full), is served for a service time, then
makes its own calls while still holding it. :class:`StationSpec` holds the
fields every station has, :class:`Fault` a scheduled outage, slowdown or error
burst, and :class:`StationKind` the answers every station gives. The runtime is
:class:`sandbox.components.station.Station`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterable, TypeVar

from pydantic import Field

from ..findings import Finding
from ..components import Station
from ..components.faults import schedule_faults
from ..distributions import ServiceTime
from ..model import MAX_COUNT, MAX_PRICE
from ..station_features import Fault
from .base import COST_FIELD, Build, Capacity, FormField, Kind, NodeSpec, ScenarioView

__all__ = ["StationSpec", "StationKind", "STATION_FORM"]


class StationSpec(NodeSpec):
    """The fields of every station; each station kind adds ``kind`` and its own."""
    replicas: int = Field(default=1, ge=1, le=1000, description="identical copies, each with its own workers and queue")
    workers: int = Field(default=1, ge=1, le=100_000, description="concurrent requests per replica (threads, connections)")
    queue_limit: int | None = Field(default=100, ge=0, le=MAX_COUNT, description="waiting slots per replica; null for unbounded")
    parallel: bool = Field(default=False, description="call all outgoing edges at once and wait for the slowest")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="each attempt fails with this probability")
    failures: list[Fault] = Field(default_factory=list, description="scheduled faults")
    cost_per_hour: float | None = Field(default=None, ge=0, le=MAX_PRICE, description="per replica; default by kind")
    if TYPE_CHECKING:  # every station kind declares its service time (a cache's has a default)
        service_time: ServiceTime


def _rows(*extra: tuple[FormField, ...]) -> tuple[tuple[FormField, ...], ...]:
    return (
        (FormField("replicas", "Replicas", "integer", "identical copies, each with its own workers and queue",
                   default=1),
         FormField("workers", "Workers per replica", "integer",
                   "calls one replica serves at once (threads, connections)", default=1)),
        *extra,
        (FormField("queue_limit", "Queue limit per replica", "queue_limit",
                   "calls waiting for a worker; more are rejected", default=100),),
        (FormField("service_time", "Service time", "service_time",
                   "how long one call keeps a worker busy, not counting its own calls downstream"),),
        (FormField("error_rate", "Error rate", "number", "each attempt fails with this probability", step=0.01,
                   default=0),
         COST_FIELD),
        (FormField("parallel", "Call downstream in parallel", "toggle",
                   "call every outgoing edge at once and wait for the slowest", default=False),),
    )


STATION_FORM = _rows()


St = TypeVar("St", bound=StationSpec)


class StationKind(Kind[St]):
    """Services, databases and caches: workers, service time, replicas, faults."""

    has_workers = True
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = STATION_FORM
    yaml_only: ClassVar[tuple[str, ...]] = ("failures",)

    def compile(self, build: Build, name: str, node: St) -> Station:
        station = self.make(build, name, node, **self.station_args(build, name, node))
        if node.failures:
            schedule_faults(build.env, station, node.failures)
        return station

    def make(self, build: Build, name: str, node: St, **kw: Any) -> Station:
        """The runtime object (a cache makes its own kind of station)."""
        return Station(build.env, name, self.name, **kw)

    def station_args(self, build: Build, name: str, node: St) -> dict[str, Any]:
        streams = build.streams
        return dict(replicas=node.replicas, workers=node.workers, queue_limit=node.queue_limit,
                    service=node.service_time.sampler(streams, f"node:{name}:service"),
                    route=streams.sampler(f"node:{name}:route", "random"), parallel=node.parallel,
                    error_rate=node.error_rate, errors=streams.sampler(f"node:{name}:errors", "random"))

    def capacity(self, s: ScenarioView, name: str, node: St) -> Capacity:
        return Capacity(node.workers * node.replicas, node.replicas)

    def service_time(self, node: St) -> ServiceTime:
        return node.service_time

    def replicas(self, node: St) -> int:
        return int(node.replicas)

    def waiting_slots(self, node: St) -> int | None:
        return None if node.queue_limit is None else int(node.queue_limit)

    def out_of_scope(self, node: St) -> str | None:
        return "scheduled faults take it down for a while" if node.failures else None

    def spof_finding(self, name: str, node: St) -> Finding | None:
        if node.replicas == 1:
            return Finding("warning", "single_point_of_failure", name,
                           f"{name} has one replica and every request depends on it")
        return None

    def load_findings(self, s: ScenarioView, name: str, node: St, offered_rps: float) -> Iterable[Finding]:
        for f in node.failures:
            if f.at_s >= s.workload.duration_s:
                yield Finding("warning", "fault", name, f"{name}'s {f.mode} fault at {f.at_s:g} s never happens: "
                                                        f"the run ends at {s.workload.duration_s:g} s")
            else:
                yield Finding("info", "fault", name, f"{name} is scheduled {f.mode} from {f.at_s:g} s for {f.for_s:g} s")

    def summary(self, node: St) -> str:
        workers = f"{node.workers} worker" + ("" if node.workers == 1 else "s")
        return f"{node.replicas} × {workers}" if node.replicas > 1 else workers
