"""Keys and keyed caches in the app, with AppTest: the keys editor, the cache's fields, the Caches tab.

Each test has its own SQLite file (the `db` fixture); runs are a few simulated seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .test_app import SMALL, with_design
from .test_app_classes import PLAIN_TABS, design, inspector, run, widget

KEYED: dict[str, Any] = {
    "name": "Keyed cache",
    "workload": {"entry": "cache", "rate_rps": 500, "duration_s": 6, "warmup_s": 1,
                 "keys": {"count": 5000, "popularity": "zipf", "s": 0.9}},
    "nodes": {"cache": {"kind": "cache", "capacity": 500, "workers": 16,
                        "service_time": {"dist": "constant", "mean_ms": 0.5}},
              "db": {"kind": "database", "workers": 16, "service_time": {"dist": "exponential", "mean_ms": 5}}},
    "edges": [{"from": "cache", "to": "db", "when": "miss"}],
}


def test_the_workload_form_edits_the_keys(db: Path) -> None:
    at = inspector(with_design(db, KEYED), "Workload")
    widget(at, "number_input", "workload.keys.count").set_value(20000).run()
    assert design(at)["workload"]["keys"]["count"] == 20000
    widget(at, "selectbox", "workload.keys.popularity").set_value("uniform").run()
    assert not at.exception and design(at)["workload"]["keys"]["popularity"] == "uniform"


def test_switching_keys_off_shows_the_caches_problem(db: Path) -> None:
    at = inspector(with_design(db, KEYED), "Workload")
    widget(at, "toggle", "workload.keys.on").set_value(False).run()
    assert "keys" not in design(at)["workload"]
    assert not at.exception
    problems = " ".join(str(e.value) for e in at.error)
    assert "a cache with a capacity decides hits by key" in problems
    widget(at, "toggle", "workload.keys.on").set_value(True).run()
    assert design(at)["workload"]["keys"] == {"count": 10000, "popularity": "zipf", "s": 1.0}
    assert not at.error


def test_the_cache_form_shows_its_keyed_fields(db: Path) -> None:
    at = with_design(db, KEYED)
    at.selectbox(key="sel_node").set_value("cache").run()
    at = inspector(at, "Node")
    widget(at, "number_input", "nodes.cache.capacity").set_value(2000).run()
    assert design(at)["nodes"]["cache"]["capacity"] == 2000
    widget(at, "selectbox", "nodes.cache.eviction").set_value("fifo").run()
    assert design(at)["nodes"]["cache"]["eviction"] == "fifo"
    assert not at.exception


def test_a_keyed_run_shows_the_keys_tab(db: Path) -> None:
    at = run(db, KEYED)
    assert [t.label for t in at.tabs] == [PLAIN_TABS[0], "Keys", *PLAIN_TABS[1:]]
    figures = {m.label: m for m in at.metric}
    assert "cache · hit ratio" in figures and figures["cache · hit ratio"].value.endswith("%")
    assert "vs theory" in figures["cache · hit ratio"].delta
    assert at.tabs[1].get("arrow_line_chart") or at.tabs[1].get("vega_lite_chart")


def test_a_run_without_keys_has_no_keys_tab(db: Path) -> None:
    assert [t.label for t in run(db, SMALL).tabs] == PLAIN_TABS


SHARDED: dict[str, Any] = {
    "name": "Sharded",
    "workload": {"entry": "db", "rate_rps": 300, "duration_s": 6, "warmup_s": 1,
                 "keys": {"count": 2000, "popularity": "zipf", "s": 1.0}},
    "nodes": {"db": {"kind": "database", "shards": 4, "workers": 4,
                     "service_time": {"dist": "exponential", "mean_ms": 5}}},
    "edges": [],
}


def test_a_sharded_run_without_caches_draws_the_shard_bars(db: Path) -> None:
    at = run(db, SHARDED)
    keys_tab = at.tabs[1]
    assert keys_tab.label == "Keys"
    assert not keys_tab.get("exception") and "could not be drawn" not in " ".join(str(c.value) for c in at.caption)
    assert "busy share per shard" in " ".join(str(m.value) for m in keys_tab.get("markdown"))
