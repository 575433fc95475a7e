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
from sandbox.results import ClassResult

from app import widgets
from app.pipeline_view import show_pipelines
from app.rollout_view import show_rollouts
from app.text import md
from app.zones_view import show_zones


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


def _times(x: float) -> str:
    """A ratio as people say it: 0.14×, 1.02×, 12×, 1,250×."""
    return f"{x:.2f}×" if x < 10 else f"{x:,.0f}×"


def _lost(c: ClassResult) -> float:
    """Share of a class's arrivals that were rejected (shed, full queue) or failed (expired, errors, timeouts)."""
    q = c.requests
    return (q.rejected + q.failed) / q.arrived if q.arrived else 0.0


def show_class_headline(r: sandbox.Results) -> None:
    """Per request class: its p99 against its SLO, the share of it lost, its error budget's burn rate.

    Nothing at all for a run without classes.
    """
    if not r.classes:
        return
    for c in r.classes.values():
        name, q, budget = md(c.name), c.requests, c.error_budget
        about = [f"{c.share:.0%} of arrivals", f"priority {c.priority}"]
        if c.slo_ms:
            about.append(f"SLO {c.slo_ms:g} ms")
        if budget.target is not None:
            about.append(f"target {budget.target:.4g}")
        st.markdown(f"**{name}** · " + " · ".join(about))
        cols = st.columns(3)
        p99 = c.latency_ms.p99
        over = c.slo_ms is not None and math.isfinite(p99) and p99 > c.slo_ms
        cols[0].metric(f"{name} · p99 latency", _ms(p99), border=True,
                       delta=_times(p99 / c.slo_ms) + " its SLO" if c.slo_ms and math.isfinite(p99) else None,
                       delta_color="red" if over else "green", delta_arrow="up" if over else "down",
                       help=f"the slowest 1% of its completed requests; goodput {c.goodput:.2%} (completed within "
                            f"{c.slo_ms:g} ms)" if c.slo_ms else "the slowest 1% of its completed requests")
        causes = "; ".join(f"{k.count:,} {k.status} at {k.node}: {k.reason}" for k in c.causes[:3])
        cols[1].metric(f"{name} · lost", f"{_lost(c):.2%}", border=True,
                       help=f"rejected {q.rejected:,} and failed {q.failed:,} of {q.arrived:,} arrived"
                            + (f" ({md(causes, limit=300)})" if causes else ""))
        if budget.burn_rate is None:
            cols[2].metric(f"{name} · error budget burn", "no budget", border=True,
                           help="give the class an SLO target (0.999) in the workload's classes for an error budget")
        else:
            spent = budget.exhausted_at_s is not None
            cols[2].metric(f"{name} · error budget burn", f"{budget.burn_rate:,.3g}×", border=True,
                           delta=f"budget spent by {budget.exhausted_at_s:g} s" if spent else "within budget",
                           delta_color="red" if spent else "green", delta_arrow="off",
                           help=f"bad share {budget.bad_share:.3%} / allowed {1 - (budget.target or 0):.3%} (1 - target): "
                                "1 spends exactly the budget over the run. Bad: failed, refused or slower than "
                                f"the SLO; {budget.bad:,} of {q.arrived:,}, the budget allows "
                                f"{budget.allowed or 0:,.1f}.")


def _class_series(r: sandbox.Results, column: str) -> pd.DataFrame:
    """One row per (class, point) of a class series column (empty without it)."""
    frames = []
    for c in r.classes.values():
        if not (c.series.get(column) and c.series.get("t_s")):
            continue
        frame = pd.DataFrame({"t_s": c.series["t_s"], column: c.series[column]}).assign(**{"class": c.name})
        if column == "p99_ms" and len(c.series.get("throughput_rps") or ()) == len(frame):
            frame = frame[pd.Series(c.series["throughput_rps"]) > 0]  # no request completed: no p99 to show
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["t_s", column, "class"])


