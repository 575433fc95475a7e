"""Placement in theory: where calls leave from and land, the delay that adds, and what a zone outage costs.

Replicas take calls in equal shares (round robin, random or least connections
over identical replicas), except behind a load balancer with ``locality:
zone``, which keeps a call in its caller's zone whenever the callee has a
replica there. So for each node the analysis knows the share of its calls
served in each zone, and for each edge the expected one-way delay (the delay
table weighted by where the call leaves from and where it lands). The
analysis adds that delay to the edge (:func:`placed_view`), as it adds an
edge's own ``latency_ms``: with constant service times the mean latency it
predicts is exact.

A zone outage of D seconds makes every call sent to a replica in the zone
fail. Without a health check that lasts the whole outage; with one (probes
every I seconds from a uniformly random phase, out after u failures in a row)
the replica is taken out after a delay uniform between (u - 1) I and u I, so
the calls that fail are (the rate into the zone) x E[min(delay, D)]. The rate
into the zone is taken as the outage runs once the balancers upstream have
noticed it (:func:`flows` with the zone down): callers in the zone are down
themselves, a tier whose balancer probes sends its calls to the other zones,
and calls that failed upstream make no calls downstream. The seconds before
upstream balancers notice are counted at that rate too (an approximation: a
short outage behind slow probes is overestimated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .findings import Finding
from .graph import offered_flows
from .placement import HealthCheck, Layout, layout
from .scenario import Scenario

__all__ = ["Flow", "flows", "placed_view", "one_way_s", "expected_failing_s", "outage_predictions", "crossing_shares",
           "placement_findings", "expected_failing_random_s", "random_failure_predictions"]


@dataclass(frozen=True)
class Flow:
    """Where each node's calls are served (per zone index, nowhere last) and each edge's landing shares."""
    layout: Layout
    at: dict[str, list[float]]                  # node -> share of its calls served in each zone
    lands: list[list[list[float]]]              # edge -> caller zone -> share landing in each zone
    rates: list[float]                          # calls per second over each edge
    offered: dict[str, float]                   # calls per second to each node


def _lands(lay: Layout, s: Scenario, i: int, avoid: int | None = None) -> list[list[float]]:
    """For edge i, by the zone its call leaves from, the share landing in each zone (never in zone `avoid`: its
    replicas have been taken out)."""
    e = s.edges[i]
    n = lay.nowhere + 1
    zones = [z for z in lay.placed.get(e.target, ()) if z != avoid] or list(lay.placed.get(e.target, ()))
    rows = []
    for zc in range(n):
        row = [0.0] * n
        if not zones:                          # an unplaced callee runs beside its caller
            row[zc] = 1.0
        elif getattr(s.nodes[e.source], "locality", None) == "zone" and zc in zones:
            row[zc] = 1.0
        else:
            for z in zones:
                row[z] += 1.0 / len(zones)
        rows.append(row)
    return rows


def _rerouted(s: Scenario, node: str) -> bool:
    """Do all of `node`'s callers probe it (load balancers with health checks), so they stop sending to replicas
    that are down once they notice?"""
    into = [e for e in s.edges if e.target == node]
    return bool(into) and node != s.workload.entry and \
        all(getattr(s.nodes[e.source], "health_check", None) is not None for e in into)


def flows(s: Scenario, down: int | None = None) -> Flow | None:
    """Where calls are served and land (None when the design places nothing); with zone `down` out, as the
    outage runs once every balancer that probes has noticed: callers that probe send elsewhere, the calls others
    send there fail (and make no calls of their own)."""
    lay = layout(s)
    if lay is None:
        return None
    n = lay.nowhere + 1
    offered, rates = offered_flows(s)
    entry = s.workload.entry
    per_visit = [r / offered[e.source] if offered.get(e.source) else 0.0 for e, r in zip(s.edges, rates)]
    lands = [_lands(lay, s, i, down if down is not None and _rerouted(s, e.target) else None)
             for i, e in enumerate(s.edges)]
    fails = {name: down is not None and down in zones and not _rerouted(s, name) for name, zones in lay.placed.items()}
    client_rate = max(0.0, offered.get(entry, 0.0) - sum(r for e, r in zip(s.edges, rates) if e.target == entry))
    at = {name: [0.0] * n for name in s.nodes}
    at[entry] = _entry_shares(lay, entry)
    served = dict(offered)
    flow = list(rates)
    for _ in range(100):   # where a node's calls are served depends on where its callers' were
        new = {name: [0.0] * n for name in s.nodes}
        inflow = {name: 0.0 for name in s.nodes}
        for z, p in enumerate(_entry_shares(lay, entry)):
            new[entry][z] += client_rate * p
        inflow[entry] += client_rate
        flow = [served[e.source] * per_visit[i] for i, e in enumerate(s.edges)]
        for i, e in enumerate(s.edges):
            r = flow[i]
            if r <= 0:
                continue
            inflow[e.target] += r
            live = _live(at[e.source], down if fails.get(e.source) else None)
            for zc, p in enumerate(live):
                if p:
                    for z, q in enumerate(lands[i][zc]):
                        new[e.target][z] += r * p * q
        new = {name: ([v / inflow[name] for v in row] if inflow[name] > 0 else at[name])
               for name, row in new.items()}
        served = {name: inflow[name] * (1.0 - (new[name][down] if down is not None and fails.get(name) else 0.0))
                  for name in s.nodes}
        done = all(abs(a - b) < 1e-12 for name in s.nodes for a, b in zip(new[name], at[name]))
        at = new
        if done:
            break
    return Flow(lay, at, lands, flow if down is not None else rates, offered)


def _live(shares: list[float], down: int | None) -> list[float]:
    """The zone shares of the calls a node makes when those it served in zone `down` failed (renormalised)."""
    if down is None or not shares[down]:
        return shares
    rest = 1.0 - shares[down]
    return [0.0 if z == down else (p / rest if rest > 0 else 0.0) for z, p in enumerate(shares)]


def _entry_shares(lay: Layout, entry: str) -> list[float]:
    """Clients call from nowhere; a placed entry serves them in equal shares of its zones."""
    row = [0.0] * (lay.nowhere + 1)
    zones = lay.placed.get(entry)
    if zones:
        for z in zones:
            row[z] += 1.0 / len(zones)
    else:
        row[lay.nowhere] = 1.0
    return row


def placed_view(s: Scenario) -> Scenario:
    """`s` with each edge's expected placement delay as its latency_ms (an edge that sets its own keeps it): what
    the analysis sees. A design that places nothing comes back as it is."""
    f = flows(s)
    if f is None:
        return s
    edges = []
    for i, e in enumerate(s.edges):
        if e.latency_ms > 0 or e.target not in f.layout.placed:
            edges.append(e)
            continue
        edges.append(e.model_copy(update={"latency_ms": 1000.0 * one_way_s(f, s, i)}))
    return s.model_copy(update={"edges": edges})


def one_way_s(f: Flow, s: Scenario, i: int) -> float:
    """Edge i's expected one-way delay from placement, in seconds."""
    total = 0.0
    for zc, p in enumerate(f.at[s.edges[i].source]):
        if p:
            for z, q in enumerate(f.lands[i][zc]):
                total += p * q * f.layout.delay_s[zc][z]
    return total


