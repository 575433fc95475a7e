"""Databases: a station whose workers are connections, each query held for a service time; shards and replicas.

A database behaves like a service (:mod:`sandbox.kinds.station`): a pool of
connections per replica, a queue for queries waiting for one, a service time
per query. It does not autoscale (a database's capacity is planned, not
added in seconds), it is drawn as a cylinder, and it costs more per replica.

It may be split into ``shards`` by key (key k on shard k % shards, each a full
copy of the node's replicas and workers) and have ``read_replicas`` per shard
that take the reads while writes go to the primaries, each replica receiving a
committed write after a ``replication_lag_ms``: a read served before then is
*stale*. The runtime is :mod:`sandbox.components.database`. Theory
(:func:`predicted_figures`): each shard's share of calls is the popularity of
its keys, and a read of key k on a replica is stale with probability
1 - exp(-w p_k E[lag]) for Poisson writes at w per second (the writes not yet
replicated are a thinned Poisson stream), for any lag distribution.
"""

from __future__ import annotations

import math
from typing import Any, Callable, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ..components import Station
from ..components.database import Database
from ..distributions import ServiceTime
from ..keys import modulo_shares
from .base import Build, Capacity, FormField, ScenarioView
from .station import StationKind, StationSpec, _rows

__all__ = ["DatabaseNode", "DATABASE"]


class DatabaseNode(StationSpec):
    """A database: replicas x connections, each query held for a service time; shards and read replicas."""
    kind: Literal["database"]
    service_time: ServiceTime
    shards: int = Field(default=1, ge=1, le=1024, description="copies by key: key k is served by shard k % shards")
    read_replicas: int = Field(default=0, ge=0, le=100,
                               description="per shard: replicas that take the reads (writes go to the primaries)")
    replication_lag_ms: ServiceTime | None = Field(
        default=None, description="how long a committed write takes to reach each read replica")

    @model_validator(mode="after")
    def _lag_with_replicas(self) -> "DatabaseNode":
        if self.read_replicas and self.replication_lag_ms is None:
            raise ValueError("read_replicas need a replication_lag_ms (for example {dist: exponential, "
                             "mean_ms: 100}; {dist: constant, mean_ms: 0} for none)")
        if self.replication_lag_ms is not None and not self.read_replicas:
            raise ValueError("replication_lag_ms applies to read_replicas; give read_replicas (or leave the lag out)")
        return self


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
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = _rows(
        (FormField("shards", "Shards", "integer", "copies by key: key k is served by shard k % shards", default=1),
         FormField("read_replicas", "Read replicas", "integer",
                   "per shard: replicas that take the reads; writes go to the primaries (set the lag in YAML)",
                   default=0)),)
    yaml_only = StationKind.yaml_only + ("replication_lag_ms",)

    @staticmethod
    def split(node: DatabaseNode) -> bool:
        return node.shards > 1 or node.read_replicas > 0

    def station_args(self, build: Build, name: str, node: DatabaseNode) -> dict[str, Any]:
        args = super().station_args(build, name, node)
        args["replicas"] = (node.replicas + node.read_replicas) * node.shards
        return args

    def make(self, build: Build, name: str, node: DatabaseNode, **kw: Any) -> Station:
        if not self.split(node):
            return super().make(build, name, node, **kw)
        writes = frozenset(i for i, c in enumerate((build.scenario.workload.classes or {}).values()) if c.writes)
        lag = node.replication_lag_ms.sampler(build.streams, f"node:{name}:lag") if node.replication_lag_ms else None
        return Database(build.env, name, self.name, shards=node.shards, primaries=node.replicas,
                        read_replicas=node.read_replicas, write_classes=writes, lag=lag, **kw)

    def compile(self, build: Build, name: str, node: DatabaseNode) -> Station:
        station = super().compile(build, name, node)
        if isinstance(station, Database):
            station.route_by_key()   # around the station's own serve, a class-aware one included
        return station

    def capacity(self, s: ScenarioView, name: str, node: DatabaseNode) -> Capacity:
        """With shards, the analysis sees one pooled station that saturates when the hottest shard does: its
        workers over the hottest shard's share of the calls (all of them, for even shares)."""
        copies = node.replicas + node.read_replicas
        if node.shards == 1:
            return Capacity(node.workers * copies, copies)
        hottest = max(_shard_shares(s, node))   # one pooled station per primary, as if every shard were the hottest
        per_copy = max(1, math.floor(node.workers / hottest + 1e-9))
        return Capacity(per_copy * copies, copies)

    def replicas(self, node: DatabaseNode) -> int:
        return int((node.replicas + node.read_replicas) * node.shards)

    def out_of_scope(self, node: DatabaseNode) -> str | None:
        if self.split(node):
            parts = ([f"{node.shards} shards by key"] if node.shards > 1 else []) + \
                ([f"{node.read_replicas} read replicas" + (" per shard" if node.shards > 1 else "")]
                 if node.read_replicas else [])
            told = " and ".join((["each shard's load"] if node.shards > 1 else []) +
                                (["the stale reads"] if node.read_replicas else []))
            pooled = (" (as many workers as let it saturate when its hottest shard does)" if node.shards > 1
                      else "")
            return (f"{' and '.join(parts)}: the analysis pools them into one station{pooled}; {told} "
                    f"{'are' if ' and ' in told or node.shards == 1 else 'is'} predicted beside the run's")
        return super().out_of_scope(node)

    def predicted_figures(self, s: ScenarioView, node: DatabaseNode, rate: Callable[[], float]) -> dict[str, Any]:
        if not self.split(node):
            return {}
        keys = s.workload.keys
        offered = rate()
        write_share = math.fsum(c.share for c in (s.workload.classes or {}).values() if c.writes)
        shares = _shard_shares(s, node)
        hold_s = node.service_time.mean() / 1000.0
        copies = node.replicas + node.read_replicas
        utilization = [offered * share * hold_s / (node.workers * copies) for share in shares]
        out: dict[str, Any] = {"predicted_shard_shares": shares, "predicted_shard_utilization": utilization,
                               "keyed_by": "key % shards" if keys is not None else "round robin (no keys)"}
        hottest = max(range(node.shards), key=lambda k: utilization[k])
        out["hottest_shard"] = hottest
        out["saturation_rps_of_hottest"] = (s.workload.mean_rate(s.workload.warmup_s, s.workload.duration_s)
                                            / utilization[hottest]) if utilization[hottest] > 0 else math.inf
        if node.read_replicas:   # writes on the primaries, reads on the read replicas, each shard alike
            out["predicted_primary_utilization"] = offered * write_share * hold_s * max(shares) / (
                node.workers * node.replicas)
            out["predicted_read_replica_utilization"] = offered * (1 - write_share) * hold_s * max(shares) / (
                node.workers * node.read_replicas)
        if node.read_replicas and node.replication_lag_ms is not None:
            lag_s = node.replication_lag_ms.mean() / 1000.0
            if keys is not None:
                w = offered * write_share
                p = keys.probabilities()
                out["predicted_stale_share"] = float(np.dot(p, -np.expm1(-w * p * lag_s)))
            else:
                out["predicted_stale_share"] = 0.0   # without keys no read is for a written key
        return out


def _shard_shares(s: ScenarioView, node: DatabaseNode) -> list[float]:
    """Each shard's share of the calls: the popularity of its keys (key k on shard k % shards), or even."""
    return modulo_shares(s.workload.keys, node.shards)


DATABASE = DatabaseKind()
