"""Request classes: the traffic mix, each class with its share, SLO, priority and error budget.

A workload may split its requests into named classes (``browse`` and
``checkout``, reads and writes, free and paying users). Each request draws its
class at arrival from a stream of its own, so changing the shares leaves the
arrival times as they were. A class may take only some calls (an edge's
``classes``), have its own service time at a node, sit behind a bulkhead, be
shed first or served first (its ``priority``), and carry its own SLO and error
budget. Without ``classes`` a workload has one implicit class and behaves
exactly as before.

This module holds the spec (:class:`TrafficClass`), the run's view of the mix
(:class:`ClassMix`: names, shares and priorities by index) and the checks that
need the whole scenario (:func:`class_problems`).

>>> mix = ClassMix.of({"browse": TrafficClass(share=0.8), "checkout": TrafficClass(share=0.2, priority=1)}, 200.0)
>>> mix.names, mix.priorities, mix.slo_s
(('browse', 'checkout'), (0, 1), (0.2, 0.2))
>>> mix.split_users(7)
[6, 1]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

from pydantic import Field

from .messages import shown
from .model import MAX_MS, Model

if TYPE_CHECKING:  # pragma: no cover
    from .calls import Edge

__all__ = ["TrafficClass", "ClassMix", "class_problems", "MAX_CLASSES", "SHARE_TOLERANCE", "CLASS_NAME",
           "DEFAULT_CLASS"]

MAX_CLASSES = 32
SHARE_TOLERANCE = 1e-9
CLASS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
DEFAULT_CLASS = "default"   # the one implicit class of a workload without classes


class TrafficClass(Model):
    """One class of requests: its share of arrivals, SLO, priority and error-budget target."""
    share: float = Field(ge=0, le=1, description="of arrivals (or of closed-loop users)")
    slo_ms: float | None = Field(default=None, gt=0, le=MAX_MS, description="overrides the workload's slo_ms")
    priority: int = Field(default=0, ge=0, le=1000, description="higher is served first where discipline: priority")
    slo_target: float | None = Field(default=None, gt=0, lt=1,
                                     description="share of requests that must be good (0.999): sets the error budget")
    writes: bool = Field(default=False, description="its requests write their key (a cache applies on_write)")


@dataclass(frozen=True)
class ClassMix:
    """The classes of a run by index (the order the workload lists them): what the engine reads."""
    names: tuple[str, ...]
    shares: tuple[float, ...]
    priorities: tuple[int, ...]
    slo_s: tuple[float | None, ...]
    targets: tuple[float | None, ...]

    @classmethod
    def of(cls, classes: Mapping[str, TrafficClass] | None, slo_ms: float | None) -> "ClassMix":
        """The mix of a workload's classes (None: the one implicit class)."""
        if not classes:
            return cls((DEFAULT_CLASS,), (1.0,), (0,), (slo_ms / 1000.0 if slo_ms else None,), (None,))
        names = tuple(classes)
        return cls(names, tuple(c.share for c in classes.values()), tuple(c.priority for c in classes.values()),
                   tuple((c.slo_ms or slo_ms or 0.0) / 1000.0 or None for c in classes.values()),
                   tuple(c.slo_target for c in classes.values()))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def cumulative(self) -> list[float]:
        """Upper ends of each class's slice of [0, 1): a uniform draw below the k-th is class k."""
        out, total = [], 0.0
        for s in self.shares:
            total += s
            out.append(total)
        out[-1] = math.inf  # rounding never leaves a draw without a class
        return out

    def split_users(self, users: int) -> list[int]:
        """Closed-loop users per class, by share (largest remainder, ties to the class listed first)."""
        exact = [users * s for s in self.shares]
        counts = [int(math.floor(x)) for x in exact]
        order = sorted(range(len(exact)), key=lambda k: (-(exact[k] - counts[k]), k))
        for k in order[:users - sum(counts)]:
            counts[k] += 1
        return counts


def class_problems(classes: Mapping[str, TrafficClass], edges: "Sequence[Edge]",
                   nodes: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """Every reference to a class must name one; priority needs classes; class-only fields need classes.
    `classes` are the workload's (empty: none), `edges` and `nodes` the scenario's."""
    if classes:
        total = math.fsum(c.share for c in classes.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            shares = ", ".join(f"{n} {c.share:g}" for n, c in classes.items())
            yield "workload.classes", f"the shares must sum to 1; they sum to {total:.12g} ({shares})"
    known = ", ".join(classes) or "none: the workload defines no classes"

    def unknown(path: str, name: str) -> tuple[str, str]:
        return path, f"{shown(name)} is not a class of the workload (classes: {known})"

    for i, e in enumerate(edges):
        for name in e.classes or ():
            if name not in classes:
                yield unknown(f"edges[{i}].classes", name)
    for node_name, node in nodes.items():
        for field in ("service_time_by_class", "bulkheads"):
            for name in getattr(node, field, None) or {}:
                if name not in classes:
                    yield unknown(f"nodes.{node_name}.{field}.{name}", name)
        if getattr(node, "discipline", None) == "priority" and not classes:
            yield (f"nodes.{node_name}.discipline", "'priority' orders waiting calls by their class's priority; "
                                                    "define workload.classes first")
