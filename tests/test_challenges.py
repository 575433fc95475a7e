"""The challenge campaign and its grader.

Every file in scenarios/challenges/ must validate, its starter must fail at least
one objective, its reference solution must pass every objective in every seed
(with room to spare) without breaking a constraint, and grading must be
deterministic. The campaign as a whole must be a progression of at least twelve
challenges over levels 1 to 5. Constraint violations and bad challenge files must
be explained in words, and `sandbox challenge` must exit 0, 1 or 2 as documented.

Grading runs the simulation once per seed, so each grade is computed once here
and shared (see `_graded`).
"""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

import sandbox
from sandbox import ScenarioError
from sandbox.challenges import CAMPAIGN_DIR, Grade, campaign, check_constraints, design, grade, load_design
from sandbox.cli import main
from sandbox.scenario import from_dict

from .conftest import ROOT

FOLDER = ROOT / "scenarios" / "challenges"
FILES = sorted(FOLDER.glob("*.yaml"))
IDS = [p.stem for p in FILES]
MARGIN = 0.05  # the reference solution's worst run must clear every target by this share of its room


@lru_cache(maxsize=None)
def _challenge(path: Path) -> sandbox.Scenario:
    return sandbox.load(path)


@lru_cache(maxsize=None)
def _runs(path: Path, which: str) -> tuple[sandbox.Results, ...]:
    ch = _challenge(path)
    d = design(ch, which)
    return tuple(sandbox.simulate(d, seed=s) for s in ch.challenge.seeds)


@lru_cache(maxsize=None)
def _graded(path: Path, which: str) -> Grade:
    """The grade of the starter or the solution, simulated once per test session."""
    ch = _challenge(path)
    return grade(design(ch, which), ch, runs=_runs(path, which))


def _variant(s: sandbox.Scenario, **changes: object) -> sandbox.Scenario:
    """A design derived from `s` (without its challenge section), with top-level fields replaced."""
    data = s.to_dict()
    data.pop("challenge", None)
    data.update(changes)
    return from_dict(data)


def _margin(op: str, target: float, worst: float) -> float:
    """How far the worst run is from the target, as a share of the room the target leaves.

    For an upper bound the room is the target itself (p99 <= 250: a worst run of
    200 clears it by 20%). For a lower bound on a share (goodput >= 0.95) the room
    is what may be lost, 1 - target, as well as the target itself; the larger
    margin counts (0.98 against 0.95 clears it by 60% of the 0.05 that may be lost).
    """
    if not math.isfinite(worst):
        return -math.inf
    if op in ("<=", "<"):
        return (target - worst) / abs(target) if target else -worst
    margins = [(worst - target) / abs(target) if target else worst]
    if 0 < target < 1:
        margins.append((worst - target) / (1 - target))
    return max(margins)


# ── every challenge file ─────────────────────────────────────────────────────

