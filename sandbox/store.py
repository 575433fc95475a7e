"""The store: designs, run history and challenge progress, kept in one SQLite file.

Work is kept per *workspace*, a random id the server mints (the app keeps it in
the page address), so a page reload or a server restart finds the same work, and
the visitors of a shared server each have their own. An id is 16 URL-safe
characters holding 96 random bits (:func:`new_workspace_id`); it is a bearer
secret, so nothing here lists workspaces, and an id of any other shape is
refused. A workspace comes into being with its first write (a visitor who only
looks costs nothing) and holds:

- **designs**: the scenario as plain data (what YAML parses to, valid or not yet),
  the positions of its nodes on the canvas, the challenge it answers, if any,
  and a *version* that every save increments; one of them is the workspace's
  *current* design. A save names the version it was loaded at and is refused
  (:class:`StaleDesign`) when the stored design has moved on, so two tabs on one
  workspace cannot silently overwrite each other;
- **runs**: one row per simulation run (the scenario's YAML, the seed and a few
  headline figures), the newest RUNS_KEPT;
- **progress**: per challenge, whether it was passed, the best stars, the hints
  revealed, the last predictions and the last grade.

What one workspace may keep is bounded (MAX_DESIGNS designs of at most
MAX_DESIGN_BYTES, runs of at most MAX_RUN_YAML_BYTES of YAML; :class:`StoreLimit`
says which bound was reached), and a workspace idle for longer than
``$SANDBOX_WORKSPACE_DAYS`` days (default 180; 0 keeps everything) is removed
with everything in it when the store opens.

Data is stored as JSON text and read back with ``json.loads``: nothing stored is
ever executed, and every query is parameterised and scoped to one workspace.
Each call opens its own short connection, so one Store serves many threads
(Streamlit runs each session in its own), the file uses write-ahead logging so
readers do not wait for a writer, and a read-then-write runs in one
``BEGIN IMMEDIATE`` transaction so concurrent writers cannot lose an update.

The file is ``$SANDBOX_DB`` when set, else ``.sandbox/app.db`` in a source
checkout of the project, else ``~/.sandbox/app.db``. A path that cannot hold
the store (a directory, a file that is not SQLite, a read-only file or folder)
raises :class:`StoreUnavailable` with the reason, and nothing there is changed.

Errors (besides ``KeyError`` for a design that is not in the workspace)::

    sandbox.errors.SandboxError
    ├── StoreUnavailable   the file cannot be opened as the store (.path, .reason)
    ├── StoreLimit         a bound on what one workspace may keep was reached
    └── StaleDesign        a save was refused: the design changed since it was loaded

>>> import tempfile, os
>>> store = Store(os.path.join(tempfile.mkdtemp(), "app.db"))
>>> ws = new_workspace_id()
>>> d = store.create_design(ws, {"name": "tiny", "nodes": {}}, {"api": (40, 120)})
>>> store.current_design(ws).data["name"], store.current_design(ws).layout
('tiny', {'api': (40.0, 120.0)})
>>> store.save_design(ws, d.id, {"name": "tinier", "nodes": {}}, expected_version=d.version)
1
>>> store.save_progress(ws, "01_scale_out", hints=2)
>>> store.progress(ws, "01_scale_out").hints
2
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import SandboxError

__all__ = ["Store", "StoredDesign", "RunRecord", "Progress", "StaleDesign", "StoreLimit", "StoreUnavailable",
           "default_path", "new_workspace_id", "valid_workspace_id", "open_problem",
           "RUNS_KEPT", "MAX_DESIGNS", "MAX_DESIGN_BYTES", "MAX_RUN_YAML_BYTES", "WORKSPACE_DAYS"]

RUNS_KEPT = 200                    # per workspace; older runs are dropped
MAX_DESIGNS = 100                  # per workspace
MAX_DESIGN_BYTES = 1024 * 1024     # a design's JSON and its layout (a share link expands to at most 512 KiB)
MAX_RUN_YAML_BYTES = 256 * 1024    # a run's scenario (runs are capped at a few dozen nodes)
WORKSPACE_DAYS = 180.0             # default idle time after which a workspace is removed
_WORKSPACE = re.compile(r"^[A-Za-z0-9_\-]{16}$")  # what new_workspace_id() mints
_SQLITE_HEADER = b"SQLite format 3\x00"

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS workspaces (id TEXT PRIMARY KEY, current_design INTEGER, created REAL NOT NULL, "
    "updated REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS workspaces_by_updated ON workspaces (updated)",
    "CREATE TABLE IF NOT EXISTS designs (id INTEGER PRIMARY KEY AUTOINCREMENT, workspace TEXT NOT NULL, "
    "name TEXT NOT NULL, data TEXT NOT NULL, layout TEXT NOT NULL, challenge TEXT, created REAL NOT NULL, "
    "updated REAL NOT NULL, version INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS designs_by_workspace ON designs (workspace, updated)",
    "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, workspace TEXT NOT NULL, "
    "design_id INTEGER, name TEXT NOT NULL, scenario TEXT NOT NULL, seed INTEGER NOT NULL, summary TEXT NOT NULL, "
    "created REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS runs_by_workspace ON runs (workspace, id)",
    "CREATE TABLE IF NOT EXISTS progress (workspace TEXT NOT NULL, challenge TEXT NOT NULL, "
    "passed INTEGER NOT NULL DEFAULT 0, stars INTEGER NOT NULL DEFAULT 0, hints INTEGER NOT NULL DEFAULT 0, "
    "predictions TEXT NOT NULL DEFAULT '{}', last_grade TEXT, updated REAL NOT NULL, "
    "PRIMARY KEY (workspace, challenge))",
]
# A database written before versions existed may hold runs or progress of a workspace with no row of its own.
_ADOPT_ORPHANS = [
    "INSERT OR IGNORE INTO workspaces (id, current_design, created, updated) "
    "SELECT workspace, NULL, MIN(created), MAX(updated) FROM designs GROUP BY workspace",
    "INSERT OR IGNORE INTO workspaces (id, current_design, created, updated) "
    "SELECT workspace, NULL, MIN(created), MAX(created) FROM runs GROUP BY workspace",
    "INSERT OR IGNORE INTO workspaces (id, current_design, created, updated) "
    "SELECT workspace, NULL, MIN(updated), MAX(updated) FROM progress GROUP BY workspace",
]


class StaleDesign(SandboxError):
    """A save was refused: the stored design changed (another tab saved it) since this copy was loaded."""

    def __init__(self, design_id: int, expected_version: int, stored_version: int) -> None:
        self.design_id, self.expected_version, self.stored_version = design_id, expected_version, stored_version
        super().__init__(f"design {design_id} changed since it was loaded (loaded at version {expected_version}, "
                         f"stored at version {stored_version})")


class StoreLimit(SandboxError):
    """A bound on what one workspace may keep was reached; the message says which."""


class StoreUnavailable(SandboxError):
    """The store's file cannot be opened; ``reason`` says why in plain words, and nothing there was changed."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path} cannot be opened: {reason}")


