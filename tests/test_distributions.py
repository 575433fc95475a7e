"""Service-time distributions and arrival processes against their formulas.

Each new distribution (gamma, Weibull, Lomax-Pareto, empirical) is sampled
directly from its sampler, and its sample mean and variance are compared with
the closed forms. The MMPP's arrival count and interval scv are compared with
the two-state formulas, a replay with the listed times, and an M/G/1 station
with gamma service (cv 2) with Pollaczek-Khinchine. Bad input names its field.

How the tolerances were chosen: the draws of a sampler are i.i.d., so the
sample mean has standard error sigma / sqrt(n) and the sample variance
sqrt((mu4 - sigma^4) / n) (mu4 the fourth central moment); every check allows
5 standard errors, so a correct sampler fails about once in 1.7 million seeds
(and with fixed seeds the suite is deterministic). Where a figure comes from a
simulation whose samples are correlated (waits in a queue, MMPP intervals),
the scenario was run with 20 other seeds (1..20) and the tolerance set to about
5 of the measured standard deviations, as in tests/test_theory.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

import sandbox
from sandbox import ScenarioError
from sandbox.arrivals import open_arrivals
from sandbox.distributions import Empirical, Gamma, Pareto, Weibull
from sandbox.randomness import Streams
from sandbox.workload import Mmpp, Workload

N = 200_000   # draws per distribution
SEED = 2024


def draws_ms(dist: Gamma | Weibull | Pareto | Empirical, n: int = N) -> np.ndarray:
    """n draws of `dist` from its own sampler, in milliseconds (samplers draw seconds)."""
    draw = dist.sampler(Streams(SEED), "test:service")
    return np.array([draw() for _ in range(n)]) * 1000.0


def central_moments(raw: list[float]) -> tuple[float, float, float]:
    """(mean, variance, fourth central moment) from the raw moments E[X], E[X^2], E[X^3], E[X^4]."""
    m1, m2, m3, m4 = raw
    return m1, m2 - m1 ** 2, m4 - 4 * m3 * m1 + 6 * m2 * m1 ** 2 - 3 * m1 ** 4


def assert_moments(x: np.ndarray, mean: float, var: float, mu4: float) -> None:
    """Sample mean and variance each within 5 standard errors of the formula (see the module docstring)."""
    n = len(x)
    assert abs(x.mean() - mean) <= 5 * math.sqrt(var / n), (x.mean(), mean)
    assert abs(x.var() - var) <= 5 * math.sqrt((mu4 - var ** 2) / n), (x.var(), var)


# ── service times ────────────────────────────────────────────────────────────


@pytest.mark.parametrize("cv", [0.5, 1.0, 2.0])
def test_gamma_has_its_mean_and_cv(cv: float) -> None:
    d = Gamma(dist="gamma", mean_ms=20, cv=cv)
    var = (20 * cv) ** 2
    # a gamma of shape k = 1/cv^2 has excess kurtosis 6/k: mu4 = sigma^4 (3 + 6 cv^2)
    assert_moments(draws_ms(d), 20, var, var ** 2 * (3 + 6 * cv ** 2))
    assert d.mean() == 20 and d.scv() == pytest.approx(cv ** 2, rel=1e-12)


@pytest.mark.parametrize("shape", [0.7, 1.0, 3.0])
def test_weibull_has_its_mean_and_gamma_function_variance(shape: float) -> None:
    d = Weibull(dist="weibull", mean_ms=20, shape=shape)
    scale = 20 / math.gamma(1 + 1 / shape)
    # E[X^i] = lambda^i Gamma(1 + i/k)
    mean, var, mu4 = central_moments([scale ** i * math.gamma(1 + i / shape) for i in range(1, 5)])
    assert mean == pytest.approx(20, rel=1e-12)
    assert_moments(draws_ms(d), mean, var, mu4)
    assert d.scv() == pytest.approx(var / mean ** 2, rel=1e-12)
    if shape == 1.0:
        assert d.scv() == pytest.approx(1.0, rel=1e-12)   # Weibull of shape 1 is exponential


def test_lomax_pareto_with_finite_fourth_moment_has_its_mean_and_variance() -> None:
    alpha = 6.0
    d = Pareto(dist="pareto", mean_ms=20, alpha=alpha)
    lam = 20 * (alpha - 1)
    # Lomax: E[X^i] = lambda^i i! / ((alpha - 1) ... (alpha - i)) for alpha > i
    mean, var, mu4 = central_moments([lam ** i * math.factorial(i) / math.prod(alpha - j for j in range(1, i + 1))
                                      for i in range(1, 5)])
    assert mean == pytest.approx(20, rel=1e-12)
    assert_moments(draws_ms(d), mean, var, mu4)
    assert d.scv() == pytest.approx(alpha / (alpha - 2), rel=1e-12) == pytest.approx(var / mean ** 2, rel=1e-12)


def test_heavy_tailed_pareto_has_infinite_scv_and_the_lomax_median() -> None:
    alpha = 1.5
    d = Pareto(dist="pareto", mean_ms=20, alpha=alpha)
    assert d.scv() == math.inf and d.mean() == 20
    # the variance is infinite, so check the shape through the median instead:
    # F(x) = 1 - (1 + x/lambda)^-alpha gives median lambda (2^(1/alpha) - 1); the sample
    # median's standard error is 1 / (2 f(median) sqrt(n)), f(m) = alpha/lambda (1 + m/lambda)^-(alpha+1)
    lam = 20 * (alpha - 1)
    median = lam * (2 ** (1 / alpha) - 1)
    density = alpha / lam * (1 + median / lam) ** -(alpha + 1)
    x = draws_ms(d)
    assert abs(np.median(x) - median) <= 5 / (2 * density * math.sqrt(len(x)))
    assert x.min() >= 0


def test_empirical_draws_its_own_values_with_the_samples_mean_and_variance() -> None:
    values = [1.0, 2.0, 2.0, 5.0, 40.0]
    d = Empirical(dist="empirical", samples_ms=values)
    v = np.array(values)
    mean, var = v.mean(), v.var()              # population moments: the draws come from exactly these values
    assert d.mean() == pytest.approx(mean, rel=1e-12) and d.scv() == pytest.approx(var / mean ** 2, rel=1e-12)
    x = draws_ms(d)
    assert set(np.round(x, 9)) == set(values)
    assert_moments(x, mean, var, float(((v - mean) ** 4).mean()))


def test_new_distributions_run_in_a_scenario() -> None:
    for st in ({"dist": "gamma", "mean_ms": 5, "cv": 2}, {"dist": "weibull", "mean_ms": 5, "shape": 0.5},
               {"dist": "pareto", "mean_ms": 5, "alpha": 1.5}, {"dist": "empirical", "samples_ms": [1, 9]}):
        r = sandbox.simulate(station(20.0, st, duration_s=10, warmup_s=0), seed=1)
        assert r.requests.completed == r.requests.arrived > 0


# ── M/G/1 with gamma service: Pollaczek-Khinchine ───────────────────────────

MG1_RATE, MG1_SERVICE_S, MG1_CV = 70.0, 0.010, 2.0   # rho = 0.7, service scv 4


def station(rate_rps: float, service: dict, *, duration_s: float, warmup_s: float = 20.0) -> sandbox.Scenario:
    """One worker fed by Poisson arrivals, with an unbounded queue: M/G/1."""
    return sandbox.from_dict({
        "name": "single station",
        "workload": {"entry": "s", "rate_rps": rate_rps, "duration_s": duration_s, "warmup_s": warmup_s},
        "nodes": {"s": {"kind": "service", "workers": 1, "queue_limit": None, "service_time": service}},
    })


def test_mg1_with_gamma_service_waits_as_pollaczek_khinchine() -> None:
    service = {"dist": "gamma", "mean_ms": MG1_SERVICE_S * 1000, "cv": MG1_CV}
    # 2,500 s at 70/s: 175,000 calls; 20 s of warm-up (relaxation ~ a few seconds at rho 0.7)
    r = sandbox.simulate(station(MG1_RATE, service, duration_s=2520), seed=SEED)
    rho = MG1_RATE * MG1_SERVICE_S
    predicted_ms = rho * MG1_SERVICE_S * (1 + MG1_CV ** 2) / (2 * (1 - rho)) * 1000   # 58.3 ms
    # tolerance: measured SD of the relative error over 20 seeds 2.1% (largest 5.2%); 5 SD ~ 11%.
    # The exponential's answer (cv 1: 23.3 ms) would fail by far.
    assert abs(r.nodes["s"].wait_ms["mean"] / predicted_ms - 1) <= 0.11


def test_analysis_of_mg1_with_gamma_service_is_exact_pollaczek_khinchine() -> None:
    s = station(MG1_RATE, {"dist": "gamma", "mean_ms": 10, "cv": MG1_CV}, duration_s=100)
    est = sandbox.analyse(s).nodes["s"]
    assert est.method == "M/G/1" and est.accuracy == "exact"
    assert est.predicted_wait_ms == pytest.approx(0.7 * 10 * 5 / (2 * 0.3), rel=1e-9)


# ── arrivals ─────────────────────────────────────────────────────────────────

MMPP = {"process": "mmpp", "rates_rps": [20, 200], "mean_sojourn_s": [1.0, 0.25]}
MMPP_T = 3000.0


def arrival_times(w: Workload, seed: int = SEED) -> list[float]:
    """The times the workload's open arrivals start requests, over one run."""
    env = simpy.Environment()
    times: list[float] = []
    env.process(open_arrivals(env, w, Streams(seed), times.append))
    env.run()
    return times


