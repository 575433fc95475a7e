"""Challenges: grade a design against a challenge's constraints and objectives.

A challenge is a scenario file with a ``challenge:`` section (see
:class:`sandbox.scenario.Challenge`): the file's own nodes and edges are the
*starter* design, which must fail, and ``challenge.solution`` is a reference
design that passes. :func:`grade` checks what the player changed against the
constraints, runs the design once per challenge seed, and checks each objective
in **every** run, so that a pass is not luck: with the default three seeds, a
design whose true figure misses a target by a margin has to be lucky three
times over to pass.

Stars: one for a pass; one more when the design costs at most 80% of the budget
(or, without a budget, no more than the reference solution); one more when every
prediction is within its tolerance (given with the pass when nothing is asked).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .analysis import static_cost
from .challenge_spec import Challenge, Objective, parse_metric
from .engine import simulate as run_scenario
from .errors import ScenarioError
from .intervals import json_safe
from .kinds import kind_of
from .results import Results
from .scenario import Scenario, from_dict, load

__all__ = ["Grade", "ObjectiveResult", "PredictionResult", "grade", "design", "load_design", "campaign", "challenge_of",
           "check_constraints", "metric_value", "CAMPAIGN_DIR"]

Simulate = Callable[[Scenario, int], Results]   # (design, seed) -> one run

CAMPAIGN_DIR = Path(__file__).resolve().parent.parent / "scenarios" / "challenges"
_OPS = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, ">": lambda a, b: a > b}


@dataclass(frozen=True)
class ObjectiveResult:
    """One objective: the figure (mean over runs), the worst run, the target, pass or fail, and why."""
    objective: str
    label: str | None
    value: float | None
    worst: float | None
    runs: list[float | None]
    passed: bool
    cause: str | None


@dataclass(frozen=True)
class PredictionResult:
    """A prediction beside what the simulation measured."""
    id: str
    question: str
    guess: float | None
    actual: float | None
    relative_error: float | None
    right: bool


@dataclass(frozen=True)
class Grade:
    """The verdict on one design."""
    challenge: str
    passed: bool
    violations: list[str]
    objectives: list[ObjectiveResult]
    predictions: list[PredictionResult]
    score: int            # 0 to 100: the share of objectives met, 0 when a constraint is broken
    stars: int            # 0 to 3
    cost_per_hour: float  # static cost of the design, dollars per hour
    bottleneck: str
    seeds: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))

    def summary(self) -> str:
        """One line: pass or fail, and the first reason."""
        if self.violations:
            return f"FAIL: {self.violations[0]}"
        failed = [o for o in self.objectives if not o.passed]
        if failed:
            return f"FAIL: {failed[0].cause}"
        return f"PASS {'*' * self.stars}{'.' * (3 - self.stars)}: every objective met in all {len(self.seeds)} runs"


def design(challenge: Scenario, which: str = "starter") -> Scenario:
    """The starter design (the file itself) or the reference solution, as a runnable scenario."""
    ch = challenge_of(challenge)
    data = challenge.to_dict()
    data.pop("challenge")
    if which == "solution":
        sol = ch.solution.model_dump(mode="json", by_alias=True, exclude_none=True)
        data["nodes"], data["edges"] = sol["nodes"], sol["edges"]
    elif which != "starter":
        raise ValueError(f"which must be 'starter' or 'solution', got {which!r}")
    return from_dict(data, source=f"<{which} of {challenge.name}>")


def load_design(path: str | Path, challenge: Scenario) -> Scenario:
    """A player's design file: nodes and edges (name and workload, if present, must match)."""
    from . import yamlio
    challenge_of(challenge)
    p = Path(path)
    data = yamlio.parse(yamlio.read_text(p), str(p))
    if not isinstance(data, dict) or "nodes" not in data:
        raise ScenarioError(str(p), [("", "a design is a mapping with nodes (and edges)")])
    base = challenge.to_dict()
    base.pop("challenge")
    extra = set(data) - {"name", "description", "workload", "nodes", "edges", "seed"}
    if extra:
        raise ScenarioError(str(p), [(sorted(extra)[0], "unknown field (a design has nodes and edges)")])
    merged = {**base, "nodes": data["nodes"], "edges": data.get("edges", [])}
    if "workload" in data:
        merged["workload"] = data["workload"]  # checked against the challenge's in check_constraints
    return from_dict(merged, source=str(p))


