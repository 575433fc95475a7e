"""The canvas: the design drawn with streamlit-flow (React Flow), where nodes are placed and connected.

The design is the source of truth; the canvas is a view of it that reports
what the player did there. Each run draws the nodes and calls of the design.
When what the canvas should show has changed (a node added from the palette, a
field edited, a call removed), the new picture is *pushed* with a timestamp
newer than the canvas's own; otherwise the canvas keeps its state (the
component only adopts arguments newer than its last change). What comes back
is read once per change: moved nodes, new connections (React Flow names them
``st-flow-edge_A-B``), and a clicked node or call.

streamlit-flow renders a node's content as Markdown *with raw HTML*, in a frame
on the app's own origin, and the design may come from a stranger's share link:
so a node's content holds only escaped text (:func:`app.text.md`), numbers, and
the app's own words; a field of the wrong type is drawn as "?".
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit_flow import streamlit_flow
from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from pydantic import ValidationError

import sandbox
from sandbox.classes import CLASS_NAME
from sandbox.diagram import utilization_colour
from sandbox.kinds import KINDS, Kind

from app.text import md

NEW_EDGE_PREFIX = "st-flow-edge_"
MAX_NAME_SHOWN = 64  # characters of a node name drawn on the canvas


@dataclass(frozen=True)
class CanvasEvent:
    """What the player did on the canvas since the last look."""
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    connections: list[tuple[str, str]] = field(default_factory=list)
    selected_node: str | None = None
    selected_edge: int | None = None
    out_of_sync: bool = False


def _number(value: Any, spec: str = "g") -> str:
    """A finite number as text; anything else (text, a list, a bool, NaN) as "?"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "?"
    return format(value, spec)


def _kind(node: Any) -> Kind[Any] | None:
    """The node's kind, or None for a kind that is not one (of any type)."""
    kind = node.get("kind") if isinstance(node, dict) else None
    return KINDS[kind] if isinstance(kind, str) and kind in KINDS else None


def kind_label(node: Any) -> str:
    """The node's kind in words, or "?" for a kind that is not one (of any type)."""
    kind = _kind(node)
    return kind.label if kind is not None else "?"


def _size(node: dict[str, Any]) -> str:
    """The node's size or setting in its kind's words, from its validated spec: a node whose own fields are
    not valid yet (the forms say why) shows as "?", so nothing unvalidated is ever drawn."""
    kind = _kind(node)
    if kind is None:
        return "?"
    try:
        spec = kind.spec.model_validate(node)
    except (ValidationError, ValueError, TypeError, RecursionError):
        return "?"
    return md(kind.summary(spec))


def _flow_node(name: str, node: dict[str, Any], pos: tuple[float, float], analysis: sandbox.Analysis | None,
               entry: str | None) -> StreamlitFlowNode:
    """A canvas node. Its content is Markdown rendered with raw HTML, so every piece of the design in it is
    escaped text (text.md) or a number; the kind and policy are drawn only when they are known words."""
    lines = [f"**{md(name, limit=MAX_NAME_SHOWN)}**", f"{kind_label(node)} · {_size(node)}"]
    style = {"width": "170px", "fontSize": "12px", "padding": "6px", "borderRadius": "8px",
             "border": "1px solid #4a5568", "background": "#e8eef7", "color": "#1a202c"}
    estimate = analysis.nodes.get(name) if analysis else None
    if estimate is not None and estimate.capacity:
        u = estimate.predicted_utilization
        lines.append(f"{u:.0%} busy (predicted)" if u < 10 else "saturated (predicted)")
        style["background"] = utilization_colour(u)
        if analysis is not None and analysis.first_to_saturate == name:
            style["border"] = "3px solid #c53030"
    if name == entry:
        lines[0] = f"▶ {lines[0]}"
    return StreamlitFlowNode(name, (float(pos[0]), float(pos[1])), {"content": "  \n".join(lines)},
                             node_type="default", source_position="right", target_position="left",
                             connectable=True, selectable=True, draggable=True, style=style)


