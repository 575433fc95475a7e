"""Placement: zones and regions, the network between them, zone outages and health checks, as validated data.

A station (service, database, cache) with ``zones`` spreads its replicas over
them round-robin: replica *i* runs in ``zones[i % len(zones)]``. A zone's
region is its name before the last ``-`` (``us-a`` is in region ``us``; a
name without ``-`` is its own region). The scenario's ``network`` says what a
call between placements costs, one way: nothing within a zone,
``cross_zone_ms`` between zones of one region, ``cross_region_ms`` between
regions. An edge that sets its own ``latency_ms`` keeps it.

A node without zones runs beside its caller (a load balancer, a sidecar, a
library): calls to it add no delay, and its own calls leave from its caller's
zone, so a load balancer with ``locality: zone`` prefers replicas in the zone
of the replica that called it. Requests from the workload's clients come from
nowhere in particular: their first call adds no delay.

A top-level fault ``{zone: us-a, mode: down, at_s, for_s}`` takes down every
replica placed in that zone; a node's ``{mode: down, mtbf_s, mttr_s}`` fails each of
its replicas at random and repairs it (exponential up and down times), through
the same path. A load balancer with a ``health_check`` probes
each replica every ``interval_s`` (from a phase drawn per run), takes it out
after ``unhealthy_after`` failed probes in a row and puts it back after
``healthy_after`` good ones; without one it keeps sending calls to replicas
that are down, and they fail with cause ``down``.

>>> region_of("us-east-1a"), region_of("eu-b"), region_of("local")
('us-east', 'eu', 'local')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field, field_validator

from .model import MAX_MS, MAX_S, Model

if TYPE_CHECKING:  # pragma: no cover
    from .kinds.base import Problem, ScenarioView

__all__ = ["Network", "ZoneFault", "HealthCheck", "Layout", "region_of", "layout", "placement_problems",
           "ZONE_PATTERN", "MAX_ZONES"]

ZONE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
MAX_ZONES = 32


def region_of(zone: str) -> str:
    """The region a zone is in: its name before the last '-' (the whole name when it has none)."""
    return zone.rsplit("-", 1)[0] if "-" in zone else zone


def zone_list_problem(zones: list[str]) -> str | None:
    """Why a node's ``zones`` list is not valid, or None."""
    if not zones:
        return "must name at least one zone (or leave zones out: the node then has no placement)"
    if len(zones) > MAX_ZONES:
        return f"names {len(zones)} zones; at most {MAX_ZONES}"
    for z in zones:
        if not isinstance(z, str) or not ZONE_PATTERN.match(z):
            return (f"zone {z!r} must start with a letter or digit and hold only letters, digits, _ and - "
                    "(at most 40 characters), like us-a")
    if len(set(zones)) != len(zones):
        return "names a zone twice; replicas are spread round-robin over distinct zones"
    return None


class Network(Model):
    """What a call between placements adds, one way (there and back: twice)."""
    cross_zone_ms: float = Field(default=0.0, ge=0, le=MAX_MS, description="between two zones of one region")
    cross_region_ms: float = Field(default=0.0, ge=0, le=MAX_MS, description="between two regions")


class ZoneFault(Model):
    """Every replica placed in `zone` is down from at_s for for_s seconds."""
    zone: str
    mode: Literal["down"]
    at_s: float = Field(ge=0, le=MAX_S)
    for_s: float = Field(gt=0, le=MAX_S)


class HealthCheck(Model):
    """A load balancer's probes of the replicas it sends to."""
    interval_s: float = Field(gt=0, le=3600, description="seconds between two probes of a replica")
    unhealthy_after: int = Field(default=2, ge=1, le=100, description="failed probes in a row that take it out")
    healthy_after: int = Field(default=1, ge=1, le=100, description="good probes in a row that put it back")

    @field_validator("interval_s")
    @classmethod
    def _not_tiny(cls, v: float) -> float:
        if v < 0.01:
            raise ValueError(f"must be at least 0.01 s (a probe every {v:g} s would be most of the run's events)")
        return v

    def detection_s(self) -> tuple[float, float]:
        """The shortest and longest time from a replica going down to being taken out: the first probe after
        the fault comes within one interval, then unhealthy_after - 1 more."""
        return (self.unhealthy_after - 1) * self.interval_s, self.unhealthy_after * self.interval_s