def challenge_of(s: Scenario) -> Challenge:
    """The challenge section of a challenge file; ScenarioError when it has none."""
    if s.challenge is None:
        raise ScenarioError(s.name, [("challenge", "this scenario has no challenge section")])
    return s.challenge


def _allowed(path: str, patterns: list[str]) -> bool:
    """A change at `path` is allowed when a pattern matches it or one of its ancestors."""
    parts = path.split(".")
    prefixes = [".".join(parts[:k]) for k in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatchcase(p, pat) for p in prefixes for pat in patterns)


def _changes(before: Any, after: Any, prefix: str) -> list[str]:
    """Dotted paths where two nested values differ (lists of a new length change as a whole)."""
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [p for k, (a, b) in enumerate(zip(before, after)) for p in _changes(a, b, f"{prefix}.{k}")]
    if isinstance(before, dict) and isinstance(after, dict):
        return [p for k in sorted(set(before) | set(after))
                for p in _changes(before.get(k), after.get(k), f"{prefix}.{k}")]
    return [] if before == after else [prefix]


def check_constraints(starter: Scenario, candidate: Scenario, ch: Challenge) -> list[str]:
    """Every way `candidate` breaks the challenge's constraints, in words."""
    c = ch.constraints
    out: list[str] = []
    only = f"this challenge lets you change only {', '.join(c.editable) or 'nothing'}"
    if candidate.workload != starter.workload:
        out.append("the workload is fixed by the challenge; change the architecture, not the traffic")
    for name in starter.nodes:
        if name not in candidate.nodes and not c.may_remove:
            out.append(f"node {name!r} was removed; this challenge keeps every starter node")
    for name, node in candidate.nodes.items():
        after = node.model_dump(mode="json", exclude_none=True)
        if name not in starter.nodes:
            if node.kind not in c.add_kinds:
                allowed = ", ".join(c.add_kinds) if c.add_kinds else "none"
                out.append(f"node {name!r} ({node.kind}) was added; kinds you may add: {allowed}")
                continue
            template = c.templates.get(node.kind)
            if template is not None:
                like = starter.nodes[template].model_dump(mode="json", exclude_none=True)
                for path in _changes(like, after, f"nodes.{name}"):
                    if not _allowed(path.replace(f"nodes.{name}", "", 1).lstrip(".") or "-", c.template_free):
                        out.append(f"{path} differs from {template}'s: an added {node.kind} is a copy of "
                                   f"{template} (you may set only {', '.join(c.template_free)})")
            price, floor = node.cost_per_hour, kind_of(node).price
            if price is not None and price < floor:
                out.append(f"nodes.{name}.cost_per_hour is ${price:.2f}; an added {kind_of(node).label} costs at "
                           f"least ${floor:.2f} per replica-hour")
            continue
        before = starter.nodes[name].model_dump(mode="json", exclude_none=True)
        for path in _changes(before, after, f"nodes.{name}"):
            if not _allowed(path, c.editable):
                out.append(f"{path} was changed; {only}")
    before_edges = [e.model_dump(mode="json", by_alias=True) for e in starter.edges]
    after_edges = [e.model_dump(mode="json", by_alias=True) for e in candidate.edges]
    for path in _changes(before_edges, after_edges, "edges"):
        if not _allowed(path, c.editable):
            out.append(f"the calls (edges) were changed, at {path}; {only}")
            break
    if c.max_replicas is not None:
        for name, node in candidate.nodes.items():
            reps = kind_of(node).replicas(node)
            scale = getattr(node, "autoscale", None)
            most = max(reps, scale.max_replicas if scale else 0)
            if most > c.max_replicas:
                out.append(f"{name} may run {most} replicas; the most allowed is {c.max_replicas}")
    if c.budget_per_hour is not None:
        cost = _worst_cost(candidate)
        if cost > c.budget_per_hour + 1e-9:
            out.append(f"the design costs ${cost:.2f} per hour; the budget is ${c.budget_per_hour:.2f}")
    return out


