"""The analysis keeps the accuracy it claims on the benchmark's designs (bench/bench_analysis.py).

Each estimate the analysis calls exact must match its exact reference to round-off
(or its simulation reference within that reference's own 95% interval, widened
3x); each approximate one must lie within its stated band plus the reference's
interval. The references are recorded (``--record``: 8 long replications per
design, plus exact values from ``bench/analysis/exact.py``), so this test runs
the analysis only: about a second.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_analysis.py"
_spec = importlib.util.spec_from_file_location("bench_analysis", BENCH)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_there_are_enough_designs_and_the_issue_rows_are_there() -> None:
    names = {p.stem for p in bench.DESIGNS.glob("*.yaml")}
    assert len(names) >= 20
    assert {"sync_pair_one_worker", "sync_pair_thread_pool", "random_lb_finite_queue", "round_robin_mm1x3",
            "closed_tandem", "fork_join_two"} <= names


def test_every_estimate_is_within_its_stated_accuracy() -> None:
    rows = bench.rows()
    outside = [(r["design"], r["node"], r["figure"], r["accuracy"], r["predicted"], r["reference"])
               for r in rows if r["accuracy"] != "none" and r["outside"]]
    assert not outside, outside


def test_the_issue_rows_are_exact_and_on_their_exact_values() -> None:
    rows = {(r["design"], r["node"], r["figure"]): r for r in bench.rows()}
    for key in [("sync_pair_one_worker", "api", "wait_ms"), ("sync_pair_thread_pool", "db", "wait_ms"),
                ("sync_pair_thread_pool", "api", "rejected"), ("random_lb_finite_queue", "svc", "rejected"),
                ("round_robin_mm1x3", "svc", "wait_ms"), ("closed_tandem", "", "latency_ms"),
                ("fork_join_two", "", "latency_ms")]:
        r = rows[key]
        assert r["source"] == "exact" and r["accuracy"] == "exact", key
        assert math.isfinite(r["error"]) and abs(r["error"]) < 1e-5, (key, r["error"])


def test_designs_outside_the_analysis_are_declared() -> None:
    rows = bench.rows()
    for design in ("out_of_scope_retries", "out_of_scope_spike"):
        latency = [r for r in rows if r["design"] == design and r["figure"] == "latency_ms"]
        assert latency and latency[0]["accuracy"] == "none"
