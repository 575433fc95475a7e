"""The design as the analysis sees it: what does not change with the rate, and the traffic equations.

:class:`Design` holds capacities, calls and callers, the order to evaluate nodes in,
the nodes that never wait, the thread-pool pairs solved as one chain, and what is
out of the analysis' scope. :func:`solve_visits` solves the traffic equations for
given admitted shares.

With request classes the traffic equations are solved once per class: a class
takes only the calls open to it (an edge's ``classes``), a weighted load
balancer's call with probability weight / the sum of the weights of the calls
that class may take, and a node serves it in its own service time
(``service_time_by_class``). The visits are the classes' visits weighted by
their shares. ``route: one`` takes each call with its probability, as
independent coin flips would on average (linearity); only the variance of the
hold differs (one part of a mixture, not a sum).
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np

from .calls import Edge
from .graph import call_factor, to_graph
from .kinds import Capacity, kind_of
from .placement_theory import placed_view
from .priority_queueing import mixture_moments
from .scenario import Scenario

__all__ = ["Design", "solve_visits", "solve_class_visits", "visits_with_limits", "edge_factor"]


def edge_factor(s: Scenario, edge_index: int, cls: str | None = None) -> float:
    """Expected attempts over an edge per visit of its source by a request of class `cls` (None: any request,
    the workload having no classes): 0 when the class may not take it; a weighted load balancer's share of it.

    >>> from sandbox.scenario import loads
    >>> s = loads('''
    ... name: lb
    ... workload: {entry: lb, rate_rps: 1, duration_s: 1, classes: {web: {share: 0.5}, batch: {share: 0.5}}}
    ... nodes:
    ...   lb: {kind: load_balancer}
    ...   a: {kind: service, service_time: {dist: constant, mean_ms: 1}}
    ...   b: {kind: service, service_time: {dist: constant, mean_ms: 1}}
    ... edges: [{from: lb, to: a, weight: 3}, {from: lb, to: b, weight: 1, classes: [batch]}]
    ... ''')
    >>> edge_factor(s, 0, "web"), edge_factor(s, 0, "batch"), edge_factor(s, 1, "web")
    (1.0, 0.75, 0.0)
    """
    e = s.edges[edge_index]
    if cls is not None and e.classes is not None and cls not in e.classes:
        return 0.0
    factor = call_factor(s, edge_index)
    if e.weight is not None:
        total = math.fsum(x.weight for x in s.edges if x.source == e.source and x.weight is not None
                          and (cls is None or x.classes is None or cls in x.classes))
        factor *= e.weight / total
    return factor


class Design:
    """What does not change with the rate: capacities, calls, callers, orders, scope."""

    def __init__(self, s: Scenario) -> None:
        s = placed_view(s)   # placement's delays, as edge latencies (a design that places nothing is unchanged)
        self.s = s
        self.names = list(s.nodes)
        self.caps: dict[str, Capacity] = {n: kind_of(node).capacity(s, n, node) for n, node in s.nodes.items()}
        classes = s.workload.classes or {}
        self.classes: tuple[str, ...] = tuple(classes)   # empty: one implicit class, the analysis as before
        self.shares = {k: c.share for k, c in classes.items()}
        self.priorities = {k: c.priority for k, c in classes.items()}
        # per class: node -> its calls, each with the expected attempts per visit of a request of that class
        self.class_out: dict[str, dict[str, list[tuple[Edge, float]]]] = {}
        self.mix: dict[str, dict[str, float]] = {}   # node -> class -> share of its visits (at no blocking)
        factors = self._class_factors(s) if self.classes else [edge_factor(s, i) for i in range(len(s.edges))]
        self.out: dict[str, list[tuple[Edge, float]]] = {n: [] for n in s.nodes}
        self.into: dict[str, list[tuple[str, Edge, float]]] = {n: [] for n in s.nodes}
        for i, e in enumerate(s.edges):
            f = factors[i]
            self.out[e.source].append((e, f))
            self.into[e.target].append((e.source, e, f))
        self._own = {n: self._mixed_own(n) for n in self.names} if self.classes else {}
        G = to_graph(s)
        self.acyclic = nx.is_directed_acyclic_graph(G)
        self.order = list(nx.topological_sort(G)) if self.acyclic else self.names   # callers first
        self.never_waits = self._never_waits()
        self.pairs = self._pairs()
        self.scope = self._scope()

    def _class_factors(self, s: Scenario) -> list[float]:
        """Fill the per-class calls and each node's class mix; return each edge's factor over the mix (what a
        visit of its source calls on average, the classes in the proportions they arrive in, without blocking)."""
        per = {k: [edge_factor(s, i, k) for i in range(len(s.edges))] for k in self.classes}
        for k in self.classes:
            self.class_out[k] = {n: [] for n in s.nodes}
            for i, e in enumerate(s.edges):
                self.class_out[k][e.source].append((e, per[k][i]))
        visits = {k: _solve(self, self.class_out[k], {}) for k in self.classes}
        for n in self.names:
            weights = {k: self.shares[k] * visits[k][n] for k in self.classes}
            total = math.fsum(w for w in weights.values() if math.isfinite(w))
            if total <= 0 or not math.isfinite(total):   # never visited (or a loop that never ends): the shares
                weights, total = dict(self.shares), 1.0
            self.mix[n] = {k: w / total for k, w in weights.items()}
        return [math.fsum(self.mix[e.source][k] * per[k][i] for k in self.classes) for i, e in enumerate(s.edges)]

    def kind(self, n: str) -> Any:
        return kind_of(self.s.nodes[n])

    def own(self, n: str, cls: str | None = None) -> tuple[float, float]:
        """(mean own service ms, its squared coefficient of variation): of class `cls`, else of the node's
        class mix (the mixture of its classes' service times, without blocking)."""
        if cls is None and self.classes:
            return self._own[n]
        node = self.s.nodes[n]
        by_class = getattr(node, "service_time_by_class", None) or {}
        st = by_class[cls] if cls in by_class else self.kind(n).service_time(node)
        return (st.mean(), st.scv()) if st is not None else (0.0, 0.0)

    def _mixed_own(self, n: str) -> tuple[float, float]:
        parts = [(w, *self.own(n, k)) for k, w in self.mix[n].items()]
        mean, var = mixture_moments([w for w, _, _ in parts], [m for _, m, _ in parts],
                                    [scv * m * m for _, m, scv in parts])
        return mean, (var / mean ** 2 if mean > 0 else 0.0)

    def one_of(self, n: str) -> bool:
        """n makes exactly one of its calls (``route: one``, a weighted load balancer)."""
        return self.kind(n).routing(self.s.nodes[n]) == "one" or any(e.weight is not None for e, _ in self.out[n])

    def priority(self, n: str) -> bool:
        """n serves its line by class priority (``discipline: priority``) and its classes have more than one."""
        return getattr(self.s.nodes[n], "discipline", None) == "priority" and len(set(self.priorities.values())) > 1

    def pools(self, n: str) -> list[tuple[tuple[str, ...], int]]:
        """Its workers per replica as pools: (the classes a pool serves, its workers), shared pool first, then
        one per bulkhead (the workload's classes; one pool of every class without bulkheads)."""
        bulkheads = getattr(self.s.nodes[n], "bulkheads", None) or {}
        shared = tuple(k for k in self.classes if k not in bulkheads)
        return [(shared, self.per_replica(n) - sum(bulkheads.values()))] + [((k,), w) for k, w in bulkheads.items()]

    def class_specific(self, n: str) -> bool:
        """n treats classes differently: its own service time, its calls, its order or its workers."""
        node = self.s.nodes[n]
        return bool(getattr(node, "service_time_by_class", None) or getattr(node, "bulkheads", None)
                    or self.priority(n) or any(e.classes is not None for e, _ in self.out[n]))

    def per_replica(self, n: str) -> int:
        cap = self.caps[n]
        return cap.servers // cap.replicas if cap.servers else 0

    def parallel(self, n: str) -> bool:
        """n calls all its calls at once (a node that takes one of them calls it alone)."""
        return bool(getattr(self.s.nodes[n], "parallel", False)) and not self.one_of(n)

    def policy(self, n: str) -> str:
        """How calls are spread over n's replicas: its load balancers' policy, else round robin."""
        policies = {self.kind(u).spreads(self.s.nodes[u]) for u, _, _ in self.into[n]}
        if len(policies) == 1 and None not in policies:
            return str(policies.pop())
        return "round_robin"

    def _never_waits(self) -> set[str]:
        """Nodes called only by nodes that hold a worker (or consumer) per call in flight, no more of them in all
        than one replica has workers: at most that many calls are ever in it, so none waits."""
        out = set()
        entry = self.s.workload.entry
        for n in self.names:
            callers = self.into[n]
            if n == entry or not callers or not self.caps[n].servers or self.kind(n).asynchronous:
                continue   # (a caller does not wait for a queue's consumers: it sends on)
            if getattr(self.s.nodes[n], "bulkheads", None):
                continue   # a class waits for its own pool, smaller than the replica
            in_flight: float = 0
            for u, e, _ in callers:
                if not self.caps[u].servers or e.hedge_after_ms is not None or e.timeout_ms is not None:
                    in_flight = math.inf
                    break
            if in_flight == 0:
                for u in {u for u, _, _ in callers}:
                    own = self.kind(u).calls_in_flight(self.s, u, self.s.nodes[u], n)
                    calls = sum(1 for v, _, _ in callers if v == u)
                    in_flight += own if own is not None else self.caps[u].servers * (calls if self.parallel(u) else 1)
            if in_flight <= self.per_replica(n):
                out.add(n)
        return out

    def _pairs(self) -> dict[str, str]:
        """Caller -> callee, where one thread pool holds its workers on one callee nobody else calls: the pair
        is one small Markov chain, solved exactly."""
        pairs = {}
        for t in self.names:
            callers = self.into[t]
            if len(callers) != 1 or t in self.never_waits or t == self.s.workload.entry:
                continue
            u, e, f = callers[0]
            ku, kt = self.kind(u), self.kind(t)
            if not (ku.has_workers and kt.has_workers) or len(self.out[u]) != 1 or self.out[t] or e.resilient:
                continue
            if self.caps[u].replicas != 1 or self.caps[t].replicas != 1 or self.parallel(u) or f > 1:
                continue
            if self.own(u)[1] != 1.0 or self.own(t)[1] != 1.0:
                continue
            if self.classes and (self.class_specific(u) or self.class_specific(t)):
                continue   # the chain has one class
            pairs[u] = t
        return pairs

    def _scope(self) -> dict[str, str]:
        """Node -> why the analysis cannot model it."""
        out: dict[str, str] = {}
        G = to_graph(self.s)
        for n, node in self.s.nodes.items():
            reason = self.kind(n).out_of_scope(node) or _overload_scope(node)
            if reason:
                out[n] = reason
                if self.kind(n).admits_rps(node) is not None or _overload_scope(node):   # what it passes is what its callees see
                    for t in nx.descendants(G, n):
                        out.setdefault(t, f"it is behind {n}: {reason}")
        for part in nx.strongly_connected_components(G):
            looped = len(part) > 1 or any(G.has_edge(n, n) for n in part)
            if looped and not any(self.kind(n).asynchronous for n in part):
                for n in sorted(part):
                    out.setdefault(n, "calls loop back synchronously: workers wait on calls that need workers "
                                      "of their own (it can deadlock; see the simulation)")
        for e in self.s.edges:
            if e.resilient:
                why = ("timeouts, retries, circuit breakers and hedging change the load with the latency "
                       "(no closed form: see the simulation)")
                out.setdefault(e.source, why)
                out.setdefault(e.target, why)
        if self.s.workload.profile is not None:
            for n in self.names:
                out.setdefault(n, "the load varies over time; steady-state figures at the mean rate would mislead")
        if self.s.workload.users is not None and any(self.class_specific(n) for n in self.names):
            for n in self.names:
                out.setdefault(n, "closed-loop users of each class cycle at their own rate (users / (think + "
                                  "their response)), which a class mix at fixed shares does not model")
        return out


def _overload_scope(node: Any) -> str | None:
    """Why overload control takes a node out of the steady-state analysis (it depends on the line's state)."""
    if getattr(node, "shed", None) is not None:
        return "it sheds calls by the length of its line (state-dependent: see the simulation)"
    if getattr(node, "max_wait_ms", None) is not None:
        return "it drops calls that waited over max_wait_ms (state-dependent: see the simulation)"
    return None


def _solve(d: Design, out: dict[str, list[tuple[Edge, float]]], passing: dict[str, float]) -> dict[str, float]:
    """v = e_entry + P^T v over the calls `out`, each node passing on the share `passing` of its visits."""
    names = d.names
    idx = {n: i for i, n in enumerate(names)}
    e0 = np.zeros(len(names))
    e0[idx[d.s.workload.entry]] = 1.0
    P = np.zeros((len(names), len(names)))
    for n in names:
        for e, f in out[n]:
            P[idx[n], idx[e.target]] += f * passing.get(n, 1.0)
    try:
        v = np.linalg.solve(np.eye(len(names)) - P.T, e0)
    except np.linalg.LinAlgError:
        v = np.full(len(names), math.inf)
    return {n: float(max(v[idx[n]], 0.0)) if math.isfinite(v[idx[n]]) else math.inf for n in names}


def solve_visits(d: Design, passing: dict[str, float]) -> dict[str, float]:
    """Visits of each node per entering request, each node passing on the share `passing` of its visits."""
    return solve_class_visits(d, passing)[0]


def solve_class_visits(d: Design, passing: dict[str, float]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(visits per entering request, and per class: visits per request of that class); no classes: ({...}, {})."""
    if not d.classes:
        return _solve(d, d.out, passing), {}
    per = {k: _solve(d, d.class_out[k], passing) for k in d.classes}
    total = {n: math.fsum(d.shares[k] * per[k][n] for k in d.classes) for n in d.names}
    return total, per


def visits_with_limits(s: Scenario, rate: float = 0.0) -> dict[str, float]:
    """Visits per entering request; a rate limiter passes at most its rate (at entry rate `rate`)."""
    d = Design(s)
    caps = {n: cap for n, node in s.nodes.items() if (cap := kind_of(node).admits_rps(node)) is not None}
    passing = {n: 1.0 for n in caps}
    v = solve_visits(d, passing)
    for _ in range(3 * len(passing)):  # limiter caps settle in a few rounds (the same for every class)
        for n in passing:
            offered = rate * v[n]
            passing[n] = min(1.0, caps[n] / offered) if offered > 0 else 1.0
        v = solve_visits(d, passing)
    return v
