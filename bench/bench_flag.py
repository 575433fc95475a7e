"""Feature flags: what a flag with two guardrails costs a run against the same tier without it.

    .venv/bin/python bench/bench_flag.py             # 5 rounds
    .venv/bin/python bench/bench_flag.py --rounds 9

Each round runs, in fresh subprocesses and alternating which goes first,

  (a) off:  ``python -m sandbox run bench/scenarios/flag_off.yaml --json --seed K`` (the five-station model)
  (b) on:   the same with a feature flag in front of web, half the calls to an identical web_v2 (three more
            replicas: each version at half the load), both guardrails every 10 s (bench/scenarios/flag_on.yaml)

and reports the medians of the engine's own time and of the whole command, and the wall-time ratio on / off.
Target: the flag adds at most 10% (a ratio of at most 1.10). The machine is shared and noisy: quote medians.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebyside import medians, rounds_from, side_by_side  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parent.parent
OFF = ROOT / "bench" / "scenarios" / "flag_off.yaml"
ON = ROOT / "bench" / "scenarios" / "flag_on.yaml"
TARGET = 1.10


def main(argv: list[str] | None = None) -> int:
    rounds = rounds_from(argv, __doc__.splitlines()[0])
    rows = side_by_side({"off": OFF, "on": ON}, rounds)
    med = medians(rows)
    same = all(a[2] == b[2] for a, b in zip(rows["off"], rows["on"]))
    print(f"\nmedians of {rounds} rounds (engine s / whole command s)")
    for side, (e, w) in med.items():
        print(f"  {side:<4} {e:7.3f}  {w:7.3f}")
    engine = med["on"][0] / med["off"][0]
    command = med["on"][1] / med["off"][1]
    ok = engine <= TARGET
    print(f"  on / off  engine {engine:.3f}x   command {command:.3f}x   (wall time; target <= {TARGET:.2f}x: "
          f"{'PASS' if ok else 'FAIL'})")
    print(f"  the same arrivals in both: {'yes' if same else 'NO'}")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
