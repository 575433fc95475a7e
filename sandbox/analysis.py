"""Back-of-envelope analysis: what queueing theory predicts, from the graph alone.

1. **Traffic equations.** Visits per request ``v = e_entry + P^T v``, where
   ``P[i, j]`` sums, over the edges i -> j, probability x (hit or miss ratio for
   caches). Offered load at node i is ``rate x v_i`` (Jackson networks; cycles
   with probabilities below 1 are solved exactly).
2. **Hold time.** A worker is held for its own mean service time plus, for each
   synchronous call, the callee's response time and twice the edge latency
   (``parallel`` nodes wait for the slowest branch, estimated by the largest mean).
3. **Waiting.** Each replica is an M/M/c queue (c = workers, split evenly across
   replicas) whose Erlang C wait is scaled by ``(ca^2 + cs^2) / 2`` (Allen-Cunneen),
   which is exact for M/D/1 (Pollaczek-Khinchine) and M/M/c.
4. **Saturation.** The entry rate at which the first node reaches 100%
   utilization, found by bisection (downstream waits lengthen upstream holds).

These are estimates: the simulation is the reference, and the results flag
where the two disagree.

>>> from sandbox.scenario import loads
>>> a = analyse(loads('''
... name: mm1
... workload: {entry: s, rate_rps: 80, duration_s: 10}
... nodes: {s: {kind: service, service_time: {dist: exponential, mean_ms: 10}}}
... '''))
>>> round(a.nodes["s"].predicted_utilization, 3), round(a.nodes["s"].predicted_wait_ms, 1)
(0.8, 40.0)
>>> round(a.saturation_rps), a.first_to_saturate
(100, 's')
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from .calls import Edge
from .findings import Finding
from .intervals import json_safe
from .graph import call_factor, certain_dependencies, reachable, to_graph
from .kinds import Capacity, Node, kind_of
from .scenario import Scenario

__all__ = ["NodeEstimate", "Analysis", "analyse", "erlang_b", "erlang_c", "mmc_wait", "visits"]


@dataclass(frozen=True)
class NodeEstimate:
    """Theory's figures for one node at the analysed rate."""
    node: str
    kind: str
    visits: float                  # calls per request entering the system
    offered_rps: float
    capacity: int                  # workers (consumers for a queue) in all replicas
    hold_ms: float                 # mean time a worker is held, downstream calls included
    predicted_utilization: float
    predicted_wait_ms: float       # mean wait for a worker (inf when saturated)
    predicted_response_ms: float   # wait + hold (for a queue: time to enqueue, ~0)


@dataclass(frozen=True)
class Analysis:
    """The analysis of a scenario at one entry rate."""
    rate_rps: float
    nodes: dict[str, NodeEstimate]
    saturation_rps: float
    first_to_saturate: str | None
    predicted_latency_ms: float
    cost_per_hour: float = 0.0     # dollars, at the configured replica counts
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def erlang_b(servers: int, offered_erlangs: float) -> float:
    """Blocking probability of an M/M/c/c loss system (Erlang B).

    Small c: the stable recursion. Large c: B = pmf(c) / cdf(c) of a Poisson(a),
    summed only within 40 standard deviations of a (the rest is below 1e-300),
    so the cost grows with sqrt(a), not with c.

    >>> round(erlang_b(2, 1.0), 6), round(erlang_b(5000, 4900.0), 6) == round(erlang_b(5000, 4900.0), 6)
    (0.2, True)
    """
    c, a = servers, offered_erlangs
    if a <= 0:
        return 0.0
    if c <= 500:
        b = 1.0
        for k in range(1, c + 1):
            b = a * b / (k + a * b)
        return b
    spread = 40 * math.sqrt(a)
    if c > a + spread:
        return 0.0  # pmf(c) is negligible against the cdf
    lo = max(0, int(a - spread))
    logs = [k * math.log(a) - a - math.lgamma(k + 1) for k in range(lo, c + 1)]
    top = max(logs)
    log_cdf = top + math.log(sum(math.exp(x - top) for x in logs))
    return math.exp(logs[-1] - log_cdf)


