"""Back-of-envelope analysis: what queueing theory predicts from the graph alone, and how far to trust it.

1. **Traffic equations.** Visits per request ``v = e_entry + P^T v``, where
   ``P[i, j]`` sums, over the edges i -> j, probability x (hit or miss ratio for
   caches) x the share of calls node i admits (a rate limiter's tokens, a full
   queue's rejections). Offered load at node i is ``rate x v_i``.
2. **Hold time.** A worker is held for its own service time plus, for each
   synchronous call, the network both ways and the callee's response; its mean
   and variance both count (a caller's hold is as variable as its parts).
   ``parallel`` nodes wait for the last branch (Nelson and Tantawi's fork-join).
3. **Arrival variability** per replica, after Whitt's QNA: Poisson or constant at
   the entry, thinned by probabilities, split round robin (Erlang-k: c_a^2 = 1/k)
   or at random, merged where calls meet, smoothed or not by the stations before.
4. **Waiting**, per replica, by the most exact method the node allows: M/M/c/K
   for exponential holds and Poisson arrivals (blocking, carried load, wait of
   admitted calls); Pollaczek-Khinchine for one worker; GI/M/1 for round robin
   or constant arrivals; zero when the callers' workers cannot send more calls
   than it has workers; the exact Markov chain of a thread pool and the one
   callee it holds its workers on; Allen-Cunneen elsewhere, capped by the
   finite population of callers (MVA) that can be waiting at once.
5. **Closed loops** by exact Mean Value Analysis where the network is product
   form, else the open network at the rate where users = rate x (think + R).
6. **Saturation.** The entry rate at which the first node is offered 100% of
   what it can serve, by bisection.
7. **Request classes.** The traffic equations per class (calls open to a class,
   its own service times); a FIFO station serves the mixture of its classes'
   holds (Pollaczek-Khinchine on it is exact for one worker), each class waiting
   the shared wait; ``discipline: priority`` waits by Cobham's formula and its
   M/M/c extension (:mod:`sandbox.priority_queueing`); a bulkhead is a station of
   its own. A class's latency is its response at the entry.

Every estimate says how far to trust it: ``accuracy`` is ``exact`` (the formula
is exact for the model the simulation runs), ``approximate`` (within the stated
bands, measured against long simulations in ``bench/bench_analysis.py``), or
``none``, with the reason, where the design is outside what steady-state theory
models (retries and timeouts, faults, autoscaling, a varying load).

>>> from sandbox.scenario import loads
>>> a = analyse(loads('''
... name: mm1
... workload: {entry: s, rate_rps: 80, duration_s: 10}
... nodes: {s: {kind: service, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}}
... '''))
>>> e = a.nodes["s"]
>>> round(e.predicted_utilization, 3), round(e.predicted_wait_ms, 1), e.accuracy, e.method
(0.8, 40.0, 'exact', 'M/M/c')
>>> round(a.saturation_rps), a.first_to_saturate
(100, 's')
"""

from __future__ import annotations

import math
from dataclasses import replace

import networkx as nx

from .closed_network import closed_by_mva, closed_loop_rate
from .estimates import METHODS, Analysis, ClassEstimate, ClassNodeEstimate, Method, NodeEstimate, accuracy_text
from .findings import Finding
from .graph import certain_dependencies, reachable, to_graph
from .kinds import kind_of
from .network_design import Design, visits_with_limits
from .open_network import evaluate
from .placement_theory import placement_findings
from .queueing import erlang_b, erlang_c, mmc_wait
from .scenario import Scenario

__all__ = ["NodeEstimate", "ClassNodeEstimate", "ClassEstimate", "Analysis", "Method", "METHODS", "accuracy_text",
           "analyse", "erlang_b", "erlang_c", "mmc_wait", "visits", "static_cost"]


def visits(s: Scenario) -> dict[str, float]:
    """Expected calls of each node per request entering the system (the traffic equations; with classes,
    each class's visits weighted by its share)."""
    return visits_with_limits(s)


