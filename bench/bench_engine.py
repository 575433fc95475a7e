"""Speed and memory benchmark: the sandbox engine against hand-written SimPy models.

    .venv/bin/python bench/bench_engine.py             # speed (5 rounds) + memory (1M and 10M requests)
    .venv/bin/python bench/bench_engine.py --quick     # speed only
    .venv/bin/python bench/bench_engine.py --rounds 9 --no-memory

Speed: for each scenario in bench/scenarios/ (M/M/1 and the five-station web
tier), runs in turn, alternating which goes first in each round,

  (a) the project through its CLI, ``python -m sandbox run FILE --json --seed K``,
  (b) the hand-written model, ``python bench/handwritten.py MODEL --seed K``,

each in a fresh subprocess. It times the whole command (interpreter start,
imports, scenario loading, simulation, output; wall clock, and the child's CPU
time, which a busy machine disturbs less) and reads the in-process engine
time each reports (the project's ``engine.wall_s``; the hand-written model's
own timing of building and running its model, leaving out its NumPy summary,
as ``engine.wall_s`` leaves out the project's summary). The machine is shared
and noisy, so it reports medians over the rounds. Throughput is simulated
requests (arrivals) per wall-clock second; the ratio is project / hand-written
throughput. Target: >= 0.80x (PASS); 0.67x to 0.80x is below target (WARN);
below 0.67x is a defect (FAIL); judged on the wall-clock ratios (whole command
and engine only), the CPU-time ratio is shown for information. It also checks that the two agree: mean
latency within 3% (averaged over the rounds' seeds).

Memory: runs the project on the M/M/1 scenario for about 1 million and about
10 million simulated requests (``--duration``), each in its own subprocess, and
reads that child's peak resident set size from ``os.wait4``. Target: < 300 MiB
at 10M requests, and bounded: the 10M run may use at most 1.25x (or 25 MiB
more than) the 1M run. A last diagnostic run keeps the 10M run's simulated
duration at 1 request per second, to tell growth per request from growth per
simulated second.

Exit code: 1 when any check FAILs (defect), 0 otherwise. Raw figures go to
bench/out/bench_results.json (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"

SCENARIOS = {  # model name in handwritten.py -> scenario file, its arrival rate
    "mm1": (BENCH / "scenarios" / "mm1.yaml", 80.0),
    "five_station": (BENCH / "scenarios" / "five_station.yaml", 750.0),
}
TARGET, DEFECT = 0.80, 0.67          # throughput ratio project / hand-written
MEAN_TOLERANCE = 0.03                # mean latency agreement
MEMORY_LIMIT_MIB = 300.0
GROWTH_LIMIT, GROWTH_SLACK_MIB = 1.25, 25.0
MM1_THEORY = {"mean": 50.0, "p99": 230.2585}  # 1/(mu-lambda), ln(100)/(mu-lambda), in ms

MIB = 1024 * 1024


@dataclass
class Run:
    side: str          # "project" or "handwritten"
    scenario: str
    seed: int
    arrived: int
    completed: int
    mean_ms: float
    p99_ms: float
    command_s: float   # whole subprocess, wall clock
    command_cpu_s: float  # whole subprocess, CPU time (user + system): less sensitive to a busy machine
    engine_s: float    # in-process simulation time, as reported by the child
    peak_rss_mib: float


# ── running children ─────────────────────────────────────────────────────────

def run_child(cmd: list[str]) -> tuple[str, float, float, float]:
    """Run `cmd` in a subprocess; (stdout, wall s, CPU s (user + system), the child's own peak RSS in MiB).

    ``os.wait4`` gives the resource usage of exactly this child (unlike
    ``getrusage(RUSAGE_CHILDREN)``, which keeps the largest child seen so far).
    """
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{err.read().decode()}")
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS
    rss = usage.ru_maxrss / MIB if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return out.decode(), wall, usage.ru_utime + usage.ru_stime, rss


def project_cmd(scenario: str, seed: int, duration: float | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "sandbox", "run", str(SCENARIOS[scenario][0]), "--json", "--seed", str(seed)]
    return cmd + (["--duration", f"{duration:g}"] if duration is not None else [])


def handwritten_cmd(scenario: str, seed: int, duration: float | None = None) -> list[str]:
    cmd = [sys.executable, str(BENCH / "handwritten.py"), scenario, "--seed", str(seed)]
    return cmd + (["--duration", f"{duration:g}"] if duration is not None else [])


def run_project(scenario: str, seed: int) -> Run:
    out, wall, cpu, rss = run_child(project_cmd(scenario, seed))
    d = json.loads(out)
    return Run("project", scenario, seed, d["requests"]["arrived"], d["requests"]["completed"],
               d["latency_ms"]["mean"], d["latency_ms"]["p99"], wall, cpu, d["engine"]["wall_s"], rss)


def run_handwritten(scenario: str, seed: int) -> Run:
    out, wall, cpu, rss = run_child(handwritten_cmd(scenario, seed))
    d = json.loads(out)
    return Run("handwritten", scenario, seed, d["arrived"], d["completed"],
               d["latency_ms"]["mean"], d["latency_ms"]["p99"], wall, cpu, d["engine"]["wall_s"], rss)


# ── speed ────────────────────────────────────────────────────────────────────

def speed(rounds: int, scenarios: list[str], log) -> list[Run]:
    # one short untimed run of each command first: byte-compiles, warms the file cache
    for s in scenarios:
        run_child(project_cmd(s, 0, duration=5))
        run_child(handwritten_cmd(s, 0, duration=5))
    runs: list[Run] = []
    for k in range(rounds):
        seed = k + 1
        for s in scenarios:
            order = (run_project, run_handwritten) if k % 2 == 0 else (run_handwritten, run_project)
            for fn in order:
                r = fn(s, seed)
                runs.append(r)
                log(f"  round {k + 1}/{rounds} {s:<12} {r.side:<11} seed {seed}: {r.arrived:>9,} requests, "
                    f"command {r.command_s:6.2f} s, engine {r.engine_s:6.2f} s, mean {r.mean_ms:7.3f} ms")
    return runs


def _median(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def _rate(runs: list[Run], attr: str) -> float:
    """Median throughput (simulated requests per wall second)."""
    return statistics.median(r.arrived / getattr(r, attr) for r in runs)


def verdict(ratio: float) -> str:
    return "PASS" if ratio >= TARGET else ("WARN" if ratio >= DEFECT else "FAIL")


def speed_report(runs: list[Run], scenarios: list[str]) -> tuple[list[str], dict, bool]:
    lines: list[str] = []
    summary: dict = {}
    ok = True
    head = (f"{'scenario':<13}{'side':<12}{'requests':>9}{'command s':>11}{'req/s cmd':>11}{'cmd CPU s':>11}"
            f"{'engine s':>10}{'req/s eng':>11}{'mean ms':>9}{'p99 ms':>9}{'peak RSS':>10}")
    lines += [head, "-" * len(head)]
    for s in scenarios:
        sides = {side: [r for r in runs if r.scenario == s and r.side == side] for side in ("project", "handwritten")}
        row = {}
        for side, rs in sides.items():
            row[side] = {
                "requests": round(_median(rs, "arrived")),
                "command_s": _median(rs, "command_s"), "command_rps": _rate(rs, "command_s"),
                "command_cpu_s": _median(rs, "command_cpu_s"), "command_cpu_rps": _rate(rs, "command_cpu_s"),
                "engine_s": _median(rs, "engine_s"), "engine_rps": _rate(rs, "engine_s"),
                "mean_ms": statistics.fmean(r.mean_ms for r in rs),
                "p99_ms": statistics.fmean(r.p99_ms for r in rs),
                "peak_rss_mib": max(r.peak_rss_mib for r in rs),
            }
            x = row[side]
            lines.append(f"{s:<13}{side:<12}{x['requests']:>9,}{x['command_s']:>11.2f}{x['command_rps']:>11,.0f}"
                         f"{x['command_cpu_s']:>11.2f}{x['engine_s']:>10.2f}{x['engine_rps']:>11,.0f}"
                         f"{x['mean_ms']:>9.3f}{x['p99_ms']:>9.2f}{x['peak_rss_mib']:>6.0f} MiB")
        p, h = row["project"], row["handwritten"]
        ratios = {key: p[key] / h[key] for key in ("command_rps", "command_cpu_rps", "engine_rps")}
        # paired ratios (same round and seed, run back to back): the spread the noise gives
        pairs = [(a, b) for a in sides["project"] for b in sides["handwritten"] if a.seed == b.seed]
        paired = {attr: sorted((b.__dict__[attr] / b.arrived) / (a.__dict__[attr] / a.arrived) for a, b in pairs)
                  for attr in ("command_s", "command_cpu_s", "engine_s")}
        lines.append(f"{'':<13}throughput ratio project/handwritten (target >= {TARGET:.2f}x; "
                     f"below {DEFECT:.2f}x is a defect):")
        for label, key, attr, judged in (("whole command, wall", "command_rps", "command_s", True),
                                         ("whole command, CPU ", "command_cpu_rps", "command_cpu_s", False),
                                         ("engine only, wall  ", "engine_rps", "engine_s", True)):
            v = ratios[key]
            mark = verdict(v) if judged else "(info)"
            lines.append(f"{'':<15}{label} {v:5.2f}x  {mark:<6} paired rounds {paired[attr][0]:.2f}x "
                         f"to {paired[attr][-1]:.2f}x")
            if judged:
                ok &= verdict(v) != "FAIL"
        diff = p["mean_ms"] / h["mean_ms"] - 1
        agree = abs(diff) <= MEAN_TOLERANCE
        theory = (f"; M/M/1 theory: mean {MM1_THEORY['mean']:.3f} ms, p99 {MM1_THEORY['p99']:.2f} ms"
                  if s == "mm1" else "")
        lines.append(f"{'':<13}agreement (average over the rounds' seeds): mean latency project {p['mean_ms']:.3f} ms"
                     f" vs handwritten {h['mean_ms']:.3f} ms ({diff:+.2%}, tolerance {MEAN_TOLERANCE:.0%}) "
                     f"{'PASS' if agree else 'FAIL'}")
        lines.append(f"{'':<13}p99 project {p['p99_ms']:.2f} ms vs handwritten {h['p99_ms']:.2f} ms{theory}")
        lines.append("")
        ok &= agree
        summary[s] = {"project": p, "handwritten": h, "ratios": ratios, "paired_ratios": paired,
                      "mean_diff": diff, "agree": agree}
    return lines, summary, ok


# ── memory ───────────────────────────────────────────────────────────────────

def memory(scenario: str, counts: list[int], log) -> list[dict]:
    """Peak RSS of the project CLI at each request count, then one diagnostic run at 1 rps.

    The diagnostic keeps the largest run's simulated duration but sends 1
    request per second: if its peak RSS is close to the largest run's, memory
    follows simulated seconds (per-second time series), not requests.
    """
    path, rate = SCENARIOS[scenario]
    plan = [(n / rate, None, "") for n in counts] + [(max(counts) / rate, 1.0, "diagnostic: 1 rps")]
    out = []
    for duration, rps, note in plan:
        log(f"  memory: {scenario}, --duration {duration:g}{f' --rate {rps:g}' if rps else ''} ...")
        cmd = project_cmd(scenario, 1, duration=duration) + (["--rate", f"{rps:g}"] if rps else [])
        text, wall, _, rss = run_child(cmd)
        d = json.loads(text)
        out.append({"duration_s": duration, "rate_rps": rps or rate, "arrived": d["requests"]["arrived"],
                    "command_s": wall, "engine_s": d["engine"]["wall_s"], "peak_rss_mib": rss, "note": note})
        log(f"    {d['requests']['arrived']:,} requests in {wall:.1f} s, peak RSS {rss:.1f} MiB")
    return out


def memory_report(rows: list[dict], scenario: str) -> tuple[list[str], bool]:
    head = (f"{'scenario':<13}{'rate rps':>9}{'sim s':>10}{'requests':>12}{'command s':>11}{'req/s eng':>11}"
            f"{'peak RSS':>12}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{scenario:<13}{r['rate_rps']:>9g}{r['duration_s']:>10,.0f}{r['arrived']:>12,}"
                     f"{r['command_s']:>11.1f}{r['arrived'] / r['engine_s']:>11,.0f}{r['peak_rss_mib']:>8.1f} MiB"
                     f"{'  ' + r['note'] if r['note'] else ''}")
    main_rows = [r for r in rows if not r["note"]]
    small, big = main_rows[0], main_rows[-1]
    under = big["peak_rss_mib"] < MEMORY_LIMIT_MIB
    growth = big["peak_rss_mib"] / small["peak_rss_mib"]
    bounded = growth <= GROWTH_LIMIT or big["peak_rss_mib"] - small["peak_rss_mib"] <= GROWTH_SLACK_MIB
    lines.append(f"peak RSS at {big['arrived']:,} requests: {big['peak_rss_mib']:.1f} MiB "
                 f"(target < {MEMORY_LIMIT_MIB:.0f} MiB) {'PASS' if under else 'FAIL'}")
    lines.append(f"growth {small['arrived']:,} -> {big['arrived']:,} requests: {growth:.2f}x "
                 f"({big['peak_rss_mib'] - small['peak_rss_mib']:+.1f} MiB; bounded means <= {GROWTH_LIMIT:.2f}x "
                 f"or <= +{GROWTH_SLACK_MIB:.0f} MiB) {'PASS' if bounded else 'FAIL'}")
    diag = [r for r in rows if r["note"]]
    if diag and not bounded:
        d = diag[0]
        per_s = (big["peak_rss_mib"] - small["peak_rss_mib"]) * 1024 / (big["duration_s"] - small["duration_s"])
        lines.append(f"diagnostic: {d['arrived']:,} requests over the same {d['duration_s']:,.0f} simulated s peak at "
                     f"{d['peak_rss_mib']:.1f} MiB: memory follows simulated seconds (about {per_s:.2f} KiB "
                     f"per simulated second here), not requests")
    return lines, under and bounded


def git_state() -> str:
    """The commit measured, and whether sandbox/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sandbox"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {head}" + (" + uncommitted changes in sandbox/" if dirty else "")


# ── main ─────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Speed and memory benchmark of the sandbox engine.")
    p.add_argument("--rounds", type=int, default=5, help="A/B rounds per scenario (default 5)")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), action="append",
                   help="only this scenario (repeatable; default: all)")
    p.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                   help="run the 1M / 10M request peak-memory check (default: on)")
    p.add_argument("--memory-scenario", choices=sorted(SCENARIOS), default="mm1")
    p.add_argument("--memory-requests", type=int, nargs="+", default=[1_000_000, 10_000_000], metavar="N",
                   help="request counts for the memory check, smallest first (default 1000000 10000000)")
    p.add_argument("--no-speed", dest="speed", action="store_false", help="skip the speed comparison")
    p.add_argument("--quick", action="store_true", help="skip the memory check (same as --no-memory)")
    args = p.parse_args(argv)
    if args.quick:
        args.memory = False
    scenarios = args.scenario or list(SCENARIOS)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = dt.datetime.now()
    header = (f"sandbox engine benchmark, {started:%Y-%m-%d %H:%M}, {platform.python_implementation()} "
              f"{platform.python_version()}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
              f"{git_state()}")
    print(header, flush=True)
    ok = True
    record: dict = {"started": started.isoformat(timespec="seconds"), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "git": git_state()}
    if args.speed:
        log(f"speed: {args.rounds} rounds x {len(scenarios)} scenarios x 2 sides, alternating ...")
        runs = speed(args.rounds, scenarios, log)
        lines, summary, speed_ok = speed_report(runs, scenarios)
        print(f"\nSPEED (medians of {args.rounds} rounds; whole command = subprocess wall time, "
              "engine = in-process simulation time)")
        print("\n".join(lines))
        ok &= speed_ok
        record["speed"] = {"runs": [asdict(r) for r in runs], "summary": summary}
    if args.memory:
        counts = sorted(args.memory_requests)
        rows = memory(args.memory_scenario, counts, log)
        lines, mem_ok = memory_report(rows, args.memory_scenario)
        print("\nMEMORY (project CLI, peak RSS of the child process from os.wait4)")
        print("\n".join(lines))
        ok &= mem_ok
        record["memory"] = rows
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_results.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.speed or args.memory:
        print(f"(at the end: {git_state()})")
    print(f"\noverall: {'PASS' if ok else 'FAIL'} (raw figures in {(OUT / 'bench_results.json').relative_to(ROOT)}; "
          f"took {(dt.datetime.now() - started).total_seconds():.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