def show_classes(r: sandbox.Results) -> None:
    """Per request class: p99 over time against its SLO, the error budget's burn rate, per node, and why lost."""
    names = list(r.classes)
    color = alt.Color("class:N", title="class", scale=alt.Scale(domain=names, scheme="tableau10"))
    time_axis = alt.X("t_s:Q", title="simulated time (s)")
    st.markdown("**p99 latency per class** each simulated second; dashed: the class's SLO")
    p99 = _class_series(r, "p99_ms")
    if p99.empty:
        st.caption("No completed requests to chart.")
    else:
        lines = alt.Chart(p99).mark_line().encode(
            x=time_axis, y=alt.Y("p99_ms:Q", title="p99 latency (ms)"), color=color,
            tooltip=["class", "t_s", alt.Tooltip("p99_ms:Q", format=",.1f")])
        slos = pd.DataFrame([{"class": c.name, "slo_ms": c.slo_ms} for c in r.classes.values() if c.slo_ms])
        chart = lines
        if not slos.empty:
            chart = lines + alt.Chart(slos).mark_rule(strokeDash=[6, 4], size=2).encode(
                y="slo_ms:Q", color=color, tooltip=["class", alt.Tooltip("slo_ms:Q", title="SLO ms")])
        st.altair_chart(chart, height=280)
    st.markdown("**Error budget burn rate per class** each simulated second; at 1 (red) a class spends exactly "
                "its budget")
    burn = _class_series(r, "burn_rate")
    if burn.empty:
        st.caption("No class has an SLO target, so none has an error budget to burn: give a class an SLO target "
                   "(0.999) in the workload's classes.")
    else:
        top = float(burn["burn_rate"].max())
        skewed = top > 20  # a burn of hundreds would flatten the budget line at 1 onto the axis
        scale = alt.Scale(type="symlog", constant=1) if skewed else alt.Scale()
        ticks = [0] + [10.0 ** k for k in range(0, int(math.log10(top)) + 2)] if skewed else None
        budgeted = list(dict.fromkeys(burn["class"]))  # the legend names only the classes with a line here
        lines = alt.Chart(burn).mark_line().encode(
            x=time_axis, y=alt.Y("burn_rate:Q", scale=scale, axis=alt.Axis(values=ticks, labelOverlap=False) if ticks else alt.Axis(),
                                 title="burn rate (× budget)" + (", log scale" if skewed else "")),
            color=alt.Color("class:N", title="class", scale=alt.Scale(domain=names, scheme="tableau10"),
                            legend=alt.Legend(values=budgeted)),
            tooltip=["class", "t_s", alt.Tooltip("burn_rate:Q", format=",.3g")])
        line = pd.DataFrame({"burn_rate": [1.0], "label": ["budget"]})
        rule = alt.Chart(line).mark_rule(color="#c53030", strokeDash=[4, 3], size=2).encode(
            y="burn_rate:Q", tooltip=[alt.Tooltip("label:N", title="burn rate 1")])
        text = alt.Chart(line).mark_text(align="left", dx=4, dy=-7, color="#c53030").encode(
            x=alt.value(0), y="burn_rate:Q", text="label:N")
        st.altair_chart(lines + rule + text, height=260)
        for c in r.classes.values():
            b = c.error_budget
            if b.burn_rate is None:
                continue
            when = (f"the whole run's budget ({b.allowed or 0:,.1f} bad requests) was spent by "
                    f"{b.exhausted_at_s:g} s" if b.exhausted_at_s is not None else "the budget lasted the run")
            st.caption(f"{md(c.name)}: {b.bad:,} bad of {c.requests.arrived:,}, burn rate {b.burn_rate:,.3g} over "
                       f"the run; {when}.")
    rows = [{"node": n.name, "class": k, "arrived": v.get("arrived", 0), "completed": v.get("completed", 0),
             "rejected": v.get("rejected", 0), "failed": v.get("failed", 0),
             "wait ms": (v.get("wait_ms") or {}).get("mean"), "wait p99 ms": (v.get("wait_ms") or {}).get("p99")}
            for n in r.nodes.values() for k, v in n.classes.items() if v.get("arrived")]
    if rows:
        st.markdown("**Per node and class**")
        st.dataframe(rows, hide_index=True, column_config={
            "wait ms": st.column_config.NumberColumn(format="%.2f", help="mean wait for a worker"),
            "wait p99 ms": st.column_config.NumberColumn(format="%.2f")})
    lost = [{"class": c.name, "status": k.status, "node": k.node, "reason": k.reason, "requests": k.count,
             "share": k.share} for c in r.classes.values() for k in c.causes]
    if lost:
        st.markdown("**Why requests of each class were lost**")
        st.dataframe(lost, hide_index=True, column_config={
            "share": st.column_config.ProgressColumn("share of the class's arrivals", format="percent",
                                                     min_value=0, max_value=1)})


