"""Diagrams as code: the architecture as a Mermaid flowchart, for docs and pull requests.

The same picture as :mod:`sandbox.diagram` (the same labels, shapes by kind,
dashed calls from asynchronous nodes, after a run the fill by utilization and
the bottleneck's thick red border), written as Mermaid text that GitHub, GitLab
and most wikis draw. Node names and labels are the user's text, so nothing of
theirs becomes syntax: each node gets an identifier of its own (``n0``, ``n1``,
... in the scenario's order; ``clients`` for the synthetic entry), labels are
quoted, and every character that could end a quote, open an entity or start
markup is written as a numeric entity (``#34;`` for a double quote).

>>> from sandbox.scenario import loads
>>> print(to_mermaid(loads('''
... name: two
... workload: {entry: a, rate_rps: 5, duration_s: 1}
... nodes:
...   a: {kind: service, service_time: {dist: constant, mean_ms: 1}}
...   b: {kind: database, service_time: {dist: constant, mean_ms: 1}}
... edges: [{from: a, to: b, probability: 0.5}]
... ''')))
---
title: "two"
---
flowchart LR
  clients(["clients"])
  n0["a<br/>service<br/>1 worker"]
  n1[("b<br/>database<br/>1 worker")]
  clients -->|"5 rps"| n0
  n0 -->|"p=0.5"| n1
"""

from __future__ import annotations

import json

from .diagram import edge_label, entry_label, node_fill, node_lines
from .kinds import kind_of
from .results import Results
from .scenario import Scenario

__all__ = ["to_mermaid", "mermaid_text"]

# what could end a quoted label (", |), open an entity (#, &), or read as markup (<, >, `), as numeric entities
_ENTITIES = {c: f"#{ord(c)};" for c in '#"&<>`|'}


def mermaid_text(text: str) -> str:
    """The user's text, safe inside a quoted Mermaid label (each line; join lines with ``<br/>``).

    >>> mermaid_text('say "hi" <b>')
    'say #34;hi#34; #60;b#62;'
    """
    return "".join(_ENTITIES.get(c, c) for c in text.replace("\r", " ").replace("\n", " "))


def _label(lines: list[str]) -> str:
    return '"' + "<br/>".join(mermaid_text(line) for line in lines if line) + '"'


def to_mermaid(scenario: Scenario, results: Results | None = None) -> str:
    """Mermaid flowchart source of the architecture; with `results`, coloured by utilization."""
    ids = {name: f"n{i}" for i, name in enumerate(scenario.nodes)}
    # the title is YAML front matter: a JSON string is a valid YAML double-quoted one
    lines = ["---", f"title: {json.dumps(scenario.name, ensure_ascii=False)}", "---", "flowchart LR",
             '  clients(["clients"])']
    styles = []
    for name, node in scenario.nodes.items():
        opening, closing = kind_of(node).mermaid
        lines.append(f"  {ids[name]}{opening}{_label(node_lines(scenario, name, results))}{closing}")
        fill = node_fill(name, results)
        style = [f"fill:{fill}"] if fill else []
        if results is not None and name == results.bottleneck.node:
            style += ["stroke:#c53030", "stroke-width:3px"]
        if style:
            styles.append(f"  style {ids[name]} {','.join(style)}")
    lines.append(f"  clients -->|{_label([entry_label(scenario)])}| {ids[scenario.workload.entry]}")
    for e in scenario.edges:
        arrow = "-.->" if kind_of(scenario.nodes[e.source]).edge_style() == "dashed" else "-->"
        label = edge_label(e)
        lines.append(f"  {ids[e.source]} {arrow}" + (f"|{_label([label])}|" if label else "") + f" {ids[e.target]}")
    return "\n".join(lines + styles)
