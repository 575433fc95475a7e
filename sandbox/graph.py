"""The architecture graph: a scenario as a networkx DiGraph, and back.

Nodes carry their settings (``kind``, ``replicas``, ``workers``, ...) as
attributes; each graph edge carries ``calls``, the list of scenario edges from
its source to its target (usually one) with their probability, latency and
``when``, and ``visits``, the expected calls per visit of the source.

>>> from sandbox.scenario import loads
>>> G = to_graph(loads('''
... name: two
... workload: {entry: a, rate_rps: 1, duration_s: 1}
... nodes:
...   a: {kind: service, service_time: {dist: constant, mean_ms: 1}}
...   b: {kind: cache, hit_ratio: 0.8}
... edges: [{from: a, to: b, probability: 0.5}]
... '''))
>>> G.graph["entry"], sorted(G.nodes), G.edges["a", "b"]["visits"]
('a', ['a', 'b'], 0.5)
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from .kinds import KINDS, kind_of
from .scenario import Scenario, from_dict

__all__ = ["to_graph", "from_graph", "call_factor", "offered_rps", "offered_flows", "expected_attempts", "reachable", "certain_dependencies"]


def expected_attempts(scenario: Scenario, edge_index: int) -> float:
    """Attempts per call over an edge with retries: 1 + f + ... + f^retries, where f is
    the callee's own error_rate (the share of attempts that fail and are retried)."""
    e = scenario.edges[edge_index]
    f = getattr(scenario.nodes[e.target], "error_rate", 0.0) if "error" in e.retry_on else 0.0
    return sum(f ** k for k in range(e.retries + 1))


def call_factor(scenario: Scenario, edge_index: int, _inner: bool = False) -> float:
    """Expected attempts made over edge `edge_index` per visit of its source node:
    probability x the share of visits that take it (a cache's hits or misses) x attempts per call."""
    e = scenario.edges[edge_index]
    src = scenario.nodes[e.source]
    factor = e.probability
    if e.when != "always":
        # a cache whose hits depend on its rate (a TTL) asks for it; inside that question, caches upstream are
        # taken at the share they give with no rate (so the question never asks itself)
        rate = (lambda: 0.0) if _inner else (lambda: offered_rps(scenario, e.source))
        factor *= kind_of(src).branch_share(scenario, src, e.when, rate)
    share = kind_of(src).edge_share(scenario, src, e)
    if share is not None:
        factor *= share
    return factor * expected_attempts(scenario, edge_index)


def offered_rps(scenario: Scenario, node: str) -> float:
    """Calls per second offered to `node` at the workload's mean rate (for a closed loop, at most users / think
    time): the traffic equations by repeated substitution, weights shared out, rejections ignored."""
    return offered_flows(scenario)[0].get(node, 0.0)


def offered_flows(scenario: Scenario) -> tuple[dict[str, float], list[float]]:
    """Every node's offered calls per second (as :func:`offered_rps`), and the calls per second over each edge."""
    w = scenario.workload
    if w.users is not None:
        rate = w.users / max(w.think_time_ms / 1000.0, 1e-3)
    else:
        rate = w.mean_rate(w.warmup_s, w.duration_s)
    weights: dict[str, float] = {}
    for e in scenario.edges:
        if e.weight is not None:
            weights[e.source] = weights.get(e.source, 0.0) + e.weight
    flows = [(e.source, e.target, call_factor(scenario, i, _inner=True)
              * (e.weight / weights[e.source] if e.weight is not None else 1.0)) for i, e in enumerate(scenario.edges)]
    visits = {n: 0.0 for n in scenario.nodes}
    for _ in range(200):
        new = {n: 0.0 for n in scenario.nodes}
        new[w.entry] = 1.0
        for a, b, f in flows:
            new[b] += visits[a] * f
        done = all(abs(new[n] - visits[n]) <= 1e-12 * max(1.0, new[n]) for n in new)
        visits = new
        if done:
            break
    return {n: rate * v for n, v in visits.items()}, [rate * visits[a] * f for a, _, f in flows]


def to_graph(scenario: Scenario) -> nx.DiGraph:
    """The scenario as a DiGraph (graph attributes: name, entry)."""
    G: nx.DiGraph[str] = nx.DiGraph(name=scenario.name, entry=scenario.workload.entry)
    for name, node in scenario.nodes.items():
        G.add_node(name, **node.model_dump(mode="json"))
    for i, e in enumerate(scenario.edges):
        call = {"index": i, **e.model_dump(mode="json", by_alias=True)}
        factor = call_factor(scenario, i)
        if G.has_edge(e.source, e.target):
            G.edges[e.source, e.target]["calls"].append(call)
            G.edges[e.source, e.target]["visits"] += factor
        else:
            G.add_edge(e.source, e.target, calls=[call], visits=factor)
    return G


def from_graph(G: nx.DiGraph, workload: dict[str, Any]) -> Scenario:
    """A scenario from a graph made by :func:`to_graph` (or shaped like one) and a workload."""
    nodes = {n: dict(data) for n, data in G.nodes(data=True)}
    calls = sorted((call for _, _, data in G.edges(data=True) for call in data["calls"]),
                   key=lambda call: call.get("index", 0))
    edges = [{k: v for k, v in call.items() if k != "index"} for call in calls]
    return from_dict({"name": G.graph.get("name", "graph"), "workload": workload,
                      "nodes": nodes, "edges": edges}, source="<graph>")


def reachable(G: nx.DiGraph) -> set[str]:
    """Nodes a request (or its messages) can reach from the entry."""
    entry = G.graph["entry"]
    return {entry} | nx.descendants(G, entry)


def certain_dependencies(G: nx.DiGraph) -> list[str]:
    """Nodes every request calls synchronously: reached from the entry by certain calls,
    not through a queue (work behind a queue does not fail the request)."""
    entry = G.graph["entry"]
    seen, todo = {entry}, [entry]
    while todo:
        n = todo.pop()
        if KINDS[G.nodes[n]["kind"]].asynchronous:
            continue
        for m in G.successors(n):
            # a call only some classes make, or one of a weighted choice, is not made by every request
            certain = any(c["probability"] >= 1 and c["when"] == "always" and c.get("classes") is None
                          and c.get("weight") is None for c in G.edges[n, m]["calls"])
            if certain and m not in seen:
                seen.add(m)
                todo.append(m)
    return sorted(seen)
