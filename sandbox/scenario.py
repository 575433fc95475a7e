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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ScenarioError

__all__ = [
    "Scenario", "Workload", "Edge", "ServiceNode", "CacheNode", "LoadBalancerNode", "QueueNode",
    "RateLimiterNode", "Backoff", "CircuitBreaker", "Fault", "Autoscale", "DEFAULT_COST_PER_HOUR",
    "Challenge", "Objective", "Constraints", "Prediction", "Solution", "parse_metric",
    "Node", "ServiceTime", "load", "loads", "from_dict", "with_overrides", "json_schema",
    "LB_POLICIES", "NODE_KINDS",
]

LB_POLICIES = ("round_robin", "random", "least_connections", "power_of_two")
NODE_KINDS = ("service", "database", "cache", "load_balancer", "queue", "rate_limiter")
_Z99 = 2.3263478740408408  # standard normal quantile at 0.99
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True,
                              validate_by_alias=True, serialize_by_alias=True)


# ── service time distributions ───────────────────────────────────────────────

class Exponential(_Model):
    """Memoryless service time: M in M/M/c."""
    dist: Literal["exponential"]
    mean_ms: float = Field(gt=0)

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        """Squared coefficient of variation (variance / mean²)."""
        return 1.0


class Constant(_Model):
    """Deterministic service time: D in M/D/1."""
    dist: Literal["constant"]
    mean_ms: float = Field(ge=0)

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        return 0.0


class Lognormal(_Model):
    """Right-skewed service time, set by its mean and either its p99 or sigma."""
    dist: Literal["lognormal"]
    mean_ms: float = Field(gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    sigma: float | None = Field(default=None, gt=0, le=5)

    @model_validator(mode="after")
    def _one_shape(self) -> "Lognormal":
        if (self.p99_ms is None) == (self.sigma is None):
            raise ValueError("give exactly one of p99_ms or sigma")
        if self.p99_ms is not None:
            ratio = self.p99_ms / self.mean_ms
            limit = math.exp(_Z99 ** 2 / 2)
            if ratio <= 1:
                raise ValueError(f"p99_ms ({self.p99_ms:g}) must be larger than mean_ms ({self.mean_ms:g})")
            if ratio >= limit:
                raise ValueError(f"p99_ms may be at most {limit:.2f}x mean_ms for a lognormal, got {ratio:.2f}x")
        return self

    def shape(self) -> tuple[float, float]:
        """(mu, sigma) of the underlying normal, in milliseconds."""
        if self.sigma is not None:
            sigma = self.sigma
        else:
            # mean = e^(mu + s²/2), p99 = e^(mu + z s)  =>  s²/2 - z s + ln(p99/mean) = 0
            sigma = _Z99 - math.sqrt(_Z99 ** 2 - 2 * math.log(self.p99_ms / self.mean_ms))
        return math.log(self.mean_ms) - sigma ** 2 / 2, sigma

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        return math.expm1(self.shape()[1] ** 2)


class Uniform(_Model):
    """Service time spread evenly between min_ms and max_ms."""
    dist: Literal["uniform"]
    min_ms: float = Field(ge=0)
    max_ms: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        if self.max_ms <= self.min_ms:
            raise ValueError(f"max_ms ({self.max_ms:g}) must be larger than min_ms ({self.min_ms:g})")
        return self

    def mean(self) -> float:
        return (self.min_ms + self.max_ms) / 2

    def scv(self) -> float:
        return (self.max_ms - self.min_ms) ** 2 / 12 / self.mean() ** 2


ServiceTime = Annotated[Union[Exponential, Constant, Lognormal, Uniform], Field(discriminator="dist")]


# ── nodes ────────────────────────────────────────────────────────────────────

# Vendor-neutral default prices, US dollars per replica (instance) per hour.
DEFAULT_COST_PER_HOUR = {"service": 0.10, "database": 0.40, "cache": 0.15, "load_balancer": 0.03,
                         "queue": 0.05, "rate_limiter": 0.02}
RETRY_CAUSES = ("timeout", "error", "down", "rejected", "rate_limited")


class Fault(_Model):
    """A scheduled fault: the node is down, slow, or erroring from at_s for for_s seconds."""
    at_s: float = Field(ge=0)
    for_s: float = Field(gt=0)
    mode: Literal["down", "slow", "errors"]
    multiplier: float | None = Field(default=None, ge=1, le=1000, description="slow: service-time multiplier")
    rate: float | None = Field(default=None, gt=0, le=1, description="errors: share of attempts that fail")

    @model_validator(mode="after")
    def _mode_fields(self) -> "Fault":
        if self.mode == "slow" and self.multiplier is None:
            raise ValueError("mode 'slow' needs a multiplier (service-time factor, at least 1)")
        if self.mode == "errors" and self.rate is None:
            raise ValueError("mode 'errors' needs a rate (share of attempts that fail, up to 1)")
        if self.mode != "slow" and self.multiplier is not None:
            raise ValueError(f"multiplier applies to mode 'slow', not {self.mode!r}")
        if self.mode != "errors" and self.rate is not None:
            raise ValueError(f"rate applies to mode 'errors', not {self.mode!r}")
        return self


class Autoscale(_Model):
    """Target-tracking autoscaling: adjust replicas so utilization nears the target."""
    min_replicas: int = Field(default=1, ge=1, le=1000)
    max_replicas: int = Field(ge=1, le=1000)
    target_utilization: float = Field(default=0.6, gt=0, lt=1)
    check_every_s: float = Field(default=10.0, gt=0)
    cold_start_s: float = Field(default=30.0, ge=0, description="a new replica serves only after this")

    @model_validator(mode="after")
    def _bounds(self) -> "Autoscale":
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"max_replicas ({self.max_replicas}) must be at least min_replicas ({self.min_replicas})")
        return self


