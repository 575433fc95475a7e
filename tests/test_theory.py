"""Simulation against queueing theory: every figure here has a closed form.

Each test builds the textbook model as a scenario (M/M/1, M/M/c, M/D/1,
M/M/1/K, a random split over replicas, a cache thinning a stream, a closed
loop, a load spike), runs it once with a fixed seed, and compares the
simulation with the formula written out beside it. The formulas are written
here from the textbooks, not imported from ``sandbox.analysis``, so a slip in
either the engine or the analysis shows up as a failure.

How the tolerances were chosen: a simulated mean is a random variable whose
spread shrinks like 1/sqrt(run length) but, in a queue, is much wider than the
i.i.d. formula suggests because successive waits are correlated. For every
figure we ran the scenario with 20 other seeds (1..20), measured the standard
deviation of the relative error, and set the tolerance to about 5 of those
standard deviations (where a closed form for the variance exists, it is quoted
too and agrees). A correct engine then fails a given check about once in a
million seeds, and with fixed seeds the suite is deterministic anyway; an
engine off by more than the tolerance fails. Deterministic figures (the
analysis, counts that must match exactly) are compared tightly.
"""

from __future__ import annotations

import math

import pytest

import sandbox
from sandbox import Results, Scenario
from sandbox.analysis import erlang_c, mmc_wait

# ── the theory, written out ──────────────────────────────────────────────────


def erlang_c_textbook(c: int, a: float) -> float:
    """P(wait > 0) in M/M/c with offered load a = lambda / mu < c (Erlang's C formula)."""
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


def mmc_mean_wait_s(c: int, rate: float, mean_s: float) -> float:
    """Mean wait before service in M/M/c: C(c, a) / (c mu - lambda)."""
    return erlang_c_textbook(c, rate * mean_s) / (c / mean_s - rate)


def mmck_distribution(c: int, K: int, a: float) -> list[float]:
    """Stationary P(n in system), n = 0..K, of M/M/c/K (c servers, K places in all)."""
    weights = [a ** n / math.factorial(n) if n <= c else a ** c / math.factorial(c) * (a / c) ** (n - c)
               for n in range(K + 1)]
    total = sum(weights)
    return [w / total for w in weights]


def machine_repairman(users: int, think_s: float, mean_s: float) -> tuple[float, float]:
    """Exact throughput X and mean response R of `users` closed-loop users at one M/M/1 station.

    P(k at the station) is proportional to N!/(N-k)! (S/Z)^k (the finite-source
    queue; exact MVA gives the same); X = (1 - P0) / S and R = N / X - Z.
    """
    r = mean_s / think_s
    weights = [math.factorial(users) / math.factorial(users - k) * r ** k for k in range(users + 1)]
    p0 = weights[0] / sum(weights)
    x = (1 - p0) / mean_s
    return x, users / x - think_s


def within(simulated: float, predicted: float, rel: float) -> bool:
    """True when `simulated` is within `rel` (a share) of `predicted`."""
    return abs(simulated - predicted) <= rel * abs(predicted)


# ── the scenarios ────────────────────────────────────────────────────────────


def station(rate_rps: float, service: dict, *, workers: int = 1, replicas: int = 1,
            queue_limit: int | None = None, duration_s: float, warmup_s: float = 20.0) -> Scenario:
    """One service fed by Poisson arrivals: the G in M/G/c is `service`."""
    return sandbox.from_dict({
        "name": "single station",
        "workload": {"entry": "s", "rate_rps": rate_rps, "duration_s": duration_s, "warmup_s": warmup_s},
        "nodes": {"s": {"kind": "service", "workers": workers, "replicas": replicas,
                        "queue_limit": queue_limit, "service_time": service}},
    })


def exponential(mean_ms: float) -> dict:
    return {"dist": "exponential", "mean_ms": mean_ms}


SEED = 2024

# Warm-up: every model below forgets its empty start within a few seconds (the
# relaxation time of M/M/1 at rho = 0.8 is 1 / (mu (1 - sqrt(rho))^2) ~ 0.9 s),
# so 20 s of warm-up leaves no start-up bias worth measuring.


# ── M/M/1 ────────────────────────────────────────────────────────────────────

MM1_RATE, MM1_MU = 80.0, 100.0          # lambda = 80/s, mean service 10 ms: rho = 0.8


