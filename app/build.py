"""Build: compose a design on the canvas and in forms, and see what theory predicts as you edit.

Start from an empty canvas, an example scenario or a saved design; add
components from the palette; place and connect them on the canvas; set each
node's and call's fields in the forms beside it. Problems show next to the
field they concern, and the back-of-envelope analysis (predicted utilization
per node, the rate at which the design saturates and where) follows every edit.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Any

import streamlit as st

import sandbox
from sandbox import edit, share
from sandbox.challenges import challenge_of, check_constraints, design as challenge_design
from sandbox.importers import draft_of
from sandbox.report_calibration import calibration_tables
from sandbox.tracefiles import read_traces_text
from sandbox.kinds import KINDS

from app import canvas, forms, state, widgets
from app.text import code, md

MAX_UPLOAD_BYTES = 512 * 1024


# ── actions (callbacks: they run before the page is drawn again) ─────────────

def _template(kind: str) -> tuple[str, dict[str, Any]] | None:
    """The starter node an added node of `kind` must copy in the current challenge, if any."""
    cid = state.challenge_id()
    scenario = state.challenge_scenario(cid) if cid else None
    name = challenge_of(scenario).constraints.templates.get(kind) if scenario else None
    if name is None or cid is None:
        return None
    starter = edit.challenge_design(dict(state.campaign())[cid], "starter")
    return name, starter["nodes"][name]


def _add_node(kind: str) -> None:
    template = _template(kind)
    if template is None:
        data, name = edit.add_node(state.design(), kind)
    else:
        data, name = edit.add_node(state.design(), kind, edit.unique_name(state.design(), template[0]),
                                   like=template[1])
    layout = dict(state.layout())
    layout[name] = edit.place_new(layout)
    state.update(data, layout, structural=True)
    st.session_state["sel_node"] = name
    st.session_state["inspector"] = "Node"


def _new_design() -> None:
    choice = st.session_state.get("new_from", "Empty canvas")
    if choice == "Empty canvas":
        opened = state.open_new(edit.empty_design(), {})
    else:
        path = state.presets()[choice]
        with open(path, encoding="utf-8") as f:
            opened = state.open_new(edit.parse_yaml(f.read(), source=path))
    if opened:
        state.flash("success", f"Started a new design from: {md(choice)}.")


def _open_saved() -> None:
    chosen = st.session_state.get("open_saved")
    if chosen is not None:
        state.open_saved(int(chosen))


def _delete_saved() -> None:
    chosen = st.session_state.get("open_saved")
    st.session_state["delete_confirm"] = False  # each deletion is confirmed on its own
    if chosen is not None:
        state.delete_saved(int(chosen))


def _import(text: str, source: str) -> None:
    """Replace the design with a YAML text (a design, a docker-compose file or Kubernetes manifests), or refuse
    it (every problem listed) and keep the design."""
    try:
        draft = draft_of(text, source)
        data = edit.parse_yaml(text, source=source) if draft is None else draft.data
    except sandbox.ScenarioError as exc:
        state.flash("error", f"**{md(source[:1].upper() + source[1:])} was refused; your design is unchanged.**"
                             f"\n\n{widgets.problem_lines(exc.problems)}")
        return
    if not state.open_new(data):
        return
    if draft is None:
        state.flash("success", f"Imported {md(source)}: “{md(data.get('name'), limit=80)}”.")
        return
    assumed = "\n".join(f"- {code(a.path)}: {md(a.why)}" for a in draft.assumed)
    notes = "".join(f"\n- {md(n)}" for n in draft.notes)
    state.flash("warning", f"**Drafted a design from {md(source)}: {len(data['nodes'])} nodes, "
                           f"{len(data['edges'])} calls.** These values are assumed (the file could not tell "
                           f"them); replace them with measurements:\n\n{assumed}" + (f"\n\nNotes:{notes}" if notes else ""))


def _uploaded_text(key: str, what: str) -> tuple[str, str] | None:
    """The uploaded file under `key` as (text, name), or None (and a message) when there is none, it is larger
    than MAX_UPLOAD_BYTES (`what` says what may be that large) or it is not UTF-8."""
    upload = st.session_state.get(key)
    if upload is None:
        return None
    refused = f"**{md(upload.name)} was refused; your design is unchanged.**"
    if upload.size > MAX_UPLOAD_BYTES:
        state.flash("error", f"{refused} It is {upload.size:,} bytes; {what} may be at most {MAX_UPLOAD_BYTES:,}.")
        return None
    try:
        return upload.getvalue().decode("utf-8"), upload.name
    except UnicodeDecodeError:
        state.flash("error", f"{refused} It is not UTF-8 text.")
        return None


def _import_upload() -> None:
    uploaded = _uploaded_text("upload", "a design file")
    if uploaded is not None:
        _import(*uploaded)


def _calibrate_upload() -> None:
    """Fit the current design to an uploaded trace file (OpenTelemetry or Jaeger JSON) and show the fit beside
    the traces; the design is unchanged when the file or the design cannot be used."""
    uploaded = _uploaded_text("upload_traces", "a trace file here (calibrate from larger ones with `sandbox "
                                               "calibrate`)")
    if uploaded is None:
        return
    text, name = uploaded
    refused = f"**{md(name)} was refused; your design is unchanged.**"
    try:
        scenario = sandbox.from_dict(state.design(), "your design")
        c = sandbox.calibrate(scenario, read_traces_text(text, name), limits=state.limits())
    except sandbox.ScenarioError as exc:
        state.flash("error", f"{refused}\n\n{widgets.problem_lines(exc.problems)}")
        return
    except sandbox.SimulationError as exc:
        state.flash("error", f"**The calibrated design could not be checked; your design is unchanged.** {md(exc)}")
        return
    state.update(c.data, structural=True)
    verdict = ("The calibrated model reproduces the traces." if c.agrees else
               "Where a row's agrees is off, the model does not reproduce the traces: it lacks something the "
               "system does.")
    rate = (f" Arrival rate {c.rate_rps:.4g} rps from the root spans (the file holds {c.sampling:.3g} of "
            "requests)." if c.rate_rps is not None else "")
    notes = "".join(f"\n- {md(w)}" for w in c.warnings)
    state.flash("success" if c.agrees else "warning",
                f"**Calibrated from {md(name)}: {c.traces:,} traces, {c.calls:,} calls.** {verdict}{rate}"
                + (f"\n\nNotes:{notes}" if notes else ""), calibration_tables(c))


def _apply_yaml(key: str) -> None:
    _import(st.session_state[key], "the YAML you edited")


# ── inputs ───────────────────────────────────────────────────────────────────

def design_bar_ui(data: dict[str, Any], text: str, valid: bool) -> None:
    """Name, new, open (or delete), import, download (`text`, the design as YAML) and share."""
    ws = state.workspace()
    name_col, bar_col = st.columns([1, 2.2], vertical_alignment="bottom")
    with name_col:
        widgets.text_field("Design name", "name", data.get("name"), [])
    with bar_col, st.container(horizontal=True):
        with st.popover("New", key="pop_new", icon=":material/add:"):
            options = ["Empty canvas", *state.presets()]
            st.selectbox("Start from", options, key="new_from")
            st.button("Create", on_click=_new_design, type="primary", key="new_create")
        with st.popover("Open", key="pop_open", icon=":material/folder_open:"):
            saved = state.store().designs(ws)
            labels = {d.id: f"{d.name} · {datetime.fromtimestamp(d.updated):%d %b %H:%M}" for d in saved}
            if labels and st.session_state.get("open_saved") not in labels:  # the list changed since it was drawn
                st.session_state["open_saved"] = next(iter(labels))
            st.selectbox("Saved designs in this workspace", list(labels), format_func=lambda i: labels.get(i, "?"),
                         key="open_saved")
            with st.container(horizontal=True, vertical_alignment="center"):
                st.button("Open", on_click=_open_saved, key="open_button", disabled=not saved)
                sure = st.checkbox("Delete it?", key="delete_confirm", disabled=not saved,
                                   help="tick, then press Delete: the chosen design is removed from this workspace "
                                        "(its runs stay in the history)")
                st.button("Delete", on_click=_delete_saved, key="delete_button", icon=":material/delete:",
                          disabled=not sure)
        with st.popover("Import", key="pop_import", icon=":material/upload:"):
            st.file_uploader("A scenario, docker-compose or Kubernetes YAML file", type=["yaml", "yml"], key="upload",
                             on_change=_import_upload, max_upload_size=1,
                             help="a docker-compose file or Kubernetes manifests become a draft: their structure, "
                                  "with every number they cannot tell assumed and listed")
            st.file_uploader("Traces of your system: calibrate this design", type=["json", "jsonl"],
                             key="upload_traces", on_change=_calibrate_upload, max_upload_size=1,
                             help="OpenTelemetry (OTLP JSON, as the Collector's file exporter writes) or Jaeger JSON: "
                                  "service times, call shares and the rate are fitted to them, and the fitted design "
                                  "is run beside the traces. Spans match nodes by their service.name.")
        file_name = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(data.get("name") or "design"))
        st.download_button("Download YAML", text, file_name=f"{file_name.lower()}.yaml",
                           mime="application/x-yaml", on_click="ignore", icon=":material/download:",
                           help=None if valid else "The design has problems; it downloads as it is.")
        with st.popover("Share", key="pop_share", icon=":material/share:"):
            try:
                token = share.encode(data, state.layout())
            except sandbox.ScenarioError as exc:
                st.error(exc.problems[0][1])
            else:
                base = (st.context.url or "").split("?")[0]
                st.caption("Anyone opening this link gets a copy of this design:")
                st.code(f"{base}?design={token}", language=None, wrap_lines=True)
            if state.design_id() is None:
                st.caption("Nothing is saved until you change something; from then on your work is kept in "
                           f"workspace `{ws}`: bookmark this page's address to come back to it.")
            else:
                st.caption(f"Your work is saved in workspace `{ws}`; bookmark this page's address to come back to it.")


def palette_ui(allowed: set[str] | None) -> None:
    """One button per component kind; each adds a node with sensible defaults."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown("**Add**")
        for kind, k in KINDS.items():
            if not k.in_palette:
                continue
            disabled = allowed is not None and kind not in allowed
            st.button(k.label.capitalize(), key=f"palette_{kind}", icon=f":material/{k.icon}:", on_click=_add_node,
                      args=(kind,), disabled=disabled,
                      help="this challenge does not let you add this kind" if disabled else f"add a {k.label}")