def erlang_c(servers: int, offered_erlangs: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C).

    >>> round(erlang_c(1, 0.8), 6)
    0.8
    >>> round(erlang_c(2, 1.0), 6)
    0.333333
    >>> abs(erlang_c(600, 540.0) - erlang_c(600, 540.0 + 1e-9)) < 1e-6   # the large-c path is smooth
    True
    """
    c, a = servers, offered_erlangs
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def mmc_wait(servers: int, rate: float, hold: float, variability: float = 1.0) -> float:
    """Mean wait before service in an M/M/c queue, scaled by (ca^2 + cs^2)/2.

    `rate` and `hold` in consistent units (per second and seconds); inf when saturated.
    """
    if rate <= 0 or hold <= 0:
        return 0.0
    a = rate * hold
    if a >= servers:
        return math.inf
    return erlang_c(servers, a) * hold / (servers - a) * variability


def _visits(s: Scenario, rate: float = 0.0) -> dict[str, float]:
    """Visits per entering request; a rate limiter passes at most its rate (at entry rate `rate`)."""
    names = list(s.nodes)
    idx = {n: i for i, n in enumerate(names)}
    e0 = np.zeros(len(names))
    e0[idx[s.workload.entry]] = 1.0
    caps = {n: cap for n, node in s.nodes.items() if (cap := kind_of(node).admits_rps(node)) is not None}
    passing = {n: 1.0 for n in caps}
    v: np.ndarray[Any, np.dtype[Any]] = np.zeros(len(names))
    for _ in range(1 + 3 * len(passing)):  # limiter caps settle in a few rounds
        P = np.zeros((len(names), len(names)))
        for i, e in enumerate(s.edges):
            P[idx[e.source], idx[e.target]] += call_factor(s, i) * passing.get(e.source, 1.0)
        try:
            v = np.linalg.solve(np.eye(len(names)) - P.T, e0)
        except np.linalg.LinAlgError:
            v = np.full(len(names), math.inf)
        if not passing:
            break
        for n in passing:
            offered = rate * v[idx[n]]
            passing[n] = min(1.0, caps[n] / offered) if offered > 0 else 1.0
    return {n: float(max(v[idx[n]], 0.0)) if math.isfinite(v[idx[n]]) else math.inf for n in names}


def _service_ms(node: Node) -> tuple[float, float]:
    """(mean own service ms, its squared coefficient of variation)."""
    st = kind_of(node).service_time(node)
    return (st.mean(), st.scv()) if st is not None else (0.0, 0.0)


def _evaluate(s: Scenario, rate: float) -> dict[str, NodeEstimate]:
    """Per-node estimates at entry rate `rate` (fixed point over response times)."""
    visits = _visits(s, rate)
    ca2_entry = 0.0 if s.workload.arrival == "constant" and s.workload.profile is None else 1.0
    out: dict[str, list[tuple[Edge, float]]] = {n: [] for n in s.nodes}
    for i, e in enumerate(s.edges):
        out[e.source].append((e, call_factor(s, i)))
    caps = {name: kind_of(node).capacity(s, name, node) for name, node in s.nodes.items()}
    never_waits = _fed_only_by_fewer_consumers(s, caps)
    response = {n: 0.0 for n in s.nodes}   # ms, a caller sees
    result: dict[str, NodeEstimate] = {}
    for _ in range(60):
        changed = False
        for name, node in s.nodes.items():
            own, scv = _service_ms(node)
            # a branch never taken (factor 0) adds nothing, even towards a saturated node (0 x inf)
            branch = [f * (2 * e.latency_ms + response[e.target]) for e, f in out[name] if f > 0]
            downstream = (max(branch) if getattr(node, "parallel", False) else sum(branch)) if branch else 0.0
            hold = own + downstream
            lam = rate * visits[name]
            kind = kind_of(node)
            servers, replicas = caps[name].servers, caps[name].replicas
            if servers:
                per_replica = servers // replicas
                util = lam * hold / 1000.0 / servers if hold and lam else 0.0
                cs2 = scv if not branch else 1.0
                ca2 = ca2_entry if name == s.workload.entry else 1.0
                wait = 0.0 if name in never_waits else \
                    mmc_wait(per_replica, lam / replicas, hold / 1000.0, (ca2 + cs2) / 2) * 1000.0
            else:
                util, wait = 0.0, 0.0
            # a caller of an asynchronous node (a queue) waits only for the enqueue
            resp = 0.0 if kind.asynchronous else wait + hold
            if abs(resp - response[name]) > 1e-9 * max(1.0, resp):
                changed = True
            response[name] = resp
            result[name] = NodeEstimate(name, node.kind, visits[name], lam, servers, hold, util, wait,
                                        wait + hold if not kind.asynchronous else 0.0)
        if not changed:
            break
    return result


def _fed_only_by_fewer_consumers(s: Scenario, caps: dict[str, Capacity]) -> set[str]:
    """Nodes called only by queue consumers, no more of them than the node has workers:
    at most one call per worker is ever in flight, so nobody waits."""
    out = set()
    for name, node in s.nodes.items():
        callers = [e.source for e in s.edges if e.target == name]
        if not callers or not kind_of(node).has_workers or caps[name].replicas > 1:
            continue
        if all(kind_of(s.nodes[c]).asynchronous for c in callers) and \
                sum(caps[c].servers for c in set(callers)) <= caps[name].servers:
            out.add(name)
    return out


def visits(s: Scenario) -> dict[str, float]:
    """Expected calls of each node per request entering the system (the traffic equations)."""
    return _visits(s)


def _closed_loop_rate(s: Scenario, saturation: float) -> float:
    """Throughput of `users` closed-loop users: solve rate = users / (think + R(rate))."""
    users, think_s = s.workload.users or 0, s.workload.think_time_ms / 1000.0
    lo, hi = 0.0, min(saturation, users / think_s if think_s else saturation)
    entry = s.workload.entry
    for _ in range(60):
        mid = (lo + hi) / 2
        r_s = _evaluate(s, mid)[entry].predicted_response_ms / 1000.0
        if mid * (think_s + r_s) < users:
            lo = mid
        else:
            hi = mid
    return lo


def analyse(scenario: Scenario, rate_rps: float | None = None) -> Analysis:
    """Theory's view of `scenario` at `rate_rps` (default: the workload's rate)."""
    s = scenario
    saturation, first = _saturation(s)
    if rate_rps is None:
        w = s.workload
        if w.users is not None:
            rate_rps = _closed_loop_rate(s, saturation)
        else:  # a varying load is analysed at its mean over the measured window
            rate_rps = w.mean_rate(w.warmup_s, w.duration_s)
    nodes = _evaluate(s, rate_rps)
    entry = nodes[s.workload.entry]
    findings = _findings(s, nodes, saturation, first, rate_rps)
    return Analysis(rate_rps, nodes, saturation, first, entry.predicted_response_ms, static_cost(s), findings)


def static_cost(s: Scenario) -> float:
    """Dollars per hour at the configured replica counts (prices per replica-hour)."""
    total = 0.0
    for node in s.nodes.values():
        total += kind_of(node).cost_per_hour(node)
    return total


def _saturation(s: Scenario) -> tuple[float, str | None]:
    """The entry rate at which the first node reaches 100% busy, and that node
    (inf and None when rate limiters shed load before any node saturates)."""
    visits = _visits(s)
    bounds = []
    for name, est in _evaluate(s, 1e-9).items():
        if est.capacity and est.hold_ms > 0 and visits[name] > 0 and math.isfinite(visits[name]):
            bounds.append(est.capacity / (visits[name] * est.hold_ms / 1000.0))
    if not bounds:
        return math.inf, None
    busiest = lambda rate: max(e.predicted_utilization for e in _evaluate(s, rate).values())
    lo, hi = 0.0, min(bounds)
    if busiest(hi) < 1.0:  # rate limiters shed load: saturation lies further out, if anywhere
        lo, hi = hi, hi * 1e6
        if busiest(hi) < 1.0:
            return math.inf, None
    for _ in range(80):
        mid = (lo + hi) / 2
        if busiest(mid) < 1.0:
            lo = mid
        else:
            hi = mid
    at = _evaluate(s, hi)
    first = max(at, key=lambda n: (at[n].predicted_utilization, n))
    return lo, first


def _findings(s: Scenario, nodes: dict[str, NodeEstimate], saturation: float, first: str | None,
              rate: float) -> list[Finding]:
    G = to_graph(s)
    found: list[Finding] = []
    seen = reachable(G)
    for n in s.nodes:
        if n not in seen:
            found.append(Finding("warning", "unreachable", n, f"{n} is never called: no path leads to it from {s.workload.entry}"))
    for cycle in sorted(nx.simple_cycles(G), key=lambda c: (len(c), c))[:5]:
        path = " -> ".join(cycle + [cycle[0]])
        found.append(Finding("info", "cycle", cycle[0], f"calls can loop {path}; each pass is taken with probability below 1"))
    for n in certain_dependencies(G):
        node = s.nodes[n]
        spof = kind_of(node).spof_finding(n, node)
        if spof is not None:
            found.append(spof)
    for n, node in s.nodes.items():
        found.extend(kind_of(node).design_findings(s, n, node))
    for n, est in nodes.items():
        if est.capacity and est.predicted_utilization >= 1.0:
            load = est.predicted_utilization
            share = f"{load:.0%} of what it can serve" if math.isfinite(load) and load < 10 else \
                "more than it can serve (a node it calls is saturated)"
            found.append(Finding("warning", "saturated", n,
                                 f"{n} is offered {share}: its queue grows until calls are rejected"))
        elif est.capacity and est.predicted_utilization >= 0.8:
            found.append(Finding("info", "busy", n, f"{n} is predicted {est.predicted_utilization:.0%} busy: waits grow steeply from here"))
    for n, node in s.nodes.items():
        found.extend(kind_of(node).load_findings(s, n, node, nodes[n].offered_rps))
    peak = s.workload.peak_rate()
    if s.workload.profile is not None and peak > saturation and first:
        found.append(Finding("warning", "peak_over_capacity", first,
                             f"the load peaks at {peak:g} rps, above the {saturation:.0f} rps at which {first} saturates"))
    return found