class _Station(_Model):
    replicas: int = Field(default=1, ge=1, le=1000, description="identical copies, each with its own workers and queue")
    workers: int = Field(default=1, ge=1, le=100_000, description="concurrent requests per replica (threads, connections)")
    queue_limit: int | None = Field(default=100, ge=0, description="waiting slots per replica; null for unbounded")
    parallel: bool = Field(default=False, description="call all outgoing edges at once and wait for the slowest")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="each attempt fails with this probability")
    failures: list[Fault] = Field(default_factory=list, description="scheduled faults")
    cost_per_hour: float | None = Field(default=None, ge=0, description="per replica; default by kind")


class ServiceNode(_Station):
    """A service or database: replicas x workers, each call held for a service time."""
    kind: Literal["service", "database"]
    service_time: ServiceTime
    autoscale: Autoscale | None = None

    @model_validator(mode="after")
    def _scalable(self) -> "ServiceNode":
        a = self.autoscale
        if a is not None:
            if self.kind != "service":
                raise ValueError("autoscale applies to services, not databases")
            if not a.min_replicas <= self.replicas <= a.max_replicas:
                raise ValueError(f"replicas ({self.replicas}) must lie between autoscale.min_replicas "
                                 f"({a.min_replicas}) and autoscale.max_replicas ({a.max_replicas})")
        return self


class CacheNode(_Station):
    """A cache: answers a share of calls itself; on a miss calls its `when: miss` edges."""
    kind: Literal["cache"]
    hit_ratio: float = Field(ge=0, le=1)
    service_time: ServiceTime = Field(default_factory=lambda: Constant(dist="constant", mean_ms=1.0))


class LoadBalancerNode(_Model):
    """A load balancer: sends each call to one replica of its downstream node by policy."""
    kind: Literal["load_balancer"]
    policy: Literal["round_robin", "random", "least_connections", "power_of_two"] = "round_robin"
    cost_per_hour: float | None = Field(default=None, ge=0)


