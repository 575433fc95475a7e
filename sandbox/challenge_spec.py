"""Challenge specs: the `challenge:` section of a scenario file, as validated data.

Objectives (``METRIC OP NUMBER`` over the JSON results), constraints on what a
player may change, predictions, hints and a reference solution. The grader that
uses them is :mod:`sandbox.challenges`.

A metric may name one request class of the workload by its path in the results
(``classes.checkout.latency_ms.p99``, ``classes.browse.error_budget.burn_rate``,
``classes.browse.requests.rejected / classes.browse.requests.arrived``), so a
challenge can hold each class to its own SLO and error budget.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .calls import Edge
from .kinds import KINDS, Node
from .model import Model

__all__ = ["METRIC_ROOTS", "parse_metric", "Objective", "Constraints", "Prediction", "Solution", "Challenge"]

_METRIC = re.compile(r"^\s*([A-Za-z_][\w\-]*(?:\.[\w\-]+)*)\s*(?:/\s*([A-Za-z_][\w\-]*(?:\.[\w\-]+)*)\s*)?$")
_OBJECTIVE = re.compile(r"^(.+?)\s*(<=|>=|<|>)\s*(\S+)\s*$")
METRIC_ROOTS = ("latency_ms", "goodput", "throughput_rps", "cost_per_hour", "cost_per_million", "requests",
                "nodes", "edges", "classes", "placement")


def parse_metric(text: str) -> tuple[str, str | None]:
    """A metric is a dotted results path, or one path divided by another.

    >>> parse_metric("requests.rejected / requests.arrived")
    ('requests.rejected', 'requests.arrived')
    >>> parse_metric("classes.checkout.latency_ms.p99")
    ('classes.checkout.latency_ms.p99', None)
    """
    m = _METRIC.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a results path (like latency_ms.p99) or a ratio of two")
    for path in m.groups():
        if path is not None and path.split(".")[0] not in METRIC_ROOTS:
            raise ValueError(f"{path!r} does not start with one of {', '.join(METRIC_ROOTS)}")
    return m.group(1), m.group(2)


class Objective(Model):
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


class Constraints(Model):
    """What the player may change in the starter design."""
    add_kinds: list[str] = Field(default_factory=list, description="node kinds the player may add")
    editable: list[str] = Field(default_factory=lambda: ["nodes.*", "edges"],
                                description="glob patterns of the fields that may change, e.g. nodes.web.replicas")
    may_remove: bool = Field(default=False, description="may starter nodes be removed")
    max_replicas: int | None = Field(default=None, ge=1, description="the most replicas of any node")
    budget_per_hour: float | None = Field(default=None, gt=0, description="the most the design may cost, dollars per hour")
    templates: dict[str, str] = Field(default_factory=dict,
                                      description="kind -> starter node an added node of that kind must copy")
    template_free: list[str] = Field(default_factory=lambda: ["replicas"],
                                     description="fields an added node may set apart from its template")

    @field_validator("add_kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        for k in kinds:
            if k not in KINDS:
                raise ValueError(f"unknown kind {k!r}; expected one of {', '.join(repr(n) for n in KINDS)}")
        return kinds


class Prediction(Model):
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


class Solution(Model):
    """A reference design: nodes and edges (the workload is the challenge's)."""
    nodes: dict[str, Node]
    edges: list[Edge] = Field(default_factory=list)


class Challenge(Model):
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
