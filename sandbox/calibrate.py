"""Calibration: fit a scenario to traces of the real system, then check that the fitted model reproduces them.

:func:`calibrate` takes a scenario (its structure: nodes, calls, workers) and a
trace file (:mod:`sandbox.tracefiles`), and fits, for every node the traces
name (``service.name`` = the node's name):

- its **service time**, from each call's own time (the span's duration less
  the calls it waited for, less twice the call's network delay per call, and
  less its time in the queue when the trace says it; otherwise the queueing
  the model predicts is taken off, by a fixed point with the analysis): the
  best of constant, exponential, gamma and lognormal (:mod:`sandbox.fitting`);
- each **call's probability**, parallel fan-out and a cache's **hit ratio**
  (:mod:`sandbox.calibration_calls`; each kind says what it takes from the
  measurements: :meth:`Kind.calibrated`);
- the **arrival rate**, from the root spans at the entry node, scaled by the
  sampling the file declares (or `sampling`).

Then it simulates the calibrated scenario and sets, per node and end to end,
the traces' p50 and p99 beside the model's, flagged where they disagree
(:mod:`sandbox.calibration_check`).
"""

from __future__ import annotations

import copy
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis import analyse
from .engine import Limits, simulate
from .errors import ScenarioError
from .calibration_calls import CallFit, branch_shares, fit_edges, fit_parallel, unmodelled_calls
from .calibration_check import AGREEMENT_SLACK, Agreement, agreement as traces_beside_model
from .fitting import fit_service_time
from .kinds import Measured, kind_of
from .open_network import evaluate
from .results import Results
from .scenario import Scenario, from_dict
from .tracefiles import Hop, TraceSet, read_traces
from .yamlio import parse, read_text

__all__ = ["Calibration", "ServiceFit", "CallFit", "Agreement", "calibrate", "AGREEMENT_SLACK"]
_QUEUE_ROUNDS = 5          # rounds over the nodes taking the predicted queueing off traces that do not record it
_MODEL_TRACES = 5000       # traces the check run keeps at least, to measure the model as the file was measured
_MAX_MODEL_TRACES = 20_000


