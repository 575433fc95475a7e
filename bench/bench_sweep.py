"""Sweep benchmark: one 40-point x 5-seed sweep on each executor, timed; the figures must agree.

The sweep: the Checkout API (M/M/4, 40 ms exponential service) with its load
swept over ``workload.rate_rps=60:99:40`` (utilization 60% to 99%), 480
simulated seconds per run (first 30 s warm-up), 5 seeds per point: 200 runs
of 0.3-0.6 s each, so the pool's start-up and per-task overheads weigh as they
would in real use.

Executors, all through the same ``sandbox.sweep`` call:

1. a process pool of 1 worker, and of 2 workers (the speed-up is 1 worker / 2 workers),
   each timed from the pool's start to its shut-down;
2. a Dask ``LocalCluster`` of 2 worker processes x 1 thread (its overhead against
   the 2-worker process pool). Cluster start-up is timed apart from the sweep;
3. in this process (``workers=1``: no pool at all).

Every executor must produce figures identical to the first (same seeds, same
results), or the benchmark fails. The pools run first, while the machine is
quietest; the last column of the table (the engine's time per run where it
ran) shows how much other work shared the cores.

    .venv/bin/python bench/bench_sweep.py            # print the table
    .venv/bin/python bench/bench_sweep.py --readme   # and write it into bench/README.md, "Sweeps"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from sandbox.executors import process_pool  # noqa: E402
from sandbox.experiments import SweepResult, sweep  # noqa: E402

SCENARIO = ROOT / "scenarios" / "checkout_api.yaml"
AXIS = "workload.rate_rps=60:99:40"
RUNS = 5
DURATION_S = 480.0


def timed(label: str, fn: Callable[[], SweepResult]) -> tuple[float, SweepResult]:
    print(f"  {label} ...", end="", flush=True)
    t0 = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    print(f" {wall:.1f} s", flush=True)
    return wall, result


def mean_run_s(result: SweepResult) -> float:
    """The mean engine time of one run where it ran: it grows when other work shares the cores."""
    times = [r.wall_s for p in result.points for r in p.runs]
    return sum(times) / len(times)


def loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--readme", action="store_true", help="write the results into bench/README.md under 'Sweeps'")
    p.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    p.add_argument("--from-json", action="store_true", help="only render bench/out/bench_sweep.json again")
    args = p.parse_args(argv)
    if args.from_json:
        text = render(json.loads((HERE / "out" / "bench_sweep.json").read_text()))
        print(text)
        if args.readme:
            write_readme(HERE / "README.md", text)
        return 0

    scenario = sandbox.with_overrides(sandbox.load(SCENARIO), {"workload.duration_s": DURATION_S})
    run = lambda **kw: sweep(scenario, [AXIS], RUNS, **kw)
    cores = os.cpu_count() or 1
    load_before = loadavg()
    print(f"Sweep {AXIS} x {RUNS} seeds = 200 runs of {scenario.name}, {DURATION_S:g} simulated s each; "
          f"{cores} cores; load average before: {load_before}")

    rows: list[dict[str, Any]] = []
    results: list[SweepResult] = []

    def record(executor: str, workers: int, wall: float, result: SweepResult) -> None:
        if results:
            assert result == results[0], f"{executor} ({workers}) gave different figures"
        results.append(result)
        rows.append({"executor": executor, "workers": workers, "wall_s": wall, "run_s": mean_run_s(result)})

    # the pools first: the speed-up is the headline, so it gets the machine while it is quietest
    for n in (1, 2):
        def on_pool() -> SweepResult:   # the pool's start-up counts, as it does for a user
            with process_pool(n) as pool:
                return run(executor=pool)
        record("process pool", n, *timed(f"process pool, {n} worker(s)", on_pool))

    dask_start = None
    if not args.no_dask:
        from distributed import Client, LocalCluster
        t0 = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.run(lambda: __import__("sandbox.experiments"))   # warm imports, like the pool's preload
            dask_start = time.perf_counter() - t0
            record("Dask LocalCluster (2 procs x 1 thread)", 2,
                   *timed("Dask LocalCluster, 2 processes x 1 thread",
                          lambda: run(executor=client.get_executor(pure=False))))

    record("in this process (no pool)", 1, *timed("in this process", lambda: run(workers=1)))
    reference = results[0]
    run_s = [r.wall_s for p_ in results[-1].points for r in p_.runs]

    by = {(r["executor"], r["workers"]): r["wall_s"] for r in rows}
    pool1, pool2 = by[("process pool", 1)], by[("process pool", 2)]
    for r in rows:
        r["runs_per_s"] = 200 / r["wall_s"]
        r["speedup_vs_pool_1"] = pool1 / r["wall_s"]
    summary = {
        "scenario": scenario.name, "axis": AXIS, "runs_per_point": RUNS, "duration_s": DURATION_S,
        "runs": 200, "cores": cores, "python": platform.python_version(),
        "run_s": {"mean": sum(run_s) / len(run_s), "min": min(run_s), "max": max(run_s)},
        "speedup_2_vs_1": pool1 / pool2, "speedup_2_vs_in_process": by[("in this process (no pool)", 1)] / pool2,
        "dask_cluster_start_s": dask_start,
        "dask_overhead_vs_pool_2": (by[("Dask LocalCluster (2 procs x 1 thread)", 2)] / pool2 - 1) if dask_start else None,
        "load_average_before": load_before, "load_average_after": loadavg(),
        "knee": reference.knees[0].sentence(), "rows": rows,
    }
    text = render(summary)
    print()
    print(text)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_sweep.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.readme:
        write_readme(HERE / "README.md", text)
        print(f"\nwrote the Sweeps section of {HERE / 'README.md'}")
    return 0


def render(s: dict[str, Any]) -> str:
    lines = ["| executor | workers | wall s | runs/s | speed-up vs pool of 1 | mean s per run, where it ran |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in s["rows"]:
        lines.append(f"| {r['executor']} | {r['workers']} | {r['wall_s']:.1f} | {r['runs_per_s']:.2f} | "
                     f"{r['speedup_vs_pool_1']:.2f}x | {r['run_s']:.3f} |")
    rs = s["run_s"]
    notes = [
        "",
        f"- The sweep: `{s['axis']}` x {s['runs_per_point']} seeds = {s['runs']} runs of {s['scenario']}, "
        f"{s['duration_s']:g} simulated s each; one run takes {rs['mean']:.2f} s on average "
        f"({rs['min']:.2f}-{rs['max']:.2f} s, in this process).",
        f"- **Speed-up, 2 workers against 1: {s['speedup_2_vs_1']:.2f}x** (against the same sweep in this process, "
        f"with no pool at all: {s['speedup_2_vs_in_process']:.2f}x) on {s['cores']} cores.",
    ]
    if s["dask_overhead_vs_pool_2"] is not None:
        notes.append(f"- Dask LocalCluster (2 worker processes x 1 thread) against the 2-worker process pool: "
                     f"{s['dask_overhead_vs_pool_2']:+.1%} wall time; starting the cluster took a further "
                     f"{s['dask_cluster_start_s']:.1f} s, not counted above.")
    notes += [
        "- Every executor gave figures identical to the first (the benchmark asserts it): same seeds, same results.",
        f"- {s['knee']}",
        f"- Python {s['python']}; load average (1/5/15 min) {s['load_average_before']} before, "
        f"{s['load_average_after']} after (the machine is shared). The last column is the engine's own time per "
        "run: where it exceeds the column's lowest figure, the runs shared the cores with other work, and wall "
        "time and speed-up suffer with it.",
    ]
    return "\n".join(lines + notes)


def write_readme(path: Path, body: str) -> None:
    """Put `body` under a '## Sweeps' heading: replace that section if present, else append it."""
    section = ("## Sweeps\n\n`bench/bench_sweep.py` times one sweep on every executor "
               "(`.venv/bin/python bench/bench_sweep.py --readme` rewrites this section).\n\n" + body + "\n")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    found = re.search(r"^## Sweeps\n.*?(?=^## |\Z)", text, re.S | re.M)
    if found:   # replace only our own section; the rest of the file stays byte for byte
        rest = text[found.end():]
        text = text[:found.start()] + section + ("\n" + rest if rest else "")
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + section
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
