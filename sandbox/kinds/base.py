"""What a node kind is: the questions every part of the sandbox asks of a kind, with their common answers.

A kind (service, cache, queue, ...) is one :class:`Kind` object, made in its
own module under :mod:`sandbox.kinds` and registered in :data:`sandbox.kinds.KINDS`.
It holds everything the rest of the code needs to know about the kind, so the
engine, the analysis, the diagrams, the reports and the app loop over the
table and never test a kind's name:

- **the spec**: the pydantic model of a node of the kind, and the checks that
  need the whole scenario (:meth:`Kind.problems`);
- **the runtime**: :meth:`Kind.compile` builds the component that serves calls,
  :meth:`Kind.start` starts its processes once every call is wired;
- **the analysis**: servers and replicas, own service time, what it admits,
  the share of calls a branch takes (:meth:`Kind.capacity`,
  :meth:`Kind.service_time`, :meth:`Kind.admits_rps`, :meth:`Kind.branch_share`),
  and the findings it adds;
- **the views**: its label, diagram shape and one-line summary, its palette
  default, its form fields (as data the app renders), its default price.

The defaults here describe a node that holds no workers and passes calls on;
each kind overrides what it does differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Generic, Iterable, Iterator, Literal, Mapping, Protocol, Sequence, TypeVar

from ..model import Model

if TYPE_CHECKING:  # pragma: no cover
    from simpy import Environment

    from ..calls import Edge
    from ..classes import ClassMix
    from ..components import Component
    from ..distributions import ServiceTime
    from ..findings import Finding
    from ..randomness import Streams
    from ..workload import Workload

__all__ = ["Kind", "COST_FIELD", "NodeSpec", "ScenarioView", "FormField", "Capacity", "Build", "Problem", "S", "Measured"]

Problem = tuple[str, str]   # (field path, reason), as ScenarioError holds them


class NodeSpec(Model):
    """The base of every node's spec. Each kind adds its fields (and ``kind``, a one-value Literal)."""
    if TYPE_CHECKING:  # every spec has these two; declared per kind, so each keeps its field order
        kind: str
        cost_per_hour: float | None


class ScenarioView(Protocol):
    """What a kind reads of the scenario around its node (a :class:`~sandbox.scenario.Scenario` is one)."""

    @property
    def nodes(self) -> Mapping[str, NodeSpec]: ...

    @property
    def edges(self) -> Sequence["Edge"]: ...

    @property
    def workload(self) -> "Workload": ...

    def out_edges(self, node: str) -> list["Edge"]: ...


@dataclass(frozen=True)
class Measured:
    """What traces measured of one node, for its kind to turn into field values (see :mod:`sandbox.calibrate`)."""
    service_time: dict[str, Any] | None   # its own work per call, fitted, as scenario data (None: no samples)
    branch_share: dict[str, float]        # by branch ("hit", "miss"): the share of its calls that took it,
                                          # from the calls made on that branch's edges


@dataclass(frozen=True)
class Capacity:
    """What the analysis needs of a node: workers (or consumers) in all replicas, and the replicas."""
    servers: int
    replicas: int = 1


@dataclass(frozen=True)
class Build:
    """What compiling a node needs: the SimPy environment, the run's random streams, the scenario, and its
    classes (None: the workload has none)."""
    env: "Environment"
    streams: "Streams"
    scenario: ScenarioView
    classes: "ClassMix | None" = None


Widget = Literal["integer", "number", "choice", "toggle", "optional_integer", "service_time", "queue_limit", "cost",
                 "group", "per_class", "names"]


@dataclass(frozen=True)
class FormField:
    """One field of a node's form, as data: the app draws it, the library never does.

    ``path`` is the field inside the node (``replicas``; ``shed.queue_over`` inside
    a nested mapping). ``widget`` says how it is edited: a whole or decimal number,
    a choice among ``choices``, a toggle, an optional whole number (empty means the
    default), or one of the composite editors the app knows (the service-time
    distribution, a queue limit with an "unbounded" switch, the price with the
    kind's default as placeholder, an optional ``group`` of sub-``fields`` switched
    on with ``default`` as its first value, ``per_class``: one optional whole
    number per request class of the workload, such as its bulkhead, and ``names``:
    a list of names typed with commas, empty for none, such as a node's zones). A field that
    is ``classes_only`` is shown only when the workload has classes (or the node
    already sets it).
    """
    path: str
    label: str
    widget: Widget
    help: str = ""
    choices: tuple[str, ...] = ()
    step: float | None = None
    placeholder: str | None = None
    default: Any = None
    fields: tuple["FormField", ...] = ()
    classes_only: bool = False


S = TypeVar("S", bound=NodeSpec)


COST_FIELD = FormField("cost_per_hour", "Cost $/replica-hour", "cost", "empty: the default price for the kind",
                       step=0.01)


