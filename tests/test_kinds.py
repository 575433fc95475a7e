"""Every node kind is one module in one table, and works through every view of the sandbox.

A new kind cannot ship half done: for each registered kind, a small design
with it is validated, simulated, analysed, drawn, reported in text and in
Markdown, and written as JSON; its palette default, form fields and price are
checked against its spec. And no code outside the kind's own module spells the
kind's name, so nothing can treat a kind specially behind the table's back.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest

import sandbox
from sandbox import edit
from sandbox.kinds import KINDS, kind_of
from sandbox.report import analysis_text, summary_text
from sandbox.report_md import design_review

from .conftest import ROOT


def small_design(kind: str) -> dict:
    """The palette's node of `kind` at the entry, calling a service (a kind the palette does not offer, which
    needs nodes of its own, as its smallest design)."""
    if not KINDS[kind].in_palette:
        flag = {"kind": kind, "control": "sink", "treatment": "sink2", "schedule": [{"at_s": 0, "share": 0.5}],
                "guardrails": [{"metric": "error_rate", "max_increase": 0.01}], "check_every_s": 2}
        sink = {"kind": "service", "workers": 4, "service_time": {"dist": "exponential", "mean_ms": 5}}
        return {"name": f"one {kind}", "workload": {"entry": "flag", "rate_rps": 40, "duration_s": 12, "warmup_s": 2},
                "nodes": {"flag": flag, "sink": sink, "sink2": dict(sink)},
                "edges": [{"from": "flag", "to": "sink"}, {"from": "flag", "to": "sink2"}]}
    stem, node = edit.PALETTE[kind]
    return {"name": f"one {kind}", "workload": {"entry": stem if stem != "service" else "front",
                                                "rate_rps": 40, "duration_s": 12, "warmup_s": 2},
            "nodes": {stem if stem != "service" else "front": node,
                      "sink": {"kind": "service", "workers": 4, "service_time": {"dist": "exponential", "mean_ms": 5}}},
            "edges": [{"from": stem if stem != "service" else "front", "to": "sink"}]}


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_works_through_every_view(name: str, tmp_path: Path) -> None:
    s = sandbox.from_dict(small_design(name))
    entry = s.workload.entry
    assert kind_of(s.nodes[entry]) is KINDS[name]
    r = sandbox.simulate(s, seed=1)
    assert r.requests.completed > 0 and r.nodes[entry].kind == name
    a = sandbox.analyse(s)
    assert a.nodes[entry].kind == name and a.saturation_rps > 0
    for dot in (sandbox.to_dot(s), sandbox.to_dot(s, r)):
        assert f"shape={KINDS[name].shape}" in dot and KINDS[name].label in dot
    assert entry in summary_text(r) and entry in analysis_text(s, a)
    report = design_review(s, tmp_path / "review", n=2, workers=1)
    assert KINDS[name].label in report.read_text()
    assert json.loads(r.to_json())["nodes"][entry]["kind"] == name
    assert sandbox.to_graph(s).nodes[entry]["kind"] == name


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_describes_itself_completely(name: str) -> None:
    k = KINDS[name]
    assert k.name == name and k.label and k.shape and k.icon and k.stem
    assert k.price >= 0
    assert k.palette["kind"] == name
    fields = {f.alias or n for n, f in k.spec.model_fields.items()}
    assert "kind" in fields and "cost_per_hour" in fields
    for row in k.form:
        for f in row:
            assert f.path.split(".")[0] in fields, f"{name}: form field {f.path} is not in its spec"
            if f.widget == "choice":
                assert f.choices
    for path in k.yaml_only:
        assert path in fields
    assert k.spec.model_fields["kind"].annotation.__args__ == (name,)  # a one-value Literal: the table's key


def _kind_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KINDS]


def test_only_a_kinds_own_module_spells_its_name() -> None:
    own = {name: Path(inspect.getfile(type(k))).resolve() for name, k in KINDS.items()}
    table = (ROOT / "sandbox" / "kinds" / "__init__.py").resolve()
    found = []
    for folder in ("sandbox", "app"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, value in _kind_strings(path):
                if path.resolve() not in (own[value], table):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {value!r}")
    assert found == [], "kind names outside their kind's module:\n" + "\n".join(found)
