"""Rate limiters: a token bucket in front of the nodes it protects.

The bucket holds up to ``burst`` tokens and refills at ``rate_rps`` a second.
A call that finds a token passes through (like a load balancer, to replicas in
turn); one that finds none is rejected at once with the cause
``rate_limited``, which costs the protected node nothing. For the analysis it
admits at most ``rate_rps`` (see :mod:`sandbox.components.rate_limiter`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterable, Iterator, Literal

from pydantic import Field

from ..components import RateLimiter
from ..findings import Finding
from ..model import MAX_COUNT, MAX_PRICE, MAX_RATE_RPS
from ..calls import ROUTE_HELP, Route, route_problems
from .base import COST_FIELD, Build, FormField, Kind, NodeSpec, Problem, ScenarioView

__all__ = ["RateLimiterNode", "RATE_LIMITER"]

SMALL_BURST = 10   # below, the pass share min(1, rate / offered) is off by more than a few percent (bench)


class RateLimiterNode(NodeSpec):
    """A token-bucket rate limiter: passes calls while tokens last, rejects the rest."""
    kind: Literal["rate_limiter"]
    rate_rps: float = Field(gt=0, le=MAX_RATE_RPS, description="tokens added per second")
    burst: int = Field(default=1, ge=1, le=MAX_COUNT, description="bucket size: calls let through at once after a lull")
    cost_per_hour: float | None = Field(default=None, ge=0, le=MAX_PRICE)
    route: Route | None = Field(default=None, description=ROUTE_HELP)


class RateLimiterKind(Kind[RateLimiterNode]):
    name = "rate_limiter"
    label = "rate limiter"
    spec = RateLimiterNode
    price = 0.02
    shape = "octagon"
    mermaid = ("{{", "}}")   # a hexagon: Mermaid has no octagon
    icon = "speed"
    stem = "limiter"
    palette: ClassVar[dict[str, Any]] = {"kind": "rate_limiter", "rate_rps": 100, "burst": 10}
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = (
        (FormField("rate_rps", "Rate (tokens per second)", "number", "calls let through per second, on average"),),
        (FormField("burst", "Burst", "integer", "calls let through at once after a lull", default=1),),
        (COST_FIELD,),
    )

    def problems(self, s: ScenarioView, name: str, node: RateLimiterNode) -> Iterator[Problem]:
        yield from route_problems(s.edges, s.workload.classes or (), name, node.route)
        if not any(e.source == name for e in s.edges):
            yield f"nodes.{name}", "a rate limiter needs an outgoing edge to the node it protects"

    def compile(self, build: Build, name: str, node: RateLimiterNode) -> RateLimiter:
        return RateLimiter(build.env, name, self.name, node.rate_rps, node.burst,
                           build.streams.sampler(f"node:{name}:route", "random"))

    def admits_rps(self, node: RateLimiterNode) -> float:
        return float(node.rate_rps)

    def out_of_scope(self, node: RateLimiterNode) -> str | None:
        if node.burst < SMALL_BURST:
            return (f"a token bucket with a burst of {node.burst} loses the tokens that come while it is full, so it "
                    f"passes fewer calls than its rate under random arrivals (burst 1 at 110% offered passes about "
                    f"half); see the simulation")
        return None

    def load_findings(self, s: ScenarioView, name: str, node: RateLimiterNode, offered_rps: float) -> Iterable[Finding]:
        offered = offered_rps
        if offered > node.rate_rps:
            yield Finding("info", "rate_limited", name,
                          f"{name} admits {node.rate_rps:g} rps of the {offered:.0f} offered: "
                          f"about {1 - node.rate_rps / offered:.0%} are rejected")

    def summary(self, node: RateLimiterNode) -> str:
        return f"{node.rate_rps:g} rps, burst {node.burst:,}"


RATE_LIMITER = RateLimiterKind()