class Kind(Generic[S]):
    """A node kind, over its spec type `S`: its spec, runtime, analysis and views (see the module docstring)."""

    name: ClassVar[str]                 # the `kind:` value in YAML
    label: ClassVar[str]                # how people call it: "load balancer"
    spec: type[S]
    price: ClassVar[float]              # default US dollars per replica-hour (vendor-neutral)
    shape: ClassVar[str] = "box"        # Graphviz node shape
    mermaid: ClassVar[tuple[str, str]] = ("[", "]")   # the brackets of its Mermaid shape, around the label
    # container images it is recognised by when a design is imported (a word of the image's name: "postgres"
    # matches postgres:16 and bitnami/postgresql); a service is what nothing else claims
    images: ClassVar[tuple[str, ...]] = ()
    icon: ClassVar[str] = "widgets"     # a Material Symbols name, for the app's palette
    stem: ClassVar[str]                 # the name a node added from the palette starts from
    palette: ClassVar[dict[str, Any]]   # the node the palette adds (plain data, as YAML holds it)
    form: ClassVar[tuple[tuple[FormField, ...], ...]] = ()   # rows of fields, drawn side by side
    yaml_only: ClassVar[tuple[str, ...]] = ()                # fields the form leaves to the YAML editor
    asynchronous: ClassVar[bool] = False   # answers at once; the work behind it does not fail the request
    has_workers: ClassVar[bool] = False    # holds workers of its own (a resource measure in experiments)
    branches: ClassVar[bool] = False       # its calls may be `when: hit` or `when: miss`
    balancer: ClassVar[bool] = False       # spreads requests: its calls are one weighted choice (a front door)
    in_palette: ClassVar[bool] = True      # the app's palette adds it (a feature flag needs its two nodes first)

    def __repr__(self) -> str:
        return f"<kind {self.name}>"

    # ── the spec ─────────────────────────────────────────────────────────────

    def problems(self, s: ScenarioView, name: str, node: S) -> Iterator[Problem]:
        """Checks that need the whole scenario (a load balancer needs somewhere to send calls)."""
        return iter(())

    # ── the runtime ──────────────────────────────────────────────────────────

    def compile(self, build: Build, name: str, node: S) -> "Component":  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self, build: Build, name: str, node: S, component: "Component") -> None:
        """Start the component's own processes, once its calls are wired (queue consumers)."""

    def processes(self, s: ScenarioView, name: str, node: S) -> int:
        """Simulated processes it runs for the whole run (a queue's consumers): they count against limits."""
        return 0

    # ── the analysis ─────────────────────────────────────────────────────────

    def capacity(self, s: ScenarioView, name: str, node: S) -> Capacity:
        """Workers (or consumers) in all replicas, and the replicas: none for a pass-through node."""
        return Capacity(0, 1)

    def service_time(self, node: S) -> "ServiceTime | None":
        """Its own service time, before any call it makes (None: it does no work of its own)."""
        return None

    def replicas(self, node: S) -> int:
        """Copies that are paid for."""
        return 1

    def admits_rps(self, node: S) -> float | None:
        """The most calls per second it lets through (a rate limiter), or None for no cap."""
        return None

    def limit_rps(self, s: ScenarioView, name: str, node: S) -> float | None:
        """The most calls per second it keeps up with, where its own figures know better than servers / hold
        (a stream's hottest partition); None: servers / hold says it."""
        return None

    def calls_in_flight(self, s: ScenarioView, name: str, node: S, target: str) -> int | None:
        """The most calls it has in flight to `target` at once, where that is not its servers (a topic's
        subscription has its own consumers); None: one per server."""
        return None

    def waiting_slots(self, node: S) -> int | None:
        """Calls (or messages) one replica holds waiting beyond those being served; None for no limit."""
        return None

    def routing(self, node: S) -> str:
        """How it chooses among its calls: ``each`` (every call its own coin flip) or ``one`` (exactly one)."""
        return str(getattr(node, "route", None) or "each")

    def spreads(self, node: S) -> str | None:
        """How it spreads its calls over a callee's replicas (a load balancer's policy); None: the callee's own
        round robin."""
        return None

    def out_of_scope(self, node: S) -> str | None:
        """What about this node the steady-state analysis cannot model (scheduled faults), or None."""
        return None

    def predicted_figures(self, s: ScenarioView, node: S, rate: Callable[[], float]) -> dict[str, Any]:
        """Theory for the figures only this kind reports (a keyed cache's hit ratio), to set beside the run's;
        `rate()` is the calls per second the node is offered."""
        return {}

    def calibrated(self, node: S, measured: Measured) -> dict[str, Any]:
        """The fields (as scenario data) that make `node` do what traces measured; none for a kind with no work
        or choice of its own."""
        return {}

    def edge_share(self, s: ScenarioView, node: S, edge: "Edge") -> float | None:
        """The share of its visits that take `edge`, where the kind decides it (a feature flag's split); None: the
        edge's own probability says it."""
        return None

    def branch_share(self, s: ScenarioView, node: S, when: str, rate: Callable[[], float]) -> float:
        """The share of its visits that take a call made `when` (a cache's hits or misses)."""
        return 1.0

    def cost_per_hour(self, node: S) -> float:
        """Dollars per hour at the configured replica count: its own price, else the kind's."""
        price = node.cost_per_hour if node.cost_per_hour is not None else self.price
        return price * self.replicas(node)

    def spof_finding(self, name: str, node: S) -> "Finding | None":
        """What to say when every request depends on this node (it is reached by certain calls)."""
        return None

    def design_findings(self, s: ScenarioView, name: str, node: S) -> Iterable["Finding"]:
        """What the design alone shows about the node (a queue that nobody consumes)."""
        return ()

    def load_findings(self, s: ScenarioView, name: str, node: S, offered_rps: float) -> Iterable["Finding"]:
        """What the analysis at the offered load (`offered_rps` to this node) shows: calls rate-limited,
        faults scheduled."""
        return ()

    # ── the views ────────────────────────────────────────────────────────────

    def summary(self, node: S) -> str:
        """One line of its size or setting, for diagrams and the canvas: ``3 × 8 workers``."""
        return ""

    def edge_style(self) -> str:
        """How the diagram draws the calls it makes."""
        return "dashed" if self.asynchronous else "solid"
