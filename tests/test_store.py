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
WS_A, WS_B, WS_EMPTY = new_workspace_id(), new_workspace_id(), new_workspace_id()  # ids as the server mints them
THREAD_WS = [new_workspace_id() for _ in range(8)]


# ── the store ────────────────────────────────────────────────────────────────

@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "app.db")


def test_a_new_workspace_has_no_design(store: Store) -> None:
    assert store.current_design(WS_EMPTY) is None and store.designs(WS_EMPTY) == []


def test_designs_round_trip_and_the_newest_becomes_current(store: Store) -> None:
    first = store.create_design(WS_A, SMALL, {"api": (1, 2)})
    second = store.create_design(WS_A, {**SMALL, "name": "Other"}, None, challenge="01_scale_out")
    assert store.current_design(WS_A).id == second.id
    store.set_current(WS_A, first.id)
    current = store.current_design(WS_A)
    assert (current.data, current.layout, current.challenge) == (SMALL, {"api": (1.0, 2.0)}, None)
    assert [d.name for d in store.designs(WS_A)] == ["Other", "Small"]
    assert store.challenge_design(WS_A, "01_scale_out").id == second.id


def test_saving_changes_data_and_layout_and_survives_a_new_store_on_the_same_file(store: Store) -> None:
    d = store.create_design(WS_A, SMALL)
    changed = edit.set_field(SMALL, "nodes.api.workers", 9)
    version = store.save_design(WS_A, d.id, changed, {"api": (5, 6)}, expected_version=d.version)
    store.save_design(WS_A, d.id, changed, expected_version=version)  # layout left as it was
    reopened = Store(store.path).current_design(WS_A)  # a server restart
    assert reopened.data["nodes"]["api"]["workers"] == 9 and reopened.layout == {"api": (5.0, 6.0)}


def test_workspaces_do_not_see_each_other(store: Store) -> None:
    d = store.create_design(WS_A, SMALL)
    assert store.design(WS_B, d.id) is None and store.current_design(WS_B) is None
    with pytest.raises(KeyError):
        store.save_design(WS_B, d.id, SMALL, expected_version=d.version)
    with pytest.raises(KeyError):
        store.set_current(WS_B, d.id)


def test_deleting_the_current_design_falls_back_to_the_newest(store: Store) -> None:
    a = store.create_design(WS_A, SMALL)
    b = store.create_design(WS_A, SMALL)
    store.delete_design(WS_A, b.id)
    assert store.current_design(WS_A).id == a.id


def test_bad_workspace_ids_are_refused() -> None:
    assert valid_workspace_id(new_workspace_id())
    for bad in ("", "abc", "a" * 65, "../etc", "a b c d", "ws;drop", None, 1234,
                "test", "ws-test", "abcd-1234", "a" * 15, "a" * 17, "abcdefghijklmno!"):  # only the minted shape
        assert not valid_workspace_id(bad), bad


def test_a_bad_workspace_id_cannot_write(store: Store) -> None:
    for bad in ("x", "ws-test", "abcdefghijklmnop/"):
        with pytest.raises(ValueError, match="a workspace id is 16 letters"):
            store.create_design(bad, SMALL)
        with pytest.raises(ValueError, match="a workspace id is 16 letters"):
            store.save_progress(bad, "c1", hints=1)


def test_runs_are_recorded_newest_first_and_bounded(store: Store) -> None:
    for k in range(RUNS_KEPT + 5):
        store.add_run(WS_A, 1 if k % 2 else 2, "Small", "name: x", k, {"p99_ms": float(k)})
    runs = store.runs(WS_A, limit=RUNS_KEPT + 10)
    assert len(runs) == RUNS_KEPT and runs[0].seed == RUNS_KEPT + 4 and runs[0].summary == {"p99_ms": RUNS_KEPT + 4.0}
    assert all(r.design_id == 2 for r in store.runs(WS_A, design_id=2))
    assert store.runs(WS_B) == []


def test_progress_keeps_the_best_pass_and_stars_and_the_last_grade(store: Store) -> None:
    assert not store.progress(WS_A, "c1").passed
    store.save_progress(WS_A, "c1", grade={"passed": True, "stars": 3})
    store.save_progress(WS_A, "c1", predictions={"p99": 120.0}, hints=2)
    store.save_progress(WS_A, "c1", grade={"passed": False, "stars": 0})
    p = store.progress(WS_A, "c1")
    assert (p.passed, p.stars, p.hints, p.predictions, p.last_grade) == \
        (True, 3, 2, {"p99": 120.0}, {"passed": False, "stars": 0})
    assert set(store.all_progress(WS_A)) == {"c1"} and store.all_progress(WS_B) == {}


