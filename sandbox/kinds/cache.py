"""Caches: a station that answers a share of calls itself and, on a miss, calls what it caches.

A cache has workers and a service time like any station; after serving a call
it is a *hit* with probability ``hit_ratio`` (its own random stream, so other
changes keep the hit pattern) and makes its ``when: hit`` calls, else a miss
and its ``when: miss`` calls (read-through), besides its ``when: always`` ones.
"""

from __future__ import annotations

import math
from typing import Any, Callable, ClassVar, Iterator, Literal

from pydantic import Field, model_validator

from ..components import Cache, Station
from ..components.keyed_cache import KeyedCache
from ..distributions import Constant, ServiceTime
from ..keys import MAX_KEYS, Eviction, hit_ratio, ttl_hit_ratio
from ..model import MAX_S
from .base import Build, FormField, Measured, Problem, ScenarioView
from .station import StationKind, StationSpec, _rows

__all__ = ["CacheNode", "CACHE"]


class CacheNode(StationSpec):
    """A cache: answers a share of calls itself; on a miss calls its `when: miss` edges. Either a fixed
    `hit_ratio` (a coin per call) or a `capacity` of keys, whose hit ratio emerges from the keys requested."""
    kind: Literal["cache"]
    hit_ratio: float | None = Field(default=None, ge=0, le=1, description="the share of calls that hit (a fixed coin)")
    capacity: int | None = Field(default=None, ge=1, le=MAX_KEYS,
                                 description="entries it holds: hits then emerge from the workload's keys")
    eviction: Eviction = Field(default="lru", description="which entry makes room when full: lru, fifo or random")
    on_write: Literal["invalidate", "update"] = Field(
        default="invalidate", description="what a write passing through does to its key: drop it, or store it")
    ttl_s: float | None = Field(default=None, gt=0, le=MAX_S,
                                description="an entry expires this long after it was stored (with keys)")
    warm: bool = Field(default=False, description="starts holding the most popular keys (else empty)")
    coalesce: bool = Field(default=False, description="concurrent misses on one key wait for a single fetch")
    service_time: ServiceTime = Field(default_factory=lambda: Constant(dist="constant", mean_ms=1.0))

    @property
    def keyed(self) -> bool:
        """Its hits are decided by key (a capacity and/or a TTL), not by a fixed coin."""
        return self.capacity is not None or self.ttl_s is not None

    @model_validator(mode="after")
    def _one_model(self) -> "CacheNode":
        if self.hit_ratio is not None and self.keyed:
            raise ValueError("give hit_ratio (a fixed share of hits) or capacity and/or ttl_s (hits by key, with "
                             "workload.keys), not both")
        if self.hit_ratio is None and not self.keyed:
            raise ValueError("give hit_ratio (a fixed share of hits) or capacity and/or ttl_s (hits by key, with "
                             "workload.keys)")
        return self


