"""Mermaid diagrams: every shipped scenario gives a flowchart whose lines all parse, with each node and call once.

The grammar checked here is the subset of Mermaid's flowchart syntax the
writer uses: front matter with the title, ``flowchart LR``, one definition per
node (an identifier, a shape's brackets around one quoted label), one line per
call (``-->`` or ``-.->``, with an optional quoted label between bars), and
``style`` lines. A label may hold no raw character that could end it or open
markup: only ``<br/>`` and numeric entities (``#34;``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

import sandbox
from sandbox.kinds import KINDS
from sandbox.mermaid import to_mermaid

from .conftest import ROOT
from .test_cli import run_cli

FILES = sorted(ROOT.glob("scenarios/*.yaml")) + sorted(ROOT.glob("scenarios/challenges/*.yaml"))
SHAPES = {k.mermaid for k in KINDS.values()} | {("([", "])")}   # the kinds' shapes and the entry's stadium
LABEL = r'"((?:[^"#<>&`|]|#\d+;|<br/>)*)"'
ID = r"(clients|n\d+)"
EDGE = re.compile(rf"^  {ID} (-->|-\.->)(?:\|{LABEL}\|)? {ID}$")
STYLE = re.compile(rf"^  style {ID} [a-z-]+:#?[0-9a-z]+(?:,[a-z-]+:#?[0-9a-z]+)*$")


def _node(line: str) -> tuple[str, str] | None:
    """(identifier, label) of a node definition, None when the line is not one."""
    for opening, closing in SHAPES:
        m = re.fullmatch(rf"  {ID}{re.escape(opening)}{LABEL}{re.escape(closing)}", line)
        if m:
            return m.group(1), m.group(2)
    return None


def parse(text: str) -> tuple[str, dict[str, str], list[tuple[str, str, str | None]], list[str]]:
    """(title, {identifier: label}, [(from, to, label)], styled identifiers); an unknown line fails the test."""
    lines = text.split("\n")
    assert lines[0] == "---" and lines[1].startswith("title: ") and lines[2] == "---" and lines[3] == "flowchart LR"
    title = json.loads(lines[1][len("title: "):])
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str | None]] = []
    styled = []
    for line in lines[4:]:
        node = _node(line)
        if node is not None:
            assert node[0] not in nodes, f"{node[0]} defined twice"
            nodes[node[0]] = node[1]
        elif (m := EDGE.match(line)) is not None:
            edges.append((m.group(1), m.group(4), m.group(3)))
        elif (m := STYLE.match(line)) is not None:
            styled.append(m.group(1))
        else:
            pytest.fail(f"not a line of the flowchart grammar: {line!r}")
    return title, nodes, edges, styled


def decoded(label: str) -> list[str]:
    return [html.unescape(re.sub(r"#(\d+);", r"&#\1;", part)) for part in label.split("<br/>")]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_scenario_is_a_flowchart_with_each_node_and_call_once(path: Path) -> None:
    s = sandbox.load(path)
    title, nodes, edges, styled = parse(to_mermaid(s))
    assert title == s.name
    ids = {f"n{i}": name for i, name in enumerate(s.nodes)}
    assert set(nodes) == set(ids) | {"clients"}
    for i, name in ids.items():
        assert decoded(nodes[i])[0] == name
    expected = [("clients", s.workload.entry)] + [(e.source, e.target) for e in s.edges]
    assert [(f if f == "clients" else ids[f], ids[t]) for f, t, _ in edges] == expected
    assert styled == []   # before a run nothing is coloured


def test_after_a_run_nodes_are_coloured_and_the_bottleneck_has_a_thick_border() -> None:
    s = sandbox.load(ROOT / "scenarios" / "read_heavy_catalog.yaml")
    r = sandbox.simulate(s, seed=1)
    text = to_mermaid(s, r)
    _, nodes, _, styled = parse(text)
    ids = {name: f"n{i}" for i, name in enumerate(s.nodes)}
    assert sorted(styled) == sorted(ids[n] for n, x in r.nodes.items() if x.capacity)
    bottleneck = ids[r.bottleneck.node]
    assert decoded(nodes[bottleneck])[0] == "BOTTLENECK"
    assert f"style {bottleneck} fill:#" in text and "stroke-width:3px" in text.split(f"style {bottleneck} ")[1]


def test_the_users_text_never_becomes_syntax() -> None:
    name = 'a "quoted" |pipe| <b>bold</b> #35; `tick` & ---'
    s = sandbox.from_dict({"name": name, "workload": {"entry": "api", "rate_rps": 5, "duration_s": 1},
                           "nodes": {"api": {"kind": "service", "service_time": {"dist": "constant", "mean_ms": 1}},
                                     "end": {"kind": "queue"}, "graph": {"kind": "service", "service_time":
                                                                        {"dist": "constant", "mean_ms": 1}}},
                           "edges": [{"from": "api", "to": "end"}, {"from": "end", "to": "graph"}]})
    text = to_mermaid(s)
    title, nodes, edges, _ = parse(text)   # every line still parses
    assert title == name
    assert [decoded(nodes[i])[0] for i in ("n0", "n1", "n2")] == ["api", "end", "graph"]   # Mermaid words as names
    assert [arrow for arrow in re.findall(r"(-->|-\.->)", text)] == ["-->", "-->", "-.->"]  # a queue's call is dashed


def test_the_command_prints_it_and_refuses_svg(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ROOT / "scenarios" / "checkout_api.yaml")
    code, text = run_cli("diagram", path, "--format", "mermaid")
    assert code == 0 and text == to_mermaid(sandbox.load(path)) + "\n"
    code, text = run_cli("diagram", path, "--format", "mermaid", "--svg", "out.svg")
    assert code == 2 and "--svg draws the Graphviz diagram" in capsys.readouterr().err


def test_the_design_review_holds_the_flowchart(tmp_path: Path) -> None:
    from sandbox.report_md import design_review
    s = sandbox.load(ROOT / "scenarios" / "checkout_api.yaml")
    text = design_review(s, tmp_path / "review", n=2, workers=1).read_text(encoding="utf-8")
    block = text.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    _, nodes, _, styled = parse(block)
    assert set(nodes) == {"clients", "n0"} and styled == ["n0"]   # coloured by the review's run


def test_each_kind_has_a_mermaid_shape_of_its_own() -> None:
    shapes = [k.mermaid for k in KINDS.values()]
    assert len(set(shapes)) == len(shapes)
