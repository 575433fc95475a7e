"""The Workload form's placement part: the network between zones and regions, and scheduled zone outages."""

from __future__ import annotations

from typing import Any

import streamlit as st

from sandbox import edit

from app import state
from app.widgets import Problems, number_field, select_field, show_field_problems

__all__ = ["placement_ui"]


def _zones_in(data: dict[str, Any]) -> list[str]:
    """Every zone some node names, in the order they first appear."""
    names: list[str] = []
    for node in (data.get("nodes") or {}).values():
        zones = node.get("zones") if isinstance(node, dict) else None
        for z in zones if isinstance(zones, list) else ():
            if isinstance(z, str) and z not in names:
                names.append(z)
    return names


def _add_outage(zone: str) -> None:
    data = state.design()
    faults = list(data.get("faults") or [])
    duration = float((data.get("workload") or {}).get("duration_s") or 60)
    faults.append({"zone": zone, "mode": "down", "at_s": round(duration / 4), "for_s": round(duration / 2)})
    state.update(edit.set_field(data, "faults", faults), structural=True)


def _remove_outage(i: int) -> None:
    data = state.design()
    faults = [f for j, f in enumerate(data.get("faults") or []) if j != i]
    state.update(edit.set_field(data, "faults", faults or None), structural=True)


def placement_ui(data: dict[str, Any], problems: Problems) -> None:
    """Delays between zones and regions, and zone outages (shown once a node has zones, or the design sets them)."""
    zones = _zones_in(data)
    given_faults, given_net = data.get("faults"), data.get("network")
    faults: list[Any] = given_faults if isinstance(given_faults, list) else []
    net: dict[str, Any] = given_net if isinstance(given_net, dict) else {}
    if not zones and not faults and not net:
        st.caption("Zones: give a node zones (in its form) to place its replicas; then the network's delays and "
                   "zone outages can be set here.")
        return
    with st.expander(f"Zones and network ({len(zones)} zones: {', '.join(zones) or 'none'})", expanded=bool(faults)):
        c1, c2 = st.columns(2)
        with c1:
            number_field("Cross-zone ms", "network.cross_zone_ms", net.get("cross_zone_ms", 0.0), problems,
                         step=0.5, help="one way, between two zones of one region (a call there and back: twice)")
        with c2:
            number_field("Cross-region ms", "network.cross_region_ms", net.get("cross_region_ms", 0.0), problems,
                         step=5.0, help="one way, between regions (a zone's region: its name before the last '-')")
        show_field_problems(problems, "network", prefix=True)
        for i, f in enumerate(faults):
            if not isinstance(f, dict):
                continue
            c1, c2, c3, c4 = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
            with c1:
                select_field(f"Outage {i + 1}: zone down", f"faults.{i}.zone", f.get("zone"),
                             list(dict.fromkeys([*zones, *([f["zone"]] if isinstance(f.get("zone"), str) else [])])),
                             problems, help="every replica placed in this zone is down")
            with c2:
                number_field("From s", f"faults.{i}.at_s", f.get("at_s"), problems)
            with c3:
                number_field("For s", f"faults.{i}.for_s", f.get("for_s"), problems)
            with c4:
                st.button("", key=f"remove_outage_{i}", icon=":material/delete:", on_click=_remove_outage, args=(i,),
                          help="remove this outage")
        show_field_problems(problems, "faults", prefix=True)
        if zones:
            st.button("Add a zone outage", icon=":material/cloud_off:", on_click=_add_outage, args=(zones[0],))
