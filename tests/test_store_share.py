"""Share links refuse a design whose *shape* is wrong, before anything stores or draws it.

A link is data from anyone: whether its design is valid is the scenario's
business, but its shape (a mapping of nodes, a list of calls, bounded sizes) is
checked where the link is opened, with the place and the reason in the message.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest

import sandbox
from sandbox import share

MAX_NODES, MAX_EDGES = 160, 1_000  # what the brief promises (MAX_NODES, MAX_EDGES)
GOOD = {"name": "Shared", "workload": {"entry": "web", "rate_rps": 50, "duration_s": 10},
        "nodes": {"web": {"kind": "service", "workers": 4, "service_time": {"dist": "constant", "mean_ms": 5}},
                  "db": {"kind": "database"}},
        "edges": [{"from": "web", "to": "db"}]}


def raw_token(payload: Any) -> str:
    """A token holding exactly `payload` (encode() would refuse some of what these tests need)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return "1" + base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


@pytest.mark.parametrize("design, where, reason", [
    (with_(nodes=["web", "db"]), "nodes", "must be a mapping of node names to nodes; it is a list"),
    (with_(nodes={"web": [1, 2]}), "nodes.web", "must be a mapping of fields; it is a list"),
    (with_(nodes={"web": "service"}), "nodes.web", "must be a mapping of fields; it is a str"),
    (with_(edges={"from": "web", "to": "db"}), "edges", "must be a list of calls; it is a dict"),
    (with_(edges=["web -> db"]), "edges[0]", "must be a mapping of fields; it is a str"),
    (with_(workload="lots"), "workload", "must be a mapping of fields; it is a str"),
    (with_(name=["x"]), "name", "must be text; it is a list"),
    (with_(name="x" * 201), "name", "at most 200 characters"),
    (with_(description={"a": 1}), "description", "must be text; it is a dict"),
    (with_(description="x" * 20_001), "description", "at most 20,000 characters"),
    (with_(nodes={"n" * 65: {"kind": "queue"}}), "nodes", "at most 64 characters"),
    (with_(nodes={f"n{i}": {"kind": "queue"} for i in range(MAX_NODES + 1)}), "nodes",
     f"at most {MAX_NODES} nodes, got {MAX_NODES + 1}"),
    (with_(edges=[{"from": "web", "to": "db"}] * (MAX_EDGES + 1)), "edges",
     f"at most {MAX_EDGES:,} calls, got {MAX_EDGES + 1:,}"),
])
def test_a_design_of_the_wrong_shape_is_refused_with_its_place(design: dict, where: str, reason: str) -> None:
    with pytest.raises(sandbox.ScenarioError) as err:
        share.decode(raw_token({"d": design}))
    assert err.value.source == "<share link>"
    assert any(path == where and reason in text for path, text in err.value.problems), err.value.problems


def test_wrong_values_inside_a_well_shaped_design_are_left_to_validation() -> None:
    """A string where a number belongs is the scenario's business: the link opens, the builder lists it."""
    design = with_(edges=[{"from": "web", "to": "db", "latency_ms": "slow", "timeout_ms": [1]}])
    assert share.decode(raw_token({"d": design}))[0] == design


@pytest.mark.parametrize("position", [[1e308, -1e308], [2e6, 0], [0, -1_000_001]])
def test_a_layout_position_far_off_the_canvas_is_refused(position: list[float]) -> None:
    with pytest.raises(sandbox.ScenarioError, match="within ±1,000,000"):
        share.decode(raw_token({"d": GOOD, "l": {"web": position}}))


def test_deep_nesting_is_refused_in_a_few_hundred_characters() -> None:
    """200,000 nested lists compress to under 600 characters; json.loads would recurse past Python's limit."""
    body = b'{"d":{"name":' + b"[" * 200_000 + b"]" * 200_000 + b"}}"
    token = "1" + base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")
    assert len(token) < 1000
    with pytest.raises(sandbox.ScenarioError, match="nested too deeply"):
        share.decode(token)


def test_moderate_nesting_that_json_can_read_is_still_refused() -> None:
    deep: Any = 1
    for _ in range(50):
        deep = [deep]
    with pytest.raises(sandbox.ScenarioError, match="nested too deeply"):
        share.decode(raw_token({"d": with_(description=deep)}))


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(text: str) -> None:
    body = ('{"d":{"name":"x","workload":{"entry":"web","rate_rps":%s,"duration_s":10},"nodes":{}}}' % text).encode()
    token = "1" + base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")
    with pytest.raises(sandbox.ScenarioError, match="NaN or infinity"):
        share.decode(token)


def test_a_well_shaped_design_round_trips() -> None:
    layout = {"web": (10.0, 20.0), "db": (-999_999.0, 1e6)}
    assert share.decode(share.encode(GOOD, layout)) == (GOOD, layout)


def test_shape_problems_are_public_for_a_design_read_back_from_elsewhere() -> None:
    """The app checks a stored design (written by an older version) with the same function."""
    assert share.shape_problems(GOOD) == []
    assert share.shape_problems([1, 2]) == [("", "must be a mapping with name, workload, nodes and edges; "
                                                 "it is a list")]


def test_drawable_keeps_what_has_the_right_shape_and_says_what_it_left_out() -> None:
    stored = {"name": "Old", "workload": "lots", "nodes": {"web": {"kind": "service"}, "bad": [1], 7: {}},
              "edges": [{"from": "web", "to": "bad"}, "web -> db"]}
    data, problems = share.drawable(stored)
    assert data == {"name": "Old", "nodes": {"web": {"kind": "service"}}, "edges": [{"from": "web", "to": "bad"}]}
    assert [p for p, _ in problems] == ["workload", "nodes.bad", "nodes", "edges[1]"]
    assert share.drawable(GOOD) == (GOOD, [])
    assert share.drawable(["not", "a", "design"])[0] == {}


def test_the_caps_are_the_published_ones() -> None:
    assert (share.MAX_SHARED_NODES, share.MAX_SHARED_EDGES) == (MAX_NODES, MAX_EDGES)
