"""What the pages cost and how they fail, with AppTest: one validation per Build run, no YAML parsed again for
the analysis, and a view that cannot be drawn says so in its own place.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

import sandbox
import sandbox.edit
import sandbox.scenario

from .test_app import SMALL, app, button, with_design
from .test_app_store import shown


def fresh(data: dict[str, Any]) -> dict[str, Any]:
    """The design under a name never used before, so no cached analysis answers for it."""
    return {**data, "name": f"Design {uuid.uuid4().hex[:8]}"}


def counting(monkeypatch: pytest.MonkeyPatch, target: Any, name: str) -> list[int]:
    calls: list[int] = []
    real: Callable[..., Any] = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapper)
    return calls


# ── the Build page validates once and parses nothing again ───────────────────

def test_the_build_page_validates_the_design_once_per_run(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = with_design(db, fresh(SMALL))
    validations = counting(monkeypatch, sandbox.scenario.Scenario, "model_validate")
    at.run()
    assert not at.exception
    assert len(validations) == 1
    assert "Saturates at" in {m.label for m in at.metric}


def test_the_analysis_is_not_fed_yaml_to_parse_again(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = counting(monkeypatch, sandbox.scenario, "loads")
    monkeypatch.setattr(sandbox, "loads", sandbox.scenario.loads)
    dumps = counting(monkeypatch, sandbox.scenario.Scenario, "to_yaml")
    at = with_design(db, fresh(SMALL))
    assert not at.exception and "Saturates at" in {m.label for m in at.metric}
    assert (len(parses), len(dumps)) == (0, 0)


def test_the_analysis_is_cached_by_the_scenario(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import state
    analyses = counting(monkeypatch, sandbox, "analyse")
    design = fresh(SMALL)
    first = state.analyse_cached(sandbox.from_dict(design))
    assert state.analyse_cached(sandbox.from_dict(dict(design))) == first  # an equal scenario: from the cache
    assert len(analyses) == 1
    state.analyse_cached(sandbox.from_dict({**design, "name": design["name"] + "!"}))
    assert len(analyses) == 2


# ── one view that fails does not take the others down ────────────────────────

def run_once(db: Path) -> Any:
    at = with_design(db, fresh(SMALL)).switch_page("app/run.py").run()
    at.number_input(key=[n.key for n in at.number_input if n.label == "Duration (s)"][0]).set_value(10)
    return button(at, "Run simulation").click().run()


def test_a_diagram_that_cannot_be_made_is_an_error_in_its_tab_only(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        raise AttributeError("'RateLimiterNode' object has no attribute 'replicas'")

    monkeypatch.setattr(sandbox, "to_dot", broken)
    at = run_once(db)
    assert not at.exception, [e.value for e in at.exception]
    assert "The architecture diagram could not be drawn" in shown(at.error)
    assert "p99 latency" in {m.label for m in at.metric}
    assert at.tabs and len(at.dataframe) >= 2  # the nodes table and theory beside simulation are still there
    assert any(e.label.startswith("Run history") for e in at.expander)


def test_a_diagram_graphviz_cannot_draw_is_an_error_not_a_blank_chart(db: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    monkeypatch.setattr(sandbox, "to_dot", lambda *a, **k: 'digraph "x {')
    at = run_once(db)
    assert not at.exception
    assert "The architecture diagram could not be drawn" in shown(at.error)
    assert not at.get("graphviz_chart")


def test_every_results_view_is_drawn_on_its_own(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import results_view

    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("t_s")

    monkeypatch.setattr(results_view, "show_latency", broken)
    at = run_once(db)
    assert not at.exception
    assert "This view could not be drawn" in shown(at.error)
    assert "The architecture diagram could not be drawn" not in shown(at.error)
    assert at.get("graphviz_chart")


def test_a_lesson_whose_diagram_fails_still_shows_the_lesson(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        raise AttributeError("no replicas")

    monkeypatch.setattr(sandbox, "to_dot", broken)
    at = app().switch_page("app/challenges.py").run()
    at.toggle(key="reveal.01_scale_out").set_value(True).run()
    assert not at.exception
    assert "The lesson" in shown(at.markdown)
    assert "The architecture diagram could not be drawn" in shown(at.error)
    assert "Open the solution in the builder" in [b.label for b in at.button]
