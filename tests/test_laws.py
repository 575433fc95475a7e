"""Laws every run obeys, whatever the architecture: conservation, Little, determinism.

These hold on every sample path, not just on average, so their tolerances are
not statistical: the only slack is what the run's two ends cut off (calls that
straddle the warm-up mark or are still inside at the end). The scenario is a
small shop with every kind of node, loaded so that some calls are turned away,
which makes the bookkeeping worth checking.
"""

from __future__ import annotations

import json

import pytest

import sandbox
from sandbox import Results, Scenario

SHOP = """
name: shop
workload: {entry: lb, rate_rps: 300, duration_s: 170, warmup_s: 10}
nodes:
  lb:     {kind: load_balancer, policy: least_connections}
  api:    {kind: service, replicas: 3, workers: 4, queue_limit: 20,
           service_time: {dist: lognormal, mean_ms: 8, p99_ms: 40}}
  cache:  {kind: cache, hit_ratio: 0.8, workers: 16, service_time: {dist: constant, mean_ms: 1}}
  db:     {kind: database, workers: 4, queue_limit: 5, service_time: {dist: exponential, mean_ms: 60}}
  events: {kind: queue, capacity: 10}
  mailer: {kind: service, workers: 2, service_time: {dist: uniform, min_ms: 10, max_ms: 30}}
edges:
  - {from: lb, to: api}
  - {from: api, to: cache, latency_ms: 0.5}
  - {from: cache, to: db, when: miss}
  - {from: api, to: events, probability: 0.3}
  - {from: events, to: mailer}
"""
# db: 300 x 0.2 = 60 calls/s x 60 ms = 3.6 erlangs on 4 workers with 5 chairs: it
# turns a few percent away, and the api sees those as failed calls. mailer: 90
# messages/s x 20 ms = 1.8 erlangs on 2 consumers; the 10-message queue overflows.

SEED = 11


@pytest.fixture(scope="module")
def shop() -> Scenario:
    return sandbox.loads(SHOP)


@pytest.fixture(scope="module")
def run(shop: Scenario) -> Results:
    return sandbox.simulate(shop, seed=SEED)


# ── conservation ─────────────────────────────────────────────────────────────


def calls_inside_at_most(scenario: Scenario, r: Results, name: str) -> float:
    """How many calls node `name` can hold at once: every one has a worker or a chair."""
    node = scenario.nodes[name]
    if node.kind == "queue":
        return node.capacity + r.nodes[name].capacity          # waiting + being consumed
    if node.kind in ("load_balancer", "rate_limiter") or node.queue_limit is None:
        return float("inf")                                     # holds no workers / no limit
    if getattr(node, "autoscale", None) is not None:
        return float("inf")    # a replica scaled in still finishes its calls: no fixed bound
    return node.replicas * (node.workers + node.queue_limit)


def conservation_problems(scenario: Scenario, r: Results) -> list[str]:
    """Every way `r` breaks conservation of calls; [] when it keeps them all."""
    problems = []
    q = r.requests
    if q.arrived != q.completed + q.rejected + q.failed + q.in_flight:
        problems.append(f"requests: {q}")
    if min(q.completed, q.rejected, q.failed, q.in_flight) < 0:
        problems.append(f"requests: negative count in {q}")
    for name, n in r.nodes.items():
        inside = n.arrived - n.completed - n.rejected - n.failed
        if not 0 <= inside <= calls_inside_at_most(scenario, r, name):
            problems.append(f"{name}: {inside} calls left inside (arrived {n.arrived}, completed {n.completed}, "
                            f"rejected {n.rejected}, failed {n.failed}); at most "
                            f"{calls_inside_at_most(scenario, r, name)} fit")
    problems += flow_problems(scenario, r)
    # each request enters the entry once, so (unless calls loop back into it) the
    # entry's books match the system's
    entry = scenario.workload.entry
    e = r.nodes[entry]
    loops_back = any(edge.target == entry for edge in scenario.edges)
    if loops_back:
        pass                                      # the entry also counts the calls looping back
    elif scenario.nodes[entry].kind == "queue":   # the producer is answered once the message is stored
        if (q.completed, q.rejected + q.failed, q.in_flight) != (e.arrived - e.rejected, e.rejected, 0):
            problems.append(f"entry queue {entry}: {e.arrived} arrived, {e.rejected} rejected vs {q}")
    else:
        if q.completed != e.completed or q.rejected + q.failed != e.rejected + e.failed:
            problems.append(f"entry {entry}: completed {e.completed}, not completed {e.rejected + e.failed} vs {q}")
        if q.in_flight != e.arrived - e.completed - e.rejected - e.failed:
            problems.append(f"entry {entry}: {e.arrived - e.completed - e.rejected - e.failed} inside vs "
                            f"{q.in_flight} in flight")
    if scenario.workload.users is not None and q.in_flight > scenario.workload.users:
        problems.append(f"{q.in_flight} requests in flight with only {scenario.workload.users} users")
    if sum(c.count for c in r.causes) != q.rejected + q.failed:
        problems.append(f"causes count {sum(c.count for c in r.causes)} calls, requests say {q.rejected + q.failed}")
    if sum(n for _, _, n in r.latency_histogram) != q.completed:
        problems.append(f"latency histogram holds {sum(n for _, _, n in r.latency_histogram)} of {q.completed}")
    return problems


