"""The forms beside the canvas: the selected node's fields, a call's fields, the workload.

Every field is bound to its dotted path in the design (:mod:`app.widgets`) and
shows its own validation problems right under it. Structural edits (rename,
remove, add a call, switch a distribution) are callbacks that go through
:mod:`sandbox.edit` and renew the field widgets.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from sandbox import edit
from sandbox.distributions import DISTRIBUTIONS
from sandbox.kinds import KINDS, FormField, Kind

from app import canvas, state
from app.text import md
from app.widgets import Problems, checkbox_field, number_field, select_field, show_field_problems



# ── actions (callbacks: they run before the page is drawn again) ─────────────

def _remove_node(name: str) -> None:
    layout = {k: v for k, v in state.layout().items() if k != name}
    state.update(edit.remove_node(state.design(), name), layout, structural=True)
    st.session_state.pop("sel_node", None)


def _rename_node(old: str, key: str) -> None:
    new = str(st.session_state[key]).strip()
    try:
        data = edit.rename_node(state.design(), old, new)
    except ValueError as exc:
        st.session_state["rename_problem"] = (old, str(exc))
        return
    layout = {(new if k == old else k): v for k, v in state.layout().items()}
    state.update(data, layout, structural=True)
    st.session_state["sel_node"] = new


def _set_dist(path: str, key: str) -> None:
    node = path.split(".")[1]
    state.update(edit.set_service_time_dist(state.design(), node, st.session_state[key]), structural=True)


def _set_unbounded(name: str, key: str) -> None:
    value = None if st.session_state[key] else 100
    state.update(edit.set_field(state.design(), f"nodes.{name}.queue_limit", value, keep_none=True),
                 structural=True)


def _toggle_policy(path: str, key: str, default: dict[str, Any]) -> None:
    value = dict(default) if st.session_state[key] else None
    state.update(edit.set_field(state.design(), path, value), structural=True)


def _add_edge() -> None:
    source, target = st.session_state.get("new_edge_from"), st.session_state.get("new_edge_to")
    if not source or not target:
        return
    data = edit.add_edge(state.design(), source, target)
    state.update(data, structural=True)
    st.session_state["sel_edge"] = len(data["edges"]) - 1


def _remove_edge(index: int) -> None:
    state.update(edit.remove_edge(state.design(), index), structural=True)
    st.session_state.pop("sel_edge", None)


def _set_closed_loop(key: str) -> None:
    w = dict(state.design().get("workload") or {})
    if st.session_state[key]:
        w.pop("rate_rps", None)
        w.pop("profile", None)
        w.setdefault("users", 50)
        w.setdefault("think_time_ms", 1000)
    else:
        w.pop("users", None)
        w.pop("think_time_ms", None)
        w.setdefault("rate_rps", 100)
    state.update(edit.set_field(state.design(), "workload", w), structural=True)


def _remove_profile() -> None:
    state.update(edit.set_field(state.design(), "workload.profile", None), structural=True)


# ── inputs ───────────────────────────────────────────────────────────────────

def _default_dist(kind: Kind[Any]) -> str | None:
    """The distribution a node of `kind` has when its YAML gives none (a cache's constant 1 ms), if any."""
    spec_field = kind.spec.model_fields.get("service_time")
    if spec_field is None or spec_field.is_required():
        return None
    default = spec_field.get_default(call_default_factory=True)
    return getattr(default, "dist", None)


def _service_time_ui(name: str, node: dict[str, Any], kind: Kind[Any], f: FormField, problems: Problems) -> None:
    path = f"nodes.{name}.service_time"
    given = node.get("service_time")
    st_: dict[str, Any] = given if isinstance(given, dict) else {}
    dist = st_.get("dist", _default_dist(kind))
    select_field(f.label, f"{path}.dist", dist, DISTRIBUTIONS, problems, on_change=_set_dist, help=f.help)
    cols = st.columns(2)
    if dist in ("exponential", "constant", "lognormal"):
        with cols[0]:
            number_field("mean ms", f"{path}.mean_ms", st_.get("mean_ms"), problems)
        if dist == "lognormal":
            with cols[1]:
                if "sigma" in st_:
                    number_field("sigma", f"{path}.sigma", st_.get("sigma"), problems, step=0.1)
                else:
                    number_field("p99 ms", f"{path}.p99_ms", st_.get("p99_ms"), problems)
    elif dist == "uniform":
        with cols[0]:
            number_field("min ms", f"{path}.min_ms", st_.get("min_ms"), problems)
        with cols[1]:
            number_field("max ms", f"{path}.max_ms", st_.get("max_ms"), problems)
    shown = {f"{path}.{f}" for f in ("dist", "mean_ms", "sigma", "p99_ms", "min_ms", "max_ms")}
    for where, reason in problems:  # problems of the distribution as a whole (p99 below the mean, ...)
        if (where == path or where.startswith(path + ".")) and where not in shown:
            st.error(md(reason), icon=":material/error:")


def _queue_limit_ui(name: str, node: dict[str, Any], f: FormField, problems: Problems) -> None:
    """A limit with an "unbounded" switch (``null`` in YAML)."""
    p = f"nodes.{name}.{f.path}"
    c1, c2 = st.columns(2, vertical_alignment="bottom")
    unbounded = f.path in node and node[f.path] is None
    with c1:
        number_field(f.label, p, None if unbounded else node.get(f.path, f.default), problems, integer=True,
                     disabled=unbounded, help=f.help)
    with c2:
        key = state.widget_key(f"{p}.unbounded")
        st.checkbox("Unbounded", value=unbounded, key=key, on_change=_set_unbounded, args=(name, key))


def _field_ui(name: str, node: dict[str, Any], kind: Kind[Any], f: FormField, problems: Problems) -> None:
    """One field of a node's form, drawn as its kind describes it (see sandbox.kinds.base.FormField)."""
    path = f"nodes.{name}.{f.path}"
    value = node.get(f.path, f.default)
    if f.widget == "integer":
        number_field(f.label, path, value, problems, integer=True, help=f.help)
    elif f.widget == "number":
        number_field(f.label, path, value, problems, step=f.step, help=f.help)
    elif f.widget == "optional_integer":
        number_field(f.label, path, node.get(f.path), problems, integer=True, placeholder=f.placeholder, help=f.help)
    elif f.widget == "choice":
        select_field(f.label, path, value, f.choices, problems, format_func=lambda c: str(c).replace("_", " "),
                     help=f.help)
    elif f.widget == "toggle":
        checkbox_field(f.label, path, value, problems, help=f.help)
    elif f.widget == "service_time":
        _service_time_ui(name, node, kind, f, problems)
    elif f.widget == "queue_limit":
        _queue_limit_ui(name, node, f, problems)
    elif f.widget == "cost":
        number_field(f.label, path, node.get(f.path), problems, step=f.step or 0.01,
                     placeholder=f"default {kind.price:.2f}", help=f.help)


def _kind_form_ui(name: str, node: dict[str, Any], kind: Kind[Any], problems: Problems) -> None:
    """The node's fields, row by row as its kind lists them, and what is left to the YAML editor."""
    for row in kind.form:
        if len(row) == 1:
            _field_ui(name, node, kind, row[0], problems)
            continue
        for col, f in zip(st.columns(len(row)), row):
            with col:
                _field_ui(name, node, kind, f, problems)
    extras = [k for k in kind.yaml_only if node.get(k)]
    if extras:
        st.caption(f"Also set: {', '.join(extras)} (edit them in the YAML below).")


def node_ui(data: dict[str, Any], problems: Problems) -> None:
    """The selected node's fields."""
    nodes = data.get("nodes") or {}
    if not nodes:
        st.info("Add a component from the palette above to start.", icon=":material/add_circle:")
        return
    names = list(nodes)
    if st.session_state.get("sel_node") not in names:
        st.session_state["sel_node"] = names[-1]
    name = st.selectbox("Node", names, key="sel_node",
                        format_func=lambda n: f"{n} ({canvas.kind_label(nodes[n])})")
    node = nodes[name] if isinstance(nodes[name], dict) else {}
    show_field_problems(problems, f"nodes.{name}")
    key = state.widget_key(f"nodes.{name}.__name")
    st.text_input("Name", value=name, key=key, on_change=_rename_node, args=(name, key))
    bad = st.session_state.get("rename_problem")
    if bad and bad[0] == name:
        st.error(md(bad[1]), icon=":material/error:")
        st.session_state.pop("rename_problem", None)
    kind = node.get("kind")
    if isinstance(kind, str) and kind in KINDS:
        _kind_form_ui(name, node, KINDS[kind], problems)
    else:
        show_field_problems(problems, f"nodes.{name}.kind")
    st.button("Delete node", key=f"delete_{name}", icon=":material/delete:", on_click=_remove_node, args=(name,))


def edge_ui(data: dict[str, Any], problems: Problems) -> None:
    """Add a call between two nodes; the selected call's fields."""
    nodes_of = data.get("nodes") or {}
    nodes = list(nodes_of)
    edges = data.get("edges") or []
    if not nodes:
        st.info("Add components first, then connect them: drag from a node's right handle to another's left "
                "handle, or add a call here.")
        return
    with st.form("add_edge", border=False):
        c1, c2 = st.columns(2)
        c1.selectbox("New call from", nodes, key="new_edge_from")
        c2.selectbox("to", nodes, key="new_edge_to", index=min(1, len(nodes) - 1))
        st.form_submit_button("Add call", on_click=_add_edge, icon=":material/add:")
    if not edges:
        st.caption("No calls yet. Drag from a node's right handle to another node, or add one above.")
        return
    indices = list(range(len(edges)))
    if st.session_state.get("sel_edge") not in indices:
        st.session_state["sel_edge"] = indices[-1]
    i = st.selectbox("Call", indices, key="sel_edge",
                     format_func=lambda k: f"{k + 1}. {edges[k].get('from')} → {edges[k].get('to')}")
    e = edges[i]
    p = f"edges.{i}"
    for where, reason in problems:
        if where == f"edges[{i}]" or where == "edges":
            st.error(md(reason), icon=":material/error:")
    pb = [(w.replace(f"edges[{i}]", p), r) for w, r in problems]  # edges[0].when -> edges.0.when
    c1, c2 = st.columns(2)
    with c1:
        select_field("From", f"{p}.from", e.get("from"), nodes, pb)
    with c2:
        select_field("To", f"{p}.to", e.get("to"), nodes, pb)
    c1, c2 = st.columns(2)
    with c1:
        number_field("Probability", f"{p}.probability", e.get("probability", 1), pb, step=0.05,
                     help="share of the caller's calls that take this edge")
    with c2:
        number_field("Network latency ms", f"{p}.latency_ms", e.get("latency_ms", 0), pb, help="each way")
    source = e.get("from")
    source_node = nodes_of.get(source) if isinstance(source, str) else None
    source_kind = source_node.get("kind") if isinstance(source_node, dict) else None
    branches = isinstance(source_kind, str) and source_kind in KINDS and KINDS[source_kind].branches
    if branches or e.get("when", "always") != "always":
        select_field("When", f"{p}.when", e.get("when", "always"), ("always", "hit", "miss"), pb,
                     help="from a cache: only on a hit, or only on a miss (read-through)")
    with st.expander("Resilience: timeout, retries, breaker, hedging"):
        c1, c2 = st.columns(2)
        with c1:
            number_field("Timeout ms", f"{p}.timeout_ms", e.get("timeout_ms"), pb, placeholder="none")
        with c2:
            number_field("Retries", f"{p}.retries", e.get("retries", 0), pb, integer=True)
        for label, field_, default in (("Exponential backoff between retries", "backoff",
                                        {"base_ms": 100, "multiplier": 2, "jitter": "full"}),
                                       ("Circuit breaker", "circuit_breaker", {"failure_ratio": 0.5, "open_s": 5})):
            key = state.widget_key(f"{p}.{field_}.on")
            st.toggle(label, value=bool(e.get(field_)), key=key, on_change=_toggle_policy,
                      args=(f"{p}.{field_}", key, default))
            show_field_problems(pb, f"{p}.{field_}", prefix=True)
        number_field("Hedge after ms", f"{p}.hedge_after_ms", e.get("hedge_after_ms"), pb, placeholder="none",
                     help="send a second copy if no answer by then")
    st.button("Delete call", key=f"delete_edge_{i}", icon=":material/delete:", on_click=_remove_edge, args=(i,))


def workload_ui(data: dict[str, Any], problems: Problems) -> None:
    """Where requests enter and how they arrive."""
    w = data.get("workload") or {}
    nodes = list(data.get("nodes") or {})
    select_field("Entry node", "workload.entry", w.get("entry"), nodes, problems,
                 help="the node requests arrive at")
    show_field_problems(problems, "workload")
    closed = w.get("users") is not None
    key = state.widget_key("workload.closed")
    st.toggle("Closed loop (users who wait for an answer, then think)", value=closed, key=key,
              on_change=_set_closed_loop, args=(key,))
    c1, c2 = st.columns(2)
    if closed:
        with c1:
            number_field("Users", "workload.users", w.get("users"), problems, integer=True)
        with c2:
            number_field("Think time ms", "workload.think_time_ms", w.get("think_time_ms", 1000), problems)
    else:
        with c1:
            number_field("Rate (requests/s)", "workload.rate_rps", w.get("rate_rps"), problems)
        with c2:
            select_field("Arrivals", "workload.arrival", w.get("arrival", "poisson"), ("poisson", "constant"),
                         problems, format_func=lambda a: {"poisson": "Poisson (random)",
                                                          "constant": "evenly spaced"}.get(a, str(a)))
    c1, c2, c3 = st.columns(3)
    with c1:
        number_field("Duration s", "workload.duration_s", w.get("duration_s"), problems)
    with c2:
        number_field("Warm-up s", "workload.warmup_s", w.get("warmup_s", 0), problems,
                     help="requests arriving before this are left out of the statistics")
    with c3:
        number_field("SLO ms", "workload.slo_ms", w.get("slo_ms"), problems, placeholder="none",
                     help="goodput counts requests completed within this")
    if w.get("profile"):
        prof = w["profile"]
        shown = md(", ".join(f"{k} {v}" for k, v in prof.items()) if isinstance(prof, dict) else prof, limit=200)
        st.caption(f"Load profile: {shown} (edit it in the YAML below).")
        st.button("Remove the load profile", on_click=_remove_profile)
        show_field_problems(problems, "workload.profile", prefix=True)
