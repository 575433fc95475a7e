"""Session state and storage: the workspace, its current design, and cached runs.

The few explicit session keys live here and are initialised in one place
(:func:`init`): the workspace id (also kept in the page address as ``?w=``, so
a reload finds the same work), the current design (plain scenario data, its
canvas layout, the challenge it answers, the stored version it was loaded at)
and a revision counter that widget keys carry, so that widgets show fresh
values after the design is replaced.

Workspace ids are minted here (:func:`sandbox.store.new_workspace_id`); an id
in the address is used only when the store holds it, so nobody can pick one.
Nothing is stored for a visitor until they change something: a new workspace's
empty design, and a design opened from a share link, live in the session until
the first edit saves them. Every change is then written through to the SQLite
store (:mod:`sandbox.store`), conditionally on the version this session loaded,
so a second tab's save is never silently overwritten: the stored design is
reloaded instead, and the visitor told. A message for the visitor (:func:`flash`)
stays until their next edit, until they dismiss it, or until they go to another
page. Simulation results are never stored in the session: they are cached by
scenario YAML text and seed (:func:`simulate_cached`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import streamlit as st

import sandbox
from sandbox import edit, share
from sandbox.challenges import CAMPAIGN_DIR
from sandbox.store import (StaleDesign, Store, StoredDesign, StoreLimit, StoreUnavailable, default_path,
                           new_workspace_id, valid_workspace_id)

from app.text import md

PRESETS_DIR = CAMPAIGN_DIR.parent
_EXPERIMENT_KEYS = ("exp_compare", "exp_sweep", "exp_review")  # what the Experiments page was asked to run
_DESIGN_KEYS = ("design_id", "design", "layout", "challenge", "version", "shared", "run", "sel_node",
                "sel_edge", "flash") + _EXPERIMENT_KEYS


# ── configuration ────────────────────────────────────────────────────────────

def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def limits() -> sandbox.Limits:
    """Per-run limits for a shared server: $SANDBOX_MAX_REQUESTS, $SANDBOX_MAX_NODES, $SANDBOX_MAX_WALL_S,
    $SANDBOX_MAX_EVENTS, $SANDBOX_MAX_USERS (the engine enforces them; see sandbox.Limits)."""
    return sandbox.Limits(max_requests=int(_env_number("SANDBOX_MAX_REQUESTS", 2_000_000)),
                          max_nodes=int(_env_number("SANDBOX_MAX_NODES", 40)),
                          max_wall_s=_env_number("SANDBOX_MAX_WALL_S", 60),
                          max_events=int(_env_number("SANDBOX_MAX_EVENTS", 100_000_000)),
                          max_users=int(_env_number("SANDBOX_MAX_USERS", 10_000)))


def max_experiment_wall_s() -> float:
    """Seconds of wall time one experiment (all its runs) may take: $SANDBOX_MAX_EXPERIMENT_WALL_S."""
    return _env_number("SANDBOX_MAX_EXPERIMENT_WALL_S", 300)


@st.cache_resource(show_spinner=False)
def _run_slots(count: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(max(1, count))


def run_slots() -> tuple[threading.BoundedSemaphore, int]:
    """The server's run slots, shared by every visitor: $SANDBOX_MAX_RUNS runs (or experiments) at once."""
    count = max(1, int(_env_number("SANDBOX_MAX_RUNS", 2)))
    return _run_slots(count), count


def _slot_wait_s() -> float:
    """How long a run waits for a free slot before the visitor is told the server is busy ($SANDBOX_RUN_SLOT_WAIT_S)."""
    return _env_number("SANDBOX_RUN_SLOT_WAIT_S", 10)


_TICK_S = 0.1


@contextmanager
def run_slot() -> Iterator[None]:
    """Hold one of the server's run slots while simulating (taken only for work not already cached).

    Raises SimulationError when no slot frees within $SANDBOX_RUN_SLOT_WAIT_S seconds.
    """
    slots, count = run_slots()
    if not slots.acquire(timeout=_slot_wait_s()):
        raise sandbox.SimulationError(f"this server is running {count} simulations for its visitors already, its "
                                      "most at once; try again in a moment")
    try:
        yield
    finally:
        slots.release()


