"""Resilience, faults, autoscaling and cost: each figure derived in the test, then simulated.

Tolerances: a share estimated from n independent trials has standard error
sqrt(p(1-p)/n); we allow 5 standard errors, so a correct engine fails a test by
chance less than once in a million runs, and a wrong one (off by more than the
tolerance) fails almost surely at these run lengths.
"""

from __future__ import annotations

import json
import math

import pytest

import sandbox

from .conftest import ROOT


def scenario(text: str) -> sandbox.Scenario:
    return sandbox.loads(text)


FLAKY = """
name: flaky dependency
workload: {{entry: api, rate_rps: 200, duration_s: 200}}
nodes:
  api: {{kind: service, workers: 64, service_time: {{dist: constant, mean_ms: 1}}}}
  dep: {{kind: service, workers: 64, error_rate: 0.5, service_time: {{dist: exponential, mean_ms: 5}}}}
edges:
  - {{from: api, to: dep, retries: 3{extra}}}
"""


def test_error_rate_with_retries_gives_1_875_attempts_and_0_9375_success() -> None:
    r = sandbox.simulate(scenario(FLAKY.format(extra="")), seed=7)
    e = r.edges[0]
    f, retries = 0.5, 3
    attempts = sum(f ** k for k in range(retries + 1))          # 1 + .5 + .25 + .125 = 1.875
    success = 1 - f ** (retries + 1)                             # 1 - 1/16 = 0.9375
    assert attempts == 1.875 and success == 0.9375
    n = e.calls
    # attempts per call K is 1..4 with P = .5, .25, .125, .125: E[K^2] = 4.625, var = 1.109
    sd_attempts = math.sqrt((4.625 - attempts ** 2) / n)
    assert abs(e.amplification - attempts) < 5 * sd_attempts
    assert abs(e.successes / n - success) < 5 * math.sqrt(success * (1 - success) / n)
    q = r.requests
    assert abs(q.completed / q.arrived - success) < 5 * math.sqrt(success * (1 - success) / q.arrived)
    assert [c.reason for c in r.causes] == ["error"] and r.causes[0].node == "dep"
    assert set(e.failures) == {"error"}
    in_flight = e.attempts - e.successes - e.failures["error"]  # attempts still running at the end
    assert 0 <= in_flight <= r.requests.in_flight
    # the analysis predicts the same amplification from the traffic equations
    assert sandbox.analyse(scenario(FLAKY.format(extra=""))).nodes["dep"].visits == pytest.approx(attempts)


def test_retry_on_limits_which_causes_are_retried() -> None:
    r = sandbox.simulate(scenario(FLAKY.format(extra=", retry_on: [timeout]")), seed=7)
    assert r.edges[0].attempts == r.edges[0].calls  # errors are not retried


TIMEOUT = """
name: timeout shorter than the work
workload: {entry: api, rate_rps: 50, duration_s: 100}
nodes:
  api: {kind: service, workers: 100, service_time: {dist: constant, mean_ms: 1}}
  dep: {kind: service, workers: 100, service_time: {dist: constant, mean_ms: 100}}
edges:
  - {from: api, to: dep, timeout_ms: 50}
"""


def test_a_timeout_shorter_than_the_work_times_out_every_call_and_wastes_the_work() -> None:
    r = sandbox.simulate(scenario(TIMEOUT), seed=3)
    e = r.edges[0]
    q = r.requests
    assert q.completed == 0 and q.failed == e.calls - (q.in_flight)  # every finished call timed out
    assert e.failures == {"timeout": q.failed}
    assert r.causes[0].reason == "timed out after 50 ms (api gave up)"
    # the callee finished every call it was given (those still running at the end aside)
    dep = r.nodes["dep"]
    assert dep.completed == e.wasted_calls and dep.arrived - dep.completed <= 50 * 0.1 + 5
    # each wasted call ran its full 100 ms of work
    assert e.wasted_ms / e.wasted_calls == pytest.approx(100.0)
    # latency the user saw: the 1 ms api service + the 50 ms timeout
    assert r.nodes["api"].response_ms["mean"] == pytest.approx(51.0, abs=0.6)


