"""Zones: what placing a design in zones costs the engine against the same design unplaced.

    .venv/bin/python bench/bench_zones.py             # 5 rounds
    .venv/bin/python bench/bench_zones.py --rounds 9

Each round runs, in fresh subprocesses and alternating which goes first,

  (a) unplaced:  ``python -m sandbox run bench/scenarios/five_station.yaml --json --seed K``
  (b) zoned:     the same design in three zones with cross-zone delays and a probing load balancer
                 (bench/scenarios/five_station_zones.yaml)
  (c) no delay:  (b) with cross_zone_ms 0: the placement machinery alone, without the delays' events

and reports the medians of the engine's own time and of the whole command, and the throughput ratios
against (a). Target: at least 0.75x for (c), the machinery: each placed call goes through one more
generator. (b) is reported beside it: a call across zones also waits twice, two more events where the
unplaced design has about five per request; the same delays set as edges' latency_ms cost as much. Whether designs *without* zones lost speed is bench/bench_versions.py's question
(``--against`` the commit before zones). The machine is shared and noisy: quote medians.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebyside import medians, rounds_from, side_by_side  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parent.parent
UNPLACED = ROOT / "bench" / "scenarios" / "five_station.yaml"
ZONED = ROOT / "bench" / "scenarios" / "five_station_zones.yaml"
TARGET = 0.75   # for the placement machinery alone (no delay)


def main(argv: list[str] | None = None) -> int:
    rounds = rounds_from(argv, __doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as folder:
        no_delay = Path(folder) / "five_station_zones_no_delay.yaml"
        no_delay.write_text(ZONED.read_text(encoding="utf-8").replace("cross_zone_ms: 0.5", "cross_zone_ms: 0"),
                            encoding="utf-8")
        rows = side_by_side({"unplaced": UNPLACED, "zoned": ZONED, "no delay": no_delay}, rounds)
    med = medians(rows)
    same = all(a[2] == b[2] == c[2] for a, b, c in zip(rows["unplaced"], rows["zoned"], rows["no delay"]))
    print(f"\nfive-station, medians of {rounds} rounds (engine s / whole command s)")
    for side, (e, w) in med.items():
        print(f"  {side:<9} {e:7.3f}  {w:7.3f}")
    ok = True
    for side in ("zoned", "no delay"):
        engine = med["unplaced"][0] / med[side][0]
        command = med["unplaced"][1] / med[side][1]
        target = f"; target >= {TARGET:.2f}x: {'PASS' if engine >= TARGET else 'FAIL'}" if side == "no delay" else ""
        ok &= side != "no delay" or engine >= TARGET
        print(f"  {side} / unplaced  engine {engine:.3f}x   command {command:.3f}x   (throughput{target})")
    print(f"  the same arrivals in all: {'yes' if same else 'NO'}")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
