"""Placement at run time: the network delay of each call between zones, zone outages, health checks.

Only calls that placement can change take this path (see :mod:`sandbox.placement`): a call to a station with
zones, or from a load balancer that balances by zone or health. Such an edge's callee is a :class:`PlacedCall`,
which picks the replica with the request's zone in hand (the zone of the replica making the call), adds the
delay between the two placements there and back, fails the call at once when the replica's zone is down, and
otherwise serves it in the callee with the request's zone set to the callee's for the calls it makes.
Everything else runs exactly as without placement.
"""

from __future__ import annotations

from typing import Any, Callable, Generator, Iterable

from simpy import Environment, Timeout

from ..placement import HealthCheck, Layout, ZoneFault
from ..randomness import Draw, Streams
from .base import Failure, Request, Serve
from .load_balancer import POLICIES
from .station import Station

__all__ = ["Zones", "PlacedCall", "Health", "ZonePicker", "placed_edge", "placed_entry"]


class Zones:
    """The run's zones: which are down, and what the calls between placements did (measured requests)."""

    def __init__(self, env: Environment, layout: Layout) -> None:
        self.env = env
        self.layout = layout
        n = len(layout.zones)
        self.outages = [0] * (n + 1)    # zone faults active now, per zone (nowhere never goes down)
        self.down = [False] * (n + 1)
        self.calls: dict[tuple[int, str], list[int]] = {}   # (zone, node) -> [calls, failed, refused: zone down]
        self.crossings = [0, 0, 0]      # calls within a zone (or from nowhere), across zones, across regions
        self.events: list[tuple[float, str, str, int, int, bool]] = []  # (t, balancer, node, replica, zone, out)
        self.health: list[Health] = []
        self.refusals: dict[tuple[str, int], Failure] = {}   # one Failure per (node, zone): causes count by it
        # random failures: the replicas of each node down now, every change, and the calls refused (measured)
        self.flaky: dict[str, set[int]] = {name: set() for name in layout.flaky}
        self.flaky_events: list[tuple[float, str, int, bool]] = []
        self.flaky_refused: dict[str, int] = {name: 0 for name in layout.flaky}
        self.flaky_failures = {name: Failure("failed", name, "down (random failure)", "down") for name in layout.flaky}
        self.flaky_replicas: dict[str, int] = {}

    def start(self, faults: "Iterable[ZoneFault]", streams: Streams, replicas: dict[str, int]) -> None:
        """Start the zone outages, each replica's random failures and every balancer's probes (once every call is
        wired); `replicas` is each node's replica count."""
        for f in faults:
            self.env.process(self.outage(self.layout.zones.index(f.zone), f.at_s, f.for_s))
        for name, failures in self.layout.flaky.items():
            self.flaky_replicas[name] = replicas[name]
            for i, (mtbf, mttr) in enumerate(failures):
                for r in range(replicas[name]):
                    purpose = f"node:{name}:failure:{i}:replica:{r}"
                    self.env.process(self.failing(name, r, streams.sampler(f"{purpose}:up", "exponential", mtbf),
                                                  streams.sampler(f"{purpose}:down", "exponential", mttr)))
        for h in self.health:
            self.env.process(h.probes())

    def failing(self, name: str, replica: int, up: Draw, down: Draw) -> Generator:
        """One replica's random failures: up for a draw of `up`, down for a draw of `down`, over and over."""
        env, now_down = self.env, self.flaky[name]
        depth = 0   # two random failures of one replica may overlap
        while True:
            yield Timeout(env, up())
            depth += 1
            now_down.add(replica)
            self.flaky_events.append((env.now, name, replica, True))
            yield Timeout(env, down())
            depth -= 1
            if not depth:
                now_down.discard(replica)
                self.flaky_events.append((env.now, name, replica, False))

    def counter(self, zone: int, node: str) -> list[int]:
        c = self.calls.get((zone, node))
        if c is None:
            c = self.calls[(zone, node)] = [0, 0, 0]
        return c

    def outage(self, zone: int, at_s: float, for_s: float) -> Generator:
        """A zone fault: the zone is down from at_s for for_s (overlapping outages of a zone add up)."""
        yield Timeout(self.env, at_s)
        self.outages[zone] += 1
        self.down[zone] = True
        yield Timeout(self.env, for_s)
        self.outages[zone] -= 1
        self.down[zone] = self.outages[zone] > 0