def test_stored_text_is_data_never_code(store: Store) -> None:
    evil = {"name": "__import__('os').system('false')", "nodes": {}}
    d = store.create_design(WS_A, evil)
    assert store.design(WS_A, d.id).data == evil  # read back with json.loads, as a string


def test_many_threads_can_write_at_once(store: Store) -> None:
    errors: list[Exception] = []

    def work(k: int) -> None:
        try:
            d = store.create_design(THREAD_WS[k], SMALL)
            for i in range(10):
                store.save_design(THREAD_WS[k], d.id, edit.set_field(SMALL, "nodes.api.workers", i + 1),
                                  expected_version=i)
                store.add_run(THREAD_WS[k], d.id, "Small", "name: x", i, {})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(store.current_design(THREAD_WS[k]).data["nodes"]["api"]["workers"] == 10 for k in range(8))


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


# ── what must keep holding ───────────────────────────────────────────────────

def test_workspace_ids_are_96_random_bits_in_16_url_safe_characters() -> None:
    ids = {new_workspace_id() for _ in range(2000)}
    assert len(ids) == 2000
    for ws in ids:
        assert len(ws) == 16 and valid_workspace_id(ws)
        assert len(base64.urlsafe_b64decode(ws)) == 12  # 12 bytes from secrets: 96 bits


def test_the_store_has_no_way_to_list_workspaces(store: Store) -> None:
    """A workspace id is a bearer secret: nothing may enumerate them."""
    public = {n for n in dir(store) if not n.startswith("_")}
    assert not {n for n in public if "workspaces" in n or n in ("all", "everything", "list")}
    assert public <= {"path", "workspace_days", "create_design", "save_design", "design", "designs", "delete_design",
                      "set_current", "current_design", "challenge_design", "add_run", "runs", "progress",
                      "all_progress", "save_progress", "workspace_exists", "touch", "expire"}


def test_sql_is_parameterised_so_quotes_in_user_text_are_just_text(store: Store) -> None:
    evil = "x'); DROP TABLE designs; --"
    d = store.create_design(WS_A, {**SMALL, "name": evil})
    store.add_run(WS_A, d.id, evil, "name: x", 0, {"note": evil})
    store.save_progress(WS_A, evil, hints=1)
    assert store.design(WS_A, d.id).name == evil and store.runs(WS_A)[0].name == evil
    assert store.progress(WS_A, evil).hints == 1 and store.designs(WS_B) == []