@dataclass(frozen=True)
class StoredDesign:
    """A design as stored: plain scenario data, node positions, its challenge (if any) and its version."""
    id: int
    workspace: str
    name: str
    data: dict[str, Any]
    layout: dict[str, tuple[float, float]]
    challenge: str | None
    created: float
    updated: float
    version: int = 0


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
    """A fresh random workspace id: 96 random bits as 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def valid_workspace_id(text: Any) -> bool:
    """True for an id of the shape :func:`new_workspace_id` mints (16 letters, digits, '-' or '_').

    >>> valid_workspace_id(new_workspace_id()), valid_workspace_id("abcd-1234"), valid_workspace_id(None)
    (True, False, False)
    """
    return isinstance(text, str) and bool(_WORKSPACE.match(text))


def open_problem(path: str | Path) -> str | None:
    """Why the store could not live at `path`, found without changing anything there; None when it can.

    >>> open_problem("/")
    'it is a directory'
    """
    path = Path(path)
    if path.is_dir():
        return "it is a directory"
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not path.exists():
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"the folder {existing} is not writable, so the file cannot be created"
        return None
    if not path.is_file():
        return "it is not a regular file"
    return _file_problem(path)


def _file_problem(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            header = f.read(len(_SQLITE_HEADER))
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if header and header != _SQLITE_HEADER:  # an empty file is a new database; anything else is someone's file
        return "it is not a SQLite database (the file was left as it is)"
    if not os.access(path, os.W_OK):
        return "it is read-only"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"the folder {path.parent} is not writable (SQLite keeps its journal beside the file)"
    return None


def _workspace_days() -> float:
    try:
        days = float(os.environ.get("SANDBOX_WORKSPACE_DAYS", WORKSPACE_DAYS))
    except ValueError:
        return WORKSPACE_DAYS
    return days if math.isfinite(days) else WORKSPACE_DAYS


class Store:
    """Designs, runs and challenge progress in a SQLite file at `path` (created if missing).

    Opening it migrates an older file and removes workspaces idle for longer
    than `workspace_days` ($SANDBOX_WORKSPACE_DAYS, default 180; 0 or less: never).
    """

    def __init__(self, path: str | Path, workspace_days: float | None = None) -> None:
        self.path = Path(path)
        self.workspace_days = _workspace_days() if workspace_days is None else workspace_days
        problem = open_problem(self.path)
        if problem:
            raise StoreUnavailable(self.path, problem)
        try:
            self._make_folder()
            self._migrate()
            self.expire()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(self.path, f"SQLite says: {exc}") from None

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def _make_folder(self) -> None:
        fresh_dir = not self.path.parent.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh_dir and self.path.parent.name == ".sandbox":
            (self.path.parent / ".gitignore").write_text("*\n", encoding="utf-8")  # never committed

    def _migrate(self) -> None:
        """The schema, and the version column for a file written before it existed."""
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
        with self._connect(immediate=True) as db:  # one process migrates; the others wait, then find it done
            for statement in _SCHEMA:
                db.execute(statement)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(designs)")}
            if "version" not in columns:
                db.execute("ALTER TABLE designs ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
                for statement in _ADOPT_ORPHANS:
                    db.execute(statement)

    @contextmanager
    def _connect(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """A short connection; `immediate` takes the write lock first, so a read and its write are one step."""
        db = sqlite3.connect(self.path, timeout=15)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL: safe against crashes, fewer fsyncs
        try:
            with db:  # commits, or rolls back on an exception
                if immediate:
                    db.execute("BEGIN IMMEDIATE")
                yield db
        finally:
            db.close()

    # ── workspaces ───────────────────────────────────────────────────────────

    def workspace_exists(self, workspace: str) -> bool:
        """True when the workspace has been written to (and not expired)."""
        if not valid_workspace_id(workspace):
            return False
        with self._connect() as db:
            return db.execute("SELECT 1 FROM workspaces WHERE id = ?", (workspace,)).fetchone() is not None

    def touch(self, workspace: str) -> None:
        """Mark an existing workspace as in use now (it expires counting from its last use)."""
        with self._connect() as db:
            db.execute("UPDATE workspaces SET updated = ? WHERE id = ?", (time.time(), workspace))

    def expire(self, now: float | None = None) -> int:
        """Remove workspaces idle for longer than `workspace_days`, with everything in them; how many went."""
        if not self.workspace_days > 0:
            return 0
        cutoff = (time.time() if now is None else now) - self.workspace_days * 86400
        idle = "SELECT id FROM workspaces WHERE updated < ?"
        with self._connect(immediate=True) as db:
            for table in ("designs", "runs", "progress"):  # fixed names; the cutoff is a parameter
                db.execute(f"DELETE FROM {table} WHERE workspace IN ({idle})", (cutoff,))
            return db.execute("DELETE FROM workspaces WHERE updated < ?", (cutoff,)).rowcount

    @staticmethod
    def _touch(db: sqlite3.Connection, workspace: str, now: float) -> None:
        db.execute("INSERT INTO workspaces (id, current_design, created, updated) VALUES (?, NULL, ?, ?) "
                   "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated", (workspace, now, now))

    @staticmethod
    def _point(db: sqlite3.Connection, workspace: str, design_id: int, now: float) -> None:
        db.execute("INSERT INTO workspaces (id, current_design, created, updated) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT(id) DO UPDATE SET current_design = excluded.current_design, updated = excluded.updated",
                   (workspace, design_id, now, now))

    # ── designs ──────────────────────────────────────────────────────────────

    def create_design(self, workspace: str, data: dict[str, Any], layout: dict[str, Any] | None = None,
                      challenge: str | None = None) -> StoredDesign:
        """Store a new design (version 0) and make it the workspace's current one.

        StoreLimit when the workspace already holds MAX_DESIGNS designs or the design is too large.
        """
        _check_workspace(workspace)
        text, layout_text = json.dumps(data), _layout_json(layout)
        _check_design_size(text, layout_text)
        now = time.time()
        with self._connect(immediate=True) as db:
            count = db.execute("SELECT COUNT(*) FROM designs WHERE workspace = ?", (workspace,)).fetchone()[0]
            if count >= MAX_DESIGNS:
                raise StoreLimit(f"this workspace holds {MAX_DESIGNS} designs, the most it may; "
                                 "delete one before creating another")
            cur = db.execute(
                "INSERT INTO designs (workspace, name, data, layout, challenge, created, updated, version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (workspace, _name(data), text, layout_text, challenge, now, now))
            assert cur.lastrowid is not None  # set by every INSERT
            design_id = int(cur.lastrowid)
            self._point(db, workspace, design_id, now)
        found = self.design(workspace, design_id)
        assert found is not None
        return found

    def save_design(self, workspace: str, design_id: int, data: dict[str, Any],
                    layout: dict[str, Any] | None = None, *, expected_version: int) -> int:
        """Replace a design's data (and layout, when given) if it is still at `expected_version`; the new version.

        StaleDesign when the stored design has been saved since (by another tab),
        KeyError when it is not in the workspace, StoreLimit when it is too large.
        """
        _check_workspace(workspace)
        text = json.dumps(data)
        layout_text = None if layout is None else _layout_json(layout)
        _check_design_size(text, layout_text or "")
        now = time.time()
        sets, args = "name = ?, data = ?, updated = ?, version = version + 1", [_name(data), text, now]
        if layout_text is not None:
            sets, args = sets + ", layout = ?", [*args, layout_text]
        with self._connect(immediate=True) as db:
            cur = db.execute(f"UPDATE designs SET {sets} WHERE id = ? AND workspace = ? AND version = ?",
                             (*args, design_id, workspace, expected_version))
            if cur.rowcount == 0:
                row = db.execute("SELECT version FROM designs WHERE id = ? AND workspace = ?",
                                 (design_id, workspace)).fetchone()
                if row is None:
                    raise KeyError(f"design {design_id} is not in this workspace")
                raise StaleDesign(design_id, expected_version, row["version"])
            self._touch(db, workspace, now)
        return expected_version + 1

    def design(self, workspace: str, design_id: int) -> StoredDesign | None:
        """One design of the workspace, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM designs WHERE id = ? AND workspace = ?", (design_id, workspace)).fetchone()
        return _design(row) if row else None

    def designs(self, workspace: str, limit: int = MAX_DESIGNS) -> list[StoredDesign]:
        """The workspace's designs, the most recently changed first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM designs WHERE workspace = ? ORDER BY updated DESC, id DESC LIMIT ?",
                              (workspace, limit)).fetchall()
        return [_design(r) for r in rows]

    def delete_design(self, workspace: str, design_id: int) -> None:
        """Remove a design (its runs stay in the history)."""
        with self._connect() as db:
            db.execute("DELETE FROM designs WHERE id = ? AND workspace = ?", (design_id, workspace))
            db.execute("UPDATE workspaces SET current_design = NULL, updated = ? WHERE id = ? AND current_design = ?",
                       (time.time(), workspace, design_id))

    def set_current(self, workspace: str, design_id: int) -> None:
        """Make a design the workspace's current one."""
        with self._connect(immediate=True) as db:
            if db.execute("SELECT 1 FROM designs WHERE id = ? AND workspace = ?",
                          (design_id, workspace)).fetchone() is None:
                raise KeyError(f"design {design_id} is not in this workspace")
            self._point(db, workspace, design_id, time.time())

    def current_design(self, workspace: str) -> StoredDesign | None:
        """The design the workspace last worked on (or its newest), None for a new workspace."""
        with self._connect() as db:
            row = db.execute("SELECT d.* FROM workspaces w JOIN designs d ON d.id = w.current_design "
                             "WHERE w.id = ? AND d.workspace = ?", (workspace, workspace)).fetchone()
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

    # ── runs ─────────────────────────────────────────────────────────────────

    def add_run(self, workspace: str, design_id: int | None, name: str, scenario_yaml: str, seed: int,
                summary: dict[str, Any]) -> int:
        """Record a run; keeps the newest RUNS_KEPT per workspace. StoreLimit for a scenario too large to keep."""
        _check_workspace(workspace)
        size = len(scenario_yaml.encode("utf-8"))
        if size > MAX_RUN_YAML_BYTES:
            raise StoreLimit(f"the run's scenario is {size:,} bytes of YAML; the history keeps runs of "
                             f"at most {MAX_RUN_YAML_BYTES:,}")
        now = time.time()
        with self._connect() as db:
            cur = db.execute("INSERT INTO runs (workspace, design_id, name, scenario, seed, summary, created) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (workspace, design_id, name, scenario_yaml, int(seed), json.dumps(summary), now))
            db.execute("DELETE FROM runs WHERE workspace = ? AND id NOT IN "
                       "(SELECT id FROM runs WHERE workspace = ? ORDER BY id DESC LIMIT ?)",
                       (workspace, workspace, RUNS_KEPT))
            self._touch(db, workspace, now)
            assert cur.lastrowid is not None  # set by every INSERT
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
                          _loads(r["summary"], {}), r["created"]) for r in rows]

    # ── challenge progress ───────────────────────────────────────────────────

    def progress(self, workspace: str, challenge: str) -> Progress:
        """Progress on one challenge (empty progress when none is recorded)."""
        with self._connect() as db:
            return _read_progress(db, workspace, challenge)

    def all_progress(self, workspace: str) -> dict[str, Progress]:
        """Progress on every challenge the workspace has touched, by challenge id."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM progress WHERE workspace = ?", (workspace,)).fetchall()
        return {r["challenge"]: _progress(r) for r in rows}

    def save_progress(self, workspace: str, challenge: str, *, hints: int | None = None,
                      predictions: dict[str, float] | None = None, grade: dict[str, Any] | None = None) -> None:
        """Update progress: hints revealed, predictions, or a new grade.

        A grade's pass and stars only ever raise the recorded best; the grade
        itself is kept as the last one. The read and the write are one
        transaction, so a grade and a hint saved at once both stay.
        """
        _check_workspace(workspace)
        now = time.time()
        with self._connect(immediate=True) as db:
            old = _read_progress(db, workspace, challenge)
            passed, stars = old.passed, old.stars
            if grade is not None:
                passed = passed or bool(grade.get("passed"))
                stars = max(stars, int(grade.get("stars") or 0))
            last = grade if grade is not None else old.last_grade
            db.execute("INSERT OR REPLACE INTO progress (workspace, challenge, passed, stars, hints, predictions, "
                       "last_grade, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (workspace, challenge, int(passed), stars, old.hints if hints is None else int(hints),
                        json.dumps(old.predictions if predictions is None else predictions),
                        json.dumps(last) if last else None, now))
            self._touch(db, workspace, now)


def _check_workspace(workspace: str) -> None:
    if not valid_workspace_id(workspace):
        raise ValueError(f"a workspace id is 16 letters, digits, '-' or '_', as the server mints them; "
                         f"got {str(workspace)[:40]!r}")


def _check_design_size(text: str, layout_text: str) -> None:
    size = len(text.encode("utf-8")) + len(layout_text.encode("utf-8"))
    if size > MAX_DESIGN_BYTES:
        raise StoreLimit(f"the design is {size:,} bytes as stored; a design may be at most {MAX_DESIGN_BYTES:,}")


def _name(data: Any) -> str:
    name = data.get("name") if isinstance(data, dict) else None
    return str(name)[:200] if name else "Untitled design"


def _loads(text: str, default: Any) -> Any:
    """Stored JSON read back; `default` for text no version of the store could have written."""
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return default


def _layout_json(layout: dict[str, Any] | None) -> str:
    return json.dumps({str(k): [float(v[0]), float(v[1])] for k, v in (layout or {}).items()})


def _layout_of(text: str) -> dict[str, tuple[float, float]]:
    """Node positions read back; an entry that is not two finite numbers is left out."""
    raw = _loads(text, {})
    out = {}
    for name, pos in (raw.items() if isinstance(raw, dict) else ()):
        if (isinstance(pos, list) and len(pos) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                            and math.isfinite(v) for v in pos)):
            out[str(name)] = (float(pos[0]), float(pos[1]))
    return out


def _design(row: sqlite3.Row) -> StoredDesign:
    return StoredDesign(row["id"], row["workspace"], row["name"], _loads(row["data"], {}),
                        _layout_of(row["layout"]), row["challenge"], row["created"], row["updated"], row["version"])


def _read_progress(db: sqlite3.Connection, workspace: str, challenge: str) -> Progress:
    row = db.execute("SELECT * FROM progress WHERE workspace = ? AND challenge = ?", (workspace, challenge)).fetchone()
    return _progress(row) if row else Progress(challenge)


def _progress(row: sqlite3.Row) -> Progress:
    predictions = _loads(row["predictions"], {})
    grade = _loads(row["last_grade"], None) if row["last_grade"] else None
    return Progress(row["challenge"], bool(row["passed"]), row["stars"], row["hints"],
                    predictions if isinstance(predictions, dict) else {}, grade if isinstance(grade, dict) else None)
