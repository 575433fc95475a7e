"""Reading trace files: OTLP JSON (one object or JSON lines), Jaeger JSON, spans into hops, and bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import ScenarioError
from sandbox.tracefiles import read_traces, read_traces_text, sampling_of_tracestate

from .conftest import run_command as cli


def _span(trace: str, span: str, parent: str, start_ms: float, end_ms: float, kind: Any = 2,
          error: bool = False, **extra: Any) -> dict[str, Any]:
    sp = {"traceId": trace, "spanId": span, "parentSpanId": parent, "name": "op", "kind": kind,
          "startTimeUnixNano": str(int(start_ms * 1e6)), "endTimeUnixNano": str(int(end_ms * 1e6))}
    if error:
        sp["status"] = {"code": "STATUS_CODE_ERROR"}
    sp.update(extra)
    return sp


def _resource(service: str | None, spans: list[dict[str, Any]]) -> dict[str, Any]:
    attrs = [{"key": "service.name", "value": {"stringValue": service}}] if service else []
    return {"resource": {"attributes": attrs}, "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}


T = "ab" * 16


def test_client_spans_are_waits_and_internal_spans_are_own_work() -> None:
    """api's server span (0-50 ms) does 10 ms internal work, then a CLIENT call (15-45) to db's server span
    (20-40). api's own time is 50 - 30 (the client span, network included) = 20 ms; db's is 20 ms."""
    doc = {"resourceSpans": [
        _resource("api", [_span(T, "01" * 8, "", 0, 50, kind="SPAN_KIND_SERVER"),
                          _span(T, "02" * 8, "01" * 8, 1, 11, kind=1),
                          _span(T, "03" * 8, "01" * 8, 15, 45, kind=3)]),
        _resource("db", [_span(T, "04" * 8, "03" * 8, 20, 40, kind=2)])]}
    traces = read_traces_text(json.dumps(doc), "t.json")
    assert [h.service for h in traces.hops] == ["api", "db"]
    api, db = traces.hops
    assert api.self_ms() == pytest.approx(20.0) and db.self_ms() == pytest.approx(20.0)
    assert db.parent == 0 and api.calls == [1] and not db.asynchronous


def test_producer_and_consumer_spans_are_asynchronous() -> None:
    doc = {"resourceSpans": [
        _resource("api", [_span(T, "01" * 8, "", 0, 10), _span(T, "02" * 8, "01" * 8, 2, 3, kind=4)]),
        _resource("worker", [_span(T, "03" * 8, "02" * 8, 5, 60, kind=5)])]}
    api, worker = read_traces_text(json.dumps(doc)).hops
    assert worker.asynchronous and worker.parent == 0
    assert api.self_ms() == pytest.approx(10.0)   # sending is not waiting


def test_json_lines_snake_case_and_numbers_are_read() -> None:
    one = {"resource_spans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "a"}}]},
                               "scope_spans": [{"spans": [{"trace_id": T, "span_id": "01" * 8,
                                                           "start_time_unix_nano": 1_000_000,
                                                           "end_time_unix_nano": 3_000_000, "kind": 2}]}]}]}
    two = {"resourceSpans": [_resource("a", [_span("cd" * 16, "02" * 8, "", 5, 9, error=True)])]}
    traces = read_traces_text(json.dumps(one) + "\n\n" + json.dumps(two) + "\n")
    assert traces.traces == 2 and [h.duration_ms for h in traces.hops] == [2.0, 4.0]
    assert [h.error for h in traces.hops] == [False, True]


def test_jaeger_json_is_read() -> None:
    doc = {"data": [{"traceID": "t1", "processes": {"p1": {"serviceName": "web"}, "p2": {"serviceName": "db"}},
                     "spans": [
                         {"spanID": "a", "startTime": 1000, "duration": 9000, "processID": "p1",
                          "tags": [{"key": "span.kind", "value": "server"}]},
                         {"spanID": "b", "startTime": 2000, "duration": 5000, "processID": "p2",
                          "references": [{"refType": "CHILD_OF", "traceID": "t1", "spanID": "a"}],
                          "tags": [{"key": "error", "value": True}]},
                         {"spanID": "c", "startTime": 9000, "duration": 4000, "processID": "p2",
                          "references": [{"refType": "FOLLOWS_FROM", "traceID": "t1", "spanID": "a"}]}]}]}
    web, db, later = read_traces_text(json.dumps(doc), "jaeger.json").hops
    assert (web.service, db.service) == ("web", "db")
    assert web.duration_ms == 9.0 and web.self_ms() == pytest.approx(4.0)
    assert db.error and not db.asynchronous and later.asynchronous


@pytest.mark.parametrize("tracestate, share", [("ot=th:8", 0.5), ("ot=th:c", 0.25), ("ot=th:0", 1.0),
                                               ("vendor=x,ot=rv:abc;th:fd70a4", 0.01), ("vendor=x", None)])
def test_sampling_threshold(tracestate: str, share: float | None) -> None:
    got = sampling_of_tracestate(tracestate)
    assert got == share if share is None else got == pytest.approx(share, rel=1e-5)


BAD = [
    ("", "is empty"),
    ("{not json", "is not JSON"),
    ("[1, 2]", "neither OTLP JSON"),
    ('{"resourceSpans": []}', "holds no spans"),
    ('{"data": []}', "holds no spans"),
    (json.dumps({"resourceSpans": [_resource(None, [_span(T, "01" * 8, "", 0, 1)])]}), "no service.name"),
    (json.dumps({"resourceSpans": [_resource("a", [_span(T, "", "", 0, 1)])]}), "has no spanId"),
    (json.dumps({"resourceSpans": [_resource("a", [_span(T, "01" * 8, "", 5, 1)])]}), "ends before it starts"),
    (json.dumps({"resourceSpans": [_resource("a", [dict(_span(T, "01" * 8, "", 0, 1), startTimeUnixNano="soon")])]}),
     "startTimeUnixNano: must be an integer"),
    (json.dumps({"resourceSpans": {"x": 1}}), "must be a list"),
    (json.dumps({"data": [{"spans": [{"spanID": "a", "startTime": 1, "duration": 1, "processID": "p9"}],
                           "processes": {}}]}), "has no service name"),
    (json.dumps({"data": [{"spans": [{"spanID": "a", "processID": "p1"}], "processes": {"p1": {"serviceName": "w"}}}]}),
     "needs spanID, startTime and duration"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m for _, m in BAD])
def test_bad_trace_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as exc:
        read_traces_text(text, "traces.json")
    assert str(exc.value).startswith("traces.json")


def test_a_missing_file_a_folder_and_binary_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        read_traces(tmp_path / "nope.json")
    with pytest.raises(ScenarioError, match="is a directory, not a trace file"):
        read_traces(tmp_path)
    binary = tmp_path / "traces.pb"
    binary.write_bytes(b"\x0a\xff\xfe\x00protobuf")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        read_traces(binary)


def test_cli_refuses_bad_trace_files_with_exit_2(tmp_path: Path, write_yaml, capsys) -> None:
    scenario = write_yaml("name: x\nworkload: {entry: a, rate_rps: 5, duration_s: 5}\n"
                          "nodes: {a: {kind: service, service_time: {dist: constant, mean_ms: 1}}}\n")
    for text, message in BAD[:6]:
        path = tmp_path / "traces.json"
        path.write_text(text, encoding="utf-8")
        code, _, err = cli(capsys, "calibrate", str(scenario), str(path))
        assert code == 2 and message in err and str(path) in err, err
