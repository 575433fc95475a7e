"""Load balancers: pass each call to one replica of the node behind, chosen by a policy.

A load balancer holds no workers and adds no service time. For each of its
calls it picks a replica of the callee by ``policy`` (round robin, random,
least connections, or the better of two random choices; see
:mod:`sandbox.components.load_balancer`). It needs at least one call to
balance over.
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterator, Literal

from pydantic import Field

from ..components import POLICIES, LoadBalancer
from ..model import MAX_PRICE
from ..placement import HealthCheck
from ..calls import weight_problems
from .base import COST_FIELD, Build, FormField, Kind, NodeSpec, Problem, ScenarioView

__all__ = ["LoadBalancerNode", "LOAD_BALANCER", "LB_POLICIES"]

LB_POLICIES: tuple[str, ...] = tuple(POLICIES)


class LoadBalancerNode(NodeSpec):
    """A load balancer: sends each call to one replica of its downstream node by policy."""
    kind: Literal["load_balancer"]
    policy: Literal["round_robin", "random", "least_connections", "power_of_two"] = "round_robin"
    locality: Literal["none", "zone"] | None = Field(default=None, description="zone: prefer healthy replicas in "
                                                                              "the caller's zone, else any healthy one")
    health_check: HealthCheck | None = Field(default=None, description="probe replicas; take out those that fail")
    cost_per_hour: float | None = Field(default=None, ge=0, le=MAX_PRICE)


class LoadBalancerKind(Kind[LoadBalancerNode]):
    name = "load_balancer"
    label = "load balancer"
    spec = LoadBalancerNode
    price = 0.03
    shape = "diamond"
    mermaid = ("{", "}")
    images = ("nginx", "haproxy", "traefik", "envoy", "caddy")
    balancer = True
    icon = "call_split"
    stem = "lb"
    palette: ClassVar[dict[str, Any]] = {"kind": "load_balancer", "policy": "round_robin"}
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = (
        (FormField("policy", "Policy", "choice", "how the replica of each call is chosen", choices=LB_POLICIES,
                   default="round_robin"),
         FormField("locality", "Prefer the caller's zone", "choice",
                   "zone: send each call to a healthy replica in the zone of the replica that called, where the "
                   "node behind has one (no cross-zone delay), else to any healthy replica",
                   choices=("none", "zone"), default="none")),
        (FormField("health_check", "Health checks", "group",
                   "probe each replica every interval; take it out after this many failed probes in a row, put it "
                   "back after a good one. Without them, calls keep going to replicas that are down",
                   default={"interval_s": 5, "unhealthy_after": 2},
                   fields=(FormField("interval_s", "Every s", "number", "seconds between two probes", step=1.0),
                           FormField("unhealthy_after", "Out after failures", "integer",
                                     "failed probes in a row that take a replica out"))),),
        (COST_FIELD,),
    )

    def problems(self, s: ScenarioView, name: str, node: LoadBalancerNode) -> Iterator[Problem]:
        if not any(e.source == name for e in s.edges):
            yield f"nodes.{name}", "a load balancer needs at least one outgoing edge to balance over"
        yield from weight_problems(s.edges, name)

    def compile(self, build: Build, name: str, node: LoadBalancerNode) -> LoadBalancer:
        return LoadBalancer(build.env, name, self.name, node.policy,
                            build.streams.sampler(f"node:{name}:route", "random"))

    def spreads(self, node: LoadBalancerNode) -> str:
        return str(node.policy)

    def summary(self, node: LoadBalancerNode) -> str:
        parts = [str(node.policy).replace("_", " ")]
        if node.locality == "zone":
            parts.append("zone-local")
        if node.health_check is not None:
            parts.append(f"probes every {node.health_check.interval_s:g} s")
        return ", ".join(parts)


LOAD_BALANCER = LoadBalancerKind()
