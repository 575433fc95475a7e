"""Request classes in the app, with AppTest: the classes editor, the class filter on calls, the node's overload
fields, and the per-class results, which a design without classes never shows.

Each test has its own SQLite file (the `db` fixture); runs are a few simulated seconds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from sandbox import edit
from sandbox.store import Store

from .test_app import SMALL, app, button, with_design
from .test_app_hostile import link
from .test_app_store import shown

SHARE_PROBLEM = "the shares must sum to 1; they sum to 0.9 (browse 0.7, checkout 0.2)"

MIX: dict[str, Any] = {
    "name": "Checkout mix",
    "workload": {"entry": "api", "rate_rps": 400, "duration_s": 8, "warmup_s": 1,
                 "classes": {"browse": {"share": 0.8, "slo_ms": 200},
                             "checkout": {"share": 0.2, "slo_ms": 500, "priority": 1, "slo_target": 0.999}}},
    "nodes": {"api": {"kind": "service", "workers": 4, "discipline": "priority",
                      "service_time": {"dist": "exponential", "mean_ms": 5},
                      "shed": {"queue_over": 20, "below_priority": 1}, "max_wait_ms": 300,
                      "bulkheads": {"checkout": 2}},
              "payments": {"kind": "service", "workers": 8,
                           "service_time": {"dist": "lognormal", "mean_ms": 40, "p99_ms": 200}}},
    "edges": [{"from": "api", "to": "payments", "classes": ["checkout"]}],
}

# the tabs of a run's results before classes existed: a design without classes must show exactly these
PLAIN_TABS = ["Latency", "Nodes over time", "Architecture", "Failures", "Traces", "Theory vs simulation"]
PLAIN_FIGURES = ["p50 latency", "p99 latency", "Throughput", "Error rate", "Goodput", "Cost per hour"]


def widget(at: AppTest, kind: str, path: str) -> Any:
    """The widget of `kind` bound to a design field (its key ends with the field's path)."""
    found = [w for w in getattr(at, kind) if (w.key or "").endswith("|" + path)]
    assert found, f"no {kind} for {path}"
    return found[0]


def has_widget(at: AppTest, path: str) -> bool:
    return any((w.key or "").endswith("|" + path) for kind in ("number_input", "selectbox", "toggle", "multiselect")
               for w in getattr(at, kind))


def design(at: AppTest) -> dict[str, Any]:
    return at.session_state["design"]


def inspector(at: AppTest, mode: str) -> AppTest:
    return at.radio(key="inspector").set_value(mode).run()


def run(db: Path, data: dict[str, Any]) -> AppTest:
    at = with_design(db, data).switch_page("app/run.py").run()
    button(at, "Run simulation").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# ── the workload form ────────────────────────────────────────────────────────

def test_a_share_that_breaks_the_sum_shows_the_problem_under_the_classes(db: Path) -> None:
    at = inspector(with_design(db, MIX), "Workload")
    assert [t.value for t in at.text_input if t.label == "Class"] == ["browse", "checkout"]
    widget(at, "number_input", "workload.classes.browse.share").set_value(0.7).run()
    assert not at.exception
    assert design(at)["workload"]["classes"]["browse"] == {"share": 0.7, "slo_ms": 200}
    # under the field: an error of its own holding just the reason (the list of every problem is another)
    assert SHARE_PROBLEM in [shown([e]) for e in at.error]
    assert "Fix the problems above" in shown(at.info)
    widget(at, "number_input", "workload.classes.browse.share").set_value(0.8).run()
    assert "shares must sum to 1" not in shown(at.error)
    assert Store(db).current_design(at.session_state["workspace"]).data["workload"]["classes"]["browse"]["share"] == 0.8


def test_each_class_field_writes_the_design(db: Path) -> None:
    at = inspector(with_design(db, MIX), "Workload")
    widget(at, "number_input", "workload.classes.browse.slo_ms").set_value(150).run()
    widget(at, "number_input", "workload.classes.browse.priority").set_value(2).run()
    widget(at, "number_input", "workload.classes.browse.slo_target").set_value(0.99).run()
    classes = design(at)["workload"]["classes"]
    assert classes["browse"] == {"share": 0.8, "slo_ms": 150, "priority": 2, "slo_target": 0.99}
    widget(at, "number_input", "workload.classes.browse.slo_target").set_value(1.5).run()
    assert "must be less than 1, got 1.5" in shown(at.error)


def test_a_class_is_added_renamed_and_removed_with_every_mention_of_it(db: Path) -> None:
    at = inspector(with_design(db, MIX), "Workload")
    button(at, "Add a class").click().run()
    assert design(at)["workload"]["classes"]["class"] == {"share": 0}
    assert "shares must sum" not in shown(at.error)  # a new class takes nothing from the others yet

    renamed = [t for t in at.text_input if t.label == "Class" and t.value == "checkout"][0]
    renamed.set_value("paid").run()
    d = design(at)
    assert list(d["workload"]["classes"]) == ["browse", "paid", "class"]
    assert d["edges"][0]["classes"] == ["paid"] and d["nodes"]["api"]["bulkheads"] == {"paid": 2}

    [t for t in at.text_input if t.label == "Class" and t.value == "paid"][0].set_value("has space").run()
    assert "a class name starts with a letter" in shown(at.error)
    assert "paid" in design(at)["workload"]["classes"]

    remove = [b for b in at.button if (b.key or "").endswith("|workload.classes.paid.__remove")][0]
    remove.click().run()
    d = design(at)
    assert list(d["workload"]["classes"]) == ["browse", "class"]
    assert d["edges"] == [] and "bulkheads" not in d["nodes"]["api"]  # only paid took the call to payments
    assert "they sum to 0.8" in shown(at.error)


def test_a_design_without_classes_offers_to_add_one(db: Path) -> None:
    at = inspector(with_design(db, SMALL), "Workload")
    assert "One undifferentiated stream of requests" in shown(at.caption)
    assert not [t for t in at.text_input if t.label == "Class"]
    button(at, "Add a class").click().run()
    assert design(at)["workload"]["classes"] == {"class": {"share": 1}}
    assert "to fix before this design can run" not in shown(at.error)


# ── the node form ────────────────────────────────────────────────────────────

def test_the_node_form_sets_discipline_expiry_shedding_and_bulkheads(db: Path) -> None:
    bare = copy.deepcopy(MIX)
    for key in ("discipline", "shed", "max_wait_ms", "bulkheads"):
        del bare["nodes"]["api"][key]
    at = with_design(db, bare)
    at.selectbox(key="sel_node").set_value("api").run()
    widget(at, "selectbox", "nodes.api.discipline").set_value("priority").run()
    widget(at, "number_input", "nodes.api.max_wait_ms").set_value(250).run()
    widget(at, "toggle", "nodes.api.shed.on").set_value(True).run()
    assert design(at)["nodes"]["api"]["shed"] == {"queue_over": 20, "below_priority": 1}
    widget(at, "number_input", "nodes.api.shed.queue_over").set_value(10).run()
    widget(at, "number_input", "nodes.api.bulkheads.checkout").set_value(2).run()
    api = design(at)["nodes"]["api"]
    assert (api["discipline"], api["max_wait_ms"], api["shed"], api["bulkheads"]) == \
        ("priority", 250, {"queue_over": 10, "below_priority": 1}, {"checkout": 2})
    assert not at.exception and "to fix before this design can run" not in shown(at.error)

    widget(at, "number_input", "nodes.api.bulkheads.browse").set_value(2).run()  # 4 of 4 workers reserved
    assert "they must leave at least 1 shared worker" in [shown([e]) for e in at.error][0]
    # (AppTest cannot empty a number field; emptying the last bulkhead is tests/test_edit_classes.py's set_keyed)
    widget(at, "toggle", "nodes.api.shed.on").set_value(False).run()
    assert "shed" not in design(at)["nodes"]["api"]


def test_without_classes_the_node_form_has_no_class_fields_but_sheds_and_expires(db: Path) -> None:
    at = with_design(db, SMALL)
    at.selectbox(key="sel_node").set_value("api").run()
    assert not has_widget(at, "nodes.api.discipline")
    assert not [w for w in at.number_input if ".bulkheads." in (w.key or "")]
    assert has_widget(at, "nodes.api.max_wait_ms") and has_widget(at, "nodes.api.shed.on")
    assert has_widget(at, "nodes.api.route")


def test_a_field_left_to_the_yaml_is_named(db: Path) -> None:
    data = edit.set_field(MIX, "nodes.api.service_time_by_class", {"checkout": {"dist": "constant", "mean_ms": 9}})
    at = with_design(db, data)
    at.selectbox(key="sel_node").set_value("api").run()
    assert "Also set: service_time_by_class (edit them in the YAML below)." in shown(at.caption)


# ── the call form ────────────────────────────────────────────────────────────

def test_a_call_is_limited_to_some_classes_and_empty_means_every_class(db: Path) -> None:
    at = inspector(with_design(db, MIX), "Call")
    chooser = widget(at, "multiselect", "edges.0.classes")
    assert chooser.value == ["checkout"] and chooser.options == ["browse", "checkout"]
    chooser.set_value(["browse", "checkout"]).run()
    assert design(at)["edges"][0]["classes"] == ["browse", "checkout"]
    widget(at, "multiselect", "edges.0.classes").set_value([]).run()
    assert "classes" not in design(at)["edges"][0]
    assert not has_widget(at, "edges.0.weight")  # a service's calls have no weights


def test_a_call_naming_an_unknown_class_shows_it_with_its_problem(db: Path) -> None:
    at = inspector(with_design(db, edit.set_field(MIX, "edges.0.classes", ["refunds"])), "Call")
    assert widget(at, "multiselect", "edges.0.classes").value == ["refunds"]
    assert "'refunds' is not a class of the workload (classes: browse, checkout)" in [shown([e]) for e in at.error]


def test_a_load_balancers_calls_have_weights(db: Path) -> None:
    canary = {"name": "Canary", "workload": {"entry": "lb", "rate_rps": 50, "duration_s": 5},
              "nodes": {"lb": {"kind": "load_balancer"},
                        "stable": {"kind": "service", "workers": 4, "service_time": {"dist": "constant", "mean_ms": 5}},
                        "canary": {"kind": "service", "workers": 4, "service_time": {"dist": "constant", "mean_ms": 5}}},
              "edges": [{"from": "lb", "to": "stable"}, {"from": "lb", "to": "canary"}]}
    at = inspector(with_design(db, canary), "Call")
    at.selectbox(key="sel_edge").set_value(1).run()
    widget(at, "number_input", "edges.1.weight").set_value(1).run()
    assert design(at)["edges"][1]["weight"] == 1
    assert "lb weighs its other calls, so this one needs a weight too" in shown(at.error)
    assert not has_widget(at, "edges.1.classes")  # no classes in this workload: no filter offered


# ── results ──────────────────────────────────────────────────────────────────

def test_a_classed_run_shows_figures_and_charts_per_class(db: Path) -> None:
    at = run(db, MIX)
    figures = {m.label: m for m in at.metric}
    assert [label for label in figures if label not in PLAIN_FIGURES] == [
        "browse · p99 latency", "browse · lost", "browse · error budget burn",
        "checkout · p99 latency", "checkout · lost", "checkout · error budget burn"]
    assert figures["browse · error budget burn"].value == "no budget"  # browse has no SLO target
    assert figures["checkout · error budget burn"].value.endswith("×")
    assert figures["checkout · p99 latency"].delta.endswith("× its SLO")
    assert figures["browse · lost"].value.endswith("%")

    tabs = at.tabs
    assert [t.label for t in tabs] == ["Classes", *PLAIN_TABS]
    charts = tabs[0].get("vega_lite_chart")
    assert len(charts) == 2
    latency, burn = (json.loads(c.proto.spec) for c in charts)
    assert [layer["mark"]["type"] for layer in latency["layer"]] == ["line", "rule"]  # p99 per class, SLO per class
    slos = convert_arrow_bytes_to_pandas_df(charts[0].proto.datasets[1].data.data)
    assert dict(zip(slos["class"], slos["slo_ms"])) == {"browse": 200, "checkout": 500}
    assert [layer["mark"]["type"] for layer in burn["layer"]] == ["line", "rule", "text"]
    budget = convert_arrow_bytes_to_pandas_df(charts[1].proto.datasets[1].data.data)
    assert list(budget["burn_rate"]) == [1.0]  # the budget line: burn rate 1 spends exactly the budget
    rates = convert_arrow_bytes_to_pandas_df(charts[1].proto.datasets[0].data.data)
    assert set(rates["class"]) == {"checkout"}  # only a class with a target has a budget to burn


def test_a_run_without_classes_shows_no_class_figures_tabs_or_charts(db: Path) -> None:
    at = run(db, SMALL)
    assert [m.label for m in at.metric] == PLAIN_FIGURES
    assert [t.label for t in at.tabs] == PLAIN_TABS
    assert "By request class" not in shown(at.markdown) and "per class" not in shown(at.markdown)


# ── designs of the wrong shape ───────────────────────────────────────────────

@pytest.mark.parametrize("change", [
    {"workload.classes": ["browse"]}, {"workload.classes": {"browse": 5}},
    {"workload.classes": {"a.b": {"share": 1}}}, {"workload.classes.browse.share": "most"},
    {"edges.0.classes": "checkout"}, {"edges.0.classes": [1, None]}, {"edges.0.weight": "heavy"},
    {"nodes.api.bulkheads": [2]}, {"nodes.api.bulkheads": {"checkout": "two"}}, {"nodes.api.shed": "yes"},
    {"nodes.api.shed": {"queue_over": [1]}}, {"nodes.api.discipline": ["priority"]},
])
def test_class_fields_of_the_wrong_shape_are_drawn_with_their_problems(db: Path, change: dict[str, Any]) -> None:
    data = MIX
    for path, value in change.items():
        data = edit.set_field(data, path, value)
    at = app(design=link(data))
    at.selectbox(key="sel_node").set_value("api").run()
    for mode in ("Node", "Call", "Workload"):
        inspector(at, mode)
        assert not at.exception, (mode, [e.value for e in at.exception])
    assert "to fix before this design can run" in shown(at.error)


# ── found in the browser ─────────────────────────────────────────────────────

def test_a_refused_class_name_leaves_the_box_showing_the_name_it_keeps(db: Path) -> None:
    at = inspector(with_design(db, MIX), "Workload")
    [t for t in at.text_input if t.label == "Class" and t.value == "browse"][0].set_value("checkout").run()
    assert "Still called browse: there is already a class called 'checkout'" in shown(at.error)
    assert [t.value for t in at.text_input if t.label == "Class"] == ["browse", "checkout"]
    assert list(design(at)["workload"]["classes"]) == ["browse", "checkout"]


def test_the_yaml_box_follows_an_edit_made_in_a_form(db: Path) -> None:
    at = inspector(with_design(db, MIX), "Call")
    widget(at, "multiselect", "edges.0.classes").set_value(["checkout", "browse"]).run()
    yaml_box = [t for t in at.text_area if (t.key or "").endswith("__yaml")][0]
    assert edit.parse_yaml(yaml_box.value)["edges"][0]["classes"] == ["checkout", "browse"]


def test_an_empirical_distribution_is_typed_as_a_list_of_times(db: Path) -> None:
    at = with_design(db, MIX)
    at.selectbox(key="sel_node").set_value("api").run()
    widget(at, "selectbox", "nodes.api.service_time.dist").set_value("empirical").run()
    assert not at.exception
    samples = widget(at, "text_input", "nodes.api.service_time.samples_ms")
    assert samples.value == "5" and "1 measured sample: mean 5 ms, cv 0.00 (one value" in shown(at.caption)
    samples.set_value("4, 6, 8.5, 20").run()
    assert design(at)["nodes"]["api"]["service_time"] == {"dist": "empirical", "samples_ms": [4, 6, 8.5, 20]}
    assert "4 measured samples: mean 9.625 ms" in shown(at.caption)
    widget(at, "text_input", "nodes.api.service_time.samples_ms").set_value("4, six").run()
    assert "Not changed: write numbers of milliseconds separated by commas" in shown(at.error)
    assert widget(at, "text_input", "nodes.api.service_time.samples_ms").value == "4, 6, 8.5, 20"
    widget(at, "text_input", "nodes.api.service_time.samples_ms").set_value("4, -1").run()
    assert "sample 2: must be at least 0, got -1" in shown(at.error)


@pytest.mark.parametrize("dist", ["gamma", "weibull", "pareto"])
def test_a_shape_distribution_shows_its_mean_and_shape(db: Path, dist: str) -> None:
    at = with_design(db, MIX)
    at.selectbox(key="sel_node").set_value("api").run()
    widget(at, "selectbox", "nodes.api.service_time.dist").set_value(dist).run()
    assert not at.exception
    shape = {"gamma": "cv", "weibull": "shape", "pareto": "alpha"}[dist]
    assert widget(at, "number_input", "nodes.api.service_time.mean_ms").value == 5
    widget(at, "number_input", f"nodes.api.service_time.{shape}").set_value(1.5).run()
    assert design(at)["nodes"]["api"]["service_time"][shape] == 1.5


def test_a_classed_run_compares_theory_per_class_and_names_the_class_of_each_trace(db: Path) -> None:
    at = run(db, MIX)
    theory = [t for t in at.tabs if t.label == "Theory vs simulation"][0]
    assert "Per class at each node" in shown(theory.get("markdown"))
    tables = theory.dataframe
    assert len(tables) == 2
    by_class = tables[1].value
    assert {(n, c) for n, c in zip(by_class["node"], by_class["class"])} >= {("api", "browse"), ("api", "checkout")}
    nodes = tables[0].value
    modelled = dict(zip(nodes["node"], nodes["theory"] != "none"))
    assert all(modelled[n] or w is None or w != w for n, w in zip(nodes["node"], nodes["predicted wait ms"]))
    traces = [t for t in at.tabs if t.label == "Traces"][0]
    assert "(request id and class · hop. node)" in shown(traces.get("caption"))