def yaml_ui(text: str) -> None:
    """The design as YAML (`text`), editable: applied only when valid."""
    with st.expander("YAML", icon=":material/code:"):
        # keyed by the text too: Streamlit keeps a keyed text area's state when only its value changes, so the
        # box would go on showing the design from before a form edit (and "Apply YAML" would undo that edit)
        digest = hashlib.sha1(text.encode()).hexdigest()[:12]
        key = state.widget_key(f"{digest}|__yaml")
        st.text_area("The design as YAML", value=text, height=320, key=key,
                     label_visibility="collapsed")
        st.button("Apply YAML", on_click=_apply_yaml, args=(key,), key="apply_yaml",
                  help="replaces the design if the YAML is valid; otherwise lists the problems and keeps it")


# ── outputs ──────────────────────────────────────────────────────────────────

def show_challenge(challenge_id: str, scenario: sandbox.Scenario | None) -> set[str] | None:
    """What the challenge lets the player change, and what the design breaks; returns the kinds it may add."""
    ch_scenario = state.challenge_scenario(challenge_id)
    if ch_scenario is None:
        return None
    ch = challenge_of(ch_scenario)
    c = ch.constraints
    with st.container(border=True):
        st.markdown(f"**Challenge: {ch.title}** (level {ch.level}). You may change "
                    f"{', '.join(f'`{p}`' for p in c.editable)}"
                    + (f"; add {', '.join(c.add_kinds)}" if c.add_kinds else "; add nothing")
                    + (f"; at most {c.max_replicas} replicas" if c.max_replicas else "")
                    + (f"; budget ${c.budget_per_hour:.2f}/h" if c.budget_per_hour else "") + "."
                    + "".join(f" An added {k.replace('_', ' ')} copies `{t}` (you may set only "
                              f"{', '.join(c.template_free)})." for k, t in c.templates.items()))
        if scenario is not None:
            broken = check_constraints(challenge_design(ch_scenario, "starter"), scenario, ch)
            for v in broken:
                st.warning(v, icon=":material/block:")
        st.page_link("app/challenges.py", label="Back to the challenge: predict and grade", icon=":material/flag:")
    return set(c.add_kinds)