@dataclass(frozen=True)
class Layout:
    """Where everything runs: the zones named anywhere (index order), and each placed node's zones by index.

    Index ``len(zones)`` is *nowhere* (a client, or a node no call placed): calls to or from it add nothing.
    """
    zones: tuple[str, ...]
    placed: dict[str, tuple[int, ...]]
    delay_s: tuple[tuple[float, ...], ...]   # one way, between zone indexes (nowhere included)
    crossing: tuple[tuple[int, ...], ...]    # 0 same zone (or nowhere), 1 cross-zone, 2 cross-region
    flaky: dict[str, tuple[tuple[float, float], ...]]   # node -> its random failures, (mtbf s, mttr s) each

    @property
    def nowhere(self) -> int:
        return len(self.zones)

    def zone_of(self, node: str, replica: int) -> int:
        """The zone index replica number `replica` of `node` runs in (nowhere when the node has no zones)."""
        zs = self.placed.get(node)
        return zs[replica % len(zs)] if zs else self.nowhere


def _zones_of(node: object) -> list[str] | None:
    return getattr(node, "zones", None)


def _random_failures(node: object) -> tuple[tuple[float, float], ...]:
    return tuple((f.mtbf_s, f.mttr_s) for f in getattr(node, "failures", None) or () if f.random)


def uses_placement(s: "ScenarioView") -> bool:
    """Does the scenario place anything, balance by health or zone, or fail replicas at random? (Without, the
    engine runs as before.)"""
    if getattr(s, "faults", None):
        return True
    for node in s.nodes.values():
        if _zones_of(node) or getattr(node, "health_check", None) is not None or getattr(node, "locality", None) == "zone":
            return True
        if _random_failures(node):
            return True
    return False


def layout(s: "ScenarioView") -> Layout | None:
    """The scenario's placement (None when it uses none: see :func:`uses_placement`)."""
    if not uses_placement(s):
        return None
    names: list[str] = []
    for node in s.nodes.values():
        for z in _zones_of(node) or ():
            if z not in names:
                names.append(z)
    index = {z: i for i, z in enumerate(names)}
    placed = {n: tuple(index[z] for z in zs) for n, node in s.nodes.items() if (zs := _zones_of(node))}
    net: Network = getattr(s, "network", None) or Network()
    everywhere = [*names, None]
    crossing = tuple(tuple(0 if a is None or b is None or a == b else 1 if region_of(a) == region_of(b) else 2
                           for b in everywhere) for a in everywhere)
    per_kind = (0.0, net.cross_zone_ms / 1000.0, net.cross_region_ms / 1000.0)
    delay = tuple(tuple(per_kind[c] for c in row) for row in crossing)
    flaky = {n: fs for n, node in s.nodes.items() if (fs := _random_failures(node))}
    return Layout(tuple(names), placed, delay, crossing, flaky)


def placement_problems(s: "ScenarioView") -> Iterator["Problem"]:
    """Zone faults on zones some node uses, locality only towards placed nodes, no placed shards (each node's
    zones list is checked by its spec: :func:`zone_list_problem`)."""
    used: set[str] = set()
    for name, node in s.nodes.items():
        zones = _zones_of(node)
        if zones is None:
            continue
        used.update(zones)
        if (getattr(node, "shards", 1) or 1) > 1 or (getattr(node, "read_replicas", 0) or 0) > 0:
            yield (f"nodes.{name}.zones", "placing a database's shards and read replicas is not modelled yet (each "
                                          "would need its own zone); leave zones out, or give them to a database "
                                          "without shards and read replicas")
    for name, node in s.nodes.items():
        if getattr(node, "locality", None) == "zone":
            callees = [e.target for e in s.out_edges(name)]
            if callees and not any(_zones_of(s.nodes[t]) for t in callees if t in s.nodes):
                yield (f"nodes.{name}.locality", f"locality: zone prefers replicas in the caller's zone, but none of "
                                                 f"the nodes {name} calls ({', '.join(callees)}) has zones")
    for i, f in enumerate(getattr(s, "faults", None) or ()):
        if f.zone not in used:
            known = ", ".join(sorted(used)) or "none: no node has zones"
            yield f"faults[{i}].zone", f"{f.zone!r} is not a zone of any node (zones: {known})"
