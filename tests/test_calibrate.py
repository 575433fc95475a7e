"""Calibration from traces: a round trip through `sandbox run --traces` recovers what made the traces.

Tolerances, from the run lengths: the known scenario runs 120 s at 200 rps,
tracing every request, so api and search have about 22,000 and 6,600 calls and
the database (behind a 70% cache) about 6,600: the standard error of a mean
service time is cv/sqrt(n), at most 1.3% (cv 1, n 6,600), so 10% is more than
7 standard errors. A call probability is checked within 3 of its own binomial
standard errors (a 0.3% chance per edge of a false failure, for a fixed seed
a fixed outcome).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sandbox
from sandbox.calibrate import calibrate
from sandbox.report_calibration import calibrated_yaml, calibration_text
from sandbox.otlp import to_otlp

from .conftest import run_command as cli

KNOWN = """
name: known
seed: 7
workload: {entry: lb, rate_rps: 200, duration_s: 120, warmup_s: 5}
nodes:
  lb: {kind: load_balancer, policy: round_robin}
  api: {kind: service, replicas: 2, workers: 8, service_time: {dist: lognormal, mean_ms: 12, p99_ms: 60}}
  cache: {kind: cache, hit_ratio: 0.7, workers: 32, service_time: {dist: constant, mean_ms: 1}}
  db: {kind: database, workers: 16, service_time: {dist: exponential, mean_ms: 20}}
  search: {kind: service, workers: 8, service_time: {dist: gamma, mean_ms: 15, cv: 0.5}}
  events: {kind: queue, consumers: 2}
  mailer: {kind: service, workers: 2, service_time: {dist: exponential, mean_ms: 4}}
edges:
  - {from: lb, to: api}
  - {from: api, to: cache, latency_ms: 0.5}
  - {from: cache, to: db, when: miss}
  - {from: api, to: search, probability: 0.3}
  - {from: api, to: events, probability: 0.2}
  - {from: events, to: mailer}
"""

TRUE_MEANS = {"api": 12.0, "cache": 1.0, "db": 20.0, "search": 15.0, "mailer": 4.0}
TRUE_PROBABILITY = {("api", "search"): 0.3, ("api", "events"): 0.2, ("lb", "api"): 1.0, ("api", "cache"): 1.0,
                    ("events", "mailer"): 1.0}


def _guess(known: str) -> str:
    """The same structure with every number the traces can tell set wrong."""
    return (known.replace("rate_rps: 200", "rate_rps: 20").replace("mean_ms: 12, p99_ms: 60", "mean_ms: 3, p99_ms: 9")
            .replace("hit_ratio: 0.7", "hit_ratio: 0.2").replace("mean_ms: 20}", "mean_ms: 2}")
            .replace("{dist: gamma, mean_ms: 15, cv: 0.5}", "{dist: exponential, mean_ms: 1}")
            .replace("probability: 0.3", "probability: 0.9").replace("probability: 0.2", "probability: 0.5")
            .replace("mean_ms: 4}", "mean_ms: 40}"))


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("calibrate")
    known = folder / "known.yaml"
    known.write_text(KNOWN, encoding="utf-8")
    guess = folder / "guess.yaml"
    guess.write_text(_guess(KNOWN), encoding="utf-8")
    traces = folder / "traces.json"
    from sandbox.cli import main
    import io
    assert main(["run", str(known), "--traces", str(traces), "--trace-count", "20000"], out=io.StringIO()) == 0
    return known, guess, traces, calibrate(guess, traces, seed=3)


def test_round_trip_recovers_service_times_within_10_percent(round_trip) -> None:
    *_, c = round_trip
    fitted = {f.node: f for f in c.services}
    assert set(fitted) == set(TRUE_MEANS)
    for node, mean in TRUE_MEANS.items():
        assert fitted[node].service_time["mean_ms"] == pytest.approx(mean, rel=0.10), node
        assert fitted[node].queue_source == "trace"
    # the right families, too: the cache's constant, the gamma's cv, the lognormal's sigma (0.846 for p99 5x mean)
    assert fitted["cache"].service_time["dist"] == "constant"
    assert fitted["db"].service_time["dist"] in ("exponential", "gamma")
    assert fitted["search"].service_time["dist"] == "gamma"
    assert fitted["search"].service_time["cv"] == pytest.approx(0.5, rel=0.1)
    assert fitted["api"].service_time["dist"] == "lognormal"
    assert fitted["api"].service_time["sigma"] == pytest.approx(0.846, rel=0.1)


def test_round_trip_recovers_call_probabilities_within_their_sampling_error(round_trip) -> None:
    *_, c = round_trip
    seen = {(e.source, e.target): e for e in c.edges}
    for pair, p in TRUE_PROBABILITY.items():
        e = seen[pair]
        assert e.fitted, pair
        assert abs(e.probability - p) <= 3 * max(e.stderr, 1e-3), (pair, e.probability, e.stderr)
    assert not seen[("cache", "db")].fitted                # a miss edge: the cache's hit ratio instead
    hit = c.fields["cache"]["hit_ratio"]
    n = seen[("cache", "db")].caller_calls
    assert hit[0] == 0.2 and abs(hit[1] - 0.7) <= 3 * (0.7 * 0.3 / n) ** 0.5


def test_round_trip_recovers_the_rate_and_agrees(round_trip) -> None:
    *_, c = round_trip
    assert c.sampling == 1.0 and c.sampling_source == "file"
    assert c.rate_rps == pytest.approx(200, rel=3 * c.rate_stderr / 200)
    assert c.agrees, calibration_text(c)
    assert {a.what for a in c.agreement} >= {"end to end", "api", "db", "search", "mailer"}


def test_the_calibrated_yaml_loads_and_names_its_sources(round_trip) -> None:
    *_, c = round_trip
    text = calibrated_yaml(c)
    s = sandbox.loads(text)
    assert s.nodes["search"].service_time.dist == "gamma"
    assert "# Calibrated by `sandbox calibrate`" in text and "KS distance" in text


def test_a_wrong_structure_is_flagged(round_trip, tmp_path: Path) -> None:
    """The model without the cache -> db call cannot reproduce the traces: the table says so."""
    _, guess, traces, _ = round_trip
    broken = tmp_path / "broken.yaml"
    broken.write_text(guess.read_text().replace("  - {from: cache, to: db, when: miss}\n", ""), encoding="utf-8")
    c = calibrate(broken, traces, seed=3)
    assert any("from cache to db" in w for w in c.warnings)
    assert not c.agrees
    flagged = {a.what for a in c.agreement if not a.agrees}
    assert "cache" in flagged


def test_parallel_calls_are_recognised(tmp_path: Path) -> None:
    text = """
