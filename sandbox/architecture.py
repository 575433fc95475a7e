"""Architecture specs: nodes, service-time distributions and calls, as validated data.

The building blocks of a scenario (see :mod:`sandbox.scenario`, which assembles
them with a workload and checks them as a whole): one pydantic model per node
kind, per service-time distribution, and per call setting (retries, backoff,
circuit breaker). Each refuses a bad value where it enters, with the value in
the message.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_RATE_RPS", "MAX_PROCESSES", "LB_POLICIES", "NODE_KINDS", "DEFAULT_COST_PER_HOUR", "RETRY_CAUSES", "Exponential", "Constant",
    "Lognormal", "Uniform", "ServiceTime", "Fault", "Autoscale", "ServiceNode", "CacheNode",
    "LoadBalancerNode", "RateLimiterNode", "QueueNode", "Node", "Backoff", "CircuitBreaker", "Edge",
]

LB_POLICIES = ("round_robin", "random", "least_connections", "power_of_two")
NODE_KINDS = ("service", "database", "cache", "load_balancer", "queue", "rate_limiter")
MAX_RATE_RPS = 1e8        # requests per second: far above any system simulated one event at a time
MAX_PROCESSES = 100_000   # closed-loop users, or consumers of one queue: each is a simulated process
_Z99 = 2.3263478740408408  # standard normal quantile at 0.99


class _Model(BaseModel):
    # allow_inf_nan=False: .inf and .nan are refused wherever a number goes ("must be a finite number")
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True, allow_inf_nan=False)


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
    rate_rps: float = Field(gt=0, le=MAX_RATE_RPS, description="tokens added per second")
    burst: int = Field(default=1, ge=1, description="bucket size: calls let through at once after a lull")
    cost_per_hour: float | None = Field(default=None, ge=0)


class QueueNode(_Model):
    """A message queue: accepts a message at once, consumers process it later."""
    kind: Literal["queue"]
    capacity: int = Field(default=10_000, ge=1, description="messages held at most; a full queue rejects")
    consumers: int | None = Field(default=None, ge=1, le=MAX_PROCESSES,
                                  description="concurrent consumers; default: the workers of the nodes it feeds")
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
