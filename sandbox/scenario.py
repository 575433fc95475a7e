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

import math
import re
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal, Union

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from .architecture import (DEFAULT_COST_PER_HOUR, MAX_PROCESSES, MAX_RATE_RPS, LB_POLICIES, NODE_KINDS, RETRY_CAUSES, Autoscale, Backoff, CacheNode,
                           CircuitBreaker, Constant, Edge, Exponential, Fault, LoadBalancerNode, Lognormal, Node,
                           QueueNode, RateLimiterNode, ServiceNode, ServiceTime, Uniform, _Model)
from .challenge_spec import METRIC_ROOTS, Challenge, Constraints, Objective, Prediction, Solution, parse_metric
from .errors import ScenarioError
from .messages import explain, shown
from .yamlio import parse as parse_yaml, read_text

__all__ = [
    "Scenario", "Workload", "Edge", "ServiceNode", "CacheNode", "LoadBalancerNode", "QueueNode",
    "RateLimiterNode", "Backoff", "CircuitBreaker", "Fault", "Autoscale", "DEFAULT_COST_PER_HOUR",
    "Challenge", "Objective", "Constraints", "Prediction", "Solution", "parse_metric",
    "Node", "ServiceTime", "load", "loads", "from_dict", "with_overrides", "json_schema",
    "LB_POLICIES", "NODE_KINDS", "RETRY_CAUSES", "METRIC_ROOTS",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
MAX_NAME_CHARS = 64
MAX_NODES = 1_000
MAX_EDGES = 5_000
MAX_CALLS_BETWEEN = 20   # calls from one node to another: a design may call twice (a read, a write), not 20,000 times


# ── workload ─────────────────────────────────────────────────────────────────

class Spike(_Model):
    """Rate multiplied by `multiplier` from at_s for for_s seconds."""
    shape: Literal["spike"]
    at_s: float = Field(ge=0)
    for_s: float = Field(gt=0)
    multiplier: float = Field(gt=0, le=10_000)


class Step(_Model):
    """Rate changes to to_rps at at_s and stays there."""
    shape: Literal["step"]
    at_s: float = Field(ge=0)
    to_rps: float = Field(gt=0, le=MAX_RATE_RPS)


class Ramp(_Model):
    """Rate rises (or falls) linearly from rate_rps to to_rps between start_s and end_s."""
    shape: Literal["ramp"]
    to_rps: float = Field(gt=0, le=MAX_RATE_RPS)
    start_s: float = Field(default=0, ge=0)
    end_s: float | None = Field(default=None, gt=0)


class Diurnal(_Model):
    """Rate follows a sine: rate_rps x (1 + amplitude x sin(2 pi (t - peak_s) / period_s + pi/2))."""
    shape: Literal["diurnal"]
    period_s: float = Field(gt=0)
    amplitude: float = Field(default=0.5, ge=0, le=1)
    peak_s: float = Field(default=0, ge=0, description="time of the first peak")


Profile = Annotated[Union[Spike, Step, Ramp, Diurnal], Field(discriminator="shape")]


class Workload(_Model):
    """Where requests enter and how they arrive: open (rate_rps) or closed-loop (users)."""
    entry: str
    arrival: Literal["poisson", "constant"] = "poisson"
    rate_rps: float | None = Field(default=None, gt=0, le=MAX_RATE_RPS)
    users: int | None = Field(default=None, ge=1, le=MAX_PROCESSES,
                              description="closed loop: users who each wait for an answer, then think")
    think_time_ms: float = Field(default=1000.0, ge=0, description="closed loop: mean (exponential) pause between requests")
    duration_s: float = Field(gt=0, le=10_000_000)
    warmup_s: float = Field(default=0.0, ge=0, description="requests arriving before this are left out of the statistics")
    slo_ms: float | None = Field(default=None, gt=0, description="goodput = share of arrivals completed within this")
    profile: Profile | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "Workload":
        if (self.rate_rps is None) == (self.users is None):
            raise ValueError("give exactly one of rate_rps (open arrivals) or users (closed loop)")
        if self.warmup_s >= self.duration_s:
            raise ValueError(f"warmup_s ({self.warmup_s:g}) must be shorter than duration_s ({self.duration_s:g})")
        if self.profile is not None and self.users is not None:
            raise ValueError("a load profile needs rate_rps; it does not apply to closed-loop users")
        return self

    def rate_at(self, t_s: float) -> float:
        """Arrival rate (requests per second) at simulated time t_s."""
        base = self.rate_rps or 0.0
        p = self.profile
        if p is None:
            return base
        if p.shape == "spike":
            return base * p.multiplier if p.at_s <= t_s < p.at_s + p.for_s else base
        if p.shape == "step":
            return p.to_rps if t_s >= p.at_s else base
        if p.shape == "ramp":
            end = p.end_s if p.end_s is not None else self.duration_s
            if t_s <= p.start_s or end <= p.start_s:
                return base if t_s <= p.start_s else p.to_rps
            frac = min(1.0, (t_s - p.start_s) / (end - p.start_s))
            return base + (p.to_rps - base) * frac
        return base * (1 + p.amplitude * math.cos(2 * math.pi * (t_s - p.peak_s) / p.period_s))

    def mean_rate(self, start_s: float, end_s: float) -> float:
        """The mean arrival rate over [start_s, end_s] (midpoint rule, 4000 steps)."""
        if self.profile is None or end_s <= start_s:
            return self.rate_rps or 0.0
        steps = 4000
        dt = (end_s - start_s) / steps
        return sum(self.rate_at(start_s + (k + 0.5) * dt) for k in range(steps)) / steps

    def peak_rate(self) -> float:
        """The highest arrival rate the profile reaches."""
        base = self.rate_rps or 0.0
        p = self.profile
        if p is None:
            return base
        if p.shape == "spike":
            return base * max(1.0, p.multiplier)
        if p.shape in ("step", "ramp"):
            return max(base, p.to_rps)
        return base * (1 + p.amplitude)


# ── the scenario ─────────────────────────────────────────────────────────────

class Scenario(_Model):
    """An architecture and its workload, validated as a whole."""
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    seed: int | None = Field(default=None, ge=0, description="default seed when none is given to simulate()")
    workload: Workload
    nodes: dict[str, Node]
    edges: list[Edge] = Field(default_factory=list)
    challenge: Challenge | None = Field(default=None, description="makes this file a graded challenge")

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValueError("must not hold control characters (newlines, tabs, NUL, ...)")
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
                raise ValueError(f"node name {shown(name)} must start with a letter and hold only letters, "
                                 "digits, _ and -")
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
    """Cross-field checks: names that must exist, `when` only from caches, no endless cycle."""
    names = list(s.nodes)
    known = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "") or "none"
    if s.workload.entry not in s.nodes:
        yield "workload.entry", f"{shown(s.workload.entry)} is not a node (nodes: {known})"
    for i, e in enumerate(s.edges):
        for end, name in (("from", e.source), ("to", e.target)):
            if name not in s.nodes:
                yield f"edges[{i}].{end}", f"{shown(name)} is not a node (nodes: {known})"
        src = s.nodes.get(e.source)
        if src is not None and e.when != "always" and src.kind != "cache":
            yield f"edges[{i}].when", f"'when: {e.when}' needs a cache at the calling end; {e.source} is a {src.kind}"
        if e.target == s.workload.entry and s.nodes.get(e.target) is not None and e.certain and e.source == e.target:
            pass  # reported below as a cycle
    pairs: dict[tuple[str, str], int] = {}
    for e in s.edges:
        pairs[(e.source, e.target)] = pairs.get((e.source, e.target), 0) + 1
    for (a, b), count in pairs.items():
        if count > MAX_CALLS_BETWEEN:
            yield "edges", (f"{count:,} calls from {a} to {b} ({a} -> {b}); at most {MAX_CALLS_BETWEEN} calls "
                            "may join the same two nodes")
    for name, count in queue_consumers(s).items():
        if count > MAX_PROCESSES and s.nodes[name].consumers is None:
            yield f"nodes.{name}.consumers", (f"by default {name} starts one consumer per worker of the nodes it "
                                              f"feeds, {count:,} consumers; set consumers (at most "
                                              f"{MAX_PROCESSES:,})")
    for name, node in s.nodes.items():
        if node.kind == "load_balancer" and not any(e.source == name for e in s.edges):
            yield f"nodes.{name}", "a load balancer needs at least one outgoing edge to balance over"
        if node.kind == "rate_limiter" and not any(e.source == name for e in s.edges):
            yield f"nodes.{name}", "a rate limiter needs an outgoing edge to the node it protects"

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


def queue_consumers(s: Scenario) -> dict[str, int]:
    """Consumers per queue: as set, or one per worker of the nodes it feeds (at least one)."""
    out: dict[str, int] = {}
    for name, node in s.nodes.items():
        if node.kind != "queue":
            continue
        if node.consumers is not None:
            out[name] = node.consumers
            continue
        total = 0
        for e in s.out_edges(name):
            t = s.nodes[e.target]
            total += t.workers * t.replicas if hasattr(t, "workers") else 1
        out[name] = max(total, 1)
    return out


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
        raise ScenarioError(source, explain(exc, data)) from None
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
                key = int(key)
            elif key not in cursor:
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
