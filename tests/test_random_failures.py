"""Random failures (issue 15, part 4): replicas that fail and are repaired at random, against the availability
formulas.

Tolerances, from 6 seeds of each run (50,000 simulated s). Twenty replicas with mtbf 900 s and mttr 100 s: the
time a replica is up averaged 0.9016 over the seeds with a standard deviation of 0.0026 per run (each replica
goes through about 50 up-down cycles; the 20 are independent), so one run is allowed 0.011 of 0.9 (4 standard
deviations); the share of calls refused (round robin, no probes) likewise 0.0986, SD 0.0027: allowed 0.011 of
0.1. Three replicas behind a balancer probing every 5 s: the share refused averaged 0.00806 (theory 0.00822) with
a standard deviation of 0.0016 per run (about 150 failures a run, each costing a random min(detection, repair));
the mean of 4 seeds is allowed 4 standard errors, 0.0032: a detection one probe interval slower would add 0.004.
"""

from __future__ import annotations

import math

import pytest

import sandbox
from sandbox.errors import ScenarioError
from sandbox.placement import HealthCheck
from sandbox.placement_theory import expected_failing_random_s
from sandbox.report import nines, summary_text

MANY = """
name: many
workload: {entry: lb, rate_rps: 1, duration_s: 50000}
nodes:
  lb: {kind: load_balancer}
  web: {kind: service, replicas: 20, workers: 8, service_time: {dist: constant, mean_ms: 1},
        failures: [{mode: down, mtbf_s: 900, mttr_s: 100}]}
edges: [{from: lb, to: web}]
"""

TIER = """
name: tier
workload: {entry: lb, rate_rps: 4, duration_s: 50000}
nodes:
  lb: {kind: load_balancer, health_check: {interval_s: 5, unhealthy_after: 2}}
  web: {kind: service, replicas: 3, workers: 8, service_time: {dist: constant, mean_ms: 1},
        failures: [{mode: down, mtbf_s: 900, mttr_s: 100}]}
edges: [{from: lb, to: web}]
"""


def test_a_replica_is_up_mtbf_over_mtbf_plus_mttr_of_the_time() -> None:
    r = sandbox.simulate(sandbox.loads(MANY), seed=1)
    x = r.placement["random_failures"]["web"]
    assert x["predicted_replica_availability"] == pytest.approx(0.9)
    assert x["predicted_tier_availability"] == pytest.approx(1 - 0.1 ** 20)
    assert x["replica_availability"] == pytest.approx(0.9, abs=0.011)
    # no probes: a call finds its replica down as often as replicas are down
    assert x["predicted_failed_share"] == pytest.approx(0.1)
    assert x["failed_share"] == pytest.approx(0.1, abs=0.011)
    assert 20 * 50000 / 1000 * 0.8 < x["failures"] < 20 * 50000 / 1000 * 1.2   # about one cycle per 1,000 s each
    assert r.requests.failed == x["refused"]
    assert r.placement["predicted_availability"] == pytest.approx(0.9)


def test_behind_probes_only_the_undetected_time_fails() -> None:
    s = sandbox.loads(TIER)
    runs = [sandbox.simulate(s, seed=seed).placement["random_failures"]["web"] for seed in range(4)]
    predicted = runs[0]["predicted_failed_share"]
    check = HealthCheck(interval_s=5, unhealthy_after=2)
    # E[min(d, R)] for R ~ Exp(100), d uniform on [5, 10]: 100 - 100^2 (e^-0.05 - e^-0.1) / 5 = 7.22 s per failure
    assert expected_failing_random_s(check, 100) == pytest.approx(100 - 1e4 * (math.exp(-0.05) - math.exp(-0.1)) / 5)
    assert predicted == pytest.approx(expected_failing_random_s(check, 100) / 1000 + 0.1 ** 3)
    mean = sum(x["failed_share"] for x in runs) / len(runs)
    assert abs(mean - predicted) <= 0.0032, (mean, predicted)


def test_a_single_replica_without_a_balancer_is_down_as_often_as_it_fails() -> None:
    text = """
name: one
workload: {entry: api, rate_rps: 2, duration_s: 50000}
nodes:
  api: {kind: service, workers: 8, service_time: {dist: constant, mean_ms: 1},
        failures: [{mode: down, mtbf_s: 900, mttr_s: 100}]}
"""
    r = sandbox.simulate(sandbox.loads(text), seed=2)
    x = r.placement["random_failures"]["api"]
    # one replica: about 50 cycles, standard deviation of the up share sqrt(16.2 / 50,000) = 0.018 (renewal-reward)
    assert x["tier_availability"] == x["replica_availability"] == pytest.approx(0.9, abs=4 * 0.018)
    assert r.placement["availability"] == pytest.approx(x["replica_availability"], abs=0.01)
    text = summary_text(r)
    assert "api fails at random" in text and f"({nines(r.placement['availability'])})" in text


@pytest.mark.parametrize(("fault", "reason"), [
    ("{mode: down, mtbf_s: 900}", "need both mtbf_s"),
    ("{mode: slow, mtbf_s: 900, mttr_s: 10, multiplier: 2}", "mode must be 'down'"),
    ("{mode: down, mtbf_s: 900, mttr_s: 10, at_s: 5}", "leave out at_s and for_s"),
    ("{mode: down, for_s: 10}", "needs at_s"),
])
def test_bad_random_failures_are_refused(fault: str, reason: str) -> None:
    text = MANY.replace("{mode: down, mtbf_s: 900, mttr_s: 100}", fault)
    with pytest.raises(ScenarioError) as exc:
        sandbox.loads(text)
    (path, why), = exc.value.problems
    assert path == "nodes.web.failures[0]" and reason in why, exc.value.problems


def test_nines() -> None:
    assert nines(0.999) == "3.0 nines" and nines(0.99) == "2.0 nines" and nines(1.0) == "no request lost"
