"""Scenarios: the architecture and its workload as validated, frozen data.

A scenario is what a YAML file describes: a ``workload`` entering at one node,
the ``nodes`` (services, databases, caches, load balancers, queues) and the
``edges`` (calls) between them. All validation lives here, at the boundary:
once a :class:`Scenario` exists it is known to be runnable, and everything
downstream (graph, analysis, engine) trusts it.

>>> s = loads('''
... name: Checkout API
... workload: {entry: api, arrival: poisson, rate_rps: 80, duration_s: 600, warmup_s: 30}
... nodes:
...   api: {kind: service, workers: 4, service_time: {dist: exponential, mean_ms: 40}}
... ''')
>>> s.nodes["api"].workers, s.workload.rate_rps
(4, 80.0)
>>> loads("name: x\\nworkload: {entry: nowhere, rate_rps: 1, duration_s: 1}\\nnodes: {a: {kind: queue}}")
Traceback (most recent call last):
...
sandbox.errors.ScenarioError: <text>: workload.entry: 'nowhere' is not a node (nodes: a)
"""


from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from .calls import Edge
from .challenge_spec import Challenge
from .classes import class_problems
from .errors import ScenarioError
from .kinds import KINDS, Node
from .messages import explain, shown
from .model import MAX_PROCESSES, Model
from .placement import Network, ZoneFault, placement_problems
from .workload import Workload
from .yamlio import parse as parse_yaml, read_text

__all__ = ["Scenario", "load", "loads", "from_dict", "with_overrides", "json_schema",
           "MAX_NAME_CHARS", "MAX_NODES", "MAX_EDGES", "MAX_CALLS_BETWEEN"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
MAX_NAME_CHARS = 64
MAX_NODES = 1_000
MAX_EDGES = 5_000
MAX_CALLS_BETWEEN = 20   # calls from one node to another: a design may call twice (a read, a write), not 20,000 times


# ── the scenario ─────────────────────────────────────────────────────────────

class Scenario(Model):
    """An architecture and its workload, validated as a whole."""
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    seed: int | None = Field(default=None, ge=0, description="default seed when none is given to simulate()")
    workload: Workload
    nodes: dict[str, Node]
    edges: list[Edge] = Field(default_factory=list)
    network: Network | None = Field(default=None, description="delays between zones and regions (see placement)")
    faults: list[ZoneFault] | None = Field(default=None, max_length=100, description="zone outages")
    challenge: Challenge | None = Field(default=None, description="makes this file a graded challenge")

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        # control and format characters (newlines, NUL, a right-to-left override) would disguise the name
        if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
            raise ValueError("must not hold control characters (newlines, tabs, NUL, direction overrides, ...)")
        return name

    @field_validator("nodes", mode="before")
    @classmethod
    def _names(cls, nodes: Any) -> Any:
        if not isinstance(nodes, dict):
            return nodes  # pydantic says it must be a mapping
        if not nodes:
            raise ValueError("must name at least one node")
        if len(nodes) > MAX_NODES:
            raise ValueError(f"must name at most {MAX_NODES:,} nodes, got {len(nodes):,}")
        for name in nodes:
            if not isinstance(name, str):
                raise ValueError(f"node names are text; got {shown(name)}")
            if len(name) > MAX_NAME_CHARS:
                raise ValueError(f"node name {shown(name)} is {len(name):,} characters; "
                                 f"a name may be at most {MAX_NAME_CHARS} characters")
            if not _NAME.match(name):
                raise ValueError(f"node name {shown(name)} must start with a letter (a-z, A-Z) or _ and hold "
                                 "only such letters, digits, _ and -")
        return nodes

    @field_validator("edges", mode="before")
    @classmethod
    def _edge_count(cls, edges: Any) -> Any:
        if isinstance(edges, list) and len(edges) > MAX_EDGES:
            raise ValueError(f"must list at most {MAX_EDGES:,} calls, got {len(edges):,}")
        return edges

    @model_validator(mode="after")
    def _references(self) -> "Scenario":
        if self.challenge is not None:
            for kind, name in self.challenge.constraints.templates.items():
                node = self.nodes.get(name)
                if node is None or node.kind != kind:
                    raise ScenarioError("<scenario>", [(f"challenge.constraints.templates.{kind}",
                                                        f"{name!r} is not a {kind} node of the starter design")])
        problems = list(_reference_problems(self))
        if problems:
            raise ScenarioError("<scenario>", problems)
        return self

    def out_edges(self, node: str) -> list[Edge]:
        """The calls `node` makes, in the listed order."""
        return [e for e in self.edges if e.source == node]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the YAML form), with defaults filled in."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_yaml(self) -> str:
        """The scenario as YAML text that :func:`loads` reads back unchanged."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=100)


def _reference_problems(s: Scenario) -> Iterable[tuple[str, str]]:
    """Cross-field checks: names that must exist, `when` only where a kind branches, each kind's own
    checks (see :mod:`sandbox.kinds`), no endless cycle."""
    names = list(s.nodes)
    known = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "") or "none"
    if s.workload.entry not in s.nodes:
        yield "workload.entry", f"{shown(s.workload.entry)} is not a node (nodes: {known})"
    for i, e in enumerate(s.edges):
        for end, name in (("from", e.source), ("to", e.target)):
            if name not in s.nodes:
                yield f"edges[{i}].{end}", f"{shown(name)} is not a node (nodes: {known})"
        src = s.nodes.get(e.source)
        if src is not None and e.when != "always" and not KINDS[src.kind].branches:
            yield f"edges[{i}].when", f"'when: {e.when}' needs a cache at the calling end; {e.source} is a {src.kind}"
    pairs: dict[tuple[str, str], int] = {}
    for e in s.edges:
        pairs[(e.source, e.target)] = pairs.get((e.source, e.target), 0) + 1
    for (a, b), count in pairs.items():
        if count > MAX_CALLS_BETWEEN:
            yield "edges", (f"{count:,} calls from {a} to {b} ({a} -> {b}); at most {MAX_CALLS_BETWEEN} calls "
                            "may join the same two nodes")
    for name, node in s.nodes.items():
        yield from KINDS[node.kind].problems(s, name, node)
    yield from class_problems(s.workload.classes or {}, s.edges, s.nodes)
    yield from placement_problems(s)
    processes = (s.workload.users or 0) + sum(KINDS[node.kind].processes(s, name, node)
                                              for name, node in s.nodes.items())
    if processes > MAX_PROCESSES:
        yield "nodes", (f"the design runs {processes:,} closed-loop users and queue consumers in all; at most "
                        f"{MAX_PROCESSES:,} (each is a simulated process)")

    if s.challenge is not None:
        data = s.model_dump(mode="json", by_alias=True, exclude_none=True)
        data.pop("challenge")
        data["nodes"] = s.challenge.solution.model_dump(mode="json", by_alias=True, exclude_none=True)["nodes"]
        data["edges"] = s.challenge.solution.model_dump(mode="json", by_alias=True, exclude_none=True)["edges"]
        try:
            Scenario.model_validate(data)
        except ScenarioError as exc:
            for path, reason in exc.problems:
                yield f"challenge.solution.{path}" if path else "challenge.solution", reason
    cycle = _certain_cycle(s)
    if cycle:
        path = " -> ".join(cycle + [cycle[0]])
        yield "edges", (f"the cycle {path} never ends: every call on it is certain "
                        "(give one edge a probability below 1)")


def _certain_cycle(s: Scenario) -> list[str]:
    """A cycle whose every edge is always taken (an endless call loop), or []."""
    succ: dict[str, list[str]] = {n: [] for n in s.nodes}
    for e in s.edges:
        if e.certain and e.source in succ and e.target in succ:
            succ[e.source].append(e.target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in succ[n]:
            if state.get(m) == 1:
                return stack[stack.index(m):]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return []

    for n in s.nodes:
        if n not in state:
            found = visit(n)
            if found:
                return list(found)
    return []


# ── loading, with one clear message per problem ──────────────────────────────

def load(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises :class:`ScenarioError` naming the file, the field and the reason.
    """
    return loads(read_text(path), source=str(path))