def show_analysis(analysis: sandbox.Analysis | None, scenario: sandbox.Scenario | None) -> None:
    """Predicted utilization per node, the saturation rate and where, and the graph checks."""
    st.subheader("Back-of-envelope analysis")
    if not (state.design().get("nodes")):
        st.info("Add components to see what queueing theory predicts for the design.", icon=":material/functions:")
        return
    if analysis is None or scenario is None:
        st.info("Fix the problems above to see what queueing theory predicts for this design.",
                icon=":material/functions:")
        return
    sat = analysis.saturation_rps
    rate = analysis.rate_rps
    c = st.columns(4)
    c[0].metric("Offered load", f"{rate:,.4g} rps")
    c[1].metric("Saturates at", f"{sat:,.0f} rps" if math.isfinite(sat) else "never",
                help="the entry rate at which the first node reaches 100% busy")
    latency = analysis.predicted_latency_ms
    c[2].metric("Predicted mean latency", "not modelled" if analysis.latency_accuracy == "none" else
                f"{latency:,.1f} ms" if math.isfinite(latency) else "unbounded",
                help=sandbox.accuracy_text(analysis.latency_accuracy, analysis.latency_band))
    c[3].metric("Cost", f"${analysis.cost_per_hour:,.2f}/h")
    if math.isfinite(sat) and analysis.first_to_saturate:
        if rate >= sat:
            st.error(f"At {rate:,.4g} rps the design is over capacity: **{analysis.first_to_saturate}** "
                     f"saturates at {sat:,.0f} rps, so its queue grows until calls are rejected.",
                     icon=":material/warning:")
        else:
            st.success(f"The design saturates at **{sat:,.0f} rps**, {sat / rate:.1f}× the offered load; "
                       f"**{analysis.first_to_saturate}** reaches 100% busy first.", icon=":material/check_circle:")
    rows = [{"node": n, "kind": KINDS[e.kind].label, "offered rps": e.offered_rps,
             "predicted utilization": e.predicted_utilization if math.isfinite(e.predicted_utilization) else None,
             "predicted wait ms": e.predicted_wait_ms
             if math.isfinite(e.predicted_wait_ms) and e.accuracy != "none" else None,
             "predicted rejected": e.predicted_rejected if e.capacity and e.accuracy != "none" else None,
             "hold ms": e.hold_ms,
             "accuracy": sandbox.accuracy_text(e.accuracy, e.wait_band, e.method, e.reason) if e.capacity else ""}
            for n, e in analysis.nodes.items()]
    st.dataframe(rows, hide_index=True, column_config={
        "predicted utilization": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        "offered rps": st.column_config.NumberColumn(format="%.1f"),
        "predicted wait ms": st.column_config.NumberColumn(format="%.2f",
                                                           help="empty: saturated and unbounded, or not modelled"),
        "predicted rejected": st.column_config.NumberColumn(format="percent", help="turned away by a full queue"),
        "accuracy": st.column_config.TextColumn(width="medium", help="exact for the model the simulation runs, "
                                                "or within a stated band (measured against long simulations)"),
        "hold ms": st.column_config.NumberColumn(format="%.2f", help="own service time plus calls downstream")})
    warnings = [f.message for f in analysis.findings if f.level == "warning"]
    notes = [f.message for f in analysis.findings if f.level != "warning"]
    if warnings:
        st.warning("**What the analysis noticed**\n\n" + "\n".join(f"- {m}" for m in warnings),
                   icon=":material/lightbulb:")
    if notes:
        st.info("\n".join(f"- {m}" for m in notes), icon=":material/info:")


