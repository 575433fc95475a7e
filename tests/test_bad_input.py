"""Bad input never gives a traceback: one clear message naming the file, the field and the reason."""

from __future__ import annotations

import subprocess
import sys

import pytest

import sandbox
from sandbox import ScenarioError

OK_NODE = "{kind: service, service_time: {dist: exponential, mean_ms: 5}}"
HEAD = "name: x\nworkload: {entry: a, rate_rps: 10, duration_s: 10}\n"

CASES = [
    # (id, scenario text, the field path, words the reason must contain)
    ("unknown kind", HEAD + "nodes: {a: {kind: servise}}", "nodes.a", "unknown kind 'servise'"),
    ("unknown field", HEAD + f"nodes: {{a: {{kind: service, workerz: 3, service_time: {{dist: constant, mean_ms: 1}}}}}}",
     "nodes.a.workerz", "unknown field"),
    ("zero workers", HEAD + "nodes: {a: {kind: service, workers: 0, service_time: {dist: constant, mean_ms: 1}}}",
     "nodes.a.workers", "must be at least 1, got 0"),
    ("negative mean", HEAD + "nodes: {a: {kind: service, service_time: {dist: exponential, mean_ms: -5}}}",
     "nodes.a.service_time.mean_ms", "must be more than 0, got -5"),
    ("zero rate", "name: x\nworkload: {entry: a, rate_rps: 0, duration_s: 10}\nnodes: {a: " + OK_NODE + "}",
     "workload.rate_rps", "must be more than 0, got 0"),
    ("probability above 1", HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{{from: a, to: b, probability: 1.5}}]",
     "edges[0].probability", "must be at most 1, got 1.5"),
    ("edge to unknown node", HEAD + f"nodes: {{a: {OK_NODE}}}\nedges: [{{from: a, to: c}}]",
     "edges[0].to", "'c' is not a node"),
    ("miss from non-cache", HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{{from: a, to: b, when: miss}}]",
     "edges[0].when", "needs a cache"),
    ("no entry", "name: x\nworkload: {rate_rps: 10, duration_s: 10}\nnodes: {a: " + OK_NODE + "}",
     "workload.entry", "is required"),
    ("entry not a node", "name: x\nworkload: {entry: z, rate_rps: 10, duration_s: 10}\nnodes: {a: " + OK_NODE + "}",
     "workload.entry", "'z' is not a node"),
    ("unbreakable cycle", HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{{from: a, to: b}}, {{from: b, to: a}}]",
     "edges", "never ends"),
    ("unknown distribution", HEAD + "nodes: {a: {kind: service, service_time: {dist: zipf, mean_ms: 5}}}",
     "nodes.a.service_time", "unknown dist 'zipf'"),
    ("lognormal without shape", HEAD + "nodes: {a: {kind: service, service_time: {dist: lognormal, mean_ms: 5}}}",
     "nodes.a.service_time", "exactly one of p99_ms or sigma"),
    ("lognormal p99 below mean", HEAD + "nodes: {a: {kind: service, service_time: {dist: lognormal, mean_ms: 5, p99_ms: 4}}}",
     "nodes.a.service_time", "must be larger than mean_ms"),
    ("uniform reversed", HEAD + "nodes: {a: {kind: service, service_time: {dist: uniform, min_ms: 5, max_ms: 3}}}",
     "nodes.a.service_time", "max_ms (3) must be larger than min_ms (5)"),
    ("hit ratio above 1", HEAD + "nodes: {a: {kind: cache, hit_ratio: 1.2}}", "nodes.a.hit_ratio", "at most 1"),
    ("unknown policy", HEAD.replace("entry: a", "entry: lb") + f"nodes: {{lb: {{kind: load_balancer, policy: fastest}}, a: {OK_NODE}}}\n"
     "edges: [{from: lb, to: a}]", "nodes.lb.policy", "must be one of"),
    ("load balancer with no edges", HEAD + "nodes: {a: {kind: load_balancer}}", "nodes.a", "at least one outgoing edge"),
    ("warm-up past the end", "name: x\nworkload: {entry: a, rate_rps: 1, duration_s: 10, warmup_s: 10}\nnodes: {a: " + OK_NODE + "}",
     "workload", "warmup_s (10) must be shorter than duration_s (10)"),
    ("rate and users", "name: x\nworkload: {entry: a, rate_rps: 1, users: 3, duration_s: 10}\nnodes: {a: " + OK_NODE + "}",
     "workload", "exactly one of rate_rps"),
    ("not a whole number", HEAD + "nodes: {a: {kind: service, replicas: two, service_time: {dist: constant, mean_ms: 1}}}",
     "nodes.a.replicas", "whole number"),
    ("no nodes", HEAD + "nodes: {}", "nodes", "at least one node"),
    ("bad node name", HEAD.replace("entry: a", "entry: 'a b'") + "nodes: {'a b': " + OK_NODE + "}", "nodes", "must start with a letter"),
    ("top level not a mapping", "- a\n- b\n", "", "must be a mapping"),
    ("empty file", "", "", "it is empty"),
]


@pytest.mark.parametrize("text,path,reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_bad_input_names_field_and_reason(write_yaml, text: str, path: str, reason: str) -> None:
    file = write_yaml(text)
    with pytest.raises(ScenarioError) as info:
        sandbox.load(file)
    message = str(info.value)
    assert message.startswith(str(file) + ":")
    assert any(p == path and reason in r for p, r in info.value.problems), message


def test_yaml_syntax_error_gives_line_and_column(write_yaml) -> None:
    file = write_yaml("name: x\nworkload: {entry: a, rate_rps: 10\nnodes: {a: 1}\n")
    with pytest.raises(ScenarioError) as info:
        sandbox.load(file)
    assert "line 3, column" in str(info.value) and "YAML syntax error" in str(info.value)


def test_missing_file_is_named() -> None:
    with pytest.raises(ScenarioError, match="nowhere.yaml: no such file"):
        sandbox.load("nowhere.yaml")


def test_yaml_tags_are_never_executed(write_yaml) -> None:
    # safe_load refuses Python object tags instead of constructing them
    file = write_yaml("name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ScenarioError, match="YAML"):
        sandbox.load(file)


@pytest.mark.parametrize("command", ["validate", "run", "diagram"])
def test_cli_bad_input_exits_2_without_traceback(write_yaml, command: str) -> None:
    file = write_yaml(CASES[2][1])
    proc = subprocess.run([sys.executable, "-m", "sandbox", command, str(file)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {file}: nodes.a.workers: must be at least 1, got 0"


def test_cli_override_that_breaks_the_scenario_exits_2(write_yaml) -> None:
    file = write_yaml("name: x\nworkload: {entry: a, rate_rps: 1, duration_s: 10, warmup_s: 5}\nnodes: {a: " + OK_NODE + "}")
    proc = subprocess.run([sys.executable, "-m", "sandbox", "run", str(file), "--duration", "2"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "warmup_s (5) must be shorter than duration_s (2)" in proc.stderr


def test_with_overrides_refuses_unknown_path() -> None:
    s = sandbox.loads(HEAD + "nodes: {a: " + OK_NODE + "}")
    with pytest.raises(ScenarioError, match="nodes.zz.workers: no field 'zz'"):
        sandbox.with_overrides(s, {"nodes.zz.workers": 3})