name: fan
workload: {entry: gw, rate_rps: 50, duration_s: 30}
nodes:
  gw: {kind: service, workers: 16, parallel: true, service_time: {dist: constant, mean_ms: 1}}
  a: {kind: service, workers: 8, service_time: {dist: exponential, mean_ms: 5}}
  b: {kind: service, workers: 8, service_time: {dist: exponential, mean_ms: 5}}
edges: [{from: gw, to: a}, {from: gw, to: b}]
"""
    s = sandbox.loads(text)
    traces = tmp_path / "t.json"
    traces.write_text(json.dumps(to_otlp(sandbox.simulate(s, seed=1, max_traces=500), s)))
    serial = tmp_path / "serial.yaml"
    serial.write_text(text.replace("parallel: true, ", ""))
    c = calibrate(serial, traces, seed=1)
    assert c.parallel == {"gw": True}
    assert c.scenario.nodes["gw"].parallel
    assert c.agrees, calibration_text(c)


def test_traces_without_queueing_take_off_what_theory_predicts(tmp_path: Path) -> None:
    """A real tracer cannot see the queue: with the wait attribute removed, a busy database's spans are
    service plus queueing (M/M/1 near 0.8 utilization: about 4x the service time). The fit takes the
    predicted queueing off. Tolerance 15%: about 1,300 calls give a 3% standard error, and the analysis
    behind the correction is approximate (Allen-Cunneen) for the api in front of it."""
    text = KNOWN.replace("db: {kind: database, workers: 16", "db: {kind: database, workers: 1") \
        .replace("mean_ms: 20}", "mean_ms: 13}").replace("duration_s: 120", "duration_s: 40")
    s = sandbox.loads(text)
    doc = to_otlp(sandbox.simulate(s, seed=2, max_traces=20000), s)
    for rs in doc["resourceSpans"]:
        for sp in rs["scopeSpans"][0]["spans"]:
            sp["attributes"] = [a for a in sp["attributes"] if a["key"] != "sandbox.queue_wait_ns"]
    traces = tmp_path / "foreign.json"
    traces.write_text(json.dumps(doc))
    guess = tmp_path / "guess.yaml"
    guess.write_text(_guess(text).replace("mean_ms: 13}", "mean_ms: 2}"))
    c = calibrate(guess, traces, seed=2)
    db = next(f for f in c.services if f.node == "db")
    assert db.queue_source == "model"
    assert db.own_ms_mean > 2.5 * 13                      # the spans hold a lot of queueing
    assert db.service_time["mean_ms"] == pytest.approx(13, rel=0.15)
    assert c.agrees, calibration_text(c)


def test_cli_calibrate_prints_the_fit_and_writes_the_scenario(round_trip, tmp_path: Path, capsys) -> None:
    _, guess, traces, _ = round_trip
    out = tmp_path / "calibrated.yaml"
    code, text, err = cli(capsys, "calibrate", str(guess), str(traces), "--out", str(out), "--seed", "3")
    assert code == 0, err
    assert "Service times" in text and "Traces beside the calibrated model" in text
    assert "reproduces the traces" in text
    assert sandbox.load(out).workload.rate_rps == pytest.approx(200, rel=0.05)
    code, _, err = cli(capsys, "calibrate", str(guess), str(traces), "--out", str(out))
    assert code == 2 and "already exists" in err
    code, text, _ = cli(capsys, "calibrate", str(guess), str(traces), "--json", "--seed", "3")
    doc = json.loads(text)
    assert code == 0 and doc["agrees"] is True and doc["scenario"]["workload"]["rate_rps"] > 150


@pytest.mark.parametrize("sampling", ["0", "1.5", "nan"])
def test_cli_refuses_a_bad_sampling(round_trip, capsys, sampling: str) -> None:
    _, guess, traces, _ = round_trip
    code, _, err = cli(capsys, "calibrate", str(guess), str(traces), "--sampling", sampling)
    assert code == 2 and "--sampling" in err


def test_sampling_scales_the_rate(round_trip) -> None:
    _, guess, traces, c = round_trip
    half = calibrate(guess, traces, sampling=0.5, check=False)
    assert half.rate_rps == pytest.approx(2 * c.rate_rps)
    assert half.sampling_source == "given" and half.results is None


def test_no_common_service_is_a_clear_error(round_trip, tmp_path: Path) -> None:
    _, _, traces, _ = round_trip
    other = tmp_path / "other.yaml"
    other.write_text("name: other\nworkload: {entry: x, rate_rps: 1, duration_s: 5}\n"
                     "nodes: {x: {kind: service, service_time: {dist: constant, mean_ms: 1}}}\n")
    with pytest.raises(sandbox.ScenarioError, match="no service in the traces is a node"):
        calibrate(other, traces)