@pytest.fixture(scope="module")
def mm1() -> Results:
    # 2,500 s at 80/s: 200,000 calls
    return sandbox.simulate(station(MM1_RATE, exponential(1000 / MM1_MU), duration_s=2520), seed=SEED)


def test_mm1_utilization_is_rho(mm1: Results) -> None:
    rho = MM1_RATE / MM1_MU
    # tolerance: measured SD of the utilization over 20 seeds 0.33%; 5 SD ~ 1.7%
    assert within(mm1.nodes["s"].utilization, rho, 0.017)


def test_mm1_mean_response_is_one_over_mu_minus_lambda(mm1: Results) -> None:
    predicted_ms = 1000 / (MM1_MU - MM1_RATE)                       # 50 ms
    # tolerance: the relative SE of a time-average queue length in M/M/1 over
    # t service times is sqrt(2 (1 + rho) / (rho (1 - rho)^2 t)) (Whitt 1989) = 2.1%
    # for t = 250,000; measured SD over 20 seeds: 2.0%. 5 SD ~ 10%.
    assert within(mm1.nodes["s"].response_ms["mean"], predicted_ms, 0.10)
    assert within(mm1.latency_ms.mean, predicted_ms, 0.10)


def test_mm1_mean_wait_is_rho_over_mu_minus_lambda(mm1: Results) -> None:
    rho = MM1_RATE / MM1_MU
    predicted_ms = 1000 * rho / (MM1_MU - MM1_RATE)                 # 40 ms
    # tolerance: measured SD over 20 seeds 2.6% (the wait varies a little more, in
    # relative terms, than the response, which adds an independent service); 5 SD ~ 13%
    assert within(mm1.nodes["s"].wait_ms["mean"], predicted_ms, 0.13)


def test_mm1_response_percentiles_are_exponential(mm1: Results) -> None:
    # the sojourn time in FIFO M/M/1 is exponential with rate mu - lambda, so its
    # q-quantile is -ln(1 - q) / (mu - lambda)
    p99_ms = -math.log(0.01) / (MM1_MU - MM1_RATE) * 1000           # 230 ms
    p50_ms = math.log(2) / (MM1_MU - MM1_RATE) * 1000               # 35 ms
    # tolerance: measured SD over 20 seeds 3.7% for p99 and 1.9% for p50, plus the
    # histogram's 1% bucket error: 5 SD + 1% ~ 20% and 11%
    assert within(mm1.latency_ms.p99, p99_ms, 0.20)
    assert within(mm1.nodes["s"].response_ms["p99"], p99_ms, 0.20)
    assert within(mm1.latency_ms.p50, p50_ms, 0.11)


# ── M/M/c: Erlang C ──────────────────────────────────────────────────────────

MMC_C, MMC_RATE, MMC_MEAN_S = 4, 80.0, 0.040   # a = 3.2 erlangs on 4 workers: rho = 0.8
MMC_TRACES = 4000


@pytest.fixture(scope="module")
def mmc() -> Results:
    # 2,500 s at 80/s: 200,000 calls; every 50th is traced, which gives a sample of
    # per-call waits to count the calls that waited at all
    return sandbox.simulate(station(MMC_RATE, exponential(MMC_MEAN_S * 1000), workers=MMC_C, duration_s=2520),
                            seed=SEED, max_traces=MMC_TRACES)


def test_mmc_share_of_calls_that_wait_is_erlang_c(mmc: Results) -> None:
    predicted = erlang_c_textbook(MMC_C, MMC_RATE * MMC_MEAN_S)      # 0.596
    waits = [sp.start_ms - sp.arrive_ms for t in mmc.traces for sp in t.spans]
    assert len(waits) >= MMC_TRACES * 0.95
    share = sum(w > 1e-6 for w in waits) / len(waits)
    # tolerance: 4,000 samples 50 calls apart; binomial SE sqrt((1-p)/(p n)) = 1.3%
    # of p; measured SD over 20 seeds 1.7% of p (correlation adds a little); 5 SD ~ 8.5%
    assert within(share, predicted, 0.085)


def test_mmc_mean_wait_is_erlang_c_over_c_mu_minus_lambda(mmc: Results) -> None:
    predicted_ms = mmc_mean_wait_s(MMC_C, MMC_RATE, MMC_MEAN_S) * 1000   # 29.8 ms
    # tolerance: measured SD over 20 seeds 3.2%; 5 SD ~ 16%
    assert within(mmc.nodes["s"].wait_ms["mean"], predicted_ms, 0.16)