@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_file_validates_as_a_challenge_named_by_its_order(path: Path) -> None:
    s = _challenge(path)
    assert s.challenge is not None, f"{path.name} has no challenge section"
    m = re.fullmatch(r"(\d\d)_[a-z0-9_]+", path.stem)
    assert m, f"{path.name} is not named NN_slug.yaml"
    assert s.challenge.order == int(m.group(1)), f"{path.name}: order {s.challenge.order} does not match its name"
    assert 1 <= s.challenge.level <= 5


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_brief_lesson_and_hints_are_written_out(path: Path) -> None:
    ch = _challenge(path).challenge
    assert len(ch.brief.split()) >= 40, "the brief should tell the story: the product, the traffic, what hurts"
    paragraphs = [p for p in ch.lesson.split("\n\n") if p.strip()]
    assert len(paragraphs) >= 2 and len(ch.lesson.split()) >= 120, "the lesson should take a few paragraphs"
    assert len(ch.hints) >= 2 and len(set(ch.hints)) == len(ch.hints), "at least two different hints"
    assert all(len(h.split()) >= 4 for h in ch.hints)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_constraints_fix_the_workload_and_restrict_the_design(path: Path) -> None:
    s = _challenge(path)
    c = s.challenge.constraints
    assert c.editable != ["nodes.*", "edges"] or c.add_kinds or c.max_replicas or c.budget_per_hour, \
        "a challenge should say what may change"
    starter = design(s, "starter")
    busier = _variant(starter, workload={**starter.workload.model_dump(mode="json", exclude_none=True),
                                         "duration_s": starter.workload.duration_s / 2})
    problems = check_constraints(starter, busier, s.challenge)
    assert any("workload is fixed" in p for p in problems), problems


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_starter_fails_at_least_one_objective_and_says_why(path: Path) -> None:
    g = _graded(path, "starter")
    assert g.violations == [], "the starter is the file itself: it cannot break the challenge's constraints"
    failed = [o for o in g.objectives if not o.passed]
    assert failed, f"{path.name}: the starter passes every objective"
    assert not g.passed and g.stars == 0 and g.score < 100
    for o in failed:
        metric = o.objective.rsplit(" ", 2)[0]
        assert o.cause and metric in o.cause and "against" in o.cause and "Why:" in o.cause, o.cause
    assert g.summary().startswith("FAIL: ")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_solution_passes_every_objective_in_every_seed_with_room_to_spare(path: Path) -> None:
    ch = _challenge(path).challenge
    g = _graded(path, "solution")
    assert g.violations == [], f"{path.name}: the reference solution breaks a constraint: {g.violations}"
    for o in g.objectives:
        assert o.passed and len(o.runs) == len(ch.seeds), o.cause
        spec = next(x for x in ch.objectives if x.text() == o.objective)
        margin = _margin(spec.op, spec.target, o.worst)
        assert margin >= MARGIN, (f"{path.name}: {o.objective} is met by the solution only narrowly "
                                  f"(worst run {o.worst:.4g}, runs {o.runs})")
    assert g.passed and g.score == 100 and g.stars >= 1
    assert g.summary().startswith("PASS")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_grading_is_deterministic(path: Path) -> None:
    ch = _challenge(path)
    again = grade(design(ch, "solution"), ch)  # simulated afresh
    assert again.to_dict() == _graded(path, "solution").to_dict()


@pytest.mark.parametrize("path", [p for p in FILES if _challenge(p).challenge.predict],
                         ids=[p.stem for p in FILES if _challenge(p).challenge.predict])
def test_predictions_are_scored_against_the_runs(path: Path) -> None:
    ch = _challenge(path)
    sol = design(ch, "solution")
    base = _graded(path, "solution")
    actual = {p.id: p.actual for p in base.predictions}
    assert all(v is not None and math.isfinite(v) for v in actual.values()), actual
    right = grade(sol, ch, actual, runs=_runs(path, "solution"))
    assert all(p.right and p.relative_error == 0 for p in right.predictions)
    assert right.stars == base.stars + 1  # the prediction star, on top of the others
    wrong = grade(sol, ch, {k: 3 * v + 1 for k, v in actual.items()}, runs=_runs(path, "solution"))
    assert not any(p.right for p in wrong.predictions)
    assert wrong.passed and wrong.stars == right.stars - 1


# ── the campaign as a whole ──────────────────────────────────────────────────

def test_campaign_is_a_progression_of_at_least_twelve_challenges() -> None:
    found = campaign()
    assert [p for p, _ in found] == sorted(FILES, key=lambda p: _challenge(p).challenge.order)
    assert all(s.challenge is not None for s in map(_challenge, FILES)), "every file in the folder is a challenge"
    assert len(found) >= 12
    chs = [s.challenge for _, s in found]
    assert {c.level for c in chs} == {1, 2, 3, 4, 5}
    assert [c.level for c in chs] == sorted(c.level for c in chs), "levels never go down along the campaign"
    assert len({c.title for c in chs}) == len(chs), "titles are unique"
    assert len({c.order for c in chs}) == len(chs), "orders are unique"
    assert len({s.name for _, s in found}) == len(chs), "scenario names are unique"
    assert sum(bool(c.predict) for c in chs) * 2 >= len(chs), "at least half the challenges ask for predictions"
    assert CAMPAIGN_DIR == FOLDER