def analyse(scenario: Scenario, rate_rps: float | None = None) -> Analysis:
    """Theory's view of `scenario` at `rate_rps` (default: the workload's rate)."""
    s = scenario
    d = Design(s)
    saturation, first = _saturation(s, d)
    w = s.workload
    latency: float | None = None
    nodes: dict[str, NodeEstimate] | None = None
    closed_exact = False
    if rate_rps is None and w.users is not None:
        by_mva = closed_by_mva(s, d)
        if by_mva is not None:
            rate_rps, nodes, latency, closed_exact = by_mva
        else:
            rate_rps = closed_loop_rate(s, saturation, d)
    elif rate_rps is None:  # a varying load is analysed at its mean over the measured window
        rate_rps = w.mean_rate(w.warmup_s, w.duration_s)
    if nodes is None:
        nodes = evaluate(s, rate_rps, design=d)
        if w.users is not None and rate_rps is not None:
            nodes = {n: _as_closed_loop(e) for n, e in nodes.items()}
    entry = nodes[w.entry]
    if latency is None:
        latency = entry.predicted_response_ms
    accuracy, band = _latency_accuracy(s, d, nodes, closed_exact)
    findings = _findings(s, nodes, saturation, first, rate_rps)
    scope = [f"{n}: {reason}" for n, reason in d.scope.items()]
    scope += [f"zone {f.zone}: down from {f.at_s:g} s for {f.for_s:g} s (the steady state holds outside the outage; "
              "what it costs is under Placement)" for f in s.faults or ()]
    scope += [f"{n}: {e.reason}" for n, e in nodes.items() if e.accuracy == "none" and n not in d.scope]
    classes = _class_estimates(s, d, nodes, rate_rps, latency, closed_exact)
    return Analysis(rate_rps, nodes, saturation, first, latency, static_cost(s), findings, accuracy, band, scope,
                    classes)


def _as_closed_loop(e: NodeEstimate) -> NodeEstimate:
    """An estimate of the open network standing in for a closed loop: approximate, within the wider band."""
    approx = METHODS["closed loop as open network"]
    accuracy = "approximate" if e.accuracy != "none" else "none"
    wait_band = max(e.wait_band, approx.wait_band)
    return replace(e, accuracy=accuracy, utilization_band=max(e.utilization_band, approx.utilization_band),
                   wait_band=wait_band, classes={k: replace(c, accuracy="approximate" if c.accuracy != "none" else
                                                            "none", wait_band=max(c.wait_band, approx.wait_band))
                                                 for k, c in e.classes.items()})


def _class_estimates(s: Scenario, d: Design, nodes: dict[str, NodeEstimate], rate: float, latency: float,
                     closed_exact: bool) -> dict[str, ClassEstimate]:
    """Each class end to end: its rate, its response at the entry, how far to trust it (the nodes it waits on)."""
    entry = nodes[s.workload.entry]
    out = {}
    for k in d.classes:
        at_entry = entry.classes.get(k)
        mine = latency if closed_exact or at_entry is None else at_entry.predicted_response_ms
        estimates = {n: e.classes[k] for n, e in nodes.items() if k in e.classes}
        accuracy, band = _latency_accuracy(s, d, nodes, closed_exact, k, estimates)
        out[k] = ClassEstimate(d.shares[k], rate * d.shares[k], mine, accuracy, band)
    return out


def _latency_accuracy(s: Scenario, d: Design, nodes: dict[str, NodeEstimate], closed_exact: bool,
                      cls: str | None = None, by_class: dict[str, ClassNodeEstimate] | None = None) -> tuple[str, float]:
    """The latency (of class `cls`, else of every request) is as exact as the least exact estimate it adds up,
    and as far off as the worst band."""
    seen = _waited_on(d, cls)
    figures: dict[str, NodeEstimate | ClassNodeEstimate] = {**nodes, **(by_class or {})}
    # a queue, stream or topic answers at once: its own estimate is about its consumers, not the caller's wait
    reached = [figures[n] for n in seen if figures[n].visits > 0 and not d.kind(n).asynchronous]
    if any(e.accuracy == "none" for e in reached):
        return "none", 0.0
    fork = [n for n in seen if d.parallel(n) and d.out[n]]
    fork_exact = all(_fork_is_exact(d, nodes, n) for n in fork)
    band = max([e.wait_band for e in reached] + [0.0 if fork_exact else METHODS["fork-join approximation"].wait_band])
    exact = all(e.accuracy == "exact" for e in reached) and fork_exact
    if s.workload.users is not None and not closed_exact:
        exact = False
    return ("exact" if exact else "approximate"), band