def test_mmc_wait_tail_is_erlang_c_times_exponential(mmc: Results) -> None:
    # P(W > t) = C e^{-(c mu - lambda) t}, so the 95th percentile of the wait is
    # ln(C / 0.05) / (c mu - lambda): this ties the Erlang C probability to the tail
    c_prob = erlang_c_textbook(MMC_C, MMC_RATE * MMC_MEAN_S)
    predicted_ms = math.log(c_prob / 0.05) / (MMC_C / MMC_MEAN_S - MMC_RATE) * 1000   # 124 ms
    # tolerance: measured SD over 20 seeds 3.2%, plus the 1% bucket error: 5 SD + 1% ~ 17%
    assert within(mmc.nodes["s"].wait_ms["p95"], predicted_ms, 0.17)


def test_mmc_utilization_is_a_over_c(mmc: Results) -> None:
    # tolerance: measured SD over 20 seeds 0.33%; 5 SD ~ 1.7%
    assert within(mmc.nodes["s"].utilization, MMC_RATE * MMC_MEAN_S / MMC_C, 0.017)


# ── M/D/1: Pollaczek-Khinchine ───────────────────────────────────────────────

MD1_RATE, MD1_SERVICE_S = 80.0, 0.010   # rho = 0.8, every service exactly 10 ms


@pytest.fixture(scope="module")
def md1() -> Results:
    return sandbox.simulate(station(MD1_RATE, {"dist": "constant", "mean_ms": MD1_SERVICE_S * 1000},
                                    duration_s=1270), seed=SEED)


def test_md1_mean_wait_is_pollaczek_khinchine(md1: Results) -> None:
    rho = MD1_RATE * MD1_SERVICE_S
    predicted_ms = rho * MD1_SERVICE_S / (2 * (1 - rho)) * 1000      # 20 ms, half of M/M/1's
    # tolerance: measured SD over 20 seeds 2.5%; 5 SD ~ 12.5%. M/M/1's 40 ms would fail.
    assert within(md1.nodes["s"].wait_ms["mean"], predicted_ms, 0.125)


def test_md1_service_is_exactly_the_constant(md1: Results) -> None:
    node = md1.nodes["s"]
    # a constant service time has no spread at all (1% is the histogram's bucket error)
    assert node.service_ms["mean"] == pytest.approx(MD1_SERVICE_S * 1000, rel=1e-9)
    assert node.service_ms["p99"] == pytest.approx(MD1_SERVICE_S * 1000, rel=0.01)


# ── M/M/1/K: blocking ────────────────────────────────────────────────────────

MM1K_RATE, MM1K_MU, MM1K_QUEUE = 90.0, 100.0, 2   # rho = 0.9; 1 in service + 2 waiting: K = 3


@pytest.fixture(scope="module")
def mm1k() -> Results:
    return sandbox.simulate(station(MM1K_RATE, exponential(1000 / MM1K_MU), queue_limit=MM1K_QUEUE,
                                    duration_s=1130), seed=SEED)


def test_mm1k_rejected_share_is_blocking_probability(mm1k: Results) -> None:
    K = 1 + MM1K_QUEUE
    p_block = mmck_distribution(1, K, MM1K_RATE / MM1K_MU)[K]       # (1-rho) rho^K / (1 - rho^(K+1)) = 0.212
    r = mm1k.requests
    share = r.rejected / r.arrived
    # tolerance: measured SD over 20 seeds 1.0% of p (the queue has 4 states and
    # forgets fast); 5 SD ~ 5%
    assert within(share, p_block, 0.05)


def test_mm1k_rejections_are_queue_full_at_the_station(mm1k: Results) -> None:
    K = 1 + MM1K_QUEUE
    p_block = mmck_distribution(1, K, MM1K_RATE / MM1K_MU)[K]
    (cause,) = mm1k.causes
    assert (cause.status, cause.node) == ("rejected", "s")
    assert "queue full" in cause.reason
    assert cause.count == mm1k.requests.rejected == mm1k.nodes["s"].rejected
    assert within(cause.share, p_block, 0.05)       # as above


def test_mm1k_utilization_is_carried_load(mm1k: Results) -> None:
    K = 1 + MM1K_QUEUE
    p0 = mmck_distribution(1, K, MM1K_RATE / MM1K_MU)[0]
    # busy whenever not empty: 1 - P0 = rho (1 - P_K)
    # tolerance: measured SD over 20 seeds 0.22%; 5 SD ~ 1.1%
    assert within(mm1k.nodes["s"].utilization, 1 - p0, 0.011)


