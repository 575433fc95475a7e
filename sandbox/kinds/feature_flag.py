"""Feature flags: a progressive rollout of a treatment against its control, with guardrails that roll it back.

The flag sends each call to ``control`` or ``treatment`` (two nodes it has an
edge to) by a share that follows ``schedule`` (``[{at_s, share}, ...]``,
times increasing). With ``sticky`` and keys, a key keeps its variant as the
share grows. ``guardrails`` compare the variants every ``check_every_s`` over
the last ``window_s``: ``{metric: error_rate, max_increase}`` (treatment minus
control, absolute) and ``{metric: p99_ms, max_ratio}`` (treatment over
control), each judged once both variants had ``min_requests`` calls in the
window, by a one-sided test held to alpha / (looks x guardrails) so the whole
rollout keeps its false-alarm rate at most ``alpha`` (Bonferroni over the
planned looks: simple and conservative; an alpha-spending or sequential test
would detect sooner). ``on_breach``: ``rollback`` (share 0 from then on),
``hold`` (no further ramp) or ``ignore`` (logged only). See
:mod:`sandbox.components.feature_flag` for the tests themselves.

For the analysis the flag splits its calls by the schedule's mean share over
the measured window.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Literal

from pydantic import Field, model_validator

from ..components.feature_flag import FeatureFlag, Guard
from ..model import MAX_COUNT, MAX_PRICE, MAX_S, Model
from .base import COST_FIELD, Build, FormField, Kind, NodeSpec, Problem, ScenarioView

if TYPE_CHECKING:  # pragma: no cover
    from ..calls import Edge
    from ..components import Component

__all__ = ["FeatureFlagNode", "FEATURE_FLAG", "Stage", "Guardrail"]


class Stage(Model):
    """From at_s on, the treatment takes this share of the calls."""
    at_s: float = Field(ge=0, le=MAX_S)
    share: float = Field(ge=0, le=1)


class Guardrail(Model):
    """A bound the treatment must keep against the control."""
    metric: Literal["error_rate", "p99_ms"]
    max_increase: float | None = Field(default=None, ge=0, le=1, description="error_rate: treatment - control")
    max_ratio: float | None = Field(default=None, ge=1, le=100, description="p99_ms: treatment / control")

    @model_validator(mode="after")
    def _bound(self) -> "Guardrail":
        if self.metric == "error_rate" and (self.max_increase is None or self.max_ratio is not None):
            raise ValueError("an error_rate guardrail takes max_increase (treatment minus control, e.g. 0.01)")
        if self.metric == "p99_ms" and (self.max_ratio is None or self.max_increase is not None):
            raise ValueError("a p99_ms guardrail takes max_ratio (treatment over control, e.g. 1.2)")
        return self

    @property
    def bound(self) -> float:
        return float(self.max_increase if self.metric == "error_rate" else self.max_ratio)  # type: ignore[arg-type]


class FeatureFlagNode(NodeSpec):
    """A progressive rollout: control or treatment for each call, by a scheduled share, with guardrails."""
    kind: Literal["feature_flag"]
    control: str = Field(description="the node serving the current version")
    treatment: str = Field(description="the node serving the new version")
    schedule: list[Stage] = Field(min_length=1, max_length=100)
    sticky: bool = Field(default=True, description="a key keeps its variant as the share grows")
    guardrails: list[Guardrail] = Field(default_factory=list, max_length=10)
    check_every_s: float = Field(default=10.0, gt=0, le=MAX_S)
    window_s: float = Field(default=60.0, gt=0, le=MAX_S, description="the guardrails look at this many last seconds")
    min_requests: int = Field(default=200, ge=1, le=MAX_COUNT, description="per variant in the window before judging")
    on_breach: Literal["rollback", "hold", "ignore"] = "rollback"
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="the rollout's false-alarm rate, over every look")
    cost_per_hour: float | None = Field(default=None, ge=0, le=MAX_PRICE)

    @model_validator(mode="after")
    def _schedule(self) -> "FeatureFlagNode":
        times = [s.at_s for s in self.schedule]
        if any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError("schedule: the stages' at_s must increase (one stage per time)")
        if self.check_every_s < 0.1:
            raise ValueError(f"check_every_s: at least 0.1 s, got {self.check_every_s:g}")
        return self

    def mean_share(self, start: float, end: float) -> float:
        """The schedule's mean share over [start, end] (no breach)."""
        if end <= start:
            return self.schedule[0].share
        total = 0.0
        stages = [(s.at_s, s.share) for s in self.schedule] + [(math.inf, 0.0)]
        for (a, share), (b, _) in zip(stages, stages[1:]):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += share * (hi - lo)
        return total / (end - start)