def flow_problems(scenario: Scenario, r: Results) -> list[str]:
    """Calls sent over edges (and requests into the entry) against calls arrived, per node.

    Every attempt over an edge (retries and hedge copies included) arrives at its
    target, except those still crossing the network at the end: equality when the
    edges into a node have no latency, at most the sent count otherwise.
    """
    sent = {name: 0 for name in r.nodes}
    instant = {name: True for name in r.nodes}
    sent[scenario.workload.entry] += r.requests.arrived
    for e in r.edges:
        sent[e.target] += e.attempts + e.hedges
        if scenario.edges[e.index].latency_ms > 0:
            instant[e.target] = False
    problems = []
    for name, n in r.nodes.items():
        if n.arrived > sent[name] or (instant[name] and n.arrived != sent[name]):
            problems.append(f"{name}: {n.arrived} calls arrived, {sent[name]} were sent to it")
    return problems


def test_requests_and_every_node_conserve_calls(shop: Scenario, run: Results) -> None:
    assert conservation_problems(shop, run) == []


def test_the_shop_exercises_rejections_and_failures(run: Results) -> None:
    # the premise of the conservation test: calls are really turned away at db and
    # events, and api sees the db's refusals (via the cache) as failed calls
    assert run.nodes["db"].rejected > 0 and run.nodes["events"].rejected > 0
    assert run.nodes["cache"].failed > 0 and run.nodes["api"].failed > 0
    assert {(c.status, c.node) for c in run.causes} == {("rejected", "db"), ("rejected", "events")}


def test_every_call_made_arrives_at_its_callee(run: Results) -> None:
    n = run.nodes
    # certain single edges: the callee sees exactly the calls the caller passed on
    assert n["lb"].arrived == n["api"].arrived == run.requests.arrived
    # api calls the cache once per admitted call that finished its service: all
    # admitted calls but some of those still inside api at the end
    api_inside = n["api"].arrived - n["api"].completed - n["api"].rejected - n["api"].failed
    admitted = n["api"].arrived - n["api"].rejected
    assert admitted - api_inside <= n["cache"].arrived <= admitted
    # a miss the db turns away fails the cache's call at that very moment
    assert n["cache"].failed == n["db"].rejected
    # a consumer finishes its message the moment the mailer answers; the messages
    # being consumed at the end (at most one per consumer) reached the mailer only
    events, mailer = n["events"], n["mailer"]
    assert mailer.completed + mailer.failed == events.completed + events.failed
    assert 0 <= mailer.arrived - (events.completed + events.failed) <= events.capacity


def test_series_add_up_to_the_totals(run: Results) -> None:
    assert len(run.series["t_s"]) == run.measured_s                 # one point per measured second
    assert sum(run.series["arrivals"]) == run.requests.arrived
    assert sum(run.series["throughput_rps"]) == run.requests.completed


# ── Little's law and the utilization law ─────────────────────────────────────