def mmpp_formulas(l1: float, l2: float, s1: float, s2: float) -> tuple[float, float, float]:
    """(mean rate, interval scv, asymptotic index of dispersion of counts) of a two-state MMPP, written out.

    With switching rates r1 = 1/s1, r2 = 1/s2: mean = (l1 r2 + l2 r1) / (r1 + r2);
    IDC = 1 + 2 (l1 - l2)^2 r1 r2 / ((r1 + r2)^3 mean) (Fischer and Meier-Hellstern);
    the interval scv from the phase-type moments E[X^k] = k! phi (-D0)^-k 1, with
    numpy's inverse here (the library writes the 2x2 inverse out by hand).
    """
    r1, r2 = 1 / s1, 1 / s2
    mean = (l1 * r2 + l2 * r1) / (r1 + r2)
    idc = 1 + 2 * (l1 - l2) ** 2 * r1 * r2 / ((r1 + r2) ** 3 * mean)
    inv = np.linalg.inv(np.array([[l1 + r1, -r1], [-r2, l2 + r2]]))
    phi = np.array([r2 * l1, r1 * l2]) / (r2 * l1 + r1 * l2)
    m1, m2 = phi @ inv @ np.ones(2), 2 * phi @ inv @ inv @ np.ones(2)
    return mean, float(m2 / m1 ** 2 - 1), idc


