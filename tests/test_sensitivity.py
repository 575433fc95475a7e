"""Sensitivity (issue 15, part 3): each setting moved down and up on identical traffic, ranked by its swing.

The design has one knob that matters: the database's 2 connections run at 75% busy, while web's 8 workers and
every replica count have room to spare. Moving db.workers by one either way moves the p99 by tens of ms; moving
anything else by 20% moves it by a few. The swing's interval is a paired t interval over the seeds (common
random numbers), so the ranking is tested by the intervals not overlapping, not by a hard-coded number.
"""

from __future__ import annotations

import json

import pytest

import sandbox
from sandbox.cli import main
from sandbox.errors import ScenarioError
from sandbox.experiments.sensitivity import expand_settings

ONE_KNOB = """
name: one knob
workload: {entry: web, rate_rps: 150, duration_s: 60, warmup_s: 5}
nodes:
  web: {kind: service, replicas: 2, workers: 8, service_time: {dist: exponential, mean_ms: 5}}
  db: {kind: database, workers: 2, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}
edges: [{from: web, to: db}]
"""


def test_the_one_knob_that_matters_ranks_first_with_room_to_spare() -> None:
    r = sandbox.sensitivity(sandbox.loads(ONE_KNOB), ["nodes.*.workers", "nodes.*.replicas"], by=0.2, n=5, workers=1)
    assert [k.path for k in r.ranked][0] == "nodes.db.workers"
    top, second = r.ranked[0].swing["latency_ms.p99"], r.ranked[1].swing["latency_ms.p99"]
    assert top.mean < 0                                   # more connections, lower p99
    assert abs(top.mean) - (top.half_width or 0) > abs(second.mean) + (second.half_width or 0)
    db = r.ranked[0]
    assert (db.low, db.base, db.high) == (1, 2, 3)        # whole numbers move at least one step
    web = next(k for k in r.ranked if k.path == "nodes.web.workers")
    assert (web.low, web.base, web.high) == (6, 8, 10)
    # cost moves with replicas only, by the price of a replica
    reps = next(k for k in r.ranked if k.path == "nodes.web.replicas")
    assert reps.swing["cost_per_hour"].mean == pytest.approx(0.20)
    assert "Most effective on p99: nodes.db.workers" in r.text()
    assert json.loads(json.dumps(r.to_dict()))["ranked"][0]["path"] == "nodes.db.workers"


def test_patterns_expand_to_the_numeric_settings_they_match() -> None:
    data = sandbox.loads(ONE_KNOB).to_dict()
    assert expand_settings(data, ["nodes.*.workers"]) == ["nodes.web.workers", "nodes.db.workers"]
    assert expand_settings(data, ["workload.rate_rps", "nodes.db.workers"]) == ["workload.rate_rps",
                                                                                 "nodes.db.workers"]
    with pytest.raises(ScenarioError, match="matches no numeric setting"):
        expand_settings(data, ["nodes.*.colour"])


def test_the_cli_ranks_and_refuses_bad_options(write_yaml, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write_yaml(ONE_KNOB))
    assert main(["sensitivity", path, "--vary", "nodes.*.workers", "-n", "3", "--workers", "1", "--json",
                 "--duration", "30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ranked"][0]["path"] == "nodes.db.workers" and out["by"] == 0.2
    for bad, field in ((["--vary", "nodes.*.nothing"], "nodes.*.nothing"), (["--vary", "nodes.*.workers", "--by", "lots"], "--by"),
                       (["--vary", "nodes.*.workers", "--by", "150%"], "--by"), ([], "--vary")):
        assert main(["sensitivity", path, "-n", "2", "--workers", "1", *bad]) == 2
        err = capsys.readouterr().err
        assert field in err and "Traceback" not in err