class Health:
    """One load balancer's view of one callee's replicas: which are out, from its probes."""

    def __init__(self, zones: Zones, balancer: str, station: Station, spec: HealthCheck, phase: float) -> None:
        self.zones = zones
        self.balancer = balancer
        self.station = station
        self.spec = spec
        self.phase = phase
        self.out: dict[int, bool] = {}
        self.fails: dict[int, int] = {}
        self.goods: dict[int, int] = {}
        self.version = 0      # changes whenever a replica goes out or comes back

    def probes(self) -> Generator:
        env, spec, station, zones = self.zones.env, self.spec, self.station, self.zones
        zone_of = zones.layout.zone_of
        name = station.name
        flaky = zones.flaky.get(name, set())
        yield Timeout(env, self.phase)
        while True:
            for r in station.replicas:
                i = r.index
                z = zone_of(name, i)
                if station.down or zones.down[z] or i in flaky:
                    self.goods[i] = 0
                    self.fails[i] = self.fails.get(i, 0) + 1
                    if not self.out.get(i) and self.fails[i] >= spec.unhealthy_after:
                        self.out[i] = True
                        self.version += 1
                        zones.events.append((env.now, self.balancer, name, i, z, True))
                else:
                    self.fails[i] = 0
                    self.goods[i] = self.goods.get(i, 0) + 1
                    if self.out.get(i) and self.goods[i] >= spec.healthy_after:
                        self.out[i] = False
                        self.version += 1
                        zones.events.append((env.now, self.balancer, name, i, z, False))
            yield Timeout(env, spec.interval_s)


class ZonePicker:
    """A load balancer's choice of replica, by its policy, among the healthy replicas (in the caller's zone when
    it balances by zone, where it has any): with none healthy it sends to them all (fails open, as most
    balancers do)."""

    def __init__(self, station: Station, policy: str, draw: Draw, zone_of: Callable[[int], int], nowhere: int,
                 health: Health | None, local: bool) -> None:
        self.station = station
        self.policy = POLICIES[policy]
        self.draw = draw
        self.zone_of = zone_of
        self.nowhere = nowhere
        self.health = health
        self.local = local
        self.seen: tuple[int, int] = (-1, -1)      # (health version, replica count) the pickers were made for
        self.pickers: list[Callable[[], Any]] = []

    def _rebuild(self) -> None:
        reps = self.station.replicas
        out = self.health.out if self.health is not None else {}
        healthy = [r for r in reps if not out.get(r.index)] or list(reps)
        anywhere = self.policy(healthy, self.draw)
        self.pickers = [anywhere] * (self.nowhere + 1)
        if self.local:
            for z in range(self.nowhere):
                mine = [r for r in healthy if self.zone_of(r.index) == z]
                if mine:
                    self.pickers[z] = self.policy(mine, self.draw)

    def __call__(self, zone: int) -> Any:
        seen = (self.health.version if self.health is not None else 0, len(self.station.replicas))
        if seen != self.seen:
            self._rebuild()
            self.seen = seen
        return self.pickers[zone]()


