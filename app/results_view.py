"""Showing a run: headline figures, charts over time, the diagram, failures, traces, theory.

Every function here takes :class:`sandbox.Results` (and the scenario) and
draws; none computes anything the library does not already give. Each view is
drawn on its own (:func:`guarded`): one that fails shows an error in its place,
and the others are drawn as usual.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import altair as alt
import pandas as pd
import streamlit as st

import sandbox

from app import widgets
from app.text import md


def _ms(x: float) -> str:
    if not math.isfinite(x):
        return "—"
    return f"{x / 1000:,.2f} s" if x >= 10_000 else f"{x:,.1f} ms"


def error_rate(r: sandbox.Results) -> float:
    """Share of arrived requests that were rejected or failed."""
    return (r.requests.rejected + r.requests.failed) / r.requests.arrived if r.requests.arrived else 0.0


def show_headline(r: sandbox.Results) -> None:
    """p50, p99, throughput, error rate, goodput, cost per hour."""
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("p50 latency", _ms(r.latency_ms.p50), border=True)
    top[1].metric("p99 latency", _ms(r.latency_ms.p99), border=True)
    top[2].metric("Throughput", f"{r.throughput_rps:,.1f} rps", border=True)
    bottom[0].metric("Error rate", f"{error_rate(r):.2%}", border=True,
                     help=f"rejected {r.requests.rejected:,} and failed {r.requests.failed:,} of "
                          f"{r.requests.arrived:,}")
    bottom[1].metric("Goodput", f"{r.goodput:.2%}", border=True,
                     help=f"share of arrivals completed within {r.slo_ms:g} ms" if r.slo_ms
                     else "share of arrivals completed")
    bottom[2].metric("Cost per hour", f"${r.cost_per_hour:,.2f}", border=True,
                     help=f"${r.cost_per_million:,.2f} per million completed requests" if r.cost_per_million else None)
    st.caption(f"{r.requests.arrived:,} requests arrived after the warm-up: {r.requests.completed:,} completed, "
               f"{r.requests.rejected:,} rejected, {r.requests.failed:,} failed, {r.requests.in_flight:,} still in "
               f"flight at the end. Seed {r.seed}, {r.duration_s:g} simulated s, {r.engine.wall_s:.1f} s to run.")


def show_bottleneck(r: sandbox.Results) -> None:
    """The node that limits the system, with its sentence."""
    if r.bottleneck.node:
        st.info(f"**Bottleneck: {r.bottleneck.node}.** {r.bottleneck.why}.",
                icon=":material/troubleshoot:")
    else:
        st.info(r.bottleneck.why, icon=":material/troubleshoot:")


def show_latency(r: sandbox.Results) -> None:
    """Latency percentiles over time, and the distribution."""
    series = pd.DataFrame(r.series)
    cols = [c for c in ("p50_ms", "p90_ms", "p95_ms", "p99_ms") if c in series]
    names = ", ".join(c.removesuffix("_ms") for c in cols)
    st.markdown(f"**Latency over time**: {names} of the requests completed in each simulated second")
    if series.empty or not cols:
        st.caption("No completed requests to chart.")
    else:
        frame = series.set_index("t_s")[cols].rename(columns=lambda c: c.removesuffix("_ms"))
        st.line_chart(frame, x_label="simulated time (s)", y_label=f"{names} latency (ms)", height=260)
    st.markdown("**Latency distribution** (completed requests, log scale)")
    hist = pd.DataFrame(r.latency_histogram, columns=["low_ms", "high_ms", "count"])
    if hist.empty:
        st.caption("No completed requests.")
        return
    marks = pd.DataFrame({"ms": [r.latency_ms.p50, r.latency_ms.p99], "label": ["p50", "p99"]})
    hist["zero"] = 0
    bars = alt.Chart(hist).mark_rect(color="#4c78a8").encode(
        x=alt.X("low_ms:Q", scale=alt.Scale(type="log"), title="latency (ms)"), x2="high_ms:Q",
        y=alt.Y("count:Q", title="requests"), y2="zero:Q",
        tooltip=[alt.Tooltip("low_ms:Q", format=".2f"), alt.Tooltip("high_ms:Q", format=".2f"), "count:Q"])
    rules = alt.Chart(marks).mark_rule(color="#c53030", strokeDash=[4, 3]).encode(x="ms:Q", tooltip=["label", "ms"])
    text = alt.Chart(marks).mark_text(align="left", dx=4, dy=-90, color="#c53030").encode(x="ms:Q", text="label")
    st.altair_chart(bars + rules + text, height=260)


def show_nodes_over_time(r: sandbox.Results) -> None:
    """Utilization and queue length per node, each simulated second."""
    frame = r.series_frame()
    frame = frame[frame["node"] != "*"]
    if frame.empty or "utilization" not in frame:
        st.caption("No per-node series.")
        return
    left, right = st.columns(2)
    with left:
        st.markdown("**Utilization per node**")
        util = frame.pivot_table(index="t_s", columns="node", values="utilization")
        st.line_chart(util, x_label="simulated time (s)", y_label="busy share", height=260)
    with right:
        st.markdown("**Queue length per node** (mean waiting, each second)")
        queue = frame.pivot_table(index="t_s", columns="node", values="queue_mean")
        st.line_chart(queue, x_label="simulated time (s)", y_label="calls waiting", height=260)
    table = r.nodes_frame()
    keep = [c for c in ("kind", "replicas", "capacity", "arrived", "completed", "rejected", "utilization",
                        "peak_utilization", "wait_ms.mean", "wait_ms.p99", "service_ms.mean", "response_ms.p99",
                        "queue_length.mean", "queue_length.max", "cost_per_hour") if c in table]
    st.dataframe(table[keep], column_config={
        "utilization": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        "peak_utilization": st.column_config.NumberColumn("peak (5 s)", format="percent"),
        "wait_ms.mean": st.column_config.NumberColumn("wait ms", format="%.2f"),
        "wait_ms.p99": st.column_config.NumberColumn("wait p99 ms", format="%.2f"),
        "service_ms.mean": st.column_config.NumberColumn("service ms", format="%.2f"),
        "response_ms.p99": st.column_config.NumberColumn("response p99 ms", format="%.2f"),
        "queue_length.mean": st.column_config.NumberColumn("queue mean", format="%.2f"),
        "queue_length.max": st.column_config.NumberColumn("queue max", format="%d"),
        "cost_per_hour": st.column_config.NumberColumn("$/h", format="%.2f")})


def show_diagram(scenario: sandbox.Scenario, r: sandbox.Results) -> None:
    """The architecture coloured by utilization, the bottleneck marked, with its sentence."""
    if not widgets.diagram_chart(lambda: sandbox.to_dot(scenario, r)):
        return
    st.caption("Green is idle, yellow busy, red saturated; the bottleneck has a thick red border: "
               f"{r.bottleneck.why}.")


def show_failures(r: sandbox.Results) -> None:
    """Why requests did not complete, and what each call's resilience settings did."""
    if not r.causes:
        st.success("Every request that arrived after the warm-up completed or was still in flight at the end.",
                   icon=":material/check_circle:")
    else:
        rows = [{"status": c.status, "node": c.node, "reason": c.reason, "requests": c.count, "share": c.share}
                for c in r.causes]
        st.dataframe(rows, hide_index=True, column_config={
            "share": st.column_config.ProgressColumn("share of arrivals", format="percent", min_value=0,
                                                     max_value=max(c.share for c in r.causes))})
    busy = [e for e in r.edges if e.attempts != e.calls or e.failures or e.short_circuited or e.hedges]
    if busy:
        st.markdown("**Calls with retries, timeouts, breakers or hedges**")
        st.dataframe([{"call": f"{e.source} → {e.target}", "calls": e.calls, "attempts": e.attempts,
                       "amplification": e.amplification, "timeouts": e.failures.get("timeout", 0),
                       "retries": e.retries, "wasted calls": e.wasted_calls, "short-circuited": e.short_circuited,
                       "hedges won": e.hedge_wins} for e in busy], hide_index=True)


