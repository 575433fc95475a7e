"""The forms beside the canvas: the selected node's fields, a call's fields, the workload.

Every field is bound to its dotted path in the design (:mod:`app.widgets`) and
shows its own validation problems right under it. Structural edits (rename,
remove, add a call, switch a distribution) are callbacks that go through
:mod:`sandbox.edit` and renew the field widgets.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any, Callable

import streamlit as st

from sandbox import edit
from sandbox.classes import CLASS_NAME
from sandbox.distributions import DISTRIBUTIONS
from sandbox.kinds import KINDS, FormField, Kind

from app import canvas, state
from app.placement_form import placement_ui
from app.text import md
from app.widgets import (Problems, checkbox_field, multiselect_field, number_field, select_field,
                         show_field_problems)



# ── actions (callbacks: they run before the page is drawn again) ─────────────

def _remove_node(name: str) -> None:
    layout = {k: v for k, v in state.layout().items() if k != name}
    state.update(edit.remove_node(state.design(), name), layout, structural=True)
    st.session_state.pop("sel_node", None)


def _renamed(old: str, key: str, rename: Callable[[dict[str, Any], str, str], dict[str, Any]],
             problem_key: str) -> tuple[str, dict[str, Any]] | None:
    """(the new name, the renamed design) from the name typed in box `key`, or None: refused, with the reason
    kept under `problem_key` and the box showing the name it still has, not the one refused."""
    new = str(st.session_state[key]).strip()
    try:
        return new, rename(state.design(), old, new)
    except ValueError as exc:
        st.session_state[problem_key] = (old, f"Still called {old}: {exc}")
        st.session_state[key] = old
        return None


def _rename_node(old: str, key: str) -> None:
    renamed = _renamed(old, key, edit.rename_node, "rename_problem")
    if renamed is None:
        return
    new, data = renamed
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


def _set_keys(key: str) -> None:
    """Requests carry keys (a starting popularity to edit), or not."""
    w = dict(state.design().get("workload") or {})
    if st.session_state[key]:
        w.setdefault("keys", {"count": 10000, "popularity": "zipf", "s": 1.0})
    else:
        w.pop("keys", None)
    state.update(edit.set_field(state.design(), "workload", w), structural=True)


def _remove_profile() -> None:
    state.update(edit.set_field(state.design(), "workload.profile", None), structural=True)


def _add_class() -> None:
    state.update(edit.add_class(state.design())[0], structural=True)


def _remove_class(name: str) -> None:
    state.update(edit.remove_class(state.design(), name), structural=True)


def _rename_class(old: str, key: str) -> None:
    renamed = _renamed(old, key, edit.rename_class, "class_rename_problem")
    if renamed is not None:
        state.update(renamed[1], structural=True)


# ── inputs ───────────────────────────────────────────────────────────────────

def _default_dist(kind: Kind[Any]) -> str | None:
    """The distribution a node of `kind` has when its YAML gives none (a cache's constant 1 ms), if any."""
    spec_field = kind.spec.model_fields.get("service_time")
    if spec_field is None or spec_field.is_required():
        return None
    default = spec_field.get_default(call_default_factory=True)
    return getattr(default, "dist", None)


MAX_TYPED_SAMPLES = 200  # an empirical distribution with more samples than this is edited in the YAML

# the second number of the distributions set by a mean and one shape parameter: (field, label, step, help)
_SHAPE_OF: dict[str, tuple[str, str, float, str]] = {
    "gamma": ("cv", "cv", 0.1, "coefficient of variation, standard deviation / mean (1: as variable as exponential)"),
    "weibull": ("shape", "shape k", 0.1, "below 1: a long tail; 1: exponential; above 1: tighter"),
    "pareto": ("alpha", "tail alpha", 0.1, "above 1; at 2 or below the variance is infinite (rare huge calls)"),
}


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
    elif dist in _SHAPE_OF:
        shape, label, step, hint = _SHAPE_OF[dist]
        with cols[0]:
            number_field("mean ms", f"{path}.mean_ms", st_.get("mean_ms"), problems)
        with cols[1]:
            number_field(label, f"{path}.{shape}", st_.get(shape), problems, step=step, help=hint)
    elif dist == "empirical":
        _samples_ui(f"{path}.samples_ms", st_.get("samples_ms"))
    shown = {f"{path}.{f}" for f in ("dist", "mean_ms", "sigma", "p99_ms", "min_ms", "max_ms", "cv", "shape", "alpha")}
    for where, reason in problems:  # problems of the distribution as a whole (p99 below the mean, ...)
        if (where == path or where.startswith(path + ".")) and where not in shown:
            sample = re.fullmatch(re.escape(path) + r"\.samples_ms\[(\d+)\]", where)  # one of the measured times
            st.error(md(f"sample {int(sample[1]) + 1}: {reason}" if sample else reason), icon=":material/error:")


def _samples_ui(path: str, samples: Any) -> None:
    """An empirical distribution's measured times: a list to type in (a short one), and what it amounts to."""
    values = [v for v in samples if isinstance(v, (int, float)) and not isinstance(v, bool)] \
        if isinstance(samples, list) else []
    count = len(samples) if isinstance(samples, list) else 0
    if count <= MAX_TYPED_SAMPLES:
        key = state.widget_key(path)
        st.text_input("samples ms", value=_samples_text(samples),
                      key=key, on_change=_set_samples, args=(path, key), placeholder="12, 15, 14, 90, 13",
                      help="measured service times in milliseconds, separated by commas; each call draws one of "
                           "them at random (with replacement)")
        bad = st.session_state.get("samples_problem")
        if bad and bad[0] == path:
            st.error(md(bad[1]), icon=":material/error:")
            st.session_state.pop("samples_problem", None)
    summary = f"{count:,} measured sample" + ("" if count == 1 else "s")
    if values and len(values) == count:
        mean = sum(values) / count
        cv = (sum((v - mean) ** 2 for v in values) / count) ** 0.5 / mean if mean > 0 else 0.0
        summary += f": mean {mean:,.4g} ms, cv {cv:.2f}" + (" (one value: a constant time)" if count == 1 else "")
    if count > MAX_TYPED_SAMPLES:
        summary += "; edit the list `samples_ms` in the YAML below"
    st.caption(summary)


def _samples_text(samples: Any) -> str:
    """A list of numbers as typed in the samples box ("" when it is not one: the problem shows beside it)."""
    if not isinstance(samples, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                for v in samples):
        return ""
    return ", ".join(str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v)) for v in samples)


