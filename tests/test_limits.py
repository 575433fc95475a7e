"""Run limits hold whatever the design does: the engine itself counts events and watches the clock.

The reliability review found designs that never returned to the old check
between 1% chunks of simulated time (zero-time retries and fan-out: 95 s and
3 GB against a 5 s limit), designs admitted by a request estimate that left out
calls per request, and closed loops whose million users were built before any
check. These tests build each one small and assert it is stopped in time.
"""

from __future__ import annotations

import threading
import time

import pytest

import sandbox
from sandbox import Limits, RunCancelled, SimulationError
from sandbox.engine import check_limits


def chain(depth: int, retries: int, fan: int = 1, rate: float = 1.0, duration: float = 10.0) -> sandbox.Scenario:
    """`depth` services in a line, the last always failing, each call retried `retries` times
    (or each hop made `fan` times): every request makes (retries + 1)^(depth - 1) attempts at the end."""
    nodes = {f"s{i}": {"kind": "service", "workers": 100_000, "queue_limit": None,
                       "error_rate": 1.0 if i == depth - 1 else 0.0,
                       "service_time": {"dist": "constant", "mean_ms": 0}} for i in range(depth)}
    edges = []
    for i in range(depth - 1):
        for _ in range(fan):
            edges.append({"from": f"s{i}", "to": f"s{i + 1}", "retries": retries} if retries else
                         {"from": f"s{i}", "to": f"s{i + 1}"})
    return sandbox.from_dict({"name": "amplifier", "workload": {"entry": "s0", "rate_rps": rate, "duration_s": duration},
                              "nodes": nodes, "edges": edges})


def test_zero_time_retries_are_stopped_by_the_wall_clock() -> None:
    s = chain(8, 10)   # 11^7 = 19 million attempts for one request, all at one simulated instant
    t0 = time.perf_counter()
    with pytest.raises(SimulationError, match="wall-time limit of 1 s"):
        sandbox.simulate(s, seed=1, limits=Limits(max_wall_s=1.0))
    assert time.perf_counter() - t0 < 3.0   # the check runs every few thousand events, not every 1% of time


def test_the_event_limit_stops_a_run_at_one_instant() -> None:
    with pytest.raises(SimulationError, match="limit of 50,000 events"):
        sandbox.simulate(chain(8, 10), seed=1, limits=Limits(max_events=50_000))


def test_the_up_front_estimate_counts_calls_per_request() -> None:
    s = chain(8, 0, fan=10, rate=10.0, duration=10.0)   # 10^7 calls at the last node per request
    with pytest.raises(SimulationError, match="calls"):
        check_limits(s, Limits(max_events=1_000_000))


def test_a_cancelled_run_stops_at_once() -> None:
    with pytest.raises(RunCancelled):
        sandbox.simulate(chain(8, 10), seed=1, cancel=lambda: True)


def test_a_run_cancelled_from_another_thread_stops_within_a_second() -> None:
    s = sandbox.loads("name: long\nworkload: {entry: s, rate_rps: 500, duration_s: 100000}\n"
                      "nodes: {s: {kind: service, workers: 8, service_time: {dist: exponential, mean_ms: 5}}}\n")
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    t0 = time.perf_counter()
    with pytest.raises(RunCancelled, match="cancelled"):
        sandbox.simulate(s, seed=1, cancel=stop.is_set)
    assert time.perf_counter() - t0 < 1.5


def test_closed_loop_users_and_queue_consumers_count_against_the_process_limit() -> None:
    users = sandbox.loads("name: crowd\nworkload: {entry: s, users: 5000, think_time_ms: 10000000, duration_s: 10}\n"
                          "nodes: {s: {kind: service, service_time: {dist: constant, mean_ms: 1}}}\n")
    with pytest.raises(SimulationError, match="5,000 users and consumers; this server allows 1,000"):
        sandbox.simulate(users, limits=Limits(max_users=1000))
    queue = sandbox.loads("name: q\nworkload: {entry: q, rate_rps: 1, duration_s: 10}\n"
                          "nodes: {q: {kind: queue, consumers: 3000}, s: {kind: service, "
                          "service_time: {dist: constant, mean_ms: 1}}}\nedges: [{from: q, to: s}]\n")
    with pytest.raises(SimulationError, match="3,000 users and consumers"):
        sandbox.simulate(queue, limits=Limits(max_users=1000))


def test_building_many_users_watches_the_clock_too() -> None:
    s = sandbox.loads("name: crowd\nworkload: {entry: s, users: 100000, think_time_ms: 1000, duration_s: 10}\n"
                      "nodes: {s: {kind: service, service_time: {dist: constant, mean_ms: 1}}}\n")
    stop = threading.Event()
    stop.set()
    t0 = time.perf_counter()
    with pytest.raises(RunCancelled):
        sandbox.simulate(s, cancel=stop.is_set)
    assert time.perf_counter() - t0 < 0.5   # 100,000 users take seconds to build; the check comes first


def test_limits_and_progress_do_not_change_results() -> None:
    s = sandbox.load("scenarios/retry_storm.yaml")
    shares: list[float] = []
    plain = sandbox.simulate(s, seed=3)
    watched = sandbox.simulate(s, seed=3, limits=Limits(max_requests=10**9, max_wall_s=600, max_events=10**9),
                               progress=shares.append, cancel=lambda: False)
    assert plain == watched   # equality leaves out `engine` (wall time)
    assert shares and shares == sorted(shares) and shares[-1] == 1.0 and all(0 <= x <= 1 for x in shares)
    assert plain.engine.events == watched.engine.events > 0


def test_a_negative_seed_is_refused_plainly() -> None:
    s = sandbox.loads("name: x\nworkload: {entry: s, rate_rps: 1, duration_s: 1}\n"
                      "nodes: {s: {kind: service, service_time: {dist: constant, mean_ms: 1}}}\n")
    with pytest.raises(sandbox.ScenarioError, match="seed: must be non-negative, got -1"):
        sandbox.simulate(s, seed=-1)


@pytest.mark.parametrize("experiment", ["replicate", "compare", "sweep"])
def test_experiments_apply_the_same_limits_to_every_run(experiment: str) -> None:
    s = chain(8, 10)
    limits = Limits(max_wall_s=0.5)
    t0 = time.perf_counter()
    with pytest.raises(SimulationError, match="wall-time limit"):
        if experiment == "replicate":
            sandbox.replicate(s, n=3, workers=1, limits=limits)
        elif experiment == "compare":
            sandbox.compare(s, {"nodes.s0.workers": 2}, n=2, workers=1, limits=limits)
        else:
            sandbox.sweep(s, ["nodes.s0.workers=1,2"], n=2, workers=1, limits=limits)
    assert time.perf_counter() - t0 < 3.0


def test_experiments_refuse_a_design_over_the_node_limit_before_running() -> None:
    s = chain(5, 0)
    with pytest.raises(SimulationError, match="the design has 5 nodes; this server allows 4"):
        sandbox.replicate(s, n=2, workers=1, limits=Limits(max_nodes=4))
