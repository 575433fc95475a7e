"""What the canvas is given to draw: never markup from the design, only escaped text and plain numbers.

streamlit-flow renders a node's ``content`` as Markdown with raw HTML enabled,
inside a frame on the app's own origin, so whatever the design holds must reach
it as text. These tests read the content the app hands the component; the
browser test (tests/e2e/test_hostile_links.py) checks what the page then does.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from app import canvas

HOSTILE = '<img src=x onerror="window.__pwned=1">'
MARKUP = re.compile(r"[<>*_\[\]`!$|~#\\]")  # anything Markdown or HTML could act on


def content(name: str, node: dict[str, Any]) -> str:
    return canvas._flow_node(name, node, (0.0, 0.0), None, None).data["content"]


def text_of(markdown: str) -> str:
    """What the content shows: character references decoded, line breaks as newlines."""
    return html.unescape(markdown.replace("  \n", "\n")).replace("\u2060", "")  # md's invisible joiners


def markup_in(markdown: str) -> list[str]:
    """Characters the renderer could act on, outside character references, the app's line breaks and bold."""
    body = re.sub(r"&#[0-9]+;", "", markdown).replace("  \n", "\n")
    body = re.sub(r"^(▶ )?\*\*(.*)\*\*$", r"\2", body, count=1, flags=re.M)  # the name's own bold
    return MARKUP.findall(body)


@pytest.mark.parametrize("field", ["policy", "kind", "capacity", "rate_rps", "replicas", "workers", "hit_ratio"])
def test_html_in_any_field_the_canvas_draws_is_never_handed_over_as_markup(field: str) -> None:
    kinds = {"policy": "load_balancer", "capacity": "queue", "rate_rps": "rate_limiter", "hit_ratio": "cache"}
    node = {"kind": kinds.get(field, "service"), field: HOSTILE}
    drawn = content("web", node)
    assert "<" not in drawn and ">" not in drawn and not markup_in(drawn), drawn
    assert "onerror" not in text_of(drawn)  # a value of the wrong type is not drawn at all
    assert "?" in text_of(drawn)


def test_a_hostile_node_name_is_shown_as_the_text_it_is() -> None:
    drawn = content(HOSTILE, {"kind": "service"})
    assert not markup_in(drawn), drawn
    assert text_of(drawn).splitlines()[0] == f"**{HOSTILE}**"  # bold is the app's; the name is text inside it


@pytest.mark.parametrize("name", ["**bold** [x](http://evil) ![i](http://127.0.0.1:9/i.png)", "$x^2$ :red[NOTICE]",
                                  "a\\", "`code`", "# heading", "line\nbreak", "<script>alert(1)</script>"])
def test_markdown_in_a_name_stays_text(name: str) -> None:
    drawn = content(name, {"kind": "queue"})
    assert not markup_in(drawn), drawn
    assert text_of(drawn).splitlines()[0] == f"**{name}**".replace("\n", " ")


def test_known_kinds_and_policies_and_plain_numbers_are_drawn_as_before() -> None:
    assert text_of(content("lb", {"kind": "load_balancer", "policy": "least_connections"})).splitlines()[1] == \
        "load balancer · least connections"
    assert text_of(content("q", {"kind": "queue", "capacity": 500})).splitlines()[1] == "queue · capacity 500"
    # the kind's own summary (sandbox.kinds), the one the diagrams draw
    assert text_of(content("r", {"kind": "rate_limiter", "rate_rps": 12.5})).splitlines()[1] == \
        "rate limiter · 12.5 rps, burst 1"
    assert text_of(content("w", {"kind": "service", "replicas": 3, "workers": 8,
                                 "service_time": {"dist": "constant", "mean_ms": 1}})).splitlines()[1] == \
        "service · 3 × 8 workers"
    assert text_of(content("c", {"kind": "cache", "hit_ratio": 0.8})).splitlines()[1] == "cache · 1 worker, hit 80%"


# (true is not here: the scenario format reads it as 1, as pydantic does, and the canvas draws what would run)
@pytest.mark.parametrize("value", ["lots", [1, 2], {"a": 1}, None, float("nan"), float("inf")])
def test_a_value_that_is_not_a_number_shows_as_a_question_mark(value: Any) -> None:
    # only a node whose own fields are valid is summarised; the form says what to fix
    shown = text_of(content("w", {"kind": "service", "replicas": 2, "workers": value,
                                  "service_time": {"dist": "constant", "mean_ms": 1}})).splitlines()[1]
    assert shown == "service · ?"


def test_an_unknown_kind_or_policy_shows_as_a_question_mark() -> None:
    assert text_of(content("x", {"kind": "mainframe"})).splitlines()[1].startswith("? · ")
    assert text_of(content("x", {"kind": "load_balancer", "policy": "by_magic"})).splitlines()[1] == \
        "load balancer · ?"


@pytest.mark.parametrize("edge, label", [
    ({"latency_ms": "slow"}, "? ms"),
    ({"timeout_ms": [1]}, "timeout ? ms"),
    ({"retries": HOSTILE}, "? retries"),
    ({"when": HOSTILE}, "?"),
    ({"probability": "<b>half</b>"}, "p=?"),
    ({"latency_ms": 5, "timeout_ms": 250, "retries": 2, "probability": 0.5, "when": "miss"},
     "p=0.5, miss, 5 ms, 2 retries, timeout 250 ms"),
])
def test_call_labels_draw_numbers_and_known_words_only(edge: dict[str, Any], label: str) -> None:
    drawn = canvas._flow_edge(0, {"from": "a", "to": "b", **edge})
    assert drawn.label == label


def test_calls_whose_ends_are_not_names_are_left_off_the_canvas() -> None:
    data = {"nodes": {"a": {"kind": "service"}, "b": {"kind": "queue"}},
            "edges": [{"from": ["a"], "to": "b"}, {"from": "a", "to": {"b": 1}}, {"from": "a", "to": "b"}]}
    assert [(e.source, e.target) for e in canvas.flow_edges(data)] == [("a", "b")]
