"""Experiments: intervals that cover, pairs on identical traffic, sweeps with knees, and their CLI."""

from __future__ import annotations

import io
import json
import math
import shutil
from math import comb

import numpy as np
import pytest

import sandbox
from sandbox.cli import main
from sandbox.errors import ScenarioError
from sandbox.curves import knee, pareto
from sandbox.experiments import Delta, compare, replicate, summarise, sweep, verdict
from sandbox.intervals import Estimate, estimate, paired_estimate, t_quantile
from sandbox.settings import parse_range, parse_setting

MM1 = """
name: mm1
workload: {entry: s, rate_rps: 50, duration_s: 30, warmup_s: 2}
nodes: {s: {kind: service, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}}
"""


@pytest.fixture
def mm1() -> sandbox.Scenario:
    """M/M/1 with lambda = 50/s, mu = 100/s: mean response 1 / (mu - lambda) = 20 ms."""
    return sandbox.loads(MM1)


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


# ── intervals ────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("confidence, df, table", [
    (0.95, 1, 12.706), (0.95, 2, 4.303), (0.95, 3, 3.182), (0.95, 5, 2.571), (0.95, 10, 2.228),
    (0.95, 20, 2.086), (0.95, 30, 2.042), (0.95, 60, 2.000), (0.95, 120, 1.980),
    (0.99, 10, 3.169), (0.90, 5, 2.015),
])
def test_t_quantile_matches_the_published_table(confidence: float, df: int, table: float) -> None:
    # printed tables round to 3 decimals, hence 5e-4
    assert t_quantile(confidence, df) == pytest.approx(table, abs=5e-4)


def test_interval_formula_by_hand() -> None:
    xs = [3.0, 5.0, 4.0, 6.0]                     # mean 4.5, s^2 = 5/3
    e = estimate(xs)
    assert e.mean == 4.5 and e.n == 4
    assert e.half_width == pytest.approx(3.182446 * math.sqrt(5 / 3) / 2, rel=1e-6)
    d = paired_estimate([1.0, 2.0, 3.0], [2.0, 4.0, 3.0])   # differences 1, 2, 0
    assert d.mean == 1.0 and d.half_width == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-6)
    assert estimate([7.0]).half_width is None


def _binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))


def test_t_interval_covers_the_true_mean_95_percent_of_the_time() -> None:
    """4,000 batches of 5 normal samples: coverage within 3 binomial standard deviations of 95%."""
    rng = np.random.default_rng(2024)
    batches, n = 4000, 5
    data = rng.normal(20.0, 3.0, size=(batches, n))
    covered = sum(e.low <= 20.0 <= e.high for e in (estimate(list(row)) for row in data))
    sd = math.sqrt(0.95 * 0.05 / batches)         # 0.0034
    assert abs(covered / batches - 0.95) < 3 * sd
    # the check has teeth: a normal (z) interval, too narrow for 4 degrees of freedom, misses the band
    z_cover = np.mean(np.abs(data.mean(axis=1) - 20.0) <= 1.96 * data.std(axis=1, ddof=1) / math.sqrt(n))
    assert abs(z_cover - 0.95) > 3 * sd


def test_replications_of_mm1_cover_the_theoretical_mean_response(mm1: sandbox.Scenario) -> None:
    """40 batches of 5 runs: each batch's 95% interval of the mean response should hold 20 ms.

    Covered batches are Binomial(40, 0.95) if the interval is right: P(X <= 33) = 0.34%,
    so requiring at least 34 fails a correct interval rarely, and fails one that really
    covers 80% (say, z instead of t) with probability 0.71.
    """
    assert _binomial_cdf(33, 40, 0.95) < 0.004 and _binomial_cdf(33, 40, 0.80) > 0.7
    rep = replicate(mm1, n=200, workers=1)
    means = [r.figures["latency_ms.mean"] for r in rep.runs]
    covered = sum(estimate(means[k:k + 5]).low <= 20.0 <= estimate(means[k:k + 5]).high
                  for k in range(0, 200, 5))
    assert covered >= 34
    overall = rep.figures["latency_ms.mean"]
    assert overall.low <= 20.0 <= overall.high


