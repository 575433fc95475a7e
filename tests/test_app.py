"""The app, page by page, with Streamlit's AppTest: each page loads, runs show figures, problems show.

Each test gets its own SQLite file (SANDBOX_DB) and, where it needs a design
ready, a workspace prepared in the store and named in the address (``?w=``).
Runs are kept short (tens of simulated seconds) so the suite stays quick.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sandbox import edit, share
from sandbox.store import Store, new_workspace_id

from .conftest import APP, ROOT
SMALL = {"name": "Small API",
         "workload": {"entry": "api", "rate_rps": 50, "duration_s": 20, "warmup_s": 2, "slo_ms": 200},
         "nodes": {"api": {"kind": "service", "workers": 4, "service_time": {"dist": "exponential", "mean_ms": 20}},
                   "db": {"kind": "database", "workers": 8, "service_time": {"dist": "exponential", "mean_ms": 5}}},
         "edges": [{"from": "api", "to": "db"}]}


def app(workspace: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if workspace:
        at.query_params["w"] = workspace
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def with_design(db: Path, data: dict, workspace: str | None = None) -> AppTest:
    """A workspace (minted as the server would) holding `data` as its current design, opened."""
    workspace = workspace or new_workspace_id()
    Store(db).create_design(workspace, data)
    return app(workspace)


def texts(elements) -> str:
    """The text of elements as shown: user text in them is written as character references (app.text.md)."""
    return "\n".join(html.unescape(str(e.value)).replace("\u2060", "") for e in elements)


def field(at: AppTest, path: str):
    """The widget bound to a design field (its key ends with the field's path)."""
    found = [w for kind in ("number_input", "selectbox", "text_input", "checkbox")
             for w in getattr(at, kind) if (w.key or "").endswith("|" + path)]
    assert found, f"no widget for {path}"
    return found[0]


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r} among {[b.label for b in at.button]}"
    return found[0]


# ── Build ────────────────────────────────────────────────────────────────────

def test_build_page_loads_with_an_empty_canvas_and_a_workspace_in_the_address(db: Path) -> None:
    at = app()
    assert not at.exception
    assert [t.value for t in at.title] == ["Build"]
    assert "Add a component from the palette" in texts(at.info)
    assert len(at.query_params["w"][0] if isinstance(at.query_params["w"], list) else at.query_params["w"]) >= 4


def test_palette_and_call_form_build_a_design_whose_analysis_follows_each_edit(db: Path) -> None:
    at = app()
    button(at, "Service").click().run()
    button(at, "Database").click().run()
    assert list(at.session_state["design"]["nodes"]) == ["service", "db"]
    at.radio(key="inspector").set_value("Call").run()
    at.selectbox(key="new_edge_from").set_value("service")
    at.selectbox(key="new_edge_to").set_value("db")
    button(at, "Add call").click().run()
    assert not at.exception
    assert at.session_state["design"]["edges"] == [{"from": "service", "to": "db"}]
    saturation = {m.label: m.value for m in at.metric}["Saturates at"]
    assert saturation == "286 rps"  # 8 workers each held 20 ms + 8 ms: 8 / 0.028 s
    at.radio(key="inspector").set_value("Node").run()
    at.selectbox(key="sel_node").set_value("service").run()
    field(at, "nodes.service.workers").set_value(16).run()
    assert {m.label: m.value for m in at.metric}["Saturates at"] == "571 rps"  # twice the workers
    assert Store(db).current_design(at.session_state["workspace"]).data["nodes"]["service"]["workers"] == 16


def test_a_validation_problem_shows_beside_its_field_and_stops_the_analysis(db: Path) -> None:
    at = with_design(db, SMALL)
    at.selectbox(key="sel_node").set_value("db").run()
    field(at, "nodes.db.workers").set_value(0).run()
    assert not at.exception
    assert "must be at least 1, got 0" in texts(at.error)
    assert "Fix the problems above" in texts(at.info)
    field(at, "nodes.db.workers").set_value(2).run()
    assert "must be at least 1" not in texts(at.error)


def test_cross_field_problems_show_too(db: Path) -> None:
    at = with_design(db, SMALL)
    at.radio(key="inspector").set_value("Workload").run()
    field(at, "workload.warmup_s").set_value(30).run()
    assert "warmup_s (30) must be shorter than duration_s (20)" in texts(at.error)


def test_renaming_a_node_renames_its_calls_and_entry(db: Path) -> None:
    at = with_design(db, SMALL)
    at.selectbox(key="sel_node").set_value("api").run()
    [t for t in at.text_input if t.key.endswith("nodes.api.__name")][0].set_value("front").run()
    d = at.session_state["design"]
    assert list(d["nodes"]) == ["front", "db"] and d["edges"] == [{"from": "front", "to": "db"}]
    assert d["workload"]["entry"] == "front"