DOWN = """
name: down dependency
workload: {{entry: api, rate_rps: 100, duration_s: 100}}
nodes:
  api: {{kind: service, workers: 50, service_time: {{dist: constant, mean_ms: 1}}}}
  dep: {{kind: service, workers: 50, service_time: {{dist: constant, mean_ms: 5}},
        failures: [{{at_s: 0, for_s: 100, mode: down}}]}}
edges:
  - {{from: api, to: dep, retries: 2{breaker}}}
"""


def test_without_a_breaker_each_request_makes_one_plus_retries_attempts() -> None:
    r = sandbox.simulate(scenario(DOWN.format(breaker="")), seed=1)
    e = r.edges[0]
    assert e.attempts == 3 * e.calls  # down fails every attempt at once: 1 + 2 retries
    assert e.failures == {"down": e.attempts}
    assert r.nodes["dep"].arrived == e.attempts


def test_a_breaker_opens_and_calls_reaching_a_down_dependency_drop() -> None:
    breaker = ", circuit_breaker: {failure_ratio: 0.5, window: 20, min_calls: 10, open_s: 5}"
    r = sandbox.simulate(scenario(DOWN.format(breaker=breaker)), seed=1)
    e = r.edges[0]
    assert e.breaker_opened >= 1 and e.short_circuited > 0.95 * e.calls
    # reaching dep: the first 10 calls to trip it, then a probe every 5 s (20 over 100 s)
    assert r.nodes["dep"].arrived <= 10 + 100 / 5 + 5
    assert r.nodes["dep"].arrived / e.calls < 0.01
    assert e.breaker_open_s > 95
    assert "open" in e.series["breaker"] and e.breaker_transitions[0][1] == "open"


def test_a_breaker_closes_again_after_the_dependency_recovers() -> None:
    text = DOWN.format(breaker=", circuit_breaker: {consecutive_failures: 5, open_s: 2, half_open_probes: 3}")
    text = text.replace("for_s: 100", "for_s: 20")
    r = sandbox.simulate(scenario(text), seed=1)
    e = r.edges[0]
    assert e.breaker_transitions[-1][1] == "closed"
    assert 20 <= e.breaker_transitions[-1][0] <= 20 + 2 + 1  # closes within an open period of recovery
    assert e.series["breaker"][-1] == "closed"


LIMITER = """
name: limiter
workload: {entry: rl, rate_rps: 300, duration_s: 100, arrival: constant}
nodes:
  rl: {kind: rate_limiter, rate_rps: 100, burst: 40}
  db: {kind: database, workers: 8, service_time: {dist: exponential, mean_ms: 20}}
edges:
  - {from: rl, to: db}
"""


def test_a_rate_limiter_admits_its_rate_plus_burst_and_rejects_the_rest() -> None:
    r = sandbox.simulate(scenario(LIMITER), seed=1)
    admitted = r.nodes["db"].arrived
    # a token bucket admits at most burst + rate x time; offered 3x, it admits nearly that
    assert admitted <= 40 + 100 * 100
    assert admitted >= 100 * 100 * 0.995
    q = r.requests
    assert q.rejected == q.arrived - admitted
    assert [(c.node, c.reason) for c in r.causes] == [("rl", "rate limited (100 rps, burst 40)")]
    assert r.nodes["rl"].rejected == q.rejected


def test_a_burst_passes_whole_after_a_lull() -> None:
    text = LIMITER.replace("rate_rps: 300, duration_s: 100, arrival: constant",
                           "rate_rps: 10, duration_s: 30, arrival: constant, "
                           "profile: {shape: spike, at_s: 20, for_s: 0.5, multiplier: 8}")
    r = sandbox.simulate(scenario(text), seed=1)
    assert r.requests.rejected == 0  # 40 calls in half a second fit the burst of 40


