"""Services: application servers, replicas x workers, each call held for a service time; they may autoscale.

A service is the general station (:mod:`sandbox.kinds.station`): its workers
take calls, serve them, make their own calls synchronously (thread per
request) and answer. It alone may scale out and in on its own: a target-tracking
:class:`Autoscale` policy adds replicas (after a cold start) when utilization
runs above its target and removes them when it falls below (see
:mod:`sandbox.components.autoscaler`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from ..components import Station
from ..components.autoscaler import autoscale
from ..distributions import ServiceTime
from ..station_features import Autoscale
from .base import Build
from .station import StationKind, StationSpec

__all__ = ["ServiceNode", "SERVICE"]


class ServiceNode(StationSpec):
    """A service: replicas x workers, each call held for a service time."""
    kind: Literal["service"]
    service_time: ServiceTime
    autoscale: Autoscale | None = None

    @model_validator(mode="after")
    def _scalable(self) -> "ServiceNode":
        a = self.autoscale
        if a is not None and not a.min_replicas <= self.replicas <= a.max_replicas:
            raise ValueError(f"replicas ({self.replicas}) must lie between autoscale.min_replicas "
                             f"({a.min_replicas}) and autoscale.max_replicas ({a.max_replicas})")
        return self


class ServiceKind(StationKind[ServiceNode]):
    name = "service"
    label = "service"
    spec = ServiceNode
    price = 0.10
    shape = "box"
    icon = "dns"
    stem = "service"
    palette: ClassVar[dict[str, Any]] = {"kind": "service", "replicas": 1, "workers": 8, "queue_limit": 100,
                                         "service_time": {"dist": "exponential", "mean_ms": 20}}
    yaml_only: ClassVar[tuple[str, ...]] = ("autoscale", "failures")

    def out_of_scope(self, node: ServiceNode) -> str | None:
        if node.autoscale is not None:
            return "autoscaling changes its replicas during the run"
        return super().out_of_scope(node)

    def compile(self, build: Build, name: str, node: ServiceNode) -> Station:
        station = super().compile(build, name, node)
        if node.autoscale is not None:
            build.env.process(autoscale(build.env, station, node.autoscale))
        return station


SERVICE = ServiceKind()
