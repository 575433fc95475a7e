"""Zones and regions, zone outages and health checks, against exact delays and the detection-delay formula.

Tolerances. Delays: with constant service times every latency is a sum of constants, so the added delay is
checked exactly (to the microsecond the results are rounded to). Crossings: a round-robin balancer sends
exactly one call in three to each of three zones, so the share of calls crossing zones is 2/3 to within a
few calls. Outages: arrivals are Poisson, so the calls that reach a zone in a window of t seconds at rate
r are Poisson with mean r t; a count is allowed 4 standard deviations, 4 sqrt(r t) (with r t about 500
that is 18%: the test still fails if, say, the detection delay were off by one probe interval, 5 s, which
moves the count by 330). Over seeds, the detection delay is uniform over one interval, so theory's count
is checked against the mean of 12 seeds: the per-seed standard deviation is r I / sqrt(12) (about 96
calls here) plus the Poisson part, and the mean of 12 is allowed 4 standard errors.
"""

from __future__ import annotations

import math

import pytest

import sandbox
from sandbox.errors import ScenarioError
from sandbox.placement import HealthCheck, layout, region_of
from sandbox.placement_theory import expected_failing_s

CROSS = """
name: cross
workload: {{entry: api, rate_rps: 50, duration_s: 20, warmup_s: 2}}
network: {{cross_zone_ms: 1.5, cross_region_ms: 40}}
nodes:
  api: {{kind: service, workers: 64, zones: [{api}], service_time: {{dist: constant, mean_ms: 3}}}}
  db: {{kind: database, workers: 8, zones: [{db}], service_time: {{dist: constant, mean_ms: 2}}}}
edges:
  - {{from: api, to: db}}
"""


@pytest.mark.parametrize(("api", "db", "added_ms"), [("us-a", "us-a", 0.0), ("us-a", "us-b", 3.0),
                                                      ("us-a", "eu-a", 80.0)])
def test_a_call_between_placements_adds_the_delay_both_ways(api: str, db: str, added_ms: float) -> None:
    r = sandbox.simulate(sandbox.loads(CROSS.format(api=api, db=db)), seed=1)
    assert r.latency_ms.p50 is not None
    # every request: 3 ms at api, 2 ms at db, and the network there and back
    assert r.latency_ms.mean == pytest.approx(5.0 + added_ms, abs=1e-3)
    assert r.latency_ms.max == pytest.approx(5.0 + added_ms, abs=1e-3)
    assert r.analysis.predicted_latency_ms == pytest.approx(5.0 + added_ms, abs=1e-6)
    c = r.placement["calls_between_placed"]
    kind = 0 if api == db else 1 if region_of(api) == region_of(db) else 2
    assert [c["same_zone"], c["cross_zone"], c["cross_region"]][kind] == c["calls"]
    assert r.requests.completed <= c["calls"] <= r.requests.arrived    # counted as they leave: some still in flight


def test_an_edge_with_its_own_latency_keeps_it() -> None:
    text = CROSS.format(api="us-a", db="eu-a").replace("{from: api, to: db}", "{from: api, to: db, latency_ms: 7}")
    r = sandbox.simulate(sandbox.loads(text), seed=1)
    assert r.latency_ms.mean == pytest.approx(5.0 + 14.0, abs=1e-3)


SPREAD = """
name: spread
workload: {{entry: web, rate_rps: 300, duration_s: 30, warmup_s: 2}}
network: {{cross_zone_ms: 2}}
nodes:
  web: {{kind: service, replicas: 3, workers: 16, zones: [us-a, us-b, us-c],
         service_time: {{dist: constant, mean_ms: 4}}}}
  lb: {{kind: load_balancer{locality}}}
  db: {{kind: database, replicas: 3, workers: 16, zones: [us-a, us-b, us-c],
        service_time: {{dist: constant, mean_ms: 1}}}}
edges:
  - {{from: web, to: lb}}
  - {{from: lb, to: db}}
"""


