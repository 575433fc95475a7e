"""The public Python API: a small surface, pinned, and usable without YAML."""

from __future__ import annotations

import pickle

import pandas as pd

import sandbox
from sandbox.engine import CHECK_EVERY
from sandbox.scenario import Edge, Scenario, Workload

from .conftest import ROOT

PUBLIC = {
    "Analysis", "Bottleneck", "Cause", "Edge", "Finding", "Latency", "Limits", "NodeEstimate",
    "NodeResult", "Requests", "Results", "RunCancelled", "RunOptions", "SandboxError", "Scenario", "ScenarioError",
    "SimulationError", "Trace", "Workload", "accuracy_text", "analyse", "from_dict", "json_schema", "load", "loads",
    "simulate", "to_dot", "to_mermaid", "from_compose", "from_k8s", "to_graph", "with_overrides", "replicate", "compare", "sweep",
    "ClassResult", "ErrorBudget", "TrafficClass", "Calibration", "calibrate", "to_otlp", "read_traces", "sensitivity",
}


def test_public_names_are_pinned() -> None:
    assert set(sandbox.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(sandbox, name) is not None


def test_exception_tree() -> None:
    assert issubclass(sandbox.ScenarioError, sandbox.SandboxError)
    assert issubclass(sandbox.SimulationError, sandbox.SandboxError)
    assert issubclass(sandbox.RunCancelled, sandbox.SimulationError)


def test_build_a_scenario_in_code_and_run_it() -> None:
    s = Scenario(
        name="in code",
        workload=Workload(entry="lb", rate_rps=200, duration_s=30, warmup_s=5),
        nodes={"lb": {"kind": "load_balancer", "policy": "least_connections"},
               "api": {"kind": "service", "replicas": 2, "workers": 4,
                       "service_time": {"dist": "exponential", "mean_ms": 10}}},
        edges=[Edge(source="lb", target="api")],
    )
    r = sandbox.simulate(s, seed=5)
    assert r.requests.completed > 0 and r.nodes["api"].replicas == 2
    # the YAML form round-trips to an equal scenario
    assert sandbox.loads(s.to_yaml()) == s


def test_load_from_file_dict_and_text_agree() -> None:
    path = ROOT / "scenarios" / "read_heavy_catalog.yaml"
    a = sandbox.load(path)
    b = sandbox.loads(path.read_text())
    c = sandbox.from_dict(a.to_dict())
    assert a == b == c


def test_results_are_picklable_and_give_dataframes() -> None:
    r = sandbox.simulate(sandbox.load(ROOT / "scenarios" / "read_heavy_catalog.yaml"), seed=1, duration_s=20)
    again = pickle.loads(pickle.dumps(r))
    assert again == r
    nodes = r.nodes_frame()
    assert isinstance(nodes, pd.DataFrame) and list(nodes.index) == list(r.nodes)
    assert {"utilization", "wait_ms.p99", "queue_length.max"} <= set(nodes.columns)
    series = r.series_frame()
    assert {"t_s", "throughput_rps", "p99_ms", "node"} <= set(series.columns)
    assert set(series["node"]) == {"*"} | set(r.nodes)
    traces = r.traces_frame()
    assert len(traces) > 0 and (traces["end_ms"] >= traces["start_ms"]).all()
    assert set(r.theory_frame().columns) >= {"predicted_utilization", "simulated_utilization", "agrees"}


def test_traces_have_one_span_per_hop_in_time_order() -> None:
    r = sandbox.simulate(sandbox.load(ROOT / "scenarios" / "read_heavy_catalog.yaml"), seed=2, duration_s=20)
    assert 0 < len(r.traces) <= 20
    for t in r.traces:
        names = [s.node for s in t.spans]
        assert names[:3] == ["lb", "web", "cache"]
        lb = t.spans[0]
        if t.status == "completed":
            assert lb.end_ms == t.latency_ms  # the entry span covers the whole request
        for s in t.spans:
            assert s.arrive_ms <= s.start_ms <= s.end_ms


def test_diagram_colours_by_utilization_and_marks_bottleneck() -> None:
    s = sandbox.load(ROOT / "scenarios" / "thread_pool_cascade.yaml")
    r = sandbox.simulate(s, seed=1, duration_s=30)
    dot = sandbox.to_dot(s, r)
    assert "BOTTLENECK" in dot and "busy" in dot
    assert sandbox.to_dot(s).count("BOTTLENECK") == 0


def test_limits_refuse_oversized_runs_with_a_clear_message() -> None:
    s = sandbox.load(ROOT / "scenarios" / "checkout_api.yaml")
    try:
        sandbox.simulate(s, limits=sandbox.Limits(max_requests=1000))
    except sandbox.SimulationError as exc:
        assert "about 48,000 requests" in str(exc) and "allows 1,000" in str(exc)
    else:
        raise AssertionError("the limit was not applied")


def test_progress_is_reported() -> None:
    # between batches of CHECK_EVERY events (where the limits are checked too), and once at the end
    seen: list[float] = []
    r = sandbox.simulate(sandbox.load(ROOT / "scenarios" / "checkout_api.yaml"), duration_s=40, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen) and all(0.0 <= x <= 1.0 for x in seen)
    assert len(seen) >= r.engine.events // CHECK_EVERY


def test_max_requests_is_enforced_while_running_too() -> None:
    # zero think time and instant answers: the up-front estimate cannot see how many requests come
    s = sandbox.loads("name: z\nworkload: {entry: a, users: 2, think_time_ms: 0, duration_s: 1}\n"
                      "nodes: {a: {kind: service, queue_limit: 0, service_time: {dist: constant, mean_ms: 0}}}")
    try:
        sandbox.simulate(s, limits=sandbox.Limits(max_requests=5000))
    except sandbox.SimulationError as exc:
        assert "limit of 5,000 requests" in str(exc)
    else:
        raise AssertionError("the run went past its request limit")


def test_system_series_carry_ordered_percentiles() -> None:
    r = sandbox.simulate(sandbox.load(ROOT / "scenarios" / "checkout_api.yaml"), seed=3, duration_s=60)
    s = r.series
    assert len(s["t_s"]) == 30 == len(s["p50_ms"]) == len(s["p90_ms"])
    assert all(a <= b <= c for a, b, c in zip(s["p50_ms"], s["p90_ms"], s["p99_ms"]))
    assert 0 < min(s["p50_ms"]) and max(s["p99_ms"]) <= r.latency_ms.max * 1.01