def test_challenge_runs_are_short() -> None:
    for path in FILES:
        w = _challenge(path).workload
        assert w.duration_s <= 120, path.name
        assert w.peak_rate() <= 600, path.name


# ── constraint violations, in words ──────────────────────────────────────────

def _file(stem: str) -> Path:
    (path,) = [p for p in FILES if p.stem == stem]
    return path


SCALE_OUT = _file("01_scale_out")


def test_changing_the_workload_is_a_violation() -> None:
    s = _challenge(SCALE_OUT)
    starter = design(s, "starter")
    slower = _variant(starter, workload={**starter.workload.model_dump(mode="json", exclude_none=True),
                                         "rate_rps": 100})
    assert check_constraints(starter, slower, s.challenge) == [
        "the workload is fixed by the challenge; change the architecture, not the traffic"]


def test_adding_a_forbidden_kind_names_the_node_and_the_kinds_allowed() -> None:
    s = _challenge(SCALE_OUT)
    starter = design(s, "starter")
    nodes = starter.to_dict()["nodes"]
    nodes["cache"] = {"kind": "cache", "hit_ratio": 0.9}
    problems = check_constraints(starter, _variant(starter, nodes=nodes), s.challenge)
    assert any("'cache' (cache) was added" in p and "kinds you may add: none" in p for p in problems), problems


def test_too_many_replicas_and_a_field_not_editable_are_named() -> None:
    s = _challenge(SCALE_OUT)
    starter = design(s, "starter")
    nodes = starter.to_dict()["nodes"]
    nodes["web"]["replicas"] = 9
    nodes["web"]["workers"] = 16
    problems = check_constraints(starter, _variant(starter, nodes=nodes), s.challenge)
    assert "web may run 9 replicas; the most allowed is 6" in problems
    assert any(p.startswith("nodes.web.workers was changed") and "nodes.web.replicas" in p for p in problems), problems
    assert not any("replicas was changed" in p for p in problems)


def test_removing_a_node_and_changing_fixed_edges_are_named() -> None:
    s = _challenge(_file("02_find_the_bottleneck"))
    starter = design(s, "starter")
    data = starter.to_dict()
    del data["nodes"]["pricing"]
    edges = [e for e in data["edges"] if e["to"] != "pricing"]
    problems = check_constraints(starter, _variant(starter, nodes=data["nodes"], edges=edges), s.challenge)
    assert any("'pricing' was removed" in p for p in problems), problems
    assert any("the calls (edges) were changed" in p for p in problems), problems


def test_going_over_the_budget_gives_the_cost_and_the_budget() -> None:
    s = _challenge(_file("04_read_replicas"))
    sol = design(s, "solution")
    nodes = sol.to_dict()["nodes"]
    nodes["replica"]["replicas"] = 3
    problems = check_constraints(design(s, "starter"), _variant(sol, nodes=nodes), s.challenge)
    assert problems == ["the design costs $1.80 per hour; the budget is $1.50"]


def test_a_design_that_breaks_a_constraint_fails_with_score_zero(tmp_path: Path) -> None:
    s = _challenge(_file("07_balancing_policy"))
    data = design(s, "solution").to_dict()
    data["nodes"]["report"]["replicas"] = 6  # more servers: not allowed here
    mine = tmp_path / "mine.yaml"
    mine.write_text(json.dumps({"nodes": data["nodes"], "edges": data["edges"]}), encoding="utf-8")
    g = grade(load_design(mine, s), s)
    assert not g.passed and g.score == 0 and g.stars == 0
    assert g.violations == ["nodes.report.replicas was changed; this challenge lets you change only nodes.lb.policy"]
    assert g.summary() == f"FAIL: {g.violations[0]}"


# ── bad challenge files ──────────────────────────────────────────────────────