# ── replications ─────────────────────────────────────────────────────────────

def test_replicate_runs_consecutive_seeds_and_summarises_each(mm1: sandbox.Scenario) -> None:
    rep = replicate(mm1, n=3, seed=7, workers=1)
    assert rep.seeds == [7, 8, 9] and [r.seed for r in rep.runs] == [7, 8, 9]
    for r in rep.runs:
        assert r == summarise(sandbox.simulate(mm1, seed=r.seed))
    p99 = rep.figures["latency_ms.p99"]
    values = [r.figures["latency_ms.p99"] for r in rep.runs]
    assert p99.mean == pytest.approx(sum(values) / 3) and p99.n == 3
    assert rep.headline().startswith("p99 = ") and "over 3 runs" in rep.headline()
    assert json.loads(json.dumps(rep.to_dict()))["figures"]["latency_ms.p99"]["half_width"] > 0


def test_a_process_pool_gives_the_same_figures_as_this_process(mm1: sandbox.Scenario) -> None:
    here = replicate(mm1, n=4, workers=1)
    pool = replicate(mm1, n=4, workers=2)
    assert here == pool and here.to_dict() == pool.to_dict()


def test_a_single_run_is_refused_for_an_interval(mm1: sandbox.Scenario) -> None:
    with pytest.raises(ScenarioError, match="at least 2 runs"):
        replicate(mm1, n=1, workers=1)


# ── A/B comparison ───────────────────────────────────────────────────────────

def test_a_design_against_itself_differs_by_exactly_zero(mm1: sandbox.Scenario) -> None:
    """Common random numbers: seed k gives B exactly A's traffic and draws."""
    c = compare(mm1, mm1, n=3, workers=1)
    for d in c.deltas.values():
        assert d.diff.mean == 0.0 and not d.significant
    assert "unchanged within the noise" in c.verdict


def test_pairing_on_identical_traffic_narrows_the_interval(mm1: sandbox.Scenario) -> None:
    """A 10% faster server: per-seed differences vary far less than either design does."""
    c = compare(mm1, {"nodes.s.service_time.mean_ms": 9.0}, n=6, workers=1)
    d = c.deltas["latency_ms.mean"]
    unpaired = math.sqrt(d.a.half_width ** 2 + d.b.half_width ** 2)
    assert d.diff.half_width < unpaired / 2
    # theory: 1/(100-50) = 20 ms against 1/(111.1-50) = 16.4 ms, 3.6 ms faster
    assert d.significant and -5.0 < d.diff.mean < -2.0


def test_a_change_lowers_p99_and_the_verdict_says_so(mm1: sandbox.Scenario) -> None:
    busy = sandbox.with_overrides(mm1, {"workload.rate_rps": 85})
    c = compare(busy, {"nodes.s.replicas": 2}, n=4, workers=1)
    assert c.b.scenario == "mm1 with nodes.s.replicas=2"
    p99 = c.deltas["latency_ms.p99"]
    assert p99.significant and p99.diff.mean < 0
    assert c.verdict.startswith("B lowers p99 by ")
    if "cost_per_hour" in c.deltas:  # the results carry cost: two replicas cost twice one
        assert "costs 100% more" in c.verdict
    else:
        assert "cost" not in c.verdict


def _delta(diff: float, hw: float, a: float = 100.0) -> Delta:
    e = Estimate(a, 1.0, 5, 1.0)
    return Delta(e, Estimate(a + diff, 1.0, 5, 1.0), Estimate(diff, hw, 5, hw), diff / a)


def test_verdict_words() -> None:
    assert verdict({"latency_ms.p99": _delta(-38.0, 6.0)}) == "B lowers p99 by 38.0 ± 6.0 ms (-38%)."
    assert verdict({"latency_ms.p99": _delta(12.0, 3.0), "cost_per_hour": _delta(0.012, 0.0, a=0.1)}) == \
        "B raises p99 by 12.0 ± 3.0 ms (+12%) and costs 12% more."
    assert "unchanged within the noise" in verdict({"latency_ms.p99": _delta(3.0, 8.0)})


