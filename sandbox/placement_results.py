"""What placement did in one run, as plain data beside theory: calls per zone, crossings, outages and detection.

:func:`placement_figures` reads the run's :class:`~sandbox.components.placement.Zones` (calls and failures per
zone and node, the calls between placed replicas, every health-check transition) and the per-second arrivals,
and sets theory's figures beside them (:mod:`sandbox.placement_theory`). A design that places nothing has no
such figures, and its results read as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .placement import region_of
from .placement_theory import crossing_shares, flows, outage_predictions, random_failure_predictions
from .scenario import Scenario

if TYPE_CHECKING:  # pragma: no cover
    from .components import Component
    from .components.placement import Zones

__all__ = ["placement_figures", "outage_sentence"]


def placement_figures(s: Scenario, zones: "Zones", comps: dict[str, "Component"],
                      by_second: list[list[int]], arrived: int, completed: int) -> dict[str, Any]:
    """The run's placement figures (see the module docstring)."""
    lay = zones.layout
    per_zone: dict[str, Any] = {}
    for z, zone in enumerate(lay.zones):
        nodes = {}
        for name in lay.placed:
            comp = comps[name]
            replicas = sum(1 for r in getattr(comp, "replicas", ()) if lay.zone_of(name, r.index) == z)
            calls, failed, refused = zones.calls.get((z, name), (0, 0, 0))
            if replicas or calls:
                nodes[name] = {"replicas": replicas, "calls": calls, "failed": failed, "refused_zone_down": refused}
        per_zone[zone] = {"region": region_of(zone), "nodes": nodes}
    same, cross_zone, cross_region = zones.crossings
    between = same + cross_zone + cross_region
    flow = flows(s)
    assert flow is not None
    predicted_zone, predicted_region = crossing_shares(s, flow)
    out: dict[str, Any] = {
        "zones": per_zone,
        "calls_between_placed": {
            "calls": between, "same_zone": same, "cross_zone": cross_zone, "cross_region": cross_region,
            "cross_zone_share": cross_zone / between if between else 0.0,
            "cross_region_share": cross_region / between if between else 0.0,
            "predicted_cross_zone_share": predicted_zone, "predicted_cross_region_share": predicted_region},
        "availability": completed / arrived if arrived else 0.0,
        # per second of arrival, the share of the requests that finished (in flight at the end: not yet) that completed
        "availability_series": [done / finished if finished else 1.0 for finished, done in by_second],
        "outages": _outages(s, zones),
        "health_events": [{"t_s": t, "balancer": lb, "node": node, "replica": i, "zone": lay.zones[z]
                           if z < lay.nowhere else None, "event": "out" if out_ else "in"}
                          for t, lb, node, i, z, out_ in zones.events],
    }
    predicted = [o["predicted_failed"] for o in out["outages"] if o.get("predicted_failed") is not None]
    w = s.workload
    rate = w.mean_rate(w.warmup_s, w.duration_s) if w.users is None else 0.0
    expected = rate * (w.duration_s - w.warmup_s)
    theory = random_failure_predictions(s)
    if theory:
        out["random_failures"] = _random_failures(s, zones, theory)
    if (predicted or theory) and expected > 0:
        survive = max(0.0, 1.0 - sum(predicted) / expected)
        for name, t in theory.items():   # a request that calls a node v times gets through it with (1 - share)^v
            survive *= (1.0 - t["predicted_failed_share"]) ** (flow.offered.get(name, 0.0) / rate)
        out["predicted_availability"] = survive
    return out