class RateLimiterNode(_Model):
    """A token-bucket rate limiter: passes calls while tokens last, rejects the rest."""
    kind: Literal["rate_limiter"]
    rate_rps: float = Field(gt=0, description="tokens added per second")
    burst: int = Field(default=1, ge=1, description="bucket size: calls let through at once after a lull")
    cost_per_hour: float | None = Field(default=None, ge=0)


class QueueNode(_Model):
    """A message queue: accepts a message at once, consumers process it later."""
    kind: Literal["queue"]
    capacity: int = Field(default=10_000, ge=1, description="messages held at most; a full queue rejects")
    consumers: int | None = Field(default=None, ge=1, description="concurrent consumers; default: the workers of the nodes it feeds")
    cost_per_hour: float | None = Field(default=None, ge=0)


Node = Annotated[Union[ServiceNode, CacheNode, LoadBalancerNode, QueueNode, RateLimiterNode],
                 Field(discriminator="kind")]


class Backoff(_Model):
    """Wait before retry k: base_ms x multiplier^(k-1), at most max_ms; full jitter draws uniformly below it."""
    base_ms: float = Field(default=100.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_ms: float = Field(default=10_000.0, gt=0)
    jitter: Literal["none", "full"] = "none"


class CircuitBreaker(_Model):
    """Stops calling a failing callee: opens on a failure ratio over recent calls, or on consecutive failures."""
    failure_ratio: float | None = Field(default=0.5, gt=0, le=1, description="open when this share of the last `window` calls failed")
    window: int = Field(default=20, ge=1, description="recent calls the ratio is taken over")
    min_calls: int = Field(default=10, ge=1, description="calls needed in the window before the ratio counts")
    consecutive_failures: int | None = Field(default=None, ge=1, description="open after this many failures in a row")
    open_s: float = Field(default=5.0, gt=0, description="time open before letting probes through")
    half_open_probes: int = Field(default=1, ge=1, description="probe calls that must succeed to close again")

    @model_validator(mode="after")
    def _a_trigger(self) -> "CircuitBreaker":
        if self.failure_ratio is None and self.consecutive_failures is None:
            raise ValueError("give failure_ratio or consecutive_failures (or both)")
        return self


class Edge(_Model):
    """A call from one node to another, taken with a probability."""
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    probability: float = Field(default=1.0, gt=0, le=1)
    latency_ms: float = Field(default=0.0, ge=0, description="network delay each way")
    when: Literal["always", "hit", "miss"] = Field(default="always", description="for caches: only on a hit or a miss")
    timeout_ms: float | None = Field(default=None, gt=0, description="the caller gives up after this; the callee's work goes on, wasted")
    retries: int = Field(default=0, ge=0, le=10, description="further attempts after a failed one")
    backoff: Backoff | None = Field(default=None, description="wait between attempts (default: none)")
    retry_on: list[Literal["timeout", "error", "down", "rejected", "rate_limited"]] = Field(
        default_factory=lambda: ["timeout", "error", "down", "rejected"], description="failure causes that are retried")
    circuit_breaker: CircuitBreaker | None = None
    hedge_after_ms: float | None = Field(default=None, gt=0, description="send a second copy if no answer by then")

    @model_validator(mode="after")
    def _consistent(self) -> "Edge":
        if self.hedge_after_ms is not None and self.timeout_ms is not None and self.hedge_after_ms >= self.timeout_ms:
            raise ValueError(f"hedge_after_ms ({self.hedge_after_ms:g}) must be below timeout_ms ({self.timeout_ms:g})")
        if self.backoff is not None and self.retries == 0:
            raise ValueError("backoff needs retries above 0")
        return self

    @property
    def resilient(self) -> bool:
        """True when the call uses any of timeout, retries, circuit breaker or hedging."""
        return (self.timeout_ms is not None or self.retries > 0 or self.circuit_breaker is not None
                or self.hedge_after_ms is not None)

    @property
    def certain(self) -> bool:
        """True when the call is always made (probability 1, unconditional)."""
        return self.probability >= 1.0 and self.when == "always"


# ── workload ─────────────────────────────────────────────────────────────────

class Spike(_Model):
    """Rate multiplied by `multiplier` from at_s for for_s seconds."""
    shape: Literal["spike"]
    at_s: float = Field(ge=0)
    for_s: float = Field(gt=0)
    multiplier: float = Field(gt=0)


class Step(_Model):
    """Rate changes to to_rps at at_s and stays there."""
    shape: Literal["step"]
    at_s: float = Field(ge=0)
    to_rps: float = Field(gt=0)


class Ramp(_Model):
    """Rate rises (or falls) linearly from rate_rps to to_rps between start_s and end_s."""
    shape: Literal["ramp"]
    to_rps: float = Field(gt=0)
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
    rate_rps: float | None = Field(default=None, gt=0)
    users: int | None = Field(default=None, ge=1, description="closed loop: users who each wait for an answer, then think")
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


# ── challenges ───────────────────────────────────────────────────────────────

_METRIC = re.compile(r"^\s*([A-Za-z_][\w\-]*(?:\.[\w\-]+)*)\s*(?:/\s*([A-Za-z_][\w\-]*(?:\.[\w\-]+)*)\s*)?$")
_OBJECTIVE = re.compile(r"^(.+?)\s*(<=|>=|<|>)\s*(\S+)\s*$")
METRIC_ROOTS = ("latency_ms", "goodput", "throughput_rps", "cost_per_hour", "cost_per_million", "requests",
                "nodes", "edges")


def parse_metric(text: str) -> tuple[str, str | None]:
    """A metric is a dotted results path, or one path divided by another.

    >>> parse_metric("requests.rejected / requests.arrived")
    ('requests.rejected', 'requests.arrived')
    """
    m = _METRIC.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a results path (like latency_ms.p99) or a ratio of two")
    for path in m.groups():
        if path is not None and path.split(".")[0] not in METRIC_ROOTS:
            raise ValueError(f"{path!r} does not start with one of {', '.join(METRIC_ROOTS)}")
    return m.group(1), m.group(2)


class Objective(_Model):
    """A check on a result figure: `metric op target`, written out or as one string."""
    metric: str
    op: Literal["<=", "<", ">=", ">"]
    target: float
    label: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            m = _OBJECTIVE.match(data)
            if not m:
                raise ValueError(f"{data!r} is not 'METRIC OP NUMBER' (for example 'latency_ms.p99 <= 250')")
            try:
                target = float(m.group(3))
            except ValueError:
                raise ValueError(f"{m.group(3)!r} in {data!r} is not a number: write 'METRIC OP NUMBER' "
                                 "(for example 'latency_ms.p99 <= 250')") from None
            return {"metric": m.group(1).strip(), "op": m.group(2), "target": target}
        return data

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        parse_metric(v)
        return " / ".join(p for p in parse_metric(v) if p)

    def text(self) -> str:
        return f"{self.metric} {self.op} {self.target:g}"


class Constraints(_Model):
    """What the player may change in the starter design."""
    add_kinds: list[Literal["service", "database", "cache", "load_balancer", "queue", "rate_limiter"]] = Field(
        default_factory=list, description="node kinds the player may add")
    editable: list[str] = Field(default_factory=lambda: ["nodes.*", "edges"],
                                description="glob patterns of the fields that may change, e.g. nodes.web.replicas")
    may_remove: bool = Field(default=False, description="may starter nodes be removed")
    max_replicas: int | None = Field(default=None, ge=1, description="the most replicas of any node")
    budget_per_hour: float | None = Field(default=None, gt=0, description="the most the design may cost, dollars per hour")
    templates: dict[str, str] = Field(default_factory=dict,
                                      description="kind -> starter node an added node of that kind must copy")
    template_free: list[str] = Field(default_factory=lambda: ["replicas"],
                                     description="fields an added node may set apart from its template")


class Prediction(_Model):
    """A question asked before the run, scored against the simulation afterwards."""
    id: str = Field(pattern=r"^[A-Za-z_][\w\-]*$")
    question: str
    metric: str = Field(description="a results path, or design.PATH for a figure of the design (design.nodes.web.replicas)")
    tolerance: float = Field(default=0.2, gt=0, le=1, description="relative error that counts as right")

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if not v.startswith("design."):
            parse_metric(v)
        return v


class Solution(_Model):
    """A reference design: nodes and edges (the workload is the challenge's)."""
    nodes: dict[str, Node]
    edges: list[Edge] = Field(default_factory=list)


class Challenge(_Model):
    """A graded exercise: the scenario is the starter design, which must fail."""
    title: str = Field(min_length=1)
    level: int = Field(ge=1, le=5)
    brief: str = Field(min_length=1, description="the story in a product manager's words")
    lesson: str = Field(min_length=1, description="the concept, shown after a pass")
    objectives: list[Objective] = Field(min_length=1)
    constraints: Constraints = Field(default_factory=Constraints)
    hints: list[str] = Field(min_length=1, description="revealed one at a time")
    predict: list[Prediction] = Field(default_factory=list)
    solution: Solution
    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1, max_length=20,
                             description="every run must pass: a pass is not luck")
    order: int | None = Field(default=None, description="position in the campaign (default: by level, then title)")


