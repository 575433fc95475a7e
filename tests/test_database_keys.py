"""Databases with shards by key and read replicas that lag: hot shards and stale reads against their formulas.

Tolerances. Shard calls: keys are drawn independently, so the calls per shard are multinomial with the
shards' exact shares, and a chi-square over the shards has N - 1 degrees of freedom (5 standard deviations
of it are allowed). Shard utilization: measured from the time workers are held, against offered load x
mean service / workers; 55 s at 100-160 calls/s per shard give about 1.5% standard error on a busy share
near 0.5: the calls a shard gets and their mean exponential service time each vary by 1/sqrt(n), so
the standard error is sqrt(2/n) relative. Over 6 seeds x 8 shards the deviations, in those units, have
mean 0.09 and standard deviation 1.1, the largest 4.0 (this seed's shard 4): 4.5 bounds each shard. Stale reads: over 8 seeds of the 55 s run the stale share has mean 0.1172
(theory 0.1170) and standard deviation 0.0034 per run (writes to a hot key make long, correlated stale
spells), so one run is allowed 0.012 (3.5 standard deviations).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sandbox

SHARDS = """
name: shards
workload: {entry: api, rate_rps: 800, duration_s: 60, warmup_s: 5, keys: {count: 10000, popularity: zipf, s: 1.0}}
nodes:
  api: {kind: service, replicas: 2, workers: 64, service_time: {dist: exponential, mean_ms: 2}}
  db: {kind: database, shards: 8, workers: 4, queue_limit: 500, service_time: {dist: exponential, mean_ms: 20}}
edges:
  - {from: api, to: db}
"""

REPLICAS = """
name: replicas
workload:
  entry: api
  rate_rps: 1000
  duration_s: 60
  warmup_s: 5
  keys: {count: 1000, popularity: zipf, s: 1.0}
  classes: {read: {share: 0.9}, write: {share: 0.1, writes: true}}
nodes:
  api: {kind: service, replicas: 2, workers: 64, service_time: {dist: exponential, mean_ms: 2}}
  db:
    kind: database
    workers: 16
    read_replicas: 2
    replication_lag_ms: {dist: constant, mean_ms: 50}
    queue_limit: 500
    service_time: {dist: exponential, mean_ms: 5}
edges:
  - {from: api, to: db}
