"""Two scenarios run side by side: fresh subprocesses, alternating which goes first, medians of each side.

The shared loop of bench/bench_classes.py and bench/bench_keys.py: each round runs
``python -m sandbox run FILE --json --seed K`` for both files, in the order A, B on odd rounds and
B, A on even ones, so both sides run under the same load on a shared, noisy machine.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

Run = tuple[float, float, int]   # engine s, whole command s, requests arrived


def run_once(path: Path, seed: int) -> Run:
    """(engine s, whole command s, requests arrived) of one run in a fresh interpreter."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sandbox", "run", str(path), "--json", "--seed", str(seed)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    data = json.loads(proc.stdout)
    return float(data["engine"]["wall_s"]), wall, int(data["requests"]["arrived"])


def side_by_side(sides: dict[str, Path], rounds: int) -> dict[str, list[Run]]:
    """Every side's runs, `rounds` of them, alternating the order; progress on stderr."""
    rows: dict[str, list[Run]] = {side: [] for side in sides}
    for k in range(rounds):
        order = list(sides.items())
        if k % 2:
            order.reverse()
        for side, path in order:
            rows[side].append(run_once(path, k + 1))
        print(f"  round {k + 1}: " + "  ".join(f"{s} {v[-1][0]:.2f} s" for s, v in rows.items()),
              file=sys.stderr, flush=True)
    return rows


def medians(rows: dict[str, list[Run]]) -> dict[str, tuple[float, float]]:
    """Each side's median engine time and median whole-command time."""
    return {s: (statistics.median(e for e, _, _ in v), statistics.median(w for _, w, _ in v)) for s, v in rows.items()}


def rounds_from(argv: list[str] | None, description: str) -> int:
    """The --rounds option (default 5), after printing the run's header: rounds, Python, the load average."""
    import argparse
    import os
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--rounds", type=int, default=5)
    rounds = int(p.parse_args(argv).rounds)
    print(f"rounds: {rounds}  python {sys.version.split()[0]}  load average before: "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return rounds
