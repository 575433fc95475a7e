"""The app's runs are bounded whatever the visitor does: limits on every page, a cap on runs at once, cancellation.

The reliability review (L4-L12) found the Experiments page applying no node or
wall limit and sizing a spike by its mean, runs that kept going after the
visitor had left, and no bound on how many runs one server takes at once. Here
each is tried through the app (AppTest) or through the function every page
runs its work with (:func:`app.state.in_background`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sandbox.errors import RunCancelled, SimulationError

from .test_app import SMALL, button, texts, with_design

LONG = {**SMALL, "workload": {**SMALL["workload"], "duration_s": 100_000, "rate_rps": 50}}


def _busy_threads(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def test_a_run_whose_page_goes_away_is_cancelled_not_left_running(db: Path) -> None:
    # Streamlit stops a script that is no longer wanted (the tab closed, a rerun) by raising at its next page
    # update; here on_tick raises as Streamlit would. The run must stop, not go on for its wall-time limit.
    from app import state
    import sandbox

    class Stopped(Exception):
        pass

    t0 = time.perf_counter()

    def leave() -> None:
        if time.perf_counter() - t0 > 0.3:
            raise Stopped

    text = sandbox.from_dict(LONG).to_yaml()
    seen: list[BaseException] = []

    def run(yaml_text: str, _cancel: object = None) -> None:
        try:
            sandbox.simulate(sandbox.loads(yaml_text), cancel=_cancel)  # type: ignore[arg-type]
        except BaseException as exc:  # what the run ended with, seen from its own thread
            seen.append(exc)
            raise

    with pytest.raises(Stopped):
        state.in_background(run, text, on_tick=leave, what="cancel-test")
    deadline = time.perf_counter() + 2.0
    while _busy_threads("sandbox-cancel-test") and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert _busy_threads("sandbox-cancel-test") == []   # 100,000 simulated seconds would take minutes
    assert seen and isinstance(seen[0], RunCancelled)


def test_an_experiment_past_the_servers_budget_is_stopped_and_says_so(db: Path) -> None:
    from app import state
    import sandbox
    s = sandbox.from_dict(LONG)
    t0 = time.perf_counter()
    with pytest.raises(SimulationError, match="limit of 0.5 s of wall time"):
        state.in_background(lambda _cancel: sandbox.replicate(s, n=2, workers=1, cancel=_cancel),
                            deadline_s=0.5, what="experiment")
    assert time.perf_counter() - t0 < 3.0


def test_runs_beyond_the_servers_cap_wait_then_are_refused(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import state
    monkeypatch.setenv("SANDBOX_MAX_RUNS", "1")
    monkeypatch.setenv("SANDBOX_RUN_SLOT_WAIT_S", "0.3")
    slots, count = state.run_slots()
    assert count == 1
    # a design no earlier test ran: a run already in the cache needs no slot (it is only shown again)
    at = with_design(db, {**SMALL, "name": f"Only here {time.time_ns()}"})
    at = at.switch_page("app/run.py").run()
    assert slots.acquire(timeout=5)   # another visitor's run holds the only slot
    try:
        button(at, "Run simulation").click().run()
    finally:
        slots.release()
    assert not at.exception
    assert "running 1 simulations for its visitors already" in texts(at.error)
    button(at, "Run simulation").click().run()   # the slot is free again: the run goes ahead
    assert not at.exception and any(m.label == "p99 latency" for m in at.metric)


def _experiments(db: Path, data: dict):
    at = with_design(db, data)
    return at.switch_page("app/experiments.py").run()


def _compare(at):
    [w for w in at.text_area if w.key == "exp.compare.changes"][0].input("nodes.api.workers=3")
    return button(at, "Compare").click().run()


def test_experiments_apply_the_node_limit(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_MAX_NODES", "1")   # the review's L8: 41 nodes ran against a limit of 40
    at = _compare(_experiments(db, SMALL))
    assert not at.exception and "the design has 2 nodes; this server allows 1" in texts(at.error)


def test_experiments_apply_the_wall_time_limit_to_every_run(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_MAX_WALL_S", "0.5")   # L9: four 10 s runs against a 5 s limit
    monkeypatch.setenv("SANDBOX_MAX_REQUESTS", "100000000")
    long_enough = {**SMALL, "workload": {**SMALL["workload"], "duration_s": 5000}}
    at = _experiments(db, long_enough)
    [w for w in at.number_input if w.key == "exp.compare.duration"][0].set_value(5000.0)
    t0 = time.perf_counter()
    at = _compare(at)
    assert not at.exception and "wall-time limit of 0.5 s" in texts(at.error)
    assert time.perf_counter() - t0 < 20