# ── the scenario ─────────────────────────────────────────────────────────────

class Scenario(_Model):
    """An architecture and its workload, validated as a whole."""
    name: str = Field(min_length=1)
    description: str = ""
    seed: int | None = Field(default=None, ge=0, description="default seed when none is given to simulate()")
    workload: Workload
    nodes: dict[str, Node]
    edges: list[Edge] = Field(default_factory=list)
    challenge: Challenge | None = Field(default=None, description="makes this file a graded challenge")

    @field_validator("nodes")
    @classmethod
    def _names(cls, nodes: dict[str, Any]) -> dict[str, Any]:
        if not nodes:
            raise ValueError("must name at least one node")
        for name in nodes:
            if not _NAME.match(name):
                raise ValueError(f"node name {name!r} must start with a letter and hold only letters, digits, _ and -")
        return nodes

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
    known = ", ".join(names) or "none"
    if s.workload.entry not in s.nodes:
        yield "workload.entry", f"{s.workload.entry!r} is not a node (nodes: {known})"
    for i, e in enumerate(s.edges):
        for end, name in (("from", e.source), ("to", e.target)):
            if name not in s.nodes:
                yield f"edges[{i}].{end}", f"{name!r} is not a node (nodes: {known})"
        src = s.nodes.get(e.source)
        if src is not None and e.when != "always" and src.kind != "cache":
            yield f"edges[{i}].when", f"'when: {e.when}' needs a cache at the calling end; {e.source} is a {src.kind}"
        if e.target == s.workload.entry and s.nodes.get(e.target) is not None and e.certain and e.source == e.target:
            pass  # reported below as a cycle
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
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(p), [("", "no such file")]) from None
    except IsADirectoryError:
        raise ScenarioError(str(p), [("", "is a directory, not a scenario file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(p), [("", f"cannot be read: {exc}")]) from None
    return loads(text, source=str(p))


def loads(text: str, source: str = "<text>") -> Scenario:
    """Validate a scenario given as YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = f"YAML syntax error: {exc.problem or exc.context}"
        raise ScenarioError(source, [(where, reason)]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [("", f"YAML error: {exc}")]) from None
    return from_dict(data, source=source)


def from_dict(data: Any, source: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data (what YAML or JSON parses to)."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(source, [("", f"must be a mapping with name, workload and nodes; it is {kind}")])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _explain(exc, data)) from None
    except ScenarioError as exc:
        raise ScenarioError(source, exc.problems) from None


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


_TAGS = {"service", "database", "cache", "load_balancer", "queue", "rate_limiter",
         "exponential", "constant", "lognormal", "uniform",
         "spike", "step", "ramp", "diurnal", "function-after", "function-before"}


def _field_path(loc: tuple[Any, ...], data: Any) -> str:
    """Dotted path from a pydantic location, leaving out union tags pydantic inserts."""
    parts: list[str] = []
    cursor = data
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
            cursor = cursor[item] if isinstance(cursor, list) and item < len(cursor) else None
            continue
        if isinstance(cursor, dict) and item in cursor:
            parts.append(str(item))
            cursor = cursor[item]
        elif item in _TAGS or str(item).startswith(("function-", "tagged-union")):
            continue  # a union branch name, not a field the user wrote
        else:
            parts.append(str(item))
            cursor = None
    return ".".join(parts)


_BY_TAG: dict[str, type[BaseModel]] = {
    "service": ServiceNode, "database": ServiceNode, "cache": CacheNode, "load_balancer": LoadBalancerNode,
    "queue": QueueNode, "rate_limiter": RateLimiterNode, "exponential": Exponential, "constant": Constant, "lognormal": Lognormal,
    "uniform": Uniform, "spike": Spike, "step": Step, "ramp": Ramp, "diurnal": Diurnal,
}


def _allowed_fields(parent: tuple[Any, ...]) -> list[str]:
    """The field names the model at pydantic location `parent` accepts (for 'unknown field')."""
    model: type[BaseModel] | None = Scenario
    if parent and parent[-1] in _BY_TAG:
        model = _BY_TAG[parent[-1]]
    elif parent and parent[-1] == "workload":
        model = Workload
    elif len(parent) == 2 and parent[0] == "edges":
        model = Edge
    elif parent and parent[-1] in ("backoff", "circuit_breaker", "autoscale", "challenge", "constraints", "solution"):
        model = {"backoff": Backoff, "circuit_breaker": CircuitBreaker, "autoscale": Autoscale, "challenge": Challenge,
                 "constraints": Constraints, "solution": Solution}[parent[-1]]
    elif len(parent) >= 2 and parent[-2] == "predict":
        model = Prediction
    elif len(parent) >= 2 and parent[-2] == "failures":
        model = Fault
    elif parent:
        model = None
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _explain(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    """One (field path, reason) per pydantic error, in plain words with the bad value."""
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        path = _field_path(tuple(err["loc"]), data)
        kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
        if kind == "greater_than_equal":
            reason = f"must be at least {ctx['ge']:g}, got {value!r}"
        elif kind == "greater_than":
            reason = f"must be more than {ctx['gt']:g}, got {value!r}"
        elif kind == "less_than_equal":
            reason = f"must be at most {ctx['le']:g}, got {value!r}"
        elif kind == "less_than":
            reason = f"must be less than {ctx['lt']:g}, got {value!r}"
        elif kind == "extra_forbidden":
            allowed = _allowed_fields(tuple(err["loc"][:-1]))
            reason = "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        elif kind == "missing":
            reason = "is required"
        elif kind == "union_tag_invalid":
            reason = f"unknown {ctx.get('discriminator', 'tag').strip(chr(39))} {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
        elif kind == "union_tag_not_found":
            reason = f"needs a {ctx.get('discriminator', 'tag').strip(chr(39))} field"
        elif kind == "literal_error":
            reason = f"must be one of {ctx.get('expected')}, got {value!r}"
        elif kind == "value_error":
            reason = str(ctx.get("error", err["msg"]))
        elif kind in ("int_parsing", "int_type", "int_from_float"):
            reason = f"must be a whole number, got {value!r}"
        elif kind in ("float_parsing", "float_type"):
            reason = f"must be a number, got {value!r}"
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            reason = f"must be a mapping, got {value!r}"
        else:
            reason = err["msg"][0].lower() + err["msg"][1:] if err["msg"] else kind
        problems.append((path, reason))
    return problems