def test_mm1k_mean_response_of_admitted_calls(mm1k: Results) -> None:
    K = 1 + MM1K_QUEUE
    p = mmck_distribution(1, K, MM1K_RATE / MM1K_MU)
    L = sum(n * pn for n, pn in enumerate(p))
    predicted_ms = L / (MM1K_RATE * (1 - p[K])) * 1000            # Little's law on admitted calls
    # tolerance: measured SD over 20 seeds 0.35%; 5 SD ~ 1.8%
    assert within(mm1k.nodes["s"].response_ms["mean"], predicted_ms, 0.018)


# ── a random split over replicas (Jackson) ───────────────────────────────────

LB_RATE, LB_REPLICAS, LB_WORKERS, LB_MEAN_S = 240.0, 3, 2, 0.020   # each replica: M/M/2 at 80/s, rho = 0.8


@pytest.fixture(scope="module")
def split() -> Results:
    s = sandbox.from_dict({
        "name": "random split",
        "workload": {"entry": "lb", "rate_rps": LB_RATE, "duration_s": 520, "warmup_s": 20},
        "nodes": {"lb": {"kind": "load_balancer", "policy": "random"},
                  "api": {"kind": "service", "replicas": LB_REPLICAS, "workers": LB_WORKERS, "queue_limit": None,
                          "service_time": exponential(LB_MEAN_S * 1000)}},
        "edges": [{"from": "lb", "to": "api"}],
    })
    return sandbox.simulate(s, seed=SEED, max_traces=3000)


def test_random_split_offers_each_replica_rate_over_n(split: Results) -> None:
    api = split.nodes["api"]
    assert api.arrived == split.nodes["lb"].arrived == split.requests.arrived
    counts = [0] * LB_REPLICAS
    for t in split.traces:
        (span,) = [sp for sp in t.spans if sp.node == "api"]
        counts[span.replica] += 1
    n = sum(counts)
    # each traced call picks a replica uniformly and independently: each count is
    # Binomial(n, 1/N); 5 binomial SDs
    sd = math.sqrt(n * (1 / LB_REPLICAS) * (1 - 1 / LB_REPLICAS))
    assert all(abs(k - n / LB_REPLICAS) <= 5 * sd for k in counts)


def test_random_split_utilization(split: Results) -> None:
    predicted = LB_RATE / LB_REPLICAS * LB_MEAN_S / LB_WORKERS            # 0.8
    # tolerance: measured SD over 20 seeds 0.47%; 5 SD ~ 2.4%
    assert within(split.nodes["api"].utilization, predicted, 0.024)


def test_random_split_each_replica_waits_as_mmc_at_rate_over_n(split: Results) -> None:
    predicted_ms = mmc_mean_wait_s(LB_WORKERS, LB_RATE / LB_REPLICAS, LB_MEAN_S) * 1000   # 35.6 ms
    # tolerance: measured SD over 20 seeds 3.7%; 5 SD ~ 18%. A round-robin split
    # (Erlang-3 arrivals per replica) measured 40% below, so it would fail, and a
    # pooled M/M/6 at the full rate would wait 5x less.
    assert within(split.nodes["api"].wait_ms["mean"], predicted_ms, 0.18)


# ── a cache thinning the stream to a database ────────────────────────────────

CACHE_RATE, HIT, DB_WORKERS, DB_MEAN_S = 200.0, 0.7, 1, 0.010   # db: M/M/1 at 60/s, rho = 0.6


@pytest.fixture(scope="module")
def cached() -> Results:
    s = sandbox.from_dict({
        "name": "cache in front of a db",
        "workload": {"entry": "cache", "rate_rps": CACHE_RATE, "duration_s": 820, "warmup_s": 20},
        "nodes": {
            # enough workers that the cache never queues: an M/G/inf stage, whose
            # output is Poisson again, so the db sees Poisson at (1 - h) lambda
            "cache": {"kind": "cache", "hit_ratio": HIT, "workers": 200, "queue_limit": None},
            "db": {"kind": "database", "workers": DB_WORKERS, "queue_limit": None,
                   "service_time": exponential(DB_MEAN_S * 1000)}},
        "edges": [{"from": "cache", "to": "db", "when": "miss"}],
    })
    return sandbox.simulate(s, seed=SEED)