def _flow_edge(index: int, edge: dict[str, Any]) -> StreamlitFlowEdge:
    """A canvas call, labelled with its numbers and known words only ("?" for a value of the wrong type)."""
    parts = []
    p = edge.get("probability", 1)
    if not (isinstance(p, (int, float)) and not isinstance(p, bool) and p >= 1):
        parts.append(f"p={_number(p)}")
    when = edge.get("when", "always")
    if when != "always":
        parts.append(when if when in ("hit", "miss") else "?")
    if edge.get("weight") is not None:
        parts.append(f"weight {_number(edge['weight'])}")
    classes = edge.get("classes")
    if classes is not None:  # class names are words of a known shape, or shown as "?"
        names = classes if isinstance(classes, list) else [classes]
        parts.append(" + ".join(c if isinstance(c, str) and CLASS_NAME.match(c) else "?" for c in names[:4])
                     + (" ..." if len(names) > 4 else "") + " only")
    if edge.get("latency_ms"):
        parts.append(f"{_number(edge['latency_ms'])} ms")
    if edge.get("retries"):
        parts.append(f"{_number(edge['retries'])} retries")
    if edge.get("timeout_ms"):
        parts.append(f"timeout {_number(edge['timeout_ms'])} ms")
    return StreamlitFlowEdge(f"e{index}", str(edge.get("from")), str(edge.get("to")), edge_type="default",
                             marker_end={"type": "arrowclosed"}, label=", ".join(parts),
                             focusable=True, style={"strokeWidth": 2})


def flow_edges(data: dict[str, Any]) -> list[StreamlitFlowEdge]:
    """The calls the canvas can draw: mappings whose two ends are names of the design's nodes."""
    nodes = data.get("nodes") or {}
    return [_flow_edge(i, e) for i, e in enumerate(data.get("edges") or [])
            if isinstance(e, dict) and isinstance(e.get("from"), str) and isinstance(e.get("to"), str)
            and e["from"] in nodes and e["to"] in nodes]


UNPLACED = (40.0, 40.0)  # where a node the layout does not place is drawn


def _picture(nodes: list[StreamlitFlowNode], edges: list[StreamlitFlowEdge]) -> str:
    """What the canvas shows apart from positions: node ids and text, calls and their ends."""
    return json.dumps([[(n.id, n.data.get("content"), n.style.get("background"), n.style.get("border"))
                        for n in nodes], [(e.id, e.source, e.target, e.label) for e in edges]])


def canvas_ui(data: dict[str, Any], layout: dict[str, tuple[float, float]], analysis: sandbox.Analysis | None,
              *, key: str, height: int = 470) -> CanvasEvent | None:
    """Draw the design; return what the player did on the canvas since the last run (None: nothing)."""
    ss = st.session_state
    design_nodes = data.get("nodes") or {}
    entry = (data.get("workload") or {}).get("entry")
    nodes = [_flow_node(name, node if isinstance(node, dict) else {}, layout.get(name, UNPLACED), analysis, entry)
             for name, node in design_nodes.items()]
    edges = flow_edges(data)
    picture = _picture(nodes, edges)
    seen = ss.get(f"{key}.seen", 0)
    push = ss.get(f"{key}.picture") != picture
    stamp = 0
    if push:  # newer than anything the canvas has sent, whatever the clocks say
        stamp = max(int(time.time() * 1000), seen + 1, ss.get(f"{key}.pushed", 0) + 1)
        ss[f"{key}.pushed"] = stamp
        ss[f"{key}.picture"] = picture
    flow = StreamlitFlowState(nodes, edges, timestamp=stamp)
    returned = streamlit_flow(key, flow, height=height, fit_view=True, show_controls=True, allow_new_edges=True,
                              get_node_on_click=True, get_edge_on_click=True, pan_on_drag=True, allow_zoom=True,
                              min_zoom=0.3, hide_watermark=True, style={"background": "#fafbfc"})
    if returned is flow or returned.timestamp in (None, seen):
        return None
    ss[f"{key}.seen"] = returned.timestamp
    positions = {n.id: (float(n.position["x"]), float(n.position["y"])) for n in returned.nodes
                 if n.id in design_nodes}
    connections = [(e.source, e.target) for e in returned.edges if str(e.id).startswith(NEW_EDGE_PREFIX)]
    sel = returned.selected_id
    sel_edge = int(sel[1:]) if isinstance(sel, str) and sel[:1] == "e" and sel[1:].isdigit() else None
    shown = {(n.id, (n.data or {}).get("content")) for n in returned.nodes}
    expected = {(n.id, n.data.get("content")) for n in nodes}
    shown_edges = {(e.id, e.source, e.target) for e in returned.edges if not str(e.id).startswith(NEW_EDGE_PREFIX)}
    out_of_sync = shown != expected or shown_edges != {(e.id, e.source, e.target) for e in edges}
    if out_of_sync:  # the canvas missed a push (or holds a new connection): push again next run
        ss.pop(f"{key}.picture", None)
    return CanvasEvent(positions, connections, sel if sel in design_nodes else None, sel_edge, out_of_sync)
