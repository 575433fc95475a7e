"""Keys: what a keyed LRU cache costs the engine against a fixed hit ratio, and the memory of a big one.

    .venv/bin/python bench/bench_keys.py             # 5 rounds
    .venv/bin/python bench/bench_keys.py --rounds 9

Speed: each round runs, in fresh subprocesses and alternating which goes first,

  (a) fixed:  ``python -m sandbox run bench/scenarios/five_station.yaml --json --seed K``
  (b) keyed:  the same design whose cache holds 620 of 100,000 Zipf keys (LRU), which hits as often
      (bench/scenarios/five_station_keys.yaml)

and reports the medians of the engine's own time and of the whole command, and the throughput
ratio keyed / fixed. Target: at least 0.70x. Whether designs *without* keys lost speed is
bench/bench_versions.py's question (``--against`` the commit before keys).

Memory: one run of a design with 1,000,000 keys and a 100,000-entry cache, and the same design with
a fixed hit ratio, each in a fresh subprocess, reporting each one's peak resident memory
(``ru_maxrss``). Target: under 300 MiB for the keyed one. The machine is shared and noisy: quote
medians.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebyside import medians, rounds_from, side_by_side  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parent.parent
FIXED = ROOT / "bench" / "scenarios" / "five_station.yaml"
KEYED = ROOT / "bench" / "scenarios" / "five_station_keys.yaml"
TARGET = 0.70
MEMORY_TARGET_MIB = 300

BIG = """
name: big-keys
workload: {{entry: cache, rate_rps: 5000, duration_s: 60, keys: {{count: 1000000, popularity: zipf, s: 0.8}}}}
nodes:
  cache: {{kind: cache, {cache}, workers: 64, queue_limit: null, service_time: {{dist: constant, mean_ms: 0.2}}}}
  db: {{kind: database, workers: 64, queue_limit: null, service_time: {{dist: exponential, mean_ms: 2}}}}
edges:
  - {{from: cache, to: db, when: miss}}
"""

PEAK = ("import resource, sys, sandbox; r = sandbox.simulate(sandbox.load(sys.argv[1]), seed=1); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def _peak_mib(text: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.yaml"
        path.write_text(text, encoding="utf-8")
        proc = subprocess.run([sys.executable, "-c", PEAK, str(path)], cwd=ROOT, capture_output=True, text=True,
                              check=True)
    return int(proc.stdout.strip()) / 1024   # ru_maxrss is in KiB on Linux


def main(argv: list[str] | None = None) -> int:
    rounds = rounds_from(argv, __doc__.splitlines()[0])
    rows = side_by_side({"fixed": FIXED, "keyed": KEYED}, rounds)
    med = medians(rows)
    same = all(a[2] == b[2] for a, b in zip(rows["fixed"], rows["keyed"]))
    print(f"\nfive-station, medians of {rounds} rounds (engine s / whole command s)")
    for side, (e, w) in med.items():
        print(f"  {side:<8} {e:7.3f}  {w:7.3f}")
    engine = med["fixed"][0] / med["keyed"][0]
    command = med["fixed"][1] / med["keyed"][1]
    speed_ok = engine >= TARGET
    print(f"  keyed / fixed  engine {engine:.3f}x   command {command:.3f}x   (throughput; target >= {TARGET:.2f}x: "
          f"{'PASS' if speed_ok else 'FAIL'})")
    print(f"  the same arrivals in both: {'yes' if same else 'NO'}")
    keyed_mib = _peak_mib(BIG.format(cache="capacity: 100000"))
    fixed_mib = _peak_mib(BIG.format(cache="hit_ratio: 0.5"))
    memory_ok = keyed_mib < MEMORY_TARGET_MIB
    print(f"\npeak memory, 1,000,000 keys: keyed cache of 100,000 entries {keyed_mib:.0f} MiB, fixed hit ratio "
          f"{fixed_mib:.0f} MiB (target < {MEMORY_TARGET_MIB} MiB: {'PASS' if memory_ok else 'FAIL'})")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if speed_ok and same and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