AUTOSCALE = """
name: autoscale
workload: {{entry: lb, rate_rps: 100, duration_s: 400, arrival: constant,
           profile: {{shape: step, at_s: 50, to_rps: 700}}}}
nodes:
  lb:  {{kind: load_balancer, policy: least_connections}}
  web: {{kind: service, replicas: 1, workers: 4, queue_limit: 50,
        service_time: {{dist: exponential, mean_ms: 20}}, cost_per_hour: 0.5,
        autoscale: {{min_replicas: 1, max_replicas: {max}, target_utilization: 0.6,
                    check_every_s: 10, cold_start_s: 45}}}}
edges:
  - {{from: lb, to: web}}
"""


def test_the_autoscaler_adds_replicas_only_after_the_cold_start_and_never_past_max() -> None:
    r = sandbox.simulate(scenario(AUTOSCALE.format(max=6)), seed=2)
    web = r.nodes["web"]
    t, reps = web.series["t_s"], web.series["replicas"]
    first_growth = next(ti for ti, n in zip(t, reps) if n > 1.0)
    # the step comes at 50 s; the first check that sees it is at 60 s; +45 s cold start
    assert first_growth >= 60 + 45
    assert max(reps) <= 6 and web.replicas <= 6
    # 700 rps x 20 ms = 14 busy workers; at 60% of 4 per replica it wants 6: it reaches max
    assert reps[-1] == 6
    # cost follows the replica count: price x time-weighted replicas (+ the load balancer)
    assert web.cost_per_hour == pytest.approx(0.5 * web.replicas_mean)
    assert web.replicas_mean == pytest.approx(sum(reps) / len(reps), rel=1e-6)
    assert r.cost_per_hour == pytest.approx(web.cost_per_hour + r.nodes["lb"].cost_per_hour)


def test_scaling_in_when_load_falls() -> None:
    text = AUTOSCALE.format(max=6).replace("rate_rps: 100,", "rate_rps: 700,").replace(
        "replicas: 1, workers: 4", "replicas: 6, workers: 4").replace("to_rps: 700", "to_rps: 50")
    r = sandbox.simulate(scenario(text), seed=2)
    reps = r.nodes["web"].series["replicas"]
    assert reps[0] == 6 and reps[-1] < 3


@pytest.mark.parametrize("name,recovers", [("retry_storm", False), ("retry_storm_backoff", True),
                                           ("retry_storm_breaker", True)])
def test_the_retry_storm_is_metastable_without_backoff_or_breaker(name: str, recovers: bool) -> None:
    s = sandbox.load(ROOT / "scenarios" / f"{name}.yaml")
    r = sandbox.simulate(s, seed=1)
    t, done = r.series["t_s"], r.series["throughput_rps"]
    before = [d for ti, d in zip(t, done) if 10 < ti <= 30]      # before the slowdown at 30 s
    tail = [d for ti, d in zip(t, done) if ti > 120]             # 80 s after it ended
    rate = s.workload.rate_rps
    # Poisson arrivals at 140 rps: a 20-60 s mean has a standard error under 3 rps
    assert abs(sum(before) / len(before) - rate) < 10
    tail_rate = sum(tail) / len(tail)
    if recovers:
        assert abs(tail_rate - rate) < 10
    else:
        assert tail_rate < 0.05 * rate  # stays down although the fault ended at 40 s
        assert r.edges[0].amplification > 3  # each request burns its 1 + 3 attempts


def test_hedging_cuts_the_tail_of_a_fan_out() -> None:
    s = sandbox.load(ROOT / "scenarios" / "hedged_fanout.yaml")
    hedged = sandbox.simulate(s, seed=4)
    plain = sandbox.simulate(sandbox.with_overrides(s, {f"edges.{i}.hedge_after_ms": None for i in range(5)}), seed=4)
    assert hedged.latency_ms.p99 < 0.5 * plain.latency_ms.p99
    extra = [e.amplification - 1 for e in hedged.edges]
    assert all(0 < x < 0.15 for x in extra)  # a few percent more shard calls
    assert all(e.hedge_wins <= e.hedges and e.wasted_calls > 0 for e in hedged.edges)