def test_invalid_yaml_is_refused_with_its_message_and_the_design_is_untouched(db: Path) -> None:
    at = with_design(db, SMALL)
    before = at.session_state["design"]
    yaml_box = [t for t in at.text_area if t.key.endswith("__yaml")][0]
    yaml_box.set_value(edit.to_yaml(before).replace("workers: 8", "workerz: 8"))
    button(at, "Apply YAML").click().run()
    assert not at.exception
    message = texts(at.error)
    assert "refused; your design is unchanged" in message and "`nodes.db.workerz`: unknown field" in message
    assert at.session_state["design"] == before


def test_a_preset_starts_a_new_design(db: Path) -> None:
    at = app()
    at.selectbox(key="new_from").set_value("Thread-pool cascade")
    button(at, "Create").click().run()
    assert not at.exception
    assert set(at.session_state["design"]["nodes"]) == {"api", "db"}
    assert "Started a new design from: Thread-pool cascade" in texts(at.success)


def test_a_design_survives_a_new_session_with_the_same_workspace(db: Path) -> None:
    at = app()
    button(at, "Cache").click().run()
    ws = at.session_state["workspace"]
    again = app(ws)  # a reload: a fresh session, the same address
    assert list(again.session_state["design"]["nodes"]) == ["cache"]


def test_a_share_link_reproduces_the_design_in_a_new_workspace(db: Path) -> None:
    token = share.encode(SMALL, {"api": (10, 20), "db": (300, 20)})
    at = app(design=token)
    assert not at.exception
    assert at.session_state["design"] == SMALL and at.session_state["layout"]["db"] == (300.0, 20.0)
    assert "Opened the shared design" in texts(at.success)
    assert "design" in at.query_params and Store(db).designs(at.session_state["workspace"]) == []  # not yet stored
    button(at, "Cache").click().run()  # the first change stores it, and the link leaves the address
    assert "design" not in at.query_params
    assert list(Store(db).current_design(at.session_state["workspace"]).data["nodes"]) == ["api", "db", "cache"]


def test_a_broken_share_link_is_refused(db: Path) -> None:
    at = app(design="1not-a-real-link")
    assert not at.exception
    assert "could not be opened" in texts(at.error)
    assert at.session_state["design"]["nodes"] == {}


# ── Run and results ──────────────────────────────────────────────────────────

def run_page(db: Path, data: dict, **env: str) -> AppTest:
    at = with_design(db, data)
    return at.switch_page("app/run.py").run()


def test_run_page_loads_and_a_run_shows_its_figures(db: Path) -> None:
    at = run_page(db, SMALL)
    assert not at.exception
    assert [t.value for t in at.title] == ["Run and results"]
    [n for n in at.number_input if n.label == "Duration (s)"][0].set_value(20)
    button(at, "Run simulation").click().run()
    assert not at.exception
    figures = {m.label: m.value for m in at.metric}
    assert set(figures) >= {"p50 latency", "p99 latency", "Throughput", "Error rate", "Goodput", "Cost per hour"}
    assert figures["Error rate"] == "0.00%" and figures["Cost per hour"] == "$0.50"  # service 0.10 + database 0.40
    assert "Bottleneck: api" in texts(at.info)
    runs = Store(db).runs(at.session_state["workspace"])
    assert len(runs) == 1 and runs[0].seed == 0