class PlacedCall:
    """The callee end of an edge that placement changes (see the module docstring)."""

    serves_itself = True

    def __init__(self, zones: Zones, station: Station, by_zone: Callable[[int], Any] | None,
                 pick: Callable[[], Any], fixed_delay: bool) -> None:
        self.zones = zones
        self.station = station
        self.name = station.name
        self.kind = station.kind
        self.by_zone = by_zone          # a balancer's choice with the caller's zone in hand, else None:
        self.pick = pick                # the caller's own choice, whatever its zone
        lay = zones.layout
        placed = lay.placed.get(station.name)
        self.placed = placed is not None
        self.zs = placed or (lay.nowhere,)   # replica i runs in zs[i % len(zs)]
        self.nz = len(self.zs)
        self.nowhere = lay.nowhere
        # the delay table, unless the edge sets its own latency_ms or the callee runs beside its caller
        self.delay = lay.delay_s if self.placed and not fixed_delay else None
        self.crossing = lay.crossing if self.placed else None
        self.crossings = zones.crossings
        self.down = zones.down
        self.counters = [zones.counter(z, station.name) for z in range(lay.nowhere + 1)]
        self.flaky = zones.flaky.get(station.name)   # its replicas down at random now (None: it never fails so)
        self.env = station.env

    def next_replica(self) -> None:
        return None   # the replica is picked in serve, with the caller's zone in hand

    def serve(self, request: Request, _replica: Any) -> Serve:
        src = request.zone
        replica = self.by_zone(src) if self.by_zone is not None else self.pick()
        z = self.zs[replica.index % self.nz]
        measured = request.measured
        counter = self.counters[z]
        if measured:
            crossing = self.crossing
            if crossing is not None and src != self.nowhere:   # a call between two placed replicas
                self.crossings[crossing[src][z]] += 1
            counter[0] += 1
        delay = self.delay[src][z] if self.delay is not None else 0.0
        if delay:
            yield Timeout(self.env, delay)
        failure: Failure | None
        flaky = self.flaky
        if self.down[z]:
            failure = self.refused(request, z)
            if measured:
                counter[2] += 1
        elif flaky is not None and replica.index in flaky:
            failure = self.refused(request, -1)
            if measured:
                self.zones.flaky_refused[self.name] += 1
        elif self.placed:
            request.zone = z
            failure = yield from self.station.serve(request, replica)
            request.zone = src
        else:
            failure = yield from self.station.serve(request, replica)
        if measured and failure is not None:
            counter[1] += 1
        if delay:
            yield Timeout(self.env, delay)
        return failure

    def refused(self, request: Request, zone: int) -> Failure:
        """A call to a replica that is down (its zone, or zone -1: a random failure) fails at once (connection
        refused), counted as the node's."""
        station = self.station
        if request.measured:
            station.stats.arrived += 1
            station.stats.failed += 1
            if station.class_stats is not None:
                cs = station.class_stats[request.cls]
                cs.arrived += 1
                cs.failed += 1
        if zone < 0:
            return self.zones.flaky_failures[station.name]
        failure = self.zones.refusals.get((station.name, zone))
        if failure is None:
            failure = self.zones.refusals[(station.name, zone)] = Failure(
                "failed", station.name, f"down (zone {self.zones.layout.zones[zone]} is down)", "down")
        return failure


def placed_edge(zones: Zones, env: Environment, balancer: str, policy: str | None, health: HealthCheck | None,
                local: bool, target: Any, pick: Callable[[], Any], own_latency: bool, draw: Callable[[], Draw],
                phase: Draw) -> tuple[Any, Callable[[], Any]]:
    """The (callee, picker) of an edge from `balancer` (its policy, health check and locality: None, None, False
    for a node that is no load balancer) to `target`: a :class:`PlacedCall` when placement changes the call, else
    the edge as it was."""
    if not isinstance(target, Station):
        return target, pick
    balances = policy is not None and (health is not None or local)
    if target.name not in zones.layout.placed and target.name not in zones.flaky and not balances:
        return target, pick
    chooser: Callable[[int], Any] | None = None
    if balances:
        checks = None
        if health is not None:
            checks = Health(zones, balancer, target, health, phase() * health.interval_s)
            zones.health.append(checks)
        lay = zones.layout
        chooser = ZonePicker(target, policy or "round_robin", draw(), lambda i: lay.zone_of(target.name, i),
                             lay.nowhere, checks, local)
    return PlacedCall(zones, target, chooser, pick, own_latency), _nobody


def _nobody() -> None:
    return None


def placed_entry(zones: Zones, entry: Any) -> Any:
    """What the workload's clients call: a placed entry station through a :class:`PlacedCall`, else itself."""
    if isinstance(entry, Station) and (entry.name in zones.layout.placed or entry.name in zones.flaky):
        return PlacedCall(zones, entry, None, entry.next_replica, False)
    return entry