class CacheKind(StationKind[CacheNode]):
    name = "cache"
    label = "cache"
    spec = CacheNode
    price = 0.15
    shape = "box3d"
    mermaid = ("[[", "]]")   # a subroutine box, like the 3D box of the DOT diagram
    images = ("redis", "memcached", "valkey", "keydb", "dragonfly")
    icon = "bolt"
    stem = "cache"
    branches = True
    palette: ClassVar[dict[str, Any]] = {"kind": "cache", "hit_ratio": 0.8, "workers": 64,
                                         "service_time": {"dist": "constant", "mean_ms": 1}}
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = _rows(
        (FormField("hit_ratio", "Hit ratio", "number",
                   "share of calls the cache answers itself (a fixed coin); a miss calls its 'miss' edges. "
                   "Empty: the hit ratio emerges from a capacity of keys", step=0.05, placeholder="from capacity"),
         FormField("capacity", "Capacity (keys)", "optional_integer",
                   "entries it holds; hits then emerge from the workload's keys (set them in the Workload form)",
                   placeholder="none: fixed hit ratio")),
        (FormField("eviction", "Eviction", "choice", "which entry makes room when the cache is full",
                   choices=("lru", "fifo", "random"), default="lru"),
         FormField("ttl_s", "TTL s", "number", "an entry expires this long after it was stored", step=10.0,
                   placeholder="none: no expiry")),
        (FormField("on_write", "On write", "choice", "what a write passing through does to its key",
                   choices=("invalidate", "update"), default="invalidate"),
         FormField("warm", "Starts warm", "toggle", "holds the most popular keys from the start (else empty)")),
        (FormField("coalesce", "Coalesce misses", "toggle",
                   "concurrent misses on one key wait for a single fetch (request coalescing)"),))

    def problems(self, s: ScenarioView, name: str, node: CacheNode) -> Iterator[Problem]:
        yield from super().problems(s, name, node)
        if node.keyed and s.workload.keys is None:
            field = "capacity" if node.capacity is not None else "ttl_s"
            yield (f"nodes.{name}.{field}", f"a cache with a {field.replace('_s', '')} decides hits by key: give "
                                            "workload.keys (for example {count: 100000, popularity: zipf, s: 0.9}), "
                                            "or use hit_ratio instead")

    def make(self, build: Build, name: str, node: CacheNode, **kw: Any) -> Station:
        if not node.keyed:
            hit = build.streams.sampler(f"node:{name}:hit", "random")
            return Cache(build.env, name, self.name, float(node.hit_ratio or 0.0), hit, **kw)
        keys = build.scenario.workload.keys
        count = keys.count if keys is not None else 0
        writes = frozenset(i for i, c in enumerate((build.scenario.workload.classes or {}).values()) if c.writes)
        warm = list(range(min(node.capacity or count, count) - 1, -1, -1)) if node.warm else []
        return KeyedCache(build.env, name, self.name, node.capacity, node.eviction, node.on_write, writes,
                          build.streams.sampler(f"node:{name}:evict", "random"), warm, node.ttl_s, node.coalesce,
                          **kw)

    def flushes(self, node: CacheNode) -> bool:
        return node.keyed

    def predicted_hit_ratio(self, s: ScenarioView, node: CacheNode, rate: Callable[[], float]) -> float:
        """The share of reads that hit: the fixed one; for a capacity, Che's approximation (LRU) or Martina et
        al.'s (FIFO, random); for a TTL alone, lambda_k T / (1 + lambda_k T) per key at `rate()` calls per
        second; for both, the smaller of the two (each is an upper bound when the other limit also applies)."""
        keys = s.workload.keys
        if not node.keyed or keys is None:
            return float(node.hit_ratio or 0.0)
        shares = []
        if node.capacity is not None:
            shares.append(hit_ratio(keys, node.capacity, node.eviction))
        if node.ttl_s is not None:
            shares.append(ttl_hit_ratio(keys, rate(), node.ttl_s))
        return min(shares)

    def calibrated(self, node: CacheNode, measured: Measured) -> dict[str, Any]:
        fields = super().calibrated(node, measured)
        share = measured.branch_share
        if node.keyed:   # a keyed cache's hits follow from its keys, capacity and TTL
            return fields
        if "miss" in share:
            fields["hit_ratio"] = round(min(1.0, max(0.0, 1.0 - share["miss"])), 4)
        elif "hit" in share:
            fields["hit_ratio"] = round(min(1.0, max(0.0, share["hit"])), 4)
        return fields

    def predicted_figures(self, s: ScenarioView, node: CacheNode, rate: Callable[[], float]) -> dict[str, Any]:
        if not node.keyed:
            return {}
        methods = []
        if node.capacity is not None:
            methods.append({"lru": "Che's approximation (LRU)", "fifo": "Martina et al. (FIFO)",
                            "random": "Martina et al. (random)"}[node.eviction])
        if node.ttl_s is not None:
            methods.append("TTL renewal: lambda T / (1 + lambda T)")
        writes = any(c.writes for c in (s.workload.classes or {}).values())
        if writes and node.on_write == "invalidate":
            accuracy = "approximate: writes' invalidations are not modelled"
        elif len(methods) == 2:
            accuracy = "an upper bound: the smaller of the capacity's and the TTL's hit ratios"
        elif node.capacity is not None:
            accuracy = "approximate: independent requests, in steady state, once the cache is full"
        else:
            accuracy = "exact for independent (Poisson) requests, in steady state"
        return {"predicted_hit_ratio": self.predicted_hit_ratio(s, node, rate), "method": " and ".join(methods),
                "accuracy": accuracy}

    def branch_share(self, s: ScenarioView, node: CacheNode, when: str, rate: Callable[[], float]) -> float:
        hit = self.predicted_hit_ratio(s, node, rate)
        if node.keyed:   # writes always go on to the miss calls
            hit *= 1.0 - math.fsum(c.share for c in (s.workload.classes or {}).values() if c.writes)
        if when == "hit":
            return hit
        if when == "miss":
            return 1.0 - hit
        return 1.0

    def summary(self, node: CacheNode) -> str:
        if not node.keyed:
            return super().summary(node) + f", hit {float(node.hit_ratio or 0.0):.0%}"
        size = f", {node.capacity:,} keys {node.eviction}" if node.capacity is not None else ""
        return super().summary(node) + size + (f", TTL {node.ttl_s:g} s" if node.ttl_s is not None else "")


CACHE = CacheKind()
