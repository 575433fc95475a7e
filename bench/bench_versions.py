"""Before and after: this checkout's engine against another version's, side by side in one run.

    .venv/bin/python bench/bench_versions.py --against 6f464a3          # a commit (or tag, or branch)
    .venv/bin/python bench/bench_versions.py --against /path/to/copy    # a folder holding a sandbox/ package
    .venv/bin/python bench/bench_versions.py --against 6f464a3 --rounds 7 --scenario five_station

For each scenario in bench/scenarios/ (M/M/1 and the five-station web tier),
each round runs, in a fresh subprocess each and alternating which goes first,

  (a) this checkout:  ``python -m sandbox run FILE --json --seed K``,
  (b) the other one:  the same command with ``PYTHONPATH`` at its copy,
  (c) the hand-written SimPy model of bench/handwritten.py,

and reports the medians over the rounds of the whole command's wall time and
the engine's own time (``engine.wall_s``; the hand-written model's build and
run), with the ratios now / before and each against the hand-written model
(throughput, so above 1 is faster). The machine is shared and noisy: the
alternation puts every version under the same load, and the figures to quote
are the medians and ratios. A commit is unpacked with ``git archive`` into a
temporary folder, removed afterwards; nothing is written into the checkout.
It also checks that both versions give the same results (every figure of the
JSON but ``engine``), so a speed-up that changed the results is not one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SCENARIOS = {"mm1": BENCH / "scenarios" / "mm1.yaml", "five_station": BENCH / "scenarios" / "five_station.yaml"}


def _unpack(rev: str, into: Path) -> Path:
    """The files of commit `rev` in a new folder under `into` (git archive, so the checkout is untouched)."""
    folder = into / "other"
    folder.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True)
    tar_path = into / "other.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _run(cmd: list[str], env: dict[str, str]) -> tuple[dict, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout), wall


def _project(path: Path, seed: int, pythonpath: str | None) -> tuple[dict, float]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return _run([sys.executable, "-m", "sandbox", "run", str(path), "--json", "--seed", str(seed)], env)


def _handwritten(model: str, seed: int) -> tuple[float, float]:
    env = dict(os.environ)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(BENCH / "handwritten.py"), model, "--seed", str(seed)], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    return float(json.loads(proc.stdout)["engine"]["wall_s"]), wall


def _same(a: dict, b: dict) -> bool:
    a, b = dict(a), dict(b)
    a.pop("engine", None)
    b.pop("engine", None)
    return a == b


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", required=True, help="a git revision, or a folder holding a sandbox/ package")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--scenario", choices=list(SCENARIOS), action="append", default=None)
    args = p.parse_args(argv)
    scenarios = args.scenario or list(SCENARIOS)
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        other = Path(args.against)
        if not (other / "sandbox" / "__init__.py").is_file():
            other = _unpack(args.against, Path(tmp))
        print(f"now: {ROOT}  before: {args.against}  rounds: {args.rounds}  python {sys.version.split()[0]}",
              flush=True)
        print(f"load average before: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        for name in scenarios:
            path = SCENARIOS[name]
            rows: dict[str, list[tuple[float, float]]] = {"now": [], "before": [], "handwritten": []}
            agree = True
            for k in range(args.rounds):
                seed = k + 1
                order = ["now", "before", "handwritten"]
                order = order[k % 3:] + order[:k % 3]   # each goes first in turn
                results = {}
                for side in order:
                    if side == "handwritten":
                        engine, wall = _handwritten(name, seed)
                    else:
                        data, wall = _project(path, seed, None if side == "now" else str(other))
                        engine = float(data["engine"]["wall_s"])
                        results[side] = data
                    rows[side].append((engine, wall))
                agree = agree and _same(results["now"], results["before"])
                print(f"  {name} round {k + 1}: " + "  ".join(f"{s} {rows[s][-1][0]:.2f} s" for s in rows),
                      file=sys.stderr, flush=True)
            med = {s: (statistics.median(e for e, _ in v), statistics.median(w for _, w in v)) for s, v in rows.items()}
            print(f"\n{name}: medians of {args.rounds} rounds (engine s / whole command s)")
            for side, (e, w) in med.items():
                print(f"  {side:<12} {e:7.3f}  {w:7.3f}")
            ratio = lambda a, b, i: med[b][i] / med[a][i]   # throughput ratio a over b: time of b / time of a
            print(f"  now / before       engine {ratio('now', 'before', 0):.3f}x   command {ratio('now', 'before', 1):.3f}x"
                  "   (throughput; above 1 is faster now)")
            for side in ("now", "before"):
                print(f"  {side:<6} / handwritten engine {ratio(side, 'handwritten', 0):.3f}x   "
                      f"command {ratio(side, 'handwritten', 1):.3f}x")
            print(f"  results identical between the two versions: {'yes' if agree else 'NO'}")
        print(f"\nload average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
