"""Node kinds: one module per kind, registered in one table that every part of the sandbox reads.

:data:`KINDS` maps each ``kind:`` name to its :class:`~sandbox.kinds.base.Kind`,
in the order the palette and the messages list them. The engine compiles
nodes through it, the analysis asks it for servers and service times, the
diagrams for shapes and summaries, the reports and the app for labels, prices,
palette defaults and form fields. Adding a kind is one module here and one
line in the table.

>>> list(KINDS)
['service', 'database', 'cache', 'load_balancer', 'queue', 'rate_limiter', 'stream', 'topic', 'feature_flag']
>>> KINDS["cache"].label, KINDS["cache"].shape, KINDS["cache"].price
('cache', 'box3d', 0.15)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field

from .base import Build, Capacity, FormField, Kind, Measured, NodeSpec, Problem, ScenarioView
from .cache import CACHE
from .database import DATABASE
from .feature_flag import FEATURE_FLAG
from .load_balancer import LB_POLICIES, LOAD_BALANCER
from .queue import QUEUE
from .rate_limiter import RATE_LIMITER
from .service import SERVICE
from .station import StationSpec
from .stream import STREAM
from .topic import TOPIC

__all__ = ["KINDS", "NODE_KINDS", "Node", "kind_of", "Kind", "NodeSpec", "Build", "Capacity", "FormField",
           "Problem", "ScenarioView", "StationSpec", "LB_POLICIES", "Measured"]

KINDS: dict[str, Kind[Any]] = {k.name: k for k in (SERVICE, DATABASE, CACHE, LOAD_BALANCER, QUEUE, RATE_LIMITER,
                                                   STREAM, TOPIC, FEATURE_FLAG)}
NODE_KINDS: tuple[str, ...] = tuple(KINDS)

if TYPE_CHECKING:  # the checker sees the common base; pydantic, below, the union of every kind's spec
    Node = NodeSpec
else:
    Node = Annotated[Union[tuple(k.spec for k in KINDS.values())], Field(discriminator="kind")]


def kind_of(node: NodeSpec | dict[str, Any]) -> Kind[Any]:
    """The kind of a node spec (or of a node's plain data)."""
    return KINDS[node["kind"] if isinstance(node, dict) else node.kind]