class FeatureFlagKind(Kind[FeatureFlagNode]):
    name = "feature_flag"
    label = "feature flag"
    spec = FeatureFlagNode
    price = 0.0
    shape = "invtrapezium"
    mermaid = ("[\\", "/]")
    icon = "flag"
    stem = "flag"
    in_palette = False          # it needs its control and treatment: written in YAML (see the README)
    palette: ClassVar[dict[str, Any]] = {"kind": "feature_flag"}
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = (
        (FormField("check_every_s", "Check every s", "number", "seconds between two looks of the guardrails",
                   default=10.0),
         FormField("min_requests", "Calls before judging", "integer", "per variant in the window", default=200)),
        (FormField("on_breach", "On a breach", "choice", "rollback: share 0; hold: stop ramping; ignore: log only",
                   choices=("rollback", "hold", "ignore"), default="rollback"),
         FormField("alpha", "False-alarm rate", "number", "over the whole rollout, every look", step=0.01,
                   default=0.05)),
        (COST_FIELD,),
    )
    yaml_only: ClassVar[tuple[str, ...]] = ("control", "treatment", "schedule", "guardrails", "sticky", "window_s")

    def problems(self, s: ScenarioView, name: str, node: FeatureFlagNode) -> Iterator[Problem]:
        targets = [e.target for e in s.out_edges(name)]
        for field in ("control", "treatment"):
            target = getattr(node, field)
            if target not in s.nodes:
                yield f"nodes.{name}.{field}", f"{target!r} is not a node"
            elif target not in targets:
                yield f"nodes.{name}.{field}", f"{name} has no call to {target} (add the edge {name} -> {target})"
        if node.control == node.treatment:
            yield f"nodes.{name}.treatment", "must differ from the control"
        extra = [t for t in targets if t not in (node.control, node.treatment)]
        if extra or len(targets) != len(set(targets)):
            yield f"nodes.{name}", (f"a feature flag calls its control and its treatment, once each; it also calls "
                                    f"{', '.join(extra) or 'one of them twice'}")

    def compile(self, build: Build, name: str, node: FeatureFlagNode) -> FeatureFlag:
        w = build.scenario.workload
        streams = build.streams
        looks = max(1, int(w.duration_s // node.check_every_s))
        salt = int(streams.sampler(f"node:{name}:sticky", "integers", 0, 2 ** 62)())
        flag = FeatureFlag(build.env, name, self.name, node.control, node.treatment,
                           [(st.at_s, st.share) for st in node.schedule], node.sticky,
                           [Guard(g.metric, g.bound) for g in node.guardrails], node.check_every_s, node.window_s,
                           node.min_requests, node.on_breach, node.alpha, looks,
                           streams.sampler(f"node:{name}:variant", "random"), salt,
                           streams.sampler(f"node:{name}:route", "random"))
        return flag

    def start(self, build: Build, name: str, node: FeatureFlagNode, component: "Component") -> None:
        assert isinstance(component, FeatureFlag)
        build.env.process(component.ramp())     # the share, stage by stage
        build.env.process(component.checks())   # the guardrails, and each look's point of the per-variant series

    def routing(self, node: FeatureFlagNode) -> str:
        return "one"   # each call takes exactly one of its two edges

    def edge_share(self, s: ScenarioView, node: FeatureFlagNode, edge: "Edge") -> float | None:
        w = s.workload
        share = node.mean_share(w.warmup_s, w.duration_s)
        return share if edge.target == node.treatment else 1.0 - share

    def out_of_scope(self, node: FeatureFlagNode) -> str | None:
        return "its share follows a schedule (and a rollback): the analysis splits its calls by the mean share"

    def summary(self, node: FeatureFlagNode) -> str:
        last = node.schedule[-1].share
        return f"{node.treatment} up to {last:.0%}, {len(node.guardrails)} guardrails"


FEATURE_FLAG = FeatureFlagKind()