def in_background(fn: Callable[..., Any], *args: Any, on_tick: Callable[[], None] | None = None,
                  deadline_s: float | None = None, what: str = "run", **kwargs: Any) -> Any:
    """``fn(*args, _cancel=..., **kwargs)`` (a cached run or experiment) in a worker thread.

    This thread waits for it and calls `on_tick` (which may draw) every 0.1 s; it
    also touches the page, so that when the visitor leaves or reruns the script,
    Streamlit stops this thread there, and the `finally` below cancels the run
    (the engine checks every few thousand events) instead of leaving it to burn
    the server's CPU. A run past `deadline_s` seconds is cancelled and reported.
    """
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sandbox-{what}")
    touch = st.empty()
    t0 = time.perf_counter()
    try:
        future = pool.submit(fn, *args, _cancel=stop.is_set, **kwargs)
        while True:
            try:
                return future.result(timeout=_TICK_S)
            except FutureTimeout:
                if deadline_s is not None and time.perf_counter() - t0 > deadline_s:
                    stop.set()
                    try:
                        future.result()
                    except sandbox.SandboxError:
                        pass
                    raise sandbox.SimulationError(
                        f"the {what} reached this server's limit of {deadline_s:g} s of wall time (fewer runs, "
                        "fewer points or a shorter duration fit)") from None
                if on_tick is not None:
                    on_tick()
                else:
                    touch.empty()   # a page update: where Streamlit stops a script that is no longer wanted
    finally:
        stop.set()   # the visitor left or the script reran: the run stops within a few thousand events
        pool.shutdown(wait=False)
        touch.empty()


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path)


def store() -> Store:
    """The SQLite store ($SANDBOX_DB, else .sandbox/app.db); StoreUnavailable when it cannot be opened."""
    return _open_store(str(default_path()))


def store_problem() -> str | None:
    """Why the store cannot be opened, in one plain sentence naming the variable and the path; None when it can."""
    try:
        store()
    except StoreUnavailable as exc:
        where = f"SANDBOX_DB={exc.path}" if os.environ.get("SANDBOX_DB") else f"The app's database {exc.path}"
        return f"{where} cannot be opened: {exc.reason}; set SANDBOX_DB to a writable file path."
    return None


# ── cached computations (keyed by text, never by session) ────────────────────

@st.cache_data(max_entries=200, show_spinner=False)
def _simulate(scenario_yaml: str, seed: int, limit: sandbox.Limits,
              _progress: Callable[[float], None] | None = None,
              _cancel: Callable[[], bool] | None = None) -> sandbox.Results:
    scenario = sandbox.loads(scenario_yaml, source="<design>")
    with run_slot():
        return sandbox.simulate(scenario, seed=seed, limits=limit, progress=_progress, cancel=_cancel)


def simulate_cached(scenario_yaml: str, seed: int, progress: Callable[[float], None] | None = None
                    ) -> sandbox.Results:
    """Results of one run under this server's limits, cached by the scenario's YAML text, the seed and the limits.

    `progress` (which may draw) is called from this thread, never from inside the
    cached function: the run goes on in a worker thread that only records how far
    it is, so the cache never records a Streamlit element to replay. Raises
    ScenarioError for an invalid scenario and SimulationError when a run limit is
    reached or the server has no free run slot (none of these is cached). The run
    holds one of the server's run slots and is cancelled when the visitor leaves
    (see :func:`in_background`).
    """
    done = [0.0]
    tick = (lambda: progress(done[0])) if progress is not None else None
    return in_background(_simulate, scenario_yaml, seed, limits(), on_tick=tick,
                         _progress=lambda share: done.__setitem__(0, share))


def simulate_here(scenario_yaml: str, seed: int, cancel: Callable[[], bool] | None = None) -> sandbox.Results:
    """The cached run, made in this thread: for work that is itself already in a background thread."""
    return _simulate(scenario_yaml, seed, limits(), _cancel=cancel)


def analyse_cached(scenario: sandbox.Scenario) -> sandbox.Analysis:
    """The back-of-envelope analysis of a valid scenario, cached by its plain data (nothing is parsed again)."""
    return _analyse(json.dumps(scenario.to_dict(), sort_keys=True), scenario)


@st.cache_data(max_entries=500, show_spinner=False)
def _analyse(key: str, _scenario: sandbox.Scenario) -> sandbox.Analysis:
    return sandbox.analyse(_scenario)


@st.cache_data(show_spinner=False)
def presets() -> dict[str, str]:
    """Example scenarios by their names: {name: path}."""
    out = {}
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        try:
            out[sandbox.load(path).name] = str(path)
        except sandbox.ScenarioError:
            continue
    return out


@st.cache_data(show_spinner=False)
def campaign() -> list[tuple[str, str]]:
    """The challenges in campaign order: [(id, path)], the id being the file's stem."""
    from sandbox.challenges import campaign as find
    return [(Path(p).stem, str(p)) for p, _ in find()]


def challenge_scenario(challenge_id: str) -> sandbox.Scenario | None:
    """The challenge file's scenario, or None for an unknown id."""
    paths = dict(campaign())
    return sandbox.load(paths[challenge_id]) if challenge_id in paths else None


# ── the session ──────────────────────────────────────────────────────────────