def test_mmpp_count_and_interval_scv_match_the_formulas() -> None:
    w = Workload(entry="s", duration_s=MMPP_T, arrival=MMPP)
    mean, scv, idc = mmpp_formulas(20, 200, 1.0, 0.25)     # 56 rps, scv 3.42, IDC 38
    assert w.rate_rps == pytest.approx(mean, rel=1e-12) and w.arrival_scv() == pytest.approx(scv, rel=1e-9)
    times = arrival_times(w)
    # the run starts in a stationary state, so E[N(T)] = mean T exactly, and Var N(T) ~ mean T IDC
    # (SD 2,530 of 168,000; measured SD over 20 seeds 2,020): 5 SD
    assert abs(len(times) - mean * MMPP_T) <= 5 * math.sqrt(mean * MMPP_T * idc)
    gaps = np.diff(times)
    # tolerance: successive intervals are correlated (the state persists), so no i.i.d. formula:
    # measured SD of the relative error over 20 seeds 1.0% (largest 2.3%); 5 SD = 5%
    assert abs(gaps.var() / gaps.mean() ** 2 / scv - 1) <= 0.05


def test_mmpp_scv_special_cases() -> None:
    same = Mmpp(process="mmpp", rates_rps=(80, 80), mean_sojourn_s=(3, 7))
    assert same.interval_scv() == pytest.approx(1.0, rel=1e-12)         # equal rates: Poisson
    on_off = Mmpp(process="mmpp", rates_rps=(100, 0), mean_sojourn_s=(1, 1))
    # an interrupted Poisson process is hyperexponential: scv = 1 + 2 l r1 / (r1 + r2)^2 = 51
    assert on_off.interval_scv() == pytest.approx(51.0, rel=1e-12)
    assert Workload(entry="s", rate_rps=5, duration_s=9).arrival_scv() == 1.0
    assert Workload(entry="s", rate_rps=5, duration_s=9, arrival="constant").arrival_scv() == 0.0


