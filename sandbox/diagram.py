"""Diagrams: the architecture as Graphviz DOT, coloured by utilization after a run.

Shapes follow the kind (a cylinder for a database, a diamond for a load
balancer, ...). After a run each node is filled from green (idle) through
yellow to red (saturated), labelled with its utilization and mean wait, and the
bottleneck gets a thick border. The DOT source needs no Graphviz install;
rendering it to SVG does (`dot`), and ``st.graphviz_chart`` renders it in the
browser.

>>> from sandbox.scenario import loads
>>> dot = to_dot(loads('''
... name: two
... workload: {entry: a, rate_rps: 1, duration_s: 1}
... nodes:
...   a: {kind: service, service_time: {dist: constant, mean_ms: 1}}
...   b: {kind: database, service_time: {dist: constant, mean_ms: 1}}
... edges: [{from: a, to: b, probability: 0.5}]
... '''))
>>> 'shape=cylinder' in dot and 'a -> b' in dot and 'p=0.5' in dot
True
"""

from __future__ import annotations

import math
import shutil

import graphviz

from .calls import Edge
from .kinds import kind_of
from .results import Results
from .scenario import Scenario

__all__ = ["to_dot", "to_svg", "utilization_colour", "node_lines", "node_fill", "entry_label", "edge_label"]

CLIENTS = "clients (entry)"   # the synthetic node requests come from: no node name holds a space


def utilization_colour(u: float) -> str:
    """A fill colour from green (0) through yellow (0.6) to red (1 and above).

    >>> utilization_colour(0.0), utilization_colour(1.0)
    ('#b7e4b0', '#f28b82')
    """
    stops = [(0.0, (0xb7, 0xe4, 0xb0)), (0.6, (0xff, 0xe0, 0x82)), (1.0, (0xf2, 0x8b, 0x82))]
    u = 0.0 if not math.isfinite(u) or u < 0 else min(u, 1.0)
    for (u0, c0), (u1, c1) in zip(stops, stops[1:]):
        if u <= u1:
            f = (u - u0) / (u1 - u0)
            return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(c0, c1))
    return "#f28b82"  # pragma: no cover


def to_dot(scenario: Scenario, results: Results | None = None) -> str:
    """DOT source of the architecture; with `results`, coloured by utilization."""
    # the name is the user's text: escaped (backslashes, <...> read as HTML), never the graph's ID
    g = graphviz.Digraph("architecture", graph_attr={"rankdir": "LR", "fontname": "Helvetica", "bgcolor": "white",
                                                      "label": graphviz.escape(scenario.name), "labelloc": "t"},
                         node_attr={"fontname": "Helvetica", "fontsize": "11", "style": "filled",
                                    "fillcolor": "#e8eef7", "color": "#4a5568"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#4a5568"})
    g.node(CLIENTS, "clients", shape="plaintext", style="")
    bottleneck = results.bottleneck.node if results else None
    for name, node in scenario.nodes.items():
        attrs = {"shape": kind_of(node).shape}
        fill = node_fill(name, results)
        if fill is not None:
            attrs["fillcolor"] = fill
        if name == bottleneck:
            attrs.update(penwidth="3", color="#c53030")
        g.node(name, "\n".join(node_lines(scenario, name, results)), **attrs)
    g.edge(CLIENTS, scenario.workload.entry, label=entry_label(scenario))
    for e in scenario.edges:
        style = kind_of(scenario.nodes[e.source]).edge_style()
        g.edge(e.source, e.target, label=edge_label(e), style=style)
    return g.source


def node_lines(scenario: Scenario, name: str, results: Results | None = None) -> list[str]:
    """The lines of a node's label: its name, kind and size; after a run its load, and the bottleneck marked."""
    node = scenario.nodes[name]
    kind = kind_of(node)
    lines = [name, kind.label, kind.summary(node)]
    if results is not None and name in results.nodes:
        n = results.nodes[name]
        if n.capacity:
            wait = n.wait_ms["mean"]
            shown = f"{wait / 1000:.1f} s" if wait >= 1000 else f"{wait:.1f} ms"
            lines.append(f"{n.utilization:.0%} busy, wait {shown}")
        if n.rejected:
            lines.append(f"rejected {n.rejected:,}")
        if name == results.bottleneck.node:
            lines.insert(0, "BOTTLENECK")
    return lines


def node_fill(name: str, results: Results | None) -> str | None:
    """A node's fill after a run (by its utilization), None before one or for a node without workers."""
    n = results.nodes.get(name) if results is not None else None
    return utilization_colour(n.utilization) if n is not None and n.capacity else None


def entry_label(scenario: Scenario) -> str:
    """What arrives at the entry: a rate, or closed-loop users."""
    rate = scenario.workload.rate_rps
    return f"{rate:g} rps" if rate else f"{scenario.workload.users} users"


def edge_label(e: Edge) -> str:
    """A call's label: what makes it less than certain, and its network latency."""
    parts = []
    if e.probability < 1:
        parts.append(f"p={e.probability:g}")
    if e.when != "always":
        parts.append(e.when)
    if e.weight is not None:
        parts.append(f"weight {e.weight:g}")
    if e.classes is not None:
        parts.append(" + ".join(e.classes) + " only")
    if e.latency_ms:
        parts.append(f"{e.latency_ms:g} ms")
    return ", ".join(parts)


def to_svg(dot: str) -> bytes:
    """SVG of DOT source, drawn by Graphviz's ``dot`` program; SimulationError says why it could not be."""
    from .errors import SimulationError
    if shutil.which("dot") is None:
        raise SimulationError("SVG needs Graphviz's `dot` program, which is not installed "
                              "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz). "
                              "Without --svg the diagram command prints the DOT source instead.")
    try:
        return graphviz.Source(dot).pipe(format="svg")
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise SimulationError("Graphviz could not draw the diagram"
                              + (f": {detail[0][:200]}" if detail else "")) from None
    except OSError as exc:
        raise SimulationError(f"Graphviz could not draw the diagram: {exc}") from None