def test_cache_misses_thin_the_stream_by_one_minus_hit_ratio(cached: Results) -> None:
    cache, db = cached.nodes["cache"], cached.nodes["db"]
    assert cache.queue_length["max"] == 0                  # the M/G/inf premise holds
    served = cache.arrived - cache.rejected
    # each served call misses independently with probability 1 - h: Binomial(n, 1 - h);
    # 5 binomial SDs, plus the calls still in the cache at the end (at most 200)
    sd = math.sqrt(served * HIT * (1 - HIT))
    assert abs(db.arrived - (1 - HIT) * served) <= 5 * sd + cache.capacity


def test_cache_thinned_db_is_mmc_at_the_thinned_rate(cached: Results) -> None:
    db_rate = (1 - HIT) * CACHE_RATE
    # tolerance: 48,000 db calls; the SD of their count and of their mean service
    # are each 1/sqrt(48,000) = 0.46%, measured SD of the utilization 0.72%; 5 SD ~ 3.6%
    assert within(cached.nodes["db"].utilization, db_rate * DB_MEAN_S / DB_WORKERS, 0.036)
    predicted_ms = mmc_mean_wait_s(DB_WORKERS, db_rate, DB_MEAN_S) * 1000     # 15 ms
    # tolerance: measured SD over 20 seeds 3.0%; 5 SD ~ 15%
    assert within(cached.nodes["db"].wait_ms["mean"], predicted_ms, 0.15)


# ── a closed loop: the machine-repairman model ───────────────────────────────

USERS, THINK_S, CL_MEAN_S = 10, 0.5, 0.040


@pytest.fixture(scope="module")
def closed() -> Results:
    s = sandbox.from_dict({
        "name": "closed loop",
        "workload": {"entry": "s", "users": USERS, "think_time_ms": THINK_S * 1000,
                     "duration_s": 2520, "warmup_s": 20},
        "nodes": {"s": {"kind": "service", "queue_limit": None, "service_time": exponential(CL_MEAN_S * 1000)}},
    })
    return sandbox.simulate(s, seed=SEED)


def test_closed_loop_throughput_is_exact_mva(closed: Results) -> None:
    x, _ = machine_repairman(USERS, THINK_S, CL_MEAN_S)            # 17.0/s
    # tolerance: measured SD over 20 seeds 0.3%; 5 SD ~ 1.5%. (The no-queueing
    # guess N / (Z + S) = 18.5/s is 9% off and would fail.)
    assert within(closed.throughput_rps, x, 0.015)


def test_closed_loop_response_is_exact_mva(closed: Results) -> None:
    _, r = machine_repairman(USERS, THINK_S, CL_MEAN_S)            # 88 ms
    # tolerance: measured SD over 20 seeds 1.2%; 5 SD ~ 6%
    assert within(closed.latency_ms.mean / 1000, r, 0.06)


def test_closed_loop_obeys_the_response_time_law(closed: Results) -> None:
    # X = N / (Z + R) holds for any closed system, whatever the distributions. With
    # the measured R, what is left is the sampled think times' mean against Z:
    # 1/sqrt(42,500 thinks) = 0.5%; measured SD over 20 seeds 0.38%; 5 SD ~ 2%
    r_s = closed.latency_ms.mean / 1000
    assert within(closed.throughput_rps, USERS / (THINK_S + r_s), 0.02)


# ── a time-varying load ──────────────────────────────────────────────────────

SPIKE_RATE, SPIKE_AT, SPIKE_FOR, SPIKE_X = 200.0, 20.0, 10.0, 3.0


@pytest.fixture(scope="module")
def spike() -> Results:
    s = sandbox.from_dict({
        "name": "spike",
        "workload": {"entry": "s", "rate_rps": SPIKE_RATE, "duration_s": 61, "warmup_s": 0,
                     "profile": {"shape": "spike", "at_s": SPIKE_AT, "for_s": SPIKE_FOR,
                                 "multiplier": SPIKE_X}},
        "nodes": {"s": {"kind": "service", "workers": 100, "service_time": {"dist": "constant", "mean_ms": 1}}},
    })
    return sandbox.simulate(s, seed=SEED)


def _arrivals_between(r: Results, start_s: float, end_s: float) -> float:
    """Arrivals counted in the 1-second windows that end in (start_s, end_s]."""
    return sum(n for t, n in zip(r.series["t_s"], r.series["arrivals"]) if start_s < t <= end_s)