def test_slow_and_error_faults_act_only_in_their_window() -> None:
    text = """
name: faults
workload: {entry: api, rate_rps: 100, duration_s: 90, arrival: constant}
nodes:
  api: {kind: service, workers: 50, queue_limit: null, service_time: {dist: constant, mean_ms: 10},
        failures: [{at_s: 30, for_s: 30, mode: slow, multiplier: 3}, {at_s: 60, for_s: 10, mode: errors, rate: 1}]}
"""
    r = sandbox.simulate(scenario(text), seed=1)
    p99 = dict(zip(r.series["t_s"], r.series["p99_ms"]))
    done = dict(zip(r.series["t_s"], r.series["throughput_rps"]))
    assert p99[20] == pytest.approx(10, rel=0.01) and p99[45] == pytest.approx(30, rel=0.01)
    assert done[65] == 0 and done[80] == 100
    # 10 s of errors at 100 rps; the error is drawn when service ends, so the calls
    # in service at the window's edges (3 at most, 30 ms each at 100 rps) may go either way
    assert abs(r.requests.failed - 100 * 10) <= 3 and r.causes[0].reason == "error"


ALL_ON = """
name: everything on
workload: {entry: lb, rate_rps: 300, duration_s: 60, warmup_s: 5, slo_ms: 200}
nodes:
  lb:  {kind: load_balancer, policy: power_of_two}
  web: {kind: service, replicas: 2, workers: 8, error_rate: 0.01,
        service_time: {dist: lognormal, mean_ms: 10, p99_ms: 50},
        autoscale: {min_replicas: 2, max_replicas: 5, check_every_s: 5, cold_start_s: 10}}
  rl:  {kind: rate_limiter, rate_rps: 250, burst: 20}
  db:  {kind: database, workers: 10, service_time: {dist: exponential, mean_ms: 5},
        failures: [{at_s: 20, for_s: 5, mode: down}, {at_s: 40, for_s: 5, mode: slow, multiplier: 5}]}
  q:   {kind: queue, capacity: 100}
  mail: {kind: service, workers: 2, error_rate: 0.2, service_time: {dist: uniform, min_ms: 5, max_ms: 15}}
edges:
  - {from: lb, to: web}
  - {from: web, to: rl, timeout_ms: 100, retries: 2, backoff: {base_ms: 10, jitter: full},
     circuit_breaker: {failure_ratio: 0.5, window: 20, min_calls: 10, open_s: 2}}
  - {from: rl, to: db}
  - {from: web, to: q, probability: 0.2, hedge_after_ms: 5, timeout_ms: 50}
  - {from: q, to: mail, retries: 1}
"""


def test_determinism_and_conservation_hold_with_every_mechanism_on() -> None:
    s = scenario(ALL_ON)
    a, b = sandbox.simulate(s, seed=9), sandbox.simulate(s, seed=9)
    da, db = a.to_dict(), b.to_dict()
    da.pop("engine"), db.pop("engine")
    assert json.dumps(da, sort_keys=True) == json.dumps(db, sort_keys=True)
    q = a.requests
    assert q.arrived == q.completed + q.rejected + q.failed + q.in_flight
    assert sum(c.count for c in a.causes) == q.rejected + q.failed
    for n in a.nodes.values():
        assert n.arrived >= n.completed + n.rejected + n.failed
    assert {c.reason for c in a.causes} >= {"down (scheduled fault)"} or any("circuit" in c.reason for c in a.causes)
    assert sandbox.simulate(s, seed=10).to_dict()["requests"] != da["requests"]