def _waited_on(d: Design, cls: str | None = None) -> set[str]:
    """The nodes a request (of class `cls`) waits for: from the entry along calls, not past a queue (its work
    is later)."""
    seen, todo = set(), [d.s.workload.entry]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if not d.kind(n).asynchronous:
            todo.extend(e.target for e, f in (d.out[n] if cls is None else d.class_out[cls][n]) if f > 0)
    return seen


def _fork_is_exact(d: Design, nodes: dict[str, NodeEstimate], n: str) -> bool:
    """Nelson and Tantawi's two-branch result is exact for two identical M/M/1 branches without latency."""
    branches = d.out[n]
    if len(branches) != 2 or any(f != 1 or e.latency_ms for e, f in branches):
        return False
    ests = [nodes[e.target] for e, _ in branches]
    return all(x.method == "M/M/c" and x.capacity == 1 for x in ests) and \
        math.isclose(ests[0].hold_ms, ests[1].hold_ms) and math.isclose(ests[0].offered_rps, ests[1].offered_rps)


def static_cost(s: Scenario) -> float:
    """Dollars per hour at the configured replica counts (prices per replica-hour)."""
    total = 0.0
    for node in s.nodes.values():
        total += kind_of(node).cost_per_hour(node)
    return total


def _saturation(s: Scenario, d: Design | None = None) -> tuple[float, str | None]:
    """The entry rate at which the first node is offered 100% of what it serves, and that node
    (inf and None when rate limiters shed load before any node saturates)."""
    d = d or Design(s)
    visits = visits_with_limits(s)
    bounds = []
    for name, est in evaluate(s, 1e-9, detail=False, design=d).items():
        if est.capacity and est.hold_ms > 0 and visits[name] > 0 and math.isfinite(visits[name]):
            bounds.append(est.capacity / (visits[name] * est.hold_ms / 1000.0))
    if not bounds:
        return math.inf, None
    busiest = lambda rate: max(e.offered_utilization for e in evaluate(s, rate, detail=False, design=d).values())
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
    at = evaluate(s, hi, detail=False, design=d)
    first = max(at, key=lambda n: (at[n].offered_utilization, n))
    for name, node in s.nodes.items():   # a kind whose own figures know its limit better (a stream's hot partition)
        limit = kind_of(node).limit_rps(s, name, node)
        if limit is not None and visits[name] > 0 and math.isfinite(visits[name]) and limit / visits[name] < lo:
            lo, first = limit / visits[name], name
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
    needed = certain_dependencies(G)
    for n in needed:
        node = s.nodes[n]
        spof = kind_of(node).spof_finding(n, node)
        if spof is not None:
            found.append(spof)
    found.extend(placement_findings(s, needed, {n: e.predicted_utilization for n, e in nodes.items()}))
    for n, node in s.nodes.items():
        found.extend(kind_of(node).design_findings(s, n, node))
    for n, est in nodes.items():
        load = est.offered_utilization
        if est.capacity and load >= 1.0:
            share = f"{load:.0%} of what it can serve" if math.isfinite(load) and load < 10 else \
                "more than it can serve (a node it calls is saturated)"
            ending = (f"its queue fills and it turns away about {est.predicted_rejected:.0%} of its calls"
                      if est.predicted_rejected > 0 else "its queue grows until calls are rejected")
            found.append(Finding("warning", "saturated", n, f"{n} is offered {share}: {ending}"))
        elif est.capacity and est.predicted_rejected >= 0.001:
            found.append(Finding("warning", "rejecting", n,
                                 f"{n} is predicted to turn away {est.predicted_rejected:.1%} of its calls with "
                                 f"its queue full, at {load:.0%} offered load"))
        elif est.capacity and est.predicted_utilization >= 0.8:
            found.append(Finding("info", "busy", n, f"{n} is predicted {est.predicted_utilization:.0%} busy: waits grow steeply from here"))
    for n, node in s.nodes.items():
        found.extend(kind_of(node).load_findings(s, n, node, nodes[n].offered_rps))
    peak = s.workload.peak_rate()
    if s.workload.profile is not None and peak > saturation and first:
        found.append(Finding("warning", "peak_over_capacity", first,
                             f"the load peaks at {peak:g} rps, above the {saturation:.0f} rps at which {first} saturates"))
    return found