def loads(text: str, source: str = "<text>") -> Scenario:
    """Validate a scenario given as YAML text (read by :mod:`sandbox.yamlio`: no aliases, no duplicate keys)."""
    return from_dict(parse_yaml(text, source), source=source)


def from_dict(data: Any, source: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data (what YAML or JSON parses to)."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(source, [("", f"must be a mapping with name, workload and nodes; it is {kind}")])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, explain(exc, data, Scenario)) from None
    except ScenarioError as exc:
        raise ScenarioError(source, exc.problems) from None
    except RecursionError:
        raise ScenarioError(source, [("", "the design is nested too deeply to read (a design needs a few levels)")]) \
            from None


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A copy of `scenario` with dotted paths set, validated again.

    >>> s = loads("name: x\\nworkload: {entry: a, rate_rps: 5, duration_s: 9}\\n"
    ...           "nodes: {a: {kind: service, service_time: {dist: constant, mean_ms: 1}}}")
    >>> with_overrides(s, {"workload.rate_rps": 50, "nodes.a.replicas": 2}).nodes["a"].replicas
    2
    """
    data = scenario.to_dict()
    for path, value in overrides.items():
        parts = path.split(".")
        cursor: Any = data
        for key in parts[:-1]:
            if isinstance(cursor, list):
                cursor = cursor[int(key)]
                continue
            if key not in cursor:
                raise ScenarioError("<overrides>", [(path, f"no field {key!r} to change")])
            cursor = cursor[key]
        last = parts[-1]
        if isinstance(cursor, list):
            cursor[int(last)] = value
        else:
            cursor[last] = value
    return from_dict(data, source="<overrides>")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format."""
    return Scenario.model_json_schema(by_alias=True)
