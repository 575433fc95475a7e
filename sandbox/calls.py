"""Calls: the edges of the architecture, and how a caller copes when a call fails.

An :class:`Edge` is a call from one node to another, made with a probability,
over a network delay, and (from a cache) only on a hit or a miss. A call may be
*resilient*: a timeout, retries with a :class:`Backoff`, a
:class:`CircuitBreaker`, a hedged second copy. The runtime side of these is
:mod:`sandbox.components.resilience`.
"""

from __future__ import annotations

import math
from typing import Iterable, Iterator, Literal, Sequence

from pydantic import Field, model_validator

from .model import MAX_MS, MAX_S, Model


__all__ = ["RETRY_CAUSES", "Backoff", "CircuitBreaker", "Edge", "route_problems", "ROUTE_TOLERANCE", "Route", "ROUTE_HELP",
           "weight_problems"]

ROUTE_TOLERANCE = 1e-9
Route = Literal["each", "one"]
ROUTE_HELP = "each (default): every call is its own coin flip; one: exactly one call is taken, its probability its share"

RETRY_CAUSES = ("timeout", "error", "down", "rejected", "rate_limited", "shed", "expired")
RetryCause = Literal["timeout", "error", "down", "rejected", "rate_limited", "shed", "expired"]


def _default_retry_on() -> list[RetryCause]:
    return ["timeout", "error", "down", "rejected"]


class Backoff(Model):
    """Wait before retry k: base_ms x multiplier^(k-1), at most max_ms; full jitter draws uniformly below it."""
    base_ms: float = Field(default=100.0, ge=0, le=MAX_MS)
    multiplier: float = Field(default=2.0, ge=1, le=1000)
    max_ms: float = Field(default=10_000.0, gt=0, le=MAX_MS)
    jitter: Literal["none", "full"] = "none"


class CircuitBreaker(Model):
    """Stops calling a failing callee: opens on a failure ratio over recent calls, or on consecutive failures."""
    failure_ratio: float | None = Field(default=0.5, gt=0, le=1, description="open when this share of the last `window` calls failed")
    window: int = Field(default=20, ge=1, le=1_000_000, description="recent calls the ratio is taken over")
    min_calls: int = Field(default=10, ge=1, le=1_000_000, description="calls needed in the window before the ratio counts")
    consecutive_failures: int | None = Field(default=None, ge=1, le=1_000_000, description="open after this many failures in a row")
    open_s: float = Field(default=5.0, gt=0, le=MAX_S, description="time open before letting probes through")
    half_open_probes: int = Field(default=1, ge=1, le=1_000_000, description="probe calls that must succeed to close again")

    @model_validator(mode="after")
    def _a_trigger(self) -> "CircuitBreaker":
        if self.failure_ratio is None and self.consecutive_failures is None:
            raise ValueError("give failure_ratio or consecutive_failures (or both)")
        return self


class Edge(Model):
    """A call from one node to another, taken with a probability."""
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    probability: float = Field(default=1.0, gt=0, le=1)
    latency_ms: float = Field(default=0.0, ge=0, le=MAX_MS, description="network delay each way")
    when: Literal["always", "hit", "miss"] = Field(default="always", description="for caches: only on a hit or a miss")
    timeout_ms: float | None = Field(default=None, gt=0, le=MAX_MS, description="the caller gives up after this; the callee's work goes on, wasted")
    retries: int = Field(default=0, ge=0, le=10, description="further attempts after a failed one")
    backoff: Backoff | None = Field(default=None, description="wait between attempts (default: none)")
    retry_on: list[RetryCause] = Field(default_factory=_default_retry_on, description="failure causes that are retried")
    circuit_breaker: CircuitBreaker | None = None
    hedge_after_ms: float | None = Field(default=None, gt=0, le=MAX_MS, description="send a second copy if no answer by then")
    classes: list[str] | None = Field(default=None, min_length=1, max_length=32,
                                      description="taken only by requests of these classes (default: every class)")
    weight: float | None = Field(default=None, gt=0, le=1_000_000,
                                 description="from a load balancer: its share of calls is weight / the sum of weights")

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
        """True when the call is always made (probability 1, unconditional, by every class, not one of a
        weighted choice)."""
        return self.probability >= 1.0 and self.when == "always" and self.classes is None and self.weight is None


def route_problems(all_edges: Sequence[Edge], class_names: Iterable[str], name: str,
                   route: str | None) -> Iterator[tuple[str, str]]:
    """With ``route: one`` a node's calls are one choice: for each class (and, from a cache, on a hit and on a
    miss) the probabilities of the calls it may take must sum to 1. Weights belong to load balancers.
    `all_edges` are the scenario's (their index is their place in the field path)."""
    edges = [(i, e) for i, e in enumerate(all_edges) if e.source == name]
    for i, e in edges:
        if e.weight is not None:
            yield f"edges[{i}].weight", (f"a weight splits a load balancer's calls; {name} is not a load balancer "
                                         "(give it route: one and use probabilities)")
    if route != "one":
        return
    classes: list[str | None] = list(class_names) or [None]
    for cls in classes:
        for branch in ("hit", "miss"):
            taken = [(i, e) for i, e in edges if (e.classes is None or cls in e.classes)
                     and e.when in ("always", branch)]
            total = math.fsum(e.probability for _, e in taken)
            if taken and abs(total - 1.0) > ROUTE_TOLERANCE:
                who = f" for class {cls}" if cls is not None else ""
                on = f" on a {branch}" if any(e.when != "always" for _, e in edges) else ""
                listed = ", ".join(f"{e.target} {e.probability:g}" for _, e in taken)
                yield f"nodes.{name}.route", (f"route: one takes exactly one call, so the probabilities of the "
                                              f"calls{who}{on} must sum to 1; they sum to {total:.12g} ({listed})")
                return


def weight_problems(all_edges: Sequence[Edge], name: str) -> Iterator[tuple[str, str]]:
    """A load balancer's weights: on all of its calls or none, with the probabilities left at 1."""
    edges = [(i, e) for i, e in enumerate(all_edges) if e.source == name]
    weighted = [i for i, e in edges if e.weight is not None]
    if not weighted:
        return
    for i, e in edges:
        if e.weight is None:
            yield f"edges[{i}].weight", (f"{name} weighs its other calls, so this one needs a weight too "
                                         "(each call's share is its weight / the sum of weights)")
        elif e.probability < 1.0:
            yield f"edges[{i}].probability", "a weighted call is chosen by its weight; leave probability at 1"