def _set_samples(path: str, key: str) -> None:
    text = str(st.session_state[key])
    try:
        values = [float(v) for v in text.replace(";", ",").replace(",", " ").split()]
    except ValueError:
        values = [math.nan]
    problem = ("an empirical distribution needs at least one measured time" if not values else
               f"write numbers of milliseconds separated by commas, not “{text[:80]}”"
               if not all(math.isfinite(v) for v in values) else None)
    if problem:
        st.session_state["samples_problem"] = (path, f"Not changed: {problem}.")
        old = _get(state.design(), path)
        st.session_state[key] = _samples_text(old)
        return
    state.update(edit.set_field(state.design(), path, [int(v) if v.is_integer() else v for v in values]))


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


def _get(node: dict[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted `path` inside the node (``shed.queue_over``), else `default` (also for null)."""
    cursor: Any = node
    for part in path.split("."):
        cursor = cursor.get(part) if isinstance(cursor, dict) else None
    return default if cursor is None else cursor


def _group_ui(name: str, node: dict[str, Any], kind: Kind[Any], f: FormField, problems: Problems,
              classes: list[str]) -> None:
    """An optional group of fields (load shedding): a switch, and its fields while it is on."""
    p = f"nodes.{name}.{f.path}"
    on = node.get(f.path) is not None
    key = state.widget_key(f"{p}.on")
    st.toggle(f.label, value=on, key=key, on_change=_toggle_policy, args=(p, key, f.default), help=f.help or None)
    show_field_problems(problems, p)
    if not on:
        return
    subs = [replace(sub, path=f"{f.path}.{sub.path}") for sub in f.fields]
    for col, sub in zip(st.columns(len(subs)), subs):
        with col:
            _field_ui(name, node, kind, sub, problems, classes)
    shown = {p, *(f"nodes.{name}.{sub.path}" for sub in subs)}
    for where, reason in problems:  # problems of the group not under one of its fields (an unknown key)
        if where.startswith(p + ".") and where not in shown:
            st.error(md(f"{where.removeprefix(p + '.')}: {reason}"), icon=":material/error:")


def _per_class_ui(name: str, node: dict[str, Any], f: FormField, problems: Problems, classes: list[str]) -> None:
    """One optional whole number per class of the workload (a bulkhead); an empty one is no setting."""
    p = f"nodes.{name}.{f.path}"
    given = node.get(f.path)
    values: dict[str, Any] = given if isinstance(given, dict) else {}
    names = list(dict.fromkeys([*classes, *(str(k) for k in values)]))  # a stale name shows, to be cleared
    st.markdown(f":small[{md(f.label)}]", help=f.help or None)
    show_field_problems(problems, p)
    for start in range(0, len(names), 3):
        row = names[start:start + 3]
        for col, c in zip(st.columns(3), row):
            with col:
                number_field(md(c), f"{p}.{c}", values.get(c), problems, integer=True, placeholder=f.placeholder,
                             keyed=True, disabled=not CLASS_NAME.match(c))


def _field_ui(name: str, node: dict[str, Any], kind: Kind[Any], f: FormField, problems: Problems,
              classes: list[str]) -> None:
    """One field of a node's form, drawn as its kind describes it (see sandbox.kinds.base.FormField)."""
    path = f"nodes.{name}.{f.path}"
    value = _get(node, f.path, f.default)
    if f.widget == "integer":
        number_field(f.label, path, value, problems, integer=True, help=f.help)
    elif f.widget == "number":
        number_field(f.label, path, value, problems, step=f.step, help=f.help, placeholder=f.placeholder)
    elif f.widget == "optional_integer":
        number_field(f.label, path, _get(node, f.path), problems, integer=True, placeholder=f.placeholder,
                     help=f.help)
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
    elif f.widget == "group":
        _group_ui(name, node, kind, f, problems, classes)
    elif f.widget == "per_class":
        _per_class_ui(name, node, f, problems, classes)
    elif f.widget == "names":
        _names_ui(path, _get(node, f.path), f, problems)


def _names_ui(path: str, names: Any, f: FormField, problems: Problems) -> None:
    """A list of names typed with commas (a node's zones); empty removes the field."""
    key = state.widget_key(path)
    shown = ", ".join(str(n) for n in names) if isinstance(names, list) else ""
    st.text_input(f.label, value=shown, key=key, on_change=_set_names, args=(path, key), placeholder=f.placeholder,
                  help=f.help or None)
    show_field_problems(problems, path)


def _set_names(path: str, key: str) -> None:
    names = [n for n in str(st.session_state[key]).replace(";", ",").replace(",", " ").split() if n]
    state.update(edit.set_field(state.design(), path, names or None))


def _kind_form_ui(name: str, node: dict[str, Any], kind: Kind[Any], problems: Problems, classes: list[str]) -> None:
    """The node's fields, row by row as its kind lists them, and what is left to the YAML editor.

    A field about request classes shows only when the workload has classes (or the node sets it anyway).
    """
    drawn: set[str] = set()
    for whole in kind.form:
        row = [f for f in whole if classes or not f.classes_only or node.get(f.path.split(".")[0]) is not None]
        drawn.update(f.path.split(".")[0] for f in row)
        if len(row) == 1:
            _field_ui(name, node, kind, row[0], problems, classes)
            continue
        for col, f in zip(st.columns(len(row)) if row else [], row):
            with col:
                _field_ui(name, node, kind, f, problems, classes)
    spec_fields = {f.alias or n for n, f in kind.spec.model_fields.items()}
    extras = [k for k in dict.fromkeys([*kind.yaml_only, *node])  # also a field of the spec no form row draws
              if k in spec_fields and k not in drawn and k != "kind" and node.get(k)]
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
        _kind_form_ui(name, node, KINDS[kind], problems, edit.class_names(data))
    else:
        show_field_problems(problems, f"nodes.{name}.kind")
    st.button("Delete node", key=f"delete_{name}", icon=":material/delete:", on_click=_remove_node, args=(name,))


def _weighs(kind: Kind[Any]) -> bool:
    """Whether a kind chooses among its calls by weight: one that spreads calls by a policy of its own (a load
    balancer; see Kind.spreads)."""
    return type(kind).spreads is not Kind.spreads


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
    classes = edit.class_names(data)
    weighs = isinstance(source_kind, str) and source_kind in KINDS and _weighs(KINDS[source_kind])
    shown = [w for w, on in (("classes", bool(classes) or e.get("classes") is not None),
                             ("weight", weighs or e.get("weight") is not None)) if on]
    for col, what in zip(st.columns(len(shown)) if shown else [], shown):
        with col:
            if what == "classes":
                multiselect_field("Taken by classes", f"{p}.classes", e.get("classes"), classes, pb,
                                  placeholder="every class",
                                  help="only requests of these classes make this call; empty: every class")
            else:
                number_field("Weight", f"{p}.weight", e.get("weight"), pb, placeholder="none",
                             help="the load balancer sends this call its weight / the sum of its calls' weights of "
                                  "the requests (canaries, unequal pools); none: each call in turn, by its policy")
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
    keys_ui(w, problems)
    classes_ui(w, problems)
    placement_ui(data, problems)
    if w.get("profile"):
        prof = w["profile"]
        shown = md(", ".join(f"{k} {v}" for k, v in prof.items()) if isinstance(prof, dict) else prof, limit=200)
        st.caption(f"Load profile: {shown} (edit it in the YAML below).")
        st.button("Remove the load profile", on_click=_remove_profile)
        show_field_problems(problems, "workload.profile", prefix=True)


def keys_ui(w: dict[str, Any], problems: Problems) -> None:
    """The keys requests are for: how many, and how popular each is (a cache with a capacity needs them)."""
    given = w.get("keys")
    keys: dict[str, Any] = given if isinstance(given, dict) else {}
    key = state.widget_key("workload.keys.on")
    st.toggle("Requests carry keys (items with a popularity)", value="keys" in w, key=key, on_change=_set_keys,
              args=(key,), help="which product, user or page each request is for: a cache with a capacity or a TTL "
                                "decides hits by key")
    if "keys" in w:
        c1, c2, c3 = st.columns(3)
        with c1:
            number_field("Keys", "workload.keys.count", keys.get("count"), problems, integer=True,
                         help="distinct items, numbered by popularity (key 0 is the most popular)")
        with c2:
            select_field("Popularity", "workload.keys.popularity", keys.get("popularity", "zipf"),
                         ("zipf", "uniform"), problems,
                         help="zipf: key k is requested in proportion to 1/(k+1)^s; uniform: all alike")
        with c3:
            number_field("Zipf s", "workload.keys.s", keys.get("s", 1.0), problems, step=0.1,
                         disabled=keys.get("popularity", "zipf") != "zipf",
                         help="the skew: 0 is uniform, 1 classic Zipf, higher is more concentrated on a few keys")
    show_field_problems(problems, "workload.keys", prefix=True)


def classes_ui(w: dict[str, Any], problems: Problems) -> None:
    """The workload's request classes: each with its name, share, SLO, priority and SLO target; add, remove."""
    given = w.get("classes")
    classes: dict[str, Any] = given if isinstance(given, dict) else {}
    st.markdown("**Request classes**", help="a traffic mix: each class has its share of the requests (of the users, "
                "in a closed loop), its own SLO, a priority (higher is served first at a node with discipline "
                "priority, and shed last) and, with an SLO target, an error budget. The Call form limits a call to "
                "some classes; the Node form sets queue discipline, shedding and bulkheads.")
    if not classes:
        st.caption("One undifferentiated stream of requests. Add a class to split it into a mix "
                   "(browse and checkout, reads and writes, free and paying users).")
    slo = w.get("slo_ms")
    for name in classes:
        c = classes[name] if isinstance(classes[name], dict) else {}
        p = f"workload.classes.{name}"
        editable = isinstance(name, str) and bool(CLASS_NAME.match(name))  # a path with a dot cannot be written
        with st.container(border=True):
            c1, c2, c3 = st.columns([1.6, 1, 0.35], vertical_alignment="bottom")
            with c1:
                key = state.widget_key(f"{p}.__name")
                st.text_input("Class", value=str(name), key=key, on_change=_rename_class, args=(name, key))
            with c2:
                number_field("Share", f"{p}.share", c.get("share"), problems, step=0.05, disabled=not editable,
                             help="of the requests that arrive (of the users, in a closed loop); the shares of all "
                                  "classes sum to 1")
            with c3:
                st.button("", key=state.widget_key(f"{p}.__remove"), icon=":material/delete:", type="tertiary",
                          on_click=_remove_class, args=(name,), help=f"remove this class and every mention of it "
                                                                      "(a call only it takes goes too)")
            bad = st.session_state.get("class_rename_problem")
            if bad and bad[0] == name:
                st.error(md(bad[1]), icon=":material/error:")
                st.session_state.pop("class_rename_problem", None)
            c1, c2, c3 = st.columns(3)
            with c1:
                number_field("SLO ms", f"{p}.slo_ms", c.get("slo_ms"), problems, disabled=not editable,
                             placeholder=f"{slo:g} (workload's)" if isinstance(slo, (int, float)) else "none",
                             help="a request of this class is good when it completes within this; empty: the "
                                  "workload's SLO")
            with c2:
                number_field("Priority", f"{p}.priority", c.get("priority", 0), problems, integer=True,
                             disabled=not editable, help="a whole number, 0 by default; higher is served first "
                                                         "where a node's discipline is priority, and shed last")
            with c3:
                number_field("SLO target", f"{p}.slo_target", c.get("slo_target"), problems, step=0.001,
                             disabled=not editable, placeholder="no budget",
                             help="the share of its requests that must be good (0.999): sets the class's error "
                                  "budget, whose burn rate the results chart")
            if isinstance(w.get("keys"), dict) or c.get("writes"):
                checkbox_field("Writes its key", f"{p}.writes", c.get("writes", False), problems,
                               help="its requests are writes: a cache they pass applies its on_write (invalidate "
                                    "or update) to their key")
            show_field_problems(problems, p)
            for where, reason in problems:  # e.g. an unknown field of the class
                if where.startswith(p + ".") and where.rpartition(".")[2] not in ("share", "slo_ms", "priority",
                                                                                  "slo_target", "writes"):
                    st.error(md(f"{where.removeprefix(p + '.')}: {reason}"), icon=":material/error:")
    show_field_problems(problems, "workload.classes")
    st.button("Add a class", key=state.widget_key("workload.classes.__add"), icon=":material/add:",
              on_click=_add_class)
