"""Every scenario in scenarios/ loads and runs, and reads as intended."""

from __future__ import annotations

from pathlib import Path

import pytest

import sandbox

from .conftest import SCENARIOS


def test_there_are_scenarios() -> None:
    assert len(SCENARIOS) >= 6


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs(path: Path) -> None:
    s = sandbox.load(path)
    duration = min(s.workload.duration_s, s.workload.warmup_s + 30)
    r = sandbox.simulate(s, seed=1, duration_s=duration)
    q = r.requests
    assert q.arrived > 0 and q.completed > 0
    assert q.arrived == q.completed + q.rejected + q.failed + q.in_flight
    assert r.bottleneck.node in s.nodes and r.bottleneck.why


def test_the_cascade_scenario_blames_the_blocked_pool() -> None:
    r = sandbox.simulate(sandbox.load(Path(__file__).parent.parent / "scenarios" / "thread_pool_cascade.yaml"), seed=3)
    assert r.bottleneck.node == "api"
    assert "waiting on calls downstream" in r.bottleneck.why
    assert r.nodes["api"].downstream_share > 0.9


def test_the_catalog_mailer_cannot_keep_up() -> None:
    # 10% of 900 rps = 90 messages/s; two workers at a mean of 30 ms serve at most 66.7/s
    r = sandbox.simulate(sandbox.load(Path(__file__).parent.parent / "scenarios" / "read_heavy_catalog.yaml"), seed=3)
    assert r.nodes["mailer"].utilization > 0.97
    assert r.nodes["mailer"].throughput_rps == pytest.approx(2 / 0.030, rel=0.05)
    assert r.nodes["events"].queue_length["max"] > 1000
