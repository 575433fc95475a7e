"""Feature flags (issue 15, part 1): a progressive rollout, guardrails that roll a bad treatment back, and the
false-alarm rate of a rollout with no regression.

Tolerances. Blast radius: the treatment's calls before the rollback are a Poisson count with mean share x rate x
the time from the first exposure to the rollback; allowed 4 standard deviations, 4 sqrt(mean). A/A: each look at
each guardrail is held to alpha / (looks x guardrails), so over 40 seeds the rollbacks are at most a
Binomial(40, alpha = 0.05) count if the tests are right (expected 2); 7 or more has probability 0.3%, so at most
6 are allowed; Bonferroni is conservative, so fewer are expected.
"""

from __future__ import annotations

import math

import pytest

import sandbox
from sandbox.errors import ScenarioError

FLAG = """
name: rollout
workload: {{entry: lb, rate_rps: {rate}, duration_s: {duration}, keys: {{count: 100000, popularity: uniform}}}}
nodes:
  lb: {{kind: load_balancer}}
  flag:
    kind: feature_flag
    control: api
    treatment: api_v2
    schedule: {schedule}
    guardrails: [{{metric: error_rate, max_increase: {increase}}}]
    check_every_s: 10
    min_requests: 200
    on_breach: {on_breach}
  api: {{kind: service, replicas: 2, workers: 16, error_rate: {control}, service_time: {{dist: exponential, mean_ms: 10}}}}
  api_v2: {{kind: service, replicas: 2, workers: 16, error_rate: {treatment},
            service_time: {{dist: exponential, mean_ms: 10}}}}
edges: [{{from: lb, to: flag}}, {{from: flag, to: api}}, {{from: flag, to: api_v2}}]
"""


def _flag(**kw: object) -> str:
    values = dict(rate=400, duration=200, schedule="[{at_s: 20, share: 0.05}, {at_s: 120, share: 1.0}]",
                  increase=0.01, on_breach="rollback", control=0.0, treatment=0.10)
    values.update(kw)
    return FLAG.format(**values)


def test_a_bad_treatment_is_rolled_back_and_the_blast_radius_is_share_x_rate_x_time() -> None:
    r = sandbox.simulate(sandbox.loads(_flag()), seed=3)
    f = r.nodes["flag"].rollout
    assert f["rolled_back"] and f["rolled_back_at_s"] < 120          # caught at 5%, before the ramp to 100%
    detect = f["time_to_detect_s"]
    assert detect == f["rolled_back_at_s"] - 20 and detect % 10 == 0    # at a look, counted from the first exposure
    expected = 0.05 * 400 * detect
    assert abs(f["exposed_requests"] - expected) <= 4 * math.sqrt(expected), (f["exposed_requests"], expected)
    # after the rollback no call reaches the treatment, even once the schedule says 100%
    assert f["calls"]["treatment"] == f["exposed_requests"]
    assert f["exposed_keys"] <= f["exposed_requests"]
    breach = next(d for d in f["decisions"] if d["decision"].startswith("breach"))
    assert breach["statistic"] > breach["critical"] == f["critical_z"]
    assert breach["treatment"] > breach["control"] + 0.01


def test_a_rollout_with_no_regression_rolls_back_at_most_about_alpha_of_the_time() -> None:
    s = sandbox.loads(_flag(rate=200, duration=120, schedule="[{at_s: 0, share: 0.5}]", increase=0.0,
                            control=0.05, treatment=0.05))
    rollbacks = sum(sandbox.simulate(s, seed=seed).nodes["flag"].rollout["rolled_back"] for seed in range(40))
    assert rollbacks <= 6


def test_hold_stops_the_ramp_and_ignore_only_logs() -> None:
    held = sandbox.simulate(sandbox.loads(_flag(on_breach="hold")), seed=3).nodes["flag"].rollout
    assert not held["rolled_back"] and held["held_at_share"] == 0.05
    share = held["series"]["share"]
    assert max(share) == 0.05                       # never ramped to 100% once breached
    ignored = sandbox.simulate(sandbox.loads(_flag(on_breach="ignore")), seed=3).nodes["flag"].rollout
    assert ignored["first_breach_at_s"] is not None and not ignored["rolled_back"]
    assert max(ignored["series"]["share"]) == 1.0
    assert any(d["decision"] == "breach: ignored" for d in ignored["decisions"])


def test_the_analysis_splits_the_calls_by_the_mean_share() -> None:
    a = sandbox.analyse(sandbox.loads(_flag(duration=220)))   # 5% from 20 to 120 s, 100% from 120 to 220 s
    mean = (0.05 * 100 + 1.0 * 100) / 220
    assert a.nodes["api_v2"].offered_rps == pytest.approx(400 * mean)
    assert a.nodes["api"].offered_rps == pytest.approx(400 * (1 - mean))


def test_sticky_keys_keep_their_variant_as_the_share_grows() -> None:
    from sandbox.components.feature_flag import FeatureFlag
    flag = FeatureFlag.__new__(FeatureFlag)
    flag.sticky, flag.salt = True, 12345
    from sandbox.components.base import Request
    places = [flag._place(Request(i, 0.0, True, None, key=k)) for i, k in enumerate(range(20000))]
    assert all(0.0 <= p < 1.0 for p in places)
    assert abs(sum(p < 0.05 for p in places) / len(places) - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 20000)
    again = [flag._place(Request(i, 0.0, True, None, key=k)) for i, k in enumerate(range(20000))]
    assert again == places   # the same key, the same place: in the treatment at 5% means in it at 25%


@pytest.mark.parametrize(("change", "field", "reason"), [
    (("control: api", "control: nowhere"), "nodes.flag.control", "is not a node"),
    (("share: 0.05", "share: 1.5"), "nodes.flag.schedule[0].share", "at most 1"),
    (("at_s: 120", "at_s: 10"), "nodes.flag", "must increase"),
    (("metric: error_rate", "metric: latency"), "nodes.flag.guardrails[0].metric", ""),
    (("max_increase: 0.01", "max_ratio: 2"), "nodes.flag.guardrails[0]", "takes max_increase"),
])
def test_bad_flags_are_refused_with_the_field(change: tuple[str, str], field: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        sandbox.loads(_flag().replace(*change))
    paths = dict(exc.value.problems)
    assert field in paths and reason in paths[field], exc.value.problems
