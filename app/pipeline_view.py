"""A run's Pipelines tab: each stream's consumer groups (lag over time, per partition, freshness) and each topic's
subscriptions, beside theory's figures."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import sandbox

from app.text import md

__all__ = ["show_pipelines"]


def show_pipelines(r: sandbox.Results) -> None:
    """Streams and topics, each figure beside theory's."""
    for name, node in r.nodes.items():
        p = node.pipeline
        if not p:
            continue
        if "groups" in p:
            _stream(name, p)
        else:
            _topic(name, p)


def _stream(name: str, p: dict) -> None:
    st.markdown(f"**{md(name)}**: {p['partitions']} partitions, {p['retention_s']:g} s retention")
    groups = p["groups"]
    for col, (g, f) in zip(st.columns(min(4, len(groups))) if groups else [], groups.items()):
        theory = f.get("predicted_freshness_ms")
        with col:
            st.metric(f"{g} · freshness p99", _ms(f["freshness_ms"]["p99"]),
                      delta=(f"theory mean {_ms(theory)}" if theory is not None else
                             "theory: falls behind" if f.get("predicted_lag_growth_per_s", 0) > 0 else None),
                      delta_color="off",
                      help="the time from a message's production to the end of its processing; theory: each "
                           "partition an M/G/1 queue (Pollaczek-Khinchine)")
            st.caption(f"{f['consumed']:,} consumed · {sum(f['lag_at_end']):,} unread at the end · {f['expired']:,} "
                       f"expired · keeps up with {f.get('predicted_capacity_rps', 0):,.0f} a second in theory"
                       + (f" · {f['idle_consumers']} idle workers" if f.get("idle_consumers") else ""))
    lag = {g: pd.Series(f["series"]["lag_messages"], index=f["series"]["t_s"]) for g, f in groups.items()
           if f.get("series", {}).get("t_s")}
    if lag:
        st.markdown("**Lag over time** (messages each group has not read yet)")
        st.line_chart(pd.DataFrame(lag), x_label="simulated time (s)", y_label="messages behind", height=240)
    for g, f in groups.items():
        shares = f.get("predicted_partition_utilization") or []
        if len(f["lag_at_end"]) > 1:
            st.markdown(f"**{md(g)}: each partition** (theory: busy share from its keys' popularity; 100% and more "
                        "falls behind)")
            frame = pd.DataFrame({"unread at the end": f["lag_at_end"], "theory busy share": shares or None},
                                 index=[f"partition {i}" for i in range(len(f["lag_at_end"]))])
            st.dataframe(frame, column_config={"theory busy share": st.column_config.NumberColumn(format="percent")})


def _topic(name: str, p: dict) -> None:
    st.markdown(f"**{md(name)}**: every subscription gets every message")
    rows = [{"subscription": s, "delivered": f["delivered"], "dropped (buffer full)": f["dropped"],
             "failed": f["failed"], "backlog at the end": f["backlog_at_end"], "backlog max": f["backlog_max"],
             "age ms mean": round(f["age_ms"]["mean"], 1), "age ms p99": round(f["age_ms"]["p99"], 1),
             "consumers": f["consumers"], "theory busy": f.get("predicted_utilization")}
            for s, f in p["subscriptions"].items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True,
                 column_config={"theory busy": st.column_config.NumberColumn(format="percent")})


def _ms(x: float) -> str:
    return f"{x:,.0f} ms" if x < 10_000 else f"{x / 1000:,.1f} s"
