"""The engine: compile a scenario into components, run it on SimPy, summarise the results.

``simulate(scenario, seed)`` is the one entry point. It builds plain runtime
objects from the validated scenario (no networkx or pydantic on the hot path),
starts the workload, runs SimPy to ``duration_s``, and turns the streamed
statistics into :class:`~sandbox.results.Results`. The same scenario and seed
give the same results, byte for byte, apart from ``engine`` (wall time).

>>> from sandbox.scenario import loads
>>> r = simulate(loads('''
... name: mm1
... workload: {entry: s, rate_rps: 50, duration_s: 200}
... nodes: {s: {kind: service, service_time: {dist: exponential, mean_ms: 10}}}
... '''), seed=1)
>>> r.requests.arrived == r.requests.completed + r.requests.rejected + r.requests.failed + r.requests.in_flight
True
>>> 0.4 < r.nodes["s"].utilization < 0.6
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from simpy import Environment, Event
from simpy.core import StopSimulation
from simpy.events import URGENT

from .analysis import visits
from .arrivals import closed_loop_user, open_arrivals
from .classes import ClassMix
from .components import Component, OutEdge, Policy
from .components.placement import Zones, placed_edge, placed_entry
from .components.routing import Chooser
from .errors import RunCancelled, ScenarioError, SimulationError
from .kinds import Build, kind_of
from .placement import layout
from .randomness import Draw, Streams
from .recorder import RunRecorder
from .results import EngineInfo, Results
from .scenario import Scenario, with_overrides
from .summary import summarise

__all__ = ["simulate", "Limits", "check_limits", "compile_components", "CHECK_EVERY"]

Progress = Callable[[float], None]
Cancel = Callable[[], bool]


@dataclass(frozen=True)
class Limits:
    """Per-run limits, so one run cannot stall a shared server.

    The engine enforces them itself: up front (:func:`check_limits`), while it
    builds the run, and every few thousand events while it runs, so no design
    (zero-time retries, fan-out, a crowd of users) gets past them.
    """
    max_requests: int | None = None   # requests allowed: refused up front by estimate, stopped when reached
    max_nodes: int | None = None
    max_wall_s: float | None = None   # seconds of wall time for the whole run
    max_events: int | None = None     # SimPy events processed (each call makes at least one)
    max_users: int | None = None      # closed-loop users plus queue consumers: each is a simulated process


CHECK_EVERY = 4096  # events between two looks at the clock, the event count and cancellation (~5 ms of work)


def _stream_maker(streams: Streams, purpose: str) -> Callable[[], Draw]:
    """Makes the random stream `purpose` when asked (a load balancer's picker needs one; others never ask)."""
    return lambda: streams.sampler(purpose, "random")


class _Guard:
    """Looks at the wall clock, the event count, cancellation and progress, between batches of events."""

    def __init__(self, limits: Limits | None, progress: Progress | None, cancel: Cancel | None, wall0: float,
                 end: float) -> None:
        self.max_wall = limits.max_wall_s if limits else None
        self.max_events = limits.max_events if limits else None
        self.progress, self.cancel, self.wall0, self.end = progress, cancel, wall0, end

    def check(self, now: float, events: int) -> None:
        if self.cancel is not None and self.cancel():
            raise RunCancelled(f"the run was cancelled at {now:.1f} of {self.end:g} simulated seconds")
        if self.max_wall is not None and time.perf_counter() - self.wall0 > self.max_wall:
            raise SimulationError(f"the run reached this server's wall-time limit of {self.max_wall:g} s at "
                                  f"{now:.1f} of {self.end:g} simulated seconds (shorten the duration, lower "
                                  "the rate, or reduce retries and fan-out)")
        if self.max_events is not None and events > self.max_events:
            raise SimulationError(f"the run reached this server's limit of {self.max_events:,} events at "
                                  f"{now:.3f} of {self.end:g} simulated seconds: each request makes a great many "
                                  "calls (retries or fan-out multiply them); reduce them or shorten the run")
        if self.progress is not None:
            self.progress(min(1.0, now / self.end))


def compile_components(scenario: Scenario, env: Environment, streams: Streams,
                       zones: Zones | None = None) -> dict[str, Component]:
    """Plain runtime components for every node (each built by its kind), with their outgoing calls wired
    (through `zones`, the run's placement, where the design places anything)."""
    w = scenario.workload
    mix = ClassMix.of(w.classes, w.slo_ms) if w.classes else None
    build = Build(env, streams, scenario, mix)
    comps = {name: kind_of(node).compile(build, name, node) for name, node in scenario.nodes.items()}
    for name, comp in comps.items():
        if mix is not None and comp.class_stats is None:
            comp.track_classes(len(mix.names))
        edges = []
        node = scenario.nodes[name]
        for i, e in enumerate(scenario.edges):
            if e.source != name:
                continue
            target: Component = comps[e.target]
            maker = _stream_maker(streams, f"node:{name}:pick:{e.target}")
            pick = comp.picker_for(target, maker)
            if zones is not None:
                target, pick = placed_edge(zones, env, name, kind_of(node).spreads(node),
                                           getattr(node, "health_check", None), getattr(node, "locality", None) == "zone",
                                           target, pick, e.latency_ms > 0, maker,
                                           streams.sampler(f"node:{name}:health:{e.target}", "random"))
            out = OutEdge(target, pick, e.probability, e.latency_ms / 1000.0, e.when, i)
            if e.resilient:
                out.policy = Policy(env, out, e, streams.sampler(f"edge:{i}:{e.source}->{e.target}:jitter", "random"))
            if e.classes is not None and mix is not None:
                out.classes = frozenset(mix.index(c) for c in e.classes)
            if e.weight is not None:
                out.weight = e.weight
            edges.append(out)
        comp.set_edges(edges)
        mode = "weight" if any(e.weight for e in edges) else kind_of(scenario.nodes[name]).routing(scenario.nodes[name])
        if mode != "each" or any(e.classes is not None for e in edges):
            comp.choose = Chooser(comp.route, mode)  # type: ignore[arg-type]
    for name, node in scenario.nodes.items():
        kind_of(node).start(build, name, node, comps[name])
    if zones is not None:
        zones.start(scenario.faults or (), streams, {n: c.replica_count() for n, c in comps.items()})
    return comps


def simulate(scenario: Scenario, seed: int | None = None, *, rate_rps: float | None = None,
             duration_s: float | None = None, max_traces: int = 20, limits: Limits | None = None,
             progress: Progress | None = None, cancel: Cancel | None = None) -> Results:
    """Run `scenario` once and return its :class:`Results`.

    `seed` defaults to the scenario's own ``seed`` (or 0). `rate_rps` and
    `duration_s` override the workload's. `limits` bound the run (see
    :class:`Limits`); `progress` is called with the share of simulated time done
    (0 to 1) every few thousand events and at the end; `cancel` is asked as
    often, and a True answer stops the run with :class:`~sandbox.errors.RunCancelled`.
    Neither changes the results.
    """
    overrides = {}
    if rate_rps is not None:
        overrides["workload.rate_rps"] = rate_rps
    if duration_s is not None:
        overrides["workload.duration_s"] = duration_s
    if overrides:
        scenario = with_overrides(scenario, overrides)
    seed = seed if seed is not None else (scenario.seed or 0)
    if seed < 0:
        raise ScenarioError("seed", [("", f"must be non-negative, got {seed}")])
    check_limits(scenario, limits)
    w = scenario.workload
    wall0 = time.perf_counter()
    guard = _Guard(limits, progress, cancel, wall0, w.duration_s)
    guard.check(0.0, 0)
    env = Environment()
    streams = Streams(seed)
    lay = layout(scenario)
    zones = Zones(env, lay) if lay is not None else None
    comps = compile_components(scenario, env, streams, zones)
    class_draw = streams.sampler("workload:class", "random") if w.classes and w.users is None else None
    entry = comps[w.entry] if zones is None else placed_entry(zones, comps[w.entry])
    run = RunRecorder(env, scenario, entry, max_traces, class_draw)
    if zones is not None:
        run.place(zones)
    if w.keys is not None:
        run.key_draw = w.keys.sampler(streams)
    if limits is not None and limits.max_requests is not None:
        run.max_requests = limits.max_requests
    if w.users is not None:
        user_class = _user_classes(w.users, run.mix.split_users(w.users)) if run.mix else None
        for u in range(w.users):
            if u % 1024 == 1023:  # building a large crowd takes a while: watch the clock here too
                guard.check(0.0, 0)
            think = streams.sampler(f"user:{u}:think", "exponential", w.think_time_ms / 1000.0) \
                if w.think_time_ms else (lambda: 0.0)
            visit = run.visit_now if user_class is None else run.visitor(user_class[u])
            env.process(closed_loop_user(env, w, think, visit))
    else:
        env.process(open_arrivals(env, w, streams, run.start))
    env.process(run.ticker(comps, w.warmup_s, w.duration_s))
    events = _run_until(env, w.duration_s, guard)
    run.close_last_window(comps)
    if progress is not None:
        progress(1.0)
    wall = time.perf_counter() - wall0
    return summarise(scenario, seed, run, comps, EngineInfo(wall, events))


def _user_classes(users: int, counts: list[int]) -> list[int]:
    """Each closed-loop user's class: the first counts[0] users are class 0, the next counts[1] class 1, ..."""
    return [k for k, n in enumerate(counts) for _ in range(n)][:users]


def check_limits(scenario: Scenario, limits: Limits | None) -> None:
    """Refuse, before anything runs, a scenario that `limits` would stop: SimulationError says which and why."""
    if limits is None:
        return
    w = scenario.workload
    if limits.max_nodes is not None and len(scenario.nodes) > limits.max_nodes:
        raise SimulationError(f"the design has {len(scenario.nodes)} nodes; this server allows {limits.max_nodes}")
    if limits.max_users is not None:
        processes = (w.users or 0) + sum(kind_of(node).processes(scenario, name, node)
                                         for name, node in scenario.nodes.items())
        if processes > limits.max_users:
            raise SimulationError(f"the design has {processes:,} users and consumers; this server allows "
                                  f"{limits.max_users:,} (each is a simulated process)")
    expected = w.expected_requests()
    if limits.max_requests is not None and expected > limits.max_requests:
        raise SimulationError(f"the run would simulate about {expected:,.0f} requests; this server allows "
                              f"{limits.max_requests:,} (lower the rate or the duration)")
    if limits.max_events is not None:
        per_request = sum(v for v in visits(scenario).values() if math.isfinite(v))
        calls = expected * per_request
        if calls > limits.max_events:  # every call is at least one event
            raise SimulationError(f"the run would make about {calls:,.0f} calls ({expected:,.0f} requests x "
                                  f"{per_request:,.1f} calls each); this server allows {limits.max_events:,} "
                                  "events (retries and repeated calls multiply the calls)")


def _halt(event: Event) -> None:
    raise StopSimulation(None)


def _run_until(env: Environment, end: float, guard: _Guard) -> int:
    """Process events up to `end` (as ``env.run(until=end)`` does), checking `guard` every CHECK_EVERY
    events; returns the number processed. A call chain too deep for Python becomes a SimulationError.
    """
    stop = Event(env)
    stop.callbacks.append(_halt)
    env.schedule(stop, URGENT, end - env.now)  # before any event at `end`, as env.run(until=end) stops
    step = env.step
    events = 0
    k = 0
    try:
        while True:
            for k in range(CHECK_EVERY):
                step()
            events += CHECK_EVERY
            guard.check(env.now, events)
    except StopSimulation:
        return events + k
    except RecursionError:
        raise SimulationError(
            f"a request made more nested calls than Python allows (at {env.now:.3f} s): a cycle is taken "
            "too often (for example a -> b -> a with probability 0.99 makes ~100 passes on average and far "
            "more in its tail); lower the probability of an edge on the cycle") from None