STATIONS_AND_QUEUES = ["api", "cache", "db", "events", "mailer"]

# Little's law L = lambda W holds on every sample path up to the calls straddling
# the run's ends; those are a few L calls each cut short by at most a few W, out
# of T = 160 s, so the relative slack is about 2 W / T ~ 0.2% here (the longest W,
# the message age in events, is ~0.1 s). 1% leaves room for that with a margin; a real bookkeeping
# slip (a missed wait, a double-counted call) is far larger.
LITTLE = 0.01


def admitted_rate(n: sandbox.NodeResult, measured_s: float) -> float:
    """Calls per second that got in (turned-away calls spend no time inside)."""
    return (n.arrived - n.rejected) / measured_s


@pytest.mark.parametrize("name", STATIONS_AND_QUEUES)
def test_littles_law_for_calls_in_the_node(run: Results, name: str) -> None:
    n = run.nodes[name]
    assert n.in_node_mean == pytest.approx(admitted_rate(n, run.measured_s) * n.response_ms["mean"] / 1000,
                                           rel=LITTLE)


@pytest.mark.parametrize("name", STATIONS_AND_QUEUES)
def test_littles_law_for_the_waiting_line(run: Results, name: str) -> None:
    n = run.nodes[name]
    lq = admitted_rate(n, run.measured_s) * n.wait_ms["mean"] / 1000
    if lq < 1e-3:   # nobody waits: both sides are ~0
        assert n.queue_length["mean"] < 1e-3
    else:
        assert n.queue_length["mean"] == pytest.approx(lq, rel=LITTLE)


@pytest.mark.parametrize("name", STATIONS_AND_QUEUES)
def test_utilization_law_busy_workers_equal_rate_times_hold(run: Results, name: str) -> None:
    # U c = X x (time a worker is held) = X x (response - wait): Little's law for the
    # workers alone. Same boundary slack as above.
    n = run.nodes[name]
    held_s = (n.response_ms["mean"] - n.wait_ms["mean"]) / 1000
    assert n.utilization * n.capacity == pytest.approx(admitted_rate(n, run.measured_s) * held_s, rel=LITTLE)


def test_utilization_law_for_a_leaf_is_rate_times_service(run: Results) -> None:
    # db makes no calls, so a worker is held exactly for the service time
    db = run.nodes["db"]
    assert db.utilization * db.capacity == pytest.approx(
        admitted_rate(db, run.measured_s) * db.service_ms["mean"] / 1000, rel=LITTLE)


# ── determinism and common random numbers ────────────────────────────────────


def without_engine(r: Results) -> dict:
    d = json.loads(r.to_json())
    del d["engine"]                                   # wall time: the one part that varies
    return d


SHORT_S = 40   # determinism needs no long run: any divergence shows within seconds


@pytest.fixture(scope="module")
def short(shop: Scenario) -> Results:
    return sandbox.simulate(shop, seed=SEED, duration_s=SHORT_S)


def test_same_seed_gives_identical_results(shop: Scenario, short: Results) -> None:
    again = sandbox.simulate(shop, seed=SEED, duration_s=SHORT_S)
    assert without_engine(again) == without_engine(short)
    assert again == short                              # dataclass equality leaves out engine


def test_different_seeds_give_different_results(shop: Scenario, short: Results) -> None:
    other = sandbox.simulate(shop, seed=SEED + 1, duration_s=SHORT_S)
    assert without_engine(other) != without_engine(short)
    assert other.series["arrivals"] != short.series["arrivals"]


def test_changing_one_node_keeps_the_traffic(shop: Scenario, short: Results) -> None:
    # common random numbers: the arrivals have their own stream, so a faster db
    # sees exactly the same requests arrive, second by second
    faster_db = sandbox.with_overrides(shop, {"nodes.db.service_time.mean_ms": 30})
    r = sandbox.simulate(faster_db, seed=SEED, duration_s=SHORT_S)
    assert r.series["arrivals"] == short.series["arrivals"]
    assert r.requests.arrived == short.requests.arrived
    assert r.nodes["db"].service_ms["mean"] < short.nodes["db"].service_ms["mean"] / 1.5   # the change took