# ── the page ─────────────────────────────────────────────────────────────────

def _apply_canvas(event: canvas.CanvasEvent | None) -> None:
    """Take in what the player did on the canvas; rerun when the forms must show something else.

    The canvas is drawn after the forms, so that when it is pushed a new picture, the forms'
    new state has reached the browser first (the canvas answers a push with a rerun, which
    carries the browser's widget state). A selection made on the canvas is applied to the
    forms' widgets at the start of the next run, before they are drawn.
    """
    if event is None:
        return
    ss = st.session_state
    data = state.design()
    # a node reported where it was drawn has not moved (a shared design has no layout until one is dragged)
    moved = {k: v for k, v in event.positions.items() if state.layout().get(k, canvas.UNPLACED) != v}
    if moved:
        state.update(layout={**state.layout(), **moved})
    existing = {(e.get("from"), e.get("to")) for e in data.get("edges") or [] if isinstance(e, dict)}
    added = [(s, t) for s, t in dict.fromkeys(event.connections)
             if (s, t) not in existing and s in data.get("nodes", {}) and t in data.get("nodes", {})]
    pending: dict[str, Any] = {}  # widget state to set before the widgets are drawn again
    if added:
        for s, t in added:
            data = edit.add_edge(data, s, t)
        state.update(data, structural=True)
        pending = {"sel_edge": len(data["edges"]) - 1, "inspector": "Call"}
    elif event.selected_node and (ss.get("sel_node"), ss.get("inspector")) != (event.selected_node, "Node"):
        pending = {"sel_node": event.selected_node, "inspector": "Node"}
    elif event.selected_edge is not None and event.selected_edge < len(data.get("edges") or []) \
            and (ss.get("sel_edge"), ss.get("inspector")) != (event.selected_edge, "Call"):
        pending = {"sel_edge": event.selected_edge, "inspector": "Call"}
    rerun = bool(pending)
    if pending:
        ss["canvas_pending"] = pending
    if event.out_of_sync and not rerun:  # the canvas missed a push: push again, a bounded number of times
        ss["canvas_resyncs"] = ss.get("canvas_resyncs", 0) + 1
        rerun = ss["canvas_resyncs"] <= 3
    elif not event.out_of_sync:
        ss["canvas_resyncs"] = 0
    if rerun:
        st.rerun()