def init() -> None:
    """Set up the session: the workspace from the address, a shared design, the current design."""
    ss = st.session_state
    ws = _workspace()
    if ss.get("workspace") != ws:
        for key in _DESIGN_KEYS:
            ss.pop(key, None)
        ss["workspace"] = ws
        store().touch(ws)  # a visit is use: an existing workspace expires counting from now
    ss.setdefault("rev", 0)
    ss.setdefault("serial", 0)
    token = st.query_params.get("design")
    if token == "":
        del st.query_params["design"]
    elif token and token != ss.get("shared"):
        _open_shared(token)
    if "design_id" not in ss:
        current = store().current_design(ws)
        if current is None:
            _take(edit.empty_design(), {}, None, None, None)  # stored at the first change, not before
        else:
            _adopt(current)


def _workspace() -> str:
    """This session's workspace: its own, else one in the address that the store holds, else a new one."""
    ss = st.session_state
    asked, own = st.query_params.get("w"), ss.get("workspace")
    if own is not None and asked in (None, own):
        ws = own
    elif isinstance(asked, str) and valid_workspace_id(asked) and store().workspace_exists(asked):
        ws = asked
    else:
        ws = own or new_workspace_id()
    if asked != ws:
        st.query_params["w"] = ws
    return ws


def _open_shared(token: str) -> None:
    """Show the design a share link holds; it is stored (and the link leaves the address) at the first change."""
    st.session_state["shared"] = token
    try:
        data, layout = share.decode(token)
    except sandbox.ScenarioError as exc:
        del st.query_params["design"]
        reasons = "; ".join(md(f"{path}: {reason}" if path else reason) for path, reason in exc.problems[:5])
        flash("error", f"The share link could not be opened: {reasons}.")
        return
    _take(data, layout, None, None, None)
    flash("success", f"Opened the shared design “{md(data.get('name') or 'Untitled design')}”. "
                     "It is saved in your workspace as soon as you change it.")


def _adopt(record: StoredDesign) -> None:
    """Make a stored design current; what an older version stored in a shape this one cannot draw is left out."""
    data, problems = share.drawable(record.data)
    if problems:
        lines = "; ".join(md(f"{path}: {reason}" if path else reason) for path, reason in problems[:8])
        flash("warning", f"Parts of this saved design could not all be read and are left out: {lines}. "
                         "Your next change saves it without them.")
    _take(data, record.layout, record.id, record.version, record.challenge)


def _take(data: dict[str, Any], layout: dict[str, tuple[float, float]], design_id: int | None,
          version: int | None, challenge: str | None) -> None:
    ss = st.session_state
    layout = dict(layout)
    missing = [n for n in (data.get("nodes") or {}) if n not in layout]
    if missing:  # a design from a file or a link: lay out what has no position
        auto = edit.auto_layout(_layout_input(data))
        layout.update({n: auto[n] for n in missing})
    ss["design_id"], ss["version"], ss["challenge"] = design_id, version, challenge
    ss["design"], ss["layout"] = data, layout
    for key in ("run", "sel_edge", "sel_node", *_EXPERIMENT_KEYS):
        ss.pop(key, None)
    ss["rev"] = ss.get("rev", 0) + 1
    ss["serial"] = ss.get("serial", 0) + 1


def _layout_input(data: dict[str, Any]) -> dict[str, Any]:
    """The part of a (possibly invalid) design that auto_layout can read: calls and an entry that are names."""
    nodes = data.get("nodes") or {}
    entry = (data.get("workload") or {}).get("entry")
    edges = [e for e in data.get("edges") or []
             if isinstance(e, dict) and isinstance(e.get("from"), str) and isinstance(e.get("to"), str)]
    return {"nodes": nodes, "edges": edges, "workload": {"entry": entry if isinstance(entry, str) else None}}


def workspace() -> str:
    return st.session_state["workspace"]


def design() -> dict[str, Any]:
    """The current design as plain scenario data (possibly invalid while being edited)."""
    return st.session_state["design"]


def layout() -> dict[str, tuple[float, float]]:
    return st.session_state["layout"]


def design_id() -> int | None:
    """The current design's id in the store; None until its first change stores it."""
    return st.session_state["design_id"]


def challenge_id() -> str | None:
    """The challenge the current design answers, if any."""
    return st.session_state.get("challenge")


def rev() -> int:
    return st.session_state["rev"]


def canvas_key() -> str:
    """The canvas component's key: a new canvas for each design made current, the same one while it is edited."""
    return f"canvas-{st.session_state['serial']}"


def widget_key(path: str) -> str:
    """A widget key for a design field; it changes whenever the design is replaced."""
    return f"f{rev()}|{path}"


