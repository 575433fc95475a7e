"""What the analysis says about a design, and how far to trust each figure.

An :class:`Analysis` holds one :class:`NodeEstimate` per node. Every estimate
names the :class:`Method` that made it: exact where the formula is exact for the
model the simulation runs, otherwise approximate within stated bands, which
``bench/bench_analysis.py`` measures against long simulations; or ``none`` with
the reason, where the design is outside what steady-state theory models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .findings import Finding
from .intervals import json_safe

__all__ = ["Method", "METHODS", "NodeEstimate", "ClassNodeEstimate", "ClassEstimate", "Analysis", "accuracy_text"]


@dataclass(frozen=True)
class Method:
    """How an estimate was made, and the accuracy stated for it (relative errors; 0 for exact)."""
    name: str
    exact: bool
    utilization_band: float = 0.0
    wait_band: float = 0.0


# The bands of the approximations are the worst errors bench/bench_analysis.py measures on its designs,
# rounded up; an estimate outside its band is a finding of the benchmark, not a tolerance to widen.
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("none", True),                                     # a node that holds no workers: nothing to wait for
    Method("M/M/c", True),
    Method("M/M/c/K", True),
    Method("M/G/1", True),                                    # Pollaczek-Khinchine
    Method("GI/M/c", True),                                   # Erlang-k (round robin) or constant arrivals
    Method("never waits", True),                              # its callers cannot send more calls than it has workers
    Method("wait negligible", True),                          # P(all workers busy) below 1e-9, whatever the model
    Method("caller-callee chain", True),                      # the exact CTMC of a thread pool and its callee
    Method("MVA", True),                                      # exact Mean Value Analysis of a closed network
    Method("caller-callee chain, latency as one phase", False, 0.05, 0.15),
    Method("Allen-Cunneen", False, 0.05, 0.40),               # worst measured: +36% (4 workers, Erlang-2 arrivals)
    Method("Allen-Cunneen, finite queue", False, 0.10, 0.30),
    Method("finite callers (MVA bound)", False, 0.10, 0.35),
    Method("pooled replicas", False, 0.05, 0.50),             # least connections, power of two
    Method("approximate MVA", False, 0.10, 0.30),
    Method("closed loop as open network", False, 0.10, 0.40),
    Method("fork-join approximation", False, 0.05, 0.20),
    Method("M/G/1 priority", True),                           # Cobham: one worker, non-preemptive priority
    Method("M/M/c priority", True),                           # Cobham's M/M/c: every class the same exponential mean
    # the M/M/c formula scaled by (ca^2 + cs^2) / 2; worst measured +52% (the top class at 16 workers, 0.4 ms vs
    # 0.3 ms), +46% at 8 workers; within 15% at 1-2 workers and for the lowest class
    Method("M/G/c priority", False, 0.05, 0.55),
)}


@dataclass(frozen=True)
class ClassNodeEstimate:
    """Theory's figures for one class of requests at one node (a workload with classes)."""
    visits: float                  # calls per request of this class
    offered_rps: float
    hold_ms: float                 # its own service and calls downstream
    predicted_wait_ms: float       # mean wait of its admitted calls for a worker (shared under FIFO)
    predicted_response_ms: float   # wait + its own hold
    accuracy: str = "exact"        # exact | approximate | none
    method: str = "none"
    wait_band: float = 0.0
    utilization: float = 0.0       # carried load per worker of the workers that serve it (its bulkhead's, else all)


@dataclass(frozen=True)
class ClassEstimate:
    """Theory's figures for one class of requests end to end."""
    share: float
    rate_rps: float
    predicted_latency_ms: float
    latency_accuracy: str = "exact"
    latency_band: float = 0.0


@dataclass(frozen=True)
class NodeEstimate:
    """Theory's figures for one node at the analysed rate."""
    node: str
    kind: str
    visits: float                  # calls per request entering the system
    offered_rps: float
    capacity: int                  # workers (consumers for a queue) in all replicas
    hold_ms: float                 # mean time a worker is held, downstream calls included
    predicted_utilization: float   # carried load per worker (what the simulation measures as busy)
    predicted_wait_ms: float       # mean wait of admitted calls for a worker (inf when saturated and unbounded)
    predicted_response_ms: float   # wait + hold (for a queue: time to enqueue, ~0)
    predicted_rejected: float = 0.0      # share of arriving calls a full queue turns away
    offered_utilization: float = 0.0     # offered load per worker, rejections not taken off (>= 1: saturated)
    accuracy: str = "exact"              # exact | approximate | none (see `reason`)
    method: str = "none"                 # a key of METHODS
    utilization_band: float = 0.0        # stated relative accuracy of the utilization
    wait_band: float = 0.0               # stated relative accuracy of the wait
    reason: str = ""                     # why the analysis cannot model this node (accuracy "none")
    classes: dict[str, ClassNodeEstimate] = field(default_factory=dict)   # per class, when the workload has them


@dataclass(frozen=True)
class Analysis:
    """The analysis of a scenario at one entry rate."""
    rate_rps: float
    nodes: dict[str, NodeEstimate]
    saturation_rps: float
    first_to_saturate: str | None
    predicted_latency_ms: float
    cost_per_hour: float = 0.0     # dollars, at the configured replica counts
    findings: list[Finding] = field(default_factory=list)
    latency_accuracy: str = "exact"
    latency_band: float = 0.0      # stated relative accuracy of the predicted latency
    out_of_scope: list[str] = field(default_factory=list)   # what the analysis leaves to the simulation, and why
    classes: dict[str, ClassEstimate] = field(default_factory=dict)   # per class, when the workload has them

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def accuracy_text(accuracy: str, band: float, method: str = "", reason: str = "") -> str:
    """How far to trust an estimate: ``exact (M/M/c)``, ``within 25% (Allen-Cunneen)``, ``not modelled: why``."""
    how = f" ({method})" if method else ""
    if accuracy == "exact":
        return f"exact{how}"
    if accuracy == "none":
        return f"not modelled: {reason}" if reason else "not modelled"
    return f"within {band:.0%}{how}"