def _worst_cost(s: Scenario) -> float:
    """Static cost with autoscaled services at their maximum."""
    data = s.to_dict()
    for node in data["nodes"].values():
        if node.get("autoscale"):
            node["replicas"] = node["autoscale"]["max_replicas"]
    data.pop("challenge", None)
    return static_cost(from_dict(data))


def metric_value(results: dict[str, Any] | Results, metric: str) -> float:
    """The figure a metric names, from results (or their to_dict form).

    Raises KeyError with a readable message when the path does not exist.
    """
    d = results.to_dict(series=False) if isinstance(results, Results) else results
    top, bottom = parse_metric(metric)
    a = _lookup(d, top)
    if bottom is None:
        return a
    b = _lookup(d, bottom)
    if b == 0:
        return 0.0 if a == 0 else math.inf
    return a / b


def _lookup(d: Any, path: str) -> float:
    cursor = d
    for part in path.split("."):
        if isinstance(cursor, list) and part.isdigit() and int(part) < len(cursor):
            cursor = cursor[int(part)]
        elif isinstance(cursor, dict) and part in cursor:
            cursor = cursor[part]
        else:
            raise KeyError(f"{path}: the results have no {part!r} here{_there(cursor)}")
    if cursor is None:
        return math.inf
    if not isinstance(cursor, (int, float)) or isinstance(cursor, bool):
        raise KeyError(f"{path}: not a number")
    return float(cursor)


def _there(cursor: Any) -> str:
    """What a results mapping does hold, for a message about a name it does not (the first 12 keys)."""
    if not isinstance(cursor, dict) or not cursor:
        return ""
    keys = list(cursor)
    return f" (it has {', '.join(map(str, keys[:12]))}{', ...' if len(keys) > 12 else ''})"


def _design_value(s: Scenario, path: str) -> float:
    return _lookup(s.to_dict(), path.removeprefix("design."))


def grade(candidate: Scenario, challenge: Scenario, predictions: dict[str, float] | None = None,
          runs: Iterable[Results] | None = None, simulate: Simulate | None = None) -> Grade:
    """Grade `candidate` against `challenge` (a scenario with a challenge section).

    `predictions` maps prediction ids to the player's guesses. The design runs
    once per challenge seed through `simulate` (default: :func:`sandbox.simulate`;
    the app passes its cached, limited runs), or `runs` passes results already
    simulated with the challenge's seeds, in their order.
    """
    ch = challenge_of(challenge)
    starter = design(challenge, "starter")
    candidate_plain = candidate
    if candidate.challenge is not None:  # a challenge file graded as its own design
        data = candidate.to_dict()
        data.pop("challenge")
        candidate_plain = from_dict(data, source="<design>")
    violations = check_constraints(starter, candidate_plain, ch)
    run_one = simulate if simulate is not None else (lambda s, seed: run_scenario(s, seed=seed))
    results = list(runs) if runs is not None else [run_one(candidate_plain, seed) for seed in ch.seeds]
    dicts = [r.to_dict(series=False) for r in results]
    objectives = [_check(o, dicts, results) for o in ch.objectives]
    preds = _score_predictions(ch, candidate_plain, dicts, predictions or {})
    passed = not violations and all(o.passed for o in objectives)
    cost = _worst_cost(candidate_plain)
    stars = 0
    if passed:
        stars = 1
        budget = ch.constraints.budget_per_hour
        if (budget is not None and cost <= 0.8 * budget) or \
                (budget is None and cost <= _worst_cost(design(challenge, "solution")) + 1e-9):
            stars += 1
        if all(p.right for p in preds):
            stars += 1
    met = sum(o.passed for o in objectives)
    score = 0 if violations else round(100 * met / len(objectives))
    return Grade(ch.title, passed, violations, objectives, preds, score, stars, cost,
                 results[0].bottleneck.why if results else "", list(ch.seeds))


