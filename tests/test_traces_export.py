"""Traces as call trees, and their OTLP export: every span's parent is its real caller, and the file is OTLP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sandbox
from sandbox.otlp import EPOCH_NS, otlp_json, to_otlp, traced_share
from sandbox.tracefiles import read_traces, read_traces_text

from .conftest import SCENARIOS, run_command as cli

FANOUT_QUEUE = """
name: tree
workload: {entry: lb, rate_rps: 100, duration_s: 20, warmup_s: 2}
nodes:
  lb: {kind: load_balancer}
  gw: {kind: service, workers: 16, parallel: true, service_time: {dist: exponential, mean_ms: 2}}
  a: {kind: service, workers: 8, service_time: {dist: exponential, mean_ms: 5}}
  b: {kind: service, workers: 8, service_time: {dist: exponential, mean_ms: 5}}
  jobs: {kind: queue, consumers: 2}
  worker: {kind: service, workers: 2, service_time: {dist: exponential, mean_ms: 3}}
  flaky: {kind: service, workers: 4, error_rate: 0.3, service_time: {dist: exponential, mean_ms: 20}}
edges:
  - {from: lb, to: gw}
  - {from: gw, to: a}
  - {from: gw, to: b}
  - {from: a, to: jobs}
  - {from: jobs, to: worker}
  - {from: b, to: flaky, timeout_ms: 15, retries: 2}
"""


def _every_parent_is_a_caller(scenario: sandbox.Scenario, results: sandbox.Results) -> int:
    """Check each span: its parent is a node that calls it, started no later, and is listed before it."""
    calls = {(e.source, e.target) for e in scenario.edges}
    checked = 0
    for t in results.traces:
        roots = [sp for sp in t.spans if sp.parent is None]
        assert len(roots) == 1 and roots[0].node == scenario.workload.entry, t
        for i, sp in enumerate(t.spans):
            if sp.parent is None:
                continue
            up = t.spans[sp.parent]
            assert sp.parent < i
            assert (up.node, sp.node) in calls, (up.node, sp.node)
            assert up.arrive_ms <= sp.arrive_ms + 1e-9
            checked += 1
    return checked


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_traces_a_call_tree(path: Path) -> None:
    scenario = sandbox.load(path)
    results = sandbox.simulate(scenario, seed=1, max_traces=50)
    _every_parent_is_a_caller(scenario, results)


def test_parallel_calls_retries_under_timeouts_and_queues_keep_their_parents() -> None:
    scenario = sandbox.loads(FANOUT_QUEUE)
    results = sandbox.simulate(scenario, seed=3, max_traces=400)
    assert _every_parent_is_a_caller(scenario, results) > 1000
    by_parent: dict[str, int] = {}
    for t in results.traces:
        for sp in t.spans:
            if sp.parent is not None:
                key = f"{t.spans[sp.parent].node}->{sp.node}"
                by_parent[key] = by_parent.get(key, 0) + 1
    # gw calls a and b in parallel on every request: both are children of gw, never of each other
    assert by_parent["gw->a"] == by_parent["gw->b"] == by_parent["lb->gw"]
    # retried attempts under a timeout (each in its own process) are all b's children
    assert by_parent["b->flaky"] > by_parent["gw->b"]
    # a message's queue span is the producer's child; the consumer's call is the queue span's child
    assert by_parent["a->jobs"] == by_parent["jobs->worker"] > 0


def test_otlp_export_parses_with_the_opentelemetry_definitions() -> None:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    scenario = sandbox.loads(FANOUT_QUEUE)
    results = sandbox.simulate(scenario, seed=3, max_traces=100)
    text = otlp_json(results, scenario)
    assert text.endswith("\n") and text.count("\n") == 1   # one line: a batch, as the file exporter writes
    message = json_format.Parse(text, ExportTraceServiceRequest())
    services = {a.value.string_value for rs in message.resource_spans for a in rs.resource.attributes
                if a.key == "service.name"}
    assert services == set(scenario.nodes)
    spans = [sp for rs in message.resource_spans for ss in rs.scope_spans for sp in ss.spans]
    assert len(spans) == sum(len(t.spans) for t in results.traces)
    assert all(sp.start_time_unix_nano >= EPOCH_NS and sp.end_time_unix_nano >= sp.start_time_unix_nano
               for sp in spans)
    kinds = {rs.resource.attributes[0].value.string_value: {sp.kind for ss in rs.scope_spans for sp in ss.spans}
             for rs in message.resource_spans}
    assert kinds["jobs"] == {5} and kinds["gw"] == {2}     # a queue's hop is a CONSUMER span, the rest SERVER
    assert sum(1 for sp in spans if sp.status.code == 2) > 0   # the flaky service's errors are ERROR spans


def test_the_export_reads_back_as_the_same_hops() -> None:
    scenario = sandbox.loads(FANOUT_QUEUE)
    results = sandbox.simulate(scenario, seed=3, max_traces=200)
    traces = read_traces_text(otlp_json(results, scenario), "x.json")
    assert traces.traces == len(results.traces)
    assert len(traces.hops) == sum(len(t.spans) for t in results.traces)
    assert abs(traces.sampling - traced_share(results)) < 1e-9     # ot=th round-trips the share
    for h in traces.hops:
        if h.service == "jobs":
            assert h.asynchronous                    # the producer did not wait for the message's processing
        if h.service == "a":
            # a's own time leaves out no queue span: sending a message is not waiting for it
            assert not h.waits


def test_same_seed_same_bytes() -> None:
    scenario = sandbox.loads(FANOUT_QUEUE)
    first = otlp_json(sandbox.simulate(scenario, seed=5, max_traces=50), scenario)
    assert first == otlp_json(sandbox.simulate(scenario, seed=5, max_traces=50), scenario)


def test_traced_share_is_the_sampling_interval() -> None:
    scenario = sandbox.loads(FANOUT_QUEUE)
    results = sandbox.simulate(scenario, seed=3, max_traces=100)
    ids = sorted(t.request_id for t in results.traces)
    step = ids[1] - ids[0]
    assert all(b - a == step for a, b in zip(ids, ids[1:]))   # every step-th request
    assert traced_share(results) == pytest.approx(1 / step)


def test_run_traces_writes_otlp_and_never_replaces_a_file(tmp_path: Path, write_yaml, capsys) -> None:
    path = write_yaml(FANOUT_QUEUE)
    out = tmp_path / "traces.json"
    code, text, err = cli(capsys, "run", str(path), "--traces", str(out), "--trace-count", "300")
    assert code == 0 and "Requests" in text and "300 traces" in err.replace(",", "")
    first = out.read_text()
    assert read_traces(out).traces == 300
    code, _, err = cli(capsys, "run", str(path), "--traces", str(out))
    assert code == 2 and "already exists" in err and "--traces" in err
    assert out.read_text() == first
    code, _, err = cli(capsys, "run", str(path), "--traces", str(tmp_path / "t2.json"), "--trace-count", "0")
    assert code == 2 and "--trace-count" in err


def test_to_otlp_names_each_span_after_its_node() -> None:
    scenario = sandbox.loads(FANOUT_QUEUE)
    doc = to_otlp(sandbox.simulate(scenario, seed=1, max_traces=20), scenario)
    for rs in doc["resourceSpans"]:
        name = rs["resource"]["attributes"][0]["value"]["stringValue"]
        assert all(sp["name"] == name for sp in rs["scopeSpans"][0]["spans"])
    json.dumps(doc, allow_nan=False)
