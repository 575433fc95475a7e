"""Hostile input stays cheap: tiny files that expand, huge or endless files, extreme values.

Each case here once cost seconds to minutes of CPU, gigabytes of memory or a
traceback (the reliability review, ``shared/reviews/security-and-reliability.md``,
probes C1-C38). Now each is refused at the boundary with one message naming
the file, the place and the reason, quickly and in little memory.
"""

from __future__ import annotations

import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sandbox
from sandbox import ScenarioError

from .conftest import ROOT

OK_NODE = "{kind: service, service_time: {dist: exponential, mean_ms: 5}}"
HEAD = "name: x\nworkload: {entry: a, rate_rps: 10, duration_s: 10}\n"


def _bomb(levels: int) -> str:
    """The 'billion laughs': each anchor lists the one before nine times (9^levels leaves)."""
    lines = ["description:", '  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, levels):
        lines.append(f"  l{k}: &l{k} [" + ",".join([f"*l{k - 1}"] * 9) + "]")
    lines += ["name: x", f"workload: {{entry: s, rate_rps: *l{levels - 1}, duration_s: 1}}",
              "nodes: {s: {kind: service, service_time: {dist: constant, mean_ms: 1}}}"]
    return "\n".join(lines) + "\n"


def _refused(text: str, write_yaml) -> ScenarioError:
    file = write_yaml(text)
    with pytest.raises(ScenarioError) as info:
        sandbox.load(file)
    assert str(info.value).startswith(f"{file}:")
    return info.value


@pytest.mark.parametrize("levels", [7, 9])
def test_an_alias_bomb_is_refused_at_once_with_a_short_message(write_yaml, levels: int) -> None:
    text = _bomb(levels)
    assert len(text) < 600  # 429 bytes expanded into a 34.7 MB message, 503 bytes into a MemoryError
    t0 = time.perf_counter()
    exc = _refused(text, write_yaml)
    assert time.perf_counter() - t0 < 2.0
    assert len(str(exc)) < 400
    assert "alias" in str(exc) and "line" in str(exc)


def test_aliases_are_refused_even_when_harmless(write_yaml) -> None:
    exc = _refused(HEAD + "nodes:\n  a: &svc " + OK_NODE + "\n  b: *svc\n", write_yaml)
    assert any("alias" in reason for _, reason in exc.problems)


def test_a_recursive_alias_is_refused(write_yaml) -> None:
    exc = _refused(HEAD + "nodes: {a: " + OK_NODE + "}\ndescription: &d [*d]\n", write_yaml)
    assert "alias" in str(exc)


def test_duplicate_keys_are_refused_with_their_line(write_yaml) -> None:
    text = ("name: first\nname: second\nworkload: {entry: s, rate_rps: 10, duration_s: 2}\n"
            "nodes:\n  s: {kind: service, workers: 1, workers: 64, service_time: {dist: constant, mean_ms: 1}}\n")
    exc = _refused(text, write_yaml)
    assert exc.problems[0][0] == "line 2, column 1"
    assert "'name' is given twice" in exc.problems[0][1]


@pytest.mark.parametrize("where", ["rate_rps", "description"])
def test_deep_nesting_is_a_message_not_a_recursion_error(write_yaml, where: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    text = HEAD.replace("rate_rps: 10", f"rate_rps: {deep}") if where == "rate_rps" else \
        HEAD + f"description: {deep}\n"
    exc = _refused(text + "nodes: {a: " + OK_NODE + "}\n", write_yaml)
    assert "nested too deeply" in str(exc)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_not_read(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} does not exist here")
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="not a regular file"):
        sandbox.load(device)
    assert time.perf_counter() - t0 < 1.0


def test_a_file_above_the_size_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    from sandbox.yamlio import MAX_FILE_BYTES
    big = tmp_path / "big.yaml"
    big.write_text(HEAD + "nodes: {a: " + OK_NODE + "}\ndescription: '" + "x" * MAX_FILE_BYTES + "'\n")
    with pytest.raises(ScenarioError, match="at most"):
        sandbox.load(big)


def test_a_very_long_node_name_is_refused(write_yaml) -> None:
    name = "n" * 100_000  # an explicit key (? ...): YAML allows implicit keys of at most 1,024 characters
    exc = _refused(HEAD.replace("entry: a", f"entry: {name}") + f"nodes:\n  ? {name}\n  : {OK_NODE}\n", write_yaml)
    assert any("at most 64 characters" in reason for _, reason in exc.problems)
    assert len(str(exc)) < 500


@pytest.mark.parametrize("field,text", [
    ("workload.rate_rps", "name: x\nworkload: {entry: a, rate_rps: .inf, duration_s: 10}\nnodes: {a: " + OK_NODE + "}"),
    ("nodes.a.service_time.mean_ms", HEAD + "nodes: {a: {kind: service, service_time: {dist: exponential, mean_ms: .inf}}}"),
    ("nodes.a.cost_per_hour", HEAD + "nodes: {a: {kind: service, cost_per_hour: .inf, service_time: {dist: constant, mean_ms: 1}}}"),
    ("edges[0].latency_ms", HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{{from: a, to: b, latency_ms: .inf}}]"),
    ("edges[0].timeout_ms", HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{{from: a, to: b, timeout_ms: .inf}}]"),
    ("edges[0].hedge_after_ms", HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{{from: a, to: b, hedge_after_ms: .inf}}]"),
])
def test_infinity_is_refused_wherever_a_number_goes(write_yaml, field: str, text: str) -> None:
    exc = _refused(text, write_yaml)
    assert any(p == field and "must be a finite number, got inf" in r for p, r in exc.problems), exc.problems


@pytest.mark.parametrize("field,text,limit", [
    ("workload.users", "name: x\nworkload: {entry: a, users: 10000000, duration_s: 10}\nnodes: {a: " + OK_NODE + "}",
     "at most 100000"),
    ("nodes.q.consumers", HEAD.replace("entry: a", "entry: q") + f"nodes: {{q: {{kind: queue, consumers: 100000000}}, a: {OK_NODE}}}\n"
     "edges: [{from: q, to: a}]", "at most 100000"),
    ("workload.rate_rps", "name: x\nworkload: {entry: a, rate_rps: 1e300, duration_s: 10}\nnodes: {a: " + OK_NODE + "}",
     "at most 1e+08"),
])
def test_process_counts_and_rates_are_bounded(write_yaml, field: str, text: str, limit: str) -> None:
    exc = _refused(text, write_yaml)
    assert any(p == field and limit in r for p, r in exc.problems), exc.problems


def test_a_queue_whose_default_consumers_would_be_too_many_says_so(write_yaml) -> None:
    text = (HEAD.replace("entry: a", "entry: q") + "nodes: {q: {kind: queue}, a: {kind: service, replicas: 1000, "
            "workers: 100000, service_time: {dist: constant, mean_ms: 1}}}\nedges: [{from: q, to: a}]")
    exc = _refused(text, write_yaml)
    assert any(p == "nodes.q.consumers" and "100,000,000 consumers" in r for p, r in exc.problems), exc.problems


def test_the_number_of_nodes_and_edges_is_bounded(write_yaml) -> None:
    from sandbox.scenario import MAX_EDGES, MAX_NODES
    nodes = ", ".join(f"n{i}: {OK_NODE}" for i in range(MAX_NODES + 1))
    exc = _refused(HEAD.replace("entry: a", "entry: n0") + f"nodes: {{{nodes}}}\n", write_yaml)
    assert any(p == "nodes" and f"at most {MAX_NODES:,}" in r for p, r in exc.problems)
    edges = ", ".join("{from: a, to: b, probability: 0.5}" for _ in range(MAX_EDGES + 1))
    exc = _refused(HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{edges}]\n", write_yaml)
    assert any(p == "edges" and f"at most {MAX_EDGES:,}" in r for p, r in exc.problems)


def test_many_calls_between_the_same_two_nodes_are_refused(write_yaml) -> None:
    from sandbox.scenario import MAX_CALLS_BETWEEN
    edges = ", ".join("{from: a, to: b}" for _ in range(MAX_CALLS_BETWEEN + 1))
    exc = _refused(HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{edges}]\n", write_yaml)
    assert any(p == "edges" and "a -> b" in r for p, r in exc.problems), exc.problems


def test_control_characters_and_very_long_names_are_refused(write_yaml) -> None:
    exc = _refused("name: \"a\\0b\"\nworkload: {entry: a, rate_rps: 10, duration_s: 10}\nnodes: {a: " + OK_NODE + "}",
                   write_yaml)
    assert any(p == "name" and "control character" in r for p, r in exc.problems)
    exc = _refused(f"name: {'x' * 1000}\nworkload: {{entry: a, rate_rps: 10, duration_s: 10}}\nnodes: {{a: {OK_NODE}}}",
                   write_yaml)
    assert any(p == "name" and "at most 200 characters" in r for p, r in exc.problems)


def test_values_in_messages_are_shown_briefly(write_yaml) -> None:
    big = "[" + ", ".join(["1"] * 100_000) + "]"
    exc = _refused(HEAD.replace("rate_rps: 10", f"rate_rps: {big}") + "nodes: {a: " + OK_NODE + "}\n", write_yaml)
    assert len(str(exc)) < 300 and "..." in str(exc)


# ── the command line ─────────────────────────────────────────────────────────

def _first_line_of_stderr(*args: str) -> str:
    """The first line a CLI command writes to stderr (it is stopped then: these runs would take hours)."""
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        ready, _, _ = select.select([proc.stderr], [], [], 60)
        return proc.stderr.readline() if ready else ""
    finally:
        proc.kill()
        proc.wait()


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


@pytest.mark.parametrize("args,reason", [
    (["run", "scenarios/checkout_api.yaml", "--seed", "-1"], "--seed: must be non-negative, got -1"),
    (["diagram", "scenarios/checkout_api.yaml", "--run", "--seed", "-1"], "--seed: must be non-negative, got -1"),
    (["run", "scenarios/checkout_api.yaml", "--rate", "inf"], "--rate: must be a finite number above 0, got inf"),
    (["run", "scenarios/checkout_api.yaml", "--rate", "nan"], "--rate: must be a finite number above 0, got nan"),
    (["analyse", "scenarios/checkout_api.yaml", "--rate", "nan"], "--rate: must be a finite number above 0, got nan"),
    (["run", "scenarios/checkout_api.yaml", "--duration", "inf"], "--duration: must be a finite number above 0"),
])
def test_cli_options_are_checked_like_fields(args: list[str], reason: str) -> None:
    proc = _cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert reason in proc.stderr


def test_validate_and_run_agree_on_an_infinite_rate(write_yaml) -> None:
    file = write_yaml("name: x\nworkload: {entry: a, rate_rps: .inf, duration_s: 10}\nnodes: {a: " + OK_NODE + "}")
    for command in ("validate", "run", "analyse"):
        proc = _cli(command, str(file))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "workload.rate_rps: must be a finite number, got inf" in proc.stderr


def test_report_never_overwrites_an_earlier_report(tmp_path: Path) -> None:
    out = tmp_path / "review"
    out.mkdir()
    (out / "report.md").write_text("my notes\n")
    proc = _cli("report", "scenarios/checkout_api.yaml", "-n", "2", "--duration", "40", "--workers", "1",
                "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "already holds report.md" in proc.stderr and "--force" in proc.stderr
    assert (out / "report.md").read_text() == "my notes\n"


def test_report_refuses_a_bad_output_folder_before_running_anything(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    t0 = time.perf_counter()
    proc = _cli("report", "scenarios/checkout_api.yaml", "-n", "2", "--workers", "1", "--out", str(afile / "sub"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--out" in proc.stderr and "cannot be created" in proc.stderr
    assert time.perf_counter() - t0 < 15  # refused before the runs, not after them


def test_a_cli_run_of_a_huge_workload_warns_before_it_starts(write_yaml) -> None:
    file = write_yaml("name: x\nworkload: {entry: a, rate_rps: 1e7, duration_s: 1e5}\nnodes: {a: " + OK_NODE + "}")
    line = _first_line_of_stderr("run", str(file))
    assert "about 1,000,000,000,000 requests" in line


def test_loading_stays_within_memory_bounds(write_yaml) -> None:
    """The 9^9 alias bomb, under a 1 GB address-space limit, ends with a message and exit 2."""
    file = write_yaml(_bomb(9))
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
            "from sandbox.cli import main; sys.exit(main(['validate', sys.argv[1]]))")
    proc = subprocess.run([sys.executable, "-c", code, str(file)], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    assert "alias" in proc.stderr


@pytest.mark.parametrize("data", [
    {"workload": {"entry": ["a"]}, "nodes": {"a": {}, "b": {}}, "edges": [{"from": ["a"], "to": "b"}, "junk"]},
    {"workload": "x", "nodes": ["a"], "edges": {"from": "a"}},
    {"nodes": {"a": 1}, "edges": [None, {"from": {"x": 1}, "to": "a"}]},
])
def test_laying_out_a_design_of_any_shape_never_fails(data: dict) -> None:
    from sandbox import edit
    layout = edit.auto_layout(data)
    names = data["nodes"] if isinstance(data["nodes"], dict) else {}
    assert set(layout) == set(names)


# ── what a second look at the probes found ───────────────────────────────────

def test_a_traced_request_keeps_a_bounded_number_of_spans() -> None:
    from sandbox.components import MAX_SPANS
    nodes = {f"s{i}": {"kind": "service", "workers": 10_000, "queue_limit": None,
                       "service_time": {"dist": "constant", "mean_ms": 0}} for i in range(12)}
    edges = [{"from": f"s{i}", "to": f"s{i + 1}"} for i in range(11) for _ in range(2)]   # 4,095 calls a request
    s = sandbox.from_dict({"name": "fan", "workload": {"entry": "s0", "rate_rps": 2, "duration_s": 3},
                           "nodes": nodes, "edges": edges})
    r = sandbox.simulate(s, seed=1)
    assert r.traces and max(len(t.spans) for t in r.traces) == MAX_SPANS


def test_users_and_consumers_are_bounded_in_all_not_only_each(write_yaml) -> None:
    text = (HEAD.replace("entry: a", "entry: q1") + "nodes: {q1: {kind: queue, consumers: 60000}, "
            "q2: {kind: queue, consumers: 60000}, a: " + OK_NODE + "}\nedges: [{from: q1, to: q2}, {from: q2, to: a}]")
    exc = _refused(text, write_yaml)
    assert any(p == "nodes" and "120,000 closed-loop users and queue consumers in all" in r for p, r in exc.problems)


@pytest.mark.parametrize("field,text", [
    ("nodes.a.service_time.mean_ms", HEAD + "nodes: {a: {kind: service, service_time: {dist: exponential, mean_ms: 1e308}}}"),
    ("nodes.a.cost_per_hour", HEAD + "nodes: {a: {kind: service, cost_per_hour: 1e308, service_time: {dist: constant, mean_ms: 1}}}"),
    ("edges[0].latency_ms", HEAD + f"nodes: {{a: {OK_NODE}, b: {OK_NODE}}}\nedges: [{{from: a, to: b, latency_ms: 1e308}}]"),
])
def test_huge_finite_numbers_are_refused_too(write_yaml, field: str, text: str) -> None:
    exc = _refused(text, write_yaml)
    assert any(p == field and "must be at most" in r for p, r in exc.problems), exc.problems


def test_a_name_with_a_direction_override_is_refused(write_yaml) -> None:
    exc = _refused("name: \"admin\\u202Etxt.exe\"\nworkload: {entry: a, rate_rps: 10, duration_s: 10}\n"
                   "nodes: {a: " + OK_NODE + "}", write_yaml)
    assert any(p == "name" and "control characters" in r for p, r in exc.problems)


def test_a_cli_run_of_a_design_whose_requests_fan_out_enormously_warns(write_yaml) -> None:
    nodes = ", ".join(f"s{i}: {OK_NODE}" for i in range(9))
    edges = ", ".join("{from: s%d, to: s%d}" % (i, i + 1) for i in range(8) for _ in range(10))
    file = write_yaml(f"name: x\nworkload: {{entry: s0, rate_rps: 1, duration_s: 5}}\nnodes: {{{nodes}}}\n"
                      f"edges: [{edges}]\n")
    line = _first_line_of_stderr("run", str(file))
    assert "each request makes about 111,111,111 calls" in line


def test_an_option_that_breaks_the_scenario_is_named(tmp_path: Path) -> None:
    proc = _cli("run", "scenarios/checkout_api.yaml", "--rate", "1e9")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: --rate: must be at most 1e+08")


def test_report_never_replaces_any_file_a_report_writes(tmp_path: Path) -> None:
    out = tmp_path / "review"
    out.mkdir()
    (out / "diagram.svg").write_text("<svg>mine</svg>")
    proc = _cli("report", "scenarios/checkout_api.yaml", "-n", "2", "--workers", "1", "--out", str(out))
    assert proc.returncode == 2 and "already holds diagram.svg" in proc.stderr
    assert (out / "diagram.svg").read_text() == "<svg>mine</svg>"


def test_a_report_that_cannot_be_made_leaves_no_empty_folder(tmp_path: Path, write_yaml) -> None:
    file = write_yaml("name: x\nworkload: {entry: a, rate_rps: 10, duration_s: 10}\nnodes: {a: " + OK_NODE + "}")
    out = tmp_path / "new-review"
    proc = _cli("report", str(file), "-n", "2", "--workers", "1", "--set", "nodes.a.workers=0", "--out", str(out))
    assert proc.returncode == 2 and not out.exists()


def test_output_that_cannot_be_written_is_a_message() -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "sandbox", "analyse", "scenarios/checkout_api.yaml", "--json"],
                              stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "the output could not be written" in proc.stderr


def test_a_prediction_that_is_not_a_finite_number_is_refused() -> None:
    proc = _cli("challenge", "check", "scenarios/challenges/01_scale_out.yaml", "--predict", "p99=nan")
    assert proc.returncode == 2 and "must be ID=NUMBER" in proc.stderr


def test_diagram_svg_to_standard_output() -> None:
    import shutil
    if shutil.which("dot") is None:
        pytest.skip("needs Graphviz's dot")
    proc = subprocess.run([sys.executable, "-m", "sandbox", "diagram", "scenarios/checkout_api.yaml", "--svg", "-"],
                          capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and b"<svg" in proc.stdout and not (ROOT / "-").exists()