def test_locality_keeps_calls_in_the_callers_zone() -> None:
    r = sandbox.simulate(sandbox.loads(SPREAD.format(locality=", locality: zone")), seed=2)
    c = r.placement["calls_between_placed"]
    assert c["cross_zone"] == 0 and r.requests.arrived >= c["calls"] >= r.requests.completed > 8000
    assert c["predicted_cross_zone_share"] == 0.0
    assert r.latency_ms.max == pytest.approx(5.0, abs=1e-3)
    # each zone's db replica took the calls of the web replica beside it: a third each
    calls = [r.placement["zones"][z]["nodes"]["db"]["calls"] for z in ("us-a", "us-b", "us-c")]
    assert max(calls) - min(calls) <= 2


def test_without_locality_two_calls_in_three_cross_zones() -> None:
    # random picks: each call lands in a zone other than its caller's with probability 2/3, independently
    # (round robin here would run in step with the callers' own round robin and always cross)
    s = sandbox.loads(SPREAD.format(locality=", policy: random"))
    r = sandbox.simulate(s, seed=2)
    c = r.placement["calls_between_placed"]
    n = c["calls"]
    sd = math.sqrt(2 / 9 / n)
    assert c["predicted_cross_zone_share"] == pytest.approx(2 / 3)
    assert c["cross_zone_share"] == pytest.approx(2 / 3, abs=4 * sd)
    # theory adds 2 x 2 ms on two calls in three: 4 + 1 + 8/3 ms; each request's delay is 0 or 4 ms
    assert r.analysis.predicted_latency_ms == pytest.approx(5.0 + 8 / 3, abs=1e-6)
    assert r.latency_ms.mean == pytest.approx(5.0 + 4 * c["cross_zone_share"], abs=1e-3)


def test_parallel_calls_to_two_zones_each_keep_their_own_delay() -> None:
    text = """
name: fan
workload: {entry: api, rate_rps: 40, duration_s: 10}
network: {cross_zone_ms: 1, cross_region_ms: 30}
nodes:
  api: {kind: service, workers: 64, parallel: true, zones: [us-a], service_time: {dist: constant, mean_ms: 2}}
  near: {kind: service, workers: 8, zones: [us-b], service_time: {dist: constant, mean_ms: 5}}
  far: {kind: service, workers: 8, zones: [eu-a], service_time: {dist: constant, mean_ms: 1}}
  leaf: {kind: service, workers: 64, service_time: {dist: constant, mean_ms: 1}}
edges:
  - {from: api, to: near}
  - {from: api, to: far}
  - {from: near, to: leaf}
  - {from: far, to: leaf}
"""
    r = sandbox.simulate(sandbox.loads(text), seed=1)
    # near: 2 + 5 + 1 (leaf beside it: no delay) = 8; far: 60 + 1 + 1 = 62; the slower one sets the latency
    assert r.latency_ms.max == pytest.approx(2 + 62.0, abs=1e-3)
    assert r.latency_ms.mean == pytest.approx(2 + 62.0, abs=1e-3)


OUTAGE = """
name: outage
workload: {{entry: lb, rate_rps: 200, duration_s: 90, warmup_s: 5}}
faults: [{{zone: us-a, mode: down, at_s: 30, for_s: 40}}]
nodes:
  lb: {{kind: load_balancer{check}}}
  web: {{kind: service, replicas: 6, workers: 8, zones: [us-a, us-b, us-c],
         service_time: {{dist: exponential, mean_ms: 10}}}}
edges:
  - {{from: lb, to: web}}
"""
TO_ZONE_RPS = 200 / 3   # round robin over six replicas, two in each zone