# ── sweeps ───────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("text, path, values", [
    ("workload.rate_rps=100:2000:20", "workload.rate_rps", list(range(100, 2001, 100))),
    ("nodes.web.replicas=1:8", "nodes.web.replicas", [1, 2, 3, 4, 5, 6, 7, 8]),
    ("nodes.web.replicas=8:6", "nodes.web.replicas", [8, 7, 6]),
    ("x.mean_ms=0.5:1.5:3", "x.mean_ms", [0.5, 1.0, 1.5]),
    ("x.y=1:2:3", "x.y", [1.0, 1.5, 2.0]),
    ("nodes.lb.policy=random,power_of_two", "nodes.lb.policy", ["random", "power_of_two"]),
])
def test_parse_range(text: str, path: str, values: list) -> None:
    axis = parse_range(text)
    assert axis.path == path and axis.values == values
    assert [type(v) for v in axis.values] == [type(v) for v in values]


@pytest.mark.parametrize("text, reason", [
    ("workload.rate_rps", "expected PATH=START:STOP:STEPS"),
    ("=1:5", "is not a dotted field path"),
    ("workload.rate_rps=", "no START:STOP:STEPS"),
    ("workload.rate_rps=a:5:3", "START and STOP must be numbers"),
    ("workload.rate_rps=1.5:5", "whole steps"),
    ("workload.rate_rps=1:5:1", "STEPS must be a whole number from 2"),
    ("workload.rate_rps=1:5:2.5", "STEPS must be a whole number from 2"),
    ("workload.rate_rps=1:5:3:4", "expected START:STOP:STEPS or START:STOP"),
])
def test_malformed_ranges_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ScenarioError, match=reason) as err:
        parse_range(text)
    assert str(err.value).startswith(f"setting: {text}: ")   # the library names no CLI flag


def test_parse_setting() -> None:
    assert parse_setting("nodes.db.queue_limit=null") == ("nodes.db.queue_limit", None)
    assert parse_setting("workload.rate_rps=2.5e2") == ("workload.rate_rps", 250.0)


def test_an_int_field_sweeps_whole_numbers_and_a_float_field_floats(mm1: sandbox.Scenario) -> None:
    calls: list[int] = []
    sw = sweep(mm1, ["nodes.s.workers=1:8:3", "workload.rate_rps=40:60:2"], n=1, workers=1,
               progress=lambda done, total: calls.append(total))
    assert sw.axes[0].values == [1, 4, 8]          # 1, 4.5, 8 rounded to whole workers
    assert sw.axes[1].values == [40.0, 60.0]
    # the grid: the first axis varies fastest
    assert [tuple(p.settings.values()) for p in sw.points] == [(1, 40.0), (4, 40.0), (8, 40.0),
                                                               (1, 60.0), (4, 60.0), (8, 60.0)]
    assert calls[-1] == 6 and len(sw.knees) == 2   # one curve (and knee search) per rate


def test_a_bad_path_or_value_is_refused_before_anything_runs(mm1: sandbox.Scenario) -> None:
    ran: list[int] = []
    with pytest.raises(ScenarioError, match="nodes.s.workerz"):
        sweep(mm1, ["nodes.s.workerz=1:3"], n=2, workers=1, progress=lambda d, t: ran.append(d))
    with pytest.raises(ScenarioError, match=r"must be at least 1, got 0 \(at nodes.s.workers=0\)"):
        sweep(mm1, ["nodes.s.workers=0:2"], n=2, workers=1, progress=lambda d, t: ran.append(d))
    with pytest.raises(ScenarioError, match="no field 'nope' to change"):
        sweep(mm1, ["nodes.nope.workers=1:2"], n=2, workers=1, progress=lambda d, t: ran.append(d))
    assert ran == []


