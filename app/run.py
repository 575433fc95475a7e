"""Run and results: simulate the current design under a chosen workload, and see what happened.

The workload controls (rate, load pattern, duration, seed) sit in a form, so a
run starts only when asked. A run is one call to the library, cached by the
scenario's YAML text and the seed; the session keeps only which run is shown,
and the store keeps the history.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import streamlit as st

import sandbox
from sandbox import edit

from app import results_view, state, widgets
from app.text import md


@dataclass(frozen=True)
class RunRequest:
    """What the player asked to run."""
    rate: float | None
    pattern: str
    peak: float
    duration_s: float | None
    seed: int


def run_form_ui(data: dict[str, Any]) -> RunRequest | None:
    """The workload controls; a RunRequest when the player presses Run."""
    w = data.get("workload") or {}
    closed = w.get("users") is not None
    tag = hashlib.sha1(json.dumps(w, sort_keys=True, default=str).encode()).hexdigest()[:8]
    k = f"run.{state.design_id()}.{tag}"  # fresh controls when the design's workload changes
    with st.form("run_form"):
        c = st.columns([1.2, 1.4, 0.9, 1, 0.8])
        rate: float
        if closed:
            rate = c[0].number_input("Users", value=int(w.get("users") or 1), step=1, key=f"{k}.rate",
                                     help="closed loop: users who wait for an answer, then think")
        else:
            rate = c[0].number_input("Rate (requests/s)", value=float(w.get("rate_rps") or 100.0), step=10.0,
                                     format="%g", key=f"{k}.rate")
        patterns = list(edit.PATTERNS)
        pattern = c[1].selectbox("Load pattern", patterns, key=f"{k}.pattern", disabled=closed,
                                 help="\n".join(f"- **{p}**: {d}" for p, d in edit.PATTERNS.items()))
        peak = c[2].number_input("Peak ×", value=3.0, step=0.5, format="%g", key=f"{k}.peak", disabled=closed,
                                 help="how far spike, step, ramp and diurnal patterns rise above the rate")
        duration = c[3].number_input("Duration (s)", value=float(w.get("duration_s") or 60), step=10.0, format="%g",
                                     key=f"{k}.duration", help="simulated seconds")
        seed = c[4].number_input("Seed", value=int(data.get("seed") or 0), min_value=0, step=1, key=f"{k}.seed",
                                 help="the same seed gives the same run, byte for byte")
        submitted = st.form_submit_button("Run simulation", type="primary", icon=":material/play_arrow:")
    lim = state.limits()
    st.caption(f"Each run on this server may simulate about {lim.max_requests:,} requests and {lim.max_nodes} nodes, "
               f"and take {lim.max_wall_s:g} s of wall time.")
    if not submitted:
        return None
    return RunRequest(rate, "as designed" if closed else pattern, float(peak), duration, int(seed))


def _summary(r: sandbox.Results, req: RunRequest) -> dict[str, Any]:
    return {"rate": req.rate, "pattern": req.pattern, "duration_s": r.duration_s,
            "p50_ms": r.latency_ms.p50, "p99_ms": r.latency_ms.p99, "throughput_rps": r.throughput_rps,
            "error_rate": results_view.error_rate(r), "goodput": r.goodput, "cost_per_hour": r.cost_per_hour}


def _results(scenario_yaml: str, seed: int) -> sandbox.Results:
    bar = widgets.ProgressBar("Simulating")
    try:
        return state.simulate_cached(scenario_yaml, seed, progress=bar)
    finally:
        bar.close()


def run(data: dict[str, Any], req: RunRequest) -> None:
    """Run the design under the requested workload and make it the run shown."""
    run_data = edit.with_load(data, rate=req.rate, duration_s=req.duration_s, pattern=req.pattern, peak=req.peak)
    scenario, problems = edit.validate(run_data)
    if scenario is None:
        st.error("These run settings make the design invalid:\n\n"
                 + widgets.problem_lines([(p.replace("workload.", ""), r) for p, r in problems]),
                 icon=":material/error:")
        return
    text = scenario.to_yaml()
    try:
        results = _results(text, req.seed)
    except sandbox.SimulationError as exc:
        st.error(f"**The run was stopped: {md(exc)}.** Nothing was recorded; the results below, if any, are from an "
                 "earlier run.", icon=":material/timer_off:")
        return
    st.session_state["run"] = {"yaml": text, "seed": req.seed, "design": edit.to_yaml(data)}
    not_kept = state.record_run(str(data.get("name") or "Untitled design"), text, req.seed, _summary(results, req))
    if not_kept:
        st.warning(f"This run is shown but not kept in the history: {md(not_kept)}.", icon=":material/history:")


def show_run(data: dict[str, Any]) -> None:
    """The run shown: the last one asked for, else this design's latest from the history."""
    slot = st.session_state.get("run")
    if slot is None:
        saved = state.design_id()
        last = state.store().runs(state.workspace(), limit=1, design_id=saved) if saved is not None else []
        if not last:
            st.info("Choose the workload above and press **Run simulation**.", icon=":material/play_circle:")
            return
        slot = {"yaml": last[0].scenario, "seed": last[0].seed, "design": None}
        st.session_state["run"] = slot
    try:
        scenario = sandbox.loads(slot["yaml"], source="<run>")
        results = _results(slot["yaml"], slot["seed"])
    except sandbox.SandboxError as exc:
        st.error(f"The last run cannot be shown again: {md(exc)}", icon=":material/error:")
        return
    if slot.get("design") is not None and slot["design"] != edit.to_yaml(data):
        st.caption("The design has changed since this run; run it again to see the effect.")
    results_view.show_results(scenario, results)


def show_history() -> None:
    """This workspace's recent runs."""
    runs = state.store().runs(state.workspace(), limit=20)
    if not runs:
        return
    with st.expander(f"Run history ({len(runs)} most recent)", icon=":material/history:"):
        rows = [{"when": datetime.fromtimestamp(r.created).strftime("%d %b %H:%M:%S"), "design": r.name,
                 "seed": r.seed, "rate": r.summary.get("rate"), "pattern": r.summary.get("pattern"),
                 "duration s": r.summary.get("duration_s"), "p50 ms": r.summary.get("p50_ms"),
                 "p99 ms": r.summary.get("p99_ms"), "throughput rps": r.summary.get("throughput_rps"),
                 "error rate": r.summary.get("error_rate"), "goodput": r.summary.get("goodput"),
                 "$/h": r.summary.get("cost_per_hour")} for r in runs]
        st.dataframe(rows, hide_index=True, column_config={
            "p50 ms": st.column_config.NumberColumn(format="%.1f"),
            "p99 ms": st.column_config.NumberColumn(format="%.1f"),
            "throughput rps": st.column_config.NumberColumn(format="%.1f"),
            "error rate": st.column_config.NumberColumn(format="percent"),
            "goodput": st.column_config.NumberColumn(format="percent"),
            "$/h": st.column_config.NumberColumn(format="%.2f")})


def page() -> None:
    widgets.show_flash("run")
    data = state.design()
    st.title("Run and results", anchor=False)
    st.caption(f"Design: **{md(data.get('name') or 'Untitled design')}**")
    problems = edit.problems(data)
    if problems:
        widgets.show_problems(problems)
        st.page_link("app/build.py", label="Fix them on the Build page", icon=":material/construction:")
    else:
        request = run_form_ui(data)
        if request is not None:
            run(data, request)
        show_run(data)
    show_history()


if __name__ == "__main__":
    page()