def test_with_health_checks_calls_fail_only_until_the_zone_is_detected() -> None:
    r = sandbox.simulate(sandbox.loads(OUTAGE.format(check=", health_check: {interval_s: 5, unhealthy_after: 2}")),
                         seed=3)
    (o,) = r.placement["outages"]
    (d,) = o["detections"]
    delay = d["detected_after_s"]
    assert 5.0 <= delay <= 10.0                  # between (u - 1) and u probe intervals
    expected = TO_ZONE_RPS * delay
    assert abs(o["refused"] - expected) <= 4 * math.sqrt(expected), (o["refused"], expected)
    assert r.requests.failed == o["refused"]
    assert f"at web (taken out after {delay:.1f} s)" in r.bottleneck.why
    assert o["predicted_failed"] == pytest.approx(TO_ZONE_RPS * 7.5)
    # after it ended, the next good probe puts the replicas back: within one interval
    assert 0.0 <= d["back_after_s"] <= 5.0
    series = r.placement["availability_series"]
    assert min(series[25:25 + int(delay)]) < 0.8 and min(series[:25]) == 1.0 and min(series[65 + 5:]) == 1.0


def test_without_health_checks_every_call_to_the_zone_fails_for_the_whole_outage() -> None:
    r = sandbox.simulate(sandbox.loads(OUTAGE.format(check="")), seed=3)
    (o,) = r.placement["outages"]
    expected = TO_ZONE_RPS * 40
    assert abs(o["refused"] - expected) <= 4 * math.sqrt(expected)
    assert o["predicted_failed"] == pytest.approx(expected) and o["detections"] == []
    assert r.placement["predicted_availability"] == pytest.approx(1 - expected / (200 * 85))
    assert r.causes[0].reason == "down (zone us-a is down)" and r.causes[0].count == o["refused"]
    assert f"Zone us-a was down: {o['refused']:,} calls failed there" in r.bottleneck.why
    assert "at web (never taken out: nothing probes it)" in r.bottleneck.why


def test_theory_counts_the_mean_detection_delay_over_seeds() -> None:
    s = sandbox.loads(OUTAGE.format(check=", health_check: {interval_s: 5, unhealthy_after: 2}"))
    counts = [sandbox.simulate(s, seed=seed, duration_s=50).placement["outages"][0]["refused"] for seed in range(12)]
    mean = sum(counts) / len(counts)
    predicted = TO_ZONE_RPS * 7.5
    per_seed_sd = math.sqrt((TO_ZONE_RPS * 5) ** 2 / 12 + predicted)
    assert abs(mean - predicted) <= 4 * per_seed_sd / math.sqrt(len(counts)), (mean, predicted)


def test_the_expected_failing_time_is_the_mean_of_min_delay_outage() -> None:
    check = HealthCheck(interval_s=4, unhealthy_after=3)   # detection uniform on [8, 12]
    assert expected_failing_s(None, 30) == 30
    assert expected_failing_s(check, 30) == pytest.approx(10.0)
    assert expected_failing_s(check, 6) == pytest.approx(6.0)
    # an outage of 10 s: E[min(U(8, 12), 10)] = (1/4) (integral 8..10 of x dx) + 10 x (2/4) = 4.5 + 5
    assert expected_failing_s(check, 10) == pytest.approx(9.5)


def test_all_replicas_down_fails_open_and_the_balancer_keeps_sending() -> None:
    text = OUTAGE.format(check=", health_check: {interval_s: 1}").replace("zones: [us-a, us-b, us-c]", "zones: [us-a]")
    r = sandbox.simulate(sandbox.loads(text), seed=1)
    (o,) = r.placement["outages"]
    assert abs(o["refused"] - 200 * 40) <= 4 * math.sqrt(200 * 40)


def test_a_design_without_placement_has_no_placement_figures() -> None:
    s = sandbox.loads(CROSS.format(api="us-a", db="us-a").replace("zones: [us-a], ", "").replace(
        "network: {cross_zone_ms: 1.5, cross_region_ms: 40}\n", ""))
    assert layout(s) is None
    r = sandbox.simulate(s, seed=1)
    assert r.placement == {} and "placement" not in r.to_dict()


