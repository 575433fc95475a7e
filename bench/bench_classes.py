"""Request classes: what a two-class mix costs the engine, side by side with one class in the same run.

    .venv/bin/python bench/bench_classes.py             # 5 rounds
    .venv/bin/python bench/bench_classes.py --rounds 9

Each round runs, in fresh subprocesses and alternating which goes first,

  (a) one class:  ``python -m sandbox run bench/scenarios/five_station.yaml --json --seed K``
  (b) two classes: the same design with browse/checkout classes and a priority line at web
      (bench/scenarios/five_station_classes.yaml)

and reports the medians of the engine's own time (``engine.wall_s``) and of the whole command,
and the throughput ratio two-class / one-class (simulated requests per second; the two runs
simulate the same arrivals, since the class draw has its own random stream). Target: at least
0.80x. Whether a design *without* classes lost speed is bench/bench_versions.py's question
(``--against`` the commit before classes). The machine is shared and noisy: quote medians.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebyside import medians, rounds_from, side_by_side  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parent.parent
ONE = ROOT / "bench" / "scenarios" / "five_station.yaml"
TWO = ROOT / "bench" / "scenarios" / "five_station_classes.yaml"
TARGET = 0.80


def main(argv: list[str] | None = None) -> int:
    rounds = rounds_from(argv, __doc__.splitlines()[0])
    rows = side_by_side({"one class": ONE, "two classes": TWO}, rounds)
    same = all(a[2] == b[2] for a, b in zip(rows["one class"], rows["two classes"]))
    med = medians(rows)
    print(f"\nfive-station, medians of {rounds} rounds (engine s / whole command s)")
    for side, (e, w) in med.items():
        print(f"  {side:<12} {e:7.3f}  {w:7.3f}")
    engine = med["one class"][0] / med["two classes"][0]
    command = med["one class"][1] / med["two classes"][1]
    verdict = "PASS" if engine >= TARGET else "FAIL"
    print(f"  two / one class  engine {engine:.3f}x   command {command:.3f}x   (throughput; target >= "
          f"{TARGET:.2f}x: {verdict})")
    print(f"  the same arrivals in both: {'yes' if same else 'NO'}")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if verdict == "PASS" and same else 1


if __name__ == "__main__":
    sys.exit(main())