TINY = """\
name: Tiny
workload: {entry: api, rate_rps: 50, duration_s: 12, warmup_s: 2, slo_ms: 200}
nodes:
  api: {kind: service, workers: 1, queue_limit: 50, service_time: {dist: exponential, mean_ms: 30}}
challenge:
  title: Tiny
  level: LEVEL
  brief: One worker, 50 requests a second of 30 ms each.
  lesson: 50 x 0.030 = 1.5 busy workers are needed; one is not enough.
  objectives: [OBJECTIVE, "requests.rejected / requests.arrived <= 0.01"]
  constraints: {editable: ["nodes.api.workers"]}
  hints: ["How many workers are busy?", "Add workers."]
  predict: [{id: p99, question: "p99 in ms?", metric: latency_ms.p99}]
SOLUTION"""
SOLUTION = """\
  solution:
    nodes:
      api: {kind: service, workers: 4, queue_limit: 50, service_time: {dist: exponential, mean_ms: 30}}
"""


def _tiny(level: str = "1", objective: str = '"latency_ms.p99 <= 300"', solution: str = SOLUTION) -> str:
    return TINY.replace("LEVEL", level).replace("OBJECTIVE", objective).replace("SOLUTION", solution)


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as err:
        sandbox.loads(text, source="bad.yaml")
    assert str(err.value).startswith("bad.yaml: ")
    return err.value.problems


def test_the_tiny_challenge_is_valid() -> None:
    assert sandbox.loads(_tiny()).challenge.title == "Tiny"


def test_an_objective_that_is_not_metric_op_number_is_explained() -> None:
    ((path, reason),) = _problems(_tiny(objective='"latency <= abc"'))
    assert path == "challenge.objectives[0]"
    assert "'latency <= abc'" in reason and "METRIC OP NUMBER" in reason and "latency_ms.p99 <= 250" in reason


def test_an_unknown_metric_root_lists_the_known_ones() -> None:
    ((path, reason),) = _problems(_tiny(objective='"speed.p99 <= 100"'))
    assert path == "challenge.objectives[0].metric"
    assert "'speed.p99'" in reason and "latency_ms" in reason and "goodput" in reason and "nodes" in reason


def test_a_missing_solution_is_required() -> None:
    assert _problems(_tiny(solution="")) == [("challenge.solution", "is required")]


def test_a_level_out_of_range_gives_the_range() -> None:
    ((path, reason),) = _problems(_tiny(level="9"))
    assert path == "challenge.level" and "at most 5" in reason and "9" in reason


def test_an_invalid_solution_is_reported_under_its_own_path() -> None:
    broken = SOLUTION + "    edges:\n      - {from: api, to: nowhere}\n"
    problems = _problems(_tiny(solution=broken))
    assert any(p.startswith("challenge.solution.edges[0]") and "'nowhere' is not a node" in r for p, r in problems), \
        problems


# ── the command line ─────────────────────────────────────────────────────────

def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


@pytest.fixture
def tiny(write_yaml) -> Path:
    return write_yaml(_tiny(), "tiny.yaml")


def test_check_exits_1_for_the_starter_and_says_why(tiny: Path) -> None:
    code, text = _cli("challenge", "check", str(tiny))
    assert code == 1
    assert text.startswith("Tiny: FAIL: ") and "FAIL  latency_ms.p99 <= 300" in text and "Why:" in text


def test_check_exits_0_for_the_solution(tiny: Path) -> None:
    code, text = _cli("challenge", "check", str(tiny), "--solution", "--json")
    assert code == 0
    d = json.loads(text)
    assert d["passed"] and d["violations"] == [] and d["score"] == 100 and d["stars"] >= 1
    assert [o["passed"] for o in d["objectives"]] == [True, True]


def test_check_grades_a_design_file_and_predictions(tiny: Path, write_yaml) -> None:
    mine = write_yaml("nodes:\n  api: {kind: service, workers: 3, queue_limit: 50,"
                      " service_time: {dist: exponential, mean_ms: 30}}\n", "mine.yaml")
    code, text = _cli("challenge", "check", str(tiny), "--design", str(mine), "--predict", "p99=150")
    assert code == 0 and "PASS" in text and "predicted p99: 150 vs " in text
    code, text = _cli("challenge", "check", str(tiny), "--design", str(mine))
    assert code == 0 and "(no prediction given)" in text and "None" not in text
    slower = write_yaml("workload: {entry: api, rate_rps: 10, duration_s: 12}\nnodes:\n"
                        "  api: {kind: service, workers: 1, queue_limit: 50,"
                        " service_time: {dist: exponential, mean_ms: 30}}\n", "slower.yaml")
    code, text = _cli("challenge", "check", str(tiny), "--design", str(slower))
    assert code == 1 and "constraint broken: the workload is fixed" in text


