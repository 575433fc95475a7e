"""Zones in the app, with AppTest: a node's zones, a balancer's health checks and locality, the network and zone
outages in the Workload form, and the Zones tab of a run.

Each test has its own SQLite file (the `db` fixture); runs are a few simulated seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .test_app import with_design
from .test_app_classes import PLAIN_TABS, design, inspector, run, widget

ZONED: dict[str, Any] = {
    "name": "Zoned",
    "workload": {"entry": "lb", "rate_rps": 100, "duration_s": 12, "warmup_s": 1},
    "network": {"cross_zone_ms": 1.0},
    "faults": [{"zone": "us-a", "mode": "down", "at_s": 4, "for_s": 4}],
    "nodes": {"lb": {"kind": "load_balancer", "health_check": {"interval_s": 1, "unhealthy_after": 2}},
              "web": {"kind": "service", "replicas": 3, "workers": 8, "zones": ["us-a", "us-b", "us-c"],
                      "service_time": {"dist": "constant", "mean_ms": 5}}},
    "edges": [{"from": "lb", "to": "web"}],
}


def test_a_nodes_zones_are_typed_with_commas(db: Path) -> None:
    at = with_design(db, ZONED)
    at.selectbox(key="sel_node").set_value("web").run()
    at = inspector(at, "Node")
    widget(at, "text_input", "nodes.web.zones").set_value("us-a, us-b").run()
    assert design(at)["nodes"]["web"]["zones"] == ["us-a", "us-b"]
    widget(at, "text_input", "nodes.web.zones").set_value("us-a, us-a").run()
    assert "names a zone twice" in " ".join(str(e.value) for e in at.error)
    widget(at, "text_input", "nodes.web.zones").set_value("").run()
    # no zones left: the outage of us-a now names no zone, and the form says so
    assert "zones" not in design(at)["nodes"]["web"]
    assert "is not a zone of any node" in " ".join(str(e.value) for e in at.error)
    assert not at.exception


def test_the_balancer_form_sets_locality_and_health_checks(db: Path) -> None:
    at = with_design(db, ZONED)
    at.selectbox(key="sel_node").set_value("lb").run()
    at = inspector(at, "Node")
    widget(at, "selectbox", "nodes.lb.locality").set_value("zone").run()
    assert design(at)["nodes"]["lb"]["locality"] == "zone"
    widget(at, "number_input", "nodes.lb.health_check.interval_s").set_value(3.0).run()
    assert design(at)["nodes"]["lb"]["health_check"]["interval_s"] == 3.0
    widget(at, "toggle", "nodes.lb.health_check.on").set_value(False).run()
    assert "health_check" not in design(at)["nodes"]["lb"] and not at.exception


def test_the_workload_form_edits_the_network_and_the_outages(db: Path) -> None:
    at = inspector(with_design(db, ZONED), "Workload")
    widget(at, "number_input", "network.cross_zone_ms").set_value(2.5).run()
    assert design(at)["network"]["cross_zone_ms"] == 2.5
    widget(at, "number_input", "faults.0.for_s").set_value(6.0).run()
    assert design(at)["faults"][0]["for_s"] == 6.0
    next(b for b in at.button if b.label == "Add a zone outage").click().run()
    assert len(design(at)["faults"]) == 2
    at.button(key="remove_outage_0").click().run()
    assert len(design(at)["faults"]) == 1 and not at.exception


def test_a_placed_run_shows_the_zones_tab(db: Path) -> None:
    at = run(db, ZONED)
    assert [t.label for t in at.tabs] == [PLAIN_TABS[0], "Zones", *PLAIN_TABS[1:]]
    figures = {m.label: m for m in at.metric}
    assert figures["Availability"].value.endswith("%") and "theory" in figures["Availability"].delta
    # the only caller of web is a balancer beside the clients: no call between two placed replicas to count
    assert "Calls across zones" not in figures
    frames = [d.value for d in at.dataframe]
    assert any("refused: zone down" in f.columns for f in frames)
    assert any("out after s" in f.columns for f in frames)
    assert not at.exception
