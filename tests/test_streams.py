"""Streams and topics: partitions cap a consumer group, each partition an M/G/1 queue, lag grows at the excess,
retention loses what is not read in time, a topic copies every message to every subscription.

Tolerances. Freshness: with uniform keys each partition receives a Poisson stream (independent key draws split
Poisson arrivals into Poisson parts) served by one exponential consumer at a time: an M/M/1 queue, whose mean
sojourn Pollaczek-Khinchine gives. Over 8 seeds of this 200 s run the mean freshness had mean 20.01 ms (theory
20.0) and a standard deviation of 0.35 ms per run, so one run is allowed 1.4 ms (4 standard deviations). Lag
growth: with constant service each busy partition processes exactly 1 / E[S] a second, so the lag at the end
is the arrivals (Poisson, standard deviation sqrt(n)) minus an exact count: allowed 4 sqrt(n) plus the messages
in flight. Partition shares: keys are drawn independently, so the messages per partition are multinomial; a
chi-square over the partitions has P - 1 degrees of freedom and is allowed its mean plus 5 of its standard
deviations.
"""

from __future__ import annotations

import math

import pytest

import sandbox
from sandbox.errors import ScenarioError

PK = """
name: pk
workload: {{entry: clicks, rate_rps: 300, duration_s: 205, warmup_s: 5, keys: {{count: 6000, popularity: uniform}}}}
nodes:
  clicks: {{kind: stream, partitions: 6}}
  etl: {{kind: service, workers: {workers}, service_time: {{dist: exponential, mean_ms: 10}}}}
edges: [{{from: clicks, to: etl}}]
"""


def _group(r: sandbox.Results, stream: str = "clicks", group: str = "etl") -> dict:
    return r.nodes[stream].pipeline["groups"][group]


def test_each_partition_is_an_mg1_queue() -> None:
    r = sandbox.simulate(sandbox.loads(PK.format(workers=6)), seed=11)
    g = _group(r)
    assert g["predicted_freshness_ms"] == pytest.approx(20.0)   # W = rho S / (1 - rho) + S at rho = 0.5, S = 10 ms
    assert g["freshness_ms"]["mean"] == pytest.approx(20.0, abs=1.4)
    assert g["predicted_partition_utilization"] == pytest.approx([0.5] * 6)
    assert g["expired"] == 0 and g["failed"] == 0


def test_workers_beyond_the_partitions_sit_idle() -> None:
    six = sandbox.simulate(sandbox.loads(PK.format(workers=6)), seed=3)
    twelve = sandbox.simulate(sandbox.loads(PK.format(workers=12)), seed=3)
    a, b = _group(six), _group(twelve)
    # one reader per partition: the six extra workers never take a message, so the group runs identically
    assert a["freshness_ms"] == b["freshness_ms"] and a["consumed_per_partition"] == b["consumed_per_partition"]
    assert b["idle_consumers"] == 6 and a["idle_consumers"] == 0
    assert twelve.nodes["etl"].utilization == pytest.approx(six.nodes["etl"].utilization / 2, rel=1e-9)
    assert any(f.topic == "idle_consumers" for f in twelve.analysis.findings)