def test_a_run_that_hits_a_limit_says_so(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_MAX_REQUESTS", "500")
    at = run_page(db, SMALL)
    button(at, "Run simulation").click().run()
    assert not at.exception
    assert "The run was stopped" in texts(at.error) and "this server allows 500" in texts(at.error)
    assert Store(db).runs(at.session_state["workspace"]) == []


def test_run_page_with_an_invalid_design_lists_its_problems(db: Path) -> None:
    bad = edit.set_field(SMALL, "nodes.api.workers", 0)
    at = run_page(db, bad)
    assert not at.exception
    assert "must be at least 1, got 0" in texts(at.error)
    assert not [b for b in at.button if b.label == "Run simulation"]


def test_load_patterns_run(db: Path) -> None:
    at = run_page(db, SMALL)
    [s for s in at.selectbox if s.label == "Load pattern"][0].set_value("spike")
    button(at, "Run simulation").click().run()
    assert not at.exception
    assert "profile:" in at.session_state["run"]["yaml"] and "spike" in at.session_state["run"]["yaml"]


# ── Challenges ───────────────────────────────────────────────────────────────

def test_challenges_page_grades_the_starter_then_a_passing_design(db: Path) -> None:
    at = app().switch_page("app/challenges.py").run()
    assert not at.exception
    assert "Scale out" in texts(at.header)
    assert "Our product page went viral" in texts(at.markdown)
    button(at, "Open the starter design in the builder").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Build"]
    assert at.session_state["challenge"] == "01_scale_out"

    at.switch_page("app/challenges.py").run()
    button(at, "Grade my design").click().run()  # the starter: one replica, offered 150%
    assert not at.exception
    assert "Not yet" in texts(at.error) and "latency_ms.p99 was" in texts(at.error)

    button(at, "Show a hint (1 of 3)").click().run()
    assert "Hint 1: How many requests a second" in texts(at.info)

    at.switch_page("app/build.py").run()
    at.selectbox(key="sel_node").set_value("web").run()
    field(at, "nodes.web.workers").set_value(9).run()  # not editable in this challenge
    assert "nodes.web.workers was changed" in texts(at.warning)
    field(at, "nodes.web.workers").set_value(8).run()
    field(at, "nodes.web.replicas").set_value(3).run()

    at.switch_page("app/challenges.py").run()
    [n for n in at.number_input if n.key.endswith(".replicas")][0].set_value(3)
    [n for n in at.number_input if n.key.endswith(".p99")][0].set_value(120)
    button(at, "Grade my design").click().run()
    assert not at.exception
    assert "Passed" in texts(at.success)
    assert "The lesson" in texts(at.markdown)
    progress = Store(db).progress(at.session_state["workspace"], "01_scale_out")
    assert progress.passed and progress.stars >= 2 and progress.hints == 1


def test_the_progress_bar_shows_and_a_cached_run_replays_cleanly(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.widgets
    monkeypatch.setattr(app.widgets, "PROGRESS_AFTER_S", 0.0)  # show the bar even for a short run
    at = run_page(db, edit.set_field(SMALL, "workload.rate_rps", 61))
    button(at, "Run simulation").click().run()
    assert not at.exception and "p99 latency" in {m.label for m in at.metric}
    at.switch_page("app/build.py").run()
    at.switch_page("app/run.py").run()  # the same run again, from the cache
    assert not at.exception and "p99 latency" in {m.label for m in at.metric}


def test_in_a_challenge_the_palette_allows_only_its_kinds_and_copies_its_templates(db: Path) -> None:
    path = ROOT / "scenarios" / "challenges" / "04_read_replicas.yaml"
    ws = new_workspace_id()
    Store(db).create_design(ws, edit.challenge_design(path), challenge="04_read_replicas")
    at = app(ws)
    assert button(at, "Service").disabled and not button(at, "Database").disabled
    button(at, "Database").click().run()
    d = at.session_state["design"]
    assert d["nodes"]["db2"] == d["nodes"]["db"]  # the template: the same machine as db
    assert not [w for w in at.warning if "differs" in str(w.value) or "was added" in str(w.value)]
    assert "copies `db`" in texts(at.markdown)


def test_a_closed_loop_design_runs_with_users_instead_of_a_rate(db: Path) -> None:
    closed = {**SMALL, "workload": {"entry": "api", "users": 20, "think_time_ms": 200, "duration_s": 20,
                                    "warmup_s": 2}}
    at = run_page(db, closed)
    users = [n for n in at.number_input if n.label == "Users"][0]
    users.set_value(30)
    button(at, "Run simulation").click().run()
    assert not at.exception
    assert "users: 30" in at.session_state["run"]["yaml"]
    assert "Throughput" in {m.label for m in at.metric}


PRESETS = sorted((ROOT / "scenarios").glob("*.yaml"))
CHALLENGES = sorted((ROOT / "scenarios" / "challenges").glob("*.yaml"))


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_example_scenario_opens_in_the_builder_with_its_analysis(db: Path, path: Path) -> None:
    at = with_design(db, edit.parse_yaml(path.read_text()))
    assert not at.exception
    assert "Saturates at" in {m.label for m in at.metric}
    for mode in ("Call", "Workload"):
        at.radio(key="inspector").set_value(mode).run()
        assert not at.exception


@pytest.mark.parametrize("path", CHALLENGES, ids=lambda p: p.stem)
def test_every_challenge_starter_opens_in_the_builder_within_its_rules(db: Path, path: Path) -> None:
    ws = new_workspace_id()
    Store(db).create_design(ws, edit.challenge_design(path), challenge=path.stem)
    at = app(ws)
    assert not at.exception
    assert "Challenge:" in texts(at.markdown)
    assert not [w for w in at.warning if "was changed" in str(w.value) or "was added" in str(w.value)]


def test_a_compose_file_pasted_as_yaml_becomes_a_draft_with_its_assumptions_listed(db: Path) -> None:
    at = with_design(db, SMALL)
    yaml_box = [t for t in at.text_area if t.key.endswith("__yaml")][0]
    yaml_box.set_value("services:\n  web: {image: 'nginx:1.27', ports: ['80:80'], depends_on: [app]}\n"
                       "  app: {image: acme/shop, environment: {DB: 'postgres://db:5432/x'}}\n"
                       "  db: {image: 'postgres:16'}\n")
    button(at, "Apply YAML").click().run()
    assert not at.exception
    d = at.session_state["design"]
    assert {n: v["kind"] for n, v in d["nodes"].items()} == {"web": "load_balancer", "app": "service",
                                                             "db": "database"}
    message = texts(at.warning)
    assert "Drafted a design" in message and "nodes.db.service_time" in message and "workload.rate_rps" in message
