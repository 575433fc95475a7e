"""The command line: run, validate, analyse, schema and diagram, as a user types them."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.cli import main

from .conftest import ROOT, need

CATALOG = ROOT / "scenarios" / "read_heavy_catalog.yaml"
CHECKOUT = ROOT / "scenarios" / "checkout_api.yaml"


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_run_json_has_the_documented_fields() -> None:
    code, text = run_cli("run", str(CATALOG), "--json", "--duration", "20", "--seed", "3")
    assert code == 0
    d = json.loads(text)
    assert set(d["requests"]) == {"arrived", "completed", "rejected", "failed", "in_flight"}
    assert set(d["latency_ms"]) == {"mean", "p50", "p90", "p95", "p99", "p999", "max"}
    assert {"throughput_rps", "goodput", "causes", "bottleneck", "analysis", "engine"} <= set(d)
    web = d["nodes"]["web"]
    assert {"kind", "arrived", "completed", "rejected", "utilization", "wait_ms", "queue_length"} <= set(web)
    assert set(web["wait_ms"]) == {"mean", "p95", "p99"} and set(web["queue_length"]) == {"mean", "max"}
    assert set(d["bottleneck"]) == {"node", "why"} and d["bottleneck"]["node"] in d["nodes"]
    a = d["analysis"]
    assert a["saturation_rps"] > 0
    assert {"offered_rps", "predicted_utilization", "predicted_wait_ms"} <= set(a["nodes"]["db"])
    assert set(d["engine"]) == {"wall_s", "events"} and d["engine"]["events"] > 0


def test_run_json_is_identical_for_the_same_seed_apart_from_engine() -> None:
    outs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "sandbox", "run", str(CATALOG), "--json", "--series",
                               "--seed", "11", "--duration", "15"], capture_output=True, text=True, check=True)
        d = json.loads(proc.stdout)
        d.pop("engine")
        outs.append(json.dumps(d, sort_keys=True))
    assert outs[0] == outs[1]


def test_run_overrides_rate_and_duration() -> None:
    code, text = run_cli("run", str(CHECKOUT), "--json", "--rate", "40", "--duration", "100")
    d = json.loads(text)
    measured_s = 100 - 30  # the file's warm-up is 30 s
    # Poisson count over 70 s at 40 rps: mean 2800, sd 53; 5 sd either side
    assert abs(d["requests"]["arrived"] - 40 * measured_s) < 5 * (40 * measured_s) ** 0.5


def test_run_summary_is_readable() -> None:
    code, text = run_cli("run", str(CATALOG), "--duration", "15")
    assert code == 0
    for words in ("Read-heavy catalog", "Latency ms", "p99", "Throughput", "Goodput", "Bottleneck", "theory"):
        assert words in text
    assert "mailer" in text and "events" in text


def test_validate_and_analyse() -> None:
    code, text = run_cli("validate", str(CATALOG))
    assert code == 0 and "valid" in text and "6 nodes" in text
    code, text = run_cli("analyse", str(CATALOG), "--json")
    a = json.loads(text)
    # traffic equations: 85% hits, so the db sees 15% of 900 rps
    assert a["nodes"]["db"]["offered_rps"] == pytest.approx(900 * 0.15)
    # 10% of requests enqueue an event, but the mailer cannot keep up (135% offered): the full queue turns
    # away what it predicts, and the mailer is sent the rest
    turned_away = a["nodes"]["events"]["predicted_rejected"]
    assert 0.2 < turned_away < 0.3
    assert a["nodes"]["mailer"]["offered_rps"] == pytest.approx(90 * (1 - turned_away))
    code, text = run_cli("analyse", str(CATALOG))
    assert "Saturates at" in text


def test_schema_is_json_schema_of_the_format() -> None:
    code, text = run_cli("schema")
    schema = json.loads(text)
    assert code == 0 and schema["title"] == "Scenario"
    assert {"name", "workload", "nodes", "edges"} <= set(schema["properties"])


def test_diagram_prints_dot() -> None:
    code, text = run_cli("diagram", str(CATALOG))
    assert code == 0 and text.startswith("digraph") and "web -> cache" in text and "cache -> db [label=miss" in text


def test_diagram_svg_after_a_run(tmp_path: Path) -> None:
    need(shutil.which("dot") is not None, "Graphviz's dot is not installed")
    out = tmp_path / "d.svg"
    code, text = run_cli("diagram", str(CHECKOUT), "--run", "--svg", str(out))
    assert code == 0 and out.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "BOTTLENECK" in out.read_text()


def test_diagram_svg_without_graphviz_says_so_plainly(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no dot on this PATH
    proc = subprocess.run([sys.executable, "-m", "sandbox", "diagram", str(CHECKOUT), "--svg", str(tmp_path / "x.svg")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Graphviz's `dot` program, which is not installed" in proc.stderr


def test_installed_sandbox_command() -> None:
    exe = Path(sys.executable).parent / "sandbox"
    need(exe.exists(), "the package is not installed as a command in this environment")
    proc = subprocess.run([str(exe), "validate", str(CHECKOUT)], capture_output=True, text=True)
    assert proc.returncode == 0 and "valid" in proc.stdout