def page() -> None:
    st.session_state.update(st.session_state.pop("canvas_pending", {}))
    widgets.show_flash("build")
    data = state.design()
    scenario, problems = edit.validate(data)  # once per run: the forms, the analysis and the bar share it
    analysis = state.analyse_cached(scenario) if scenario is not None else None
    text = edit.to_yaml(data)
    st.title("Build", anchor=False)
    design_bar_ui(data, text, scenario is not None)
    cid = state.challenge_id()
    allowed = show_challenge(cid, scenario) if cid else None
    palette_ui(allowed)
    left, right = st.columns([3, 2], gap="medium")
    with right:  # the forms first: see _apply_canvas
        mode = st.radio("Edit", ["Node", "Call", "Workload"], key="inspector", horizontal=True,
                        label_visibility="collapsed")
        with st.container(border=True):
            if mode == "Call":
                forms.edge_ui(data, problems)
            elif mode == "Workload":
                forms.workload_ui(data, problems)
            else:
                forms.node_ui(data, problems)
    with left:
        event = canvas.canvas_ui(data, state.layout(), analysis, key=state.canvas_key())
        st.caption("Drag nodes to place them; drag from a node's right handle to another node's left handle to "
                   "connect them; click a node or a call to edit it. Colours show predicted utilization; a red "
                   "border marks the node that saturates first. ▶ marks the entry.")
    _apply_canvas(event)
    if data.get("nodes"):
        widgets.show_problems(problems)
    show_analysis(analysis, scenario)
    yaml_ui(text)


if __name__ == "__main__":
    page()
