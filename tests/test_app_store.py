"""The app and its store, with AppTest: workspaces the server minted, two tabs, a database that cannot be
opened, and messages that stay until the visitor acts.

Each test has its own SQLite file (the `db` fixture sets SANDBOX_DB).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sandbox import share
from sandbox.store import MAX_DESIGNS, Store, new_workspace_id, valid_workspace_id

from .conftest import APP, ROOT
from .test_app import SMALL, app, button, field, with_design


def plain(markdown: str) -> str:
    """What a Markdown source shows as text: character references, backslash escapes and the invisible word
    joiners that keep text from becoming a link (app.text.md) undone."""
    return re.sub(r"\\(.)", r"\1", html.unescape(markdown)).replace("\u2060", "")


def shown(elements) -> str:
    return "\n".join(plain(str(e.value)) for e in elements)


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def address_workspace(at: AppTest) -> str:
    w = at.query_params["w"]
    return w[0] if isinstance(w, list) else w


# ── workspace ids: minted by the server, and present in the store ────────────

@pytest.mark.parametrize("asked", ["test", "ws-test", "alice-secret-design", "0123456789abcdef"])
def test_an_id_the_server_did_not_mint_and_store_gets_a_fresh_one(db: Path, asked: str) -> None:
    at = app(asked)
    assert not at.exception
    ws = at.session_state["workspace"]
    assert ws != asked and valid_workspace_id(ws) and address_workspace(at) == ws


def test_a_chosen_id_does_not_open_someone_elses_work(db: Path) -> None:
    """Alice typed ?w=test once, long ago (an older version let her); Bob typing it sees nothing of hers."""
    Store(db)
    with sqlite3.connect(db) as con:  # the rows an older version would have written
        con.execute("INSERT INTO workspaces (id, current_design, created, updated) VALUES ('test', NULL, 1, 9e9)")
        con.execute("INSERT INTO designs (workspace, name, data, layout, created, updated) "
                    "VALUES ('test', 'Alice''s secret design', ?, '{}', 1, 9e9)", (json.dumps(SMALL),))
    at = app("test")
    assert at.session_state["workspace"] != "test"
    assert at.session_state["design"]["nodes"] == {}


def test_a_minted_id_in_the_store_is_kept_across_reloads(db: Path) -> None:
    at = with_design(db, SMALL)
    ws = at.session_state["workspace"]
    assert address_workspace(at) == ws and list(at.session_state["design"]["nodes"]) == ["api", "db"]
    assert app(ws).session_state["workspace"] == ws


def test_a_visit_that_changes_nothing_stores_nothing(db: Path) -> None:
    at = app()
    ws = at.session_state["workspace"]
    for page in ("app/run.py", "app/experiments.py", "app/challenges.py", "app/build.py"):
        at.switch_page(page).run()
        assert not at.exception
    at.run()
    assert at.session_state["workspace"] == ws  # the session keeps its own id while it has stored nothing
    assert (rows(db, "workspaces"), rows(db, "designs")) == (0, 0)
    again = app(ws)  # a reload before any change: nothing to find, so a fresh id
    assert again.session_state["workspace"] != ws and rows(db, "workspaces") == 0


def test_the_first_change_creates_the_workspace_and_its_design(db: Path) -> None:
    at = app()
    ws = at.session_state["workspace"]
    button(at, "Service").click().run()
    assert not at.exception
    assert (rows(db, "workspaces"), rows(db, "designs")) == (1, 1)
    button(at, "Database").click().run()
    assert rows(db, "designs") == 1  # the same design, saved again
    assert list(app(ws).session_state["design"]["nodes"]) == ["service", "db"]


def test_a_full_workspace_says_so_when_a_new_design_is_asked_for(db: Path) -> None:
    ws = new_workspace_id()
    store = Store(db)
    for _ in range(MAX_DESIGNS):
        store.create_design(ws, SMALL)
    at = app(ws)
    at.selectbox(key="new_from").set_value("Thread-pool cascade")
    button(at, "Create").click().run()
    assert not at.exception
    assert f"holds {MAX_DESIGNS} designs, the most it may" in shown(at.error)
    assert rows(db, "designs") == MAX_DESIGNS and "Started a new design" not in shown(at.success)
    assert list(at.session_state["design"]["nodes"]) == ["api", "db"]  # the design on screen is unchanged


def test_a_saved_design_can_be_deleted_to_make_room(db: Path) -> None:
    ws = new_workspace_id()
    store = Store(db)
    keep = store.create_design(ws, {**SMALL, "name": "Keep"})
    store.create_design(ws, {**SMALL, "name": "Current"})
    at = app(ws)
    at.selectbox(key="open_saved").set_value(keep.id)
    assert button(at, "Delete").disabled  # a deletion is confirmed first
    at.checkbox(key="delete_confirm").check().run()
    button(at, "Delete").click().run()
    assert not at.exception
    assert [d.name for d in store.designs(ws)] == ["Current"]
    assert "Deleted" in shown(at.success) and not at.checkbox(key="delete_confirm").value


# ── two tabs on one workspace ────────────────────────────────────────────────

def test_two_tabs_on_one_workspace_never_silently_overwrite_each_other(db: Path) -> None:
    """Tab A adds a database; tab B, loaded before that, renames the design: B's rename is refused, B is told,
    and B now shows what A saved (the review's lost_update probe, as AppTests)."""
    ws = new_workspace_id()
    Store(db).create_design(ws, {**SMALL, "nodes": {"api": SMALL["nodes"]["api"]}, "edges": []})
    tab_a, tab_b = app(ws), app(ws)
    button(tab_a, "Database").click().run()
    assert list(Store(db).current_design(ws).data["nodes"]) == ["api", "db"]

    field(tab_b, "name").set_value("Renamed in tab B").run()
    assert not tab_b.exception
    assert "Another tab changed this design" in shown(tab_b.warning)
    assert "your last edit was not saved" in shown(tab_b.warning)
    stored = Store(db).current_design(ws)
    assert (stored.name, list(stored.data["nodes"])) == ("Small API", ["api", "db"])  # A's database is kept
    assert list(tab_b.session_state["design"]["nodes"]) == ["api", "db"]  # B reloaded it

    field(tab_b, "name").set_value("Renamed in tab B").run()  # B's next edit, on the fresh copy, is saved
    assert Store(db).current_design(ws).name == "Renamed in tab B"
    button(tab_a, "Cache").click().run()  # now A is the stale one
    assert "Another tab changed this design" in shown(tab_a.warning)
    assert Store(db).current_design(ws).name == "Renamed in tab B"


# ── a database that cannot be opened ─────────────────────────────────────────

def expect_store_message(at: AppTest, path: Path, reason: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    message = shown(at.error)
    assert f"SANDBOX_DB={path} cannot be opened: {reason}" in message, message
    assert "set SANDBOX_DB to a writable file path" in message
    assert len(at.error) == 1


def test_sandbox_db_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_DB", str(tmp_path))
    at = app()
    expect_store_message(at, tmp_path, "it is a directory")
    for page in ("app/run.py", "app/experiments.py", "app/challenges.py"):  # every page says the same
        expect_store_message(at.switch_page(page).run(), tmp_path, "it is a directory")


def test_sandbox_db_a_file_that_is_not_sqlite_is_left_as_it_was(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "thesis.docx"
    path.write_bytes(b"PK\x03\x04 my thesis" * 1000)
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setenv("SANDBOX_DB", str(path))
    expect_store_message(app(), path, "it is not a SQLite database")
    assert hashlib.md5(path.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.docx"]


def test_sandbox_db_under_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "afile" / "app.db"
    monkeypatch.setenv("SANDBOX_DB", str(path))
    expect_store_message(app(), path, f"{tmp_path / 'afile'} is a file, not a folder")


PROBE = """
import json, os, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
print(json.dumps({"exceptions": [e.value for e in at.exception], "errors": [e.value for e in at.error]}))
"""


def app_without_permission_overrides(path: Path) -> dict:
    """The app's first page, run by a process that file permissions bind (root drops CAP_DAC_OVERRIDE)."""
    command = [sys.executable, "-c", PROBE, APP]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be tested")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=str(ROOT),
                          env={**os.environ, "SANDBOX_DB": str(path), "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sandbox_db_in_a_folder_that_cannot_be_written(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        seen = app_without_permission_overrides(folder / "app.db")
    finally:
        folder.chmod(0o755)
    assert seen["exceptions"] == []
    assert [plain(e) for e in seen["errors"]] == [
        f"SANDBOX_DB={folder / 'app.db'} cannot be opened: the folder {folder} is not writable, so the file "
        "cannot be created; set SANDBOX_DB to a writable file path."]


def test_sandbox_db_a_read_only_database(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    Store(path).create_design(new_workspace_id(), SMALL)
    path.chmod(0o444)
    try:
        seen = app_without_permission_overrides(path)
    finally:
        path.chmod(0o644)
    assert seen["exceptions"] == []
    assert [plain(e) for e in seen["errors"]] == [
        f"SANDBOX_DB={path} cannot be opened: it is read-only; set SANDBOX_DB to a writable file path."]


# ── a message stays until the visitor acts ───────────────────────────────────

def test_a_refused_share_link_stays_explained_after_the_canvas_reruns_the_page(db: Path) -> None:
    at = app(design="1not-a-real-link")
    assert "The share link could not be opened" in shown(at.error)
    at.run()  # what the canvas does when it answers its first picture: a rerun with no action
    at.run()
    assert "The share link could not be opened" in shown(at.error)
    button(at, "Service").click().run()  # the visitor's next action
    assert "The share link could not be opened" not in shown(at.error)


def test_an_opened_share_link_says_so_until_dismissed(db: Path) -> None:
    at = app(design=share.encode(SMALL))
    assert "Opened the shared design" in shown(at.success)
    at.run()
    assert "Opened the shared design" in shown(at.success)
    at.button(key="flash_dismiss").click().run()
    assert "Opened the shared design" not in shown(at.success)


def test_a_message_does_not_follow_the_visitor_to_another_page(db: Path) -> None:
    at = app(design="1not-a-real-link")
    at.switch_page("app/run.py").run()
    assert "The share link could not be opened" not in shown(at.error)


# ── what keeps holding ───────────────────────────────────────────────────────

def test_two_sessions_on_two_workspaces_see_only_their_own_runs(db: Path) -> None:
    runs = {}
    sessions = []
    for rate in (40, 60):
        at = with_design(db, {**SMALL, "name": f"At {rate}"}).switch_page("app/run.py").run()
        [n for n in at.number_input if n.label == "Rate (requests/s)"][0].set_value(rate)
        [n for n in at.number_input if n.label == "Duration (s)"][0].set_value(10)
        sessions.append(at)
    for at in sessions:  # both asked before either looks
        button(at, "Run simulation").click().run()
        assert not at.exception
    for at, rate in zip(sessions, (40, 60)):
        ws = at.session_state["workspace"]
        runs[ws] = [r.summary["rate"] for r in Store(db).runs(ws)]
        assert runs[ws] == [rate]
        history = at.dataframe[-1].value
        assert list(history["rate"]) == [rate] and list(history["design"]) == [f"At {rate}"]
    assert len(runs) == 2


def test_negative_values_and_nan_are_refused(db: Path) -> None:
    at = with_design(db, SMALL)
    at.selectbox(key="sel_node").set_value("db").run()
    field(at, "nodes.db.workers").set_value(-3).run()
    assert "must be at least 1, got -3" in shown(at.error)
    opened = app(design=share.encode({**SMALL, "workload": {**SMALL["workload"], "rate_rps": -5}}))
    assert "must be more than 0" in shown(opened.error)
    body = json.dumps({"d": SMALL}).replace('"rate_rps": 50', '"rate_rps": NaN').encode()
    import base64
    import zlib
    nan = app(design="1" + base64.urlsafe_b64encode(zlib.compress(body)).decode().rstrip("="))
    assert "NaN or infinity" in shown(nan.error)


def test_a_widget_that_reports_its_own_value_again_saves_nothing(db: Path) -> None:
    """In the browser a text field sometimes reports its unchanged value after a rerun; that is not an edit
    (each needless save would make another tab's next edit look stale). state.update, outside a page."""
    import streamlit as st
    from app import state
    ws = new_workspace_id()
    record = Store(db).create_design(ws, SMALL, {"api": (1, 2)})
    st.session_state.update({"workspace": ws, "design_id": record.id, "version": 0, "design": dict(SMALL),
                             "layout": {"api": (1.0, 2.0)}, "rev": 0, "challenge": None})
    try:
        state.update(dict(SMALL))                       # the same design again
        state.update(layout={"api": (1.0, 2.0)})        # the same place again
        assert Store(db).current_design(ws).version == 0
        state.update({**SMALL, "name": "Changed"})
        assert Store(db).current_design(ws).version == 1
    finally:
        for key in ("workspace", "design_id", "version", "design", "layout", "rev", "challenge"):
            st.session_state.pop(key, None)


def test_the_open_list_offers_the_design_saved_by_the_first_change(db: Path) -> None:
    at = app()
    assert at.selectbox(key="open_saved").options == []
    button(at, "Service").click().run()
    saved = Store(db).current_design(at.session_state["workspace"])
    assert at.selectbox(key="open_saved").value == saved.id
