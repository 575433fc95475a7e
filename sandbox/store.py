"""The store: designs, run history and challenge progress, kept in one SQLite file.

Work is kept per *workspace*, a random id (the app keeps it in the page
address), so a page reload or a server restart finds the same work, and the
visitors of a shared server each have their own. A workspace holds:

- **designs**: the scenario as plain data (what YAML parses to, valid or not yet),
  the positions of its nodes on the canvas, and the challenge it answers, if any;
  one of them is the workspace's *current* design;
- **runs**: one row per simulation run (the scenario's YAML, the seed and a few
  headline figures), the newest few hundred;
- **progress**: per challenge, whether it was passed, the best stars, the hints
  revealed, the last predictions and the last grade.

Data is stored as JSON text and read back with ``json.loads``: nothing stored is
ever executed. Each call opens its own short connection, so one Store serves
many threads (Streamlit runs each session in its own), and the file uses
write-ahead logging so readers do not wait for a writer.

The file is ``$SANDBOX_DB`` when set, else ``.sandbox/app.db`` in a source
checkout of the project, else ``~/.sandbox/app.db``.

>>> import tempfile, os
>>> store = Store(os.path.join(tempfile.mkdtemp(), "app.db"))
>>> d = store.create_design("ws-demo", {"name": "tiny", "nodes": {}}, {"api": (40, 120)})
>>> store.current_design("ws-demo").data["name"], store.current_design("ws-demo").layout
('tiny', {'api': (40.0, 120.0)})
>>> store.save_progress("ws-demo", "01_scale_out", hints=2)
>>> store.progress("ws-demo", "01_scale_out").hints
2
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

__all__ = ["Store", "StoredDesign", "RunRecord", "Progress", "default_path", "new_workspace_id",
           "valid_workspace_id", "RUNS_KEPT"]

RUNS_KEPT = 200  # per workspace; older runs are dropped
_WORKSPACE = re.compile(r"^[A-Za-z0-9_\-]{4,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY, current_design INTEGER, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS designs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, workspace TEXT NOT NULL, name TEXT NOT NULL,
    data TEXT NOT NULL, layout TEXT NOT NULL, challenge TEXT,
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS designs_by_workspace ON designs (workspace, updated);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, workspace TEXT NOT NULL, design_id INTEGER,
    name TEXT NOT NULL, scenario TEXT NOT NULL, seed INTEGER NOT NULL, summary TEXT NOT NULL,
    created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_workspace ON runs (workspace, id);
CREATE TABLE IF NOT EXISTS progress (
    workspace TEXT NOT NULL, challenge TEXT NOT NULL, passed INTEGER NOT NULL DEFAULT 0,
    stars INTEGER NOT NULL DEFAULT 0, hints INTEGER NOT NULL DEFAULT 0,
    predictions TEXT NOT NULL DEFAULT '{}', last_grade TEXT, updated REAL NOT NULL,
    PRIMARY KEY (workspace, challenge));
"""


@dataclass(frozen=True)
class StoredDesign:
    """A design as stored: plain scenario data, node positions, and its challenge (if any)."""
    id: int
    workspace: str
    name: str
    data: dict[str, Any]
    layout: dict[str, tuple[float, float]]
    challenge: str | None
    created: float
    updated: float


@dataclass(frozen=True)
class RunRecord:
    """One simulation run: what was run (YAML text and seed) and its headline figures."""
    id: int
    design_id: int | None
    name: str
    scenario: str
    seed: int
    summary: dict[str, Any]
    created: float


@dataclass(frozen=True)
class Progress:
    """A player's progress on one challenge."""
    challenge: str
    passed: bool = False
    stars: int = 0
    hints: int = 0                      # hints revealed so far
    predictions: dict[str, float] = field(default_factory=dict)
    last_grade: dict[str, Any] | None = None


def default_path() -> Path:
    """Where the app keeps its database: $SANDBOX_DB, else .sandbox/app.db in the project or home."""
    env = os.environ.get("SANDBOX_DB")
    if env:
        return Path(env).expanduser()
    project = Path(__file__).resolve().parent.parent
    if (project / "pyproject.toml").is_file() and os.access(project, os.W_OK):
        return project / ".sandbox" / "app.db"
    return Path.home() / ".sandbox" / "app.db"


def new_workspace_id() -> str:
    """A fresh random workspace id (URL-safe, 16 characters)."""
    return secrets.token_urlsafe(12)