def test_check_exits_2_for_bad_input(tiny: Path, write_yaml, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_yaml(_tiny(level="9"), "bad.yaml")
    assert _cli("challenge", "check", str(bad))[0] == 2
    assert "challenge.level" in capsys.readouterr().err
    assert _cli("challenge", "check", str(tiny), "--design", str(tiny.parent / "missing.yaml"))[0] == 2
    assert "no such file" in capsys.readouterr().err
    assert _cli("challenge", "check", str(tiny), "--predict", "nope=1")[0] == 2
    assert "this challenge asks: p99" in capsys.readouterr().err
    plain = write_yaml("name: plain\nworkload: {entry: api, rate_rps: 5, duration_s: 5}\nnodes:\n"
                       "  api: {kind: service, service_time: {dist: constant, mean_ms: 1}}\n", "plain.yaml")
    assert _cli("challenge", "check", str(plain))[0] == 2
    assert "no challenge section" in capsys.readouterr().err


def test_python_m_sandbox_exit_code_for_a_bad_challenge(write_yaml) -> None:
    bad = write_yaml(_tiny(objective='"latency <= abc"'), "bad.yaml")
    proc = subprocess.run([sys.executable, "-m", "sandbox", "challenge", "check", str(bad)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "challenge.objectives[0]" in proc.stderr and "Traceback" not in proc.stderr


def test_list_json_gives_the_campaign_in_order() -> None:
    proc = subprocess.run([sys.executable, "-m", "sandbox", "challenge", "list", "--json"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    rows = json.loads(proc.stdout)
    assert [Path(r["file"]).name for r in rows] == [p.name for p, _ in campaign()]
    assert len(rows) >= 12
    for r in rows:
        s = _challenge(FOLDER / Path(r["file"]).name)
        assert r["title"] == s.challenge.title and r["level"] == s.challenge.level
        assert r["objectives"] == [o.text() for o in s.challenge.objectives]


def test_list_text_numbers_every_challenge(tmp_path: Path, tiny: Path) -> None:
    code, text = _cli("challenge", "list")
    assert code == 0
    lines = text.rstrip("\n").splitlines()
    assert len(lines) == len(FILES)
    assert lines[0].startswith(" 1. [level 1] Scale out")
    code, text = _cli("challenge", "list", "--folder", str(tiny.parent))
    assert code == 0 and "Tiny" in text and "tiny.yaml" in text


def test_an_added_node_must_copy_its_template_and_not_undercut_prices() -> None:
    from sandbox import with_overrides
    from sandbox.challenges import check_constraints, design
    c = sandbox.load(FOLDER / "04_read_replicas.yaml")
    good = design(c, "solution")
    assert check_constraints(design(c), good, c.challenge) == []
    cheat = with_overrides(good, {"nodes.replica.service_time.mean_ms": 0.1, "nodes.replica.cost_per_hour": 0})
    problems = check_constraints(design(c), cheat, c.challenge)
    assert any("nodes.replica.service_time.mean_ms differs from db's" in p for p in problems), problems
    assert any("an added database costs at least $0.40" in p for p in problems), problems


def test_editable_patterns_reach_nested_fields() -> None:
    from sandbox import with_overrides
    from sandbox.challenges import check_constraints, design
    c = sandbox.load(FOLDER / "11_autoscaling_day.yaml")
    good = design(c, "solution")
    assert check_constraints(design(c), good, c.challenge) == []
    cheat = with_overrides(good, {"nodes.web.autoscale.cold_start_s": 0})
    problems = check_constraints(design(c), cheat, c.challenge)
    assert problems and problems[0].startswith("nodes.web.autoscale.cold_start_s was changed")