def show_bottleneck(r: sandbox.Results) -> None:
    """The node that limits the system, with its sentence."""
    if r.bottleneck.node:
        st.info(f"**Bottleneck: {r.bottleneck.node}.** {r.bottleneck.why.rstrip('.')}.",
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
    class_of = {t.request_id: t.request_class for t in r.traces if t.request_class}  # with workload classes
    who = spans["request_id"].astype(str) + (spans["request_id"].map(lambda i: f" {class_of[i]}" if i in class_of
                                                                     else "") if class_of else "")
    spans["row"] = who + " · " + spans["hop"].astype(str) + ". " + spans["node"]
    spans["request"] = who + " (" + spans["status"] + ")"
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
    st.caption(f"The first {len(ids)} of {len(r.traces)} sampled requests, one row per hop (request id"
               + (" and class" if class_of else "") + " · hop. node): "
               "grey is waiting for a worker (or, behind a queue, for a consumer), colour is time in the node, its "
               "own work and the calls it waits on.")


def show_theory(r: sandbox.Results) -> None:
    """Theory beside simulation per node, flagged where they disagree."""
    if not r.theory:
        st.caption("No node with workers to compare.")
        return
    modelled = {c.node: c.accuracy != "none" for c in r.theory}  # a wait theory does not model is no prediction
    rows = [{"node": c.node, "agrees": _agrees(c.agrees), "theory": c.accuracy,
             "predicted utilization": c.predicted_utilization if math.isfinite(c.predicted_utilization) else None,
             "simulated utilization": c.simulated_utilization,
             "predicted wait ms": c.predicted_wait_ms if modelled[c.node] else None,
             "simulated wait ms": c.simulated_wait_ms,
             "predicted rejected": c.predicted_rejected if modelled[c.node] else None,
             "simulated rejected": c.simulated_rejected, "note": c.note}
            for c in r.theory]
    st.dataframe(rows, hide_index=True, column_config={
        "predicted utilization": st.column_config.NumberColumn(format="percent"),
        "simulated utilization": st.column_config.NumberColumn(format="percent"),
        "predicted wait ms": st.column_config.NumberColumn(format="%.2f", help="empty: saturated, or not modelled"),
        "simulated wait ms": st.column_config.NumberColumn(format="%.2f"),
        "predicted rejected": st.column_config.NumberColumn(format="percent"),
        "simulated rejected": st.column_config.NumberColumn(format="percent"),
        "theory": st.column_config.TextColumn(help="exact: the formula is exact for this model; approximate: "
                                                   "within its stated band (bench/bench_analysis.py)"),
        "note": st.column_config.TextColumn(width="large")})
    st.caption("Theory: traffic equations, then each node's wait by the most exact method it allows (M/M/c/K, "
               "Pollaczek-Khinchine, else M/M/c scaled for the service-time spread: Allen-Cunneen); with request "
               "classes, a class waits the shared wait at a first-come node, by Cobham's formula at one serving by "
               "priority, and on its own workers behind a bulkhead.")
    by_class = [{"node": c.node, "class": k, "agrees": _agrees(v.agrees), "theory": v.accuracy,
                 "predicted share": v.predicted_share, "simulated share": v.simulated_share,
                 "predicted wait ms": v.predicted_wait_ms if v.accuracy != "none" else None,
                 "simulated wait ms": v.simulated_wait_ms, "note": v.note}
                for c in r.theory for k, v in (getattr(c, "classes", None) or {}).items()]
    if by_class:
        st.markdown("**Per class at each node**")
        st.dataframe(by_class, hide_index=True, column_config={
            "predicted share": st.column_config.NumberColumn(format="percent", help="of the node's arriving calls"),
            "simulated share": st.column_config.NumberColumn(format="percent"),
            "predicted wait ms": st.column_config.NumberColumn(
                format="%.2f", help="empty: the class's line grows without bound, or not modelled"),
            "simulated wait ms": st.column_config.NumberColumn(format="%.2f"),
            "note": st.column_config.TextColumn(width="large")})


def _agrees(agrees: bool | None) -> str:
    return "— not modelled" if agrees is None else "✓" if agrees else "✗ differs"


def guarded(view: Callable[..., None], *args: Any) -> None:
    """Draw one view; if it fails, say so in its place instead of stopping the page."""
    try:
        view(*args)
    except Exception as exc:  # noqa: BLE001 - any failure of one view must leave the others drawn
        st.error(f"This view could not be drawn: {md(type(exc).__name__)}: {md(exc, limit=300)}",
                 icon=":material/error:")


def show_caches(r: sandbox.Results) -> None:
    """Keyed caches: the hit ratio beside theory's, and over time (a cold start, a flush); sharded and
    replicated databases: each shard's load beside theory's, and the stale reads."""
    keyed = {n: node for n, node in r.nodes.items() if "hit_ratio" in node.keyed}
    for col, (name, node) in zip(st.columns(min(4, len(keyed))) if keyed else [], keyed.items()):
        k = node.keyed
        with col:
            st.metric(f"{name} · hit ratio", f"{k['hit_ratio']:.1%}",
                      delta=f"{k['hit_ratio'] - k['predicted_hit_ratio']:+.1%} vs theory", delta_color="off",
                      help=f"theory: {k['predicted_hit_ratio']:.1%} by {k['method']} ({k['accuracy']})")
            st.caption(f"{k['misses']:,} misses · {k['evictions']:,} evicted · {k['expirations']:,} expired · "
                       f"{k['coalesced']:,} coalesced · {k['flushes']:,} flushes · {k['entries']:,} entries at the end")
    series = {name: pd.Series(node.series.get("hit_ratio", []), index=node.series.get("t_s", []))
              for name, node in keyed.items() if node.series.get("hit_ratio")}
    if series:
        st.markdown("**Hit ratio over time** (each simulated second)")
        st.line_chart(pd.DataFrame(series), x_label="simulated time (s)", y_label="share of reads that hit",
                      height=260)
    for name, node in r.nodes.items():
        k = node.keyed
        if "shards" not in k:
            continue
        if "predicted_stale_share" in k:
            st.metric(f"{name} · stale reads", f"{k['stale_share']:.2%}",
                      delta=f"theory {k['predicted_stale_share']:.2%}", delta_color="off",
                      help=f"{k['stale_reads']:,} of {k['replica_reads']:,} reads on read replicas came before a "
                           "committed write to their key had reached the replica")
        if len(k["shards"]) > 1:
            st.markdown(f"**{md(name)}: busy share per shard** (theory: the popularity of each shard's keys)")
            frame = pd.DataFrame({"simulated": [sh["utilization"] for sh in k["shards"]],
                                  "theory": k["predicted_shard_utilization"]},
                                 index=[f"shard {sh['shard']}" for sh in k["shards"]])
            st.bar_chart(frame, stack=False, y_label="busy share", height=240)


def show_results(scenario: sandbox.Scenario, r: sandbox.Results) -> None:
    """Everything about one run, each view on its own."""
    guarded(show_headline, r)
    guarded(show_class_headline, r)
    guarded(show_bottleneck, r)
    views: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = [("Latency", show_latency, (r,)), ("Nodes over time", show_nodes_over_time, (r,)),
             ("Architecture", show_diagram, (scenario, r)), ("Failures", show_failures, (r,)),
             ("Traces", show_traces, (r,)), ("Theory vs simulation", show_theory, (r,))]
    if any(node.keyed for node in r.nodes.values()):
        views.insert(1, ("Keys", show_caches, (r,)))
    if r.placement:
        views.insert(1, ("Zones" if r.placement["zones"] else "Availability", show_zones, (r,)))
    if any(node.rollout for node in r.nodes.values()):
        views.insert(1, ("Rollout", show_rollouts, (r,)))
    if any(node.pipeline for node in r.nodes.values()):
        views.insert(1, ("Pipelines", show_pipelines, (r,)))
    if r.classes:
        views.insert(0, ("Classes", show_classes, (r,)))
    for tab, (_, view, args) in zip(st.tabs([label for label, _, _ in views]), views):
        with tab:
            guarded(view, *args)
