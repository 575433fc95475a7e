"""Streams and topics in the app, with AppTest: the palette adds them, their forms, the Pipelines tab of a run.

Each test has its own SQLite file (the `db` fixture); runs are a few simulated seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .test_app import with_design
from .test_app_classes import PLAIN_TABS, design, inspector, run, widget

PIPE: dict[str, Any] = {
    "name": "Pipe",
    "workload": {"entry": "api", "rate_rps": 200, "duration_s": 8, "warmup_s": 1,
                 "keys": {"count": 1000, "popularity": "zipf", "s": 1.0}},
    "nodes": {"api": {"kind": "service", "workers": 16, "service_time": {"dist": "constant", "mean_ms": 2}},
              "clicks": {"kind": "stream", "partitions": 4},
              "events": {"kind": "topic"},
              "etl": {"kind": "service", "workers": 8, "service_time": {"dist": "exponential", "mean_ms": 5}},
              "mail": {"kind": "service", "workers": 2, "service_time": {"dist": "exponential", "mean_ms": 2}}},
    "edges": [{"from": "api", "to": "clicks"}, {"from": "api", "to": "events"},
              {"from": "clicks", "to": "etl"}, {"from": "events", "to": "mail"}],
}


def test_the_stream_form_sets_partitions_and_retention(db: Path) -> None:
    at = with_design(db, PIPE)
    at.selectbox(key="sel_node").set_value("clicks").run()
    at = inspector(at, "Node")
    widget(at, "number_input", "nodes.clicks.partitions").set_value(12).run()
    assert design(at)["nodes"]["clicks"]["partitions"] == 12
    widget(at, "number_input", "nodes.clicks.retention_s").set_value(600.0).run()
    assert design(at)["nodes"]["clicks"]["retention_s"] == 600.0 and not at.exception


def test_a_run_with_a_stream_and_a_topic_shows_the_pipelines_tab(db: Path) -> None:
    at = run(db, PIPE)
    assert [t.label for t in at.tabs] == [PLAIN_TABS[0], "Pipelines", *PLAIN_TABS[1:]]
    figures = {m.label: m for m in at.metric}
    assert "etl · freshness p99" in figures and figures["etl · freshness p99"].value.endswith("ms")
    frames = [d.value for d in at.dataframe]
    assert any("dropped (buffer full)" in f.columns for f in frames)
    assert any("unread at the end" in f.columns for f in frames)
    assert not at.exception


def test_a_run_with_a_feature_flag_shows_the_rollout_tab(db: Path) -> None:
    flag: dict[str, Any] = {
        "name": "Canary", "workload": {"entry": "flag", "rate_rps": 300, "duration_s": 40,
                                       "keys": {"count": 10000, "popularity": "uniform"}},
        "nodes": {"flag": {"kind": "feature_flag", "control": "api", "treatment": "api_v2",
                           "schedule": [{"at_s": 5, "share": 0.2}],
                           "guardrails": [{"metric": "error_rate", "max_increase": 0.01}],
                           "check_every_s": 5, "min_requests": 100},
                  "api": {"kind": "service", "workers": 16, "service_time": {"dist": "constant", "mean_ms": 2}},
                  "api_v2": {"kind": "service", "workers": 16, "error_rate": 0.3,
                             "service_time": {"dist": "constant", "mean_ms": 2}}},
        "edges": [{"from": "flag", "to": "api"}, {"from": "flag", "to": "api_v2"}],
    }
    at = run(db, flag)
    assert [t.label for t in at.tabs] == [PLAIN_TABS[0], "Rollout", *PLAIN_TABS[1:]]
    assert any("rolled back at" in str(e.value) for e in at.error)
    assert {m.label for m in at.metric} >= {"Exposed to the treatment", "Treatment error rate", "Time to detect"}
    assert any("guardrail" in f.columns for f in (d.value for d in at.dataframe)) and not at.exception