def test_past_its_capacity_a_groups_lag_grows_at_the_excess() -> None:
    text = """
name: overload
workload: {entry: clicks, rate_rps: 800, duration_s: 30}
nodes:
  clicks: {kind: stream, partitions: 4}
  etl: {kind: service, workers: 4, queue_limit: null, service_time: {dist: constant, mean_ms: 10}}
edges: [{from: clicks, to: etl}]
"""
    r = sandbox.simulate(sandbox.loads(text), seed=2)
    g = _group(r)
    assert g["predicted_capacity_rps"] == pytest.approx(400) and g["predicted_lag_growth_per_s"] == pytest.approx(400)
    arrived = r.nodes["clicks"].arrived
    processed = sum(g["consumed_per_partition"])
    # four partitions, each 100 a second once its first message came (within a few ms), at most one in flight each
    assert 0 <= 400 * 30 - processed <= 8
    lag = sum(g["lag_at_end"])
    assert lag + processed + 4 >= arrived >= lag + processed   # at most one message in flight per partition
    assert abs(lag - 400 * 30) <= 4 * math.sqrt(800 * 30) + 4
    series = g["series"]["lag_messages"]
    assert series[-1] > series[len(series) // 2] > series[0]
    assert any(f.topic == "consumer_lag" for f in r.analysis.findings)
    assert "Consumer group etl is" in r.bottleneck.why and "most in partition" not in r.bottleneck.why  # all lag


def test_a_hot_key_makes_its_partition_take_its_share() -> None:
    text = PK.format(workers=6).replace("popularity: uniform", "popularity: zipf, s: 1.0")
    r = sandbox.simulate(sandbox.loads(text), seed=5, duration_s=105)
    g = _group(r)
    counts = g["consumed_per_partition"]
    n = sum(counts)
    shares = g["predicted_partition_shares"]
    chi2 = sum((c - n * q) ** 2 / (n * q) for c, q in zip(counts, shares))
    df = len(counts) - 1
    assert chi2 <= df + 5 * math.sqrt(2 * df), (chi2, counts, shares)
    assert g["predicted_hottest_partition"] == 0 and shares[0] == max(shares)


def test_retention_loses_what_a_lagging_group_has_not_read() -> None:
    text = """
name: retention
workload: {entry: clicks, rate_rps: 400, duration_s: 40}
nodes:
  clicks: {kind: stream, partitions: 2, retention_s: 3}
  slow: {kind: service, workers: 2, service_time: {dist: constant, mean_ms: 10}}
edges: [{from: clicks, to: slow}]
"""
    r = sandbox.simulate(sandbox.loads(text), seed=1)
    g = _group(r, group="slow")
    produced = r.nodes["clicks"].arrived
    assert g["expired"] > 0
    # every message is processed, expired, still unread or being processed (one per partition)
    in_flight = produced - sum(g["consumed_per_partition"]) - g["expired"] - sum(g["lag_at_end"])
    assert 0 <= in_flight <= 2
    # nothing unread is older than the retention, so the oldest unread message is at most 3 s old
    assert max(g["series"]["oldest_unread_s"]) <= 3.0 + 1e-9
    assert g["freshness_ms"]["max"] <= 3000 + 10 + 1e-6


TOPIC = """
name: fan-out
workload: {entry: api, rate_rps: 200, duration_s: 30}
nodes:
  api: {kind: service, workers: 16, service_time: {dist: exponential, mean_ms: 2}}
  events: {kind: topic, capacity: 50}
  email: {kind: service, workers: 2, service_time: {dist: exponential, mean_ms: 5}}
  audit: {kind: service, workers: 2, service_time: {dist: exponential, mean_ms: 5}}
  slow: {kind: service, workers: 1, service_time: {dist: constant, mean_ms: 10}}
edges:
  - {from: api, to: events}
  - {from: events, to: email}
  - {from: events, to: audit}
  - {from: events, to: slow}
"""


def test_a_topic_delivers_every_message_to_every_subscription() -> None:
    r = sandbox.simulate(sandbox.loads(TOPIC), seed=4)
    published = r.nodes["events"].arrived
    subs = r.nodes["events"].pipeline["subscriptions"]
    assert set(subs) == {"email", "audit", "slow"}
    for name, f in subs.items():
        # conservation per subscription: every copy delivered, failed, dropped, waiting or being consumed
        assert f["arrived"] == published
        in_consumers = f["arrived"] - f["delivered"] - f["failed"] - f["dropped"] - f["backlog_at_end"]
        assert 0 <= in_consumers <= f["consumers"], (name, f)
    assert subs["email"]["dropped"] == subs["audit"]["dropped"] == 0
    # slow takes 10 ms a message, one at a time: 100 a second against 200 sent; its buffer fills and drops
    assert subs["slow"]["dropped"] > 0 and subs["slow"]["backlog_max"] == 50
    assert subs["slow"]["predicted_backlog_growth_per_s"] == pytest.approx(100)
    assert abs(subs["slow"]["delivered"] - 100 * 30) <= 2
    # the publisher never waits for, nor fails with, a subscription
    assert r.requests.failed == r.requests.rejected == 0
    assert r.nodes["email"].arrived == r.nodes["audit"].arrived == published


@pytest.mark.parametrize(("change", "field", "reason"), [
    ("clicks: {kind: stream, partitions: 0}", "nodes.clicks.partitions", "must be at least 1"),
    ("clicks: {kind: stream, partitions: 6, retention_s: 0}", "nodes.clicks.retention_s", "must be more than 0"),
])
def test_bad_streams_are_refused_with_the_field(change: str, field: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        sandbox.loads(PK.format(workers=6).replace("clicks: {kind: stream, partitions: 6}", change))
    paths = dict(exc.value.problems)
    assert field in paths and reason in paths[field], exc.value.problems


def test_a_consumer_group_reads_every_message() -> None:
    with pytest.raises(ScenarioError) as exc:
        sandbox.loads(PK.format(workers=6).replace("{from: clicks, to: etl}", "{from: clicks, to: etl, probability: 0.5}"))
    assert "a consumer group reads every message" in str(exc.value)


def test_same_seed_same_stream_figures() -> None:
    s = sandbox.loads(PK.format(workers=6))
    a, b = sandbox.simulate(s, seed=9, duration_s=30), sandbox.simulate(s, seed=9, duration_s=30)
    assert a.to_dict() | {"engine": None} == b.to_dict() | {"engine": None}
