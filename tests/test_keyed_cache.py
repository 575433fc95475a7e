"""Keys and keyed caches: hit ratios that emerge from popularity and size, checked against the published formulas.

Tolerances. A run's hit ratio is a mean of correlated hit indicators; with
n = 100,000+ measured reads and a hit ratio near 0.4, the binomial standard
error is 0.0016, and LRU's correlation (a hit makes the key likelier to stay)
makes the true one larger, but by well under 2x at these sizes (batch means
of one seed: 0.002). Che's approximation is itself accurate to about 0.5% of
the hit ratio for Zipf popularity at these sizes (Fricker, Robert and Roberts
2012), and Martina et al.'s for FIFO and random to the same order. So the
bound used is 0.01 absolute: more than four standard errors plus the
approximations' own error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sandbox
from sandbox.keys import Keys, hit_probabilities, hit_ratio
from sandbox.randomness import Streams

CACHE_DB = """
name: keyed
workload: {{entry: cache, rate_rps: 2000, duration_s: 70, warmup_s: 10, keys: {{count: 10000, popularity: zipf, s: 0.8}}}}
nodes:
  cache: {{kind: cache, capacity: {capacity}, eviction: {eviction}, workers: 64, service_time: {{dist: constant, mean_ms: 0.1}}}}
  db: {{kind: database, workers: 200, service_time: {{dist: exponential, mean_ms: 2}}}}
edges:
  - {{from: cache, to: db, when: miss}}
"""


def test_zipf_probabilities_and_sampler_agree() -> None:
    keys = Keys(count=1000, popularity="zipf", s=1.1)
    p = keys.probabilities()
    assert p.sum() == pytest.approx(1.0) and p[0] / p[9] == pytest.approx(10 ** 1.1)
    draw = keys.sampler(Streams(4))
    n = 200_000
    counts = np.bincount([draw() for _ in range(n)], minlength=1000)
    # the head keys: each count within 4 binomial standard errors of n p_k
    for k in range(5):
        assert abs(counts[k] - n * p[k]) < 4 * math.sqrt(n * p[k] * (1 - p[k])), k
    # the whole distribution: a chi-square over the top 50 keys and the rest, 5 sigma of its 50 degrees of freedom
    expected = np.append(n * p[:50], n * p[50:].sum())
    observed = np.append(counts[:50], counts[50:].sum())
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < 50 + 5 * math.sqrt(2 * 50)


def test_uniform_keys_and_a_cache_as_large_as_the_keys() -> None:
    keys = Keys(count=100, popularity="uniform")
    assert hit_ratio(keys, 25, "lru") == pytest.approx(0.25, abs=1e-9)   # uniform: capacity / count, for each policy
    assert hit_ratio(keys, 25, "fifo") == pytest.approx(0.25, abs=1e-9)
    assert hit_ratio(keys, 100, "lru") == 1.0
    h = hit_probabilities(Keys(count=10_000, s=0.8), 1000, "lru")
    assert np.all(np.diff(h) <= 1e-12)          # more popular keys hit more often


@pytest.mark.parametrize("eviction", ["lru", "fifo", "random"])
def test_keyed_cache_matches_che_and_martina(eviction: str) -> None:
    s = sandbox.loads(CACHE_DB.format(capacity=1000, eviction=eviction))
    r = sandbox.simulate(s, seed=1)
    cache = r.nodes["cache"].keyed
    theory = hit_ratio(s.workload.keys, 1000, eviction)
    assert cache["hits"] + cache["misses"] > 100_000
    assert abs(cache["hit_ratio"] - theory) < 0.01, (cache["hit_ratio"], theory)
    assert cache["predicted_hit_ratio"] == pytest.approx(theory)
    assert cache["entries"] == 1000 and cache["evictions"] > 0
    # the database is offered exactly the misses
    assert r.nodes["db"].arrived == cache["misses"]
    # and the analysis feeds the predicted miss share into the traffic equations
    offered = sandbox.analyse(s).nodes["db"].offered_rps
    assert offered == pytest.approx(2000 * (1 - theory), rel=1e-9)


def test_a_bigger_cache_hits_more_and_lru_beats_fifo_under_zipf() -> None:
    keys = Keys(count=10_000, s=0.8)
    ratios = [hit_ratio(keys, c, "lru") for c in (100, 1000, 5000)]
    assert ratios == sorted(ratios) and ratios[0] < 0.25 < ratios[-1]
    assert hit_ratio(keys, 1000, "lru") > hit_ratio(keys, 1000, "fifo")


def test_a_warm_cache_starts_with_the_popular_keys() -> None:
    text = CACHE_DB.format(capacity=1000, eviction="lru").replace("warmup_s: 10", "warmup_s: 0") \
        .replace("duration_s: 70", "duration_s: 0.5")
    cold = sandbox.simulate(sandbox.loads(text), seed=2).nodes["cache"].keyed
    warm_text = text.replace("eviction: lru,", "eviction: lru, warm: true,")
    warm = sandbox.simulate(sandbox.loads(warm_text), seed=2).nodes["cache"].keyed
    theory = hit_ratio(Keys(count=10_000, s=0.8), 1000, "lru")
    # in its first 0.5 s (about 1,000 reads, while 1,000 entries fill) a cold cache hits far less than in
    # steady state: 0.26 to 0.27 on three seeds, against 0.437; the binomial standard error is 0.014
    assert cold["hit_ratio"] < theory - 0.1
    # warm, it starts holding the top 1,000 keys: better than LRU's steady state, which keeps some colder keys
    # (0.53 to 0.56 on three seeds)
    assert warm["hit_ratio"] > theory + 0.05


def test_writes_invalidate_or_update() -> None:
    text = """
