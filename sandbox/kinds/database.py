"""Databases: a station whose workers are connections, each query held for a service time.

A database behaves like a service (:mod:`sandbox.kinds.station`): a pool of
connections per replica, a queue for queries waiting for one, a service time
per query. It does not autoscale (a database's capacity is planned, not
added in seconds), it is drawn as a cylinder, and it costs more per replica.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ..distributions import ServiceTime
from .station import StationKind, StationSpec

__all__ = ["DatabaseNode", "DATABASE"]


class DatabaseNode(StationSpec):
    """A database: replicas x connections, each query held for a service time."""
    kind: Literal["database"]
    service_time: ServiceTime


class DatabaseKind(StationKind[DatabaseNode]):
    name = "database"
    label = "database"
    spec = DatabaseNode
    price = 0.40
    shape = "cylinder"
    mermaid = ("[(", ")]")   # a cylinder
    images = ("postgres", "postgresql", "postgis", "mysql", "mariadb", "mongo", "mongodb", "cassandra", "scylla",
              "cockroach", "cockroachdb", "couchdb", "elasticsearch", "opensearch", "clickhouse")
    icon = "database"
    stem = "db"
    palette: ClassVar[dict[str, Any]] = {"kind": "database", "workers": 20, "queue_limit": 200,
                                         "service_time": {"dist": "exponential", "mean_ms": 8}}


DATABASE = DatabaseKind()
