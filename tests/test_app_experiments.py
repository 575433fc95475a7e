"""The Experiments page with Streamlit's AppTest: it loads, a compare gives a verdict, a sweep a chart, bad input an error.

Set up as in test_app.py: each test has its own SQLite file (SANDBOX_DB) and a
workspace prepared in the store and named in the address (``?w=``). The runs
are tiny (20 simulated seconds at 50 requests/s, 2 runs) so the file stays quick.
"""

from __future__ import annotations

import html
import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sandbox.store import Store, new_workspace_id

from .conftest import APP
SMALL = {"name": "Small API",
         "workload": {"entry": "api", "rate_rps": 50, "duration_s": 20, "warmup_s": 2, "slo_ms": 200},
         "nodes": {"api": {"kind": "service", "workers": 2, "service_time": {"dist": "exponential", "mean_ms": 20}},
                   "db": {"kind": "database", "workers": 8, "service_time": {"dist": "exponential", "mean_ms": 5}}},
         "edges": [{"from": "api", "to": "db"}]}


def experiments(db: Path, data: dict = SMALL, workspace: str | None = None) -> AppTest:
    workspace = workspace or new_workspace_id()
    Store(db).create_design(workspace, data)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["w"] = workspace
    at.run()
    return at.switch_page("app/experiments.py").run()


def texts(elements) -> str:
    """The text of elements as shown: user text in them is written as character references (app.text.md)."""
    return "\n".join(html.unescape(str(e.value)).replace("\u2060", "") for e in elements)


def widget(at: AppTest, kind: str, key: str):
    found = [w for w in getattr(at, kind) if w.key == key]
    assert found, f"no {kind} {key!r}"
    return found[0]


def submit(at: AppTest, label: str) -> AppTest:
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r} among {[b.label for b in at.button]}"
    return found[0].click().run()


def test_experiments_page_loads(db: Path) -> None:
    at = experiments(db)
    assert not at.exception
    assert [t.value for t in at.title] == ["Experiments"]
    assert "press **Compare**" in texts(at.info) and "press **Sweep**" in texts(at.info)


def test_a_compare_with_a_change_shows_deltas_and_the_verdict(db: Path) -> None:
    at = experiments(db)
    widget(at, "text_area", "exp.compare.changes").input("nodes.api.workers=4")
    widget(at, "number_input", "exp.compare.n").set_value(2)
    widget(at, "number_input", "exp.compare.duration").set_value(20.0)
    at = submit(at, "Compare")
    assert not at.exception and not at.error
    verdict = texts(at.success)
    assert "Verdict:** B " in verdict and "p99" in verdict
    table = at.dataframe[0].value
    assert "figure" in table.columns and "p99" in " ".join(map(str, table["figure"]))
    # the design review then includes the comparison
    at = submit(at, "Prepare design review")
    assert not at.exception and not at.error
    assert any(b.label == "Download design review" for b in at.get("download_button"))


def test_a_sweep_of_three_points_shows_a_chart_and_a_table(db: Path) -> None:
    at = experiments(db)
    widget(at, "text_input", "exp.sweep.axis").input("workload.rate_rps=20:80:3")
    widget(at, "number_input", "exp.sweep.n").set_value(2)
    widget(at, "number_input", "exp.sweep.duration").set_value(20.0)
    at = submit(at, "Sweep")
    assert not at.exception and not at.error
    assert at.get("vega_lite_chart")
    assert len(at.dataframe[0].value) == 3
    assert "knee" in texts(at.caption).lower()


@pytest.mark.parametrize("changes, message", [("nodes.api.workers", "PATH=VALUE"),
                                              ("nodes.nope.workers=3", "nope")])
def test_a_bad_change_shows_an_error_not_a_traceback(db: Path, changes: str, message: str) -> None:
    at = experiments(db)
    widget(at, "text_area", "exp.compare.changes").input(changes)
    at = submit(at, "Compare")
    assert not at.exception
    assert at.error and message in texts(at.error)
    assert "exp_compare" not in at.session_state


def test_fewer_than_two_runs_is_refused(db: Path) -> None:
    at = experiments(db)
    widget(at, "text_area", "exp.compare.changes").input("nodes.api.workers=4")
    widget(at, "number_input", "exp.compare.n").set_value(1)
    at = submit(at, "Compare")
    assert not at.exception
    assert "at least 2 runs" in texts(at.error)


def test_the_review_of_a_design_alone_is_a_zip_with_report_md(db: Path) -> None:
    from app.experiments import _review
    from sandbox.scenario import from_dict
    blob = _review(from_dict(SMALL).to_yaml(), None, None, 2, 0, True)
    names = zipfile.ZipFile(io.BytesIO(blob)).namelist()
    assert "design-review/report.md" in names and any(n.endswith(".png") for n in names)


def test_the_progress_bar_shows_and_a_cached_compare_replays_cleanly(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.widgets
    monkeypatch.setattr(app.widgets, "PROGRESS_AFTER_S", 0.0)  # show the bar even for a short experiment
    at = experiments(db)
    widget(at, "text_area", "exp.compare.changes").input("nodes.db.workers=4")
    widget(at, "number_input", "exp.compare.n").set_value(2)
    at = submit(at, "Compare")
    assert not at.exception and "Verdict:" in texts(at.success)
    at.switch_page("app/build.py").run()
    at.switch_page("app/experiments.py").run()  # the same compare again, from the cache
    assert not at.exception and "Verdict:" in texts(at.success)


def test_an_experiment_too_big_for_the_server_is_refused(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_MAX_REQUESTS", "500")
    at = experiments(db)
    widget(at, "text_input", "exp.sweep.axis").input("workload.rate_rps=10:100:3")
    at = submit(at, "Sweep")
    # the engine's own estimate, as the Run page gives it: 55 rps x 20 s = 1,100 requests at the point that fails
    assert not at.exception and "about 1,100 requests; this server allows 500" in texts(at.error)


def test_an_experiment_with_a_load_profile_is_sized_at_its_peak(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the review's L10: a spike the Run page refuses was run by Experiments, which sized it by its mean rate
    monkeypatch.setenv("SANDBOX_MAX_REQUESTS", "2000")
    spiky = {**SMALL, "workload": {**SMALL["workload"], "rate_rps": 20, "duration_s": 20,
                                   "profile": {"shape": "spike", "at_s": 5, "for_s": 5, "multiplier": 30}}}
    at = experiments(db, spiky)
    widget(at, "text_area", "exp.compare.changes").input("nodes.api.workers=3")
    at = submit(at, "Compare")
    assert not at.exception and "about 12,000 requests; this server allows 2,000" in texts(at.error)


def test_sensitivity_ranks_settings_picked_from_the_design(db: Path) -> None:
    at = experiments(db)
    picker = widget(at, "multiselect", "exp.sens.paths")
    assert set(picker.options) >= {"nodes.api.workers", "nodes.db.workers", "nodes.api.replicas", "workload.rate_rps"}
    picker.set_value(["nodes.api.workers", "nodes.db.workers"])
    widget(at, "number_input", "exp.sens.n").set_value(2)
    at = submit(at, "Rank the settings")
    assert not at.exception and not at.error
    # two api workers at rho 0.5 against eight db connections: api's workers are the knob
    assert "Most effective on p99: nodes.api.workers" in texts(at.success)
    assert at.get("vega_lite_chart")
    rows = at.dataframe[-1].value
    assert list(rows["setting"])[0] == "nodes.api.workers"