def test_the_knee_of_the_mm1_load_curve_is_where_theory_puts_it(mm1: sandbox.Scenario) -> None:
    """p99 of M/M/1 is ln(100) / (mu - lambda): 51 ms at rho 0.1; twice that (102 ms) at rho 0.55.

    At rho 0.4 theory gives 77 ms and at 0.7 it gives 154 ms, so the first point past
    2x lies at rho 0.7 with room for sampling noise either side.
    """
    sw = sweep(sandbox.with_overrides(mm1, {"workload.duration_s": 60}),
               ["workload.rate_rps=10,40,70,90"], n=3, workers=1)
    k = sw.knees[0]
    assert (k.value, k.safe) == (70.0, 40.0)
    assert "Knee at workload.rate_rps = 70" in k.sentence()
    assert not any(p.pareto for p in sw.points)    # only the load varies: no designs to rank
    table = sw.text()
    assert "knee" in table and "Pareto" not in table


def test_more_replicas_trace_a_pareto_frontier_and_a_knee_going_down(mm1: sandbox.Scenario) -> None:
    busy = sandbox.with_overrides(mm1, {"workload.rate_rps": 90})
    sw = sweep(busy, ["nodes.s.replicas=1:3"], n=2, workers=1)
    p99 = [p.figures["latency_ms.p99"].mean for p in sw.points]
    assert p99[0] > p99[1] > p99[2]
    assert all(p.pareto for p in sw.points)        # each replica costs more and lowers p99
    assert sw.knees[0].value == 1 and sw.knees[0].safe == 2   # walking down from 3 replicas
    assert sw.resource in ("cost_per_hour", "workers")


def test_knee_and_pareto_helpers() -> None:
    rho = [k / 20 for k in range(1, 20)]
    p99 = [46.05 / (1 - r) for r in rho]           # M/M/1, mean service 10 ms
    assert rho[knee(rho, p99)] == pytest.approx(0.55)   # 2 x p99(0.05) = 96.9 ms first passed at 0.55
    assert knee([1, 2, 3], [5.0, 9.0, float("nan")]) == 2   # a point with no answer is past the knee
    assert knee([1], [5.0]) is None
    assert pareto([1, 1, 2], [10, 10, 5]) == [0, 1, 2]      # ties both stay
    assert pareto([1, 2, float("nan")], [10, 20, 1]) == [0]


# ── the command line ─────────────────────────────────────────────────────────

def test_cli_replicate_json_keeps_stdout_clean(write_yaml, capsys) -> None:
    path = write_yaml(MM1)
    code, text = run_cli("replicate", str(path), "-n", "3", "--workers", "1", "--json")
    assert code == 0 and capsys.readouterr().err == ""
    d = json.loads(text)
    assert d["seeds"] == [0, 1, 2] and d["figures"]["latency_ms.p99"]["n"] == 3
    assert {"mean", "half_width", "low", "high"} <= set(d["figures"]["goodput"])


def test_cli_progress_goes_to_stderr(write_yaml, capsys) -> None:
    path = write_yaml(MM1)
    code, text = run_cli("replicate", str(path), "-n", "2", "--workers", "1", "--json", "--progress")
    err = capsys.readouterr().err
    assert code == 0 and "2/2 runs" in err and "#" in err
    json.loads(text)


def test_cli_replicate_text(write_yaml) -> None:
    code, text = run_cli("replicate", str(write_yaml(MM1)), "-n", "3", "--workers", "2")
    assert code == 0
    assert "3 runs, seeds 0-2" in text and "p99 = " in text and "over 3 runs" in text


def test_cli_compare_with_a_change(write_yaml) -> None:
    path = write_yaml(MM1)
    busy = write_yaml(MM1.replace("rate_rps: 50", "rate_rps: 85"), "busy.yaml")   # rho 0.85, then 0.43
    code, text = run_cli("compare", str(busy), "--set", "nodes.s.workers=2", "-n", "3", "--workers", "1")
    assert code == 0
    assert "B = mm1 with nodes.s.workers=2" in text and "Verdict: B lowers p99" in text
    code, text = run_cli("compare", str(path), str(path), "-n", "2", "--workers", "1", "--json")
    assert code == 0 and json.loads(text)["deltas"]["latency_ms.p99"]["diff"]["mean"] == 0