REPLAY = [3.5, 0.25, 0.25, 1.0, 9.5, 10.0, 12.0]   # unsorted on purpose; two at 0.25 s; two at or after the end


def test_replay_reproduces_the_listed_times() -> None:
    w = Workload(entry="s", duration_s=10, arrival={"process": "replay", "times_s": REPLAY})
    assert arrival_times(w) == pytest.approx([0.25, 0.25, 1.0, 3.5, 9.5], abs=1e-12)
    assert w.rate_rps == pytest.approx(5 / 10)
    s = sandbox.from_dict({"name": "replay", "workload": {"entry": "s", "duration_s": 10,
                                                         "arrival": {"process": "replay", "times_s": REPLAY}},
                           "nodes": {"s": {"kind": "service", "service_time": {"dist": "constant", "mean_ms": 1}}}})
    r = sandbox.simulate(s, seed=1)
    assert r.requests.arrived == 5 and r.requests.completed == 5
    # a new duration derives a new mean rate (rate_rps was not written, so it is not carried over)
    assert sandbox.with_overrides(s, {"workload.duration_s": 4}).workload.rate_rps == pytest.approx(4 / 4)


def test_replay_scv_is_the_samples() -> None:
    w = Workload(entry="s", duration_s=10, arrival={"process": "replay", "times_s": REPLAY})
    gaps = np.diff([0.25, 0.25, 1.0, 3.5, 9.5])
    assert w.arrival_scv() == pytest.approx(gaps.var() / gaps.mean() ** 2, rel=1e-12)


def test_an_mmpp_or_replay_entry_is_never_exact_in_the_analysis() -> None:
    for arrival in (MMPP, {"process": "replay", "times_s": [k * 0.05 + (k % 3) * 0.01 for k in range(2000)]}):
        s = sandbox.from_dict({"name": "bursty", "workload": {"entry": "s", "duration_s": 100, "arrival": arrival},
                               "nodes": {"s": {"kind": "service", "workers": 1,
                                               "service_time": {"dist": "exponential", "mean_ms": 10}}}})
        est = sandbox.analyse(s).nodes["s"]
        assert est.accuracy != "exact" and est.method != "M/M/c", (arrival["process"], est.method)


# ── bad input, and the YAML round trip ───────────────────────────────────────

NODE = "{kind: service, service_time: {dist: exponential, mean_ms: 5}}"


def with_service(st: str) -> str:
    return f"name: x\nworkload: {{entry: a, rate_rps: 10, duration_s: 10}}\nnodes: {{a: {{kind: service, service_time: {st}}}}}\n"


def with_workload(w: str) -> str:
    return f"name: x\nworkload: {{entry: a, duration_s: 10, {w}}}\nnodes: {{a: {NODE}}}\n"


