"""Designs from strangers, with AppTest: share links of the wrong shape, stored designs of the wrong shape,
and user text that would be Markdown.

A share link is opened by anyone who follows it, and what it holds is stored in
their workspace, so a link of the wrong shape is refused with the reason, a
stored design of the wrong shape (written by an older version) is drawn as far
as it can be, and no user text is ever rendered as Markdown (links, images the
browser would fetch, coloured "notices").
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from sandbox import share
from sandbox.store import Store, new_workspace_id

from .test_app import SMALL, app, button, with_design
from .test_app_store import plain, shown

PAGES = ("app/build.py", "app/run.py", "app/experiments.py", "app/challenges.py")


def link(design: Any) -> str:
    """A share token holding `design` exactly as given (encode() is not the only way to make one)."""
    body = json.dumps({"d": design}, separators=(",", ":")).encode()
    return "1" + base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")


def with_(**changes: Any) -> dict[str, Any]:
    return {**SMALL, **changes}


def everywhere(at: AppTest) -> None:
    """Every page, and every form of the Build page, draws without a traceback."""
    for mode in ("Call", "Workload", "Node"):
        at.radio(key="inspector").set_value(mode).run()
        assert not at.exception, (mode, [e.value for e in at.exception])
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])


# ── share links of the wrong shape ───────────────────────────────────────────

@pytest.mark.parametrize("design, reason", [
    (with_(nodes=["api", "db"]), "nodes: must be a mapping of node names to nodes; it is a list"),
    (with_(nodes={**SMALL["nodes"], "db": ["database", 8]}), "nodes.db: must be a mapping of fields; it is a list"),
    (with_(workload="lots"), "workload: must be a mapping of fields; it is a str"),
    (with_(edges={"from": "api", "to": "db"}), "edges: must be a list of calls; it is a dict"),
    (with_(nodes={f"n{i}": {"kind": "queue"} for i in range(161)}), "at most 160 nodes, got 161"),
    (with_(edges=[{"from": "api", "to": "db"}] * 1001), "at most 1,000 calls, got 1,001"),
])
def test_a_link_of_the_wrong_shape_is_refused_with_the_reason_and_stores_nothing(db: Path, design: dict,
                                                                                  reason: str) -> None:
    at = app(design=link(design))
    assert not at.exception, [e.value for e in at.exception]
    assert "The share link could not be opened" in shown(at.error) and reason in shown(at.error)
    assert at.session_state["design"]["nodes"] == {} and Store(db).designs(at.session_state["workspace"]) == []
    everywhere(at)


def test_a_link_nested_600_characters_deep_is_refused_not_a_traceback(db: Path) -> None:
    body = b'{"d":{"name":' + b"[" * 200_000 + b"]" * 200_000 + b"}}"
    token = "1" + base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")
    at = app(design=token)
    assert not at.exception
    assert "nested too deeply" in shown(at.error)


@pytest.mark.parametrize("workload", [{"entry": ["api"]}, {"profile": "spiky"}, {"profile": {"shape": ["x"]}},
                                      {"users": "many"}, {"arrival": {"a": 1}}])
def test_a_link_with_wrong_values_in_the_workload_opens_and_lists_the_problem(db: Path, workload: dict) -> None:
    at = app(design=link(with_(workload={**SMALL["workload"], **workload})))
    assert not at.exception, [e.value for e in at.exception]
    assert "to fix before this design can run" in shown(at.error)
    everywhere(at)


@pytest.mark.parametrize("node", [{"kind": ["service"]}, {"kind": {"a": 1}}, {"kind": None},
                                  {"kind": "load_balancer", "policy": ["round_robin"]},
                                  {"kind": "queue", "capacity": {"x": 1}, "consumers": [1]},
                                  {"kind": "service", "service_time": ["constant"]},
                                  {"kind": "cache", "hit_ratio": "most", "cost_per_hour": [1]}])
def test_a_link_with_wrong_values_in_a_node_opens_and_lists_the_problem(db: Path, node: dict) -> None:
    at = app(design=link(with_(nodes={**SMALL["nodes"], "db": node})))
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="sel_node").set_value("db").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "to fix before this design can run" in shown(at.error)
    everywhere(at)


@pytest.mark.parametrize("edge", [{"latency_ms": "slow"}, {"timeout_ms": [1]}, {"retries": {"a": 1}},
                                  {"from": ["api"]}, {"to": {"db": 1}}, {"probability": "half"},
                                  {"when": ["hit"]}, {"backoff": "yes"}, {"circuit_breaker": [1]}])
def test_a_link_with_wrong_values_in_a_call_opens_and_lists_the_problem(db: Path, edge: dict) -> None:
    design = with_(edges=[{"from": "api", "to": "db", **edge}])
    at = app(design=link(design))
    assert not at.exception, [e.value for e in at.exception]
    assert "Opened the shared design" in shown(at.success)
    assert "to fix before this design can run" in shown(at.error)
    everywhere(at)


# ── stored designs of the wrong shape (an older version wrote them) ──────────

def stored(db: Path, data: Any, layout: Any = None) -> str:
    """A workspace whose current design is `data`, written into the file as an older version might have."""
    ws = new_workspace_id()
    d = Store(db).create_design(ws, {"name": "placeholder"})
    import sqlite3
    with sqlite3.connect(db) as con:
        con.execute("UPDATE designs SET data = ?, layout = ? WHERE id = ?",
                    (json.dumps(data), json.dumps(layout or {}), d.id))
    return ws


@pytest.mark.parametrize("data, problem", [
    (with_(edges=[{"from": "api", "to": "db", "latency_ms": "slow"}]), None),
    (with_(nodes={**SMALL["nodes"], "db": ["database"]}), "nodes.db: must be a mapping of fields; it is a list"),
    (with_(nodes=["api", "db"]), "nodes: must be a mapping of node names to nodes; it is a list"),
    (with_(workload="lots"), "workload: must be a mapping of fields; it is a str"),
    (with_(edges={"from": "api"}), "edges: must be a list of calls; it is a dict"),
    (with_(edges=["api -> db", {"from": "api", "to": "db"}]), "edges[0]: must be a mapping of fields; it is a str"),
    (["not", "a", "design"], "must be a mapping with name, workload, nodes and edges; it is a list"),
])
def test_a_stored_design_of_the_wrong_shape_never_crashes_a_page(db: Path, data: Any, problem: str | None) -> None:
    at = app(stored(db, data, {"api": [1, 2], "db": ["x", None]}))
    assert not at.exception, [e.value for e in at.exception]
    if problem:
        assert "could not all be read" in shown(at.warning) and problem in shown(at.warning)
    everywhere(at)


def test_a_stored_design_draws_what_can_be_drawn(db: Path) -> None:
    at = app(stored(db, with_(nodes={**SMALL["nodes"], "bad": [1]})))
    assert set(at.session_state["design"]["nodes"]) == {"api", "db"}
    assert "Saturates at" in {m.label for m in at.metric}  # the rest is a valid design: analysed as usual


# ── user text is never Markdown ──────────────────────────────────────────────

PAYLOAD = "**bold** ![x](http://127.0.0.1:9/x.png) [click](http://evil) :red[NOTICE] $x$ <b>hi</b>"
RAW = ("**bold**", "![x](", "[click](", ":red[", "$x$", "<b>")


def sources(at: AppTest) -> list[str]:
    """Every Markdown source on the page (markdown, captions, alerts, toasts)."""
    kinds = ("markdown", "caption", "info", "error", "success", "warning", "toast", "title", "header", "subheader")
    return [str(e.value) for kind in kinds for e in getattr(at, kind)]


def assert_literal(at: AppTest, text: str = PAYLOAD, at_least: int = 1) -> None:
    found = [s for s in sources(at) if text in plain(s)]
    assert len(found) >= at_least, sources(at)
    for source in sources(at):
        for raw in RAW:
            assert raw not in source, (raw, source)


def test_a_design_name_is_shown_as_typed_on_every_page(db: Path) -> None:
    at = app(design=share.encode(with_(name=PAYLOAD)))
    assert_literal(at)  # "Opened the shared design “...”"
    at.switch_page("app/run.py").run()
    assert_literal(at)  # "Design: ..."
    button(at, "Run simulation").click().run()
    assert not at.exception
    assert_literal(at)
    at.switch_page("app/experiments.py").run()
    assert_literal(at)  # "Design: ..."


def test_names_in_experiments_are_shown_as_typed(db: Path) -> None:
    at = with_design(db, with_(name=PAYLOAD))
    Store(db).create_design(at.session_state["workspace"], with_(name="Other " + PAYLOAD))
    at = app(at.session_state["workspace"]).switch_page("app/experiments.py").run()
    at.text_area(key="exp.compare.changes").input("nodes.api.workers=8")
    at.number_input(key="exp.compare.n").set_value(2)
    at.number_input(key="exp.compare.duration").set_value(10)
    button(at, "Compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert_literal(at, at_least=2)  # the caption, and "A = ..." / "B = ..."


def test_the_challenge_page_shows_the_players_design_name_as_typed(db: Path) -> None:
    ws = new_workspace_id()
    from .conftest import ROOT
    from sandbox import edit
    path = ROOT / "scenarios" / "challenges" / "01_scale_out.yaml"
    Store(db).create_design(ws, {**edit.challenge_design(path), "name": PAYLOAD}, challenge="01_scale_out")
    at = app(ws).switch_page("app/challenges.py").run()
    assert not at.exception
    assert_literal(at)  # "Your design: ..."


def test_problem_reasons_and_paths_from_user_keys_are_shown_as_typed(db: Path) -> None:
    at = with_design(db, with_(nodes={**SMALL["nodes"], "db": {**SMALL["nodes"]["db"], "**x**": "[a](http://evil)"}}))
    assert "**x**" in " ".join(sources(at))  # the unknown key is named ...
    for source in sources(at):
        outside_code = re.sub(r"(`+).*?\1", "", source)  # ... in a code span, where Markdown is text
        assert "[a](http://evil)" not in outside_code and "**x**" not in outside_code, source


def test_a_stored_design_of_the_wrong_shape_as_design_b_is_refused_with_its_problems(db: Path) -> None:
    ws = stored(db, ["not", "a", "design"])
    Store(db).create_design(ws, SMALL)  # the current design; the broken one is another saved design
    at = app(ws).switch_page("app/experiments.py").run()
    source = [o for o in at.selectbox(key="exp.compare.source").options if o.startswith("Saved:")]
    at.selectbox(key="exp.compare.source").set_value(source[0])
    at.number_input(key="exp.compare.n").set_value(2)
    button(at, "Compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "`nodes`: is required" in shown(at.error)  # what was readable (nothing) is checked as a design
