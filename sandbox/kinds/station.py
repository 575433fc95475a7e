"""What services, databases and caches share: replicas x workers with a bounded queue, and scheduled faults.

A *station* holds workers: a call takes one (or waits in its replica's queue,
or is turned away when the queue is full), is served for a service time, then
makes its own calls while still holding it. :class:`StationSpec` holds the
fields every station has, :class:`Fault` a scheduled outage, slowdown or error
burst, and :class:`StationKind` the answers every station gives. The runtime is
:class:`sandbox.components.station.Station`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Iterable, Iterator, Literal, TypeVar

from pydantic import Field, field_validator

from ..findings import Finding
from ..classes import ClassMix
from ..components import Station
from ..components.base import ClassNodeStats
from ..components.overload import Overload
from ..randomness import Draw
from ..components.faults import schedule_faults
from ..distributions import ServiceTime
from ..model import MAX_COUNT, MAX_MS, MAX_PRICE
from ..placement import zone_list_problem
from ..station_features import Fault, Shed
from ..calls import ROUTE_HELP, Route, route_problems
from .base import COST_FIELD, Build, Capacity, FormField, Kind, Measured, NodeSpec, Problem, ScenarioView

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
    route: Route | None = Field(default=None, description=ROUTE_HELP)
    discipline: Literal["fifo", "priority"] | None = Field(
        default=None, description="fifo (default) or priority: higher class priority first, FIFO within one, "
                                  "non-preemptive")
    service_time_by_class: dict[str, ServiceTime] | None = Field(
        default=None, max_length=32, description="service time overrides by class")
    shed: Shed | None = Field(default=None, description="refuse low-priority arrivals when the line is long")
    max_wait_ms: float | None = Field(default=None, gt=0, le=MAX_MS,
                                      description="a call that waited longer for a worker is dropped (expired)")
    bulkheads: dict[str, Annotated[int, Field(ge=1, le=100_000)]] | None = Field(default=None, max_length=32,
                                             description="per replica, workers that serve only this class")
    zones: list[str] | None = Field(default=None, description="the zones its replicas run in, round-robin "
                                                              "(replica i in zones[i % len]); none: no placement")

    @field_validator("zones")
    @classmethod
    def _zones(cls, zones: list[str] | None) -> list[str] | None:
        problem = zone_list_problem(zones) if zones is not None else None
        if problem:
            raise ValueError(problem)
        return zones
    if TYPE_CHECKING:  # every station kind declares its service time (a cache's has a default)
        service_time: ServiceTime


ZONES_FIELD = FormField("zones", "Zones", "names",
                        "the zones its replicas run in, round-robin (replica 1 in the first, replica 2 in the second, "
                        "...); a zone's region is its name before the last '-' (us-a is in us). Calls between zones "
                        "take the network's cross-zone or cross-region delay; empty: no placement",
                        placeholder="us-a, us-b, us-c")


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
        (FormField("route", "Outgoing calls taken", "choice", ROUTE_HELP, choices=("each", "one"), default="each"),),
        (ZONES_FIELD,),
        *OVERLOAD_ROWS,
    )


# Overload control: the order of the line, expiry, shedding and bulkheads (service_time_by_class: YAML only).
OVERLOAD_ROWS: tuple[tuple[FormField, ...], ...] = (
    (FormField("discipline", "Queue discipline", "choice",
               "fifo: first come, first served; priority: the waiting call of the highest class priority first "
               "(FIFO within one; a call being served is not interrupted)", choices=("fifo", "priority"),
               default="fifo", classes_only=True),
     FormField("max_wait_ms", "Max wait ms", "number",
               "a call that waited longer than this for a worker is dropped when its turn comes (cause expired: "
               "its caller has given up); empty: calls wait as long as it takes", placeholder="no limit")),
    (FormField("shed", "Shed low-priority calls when the line is long", "group",
               "an arrival that finds more than this many calls waiting at its replica is refused (cause shed) "
               "when its class's priority is below the threshold",
               default={"queue_over": 20, "below_priority": 1},
               fields=(FormField("queue_over", "Waiting calls over", "integer",
                                 "calls waiting at the replica beyond which arrivals are shed"),
                       FormField("below_priority", "Class priority below", "integer",
                                 "classes with a priority under this are shed; those at or above it never are",
                                 default=1))),),
    (FormField("bulkheads", "Bulkheads: workers per replica reserved for a class", "per_class",
               "these workers serve only that class; every other class shares the rest (at least 1 must be left)",
               placeholder="shared", classes_only=True),),
)


STATION_FORM = _rows()


St = TypeVar("St", bound=StationSpec)


class StationKind(Kind[St]):
    """Services, databases and caches: workers, service time, replicas, faults."""

    has_workers = True
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = STATION_FORM
    yaml_only: ClassVar[tuple[str, ...]] = ("failures", "service_time_by_class")

    def problems(self, s: ScenarioView, name: str, node: St) -> Iterator[Problem]:
        yield from route_problems(s.edges, s.workload.classes or (), name, node.route)
        if node.bulkheads and sum(node.bulkheads.values()) >= node.workers:
            yield (f"nodes.{name}.bulkheads", f"the bulkheads hold {sum(node.bulkheads.values())} of the "
                                              f"{node.workers} workers per replica; they must leave at least 1 "
                                              "shared worker for the other classes")
        for i, f in enumerate(node.failures):
            if f.mode == "flush" and not self.flushes(node):
                yield (f"nodes.{name}.failures[{i}].mode", "a flush empties a cache of keys: it applies to a cache "
                                                           "with a capacity or ttl_s, not to this node")
        classes = s.workload.classes or {}
        if node.shed is not None and classes and all(c.priority >= node.shed.below_priority
                                                     for c in classes.values()):
            yield (f"nodes.{name}.shed.below_priority", f"no class has a priority below {node.shed.below_priority}, "
                                                        "so nothing would ever be shed")

    def compile(self, build: Build, name: str, node: St) -> Station:
        station = self.make(build, name, node, **self.station_args(build, name, node))
        if build.classes is not None or node.shed is not None or node.max_wait_ms is not None:
            mix = build.classes or ClassMix.of(None, None)
            station.use_classes(self.overload(build, name, node, mix, station.draw_service),
                                [ClassNodeStats() for _ in mix.names])
        if node.failures:
            schedule_faults(build.env, station, node.failures)
        return station

    def overload(self, build: Build, name: str, node: St, mix: ClassMix, service: Draw) -> Overload:
        """Its class-aware settings: pools, line order, service time by class, shedding, expiry."""
        bulkheads = node.bulkheads or {}
        pool_of = [1 + list(bulkheads).index(c) if c in bulkheads else 0 for c in mix.names]
        by_class = node.service_time_by_class or {}
        services = [by_class[c].sampler(build.streams, f"node:{name}:service:{c}") if c in by_class else service
                    for c in mix.names]
        shed = node.shed
        reason = (f"shed (over {shed.queue_over} waiting, priority below {shed.below_priority})" if shed else "")
        return Overload(name, mix.priorities, node.discipline == "priority", pool_of, list(bulkheads.values()),
                        services, shed.queue_over if shed else None, shed.below_priority if shed else 0,
                        node.max_wait_ms / 1000.0 if node.max_wait_ms is not None else None, reason)

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
        if not node.failures:
            return None
        if all(f.mode == "flush" for f in node.failures):
            return "a scheduled flush empties it: the steady state holds before it and once it has filled again"
        if all(f.random for f in node.failures):
            return ("its replicas fail at random: the steady state holds between failures (what failures cost is "
                    "under Placement: availability)")
        return "scheduled faults take it down for a while"

    def spof_finding(self, name: str, node: St) -> Finding | None:
        if node.replicas == 1:
            return Finding("warning", "single_point_of_failure", name,
                           f"{name} has one replica and every request depends on it")
        return None

    def load_findings(self, s: ScenarioView, name: str, node: St, offered_rps: float) -> Iterable[Finding]:
        for f in node.failures:
            if f.at_s is None:   # random failures
                yield Finding("info", "fault", name, f"each replica of {name} fails at random (mean time between "
                                                    f"failures {f.mtbf_s:g} s, to repair {f.mttr_s:g} s): up "
                                                    f"{f.replica_availability:.2%} of the time")
            elif f.at_s >= s.workload.duration_s:
                yield Finding("warning", "fault", name, f"{name}'s {f.mode} fault at {f.at_s:g} s never happens: "
                                                        f"the run ends at {s.workload.duration_s:g} s")
            else:
                when = f"at {f.at_s:g} s" if f.mode == "flush" else f"from {f.at_s:g} s for {f.lasts_s:g} s"
                yield Finding("info", "fault", name, f"{name} is scheduled {f.mode} {when}")

    def flushes(self, node: St) -> bool:
        """It holds keys that a `mode: flush` fault can empty (a keyed cache)."""
        return False

    def calibrated(self, node: St, measured: Measured) -> dict[str, Any]:
        return {"service_time": measured.service_time} if measured.service_time is not None else {}

    def summary(self, node: St) -> str:
        workers = f"{node.workers} worker" + ("" if node.workers == 1 else "s")
        size = f"{node.replicas} × {workers}" if node.replicas > 1 else workers
        extras = [f"{n} for {c}" for c, n in (node.bulkheads or {}).items()]
        if node.discipline == "priority":
            extras.append("by priority")
        if node.shed is not None:
            extras.append(f"sheds over {node.shed.queue_over}")
        if node.zones:
            extras.append("in " + "/".join(node.zones))
        return f"{size} ({', '.join(extras)})" if extras else size