"""


def test_shards_take_the_calls_their_keys_are_for() -> None:
    s = sandbox.loads(SHARDS)
    k = sandbox.simulate(s, seed=1).nodes["db"].keyed
    calls = np.array([sh["calls"] for sh in k["shards"]], dtype=float)
    shares = np.array(k["predicted_shard_shares"])
    p = s.workload.keys.probabilities()
    assert shares == pytest.approx([p[i::8].sum() for i in range(8)])
    expected = calls.sum() * shares
    chi2 = float(((calls - expected) ** 2 / expected).sum())
    assert chi2 < 7 + 5 * math.sqrt(2 * 7)
    for sh, u in zip(k["shards"], k["predicted_shard_utilization"]):
        # relative standard error sqrt(2 / n): the shard's count of calls, and its mean exponential service time
        assert abs(sh["utilization"] - u) < 4.5 * u * math.sqrt(2 / sh["calls"]), (sh, u)
    assert k["hottest_shard"] == 0 and k["shards"][0]["utilization"] > 0.7 > k["shards"][7]["utilization"] + 0.25


def test_the_bottleneck_sentence_names_the_hot_shard() -> None:
    why = sandbox.simulate(sandbox.loads(SHARDS), seed=1).bottleneck.why
    assert "Shard 0 of db is" in why and "its keys are the most popular" in why


def test_the_hottest_shard_sets_the_saturation_rate() -> None:
    k = sandbox.simulate(sandbox.loads(SHARDS), seed=1).nodes["db"].keyed
    # shard 0 takes p0 = 0.198 of the calls, 4 workers x 20 ms: it saturates at 4 / (0.198 x 0.020) = 1,009 rps
    assert k["saturation_rps_of_hottest"] == pytest.approx(4 / (k["predicted_shard_shares"][0] * 0.020), rel=1e-9)
    even = sandbox.loads(SHARDS.replace("popularity: zipf, s: 1.0", "popularity: uniform"))
    assert sandbox.simulate(even, seed=1).nodes["db"].keyed["saturation_rps_of_hottest"] > 1500


def test_without_keys_shards_take_turns() -> None:
    text = SHARDS.replace(", keys: {count: 10000, popularity: zipf, s: 1.0}", "")
    k = sandbox.simulate(sandbox.loads(text), seed=1).nodes["db"].keyed
    calls = [sh["calls"] for sh in k["shards"]]
    # in turn: equal but for the calls around warm-up's start and the run's end (in flight, not counted)
    assert max(calls) - min(calls) <= 10 and k["keyed_by"] == "round robin (no keys)"


def test_stale_reads_match_the_thinned_poisson_formula() -> None:
    s = sandbox.loads(REPLICAS)
    k = sandbox.simulate(s, seed=1).nodes["db"].keyed
    p = s.workload.keys.probabilities()
    theory = float(np.dot(p, 1 - np.exp(-100 * p * 0.050)))      # 100 writes/s, 50 ms lag
    assert k["predicted_stale_share"] == pytest.approx(theory)
    assert abs(k["stale_share"] - theory) < 0.012
    assert k["replica_reads"] == k["reads"] and k["writes"] > 0
    # the formula holds for any lag distribution with that mean: an exponential lag gives the same share
    expo = sandbox.loads(REPLICAS.replace("{dist: constant, mean_ms: 50}", "{dist: exponential, mean_ms: 50}"))
    assert abs(sandbox.simulate(expo, seed=2).nodes["db"].keyed["stale_share"] - theory) < 0.012


def test_more_lag_more_stale_reads_and_no_lag_none() -> None:
    none = sandbox.loads(REPLICAS.replace("mean_ms: 50}", "mean_ms: 0}"))
    assert sandbox.simulate(none, seed=1).nodes["db"].keyed["stale_reads"] == 0
    more = sandbox.loads(REPLICAS.replace("mean_ms: 50}", "mean_ms: 500}"))
    k = sandbox.simulate(more, seed=1).nodes["db"].keyed
    assert k["stale_share"] > 0.3 and abs(k["stale_share"] - k["predicted_stale_share"]) < 0.03


def test_reads_go_to_the_replicas_and_writes_to_the_primary() -> None:
    r = sandbox.simulate(sandbox.loads(REPLICAS), seed=1)
    assert r.nodes["db"].replicas == 3 and r.nodes["db"].capacity == 48
    # per shard a single group here: the primary's workers are busy with writes only (10% of calls)
    k = r.nodes["db"].keyed
    assert k["reads"] > 8 * k["writes"]


@pytest.mark.parametrize("change, where", [
    ("read_replicas: 2\n    replication_lag_ms: {dist: constant, mean_ms: 50}", "nodes.db"),
    ("read_replicas: 0\n    replication_lag_ms: {dist: constant, mean_ms: 50}", "nodes.db"),
    ("read_replicas: -1\n    replication_lag_ms: {dist: constant, mean_ms: 50}", "nodes.db.read_replicas"),
])
def test_bad_replicas_are_refused_with_the_field(change: str, where: str) -> None:
    text = REPLICAS.replace("read_replicas: 2\n    replication_lag_ms: {dist: constant, mean_ms: 50}", change)
    if change.startswith("read_replicas: 2"):
        text = text.replace("    replication_lag_ms: {dist: constant, mean_ms: 50}\n", "")
    with pytest.raises(sandbox.ScenarioError) as exc:
        sandbox.loads(text)
    assert any(path.startswith(where) for path, _ in exc.value.problems), exc.value.problems


def test_shards_below_one_are_refused() -> None:
    with pytest.raises(sandbox.ScenarioError, match="nodes.db.shards"):
        sandbox.loads(SHARDS.replace("shards: 8", "shards: 0"))


def test_the_primary_takes_the_writes_and_the_read_replicas_the_reads() -> None:
    """Busy shares by role against offered load x mean service / workers (the same sqrt(2/n) error as shards:
    about 5,000 writes and 50,000 reads)."""
    k = sandbox.simulate(sandbox.loads(REPLICAS), seed=1).nodes["db"].keyed
    (shard,) = k["shards"]
    for role, calls in (("primary", k["writes"]), ("read_replica", k["reads"])):
        u = k[f"predicted_{role}_utilization"]
        assert abs(shard[f"{role}_utilization"] - u) < 4.5 * u * math.sqrt(2 / calls), (role, shard, u)
    # 1,000 rps, 10% writes at 5 ms on 16 connections: the primary 3% busy, each of 2 replicas 14%
    assert k["predicted_primary_utilization"] == pytest.approx(100 * 0.005 / 16)
    assert k["predicted_read_replica_utilization"] == pytest.approx(900 * 0.005 / 32)