def test_a_kill_9_while_writing_loses_nothing_committed(tmp_path: Path) -> None:
    """WAL: a process killed mid-write leaves every committed design and run, and a sound file."""
    import os
    import signal
    import subprocess
    import sys
    path = tmp_path / "app.db"
    ws = new_workspace_id()
    script = (f"import sys; from sandbox.store import Store; s = Store({str(path)!r})\n"
              "for k in range(100000):\n"
              f"    d = s.create_design({ws!r}, {{'name': f'd{{k}}', 'nodes': {{}}}}) if k < 90 else None\n"
              f"    s.add_run({ws!r}, None, f'r{{k}}', 'name: x', k, {{}})\n"
              "    print(k, flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    done = [int(proc.stdout.readline()) for _ in range(150)]  # 150 writes acknowledged, more in flight
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = Store(path)
    assert len(again.designs(ws)) == 90
    seeds = {r.seed for r in again.runs(ws, limit=1000)}
    assert set(done[-RUNS_KEPT:]) <= seeds or set(done) <= seeds


# ── workspaces: minted by the server, created on the first change, bounded, expired ──

def test_a_workspace_exists_only_once_something_was_saved_in_it(store: Store) -> None:
    ws = new_workspace_id()
    assert not store.workspace_exists(ws)
    store.save_progress(ws, "01_scale_out", hints=1)  # any write creates it
    assert store.workspace_exists(ws)
    other = new_workspace_id()
    store.create_design(other, SMALL)
    assert store.workspace_exists(other) and not store.workspace_exists(new_workspace_id())
    assert not store.workspace_exists("not an id")


def test_a_workspace_holds_at_most_max_designs(store: Store) -> None:
    from sandbox.store import MAX_DESIGNS, StoreLimit
    for _ in range(MAX_DESIGNS):
        store.create_design(WS_A, SMALL)
    with pytest.raises(StoreLimit, match=f"holds {MAX_DESIGNS} designs, the most it may"):
        store.create_design(WS_A, SMALL)
    store.delete_design(WS_A, store.designs(WS_A, limit=1)[0].id)
    store.create_design(WS_A, SMALL)  # room again
    store.create_design(WS_B, SMALL)  # another workspace is not affected


def test_a_stored_design_and_a_run_are_bounded_in_size(store: Store) -> None:
    from sandbox.store import MAX_DESIGN_BYTES, MAX_RUN_YAML_BYTES, StoreLimit
    huge = {**SMALL, "description": "x" * MAX_DESIGN_BYTES}
    with pytest.raises(StoreLimit, match="at most"):
        store.create_design(WS_A, huge)
    d = store.create_design(WS_A, SMALL)
    with pytest.raises(StoreLimit, match="at most"):
        store.save_design(WS_A, d.id, huge, expected_version=d.version)
    assert store.design(WS_A, d.id).data == SMALL
    with pytest.raises(StoreLimit, match="at most"):
        store.add_run(WS_A, d.id, "Small", "x" * (MAX_RUN_YAML_BYTES + 1), 0, {})
    assert store.runs(WS_A) == []


def test_workspaces_idle_longer_than_the_expiry_are_removed_when_the_store_opens(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    path = tmp_path / "app.db"
    store = Store(path)
    old, recent = new_workspace_id(), new_workspace_id()
    for ws in (old, recent):
        d = store.create_design(ws, SMALL)
        store.add_run(ws, d.id, "Small", "name: x", 0, {})
        store.save_progress(ws, "01_scale_out", hints=1)
    with sqlite3.connect(path) as db:  # `old` was last used 200 days ago
        db.execute("UPDATE workspaces SET updated = ? WHERE id = ?", (time.time() - 200 * 86400, old))
    monkeypatch.setenv("SANDBOX_WORKSPACE_DAYS", "180")
    reopened = Store(path)
    assert not reopened.workspace_exists(old) and reopened.designs(old) == [] and reopened.runs(old) == []
    assert reopened.all_progress(old) == {}
    assert reopened.workspace_exists(recent) and len(reopened.designs(recent)) == 1
    monkeypatch.setenv("SANDBOX_WORKSPACE_DAYS", "0.5")  # half a day: everything idle longer goes
    with sqlite3.connect(path) as db:
        db.execute("UPDATE workspaces SET updated = ? WHERE id = ?", (time.time() - 86400, recent))
    assert not Store(path).workspace_exists(recent)


def test_touching_a_workspace_keeps_it_from_expiring(store: Store) -> None:
    import time
    store.create_design(WS_A, SMALL)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE workspaces SET updated = 0 WHERE id = ?", (WS_A,))
    store.touch(WS_A)
    store.touch(new_workspace_id())  # touching an unknown workspace creates nothing
    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT id, updated FROM workspaces").fetchall()
    assert len(rows) == 1 and rows[0][1] > time.time() - 60


# ── two writers: a save is conditional on the version it was loaded at ───────

def test_a_second_writer_with_a_stale_copy_is_refused_not_silently_obeyed(store: Store) -> None:
    from sandbox.store import StaleDesign
    d = store.create_design(WS_A, SMALL)
    tab_a, tab_b = store.design(WS_A, d.id), store.design(WS_A, d.id)  # two tabs load version 0
    assert tab_a.version == tab_b.version == 0
    added = edit.add_node(tab_a.data, "database")[0]
    version = store.save_design(WS_A, d.id, added, expected_version=tab_a.version)
    assert version == 1
    renamed = {**tab_b.data, "name": "Renamed in tab B"}
    with pytest.raises(StaleDesign, match="changed since it was loaded") as err:
        store.save_design(WS_A, d.id, renamed, expected_version=tab_b.version)
    assert isinstance(err.value, sandbox.SandboxError)
    kept = store.design(WS_A, d.id)
    assert (kept.version, list(kept.data["nodes"]), kept.name) == (1, ["api", "db"], "Small")  # A's edit kept
    assert store.save_design(WS_A, d.id, {**kept.data, "name": "B again"}, expected_version=kept.version) == 2


def test_saving_a_design_that_is_gone_is_a_key_error_not_a_stale_one(store: Store) -> None:
    d = store.create_design(WS_A, SMALL)
    store.delete_design(WS_A, d.id)
    with pytest.raises(KeyError):
        store.save_design(WS_A, d.id, SMALL, expected_version=0)


def test_an_older_database_gains_the_version_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    ws = new_workspace_id()
    with sqlite3.connect(path) as db:  # the schema before versions, and a progress-only workspace
        db.executescript("""
            CREATE TABLE workspaces (id TEXT PRIMARY KEY, current_design INTEGER, created REAL NOT NULL,
                                     updated REAL NOT NULL);
            CREATE TABLE designs (id INTEGER PRIMARY KEY AUTOINCREMENT, workspace TEXT NOT NULL, name TEXT NOT NULL,
                data TEXT NOT NULL, layout TEXT NOT NULL, challenge TEXT, created REAL NOT NULL, updated REAL NOT NULL);
            CREATE TABLE progress (workspace TEXT NOT NULL, challenge TEXT NOT NULL, passed INTEGER NOT NULL DEFAULT 0,
                stars INTEGER NOT NULL DEFAULT 0, hints INTEGER NOT NULL DEFAULT 0,
                predictions TEXT NOT NULL DEFAULT '{}', last_grade TEXT, updated REAL NOT NULL,
                PRIMARY KEY (workspace, challenge));""")
        db.execute("INSERT INTO designs (workspace, name, data, layout, created, updated) VALUES (?, 'Old', ?, '{}', ?, ?)",
                   (ws, json.dumps(SMALL), 1e9, 2e9))
        other = new_workspace_id()
        db.execute("INSERT INTO progress (workspace, challenge, hints, updated) VALUES (?, 'c1', 2, ?)", (other, 2e9))
    store = Store(path)
    old = store.designs(ws)[0]
    assert old.version == 0 and old.data == SMALL
    assert store.save_design(ws, old.id, SMALL, expected_version=0) == 1
    assert store.workspace_exists(ws) and store.workspace_exists(other)  # data without a row gained its row
    assert store.progress(other, "c1").hints == 2


def test_concurrent_progress_updates_do_not_lose_each_other(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A grade saved while a hint is being saved stays saved (one transaction: read and write together).

    The hint's save is held between its read and its write (where the race lived) until the grade is in.
    """
    graded = threading.Event()
    real = Store.progress

    def slow_read(self: Store, workspace: str, challenge: str) -> object:
        found = real(self, workspace, challenge)
        if threading.current_thread().name == "hint":
            graded.wait(timeout=2)
        return found

    monkeypatch.setattr(Store, "progress", slow_read)
    hint = threading.Thread(target=store.save_progress, args=(WS_A, "c1"), kwargs={"hints": 1}, name="hint")
    hint.start()
    store.save_progress(WS_A, "c1", grade={"passed": True, "stars": 2})
    graded.set()
    hint.join()
    p = real(store, WS_A, "c1")
    assert p.hints == 1 and p.passed and p.stars == 2


# ── a store that cannot be opened says why, and changes nothing ──────────────

def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    from sandbox.store import StoreUnavailable
    with pytest.raises(StoreUnavailable, match="it is a directory"):
        Store(tmp_path)


def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    from sandbox.store import StoreUnavailable
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my precious notes\n" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreUnavailable, match="not a SQLite database"):
        Store(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_path_under_a_file_is_refused(tmp_path: Path) -> None:
    from sandbox.store import StoreUnavailable
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreUnavailable, match="is a file, not a folder"):
        Store(tmp_path / "afile" / "sub" / "app.db")


def test_an_empty_file_becomes_a_database(tmp_path: Path) -> None:
    (tmp_path / "app.db").write_bytes(b"")
    Store(tmp_path / "app.db").create_design(WS_A, SMALL)


def unprivileged(code: str) -> str:
    """Run Python `code` without the power to ignore file permissions (root drops CAP_DAC_OVERRIDE); its output."""
    import os
    import shutil
    import subprocess
    import sys
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be tested")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=str(ROOT),
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return done.stdout + done.stderr


OPEN = ("from sandbox.store import Store, StoreUnavailable\n"
        "try:\n    Store({path!r}); print('OPENED')\n"
        "except StoreUnavailable as exc:\n    print('REFUSED', exc)\n")


def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        out = unprivileged(OPEN.format(path=str(folder / "app.db")))
    finally:
        folder.chmod(0o755)
    assert "REFUSED" in out and f"the folder {folder} is not writable" in out, out


def test_a_read_only_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    Store(path).create_design(WS_A, SMALL)
    path.chmod(0o444)
    try:
        out = unprivileged(OPEN.format(path=str(path)))
    finally:
        path.chmod(0o644)
    assert "REFUSED" in out and "it is read-only" in out, out


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
    assert [n for n in d["nodes"]] == ["service", "service2", "db", "cache", "lb", "queue", "limiter", "stream",
                                       "topic"]
    d = edit.add_edge(d, "queue", "service2")
    d = edit.add_edge(d, "stream", "service2")    # a consumer group
    d = edit.add_edge(d, "topic", "service2")     # a subscription
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
    from sandbox.distributions import DISTRIBUTIONS
    for dist in DISTRIBUTIONS:   # every distribution the app offers, so none can be picked into a traceback
        d = edit.set_service_time_dist(SMALL, "api", dist)
        s = sandbox.from_dict(d).nodes["api"].service_time
        assert s.dist == dist and s.mean() == pytest.approx(20)
        back = edit.set_service_time_dist(d, "api", "exponential")   # and back, from the new one's mean
        assert sandbox.from_dict(back).nodes["api"].service_time.mean() == pytest.approx(20)


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