def crossing_shares(s: Scenario, f: Flow) -> tuple[float, float]:
    """Of the calls between two placed replicas, the shares expected to cross zones and to cross regions."""
    lay = f.layout
    calls = [0.0, 0.0, 0.0]
    for i, e in enumerate(s.edges):
        if e.target not in lay.placed or f.rates[i] <= 0:
            continue
        for zc, p in enumerate(f.at[e.source]):
            if p and zc != lay.nowhere:
                for z, q in enumerate(f.lands[i][zc]):
                    calls[lay.crossing[zc][z]] += f.rates[i] * p * q
    total = sum(calls)
    return (calls[1] / total, calls[2] / total) if total else (0.0, 0.0)


def expected_failing_s(check: HealthCheck | None, outage_s: float) -> float:
    """How long calls keep failing into a replica that is down for outage_s: the whole outage without health
    checks, else E[min(detection delay, outage)] with the delay uniform between (u - 1) I and u I."""
    if check is None:
        return outage_s
    lo, hi = check.detection_s()
    d = outage_s
    if d <= lo:
        return d
    if d >= hi:
        return (lo + hi) / 2
    return ((d * d - lo * lo) / 2 + d * (hi - d)) / (hi - lo)


def outage_predictions(s: Scenario) -> list[dict[str, Any]]:
    """For each zone fault and each placed node with replicas in that zone: the calls expected to fail there, and
    how (detection by health checks, or none). A node called with retries is left out: they change the count."""
    f = flows(s)
    if f is None or not s.faults:
        return []
    lay = f.layout
    w = s.workload
    out = []
    for fault in s.faults:
        zf = lay.zones.index(fault.zone)
        start, end = max(fault.at_s, w.warmup_s), min(fault.at_s + fault.for_s, w.duration_s)
        if end <= start:
            continue
        o = flows(s, down=zf)   # upstream as the outage runs: probing balancers have moved away from the zone
        assert o is not None
        for name, zones in lay.placed.items():
            if zf not in zones:
                continue
            edges = [i for i, e in enumerate(s.edges) if e.target == name]
            if any(s.edges[i].retries or s.edges[i].hedge_after_ms for i in edges):
                continue
            failed = 0.0
            checks = []
            for i in edges:
                e = s.edges[i]
                # calls from live callers (those in the zone are down too), landing as before the zone is noticed
                live = _live(o.at[e.source], zf)
                into = sum(o.rates[i] * p * f.lands[i][zc][zf] for zc, p in enumerate(live) if zc != zf)
                check = getattr(s.nodes[e.source], "health_check", None)
                checks.append(check)
                # the outage as the measured window sees it; detection counts from the fault's start
                failing = max(0.0, min(end, fault.at_s + expected_failing_s(check, fault.for_s)) - start)
                failed += into * failing
            if name == w.entry:
                entry_rate = f.offered.get(name, 0.0) - sum(f.rates[i] for i in edges)
                failed += max(0.0, entry_rate) * zones.count(zf) / len(zones) * (end - start)
                checks.append(None)
            out.append({"zone": fault.zone, "node": name, "at_s": fault.at_s, "for_s": fault.for_s,
                        "predicted_failed": failed,
                        "detected_by": "health checks" if checks and all(c is not None for c in checks) else
                        "none" if not any(checks) else "some callers' health checks"})
    return out


