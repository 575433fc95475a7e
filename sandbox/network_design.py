"""The design as the analysis sees it: what does not change with the rate, and the traffic equations.

:class:`Design` holds capacities, calls and callers, the order to evaluate nodes in,
the nodes that never wait, the thread-pool pairs solved as one chain, and what is
out of the analysis' scope. :func:`solve_visits` solves the traffic equations for
given admitted shares.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np

from .calls import Edge
from .graph import call_factor, to_graph
from .kinds import Capacity, kind_of
from .scenario import Scenario

__all__ = ["Design", "solve_visits", "visits_with_limits"]


class Design:
    """What does not change with the rate: capacities, calls, callers, orders, scope."""

    def __init__(self, s: Scenario) -> None:
        self.s = s
        self.names = list(s.nodes)
        self.caps: dict[str, Capacity] = {n: kind_of(node).capacity(s, n, node) for n, node in s.nodes.items()}
        self.out: dict[str, list[tuple[Edge, float]]] = {n: [] for n in s.nodes}
        self.into: dict[str, list[tuple[str, Edge, float]]] = {n: [] for n in s.nodes}
        for i, e in enumerate(s.edges):
            f = call_factor(s, i)
            self.out[e.source].append((e, f))
            self.into[e.target].append((e.source, e, f))
        G = to_graph(s)
        self.acyclic = nx.is_directed_acyclic_graph(G)
        self.order = list(nx.topological_sort(G)) if self.acyclic else self.names   # callers first
        self.never_waits = self._never_waits()
        self.pairs = self._pairs()
        self.scope = self._scope()

    def kind(self, n: str) -> Any:
        return kind_of(self.s.nodes[n])

    def own(self, n: str) -> tuple[float, float]:
        """(mean own service ms, its squared coefficient of variation)."""
        st = self.kind(n).service_time(self.s.nodes[n])
        return (st.mean(), st.scv()) if st is not None else (0.0, 0.0)

    def per_replica(self, n: str) -> int:
        cap = self.caps[n]
        return cap.servers // cap.replicas if cap.servers else 0

    def parallel(self, n: str) -> bool:
        return bool(getattr(self.s.nodes[n], "parallel", False))

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
            in_flight: float = 0
            for u, e, _ in callers:
                if not self.caps[u].servers or e.hedge_after_ms is not None or e.timeout_ms is not None:
                    in_flight = math.inf
                    break
            if in_flight == 0:
                for u in {u for u, _, _ in callers}:
                    calls = sum(1 for v, _, _ in callers if v == u)
                    in_flight += self.caps[u].servers * (calls if self.parallel(u) else 1)
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
            pairs[u] = t
        return pairs

    def _scope(self) -> dict[str, str]:
        """Node -> why the analysis cannot model it."""
        out: dict[str, str] = {}
        G = to_graph(self.s)
        for n, node in self.s.nodes.items():
            reason = self.kind(n).out_of_scope(node)
            if reason:
                out[n] = reason
                if self.kind(n).admits_rps(node) is not None:   # what a limiter passes is what its callees see
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
        return out


def solve_visits(d: Design, passing: dict[str, float]) -> dict[str, float]:
    names = d.names
    idx = {n: i for i, n in enumerate(names)}
    e0 = np.zeros(len(names))
    e0[idx[d.s.workload.entry]] = 1.0
    P = np.zeros((len(names), len(names)))
    for n in names:
        for e, f in d.out[n]:
            P[idx[n], idx[e.target]] += f * passing.get(n, 1.0)
    try:
        v = np.linalg.solve(np.eye(len(names)) - P.T, e0)
    except np.linalg.LinAlgError:
        v = np.full(len(names), math.inf)
    return {n: float(max(v[idx[n]], 0.0)) if math.isfinite(v[idx[n]]) else math.inf for n in names}


def visits_with_limits(s: Scenario, rate: float = 0.0) -> dict[str, float]:
    """Visits per entering request; a rate limiter passes at most its rate (at entry rate `rate`)."""
    d = Design(s)
    caps = {n: cap for n, node in s.nodes.items() if (cap := kind_of(node).admits_rps(node)) is not None}
    passing = {n: 1.0 for n in caps}
    v = solve_visits(d, passing)
    for _ in range(3 * len(passing)):  # limiter caps settle in a few rounds
        for n in passing:
            offered = rate * v[n]
            passing[n] = min(1.0, caps[n] / offered) if offered > 0 else 1.0
        v = solve_visits(d, passing)
    return v
