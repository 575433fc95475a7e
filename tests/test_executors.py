"""Process pools never run the parent's main script in their workers.

A Streamlit page, or a test run after an AppTest, has a ``__main__`` that is a
script file; a pool that prepares its workers from it would run that script
again in every worker (the app would open its database, create a workspace
and draw a page, with no one to see it).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from sandbox import executors

from .conftest import ROOT


def main_script_of_this_process() -> str | None:
    """What a worker took as the parent's main script, if anything (runs in the worker)."""
    mp_main = sys.modules.get("__mp_main__")
    return getattr(mp_main, "MARK", None)


def test_pool_workers_do_not_run_the_parents_main_script(monkeypatch: pytest.MonkeyPatch) -> None:
    script = ROOT / "tests" / "data" / "marker_main.py"
    fake = types.ModuleType("__main__")
    fake.__file__ = str(script)
    fake.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", fake)
    with executors.executor_for(workers=2) as pool:
        seen = [f.result() for f in [pool.submit(main_script_of_this_process) for _ in range(4)]]
    assert seen == [None] * 4
    assert sys.modules["__main__"] is fake  # put back after the workers started


def test_pool_workers_run_experiments_whatever_main_is(monkeypatch: pytest.MonkeyPatch) -> None:
    import sandbox
    fake = types.ModuleType("__main__")
    fake.__file__ = str(Path(ROOT / "streamlit_app.py"))
    fake.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", fake)
    s = sandbox.loads("name: x\nworkload: {entry: s, rate_rps: 20, duration_s: 5}\n"
                      "nodes: {s: {kind: service, service_time: {dist: exponential, mean_ms: 5}}}\n")
    pooled = sandbox.replicate(s, n=2, workers=2)
    here = sandbox.replicate(s, n=2, workers=1)
    assert pooled.figures == here.figures
