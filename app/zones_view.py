"""A run's Zones tab: availability over time, calls and refusals per zone, crossings and outages beside theory."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import sandbox
from sandbox.report import nines

__all__ = ["show_zones"]


def show_zones(r: sandbox.Results) -> None:
    """What placement did: availability (and over time), the calls that crossed zones, each outage and how soon
    the balancers noticed it, each with theory's figure beside it."""
    p = r.placement
    c = p["calls_between_placed"]
    a, b, d = st.columns(3)
    theory = p.get("predicted_availability")
    a.metric("Availability", f"{p['availability']:.2%}",
             delta=f"theory {theory:.2%}" if theory is not None else None, delta_color="off",
             help=f"the share of requests that completed: {nines(p['availability'])}; theory counts the zone "
                  "outages and random failures alone")
    if c["calls"]:
        b.metric("Calls across zones", f"{c['cross_zone_share']:.1%}",
                 delta=f"theory {c['predicted_cross_zone_share']:.1%}", delta_color="off",
                 help=f"of the {c['calls']:,} calls between two placed replicas; theory is the steady state "
                      "(an outage moves calls)")
        d.metric("Calls across regions", f"{c['cross_region_share']:.1%}",
                 delta=f"theory {c['predicted_cross_region_share']:.1%}", delta_color="off")
    flaky = p.get("random_failures", {})
    if flaky:
        st.markdown("**Random failures** (theory: a replica is up mtbf / (mtbf + mttr) of the time; the tier while "
                    "one is: 1 - (1 - a)^n)")
        st.dataframe(pd.DataFrame([{
            "node": n, "replicas": x["replicas"], "failures": x["failures"],
            "replica up": x["replica_availability"], "theory": x["predicted_replica_availability"],
            "tier up": x["tier_availability"], "tier theory": x["predicted_tier_availability"],
            "calls refused": x["refused"], "refused share": x["failed_share"],
            "share theory": x["predicted_failed_share"], "detected by": x["detected_by"]} for n, x in flaky.items()]),
            hide_index=True, column_config={k: st.column_config.NumberColumn(format="percent") for k in (
                "replica up", "theory", "tier up", "tier theory", "refused share", "share theory")})
    series = p.get("availability_series") or []
    if series:
        start = r.duration_s - r.measured_s
        st.markdown("**Availability over time** (of the requests arriving in each simulated second)")
        st.line_chart(pd.DataFrame({"completed": series}, index=[start + i for i in range(len(series))]),
                      x_label="simulated time (s)", y_label="share completed", height=240)
    rows = [{"zone": zone, "region": z["region"], "node": n, "replicas": f["replicas"], "calls": f["calls"],
             "failed": f["failed"], "refused: zone down": f["refused_zone_down"]}
            for zone, z in p["zones"].items() for n, f in z["nodes"].items()]
    if rows:
        st.markdown("**Per zone**")
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    outages = [{"zone": o["zone"], "from s": o["at_s"], "for s": o["for_s"], "node": o["node"],
                "calls refused": o["refused"],
                "theory": round(o["predicted_failed"]) if o["predicted_failed"] is not None else None,
                "detected by": o["detected_by"],
                "out after s": ", ".join(f"{x['balancer']}: " + (f"{x['detected_after_s']:.1f}"
                                                               if x["detected_after_s"] is not None else "never")
                                         for x in o["detections"]) or "no health checks",
                "back after s": ", ".join(f"{x['back_after_s']:.1f}" for x in o["detections"]
                                          if x["back_after_s"] is not None) or "-"}
               for o in p["outages"]]
    if outages:
        st.markdown("**Zone outages** (theory: the rate into the zone × how long calls keep failing there)")
        st.dataframe(pd.DataFrame(outages), hide_index=True)