def show_traces(r: sandbox.Results, most: int = 8) -> None:
    """A waterfall of sampled requests: one row per hop, its wait (grey) and its time in the node (colour)."""
    spans = r.traces_frame()
    if spans.empty:
        st.caption("No traced requests.")
        return
    ids = list(dict.fromkeys(spans["request_id"]))[:most]
    spans = spans[spans["request_id"].isin(ids)].reset_index(drop=True)
    spans["hop"] = spans.groupby("request_id").cumcount() + 1
    spans["row"] = (spans["request_id"].astype(str) + " · " + spans["hop"].astype(str) + ". " + spans["node"])
    spans["request"] = spans["request_id"].astype(str) + " (" + spans["status"] + ")"
    order = list(spans["row"])
    ends = spans.groupby("request_id")["end_ms"].max()
    skewed = ends.max() > 10 * max(ends.median(), 0.001)  # a few very long ones (messages behind a queue)
    scale = alt.Scale(type="symlog", constant=1) if skewed else alt.Scale()
    title = "ms since the request arrived" + (" (symmetric log scale)" if skewed else "")
    base = alt.Chart(spans).encode(
        y=alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
        x=alt.X("arrive_ms:Q", title=title, scale=scale))
    wait = base.mark_bar(color="#cbd2dc", height=12).encode(x2="start_ms:Q")
    work = base.mark_bar(height=12).encode(
        x="start_ms:Q", x2="end_ms:Q", color=alt.Color("node:N", title="node"),
        tooltip=["request", "node", "replica", alt.Tooltip("arrive_ms:Q", format=".2f"),
                 alt.Tooltip("start_ms:Q", format=".2f"), alt.Tooltip("end_ms:Q", format=".2f"), "outcome"])
    st.altair_chart(wait + work, height=max(200, 22 * len(order)))
    st.caption(f"The first {len(ids)} of {len(r.traces)} sampled requests, one row per hop (request id · hop. node): "
               "grey is waiting for a worker (or, behind a queue, for a consumer), colour is time in the node, its "
               "own work and the calls it waits on.")