def update(data: dict[str, Any] | None = None, layout: dict[str, tuple[float, float]] | None = None,
           structural: bool = False) -> None:
    """Change the current design (and/or its layout) and save it.

    `structural` renews every field widget (after renames, removals, replacements).
    Nothing is saved when nothing changed; a change of the design itself is the
    visitor's next action, so it ends the message shown.
    """
    ss = st.session_state
    changed = (data is not None and data != ss["design"]) or (layout is not None and layout != ss["layout"])
    if structural:
        ss["rev"] += 1
    if not changed:  # a widget that reports its own value again (it happens after a rerun) changes nothing
        return
    if data is not None and data != ss["design"]:
        ss["design"] = data
        clear_flash()
    if layout is not None:
        ss["layout"] = layout
    save()


def save() -> None:
    """Write the session's design to the store: the first time as a new design, then only over the version
    this session loaded. When another tab saved it since, the stored design is shown instead, and the visitor
    told; nothing is overwritten either way."""
    ss = st.session_state
    try:
        if ss["design_id"] is None:
            record = store().create_design(workspace(), ss["design"], ss["layout"], ss.get("challenge"))
            ss["design_id"], ss["version"] = record.id, record.version
            st.query_params.pop("design", None)  # the link's design is now this workspace's own
        else:
            ss["version"] = store().save_design(workspace(), ss["design_id"], ss["design"], ss["layout"],
                                                expected_version=ss["version"])
    except StaleDesign:
        stored = store().design(workspace(), ss["design_id"])
        if stored is not None:
            _adopt(stored)
        flash("warning", "**Another tab changed this design** since this page loaded it, so your last edit was "
                         "not saved. This is the design as that tab saved it; make the change again if you still "
                         "want it.")
    except KeyError:  # deleted in another tab: keep this copy, as a new design
        ss["design_id"] = None
        save()
        flash("warning", "This design was deleted in another tab; your copy is saved as a new design.")
    except StoreLimit as exc:
        flash("error", f"**Your last change was not saved:** {md(exc)}.")


def open_new(data: dict[str, Any], layout: dict[str, tuple[float, float]] | None = None,
             challenge: str | None = None) -> bool:
    """Store a new design and make it current; False (and a message) when the workspace has no room."""
    try:
        record = store().create_design(workspace(), data,
                                       layout if layout is not None else edit.auto_layout(_layout_input(data)),
                                       challenge)
    except StoreLimit as exc:
        flash("error", f"**No new design was made:** {md(exc)}.")
        return False
    _adopt(record)
    return True


def open_saved(saved_id: int) -> None:
    """Make a saved design of this workspace current."""
    record = store().design(workspace(), saved_id)
    if record is None:
        flash("error", "That design is no longer saved.")
        return
    store().set_current(workspace(), saved_id)
    _adopt(record)


def delete_saved(saved_id: int) -> None:
    """Remove a saved design of this workspace; when it is the current one, the newest left becomes current."""
    record = store().design(workspace(), saved_id)
    if record is None:
        return
    store().delete_design(workspace(), saved_id)
    if saved_id == design_id():
        current = store().current_design(workspace())
        if current is None:
            _take(edit.empty_design(), {}, None, None, None)
        else:
            store().set_current(workspace(), current.id)
            _adopt(current)
    flash("success", f"Deleted the saved design “{md(record.name, limit=80)}”.")


def record_run(name: str, scenario_yaml: str, seed: int, summary: dict[str, Any]) -> str | None:
    """Add a run to this workspace's history (storing the design first if it was never saved);
    why it could not be kept, or None."""
    if design_id() is None:
        save()
    try:
        store().add_run(workspace(), design_id(), name, scenario_yaml, seed, summary)
    except StoreLimit as exc:
        return str(exc)
    return None


# ── messages ─────────────────────────────────────────────────────────────────

def flash(kind: str, text: str, tables: list[tuple[str, list[dict[str, Any]]]] | None = None) -> None:
    """A message (Markdown, user text in it escaped), with tables of plain rows under it, shown at the top of
    the page until the visitor's next edit, until dismissed, or until another page is shown: never lost to a
    rerun nobody asked for."""
    st.session_state["flash"] = {"kind": kind, "text": text, "page": None, "tables": tables or []}


def flash_tables() -> list[tuple[str, list[dict[str, Any]]]]:
    """The tables of the message being shown (titles and plain rows)."""
    msg = st.session_state.get("flash")
    return list(msg.get("tables") or []) if msg else []


def clear_flash() -> None:
    st.session_state.pop("flash", None)


def current_flash(page: str) -> tuple[str, str] | None:
    """The message to show on `page` (kind, text), if any: it belongs to the first page that shows it (its
    tables: :func:`flash_tables`)."""
    msg = st.session_state.get("flash")
    if not msg:
        return None
    if msg["page"] is None:
        msg["page"] = page
    elif msg["page"] != page:
        clear_flash()
        return None
    return msg["kind"], msg["text"]
