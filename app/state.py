"""Session state and storage: the workspace, its current design, and cached runs.

The few explicit session keys live here and are initialised in one place
(:func:`init`): the workspace id (also kept in the page address as ``?w=``, so
a reload finds the same work), the current design (plain scenario data, its
canvas layout, the challenge it answers) and a revision counter that widget
keys carry, so that widgets show fresh values after the design is replaced.
Every change is written through to the SQLite store (:mod:`sandbox.store`).
Simulation results are never stored in the session: they are cached by
scenario YAML text and seed (:func:`simulate_cached`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Callable

import streamlit as st

import sandbox
from sandbox import edit, share
from sandbox.challenges import CAMPAIGN_DIR
from sandbox.store import Store, StoredDesign, default_path, new_workspace_id, valid_workspace_id

PRESETS_DIR = CAMPAIGN_DIR.parent
_EXPERIMENT_KEYS = ("exp_compare", "exp_sweep", "exp_review")  # what the Experiments page was asked to run
_DESIGN_KEYS = ("design_id", "design", "layout", "challenge", "run", "sel_node", "sel_edge") + _EXPERIMENT_KEYS


# ── configuration ────────────────────────────────────────────────────────────

def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def limits() -> sandbox.Limits:
    """Per-run limits for a shared server: $SANDBOX_MAX_REQUESTS, $SANDBOX_MAX_NODES, $SANDBOX_MAX_WALL_S."""
    return sandbox.Limits(max_requests=int(_env_number("SANDBOX_MAX_REQUESTS", 2_000_000)),
                          max_nodes=int(_env_number("SANDBOX_MAX_NODES", 40)),
                          max_wall_s=_env_number("SANDBOX_MAX_WALL_S", 60))


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path)


def store() -> Store:
    """The SQLite store ($SANDBOX_DB, else .sandbox/app.db)."""
    return _open_store(str(default_path()))


# ── cached computations (keyed by text, never by session) ────────────────────

@st.cache_data(max_entries=200, show_spinner=False)
def _simulate(scenario_yaml: str, seed: int, limit: tuple[int | None, int | None, float | None],
              _progress: Callable[[float], None] | None = None) -> sandbox.Results:
    scenario = sandbox.loads(scenario_yaml, source="<design>")
    return sandbox.simulate(scenario, seed=seed, limits=sandbox.Limits(*limit), progress=_progress)


def simulate_cached(scenario_yaml: str, seed: int, progress: Callable[[float], None] | None = None
                    ) -> sandbox.Results:
    """Results of one run under this server's limits, cached by the scenario's YAML text, the seed and the limits.

    `progress` (which may draw) is called from this thread, never from inside the
    cached function: the run goes on in a worker thread that only records how far
    it is, so the cache never records a Streamlit element to replay. Raises
    ScenarioError for an invalid scenario and SimulationError when a run limit is
    reached (neither is cached).
    """
    lim = limits()
    key = (lim.max_requests, lim.max_nodes, lim.max_wall_s)
    if progress is None:
        return _simulate(scenario_yaml, seed, key)
    done = [0.0]
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-run")
    try:
        future = pool.submit(_simulate, scenario_yaml, seed, key, _progress=lambda share: done.__setitem__(0, share))
        while True:
            try:
                return future.result(timeout=0.1)
            except FutureTimeout:
                progress(done[0])
    finally:
        pool.shutdown(wait=False)  # a stopped script leaves the run to finish within its wall-time limit


@st.cache_data(max_entries=500, show_spinner=False)
def analyse_cached(scenario_yaml: str) -> sandbox.Analysis:
    """The back-of-envelope analysis of a valid scenario, cached by its YAML text."""
    return sandbox.analyse(sandbox.loads(scenario_yaml, source="<design>"))


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
    """Set up the session: workspace from the address, a shared design, the current design."""
    ss = st.session_state
    ws = _workspace()
    if ss.get("workspace") != ws:
        for key in _DESIGN_KEYS:
            ss.pop(key, None)
        ss["workspace"] = ws
    ss.setdefault("rev", 0)
    token = st.query_params.get("design")
    if token:
        del st.query_params["design"]
        _open_shared(token)
    if "design_id" not in ss:
        current = store().current_design(ws)
        if current is None:
            current = store().create_design(ws, edit.empty_design(), {})
        _adopt(current)


def _workspace() -> str:
    ss = st.session_state
    asked = st.query_params.get("w")
    if valid_workspace_id(asked):
        ws = asked
    elif valid_workspace_id(ss.get("workspace")):
        ws = ss["workspace"]
    else:
        ws = new_workspace_id()
    if st.query_params.get("w") != ws:
        st.query_params["w"] = ws
    return ws


def _open_shared(token: str) -> None:
    try:
        data, layout = share.decode(token)
    except sandbox.ScenarioError as exc:
        flash("error", f"The share link could not be opened: {exc.problems[0][1]}.")
        return
    open_new(data, layout or edit.auto_layout(data))
    flash("success", f"Opened the shared design “{data.get('name') or 'Untitled design'}”.")


def _adopt(record: StoredDesign) -> None:
    ss = st.session_state
    layout = dict(record.layout)
    missing = [n for n in (record.data.get("nodes") or {}) if n not in layout]
    if missing:  # a design from a file or a link: lay out what has no position
        auto = edit.auto_layout(record.data)
        layout.update({n: auto[n] for n in missing})
    ss["design_id"], ss["design"], ss["layout"], ss["challenge"] = record.id, record.data, layout, record.challenge
    for key in ("run", *_EXPERIMENT_KEYS):
        ss.pop(key, None)
    ss.pop("sel_edge", None)
    ss.pop("sel_node", None)
    ss["rev"] = ss.get("rev", 0) + 1


def workspace() -> str:
    return st.session_state["workspace"]


def design() -> dict[str, Any]:
    """The current design as plain scenario data (possibly invalid while being edited)."""
    return st.session_state["design"]


def layout() -> dict[str, tuple[float, float]]:
    return st.session_state["layout"]


def design_id() -> int:
    return st.session_state["design_id"]


def challenge_id() -> str | None:
    """The challenge the current design answers, if any."""
    return st.session_state.get("challenge")


def rev() -> int:
    return st.session_state["rev"]


def widget_key(path: str) -> str:
    """A widget key for a design field; it changes whenever the design is replaced."""
    return f"f{rev()}|{path}"


def update(data: dict[str, Any] | None = None, layout: dict[str, tuple[float, float]] | None = None,
           structural: bool = False) -> None:
    """Change the current design (and/or its layout) and save it.

    `structural` renews every field widget (after renames, removals, replacements).
    """
    ss = st.session_state
    if data is not None:
        ss["design"] = data
    if layout is not None:
        ss["layout"] = layout
    if structural:
        ss["rev"] += 1
    store().save_design(workspace(), design_id(), ss["design"], ss["layout"])


def open_new(data: dict[str, Any], layout: dict[str, tuple[float, float]] | None = None,
             challenge: str | None = None) -> None:
    """Store a new design and make it current."""
    _adopt(store().create_design(workspace(), data, layout if layout is not None else edit.auto_layout(data),
                                 challenge))


def open_saved(saved_id: int) -> None:
    """Make a saved design of this workspace current."""
    record = store().design(workspace(), saved_id)
    if record is None:
        flash("error", "That design is no longer saved.")
        return
    store().set_current(workspace(), saved_id)
    _adopt(record)


def flash(kind: str, text: str) -> None:
    """A message shown once, at the top of the next page drawn."""
    st.session_state["flash"] = (kind, text)