def _random_failures(s: Scenario, zones: "Zones", theory: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each node whose replicas fail at random: the time each replica and the whole tier were up (measured window),
    the failures, and the calls refused, beside theory."""
    w = s.workload
    start, end = w.warmup_s, w.duration_s
    span = end - start
    out = {}
    for name, t in theory.items():
        n = zones.flaky_replicas.get(name, t["replicas"])
        down_since: dict[int, float] = {}
        down_time = [0.0] * n
        all_down = 0.0
        failures = 0
        all_since: float | None = None
        for at, node, r, down in zones.flaky_events:
            if node != name or r >= n:
                continue
            if down:
                down_since[r] = at
                failures += start <= at < end
                if len(down_since) == n:
                    all_since = at
            else:
                since = down_since.pop(r)
                down_time[r] += max(0.0, min(at, end) - max(since, start))
                if all_since is not None:
                    all_down += max(0.0, min(at, end) - max(all_since, start))
                    all_since = None
        for r, since in down_since.items():   # still down at the end
            down_time[r] += max(0.0, end - max(since, start))
        if all_since is not None:
            all_down += max(0.0, end - max(all_since, start))
        calls = sum(zones.calls.get((z, name), (0, 0, 0))[0] for z in range(zones.layout.nowhere + 1))
        refused = zones.flaky_refused.get(name, 0)
        out[name] = {**t, "replicas": n, "failures": failures,
                     "replica_availability": 1.0 - sum(down_time) / (n * span) if span else 1.0,
                     "tier_availability": 1.0 - all_down / span if span else 1.0,
                     "calls": calls, "refused": refused, "failed_share": refused / calls if calls else 0.0}
    return out


def _outages(s: Scenario, zones: "Zones") -> list[dict[str, Any]]:
    """Each zone fault at each placed node in the zone: the calls refused, theory's count, and how long each of
    the node's balancers took to take the zone's replicas out and to put them back."""
    lay = zones.layout
    theory = {(p["zone"], p["node"], p["at_s"]): p for p in outage_predictions(s)}
    out = []
    for fault in s.faults or ():
        z = lay.zones.index(fault.zone)
        end = fault.at_s + fault.for_s
        for name, placed in lay.placed.items():
            if z not in placed:
                continue
            entry: dict[str, Any] = {"zone": fault.zone, "node": name, "at_s": fault.at_s, "for_s": fault.for_s,
                                     "refused": zones.calls.get((z, name), (0, 0, 0))[2]}
            p = theory.get((fault.zone, name, fault.at_s))
            entry["predicted_failed"] = p["predicted_failed"] if p else None
            entry["detected_by"] = p["detected_by"] if p else "not predicted (retries or hedging change the count)"
            entry["detections"] = [_detection(zones, h.balancer, name, z, fault.at_s, end)
                                   for h in zones.health if h.station.name == name]
            out.append(entry)
    return out


def _detection(zones: "Zones", balancer: str, node: str, zone: int, start: float, end: float) -> dict[str, Any]:
    """How long `balancer` took to take every replica of `node` in `zone` out after `start`, and to put them all
    back after `end` (None: not within the outage, or not before the run ended)."""
    outs: dict[int, float] = {}
    ins: dict[int, float] = {}
    for t, lb, n, i, z, out in zones.events:
        if lb != balancer or n != node or z != zone:
            continue
        if out and start <= t <= end and i not in outs:
            outs[i] = t
        elif not out and t >= end and i not in ins:
            ins[i] = t
    replicas = {r.index for r in zones_station(zones, balancer, node).replicas
                if zones.layout.zone_of(node, r.index) == zone}
    detected = max(outs.values()) - start if replicas and replicas <= set(outs) else None
    back = max(ins.values()) - end if replicas and replicas <= set(ins) else None
    return {"balancer": balancer, "detected_after_s": detected, "back_after_s": back}


def zones_station(zones: "Zones", balancer: str, node: str) -> Any:
    """The station `balancer` probes as `node`."""
    return next(h.station for h in zones.health if h.balancer == balancer and h.station.name == node)


def outage_sentence(p: dict[str, Any], arrived: int) -> str:
    """What the zone outages did, for the bottleneck sentence ("" when they refused nothing)."""
    parts = []
    for zone in dict.fromkeys(o["zone"] for o in p.get("outages", [])):
        mine = [o for o in p["outages"] if o["zone"] == zone and o["refused"]]
        refused = sum(o["refused"] for o in mine)
        if not refused:
            continue
        where = []
        for o in mine:
            seen = [d["detected_after_s"] for d in o["detections"] if d["detected_after_s"] is not None]
            how = f"taken out after {max(seen):.1f} s" if seen else "never taken out: nothing probes it"
            where.append(f"{o['refused']:,} at {o['node']} ({how})")
        share = f" ({refused / arrived:.1%} of requests)" if arrived else ""
        parts.append(f"zone {zone} was down: {refused:,} calls failed there{share}, {', '.join(where)}")
    return "; ".join(parts)