BAD = [
    # (id, scenario text, the field path, words the reason must contain)
    ("gamma cv 0", with_service("{dist: gamma, mean_ms: 5, cv: 0}"), "nodes.a.service_time.cv", "must be more than 0"),
    ("gamma cv negative", with_service("{dist: gamma, mean_ms: 5, cv: -1}"), "nodes.a.service_time.cv",
     "must be more than 0, got -1"),
    ("gamma without cv", with_service("{dist: gamma, mean_ms: 5}"), "nodes.a.service_time.cv", "is required"),
    ("weibull shape 0", with_service("{dist: weibull, mean_ms: 5, shape: 0}"), "nodes.a.service_time.shape",
     "must be at least 0.1"),
    ("pareto alpha 1", with_service("{dist: pareto, mean_ms: 5, alpha: 1}"), "nodes.a.service_time.alpha",
     "must be more than 1, got 1"),
    ("empirical empty", with_service("{dist: empirical, samples_ms: []}"), "nodes.a.service_time.samples_ms",
     "at least one sample"),
    ("empirical negative", with_service("{dist: empirical, samples_ms: [1, -2]}"),
     "nodes.a.service_time.samples_ms[1]", "must be at least 0, got -2"),
    ("replay negative", with_workload("arrival: {process: replay, times_s: [1, -0.5]}"),
     "workload.arrival.times_s[1]", "must be at least 0, got -0.5"),
    ("replay empty", with_workload("arrival: {process: replay, times_s: []}"), "workload.arrival.times_s",
     "at least one arrival time"),
    ("replay all after the end", with_workload("arrival: {process: replay, times_s: [11, 12]}"), "workload",
     "no replayed arrival falls before duration_s (10)"),
    ("mmpp rate_rps mismatched", with_workload("rate_rps: 100, arrival: {process: mmpp, rates_rps: [50, 400], "
                                               "mean_sojourn_s: [20, 5]}"),
     "workload", "rate_rps (100) must equal the mean rate of the mmpp arrivals, 120"),
    ("mmpp three rates", with_workload("arrival: {process: mmpp, rates_rps: [1, 2, 3], mean_sojourn_s: [1, 1]}"),
     "workload.arrival.rates_rps", "exactly two values"),
    ("mmpp no traffic", with_workload("arrival: {process: mmpp, rates_rps: [0, 0], mean_sojourn_s: [1, 1]}"),
     "workload.arrival", "at least one of rates_rps must be above 0"),
    ("mmpp zero sojourn", with_workload("arrival: {process: mmpp, rates_rps: [1, 2], mean_sojourn_s: [0, 1]}"),
     "workload.arrival.mean_sojourn_s[0]", "must be at least 0.001"),
    ("mmpp with a profile", with_workload("arrival: {process: mmpp, rates_rps: [1, 2], mean_sojourn_s: [1, 1]}, "
                                          "profile: {shape: spike, at_s: 1, for_s: 1, multiplier: 2}"),
     "workload", "a load profile applies to poisson or constant arrivals"),
    ("mmpp with users", with_workload("arrival: {process: mmpp, rates_rps: [1, 2], mean_sojourn_s: [1, 1]}, users: 3"),
     "workload", "do not apply to closed-loop users"),
    ("unknown arrival", with_workload("rate_rps: 3, arrival: bursty"), "workload.arrival",
     "must be poisson or constant, or a mapping with process: mmpp or replay; got 'bursty'"),
    ("unknown process", with_workload("rate_rps: 3, arrival: {process: burst}"), "workload.arrival",
     "process must be mmpp or replay, got 'burst'"),
]


@pytest.mark.parametrize("text,path,reason", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_names_the_field_and_the_reason(text: str, path: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as info:
        sandbox.loads(text)
    assert any(p == path and reason in r for p, r in info.value.problems), info.value.problems


ROUND_TRIP = """\
name: every new option
workload:
  entry: api
  duration_s: 60
  arrival: {ARRIVAL}
nodes:
  api: {kind: service, workers: 4, service_time: {dist: gamma, mean_ms: 5, cv: 2}}
  auth: {kind: service, service_time: {dist: weibull, mean_ms: 2, shape: 0.8}}
  search: {kind: service, workers: 8, service_time: {dist: pareto, mean_ms: 20, alpha: 2.5}}
  db: {kind: database, workers: 8, service_time: {dist: empirical, samples_ms: [1.5, 2, 2, 3.25, 40]}}
edges:
  - {from: api, to: auth}
  - {from: api, to: search, probability: 0.3}
  - {from: api, to: db}
"""


@pytest.mark.parametrize("arrival", ["{process: mmpp, rates_rps: [50, 400], mean_sojourn_s: [20, 5]}",
                                     "{process: replay, times_s: [0.5, 0.1, 2, 2, 59.9, 61]}",
                                     "poisson\n  rate_rps: 100"])
def test_a_scenario_with_each_new_option_round_trips(arrival: str) -> None:
    s = sandbox.loads(ROUND_TRIP.replace("{ARRIVAL}", arrival))
    again = sandbox.loads(s.to_yaml())
    assert again == s and again.to_yaml() == s.to_yaml()
    assert again.workload.rate_rps == s.workload.rate_rps
    # rate_rps written agrees with the process, and is kept as written
    given = sandbox.with_overrides(s, {"workload.rate_rps": s.workload.rate_rps})
    assert sandbox.loads(given.to_yaml()) == given and "rate_rps" in given.to_dict()["workload"]