@dataclass(frozen=True)
class ServiceFit:
    """One node's fitted service time."""
    node: str
    calls: int                      # its calls in the traces (failed ones are left out of the fit)
    own_ms_mean: float              # mean own time, before the queueing correction
    queue_ms: float                 # mean time in the queue taken off (recorded, or predicted)
    queue_source: str               # "trace" (recorded in the spans) | "model" (predicted) | "none"
    service_time: dict[str, Any]    # the fitted distribution, as scenario data
    ks: float
    ks_critical: float
    candidates: dict[str, float]    # KS distance of each candidate
    before: dict[str, Any] | None   # the scenario's service time before calibration
    fits: bool                      # consistent with the fitted distribution (sandbox.fitting.Fit.fits)


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` fitted, the calibrated scenario (as data and validated), and the check run."""
    source: str
    traces: int
    calls: int
    sampling: float
    sampling_source: str            # "file" | "given" | "assumed"
    rate_rps: float | None          # fitted (None: a closed loop, or no root spans at the entry)
    rate_stderr: float | None
    rate_before: float | None
    services: list[ServiceFit]
    edges: list[CallFit]
    parallel: dict[str, bool]       # nodes whose parallel setting changed, and to what
    fields: dict[str, dict[str, tuple[Any, Any]]]   # other fields the kinds set (a cache's hit_ratio): before, after
    data: dict[str, Any]            # the calibrated scenario, as YAML data
    scenario: Scenario
    results: Results | None         # the calibrated scenario, simulated (None: check=False)
    agreement: list[Agreement]
    warnings: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return all(a.agrees for a in self.agreement)


def calibrate(scenario: Scenario | str | Path, traces: TraceSet | str | Path, *, sampling: float | None = None,
              seed: int | None = None, check: bool = True, limits: Limits | None = None) -> Calibration:
    """Fit `scenario` (a Scenario, or a YAML file whose layout the calibrated data keeps) to `traces` (a file
    or a :class:`TraceSet`); with `check`, simulate the result (within `limits`) and set it beside the traces."""
    data, base = _scenario_data(scenario)
    original = copy.deepcopy(data["nodes"])
    trace_set = traces if isinstance(traces, TraceSet) else read_traces(traces)
    if sampling is not None and not 0 < sampling <= 1:
        raise ScenarioError("--sampling", [("", f"must be a share in (0, 1], got {sampling:g}")])
    share, share_source = ((sampling, "given") if sampling is not None else
                           (trace_set.sampling, "file") if trace_set.sampling is not None else (1.0, "assumed"))
    warnings: list[str] = []
    hops = trace_set.hops
    by_node: dict[str, list[Hop]] = {}
    for h in hops:
        by_node.setdefault(h.service, []).append(h)
    unknown = sorted(set(by_node) - set(base.nodes))
    for name in unknown:
        warnings.append(f"service {name} in the traces is not a node of the scenario: its {len(by_node[name])} "
                        "calls are left out (rename the node to match its service.name to use them)")
    missing = sorted(n for n in base.nodes if n not in by_node)
    for name in missing:
        warnings.append(f"node {name} has no spans in the traces: it keeps its values")
    if not set(by_node) & set(base.nodes):
        raise ScenarioError(trace_set.source, [("", "no service in the traces is a node of the scenario (services: "
                                                    + ", ".join(sorted(by_node)[:8]) + ")")])
    edges = fit_edges(base, hops, by_node, warnings)
    unmodelled_calls(base, hops, warnings)
    parallel = fit_parallel(base, hops, by_node)
    rate, rate_se = _fit_rate(base, trace_set, share, warnings)
    raw: dict[str, list[float]] = {}
    recorded: dict[str, float] = {}
    for name, node in base.nodes.items():
        if name not in by_node or kind_of(node).service_time(node) is None:
            continue
        own, queued = _own_times(base, name, by_node[name], hops)
        if own:
            raw[name] = own
            if queued is not None:
                recorded[name] = queued
    # apply calls, parallel and rate first: the queueing correction needs the calibrated load
    nodes_data = data["nodes"]
    for e in edges:
        if e.fitted:
            data["edges"][e.edge]["probability"] = e.probability
    for name, value in parallel.items():
        nodes_data[name]["parallel"] = value
    if rate is not None:
        data["workload"]["rate_rps"] = float(f"{rate:.4g}")
    branch = branch_shares(base, hops, by_node)
    services = _fit_services(data, base, raw, recorded, branch, trace_set.source)
    for name in set(branch) - set(raw):   # a node with branches but no service-time samples still learns its split
        node = base.nodes[name]
        nodes_data[name].update(kind_of(node).calibrated(node, Measured(None, branch[name])))
    calibrated = _validated(data, trace_set.source)
    fields = {n: {k: (original[n].get(k), v) for k, v in d.items()
                  if k not in ("service_time", "parallel") and original[n].get(k) != v}
              for n, d in data["nodes"].items()}
    if check:
        results = simulate(calibrated, seed=seed, limits=limits,
                           max_traces=min(_MAX_MODEL_TRACES, max(_MODEL_TRACES, 2 * trace_set.traces)))
        agreement = traces_beside_model(base, trace_set, by_node, results, calibrated)
    else:
        results, agreement = None, []
    return Calibration(trace_set.source, trace_set.traces, len(hops), share, share_source, rate, rate_se,
                       base.workload.rate_rps, services, edges, parallel, {n: f for n, f in fields.items() if f},
                       data, calibrated, results, agreement, warnings)


def _scenario_data(scenario: Scenario | str | Path) -> tuple[dict[str, Any], Scenario]:
    """The scenario's data (a file's own layout, so the calibrated YAML looks like the user's) and its model."""
    if isinstance(scenario, Scenario):
        return scenario.to_dict(), scenario
    text = read_text(scenario)
    data = parse(text, str(scenario))
    base = from_dict(data, str(scenario))
    if not isinstance(data.get("edges"), list):
        data["edges"] = []
    return data, base


def _validated(data: dict[str, Any], source: str) -> Scenario:
    try:
        return from_dict(data, "<calibrated>")
    except ScenarioError as exc:   # a fitted value outside the format's bounds: say which
        raise ScenarioError(source, [(f"calibrated {where}", why) for where, why in exc.problems]) from None


def _own_times(s: Scenario, name: str, mine: list[Hop], hops: list[Hop]) -> tuple[list[float], float | None]:
    """Each successful call's own time (ms): its span less the calls it waited for and their network delay,
    less its recorded time in the queue; and the mean recorded queueing (None: the trace does not say)."""
    delay = {e.target: e.latency_ms for e in s.edges if e.source == name}
    own, queued = [], []
    for h in mine:
        if h.error:
            continue
        ms = h.self_ms()
        for c in h.calls:
            if not hops[c].asynchronous:
                ms -= 2 * delay.get(hops[c].service, 0.0)
        if h.queue_wait_ns is not None:
            wait = h.queue_wait_ns / 1e6
            queued.append(wait)
            ms -= wait
        own.append(max(0.0, ms))
    return own, (statistics.fmean(queued) if queued and len(queued) == len(own) else None)


def _fit_services(data: dict[str, Any], base: Scenario, raw: dict[str, list[float]], recorded: dict[str, float],
                  branch: dict[str, dict[str, float]], source: str) -> list[ServiceFit]:
    """Fit each node's service time. Where the trace does not record queueing, its own time is service plus
    queueing: the service time's mean is scaled down until it plus the queueing the analysis predicts at the
    calibrated load gives back the measured mean (bisection per node, repeated until the nodes settle, since
    a caller holds its worker through its calls). The shape (cv, sigma) stays the one measured."""
    fits = {name: fit_service_time(own) for name, own in raw.items()}
    means = {name: statistics.fmean(own) for name, own in raw.items()}
    scale = {name: 1.0 for name in raw}

    def apply(name: str) -> None:
        node = base.nodes[name]
        spec = dict(fits[name].spec)
        spec["mean_ms"] = float(f"{spec['mean_ms'] * scale[name]:.4g}")
        data["nodes"][name].update(kind_of(node).calibrated(node, Measured(spec, branch.get(name, {}))))

    for name in raw:
        apply(name)
    unrecorded = [n for n in raw if n not in recorded and means[n] > 0]
    queue = {n: recorded.get(n, 0.0) for n in raw}

    def wait_of(name: str) -> float:
        w = _predicted_waits(_validated(data, source))[name]
        return w if math.isfinite(w) else math.inf

    def excess(f: float, name: str) -> float:   # service plus predicted queueing, less the measured mean
        scale[name] = f
        apply(name)
        return f * means[name] + wait_of(name) - means[name]

    # callees first: a caller's queueing depends on how long its calls hold its workers
    for _ in range(_QUEUE_ROUNDS if unrecorded else 0):
        moved = 0.0
        for name in sorted(unrecorded, key=lambda n: -_depth(base).get(n, 0)):
            before = scale[name]
            # the smallest share that accounts for the mean: scan up to the first crossing, then bisect
            # (further up, a saturated caller turns calls away and the predicted queueing falls again)
            grid = [0.02 * (50 ** (k / 24)) for k in range(25)]   # 0.02 .. 1, geometric
            lo, hi = 0.0, 1.0
            for f in grid:
                if excess(f, name) > 0:
                    hi = f
                    break
                lo = f
            for _ in range(20):
                mid = (lo + hi) / 2
                if excess(mid, name) > 0:
                    hi = mid
                else:
                    lo = mid
            scale[name] = max(lo, 1e-3)
            apply(name)
            queue[name] = min(means[name], wait_of(name))
            moved = max(moved, abs(scale[name] - before))
        if moved < 1e-3:
            break
    out = []
    for name, own in raw.items():
        node = base.nodes[name]
        st = kind_of(node).service_time(node)
        f = fits[name]
        spec = dict(f.spec)
        spec["mean_ms"] = float(f"{spec['mean_ms'] * scale[name]:.4g}")
        source_of_queue = "trace" if name in recorded else ("model" if queue[name] > 1e-9 else "none")
        out.append(ServiceFit(name, len(own), means[name], queue[name], source_of_queue, spec, f.ks, f.critical,
                              f.candidates, st.model_dump(mode="json") if st is not None else None, f.fits))
    return out


def _predicted_waits(s: Scenario) -> dict[str, float]:
    """Theory's mean wait for a worker at each node (ms), at the workload's rate (the closed loop: its own)."""
    w = s.workload
    if w.users is not None:
        return {n: e.predicted_wait_ms for n, e in analyse(s).nodes.items()}
    return {n: e.predicted_wait_ms for n, e in evaluate(s, w.mean_rate(w.warmup_s, w.duration_s)).items()}


def _depth(s: Scenario) -> dict[str, int]:
    """Each node's distance in calls from the entry (breadth first)."""
    depth = {s.workload.entry: 0}
    frontier = [s.workload.entry]
    while frontier:
        nxt = []
        for u in frontier:
            for e in s.out_edges(u):
                if e.target not in depth:
                    depth[e.target] = depth[u] + 1
                    nxt.append(e.target)
        frontier = nxt
    return depth


def _fit_rate(s: Scenario, traces: TraceSet, share: float, warnings: list[str]) -> tuple[float | None, float | None]:
    w = s.workload
    roots = sorted(h.start_ns for h in traces.roots() if h.service == w.entry)
    others = {h.service for h in traces.roots()} - {w.entry}
    if others:
        warnings.append("root spans also start at " + ", ".join(sorted(others)) + f", not only at the entry "
                        f"{w.entry}: only those at {w.entry} set the rate")
    if w.users is not None:
        warnings.append("a closed loop: its users and think time set the load, so no rate is fitted")
        return None, None
    if w.rate_rps is None or len(roots) < 2 or roots[-1] <= roots[0]:
        warnings.append(f"too few root spans at {w.entry} to fit the arrival rate: it is kept")
        return None, None
    if w.profile is not None or not isinstance(w.arrival, str):
        warnings.append("the workload has a profile or an arrival process of its own: only its mean rate is fitted")
    n = len(roots)
    rate = (n - 1) / ((roots[-1] - roots[0]) / 1e9) / share   # spacing of the roots (the MLE for Poisson)
    return rate, rate / math.sqrt(n)