def test_spike_multiplies_arrivals_in_its_window(spike: Results) -> None:
    during = _arrivals_between(spike, SPIKE_AT, SPIKE_AT + SPIKE_FOR)
    expected = SPIKE_X * SPIKE_RATE * SPIKE_FOR                       # 6,000
    # a Poisson count: SD = sqrt(mean) = 77; 5 SD
    assert abs(during - expected) <= 5 * math.sqrt(expected)


def test_outside_the_spike_arrivals_keep_the_base_rate(spike: Results) -> None:
    before = _arrivals_between(spike, 0, SPIKE_AT)
    after = _arrivals_between(spike, SPIKE_AT + SPIKE_FOR, 60)
    for count, seconds in ((before, SPIKE_AT), (after, 60 - SPIKE_AT - SPIKE_FOR)):
        expected = SPIKE_RATE * seconds
        assert abs(count - expected) <= 5 * math.sqrt(expected)       # Poisson, 5 SD


def test_thinned_arrivals_are_poisson_per_second(spike: Results) -> None:
    # per-second counts of a Poisson process have variance = mean (index of
    # dispersion 1); over n = 50 base-rate seconds its sample estimate has SE
    # sqrt(2 / (n - 1)) = 0.20. 4 SE: a regular (constant-gap) stream (index ~0)
    # or a bursty one fails.
    counts = [n for t, n in zip(spike.series["t_s"], spike.series["arrivals"])
              if not SPIKE_AT < t <= SPIKE_AT + SPIKE_FOR and t <= 60]
    mean = sum(counts) / len(counts)
    var = sum((c - mean) ** 2 for c in counts) / (len(counts) - 1)
    assert abs(var / mean - 1) <= 4 * math.sqrt(2 / (len(counts) - 1))


# ── the analysis against the same closed forms (deterministic: tight) ────────