name: writes
workload:
  entry: cache
  rate_rps: 1000
  duration_s: 30
  warmup_s: 5
  keys: {count: 100, popularity: uniform}
  classes: {read: {share: 0.8}, write: {share: 0.2, writes: true}}
nodes:
  cache: {kind: cache, capacity: 100, on_write: invalidate, workers: 64, service_time: {dist: constant, mean_ms: 0.1}}
  db: {kind: database, workers: 64, service_time: {dist: constant, mean_ms: 1}}
edges:
  - {from: cache, to: db, when: miss}
"""
    inv = sandbox.simulate(sandbox.loads(text), seed=1).nodes["cache"].keyed
    upd = sandbox.simulate(sandbox.loads(text.replace("on_write: invalidate", "on_write: update")), seed=1).nodes["cache"].keyed
    assert inv["writes"] == upd["writes"] > 0
    # the cache holds every key, so with update every read hits; with invalidate a read misses when a write
    # came since the key's last read: P = w / (w + r) per read for uniform keys, 0.2 / 1.0 here
    assert upd["hit_ratio"] > 0.999
    assert abs((1 - inv["hit_ratio"]) - 0.2) < 0.01
    r = sandbox.simulate(sandbox.loads(text), seed=1)
    assert r.nodes["db"].arrived == inv["misses"] + inv["writes"]    # writes always reach the database


def test_keys_leave_designs_without_them_unchanged() -> None:
    text = CACHE_DB.format(capacity=1000, eviction="lru")
    plain = text.replace("capacity: 1000, eviction: lru", "hit_ratio: 0.4").replace(
        ", keys: {count: 10000, popularity: zipf, s: 0.8}", "")
    a = sandbox.simulate(sandbox.loads(plain), seed=3).to_dict()
    assert "keyed" not in a["nodes"]["cache"]
    with_keys = plain.replace("duration_s: 70, warmup_s: 10", "duration_s: 70, warmup_s: 10, "
                              "keys: {count: 10000, popularity: zipf, s: 0.8}")
    b = sandbox.simulate(sandbox.loads(with_keys), seed=3).to_dict()
    a.pop("engine"), b.pop("engine")
    assert a == b       # keys only matter where a node looks at them: the key stream is its own


@pytest.mark.parametrize("text, where", [
    (CACHE_DB.format(capacity=0, eviction="lru"), "nodes.cache.capacity"),
    (CACHE_DB.format(capacity=10, eviction="lru").replace(", keys: {count: 10000, popularity: zipf, s: 0.8}", ""),
     "nodes.cache.capacity"),
    (CACHE_DB.format(capacity=10, eviction="lru").replace("capacity: 10,", "capacity: 10, hit_ratio: 0.5,"),
     "nodes.cache"),
    (CACHE_DB.format(capacity=10, eviction="lru").replace("s: 0.8", "s: -1"), "workload.keys.s"),
    (CACHE_DB.format(capacity=10, eviction="lru").replace("count: 10000", "count: 0"), "workload.keys.count"),
    (CACHE_DB.format(capacity=10, eviction="lfu"), "nodes.cache.eviction"),
])
def test_bad_keyed_caches_are_refused_with_the_field(text: str, where: str) -> None:
    with pytest.raises(sandbox.ScenarioError) as exc:
        sandbox.loads(text)
    assert any(path.startswith(where) for path, _ in exc.value.problems), exc.value.problems


TTL = """
name: ttl
workload: {entry: cache, rate_rps: 1000, duration_s: 120, warmup_s: 20, keys: {count: 5000, popularity: zipf, s: 0.9}}
nodes:
  cache: {kind: cache, ttl_s: 2, workers: 64, service_time: {dist: constant, mean_ms: 0.1}}
  db: {kind: database, workers: 200, service_time: {dist: exponential, mean_ms: 2}}
edges:
  - {from: cache, to: db, when: miss}