def valid_workspace_id(text: Any) -> bool:
    """True for 4 to 64 letters, digits, '-' or '_'.

    >>> valid_workspace_id("abcd-1234"), valid_workspace_id("../x"), valid_workspace_id(None)
    (True, False, False)
    """
    return isinstance(text, str) and bool(_WORKSPACE.match(text))


def _layout_json(layout: dict[str, Any] | None) -> str:
    return json.dumps({str(k): [float(v[0]), float(v[1])] for k, v in (layout or {}).items()})


def _layout_of(text: str) -> dict[str, tuple[float, float]]:
    return {k: (float(v[0]), float(v[1])) for k, v in json.loads(text).items()}


class Store:
    """Designs, runs and challenge progress in a SQLite file at `path` (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        fresh_dir = not self.path.parent.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh_dir and self.path.parent.name == ".sandbox":
            (self.path.parent / ".gitignore").write_text("*\n", encoding="utf-8")  # never committed
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=15)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL: safe against crashes, fewer fsyncs
        try:
            with db:  # commits, or rolls back on an exception
                yield db
        finally:
            db.close()

    # ── designs ──────────────────────────────────────────────────────────────

    def create_design(self, workspace: str, data: dict[str, Any], layout: dict[str, Any] | None = None,
                      challenge: str | None = None) -> StoredDesign:
        """Store a new design and make it the workspace's current one."""
        _check_workspace(workspace)
        now = time.time()
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO designs (workspace, name, data, layout, challenge, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (workspace, _name(data), json.dumps(data), _layout_json(layout), challenge, now, now))
            design_id = int(cur.lastrowid)
            self._point(db, workspace, design_id, now)
        found = self.design(workspace, design_id)
        assert found is not None
        return found

    def save_design(self, workspace: str, design_id: int, data: dict[str, Any],
                    layout: dict[str, Any] | None = None) -> None:
        """Replace a design's data (and layout, when given); KeyError if it is not in the workspace."""
        now = time.time()
        with self._connect() as db:
            if layout is None:
                cur = db.execute("UPDATE designs SET name = ?, data = ?, updated = ? WHERE id = ? AND workspace = ?",
                                 (_name(data), json.dumps(data), now, design_id, workspace))
            else:
                cur = db.execute("UPDATE designs SET name = ?, data = ?, layout = ?, updated = ? "
                                 "WHERE id = ? AND workspace = ?",
                                 (_name(data), json.dumps(data), _layout_json(layout), now, design_id, workspace))
            if cur.rowcount == 0:
                raise KeyError(f"design {design_id} is not in workspace {workspace!r}")

    def design(self, workspace: str, design_id: int) -> StoredDesign | None:
        """One design of the workspace, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM designs WHERE id = ? AND workspace = ?", (design_id, workspace)).fetchone()
        return _design(row) if row else None

    def designs(self, workspace: str, limit: int = 100) -> list[StoredDesign]:
        """The workspace's designs, the most recently changed first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM designs WHERE workspace = ? ORDER BY updated DESC, id DESC LIMIT ?",
                              (workspace, limit)).fetchall()
        return [_design(r) for r in rows]

    def delete_design(self, workspace: str, design_id: int) -> None:
        """Remove a design (its runs stay in the history)."""
        with self._connect() as db:
            db.execute("DELETE FROM designs WHERE id = ? AND workspace = ?", (design_id, workspace))
            db.execute("UPDATE workspaces SET current_design = NULL WHERE id = ? AND current_design = ?",
                       (workspace, design_id))

    def set_current(self, workspace: str, design_id: int) -> None:
        """Make a design the workspace's current one."""
        if self.design(workspace, design_id) is None:
            raise KeyError(f"design {design_id} is not in workspace {workspace!r}")
        with self._connect() as db:
            self._point(db, workspace, design_id, time.time())

    def current_design(self, workspace: str) -> StoredDesign | None:
        """The design the workspace last worked on (or its newest), None for a new workspace."""
        with self._connect() as db:
            row = db.execute("SELECT d.* FROM workspaces w JOIN designs d ON d.id = w.current_design "
                             "WHERE w.id = ?", (workspace,)).fetchone()
        if row:
            return _design(row)
        newest = self.designs(workspace, limit=1)
        return newest[0] if newest else None

    def challenge_design(self, workspace: str, challenge: str) -> StoredDesign | None:
        """The most recently changed design that answers `challenge`, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM designs WHERE workspace = ? AND challenge = ? "
                             "ORDER BY updated DESC, id DESC LIMIT 1", (workspace, challenge)).fetchone()
        return _design(row) if row else None

    @staticmethod
    def _point(db: sqlite3.Connection, workspace: str, design_id: int, now: float) -> None:
        db.execute("INSERT INTO workspaces (id, current_design, created, updated) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT(id) DO UPDATE SET current_design = excluded.current_design, updated = excluded.updated",
                   (workspace, design_id, now, now))

    # ── runs ─────────────────────────────────────────────────────────────────

    def add_run(self, workspace: str, design_id: int | None, name: str, scenario_yaml: str, seed: int,
                summary: dict[str, Any]) -> int:
        """Record a run; keeps the newest RUNS_KEPT per workspace."""
        _check_workspace(workspace)
        with self._connect() as db:
            cur = db.execute("INSERT INTO runs (workspace, design_id, name, scenario, seed, summary, created) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (workspace, design_id, name, scenario_yaml, int(seed), json.dumps(summary), time.time()))
            db.execute("DELETE FROM runs WHERE workspace = ? AND id NOT IN "
                       "(SELECT id FROM runs WHERE workspace = ? ORDER BY id DESC LIMIT ?)",
                       (workspace, workspace, RUNS_KEPT))
            return int(cur.lastrowid)

    def runs(self, workspace: str, limit: int = 50, design_id: int | None = None) -> list[RunRecord]:
        """The workspace's runs (of one design, when given), newest first."""
        sql = "SELECT * FROM runs WHERE workspace = ?"
        args: list[Any] = [workspace]
        if design_id is not None:
            sql += " AND design_id = ?"
            args.append(design_id)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [RunRecord(r["id"], r["design_id"], r["name"], r["scenario"], r["seed"],
                          json.loads(r["summary"]), r["created"]) for r in rows]

    # ── challenge progress ───────────────────────────────────────────────────

    def progress(self, workspace: str, challenge: str) -> Progress:
        """Progress on one challenge (empty progress when none is recorded)."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM progress WHERE workspace = ? AND challenge = ?",
                             (workspace, challenge)).fetchone()
        return _progress(row) if row else Progress(challenge)

    def all_progress(self, workspace: str) -> dict[str, Progress]:
        """Progress on every challenge the workspace has touched, by challenge id."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM progress WHERE workspace = ?", (workspace,)).fetchall()
        return {r["challenge"]: _progress(r) for r in rows}

    def save_progress(self, workspace: str, challenge: str, *, hints: int | None = None,
                      predictions: dict[str, float] | None = None, grade: dict[str, Any] | None = None) -> None:
        """Update progress: hints revealed, predictions, or a new grade.

        A grade's pass and stars only ever raise the recorded best; the grade
        itself is kept as the last one.
        """
        _check_workspace(workspace)
        old = self.progress(workspace, challenge)
        passed, stars = old.passed, old.stars
        if grade is not None:
            passed = passed or bool(grade.get("passed"))
            stars = max(stars, int(grade.get("stars") or 0))
        row = (workspace, challenge, int(passed), stars, old.hints if hints is None else int(hints),
               json.dumps(old.predictions if predictions is None else predictions),
               json.dumps(grade) if grade is not None else (json.dumps(old.last_grade) if old.last_grade else None),
               time.time())
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO progress (workspace, challenge, passed, stars, hints, predictions, "
                       "last_grade, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)


def _check_workspace(workspace: str) -> None:
    if not valid_workspace_id(workspace):
        raise ValueError(f"workspace ids are 4 to 64 letters, digits, '-' or '_'; got {workspace!r}")


def _name(data: dict[str, Any]) -> str:
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name else "Untitled design"


def _design(row: sqlite3.Row) -> StoredDesign:
    return StoredDesign(row["id"], row["workspace"], row["name"], json.loads(row["data"]),
                        _layout_of(row["layout"]), row["challenge"], row["created"], row["updated"])


def _progress(row: sqlite3.Row) -> Progress:
    return Progress(row["challenge"], bool(row["passed"]), row["stars"], row["hints"],
                    json.loads(row["predictions"]), json.loads(row["last_grade"]) if row["last_grade"] else None)
