"""The app's library helpers: the SQLite store, share links, and editing a design as data."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import zlib
from pathlib import Path

import pytest

import sandbox
from sandbox import edit, share
from sandbox.challenges import CAMPAIGN_DIR, grade
from sandbox.store import RUNS_KEPT, Store, default_path, new_workspace_id, valid_workspace_id

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"name": "Small", "workload": {"entry": "api", "rate_rps": 50, "duration_s": 20},
         "nodes": {"api": {"kind": "service", "workers": 4, "service_time": {"dist": "exponential", "mean_ms": 20}}}}


# ── the store ────────────────────────────────────────────────────────────────

@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "app.db")


def test_a_new_workspace_has_no_design(store: Store) -> None:
    assert store.current_design("ws-empty") is None and store.designs("ws-empty") == []


def test_designs_round_trip_and_the_newest_becomes_current(store: Store) -> None:
    first = store.create_design("ws-a", SMALL, {"api": (1, 2)})
    second = store.create_design("ws-a", {**SMALL, "name": "Other"}, None, challenge="01_scale_out")
    assert store.current_design("ws-a").id == second.id
    store.set_current("ws-a", first.id)
    current = store.current_design("ws-a")
    assert (current.data, current.layout, current.challenge) == (SMALL, {"api": (1.0, 2.0)}, None)
    assert [d.name for d in store.designs("ws-a")] == ["Other", "Small"]
    assert store.challenge_design("ws-a", "01_scale_out").id == second.id


def test_saving_changes_data_and_layout_and_survives_a_new_store_on_the_same_file(store: Store) -> None:
    d = store.create_design("ws-a", SMALL)
    changed = edit.set_field(SMALL, "nodes.api.workers", 9)
    store.save_design("ws-a", d.id, changed, {"api": (5, 6)})
    store.save_design("ws-a", d.id, changed)  # layout left as it was
    reopened = Store(store.path).current_design("ws-a")  # a server restart
    assert reopened.data["nodes"]["api"]["workers"] == 9 and reopened.layout == {"api": (5.0, 6.0)}


def test_workspaces_do_not_see_each_other(store: Store) -> None:
    d = store.create_design("ws-a", SMALL)
    assert store.design("ws-b", d.id) is None and store.current_design("ws-b") is None
    with pytest.raises(KeyError):
        store.save_design("ws-b", d.id, SMALL)
    with pytest.raises(KeyError):
        store.set_current("ws-b", d.id)


def test_deleting_the_current_design_falls_back_to_the_newest(store: Store) -> None:
    a = store.create_design("ws-a", SMALL)
    b = store.create_design("ws-a", SMALL)
    store.delete_design("ws-a", b.id)
    assert store.current_design("ws-a").id == a.id


def test_bad_workspace_ids_are_refused() -> None:
    assert valid_workspace_id(new_workspace_id())
    for bad in ("", "abc", "a" * 65, "../etc", "a b c d", "ws;drop", None, 1234):
        assert not valid_workspace_id(bad)


def test_a_bad_workspace_id_cannot_write(store: Store) -> None:
    with pytest.raises(ValueError, match="workspace ids"):
        store.create_design("x", SMALL)


def test_runs_are_recorded_newest_first_and_bounded(store: Store) -> None:
    for k in range(RUNS_KEPT + 5):
        store.add_run("ws-a", 1 if k % 2 else 2, "Small", "name: x", k, {"p99_ms": float(k)})
    runs = store.runs("ws-a", limit=RUNS_KEPT + 10)
    assert len(runs) == RUNS_KEPT and runs[0].seed == RUNS_KEPT + 4 and runs[0].summary == {"p99_ms": RUNS_KEPT + 4.0}
    assert all(r.design_id == 2 for r in store.runs("ws-a", design_id=2))
    assert store.runs("ws-b") == []


def test_progress_keeps_the_best_pass_and_stars_and_the_last_grade(store: Store) -> None:
    assert not store.progress("ws-a", "c1").passed
    store.save_progress("ws-a", "c1", grade={"passed": True, "stars": 3})
    store.save_progress("ws-a", "c1", predictions={"p99": 120.0}, hints=2)
    store.save_progress("ws-a", "c1", grade={"passed": False, "stars": 0})
    p = store.progress("ws-a", "c1")
    assert (p.passed, p.stars, p.hints, p.predictions, p.last_grade) == \
        (True, 3, 2, {"p99": 120.0}, {"passed": False, "stars": 0})
    assert set(store.all_progress("ws-a")) == {"c1"} and store.all_progress("ws-b") == {}


def test_stored_text_is_data_never_code(store: Store) -> None:
    evil = {"name": "__import__('os').system('false')", "nodes": {}}
    d = store.create_design("ws-a", evil)
    assert store.design("ws-a", d.id).data == evil  # read back with json.loads, as a string


def test_many_threads_can_write_at_once(store: Store) -> None:
    errors: list[Exception] = []

    def work(k: int) -> None:
        try:
            d = store.create_design(f"ws-thread-{k}", SMALL)
            for i in range(10):
                store.save_design(f"ws-thread-{k}", d.id, edit.set_field(SMALL, "nodes.api.workers", i + 1))
                store.add_run(f"ws-thread-{k}", d.id, "Small", "name: x", i, {})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(store.current_design(f"ws-thread-{k}").data["nodes"]["api"]["workers"] == 10 for k in range(8))


def test_the_file_is_sqlite_in_wal_mode(store: Store) -> None:
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_DB", str(tmp_path / "x.db"))
    assert default_path() == tmp_path / "x.db"
    monkeypatch.delenv("SANDBOX_DB")
    assert default_path() == ROOT / ".sandbox" / "app.db"  # a source checkout


def test_a_fresh_dot_sandbox_folder_ignores_itself(tmp_path: Path) -> None:
    Store(tmp_path / ".sandbox" / "app.db")
    assert (tmp_path / ".sandbox" / ".gitignore").read_text() == "*\n"


# ── share links ──────────────────────────────────────────────────────────────

def test_a_share_link_round_trips_a_design_and_its_layout() -> None:
    data = edit.parse_yaml((ROOT / "scenarios" / "read_heavy_catalog.yaml").read_text())
    layout = edit.auto_layout(data)
    token = share.encode(data, layout)
    assert len(token) < 2000 and token.replace("-", "").replace("_", "").isalnum()
    assert share.decode(token) == (data, layout)
    assert share.decode(share.encode(data)) == (data, {})


@pytest.mark.parametrize("token, reason", [
    ("", "empty"),
    ("1abc def", "unexpected characters"),
    ("9" + "A" * 20, "unknown version"),
    ("1" + "A" * 21, "does not decode"),
    ("1" + base64.urlsafe_b64encode(zlib.compress(b"[1, 2]")).decode().rstrip("="), "holds no design"),
    ("1" + base64.urlsafe_b64encode(zlib.compress(b"not json")).decode().rstrip("="), "not JSON"),
    ("1" + base64.urlsafe_b64encode(zlib.compress(b'{"d": {}, "l": {"a": [1]}}')).decode().rstrip("="),
     "not two numbers"),
    ("1" + base64.urlsafe_b64encode(zlib.compress(b'{"d": {}}')[:-4]).decode().rstrip("="), "incomplete"),
    ("1" + "A" * (share.MAX_TOKEN_CHARS + 1), "longer than"),
])
def test_bad_share_links_are_refused_with_a_reason(token: str, reason: str) -> None:
    with pytest.raises(sandbox.ScenarioError, match=reason):
        share.decode(token)


def test_a_share_link_cannot_expand_without_bound() -> None:
    bomb = json.dumps({"d": {"name": "x" * (share.MAX_JSON_BYTES * 4)}}).encode()
    token = "1" + base64.urlsafe_b64encode(zlib.compress(bomb, 9)).decode().rstrip("=")
    assert len(token) < share.MAX_TOKEN_CHARS
    with pytest.raises(sandbox.ScenarioError, match="expands past"):
        share.decode(token)


def test_a_design_too_large_for_a_link_says_so() -> None:
    import random
    rng = random.Random(0)
    noise = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(2 * share.MAX_TOKEN_CHARS))
    with pytest.raises(sandbox.ScenarioError, match="too large to share"):
        share.encode({"name": noise})


# ── editing a design ─────────────────────────────────────────────────────────

def test_the_palette_gives_valid_nodes_of_every_kind() -> None:
    d, entry = edit.add_node(edit.empty_design(), "service")
    for kind in edit.PALETTE:
        d, name = edit.add_node(d, kind)
        if kind in ("load_balancer", "rate_limiter"):
            d = edit.add_edge(d, name, entry)
        elif kind != "service":
            d = edit.add_edge(d, entry, name, probability=0.5)
    assert [n for n in d["nodes"]] == ["service", "service2", "db", "cache", "lb", "queue", "limiter"]
    d = edit.add_edge(d, "queue", "service2")
    d = edit.set_field(d, "workload.entry", "limiter")
    d = edit.remove_edge(d, [i for i, e in enumerate(d["edges"]) if e["from"] == "limiter"][0])
    d = edit.add_edge(d, "limiter", "lb")
    assert edit.problems(d) == []


def test_an_added_node_can_copy_a_template() -> None:
    d, name = edit.add_node(SMALL, "service", edit.unique_name(SMALL, "api"), like=SMALL["nodes"]["api"])
    assert name == "api2" and d["nodes"]["api2"] == SMALL["nodes"]["api"]
    with pytest.raises(ValueError, match="cannot copy"):
        edit.add_node(SMALL, "database", like=SMALL["nodes"]["api"])


def test_new_designs_start_empty_and_say_what_is_missing() -> None:
    problems = dict(edit.problems(edit.empty_design()))
    assert problems["nodes"] == "must name at least one node"


def test_the_first_node_becomes_the_entry_and_removing_it_moves_the_entry() -> None:
    d, a = edit.add_node(edit.empty_design(), "service")
    d, b = edit.add_node(d, "database")
    d = edit.add_edge(d, a, b)
    assert d["workload"]["entry"] == a
    d = edit.remove_node(d, a)
    assert d["workload"]["entry"] == b and d["edges"] == [] and list(d["nodes"]) == [b]


def test_renaming_renames_everywhere_and_refuses_bad_names() -> None:
    d = edit.rename_node(SMALL, "api", "front")
    assert d["workload"]["entry"] == "front" and "api" not in d["nodes"]
    assert SMALL["workload"]["entry"] == "api"  # never changed in place
    with pytest.raises(ValueError, match="starts with a letter"):
        edit.rename_node(SMALL, "api", "1 bad")
    d2, _ = edit.add_node(SMALL, "database")
    with pytest.raises(ValueError, match="already a node"):
        edit.rename_node(d2, "api", "db")


def test_set_field_removes_a_field_on_none_unless_told_to_keep_a_null() -> None:
    d = edit.set_field(SMALL, "nodes.api.queue_limit", None, keep_none=True)
    assert d["nodes"]["api"]["queue_limit"] is None and edit.problems(d) == []
    d = edit.set_field(d, "nodes.api.queue_limit", None)
    assert "queue_limit" not in d["nodes"]["api"]


def test_switching_a_distribution_keeps_the_mean() -> None:
    for dist in ("constant", "lognormal", "uniform", "exponential"):
        d = edit.set_service_time_dist(SMALL, "api", dist)
        s = sandbox.from_dict(d).nodes["api"].service_time
        assert s.dist == dist and s.mean() == pytest.approx(20)


def test_auto_layout_places_every_node_by_call_depth() -> None:
    data = edit.parse_yaml((ROOT / "scenarios" / "read_heavy_catalog.yaml").read_text())
    layout = edit.auto_layout(data)
    assert set(layout) == set(data["nodes"])
    assert layout["lb"][0] < layout["web"][0] < layout["cache"][0] < layout["db"][0]
    assert len(set(layout.values())) == len(layout)
    assert edit.place_new(layout)[0] > max(x for x, _ in layout.values())


@pytest.mark.parametrize("pattern", list(edit.PATTERNS))
def test_every_load_pattern_gives_a_valid_scenario(pattern: str) -> None:
    d = edit.with_load(SMALL, rate=80, duration_s=30, pattern=pattern, peak=2.5)
    s = sandbox.from_dict(d)
    assert s.workload.rate_rps == 80 and s.workload.duration_s == 30
    if pattern in ("spike", "step", "ramp", "diurnal"):
        assert s.workload.peak_rate() == pytest.approx(200 if pattern != "diurnal" else 160)


def test_a_shorter_run_cuts_the_warm_up_and_a_closed_loop_takes_users() -> None:
    d = edit.with_load(edit.set_field(SMALL, "workload.warmup_s", 15), duration_s=10)
    assert d["workload"]["warmup_s"] == 1
    closed = {**SMALL, "workload": {"entry": "api", "users": 10, "duration_s": 20}}
    assert edit.with_load(closed, rate=25, pattern="spike")["workload"] == {"entry": "api", "users": 25,
                                                                           "duration_s": 20}


def test_parse_yaml_refuses_invalid_text_with_every_problem() -> None:
    with pytest.raises(sandbox.ScenarioError) as err:
        edit.parse_yaml("name: x\nworkload: {entry: a, rate_rps: 1, duration_s: 1}\n"
                        "nodes: {a: {kind: service, workers: 0, service_time: {dist: constant, mean_ms: -1}}}",
                        source="bad.yaml")
    assert [p for p, _ in err.value.problems] == ["nodes.a.workers", "nodes.a.service_time.mean_ms"]
    with pytest.raises(sandbox.ScenarioError, match=r"line \d+, column"):
        edit.parse_yaml("name: [", source="bad.yaml")
    with pytest.raises(sandbox.ScenarioError, match="could not determine a constructor"):  # safe_load only
        edit.parse_yaml("!!python/object/apply:os.system ['false']")
    with pytest.raises(sandbox.ScenarioError, match="must be a mapping"):
        edit.parse_yaml("- just a list")


def test_a_challenge_file_gives_its_starter_and_its_solution_compactly() -> None:
    path = CAMPAIGN_DIR / "01_scale_out.yaml"
    starter, solution = edit.challenge_design(path, "starter"), edit.challenge_design(path, "solution")
    assert "challenge" not in starter and starter["nodes"]["web"]["replicas"] == 1
    assert solution["nodes"]["web"]["replicas"] == 3 and solution["workload"] == starter["workload"]
    assert edit.parse_yaml(path.read_text()) == starter
    challenge = sandbox.load(path)
    assert grade(sandbox.from_dict(solution), challenge).passed