@pytest.mark.parametrize("c, a", [(1, 0.5), (1, 0.8), (2, 1.0), (4, 3.2), (10, 8.0), (50, 45.0)])
def test_erlang_c_matches_textbook_formula(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(erlang_c_textbook(c, a), rel=1e-9)


def test_mmc_wait_matches_textbook_formula() -> None:
    assert mmc_wait(4, 80.0, 0.040) == pytest.approx(mmc_mean_wait_s(4, 80.0, 0.040), rel=1e-9)
    assert mmc_wait(1, 80.0, 0.010) == pytest.approx(0.8 * 0.010 / 0.2, rel=1e-9)
    assert mmc_wait(2, 100.0, 0.020) == math.inf     # a = 2 on 2 servers: saturated


def test_analysis_of_mm1() -> None:
    a = sandbox.analyse(station(MM1_RATE, exponential(10), duration_s=100))
    s = a.nodes["s"]
    assert s.predicted_utilization == pytest.approx(0.8, rel=1e-9)
    assert s.predicted_wait_ms == pytest.approx(1000 * 0.8 / (MM1_MU - MM1_RATE), rel=1e-9)
    assert a.predicted_latency_ms == pytest.approx(1000 / (MM1_MU - MM1_RATE), rel=1e-9)
    assert a.saturation_rps == pytest.approx(MM1_MU, rel=1e-6)       # bisection to 60 halvings


def test_analysis_of_mmc() -> None:
    a = sandbox.analyse(station(MMC_RATE, exponential(MMC_MEAN_S * 1000), workers=MMC_C, duration_s=100))
    s = a.nodes["s"]
    assert s.predicted_utilization == pytest.approx(MMC_RATE * MMC_MEAN_S / MMC_C, rel=1e-9)
    assert s.predicted_wait_ms == pytest.approx(mmc_mean_wait_s(MMC_C, MMC_RATE, MMC_MEAN_S) * 1000, rel=1e-9)
    assert a.saturation_rps == pytest.approx(MMC_C / MMC_MEAN_S, rel=1e-6)


@pytest.mark.parametrize("service, second_moment_s2", [
    ({"dist": "constant", "mean_ms": 10}, 0.010 ** 2),
    ({"dist": "uniform", "min_ms": 2, "max_ms": 18}, (0.002 ** 2 + 0.002 * 0.018 + 0.018 ** 2) / 3),
    ({"dist": "lognormal", "mean_ms": 10, "sigma": 0.8}, 0.010 ** 2 * math.exp(0.8 ** 2)),
])
def test_analysis_of_mg1_is_pollaczek_khinchine(service: dict, second_moment_s2: float) -> None:
    # M/G/1: Wq = lambda E[S^2] / (2 (1 - rho)); Allen-Cunneen is exact here
    rate = 80.0
    rho = rate * 0.010
    a = sandbox.analyse(station(rate, service, duration_s=100))
    assert a.nodes["s"].predicted_wait_ms == pytest.approx(rate * second_moment_s2 / (2 * (1 - rho)) * 1000,
                                                           rel=1e-9)


def test_analysis_of_random_split() -> None:
    s = sandbox.from_dict({
        "name": "split", "workload": {"entry": "lb", "rate_rps": LB_RATE, "duration_s": 10},
        "nodes": {"lb": {"kind": "load_balancer", "policy": "random"},
                  "api": {"kind": "service", "replicas": LB_REPLICAS, "workers": LB_WORKERS,
                          "service_time": exponential(LB_MEAN_S * 1000)}},
        "edges": [{"from": "lb", "to": "api"}]})
    api = sandbox.analyse(s).nodes["api"]
    assert api.offered_rps == pytest.approx(LB_RATE, rel=1e-9)
    assert api.capacity == LB_REPLICAS * LB_WORKERS
    assert api.predicted_utilization == pytest.approx(LB_RATE * LB_MEAN_S / (LB_REPLICAS * LB_WORKERS), rel=1e-9)
    assert api.predicted_wait_ms == pytest.approx(
        mmc_mean_wait_s(LB_WORKERS, LB_RATE / LB_REPLICAS, LB_MEAN_S) * 1000, rel=1e-9)


def test_analysis_of_cache_thinning() -> None:
    s = sandbox.from_dict({
        "name": "cache", "workload": {"entry": "cache", "rate_rps": CACHE_RATE, "duration_s": 10},
        "nodes": {"cache": {"kind": "cache", "hit_ratio": HIT, "workers": 200},
                  "db": {"kind": "database", "workers": DB_WORKERS, "service_time": exponential(DB_MEAN_S * 1000)}},
        "edges": [{"from": "cache", "to": "db", "when": "miss"}]})
    a = sandbox.analyse(s)
    db = a.nodes["db"]
    assert db.visits == pytest.approx(1 - HIT, rel=1e-9)
    assert db.offered_rps == pytest.approx((1 - HIT) * CACHE_RATE, rel=1e-9)
    assert db.predicted_wait_ms == pytest.approx(
        mmc_mean_wait_s(DB_WORKERS, (1 - HIT) * CACHE_RATE, DB_MEAN_S) * 1000, rel=1e-9)
    # the cache's worker is held for its own 1 ms, plus the db's response on a miss
    assert a.nodes["cache"].hold_ms == pytest.approx(1.0 + (1 - HIT) * (db.predicted_wait_ms + DB_MEAN_S * 1000),
                                                     rel=1e-9)
    # the db's workers run out at c mu / (1 - h) = 333 rps; the cache holds a worker
    # through each miss, so its 200 workers run out just before (a thread-pool
    # cascade): at 1% below the db's bound its waits (~2 s) fill 200 workers
    db_bound = DB_WORKERS / DB_MEAN_S / (1 - HIT)
    assert 0.99 * db_bound <= a.saturation_rps <= db_bound


def test_analysis_ignores_a_branch_never_taken() -> None:
    s = sandbox.from_dict({
        "name": "all hits", "workload": {"entry": "api", "rate_rps": 120, "duration_s": 10},
        "nodes": {"api": {"kind": "service", "workers": 1000, "service_time": {"dist": "constant", "mean_ms": 1}},
                  "cache": {"kind": "cache", "hit_ratio": 1.0},
                  "db": {"kind": "database", "service_time": exponential(10)}},   # 120/s x 10 ms: saturated
        "edges": [{"from": "api", "to": "db"}, {"from": "api", "to": "cache"},
                  {"from": "cache", "to": "db", "when": "miss"}]})
    cache = sandbox.analyse(s).nodes["cache"]
    # the cache never misses, so its worker is held for its own 1 ms only
    assert cache.hold_ms == pytest.approx(1.0, rel=1e-9)
    assert cache.predicted_utilization == pytest.approx(120 * 0.001, rel=1e-9)