def _check(o: Objective, dicts: list[dict[str, Any]], results: list[Results]) -> ObjectiveResult:
    try:
        values = [metric_value(d, o.metric) for d in dicts]
    except KeyError as exc:
        return ObjectiveResult(o.text(), o.label, None, None, [], False, f"{o.text()}: {exc.args[0]}")
    ok = [_OPS[o.op](v, o.target) for v in values]
    mean = sum(values) / len(values) if values and all(math.isfinite(v) for v in values) else math.inf
    lower_is_better = o.op in ("<=", "<")
    worst = max(values) if lower_is_better else min(values)
    cause = None
    if not all(ok):
        missed = len(ok) - sum(ok)
        runs = f"in {missed} of {len(ok)} runs" if missed < len(ok) else "in every run"
        cause = (f"{o.metric} was {_fmt(worst)} at worst ({_fmt(mean)} on average), "
                 f"against {o.op} {o.target:g}, {runs}")
        r = results[[_OPS[o.op](v, o.target) for v in values].index(False)]
        cause += f". Why: {r.bottleneck.why.rstrip('.')}."
        cls = _class_named(o.metric, r)
        causes, whose = (r.classes[cls].causes, f"{cls} requests") if cls else (r.causes, "requests")
        if causes:
            top = causes[0]
            cause += (f" Most failed {whose} were {top.status} at {top.node}: {top.reason} "
                      f"({top.share:.1%} of {whose}).")
    per_run: list[float | None] = [*values]
    return ObjectiveResult(o.text(), o.label, mean, worst, per_run, all(ok), cause)


def _class_named(metric: str, r: Results) -> str | None:
    """The request class a metric is about (``classes.NAME...`` on top), when the run has it."""
    parts = parse_metric(metric)[0].split(".")
    return parts[1] if parts[0] == "classes" and len(parts) > 1 and parts[1] in r.classes else None


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "unbounded"
    return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.1f}"


def _score_predictions(ch: Challenge, candidate: Scenario, dicts: list[dict],
                       guesses: dict[str, float]) -> list[PredictionResult]:
    out = []
    for p in ch.predict:
        try:
            if p.metric.startswith("design."):
                actual = _design_value(candidate, p.metric)
            else:
                values = [metric_value(d, p.metric) for d in dicts]
                actual = sum(values) / len(values)
        except KeyError:
            actual = None
        guess = guesses.get(p.id)
        if guess is None or actual is None or not math.isfinite(actual):
            out.append(PredictionResult(p.id, p.question, guess, actual, None, False))
            continue
        err = abs(guess - actual) / abs(actual) if actual else abs(guess)
        out.append(PredictionResult(p.id, p.question, guess, actual, err, err <= p.tolerance))
    return out


def campaign(folder: str | Path | None = None) -> list[tuple[Path, Scenario]]:
    """Every challenge file in `folder` (default: scenarios/challenges), in campaign order."""
    root = Path(folder) if folder is not None else CAMPAIGN_DIR
    found = []
    for path in sorted(root.glob("*.yaml")):
        s = load(path)
        if s.challenge is not None:
            found.append((path, s))
    def place(ps: tuple[Path, Scenario]) -> tuple[int, int, str]:
        ch = challenge_of(ps[1])
        return (ch.order if ch.order is not None else 10 ** 6, ch.level, ch.title)

    return sorted(found, key=place)