def test_cli_sweep_prints_table_and_knee(write_yaml) -> None:
    path = write_yaml(MM1)
    code, text = run_cli("sweep", str(path), "--set", "workload.rate_rps=10,40,90", "-n", "2", "--workers", "1")
    assert code == 0 and "rate_rps" in text and "Knee at workload.rate_rps = " in text and "knee" in text.split("Knee")[0]
    code, text = run_cli("sweep", str(path), "--set", "nodes.s.replicas=1:2", "-n", "1", "--workers", "1", "--json")
    d = json.loads(text)
    assert [p["settings"]["nodes.s.replicas"] for p in d["points"]] == [1, 2]
    assert d["points"][0]["figures"]["latency_ms.p99"]["half_width"] is None   # one run: no interval


@pytest.mark.parametrize("args, message", [
    (["replicate", "{f}", "-n", "1"], "-n: a confidence interval needs at least 2 runs, got 1"),
    (["compare", "{f}", "-n", "1", "--set", "nodes.s.workers=2"], "needs at least 2 runs"),
    (["compare", "{f}"], "give design B as a second file, or changes with --set"),
    (["compare", "{f}", "--set", "nodes.s.workers"], "expected PATH=VALUE"),
    (["compare", "{f}", "--set", "nodes.s.workers=0"], "nodes.s.workers: must be at least 1, got 0"),
    (["sweep", "{f}"], "a sweep varies one or two settings"),
    (["sweep", "{f}", "--set", "workload.rate_rps=1:x:3"], "START and STOP must be numbers"),
    (["sweep", "{f}", "--set", "nodes.web.replicas=1:3"], "no field 'web' to change"),
    (["sweep", "{f}", "--set", "a.b=1:2", "--set", "a.c=1:2", "--set", "a.d=1:2"], "one or two settings"),
    (["sweep", "{f}", "--set", "workload.rate_rps=1:2", "-n", "0"], "-n: must be at least 1, got 0"),
    (["replicate", "{f}", "--workers", "0"], "--workers: must be at least 1, got 0"),
    (["replicate", "{f}", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one or the other"),
    (["replicate", "{f}", "--duration", "1"], "warmup_s (2) must be shorter than duration_s (1)"),
    (["replicate", "missing.yaml"], "missing.yaml: no such file"),
    (["report", "{f}", "--out", "{f}"], "exists and is not a folder"),
])
def test_cli_bad_input_exits_2_with_one_message(write_yaml, capsys, args: list[str], message: str) -> None:
    path = str(write_yaml(MM1))
    code, text = run_cli(*[a.replace("{f}", path) for a in args])
    err = capsys.readouterr().err
    assert code == 2 and text == ""
    assert message in err and "Traceback" not in err and err.startswith("error: ")


def test_cli_report_writes_markdown_diagram_and_charts(write_yaml, tmp_path) -> None:
    path = write_yaml(MM1)
    out = tmp_path / "review"
    code, text = run_cli("report", str(path), "--set", "nodes.s.workers=2", "--sweep", "nodes.s.workers=1:2",
                         "-n", "2", "--workers", "1", "--out", str(out))
    assert code == 0 and text.strip() == f"wrote {out / 'report.md'}"
    md = (out / "report.md").read_text()
    for heading in ("# Design review: mm1", "## The design", "## Workload and assumptions", "## Figures over 2 runs",
                    "## A/B comparison", "## Sweep", "**Verdict**"):
        assert heading in md
    diagram = "diagram.svg" if shutil.which("dot") else "diagram.dot"
    assert (out / diagram).exists() and f"({diagram})" in md or "```dot" in md
    for png in ("latency.png", "series.png", "difference.png", "sweep_latency.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"({png})" in md
    assert "p99 = " in md and " ± " in md
