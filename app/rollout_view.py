"""A run's Rollout tab: a feature flag's share over time, each variant's error rate per look, and the
guardrails' decisions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import sandbox
from sandbox.report import rollout_line

from app.text import md

__all__ = ["show_rollouts"]


def show_rollouts(r: sandbox.Results) -> None:
    """Each feature flag: what happened in one sentence, the timeline, and the decision log."""
    for name, node in r.nodes.items():
        f = node.rollout
        if not f:
            continue
        (st.error if f["rolled_back"] else st.info)(md(rollout_line(name, f)), icon=":material/flag:")
        a, b, c = st.columns(3)
        a.metric("Exposed to the treatment", f"{f['exposed_requests']:,} requests",
                 help=f"{f['exposed_keys']:,} distinct keys (users); before any rollback")
        b.metric("Treatment error rate", f"{f['error_rate']['treatment']:.2%}",
                 delta=f"control {f['error_rate']['control']:.2%}", delta_color="off")
        c.metric("Time to detect", f"{f['time_to_detect_s']:g} s" if f["time_to_detect_s"] is not None else "no breach",
                 help="from the first exposure to the first breach of a guardrail")
        s = f.get("series") or {}
        if s.get("t_s"):
            frame = pd.DataFrame({
                "treatment share": s["share"],
                "control error rate": [e / n if n else None for e, n in zip(s["control_failed"], s["control_calls"])],
                "treatment error rate": [e / n if n else None
                                         for e, n in zip(s["treatment_failed"], s["treatment_calls"])],
            }, index=s["t_s"])
            st.markdown(f"**{md(name)}: the rollout over time** (each look, every {s['t_s'][0]:g} s)")
            st.line_chart(frame, x_label="simulated time (s)", y_label="share", height=260)
        if f["decisions"]:
            st.markdown("**Guardrail decisions** (each look both variants had enough calls)")
            st.dataframe(pd.DataFrame(f["decisions"]), hide_index=True)