"""


def test_a_ttl_cache_matches_the_renewal_formula() -> None:
    """100,000 reads: the binomial standard error of the hit ratio is 0.0016; TTL hits are nearly independent
    across keys, so 0.006 (under four standard errors) bounds a correct run; the formula is exact."""
    from sandbox.keys import ttl_hit_ratio
    s = sandbox.loads(TTL)
    r = sandbox.simulate(s, seed=1)
    k = r.nodes["cache"].keyed
    theory = ttl_hit_ratio(s.workload.keys, 1000, 2)
    assert k["predicted_hit_ratio"] == pytest.approx(theory)
    assert abs(k["hit_ratio"] - theory) < 0.006
    assert k["expirations"] > 0.9 * k["misses"]    # nearly every miss after warm-up finds its entry expired
    assert sandbox.analyse(s).nodes["db"].offered_rps == pytest.approx(1000 * (1 - theory), rel=1e-9)
    # the hit ratio grows with the TTL and with the rate (lambda T is what matters)
    assert ttl_hit_ratio(s.workload.keys, 1000, 4) > theory and ttl_hit_ratio(s.workload.keys, 2000, 2) > theory
    assert ttl_hit_ratio(s.workload.keys, 2000, 2) == pytest.approx(ttl_hit_ratio(s.workload.keys, 1000, 4))


def test_a_capacity_and_a_ttl_together_stay_under_both_bounds() -> None:
    s = sandbox.loads(TTL.replace("ttl_s: 2,", "ttl_s: 2, capacity: 500,"))
    k = sandbox.simulate(s, seed=1).nodes["cache"].keyed
    assert k["evictions"] > 0 and k["expirations"] > 0
    assert k["hit_ratio"] <= k["predicted_hit_ratio"] + 0.006
    assert "upper bound" in k["accuracy"]


STAMPEDE = """
name: stampede
workload: {entry: cache, rate_rps: 1000, duration_s: 40, keys: {count: 2000, popularity: zipf, s: 1.0}}
nodes:
  cache:
    kind: cache
    capacity: 500
    warm: true
    workers: 400
    queue_limit: null
    service_time: {dist: constant, mean_ms: 0.2}
    failures: [{mode: flush, at_s: 20}]
  db: {kind: database, workers: 100, queue_limit: null, service_time: {dist: constant, mean_ms: 200}}
edges:
  - {from: cache, to: db, when: miss}
"""


def _db_calls_after_flush(text: str) -> tuple[float, float, dict]:
    r = sandbox.simulate(sandbox.loads(text), seed=1)
    t, rps = r.nodes["db"].series["t_s"], r.nodes["db"].series["throughput_rps"]
    before = [x for ts, x in zip(t, rps) if 10 < ts <= 20]
    after = [x for ts, x in zip(t, rps) if 20 < ts <= 22]
    return sum(before) / len(before), max(after), r.nodes["cache"].keyed


def test_a_flush_empties_the_cache_and_the_database_takes_the_misses() -> None:
    steady, peak, keyed = _db_calls_after_flush(STAMPEDE)
    assert keyed["flushes"] == 1
    assert peak > 1.5 * steady               # every read misses for a moment: the database's calls jump
    hit = sandbox.simulate(sandbox.loads(STAMPEDE), seed=1).nodes["cache"].series["hit_ratio"]
    # the second of the flush hits far less (0.46 against 0.73-0.78; each second's standard error is 0.014),
    # and the hot keys are back within a second
    assert min(hit[19:22]) < min(hit[5:19]) - 0.2
    assert hit[22] > min(hit[5:19]) - 0.05


def test_coalescing_lowers_the_jump() -> None:
    """A 200 ms fetch for keys requested at up to 120 per second: misses on a hot key pile up during one fetch;
    with coalescing they wait for it, so the database sees one call per key (on this seed 746 misses waited,
    and the database's busiest second after the flush fell from 444 to 371 calls)."""
    _, peak, plain = _db_calls_after_flush(STAMPEDE)
    _, peak_coalesced, coalesced = _db_calls_after_flush(STAMPEDE.replace("warm: true", "warm: true\n    coalesce: true"))
    assert plain["coalesced"] == 0 and coalesced["coalesced"] > 500
    assert peak_coalesced < 0.9 * peak


def test_a_flush_needs_a_keyed_cache() -> None:
    text = STAMPEDE.replace("capacity: 500\n    warm: true\n", "hit_ratio: 0.5\n").replace(
        ", keys: {count: 2000, popularity: zipf, s: 1.0}", "")
    with pytest.raises(sandbox.ScenarioError, match=r"nodes.cache.failures\[0\].mode"):
        sandbox.loads(text)
    with pytest.raises(sandbox.ScenarioError, match="leave out for_s"):
        sandbox.loads(STAMPEDE.replace("{mode: flush, at_s: 20}", "{mode: flush, at_s: 20, for_s: 5}"))
    with pytest.raises(sandbox.ScenarioError, match="needs for_s"):
        sandbox.loads(STAMPEDE.replace("{mode: flush, at_s: 20}", "{mode: down, at_s: 20}"))
