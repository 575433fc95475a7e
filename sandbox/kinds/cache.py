"""Caches: a station that answers a share of calls itself and, on a miss, calls what it caches.

A cache has workers and a service time like any station; after serving a call
it is a *hit* with probability ``hit_ratio`` (its own random stream, so other
changes keep the hit pattern) and makes its ``when: hit`` calls, else a miss
and its ``when: miss`` calls (read-through), besides its ``when: always`` ones.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..components import Cache, Station
from ..distributions import Constant, ServiceTime
from .base import Build, FormField, Measured
from .station import StationKind, StationSpec, _rows

__all__ = ["CacheNode", "CACHE"]


class CacheNode(StationSpec):
    """A cache: answers a share of calls itself; on a miss calls its `when: miss` edges."""
    kind: Literal["cache"]
    hit_ratio: float = Field(ge=0, le=1)
    service_time: ServiceTime = Field(default_factory=lambda: Constant(dist="constant", mean_ms=1.0))


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
                   "share of calls the cache answers itself; a miss calls its 'miss' edges", step=0.05),))

    def make(self, build: Build, name: str, node: CacheNode, **kw: Any) -> Station:
        hit = build.streams.sampler(f"node:{name}:hit", "random")
        return Cache(build.env, name, self.name, node.hit_ratio, hit, **kw)

    def calibrated(self, node: CacheNode, measured: Measured) -> dict[str, Any]:
        fields = super().calibrated(node, measured)
        share = measured.branch_share
        if "miss" in share:
            fields["hit_ratio"] = round(min(1.0, max(0.0, 1.0 - share["miss"])), 4)
        elif "hit" in share:
            fields["hit_ratio"] = round(min(1.0, max(0.0, share["hit"])), 4)
        return fields

    def branch_share(self, node: CacheNode, when: str) -> float:
        if when == "hit":
            return float(node.hit_ratio)
        if when == "miss":
            return 1.0 - node.hit_ratio
        return 1.0

    def summary(self, node: CacheNode) -> str:
        return super().summary(node) + f", hit {node.hit_ratio:.0%}"


CACHE = CacheKind()