def show_theory(r: sandbox.Results) -> None:
    """Theory beside simulation per node, flagged where they disagree."""
    if not r.theory:
        st.caption("No node with workers to compare.")
        return
    rows = [{"node": c.node, "agrees": "— not modelled" if c.agrees is None else "✓" if c.agrees else "✗ differs",
             "theory": c.accuracy,
             "predicted utilization": c.predicted_utilization if math.isfinite(c.predicted_utilization) else None,
             "simulated utilization": c.simulated_utilization,
             "predicted wait ms": c.predicted_wait_ms, "simulated wait ms": c.simulated_wait_ms,
             "predicted rejected": c.predicted_rejected, "simulated rejected": c.simulated_rejected, "note": c.note}
            for c in r.theory]
    st.dataframe(rows, hide_index=True, column_config={
        "predicted utilization": st.column_config.NumberColumn(format="percent"),
        "simulated utilization": st.column_config.NumberColumn(format="percent"),
        "predicted wait ms": st.column_config.NumberColumn(format="%.2f", help="empty: saturated"),
        "simulated wait ms": st.column_config.NumberColumn(format="%.2f"),
        "predicted rejected": st.column_config.NumberColumn(format="percent"),
        "simulated rejected": st.column_config.NumberColumn(format="percent"),
        "theory": st.column_config.TextColumn(help="exact: the formula is exact for this model; approximate: "
                                                   "within its stated band (bench/bench_analysis.py)"),
        "note": st.column_config.TextColumn(width="large")})
    st.caption("Theory: traffic equations, then M/M/c waits scaled for the service-time spread (Allen-Cunneen).")


def guarded(view: Callable[..., None], *args: Any) -> None:
    """Draw one view; if it fails, say so in its place instead of stopping the page."""
    try:
        view(*args)
    except Exception as exc:  # noqa: BLE001 - any failure of one view must leave the others drawn
        st.error(f"This view could not be drawn: {md(type(exc).__name__)}: {md(exc, limit=300)}",
                 icon=":material/error:")


def show_results(scenario: sandbox.Scenario, r: sandbox.Results) -> None:
    """Everything about one run, each view on its own."""
    guarded(show_headline, r)
    guarded(show_bottleneck, r)
    views: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = [("Latency", show_latency, (r,)), ("Nodes over time", show_nodes_over_time, (r,)),
             ("Architecture", show_diagram, (scenario, r)), ("Failures", show_failures, (r,)),
             ("Traces", show_traces, (r,)), ("Theory vs simulation", show_theory, (r,))]
    for tab, (_, view, args) in zip(st.tabs([label for label, _, _ in views]), views):
        with tab:
            guarded(view, *args)