def placement_findings(s: Scenario, needed: list[str], utilization: dict[str, float]) -> list[Finding]:
    """What placement alone shows: a node every request needs (`needed`) that runs in one zone of several, and
    a tier that, with a zone out, serves its calls on the replicas left, at `utilization` (theory's, per node)
    scaled up by the share it lost."""
    lay = layout(s)
    if lay is None:
        return []
    found = []
    if len(lay.zones) > 1:
        for n in needed:
            used = set(lay.placed.get(n, ()))
            if len(used) == 1:
                (z,) = used
                found.append(Finding("warning", "zone_single_point_of_failure", n,
                                     f"{n} runs only in {lay.zones[z]} and every request needs it: an outage of "
                                     f"{lay.zones[z]} takes the whole design down"))
    for fault in s.faults or ():
        zf = lay.zones.index(fault.zone)
        for n, zones in lay.placed.items():
            left = sum(1 for z in zones if z != zf) / len(zones)
            busy = utilization.get(n, 0.0)
            if zf not in zones or not left or not _rerouted(s, n) or not busy:
                continue
            during = busy / left
            if during >= 0.8:
                replicas = getattr(s.nodes[n], "replicas", len(zones))
                kept = sum(1 for i in range(replicas) if zones[i % len(zones)] != zf)
                level = "warning" if during >= 1.0 else "info"
                found.append(Finding(level, "zone_outage_capacity", n,
                                     f"while {fault.zone} is down {n} serves on {kept} of its {replicas} replicas: "
                                     f"{during:.0%} busy" + (", more than it can serve" if during >= 1 else "")))
    return found


def expected_failing_random_s(check: HealthCheck | None, mttr_s: float) -> float:
    """How long calls keep failing into a replica that fails at random and is repaired after an exponential time
    of mean mttr_s: the whole repair without health checks, else E[min(detection, repair)] with the detection
    delay uniform on [(u - 1) I, u I]: for a repair R ~ Exp(m), E[min(d, R)] = m (1 - exp(-d / m)), averaged over d.
    """
    m = mttr_s
    if check is None:
        return m
    lo, hi = check.detection_s()
    return m - m * m * (math.exp(-lo / m) - math.exp(-hi / m)) / (hi - lo)


def random_failure_predictions(s: Scenario) -> dict[str, dict[str, Any]]:
    """For each node whose replicas fail at random: a replica's availability mtbf / (mtbf + mttr), the tier's
    (at least one replica up: 1 - (1 - a)^n), and the share of its calls that fail: 1 - a from a caller that does
    not probe, the undetected share E[min(detection, repair)] / (mtbf + mttr) plus the time every replica is down
    (the balancer fails open) from one that does. Several random failures of a node combine as independent."""
    lay = layout(s)
    if lay is None or not lay.flaky:
        return {}
    f = flows(s)
    assert f is not None
    out = {}
    for name, failures in lay.flaky.items():
        n = int(getattr(s.nodes[name], "replicas", 1))
        a = math.prod(mtbf / (mtbf + mttr) for mtbf, mttr in failures)
        tier = 1.0 - (1.0 - a) ** n
        edges = [i for i, e in enumerate(s.edges) if e.target == name]
        into = [(f.rates[i], getattr(s.nodes[s.edges[i].source], "health_check", None)) for i in edges]
        if name == s.workload.entry:
            into.append((max(0.0, f.offered.get(name, 0.0) - sum(f.rates[i] for i in edges)), None))
        total = sum(r for r, _ in into)
        shares = []
        for r, check in into:
            if check is None:
                share = 1.0 - a
            else:
                share = sum(expected_failing_random_s(check, mttr) / (mtbf + mttr) for mtbf, mttr in failures) \
                    + (1.0 - tier)
            shares.append((r, share))
        failing = sum(r * x for r, x in shares) / total if total else 0.0
        out[name] = {"replicas": n, "predicted_replica_availability": a, "predicted_tier_availability": tier,
                     "predicted_failed_share": failing,
                     "detected_by": "health checks" if into and all(c is not None for _, c in into) else
                     "none" if not any(c is not None for _, c in into) else "some callers' health checks"}
    return out
