"""Request classes in the simulation: the mix, class-only calls, one-of routing, overload control, error budgets.

Exact checks (counts that must match, bytes that must repeat) are compared
exactly. Statistical ones state their tolerance where they make it: a share of
n independent draws has standard error sqrt(p(1-p)/n), and the bounds are 5 of
those (a correct engine fails about once in 3 million seeds; the seeds are fixed,
so the suite is deterministic). The overload tests compare situations whose
figures differ by a factor of several, far beyond run-to-run noise.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import sandbox
from sandbox import Results
from sandbox.errors import ScenarioError

MIX = {"browse": {"share": 0.8, "slo_ms": 200}, "checkout": {"share": 0.2, "slo_ms": 500, "priority": 1,
                                                              "slo_target": 0.999}}


def scenario(nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None, classes: Any = MIX,
             **workload: Any) -> sandbox.Scenario:
    w = {"entry": "api", "rate_rps": 100, "duration_s": 200, "warmup_s": 10, **workload}
    if classes is not None:
        w["classes"] = classes
    return sandbox.from_dict({"name": "classes", "workload": w, "nodes": nodes, "edges": edges or []})


def service(mean_ms: float, workers: int = 1, **extra: Any) -> dict[str, Any]:
    return {"kind": "service", "workers": workers, "queue_limit": None,
            "service_time": {"dist": "exponential", "mean_ms": mean_ms}, **extra}


def within_binomial(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(count / n - p) <= sigmas * math.sqrt(p * (1 - p) / n)


# ── the mix ──────────────────────────────────────────────────────────────────

def test_shares_are_drawn_per_request_and_conserved() -> None:
    r = sandbox.simulate(scenario({"api": service(2, workers=2)}), seed=1)
    total = r.requests.arrived
    browse, checkout = r.classes["browse"].requests, r.classes["checkout"].requests
    assert browse.arrived + checkout.arrived == total
    assert within_binomial(checkout.arrived, total, 0.2)
    for c in (browse, checkout):
        assert c.arrived == c.completed + c.rejected + c.failed + c.in_flight
    assert browse.completed + checkout.completed == r.requests.completed
    node = r.nodes["api"].classes
    assert node["browse"]["arrived"] + node["checkout"]["arrived"] == r.nodes["api"].arrived


def test_changing_shares_keeps_the_arrival_times() -> None:
    a = sandbox.simulate(scenario({"api": service(2)}), seed=3)
    other = {"browse": {"share": 0.3}, "checkout": {"share": 0.7, "priority": 1}}
    b = sandbox.simulate(scenario({"api": service(2)}, classes=other), seed=3)
    assert a.requests.arrived == b.requests.arrived
    assert [t.start_s for t in a.traces] == [t.start_s for t in b.traces]
    assert a.classes["checkout"].requests.arrived < b.classes["checkout"].requests.arrived


def test_without_classes_nothing_new_is_reported() -> None:
    r = sandbox.simulate(scenario({"api": service(2)}, classes=None), seed=1)
    d = r.to_dict()
    assert "classes" not in d and "classes" not in d["nodes"]["api"]


def test_same_seed_same_bytes_with_classes() -> None:
    s = scenario({"api": service(5, workers=2, discipline="priority", shed={"queue_over": 3}),
                  "pay": service(20, workers=2)}, [{"from": "api", "to": "pay", "classes": ["checkout"]}],
                 rate_rps=300, duration_s=30)
    a, b = sandbox.simulate(s, seed=5).to_dict(), sandbox.simulate(s, seed=5).to_dict()
    a.pop("engine"), b.pop("engine")  # wall time: the one part that varies
    assert a == b and a["classes"]["browse"]["requests"]["rejected"] > 0


def test_closed_loop_users_are_split_by_share() -> None:
    s = scenario({"api": service(10, workers=20)}, users=10, rate_rps=None, think_time_ms=100)
    r = sandbox.simulate(s, seed=1)
    # 8 browse users and 2 checkout users, each completing about one request per 110 ms
    ratio = r.classes["checkout"].requests.arrived / r.classes["browse"].requests.arrived
    assert 0.2 < ratio < 0.3


# ── which calls a class makes ────────────────────────────────────────────────

def test_a_class_only_call_is_made_by_that_class_alone() -> None:
    s = scenario({"api": service(1, workers=4), "pay": service(2, workers=4)},
                 [{"from": "api", "to": "pay", "classes": ["checkout"]}])
    r = sandbox.simulate(s, seed=2)
    pay = r.nodes["pay"]
    assert pay.classes["browse"]["arrived"] == 0
    # every checkout served at api calls pay once (the few still in flight at the end excepted)
    served = r.nodes["api"].classes["checkout"]["completed"]
    assert abs(pay.arrived - served) <= r.requests.in_flight
    assert within_binomial(pay.arrived, r.requests.arrived, 0.2)


def test_route_one_takes_exactly_one_call() -> None:
    nodes = {"api": service(1, workers=4, route="one"), "b": service(1, workers=4), "c": service(1, workers=4)}
    edges = [{"from": "api", "to": "b", "probability": 0.75}, {"from": "api", "to": "c", "probability": 0.25}]
    r = sandbox.simulate(scenario(nodes, edges, classes=None), seed=4)
    api, b, c = r.nodes["api"], r.nodes["b"], r.nodes["c"]
    assert abs(b.arrived + c.arrived - api.completed) <= r.requests.in_flight
    assert within_binomial(b.arrived, b.arrived + c.arrived, 0.75)


def test_route_each_stays_independent_coin_flips() -> None:
    nodes = {"api": service(1, workers=4), "b": service(1, workers=4), "c": service(1, workers=4)}
    edges = [{"from": "api", "to": "b", "probability": 0.75}, {"from": "api", "to": "c", "probability": 0.25}]
    r = sandbox.simulate(scenario(nodes, edges, classes=None), seed=4)
    n = r.nodes["api"].completed
    # independent flips: the calls add up to 1.0 per request on average, but some requests make both or none
    assert within_binomial(r.nodes["b"].arrived, n, 0.75) and within_binomial(r.nodes["c"].arrived, n, 0.25)


def test_weighted_load_balancer_splits_by_weight() -> None:
    nodes = {"api": {"kind": "load_balancer"}, "stable": service(1, workers=4), "canary": service(1, workers=4)}
    edges = [{"from": "api", "to": "stable", "weight": 95}, {"from": "api", "to": "canary", "weight": 5}]
    r = sandbox.simulate(scenario(nodes, edges, classes=None), seed=6)
    s, c = r.nodes["stable"].arrived, r.nodes["canary"].arrived
    assert abs(s + c - r.nodes["api"].arrived) <= r.requests.in_flight
    assert within_binomial(c, s + c, 0.05)


def test_service_time_by_class() -> None:
    s = scenario({"api": service(2, workers=50, service_time_by_class={
        "checkout": {"dist": "constant", "mean_ms": 40}})})
    r = sandbox.simulate(s, seed=1)
    mean = r.nodes["api"].service_ms["mean"]
    # the mixture mean 0.8 x 2 + 0.2 x 40 = 9.6 ms; exponential part's standard error ~2/sqrt(16000) ms
    assert mean == pytest.approx(9.6, rel=0.03)
    assert r.classes["checkout"].latency_ms.p50 == pytest.approx(40, rel=0.01)


# ── overload control ─────────────────────────────────────────────────────────

def _bulkhead_case(slow: bool, bulkhead: bool) -> Results:
    """An api of 6 workers; checkout calls a payments provider that is slow (400 ms, few workers) or absent."""
    nodes: dict[str, Any] = {"api": service(5, workers=6, queue_limit=200), "pay": service(400, workers=40)}
    nodes["api"]["queue_limit"] = 200
    if bulkhead:
        nodes["api"]["bulkheads"] = {"checkout": 2}
    edges = [{"from": "api", "to": "pay", "classes": ["checkout"]}] if slow else []
    return sandbox.simulate(scenario(nodes, edges, rate_rps=200, duration_s=120), seed=7)


def test_a_bulkhead_keeps_a_slow_class_from_starving_the_others() -> None:
    baseline = _bulkhead_case(slow=False, bulkhead=False).classes["browse"].latency_ms.p99
    shared = _bulkhead_case(slow=True, bulkhead=False).classes["browse"].latency_ms.p99
    isolated_run = _bulkhead_case(slow=True, bulkhead=True)
    isolated = isolated_run.classes["browse"].latency_ms.p99
    # checkout at 40 rps x 405 ms needs 16 workers: sharing 6 starves browse (p99 grows many times);
    # behind a bulkhead of 2, browse keeps 4 workers for 160 rps x 5 ms (utilization 0.2): p99 stays small.
    # the isolated p99 is of 4 workers, not 6: within 2x of the baseline here, and both far from 'shared'.
    assert shared > 10 * baseline
    assert isolated < 2 * baseline + 5
    assert isolated_run.classes["checkout"].requests.rejected > 0  # checkout pays for its own slowness


def test_shedding_refuses_low_priority_first_under_overload() -> None:
    # 2x overload: 400 rps offered to 4 workers of 5 ms capacity 800... made 2x by 10 ms service: capacity 400 rps
    # x 0.5; checkout (priority 1) is never shed and served first
    nodes = {"api": service(10, workers=2, discipline="priority", shed={"queue_over": 10, "below_priority": 1},
                            queue_limit=1000)}
    r = sandbox.simulate(scenario(nodes, rate_rps=400, duration_s=120), seed=8)
    browse, checkout = r.classes["browse"], r.classes["checkout"]
    shed = [c for c in browse.causes if c.reason.startswith("shed")]
    assert shed and shed[0].count == browse.requests.rejected > 0.3 * browse.requests.arrived
    assert checkout.requests.rejected == 0
    assert checkout.latency_ms.p99 < checkout.slo_ms  # type: ignore[operator]
    assert checkout.error_budget.burn_rate is not None and checkout.error_budget.burn_rate < 1


def test_fifo_without_shedding_lets_the_spike_starve_checkout() -> None:
    nodes = {"api": service(10, workers=2, queue_limit=1000)}
    r = sandbox.simulate(scenario(nodes, rate_rps=400, duration_s=60), seed=8)
    checkout = r.classes["checkout"]
    assert checkout.latency_ms.p99 > 5 * checkout.slo_ms  # type: ignore[operator]
    assert checkout.error_budget.exhausted_at_s is not None
    assert "checkout p99" in r.bottleneck.why and "its SLO" in r.bottleneck.why


def test_max_wait_drops_calls_whose_caller_gave_up() -> None:
    nodes = {"api": service(10, workers=1, max_wait_ms=50, queue_limit=1000)}
    r = sandbox.simulate(scenario(nodes, classes=None, rate_rps=150, duration_s=60), seed=9)
    expired = [c for c in r.causes if c.reason.startswith("expired")]
    assert expired and expired[0].status == "failed" and expired[0].count == r.requests.failed > 0
    # a call that was served waited at most 50 ms (the wait histogram's buckets are within 1%)
    assert r.nodes["api"].wait_ms["p99"] <= 50 * 1.01


def test_priority_serves_the_higher_class_first() -> None:
    nodes = {"api": service(5, discipline="priority")}
    r = sandbox.simulate(scenario(nodes, rate_rps=160), seed=10)
    waits = r.nodes["api"].classes
    assert waits["checkout"]["wait_ms"]["mean"] < 0.5 * waits["browse"]["wait_ms"]["mean"]


def test_shed_without_classes_sheds_everything_over_the_threshold() -> None:
    nodes = {"api": service(10, workers=1, shed={"queue_over": 5}, queue_limit=1000)}
    r = sandbox.simulate(scenario(nodes, classes=None, rate_rps=150, duration_s=60), seed=2)
    assert r.requests.rejected > 0 and all(c.reason.startswith("shed") for c in r.causes)
    assert r.nodes["api"].queue_length["max"] <= 6


def test_classes_with_autoscaling_and_parallel_calls() -> None:
    nodes = {"api": {**service(20, workers=2, parallel=True, route="one"),
                     "autoscale": {"max_replicas": 4, "check_every_s": 5, "cold_start_s": 1}},
             "b": service(1, workers=4), "c": service(1, workers=4)}
    edges = [{"from": "api", "to": "b", "probability": 0.5}, {"from": "api", "to": "c", "probability": 0.5}]
    r = sandbox.simulate(scenario(nodes, edges, rate_rps=150, duration_s=120), seed=3)
    assert r.nodes["api"].replicas > 1
    assert abs(r.nodes["b"].arrived + r.nodes["c"].arrived - r.nodes["api"].completed) <= r.requests.in_flight


# ── error budgets ────────────────────────────────────────────────────────────

def test_error_budget_figures_follow_their_definitions() -> None:
    nodes = {"api": service(10, workers=2, queue_limit=1000)}
    r = sandbox.simulate(scenario(nodes, rate_rps=400, duration_s=60), seed=8)
    c = r.classes["checkout"]
    b = c.error_budget
    finished = c.requests.arrived - c.requests.in_flight
    assert b.bad == finished - round(c.goodput * c.requests.arrived)
    assert b.bad_share == pytest.approx(b.bad / finished)
    assert b.burn_rate == pytest.approx(b.bad_share / (1 - 0.999))
    assert b.allowed == pytest.approx(0.001 * c.requests.arrived)
    # exhausted when the running count of bad requests first passes the run's allowance
    running, at = 0.0, None
    for t, bad in zip(c.series["t_s"], c.series["bad"]):
        running += bad
        if running > b.allowed:  # type: ignore[operator]
            at = t
            break
    assert at is not None and b.exhausted_at_s == at < r.duration_s
    assert sum(c.series["bad"]) == b.bad
    assert len(c.series["burn_rate"]) == len(c.series["t_s"]) > 0
    assert r.classes["browse"].error_budget.burn_rate is None  # no target, no budget


# ── bad input ────────────────────────────────────────────────────────────────

BAD = [
    ({"classes": {"a": {"share": 0.5}, "b": {"share": 0.4}}}, {}, [], "workload.classes", "sum to 1"),
    ({}, {"service_time_by_class": {"nope": {"dist": "constant", "mean_ms": 1}}}, [],
     "nodes.api.service_time_by_class.nope", "not a class"),
    ({}, {"bulkheads": {"nope": 1}}, [], "nodes.api.bulkheads.nope", "not a class"),
    ({}, {}, [{"from": "api", "to": "db", "classes": ["chekout"]}], "edges[0].classes", "not a class"),
    ({}, {"bulkheads": {"checkout": 4}}, [], "nodes.api.bulkheads", "at least 1 shared worker"),
    ({}, {"shed": {"queue_over": 3, "below_priority": -1}}, [], "nodes.api.shed.below_priority", "at least 0"),
    ({"classes": None}, {"discipline": "priority"}, [], "nodes.api.discipline", "define workload.classes"),
    ({"classes": {"a b": {"share": 1}}}, {}, [], "workload.classes", "class name"),
    ({}, {"route": "one"}, [{"from": "api", "to": "db", "probability": 0.5}], "nodes.api.route", "sum to 1"),
    ({}, {}, [{"from": "api", "to": "db", "weight": 3}], "edges[0].weight", "load balancer"),
]


@pytest.mark.parametrize("workload, api, edges, path, words", BAD, ids=[b[3] for b in BAD])
def test_bad_class_input_names_the_field(workload: dict[str, Any], api: dict[str, Any], edges: list[Any],
                                         path: str, words: str) -> None:
    w = {"entry": "api", "rate_rps": 10, "duration_s": 10, "classes": MIX, **workload}
    if w["classes"] is None:
        del w["classes"]
    data = {"name": "bad", "workload": w, "nodes": {"api": service(1, workers=4, **api), "db": service(1)},
            "edges": edges}
    with pytest.raises(ScenarioError) as err:
        sandbox.from_dict(data)
    problems = dict(err.value.problems)
    assert path in problems, problems
    assert words in problems[path]


def test_a_weighted_balancer_weighs_every_call() -> None:
    nodes = {"api": {"kind": "load_balancer"}, "a": service(1), "b": service(1)}
    with pytest.raises(ScenarioError) as err:
        sandbox.from_dict({"name": "w", "workload": {"entry": "api", "rate_rps": 1, "duration_s": 5},
                           "nodes": nodes, "edges": [{"from": "api", "to": "a", "weight": 2},
                                                     {"from": "api", "to": "b"}]})
    assert "edges[1].weight" in dict(err.value.problems)


# ── experiments ──────────────────────────────────────────────────────────────

def test_replications_give_each_class_its_interval() -> None:
    from sandbox.experiments import compare, replicate
    from sandbox.experiments.figures import format_estimate, label
    s = scenario({"api": service(10, workers=2, queue_limit=1000)}, rate_rps=150, duration_s=30)
    rep = replicate(s, n=3, seed=1)
    for key in ("class.checkout.p99_ms", "class.checkout.goodput", "class.checkout.burn_rate",
                "class.browse.p99_ms"):
        assert key in rep.figures
    assert "class.browse.burn_rate" not in rep.figures  # no target, no burn rate
    assert label("class.checkout.p99_ms", unit=True) == "checkout p99 ms"
    assert format_estimate("class.checkout.goodput", rep.figures["class.checkout.goodput"]).startswith("99.")
    # priority for checkout makes its p99 better, and browse's worse, on identical traffic
    cmp_ = compare(s, {"nodes.api.discipline": "priority"}, n=3, seed=1)
    assert cmp_.deltas["class.checkout.p99_ms"].diff.mean < 0
    assert cmp_.deltas["class.browse.p99_ms"].diff.mean > 0


def test_classes_through_a_queue_and_in_traces() -> None:
    nodes = {"api": service(1, workers=4), "jobs": {"kind": "queue", "capacity": 50},
             "worker": service(20, workers=2)}
    edges = [{"from": "api", "to": "jobs"}, {"from": "jobs", "to": "worker"}]
    r = sandbox.simulate(scenario(nodes, edges, rate_rps=130, duration_s=60), seed=11)  # worker: 100 rps at most
    jobs = r.nodes["jobs"].classes
    assert sum(c["arrived"] for c in jobs.values()) == r.nodes["jobs"].arrived
    assert sum(c["rejected"] for c in jobs.values()) == r.nodes["jobs"].rejected > 0
    assert sum(c["completed"] for c in jobs.values()) == r.nodes["jobs"].completed
    # a queue is FIFO for every class: both classes' messages age in it, by about the same
    ages = [jobs[c]["wait_ms"]["mean"] for c in ("browse", "checkout")]
    assert min(ages) > 0.5 * max(ages) > 0
    assert r.traces and all(t.request_class in ("browse", "checkout") for t in r.traces)


def test_a_node_only_some_classes_call_is_not_a_single_point_of_failure_for_every_request() -> None:
    nodes = {"api": service(5, 4), "payments": service(20, 4), "db": service(2, 4)}
    edges = [{"from": "api", "to": "payments", "classes": ["checkout"]}, {"from": "api", "to": "db"}]
    found = {f.node for f in sandbox.analyse(scenario(nodes, edges)).findings if f.topic == "single_point_of_failure"}
    assert found == {"api", "db"}   # every request reaches db; only checkouts reach payments