BAD = [
    ("slow without multiplier", "failures: [{at_s: 1, for_s: 2, mode: slow}]", "nodes.a.failures[0]",
     "needs a multiplier"),
    ("errors without rate", "failures: [{at_s: 1, for_s: 2, mode: errors}]", "nodes.a.failures[0]", "needs a rate"),
    ("unknown fault mode", "failures: [{at_s: 1, for_s: 2, mode: melt}]", "nodes.a.failures[0].mode", "must be one of"),
    ("error rate above 1", "error_rate: 1.5", "nodes.a.error_rate", "at most 1"),
    ("autoscale max below min", "autoscale: {min_replicas: 3, max_replicas: 2}", "nodes.a.autoscale",
     "must be at least min_replicas"),
    ("replicas outside autoscale", "replicas: 5, autoscale: {min_replicas: 1, max_replicas: 3}", "nodes.a",
     "must lie between"),
    ("negative cost", "cost_per_hour: -1", "nodes.a.cost_per_hour", "at least 0"),
]


@pytest.mark.parametrize("fields,path,reason", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_node_settings_get_clear_messages(fields: str, path: str, reason: str) -> None:
    text = ("name: x\nworkload: {entry: a, rate_rps: 10, duration_s: 10}\n"
            f"nodes: {{a: {{kind: service, service_time: {{dist: constant, mean_ms: 1}}, {fields}}}, "
            "b: {kind: service, service_time: {dist: constant, mean_ms: 1}}}\nedges: [{from: a, to: b}]")
    with pytest.raises(sandbox.ScenarioError) as info:
        sandbox.loads(text)
    assert any(p == path and reason in r for p, r in info.value.problems), str(info.value)


BAD_EDGES = [
    ("negative retries", "retries: -1", "edges[0].retries", "at least 0"),
    ("backoff without retries", "backoff: {base_ms: 10}", "edges[0]", "backoff needs retries"),
    ("hedge after timeout", "timeout_ms: 50, hedge_after_ms: 80", "edges[0]", "must be below timeout_ms"),
    ("zero timeout", "timeout_ms: 0", "edges[0].timeout_ms", "more than 0"),
    ("unknown jitter", "retries: 1, backoff: {jitter: some}", "edges[0].backoff.jitter", "must be one of"),
    ("breaker without trigger", "circuit_breaker: {failure_ratio: null}", "edges[0].circuit_breaker",
     "give failure_ratio or consecutive_failures"),
    ("unknown retry cause", "retries: 1, retry_on: [sadness]", "edges[0].retry_on[0]", "must be one of"),
    ("unknown breaker field", "circuit_breaker: {threshold: 3}", "edges[0].circuit_breaker.threshold",
     "unknown field (allowed: failure_ratio"),
]


@pytest.mark.parametrize("fields,path,reason", [b[1:] for b in BAD_EDGES], ids=[b[0] for b in BAD_EDGES])
def test_bad_edge_settings_get_clear_messages(fields: str, path: str, reason: str) -> None:
    text = ("name: x\nworkload: {entry: a, rate_rps: 10, duration_s: 10}\n"
            "nodes: {a: {kind: service, service_time: {dist: constant, mean_ms: 1}}, "
            "b: {kind: service, service_time: {dist: constant, mean_ms: 1}}}\n"
            f"edges: [{{from: a, to: b, {fields}}}]")
    with pytest.raises(sandbox.ScenarioError) as info:
        sandbox.loads(text)
    assert any(p == path and reason in r for p, r in info.value.problems), str(info.value)


def test_a_fault_after_the_end_is_flagged_not_refused() -> None:
    # refusing it would break `--duration` overrides of scenarios with late faults
    s = sandbox.loads("name: x\nworkload: {entry: a, rate_rps: 10, duration_s: 10}\n"
                      "nodes: {a: {kind: service, service_time: {dist: constant, mean_ms: 1}, "
                      "failures: [{at_s: 99, for_s: 2, mode: down}]}}")
    messages = [f.message for f in sandbox.analyse(s).findings]
    assert "a's down fault at 99 s never happens: the run ends at 10 s" in messages


def test_rate_limiter_needs_an_edge() -> None:
    with pytest.raises(sandbox.ScenarioError, match="nodes.rl: a rate limiter needs an outgoing edge"):
        sandbox.loads("name: x\nworkload: {entry: rl, rate_rps: 10, duration_s: 10}\n"
                      "nodes: {rl: {kind: rate_limiter, rate_rps: 5}}")