@pytest.mark.parametrize(("change", "field", "reason"), [
    ("zones: [us-a]", "nodes.api.zones", None),
    ("zones: [us-a, us-a]", "nodes.api.zones", "names a zone twice"),
    ("zones: []", "nodes.api.zones", "at least one zone"),
    ("zones: ['us a']", "nodes.api.zones", "letters, digits"),
])
def test_zone_lists_are_checked(change: str, field: str, reason: str | None) -> None:
    text = CROSS.format(api="us-a", db="us-b").replace("zones: [us-a]", change, 1)
    if reason is None:
        sandbox.loads(text)
        return
    with pytest.raises(ScenarioError) as exc:
        sandbox.loads(text)
    (path, why), = exc.value.problems
    assert path == field and reason in why


def test_bad_placement_is_refused_with_the_field() -> None:
    base = CROSS.format(api="us-a", db="us-b")
    cases = [
        (base + "faults: [{zone: us-z, mode: down, at_s: 1, for_s: 2}]\n", "faults[0].zone", "not a zone of any node"),
        (base + "faults: [{zone: us-a, mode: down, at_s: 1}]\n", "faults[0].for_s", ""),
        (base.replace("kind: database, workers: 8,", "kind: database, shards: 2, workers: 8,"),
         "nodes.db.zones", "not modelled yet"),
        (SPREAD.format(locality=", locality: zone").replace("zones: [us-a, us-b, us-c],\n        service_time: "
                                                           "{dist: constant, mean_ms: 1}",
                                                           "service_time: {dist: constant, mean_ms: 1}"),
         "nodes.lb.locality", "none of the nodes lb calls"),
        (SPREAD.format(locality=", health_check: {interval_s: 0}"), "nodes.lb.health_check.interval_s", ""),
    ]
    for text, field, reason in cases:
        with pytest.raises(ScenarioError) as exc:
            sandbox.loads(text)
        paths = {p: why for p, why in exc.value.problems}
        assert field in paths and reason in paths[field], exc.value.problems


def test_the_cli_refuses_a_bad_zone_fault_with_exit_2(write_yaml, capsys: pytest.CaptureFixture[str]) -> None:
    from sandbox.cli import main
    path = write_yaml(CROSS.format(api="us-a", db="us-b") + "faults: [{zone: nowhere, mode: down, at_s: 1, for_s: 2}]\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "faults[0].zone" in err and "Traceback" not in err


def test_same_seed_same_placement_figures() -> None:
    s = sandbox.loads(OUTAGE.format(check=", health_check: {interval_s: 5}"))
    a, b = sandbox.simulate(s, seed=4, duration_s=40), sandbox.simulate(s, seed=4, duration_s=40)
    assert a.to_dict() | {"engine": None} == b.to_dict() | {"engine": None}


def test_a_tier_behind_probes_moves_its_calls_and_theory_follows() -> None:
    # web's balancer probes, the cache's does not: once web's replicas in us-a are out, web's other replicas
    # send all of web's traffic on, and a third of it lands on the cache in us-a, for the whole outage
    text = """
name: two tiers
workload: {entry: front, rate_rps: 150, duration_s: 100, warmup_s: 5}
faults: [{zone: us-a, mode: down, at_s: 20, for_s: 60}]
nodes:
  front: {kind: load_balancer, health_check: {interval_s: 1}}
  web: {kind: service, replicas: 3, workers: 16, zones: [us-a, us-b, us-c], service_time: {dist: constant, mean_ms: 5}}
  cache_lb: {kind: load_balancer}
  cache: {kind: cache, replicas: 3, workers: 16, hit_ratio: 1, zones: [us-a, us-b, us-c],
          service_time: {dist: constant, mean_ms: 1}}
edges: [{from: front, to: web}, {from: web, to: cache_lb}, {from: cache_lb, to: cache}]
"""
    r = sandbox.simulate(sandbox.loads(text), seed=5)
    web, cache = r.placement["outages"]
    assert web["node"] == "web" and cache["node"] == "cache"
    expected = 150 / 3 * 60            # all of web's calls go on from us-b and us-c: a third of them to us-a
    assert cache["predicted_failed"] == pytest.approx(expected)
    assert abs(cache["refused"] - expected) <= 4 * math.sqrt(expected)
    assert r.placement["predicted_availability"] == pytest.approx(
        1 - (web["predicted_failed"] + expected) / (150 * 95))
