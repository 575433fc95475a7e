"""Golden results: every shipped scenario (and each challenge's starter and solution) under seeds 1, 2, 3.

A restructuring must not change a single result. This module runs what
``sandbox run FILE --seed S --json`` prints (and the same with ``--series``)
for every file under ``scenarios/``, drops ``engine`` (wall time and event
count, the only part allowed to vary), and either writes the outcome to
``tests/golden/results.json.gz`` or compares against it::

    .venv/bin/python -m tests.golden record     # once, before a restructuring
    .venv/bin/python -m tests.golden compare    # after: lists every difference

``tests/test_golden.py`` runs the comparison in the suite. The file keeps the
JSON text itself (without series) for a readable diff, and a SHA-256 of the
full form with series, histograms and traces.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "results.json.gz"
SEEDS = (1, 2, 3)


def cases() -> Iterator[tuple[str, Path, str]]:
    """(key, file, which): every scenario file, and each challenge as starter and solution."""
    import sandbox
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        rel = path.relative_to(ROOT).as_posix()
        if sandbox.load(path).challenge is None:
            yield rel, path, "file"
        else:
            yield f"{rel}#starter", path, "starter"
            yield f"{rel}#solution", path, "solution"


def outcome(path: Path, which: str, seed: int) -> dict[str, str]:
    """The JSON a run prints (engine left out), and the digest of its form with series."""
    import sandbox
    from sandbox import challenges
    scenario = sandbox.load(path)
    if which != "file":
        scenario = challenges.design(scenario, which)
    results = sandbox.simulate(scenario, seed=seed)
    plain = results.to_dict(series=False)
    full = results.to_dict(series=True)
    plain.pop("engine")
    full.pop("engine")
    return {"json": json.dumps(plain, indent=2, allow_nan=False),
            "series_sha256": hashlib.sha256(json.dumps(full, indent=2, allow_nan=False).encode()).hexdigest()}


def compute() -> dict[str, dict[str, str]]:
    return {f"{key}@{seed}": outcome(path, which, seed) for key, path, which in cases() for seed in SEEDS}


def load_golden() -> dict[str, dict[str, str]]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        return json.load(f)


def differences(golden: dict[str, dict[str, str]], now: dict[str, dict[str, str]]) -> list[str]:
    """Every case whose output changed, with the first differing line of its JSON."""
    out = []
    for key in sorted(set(golden) | set(now)):
        if key not in now:
            out.append(f"{key}: no longer produced")
            continue
        if key not in golden:
            out.append(f"{key}: new (not in the golden file)")
            continue
        a, b = golden[key], now[key]
        if a["json"] != b["json"]:
            for i, (x, y) in enumerate(zip(a["json"].splitlines(), b["json"].splitlines())):
                if x != y:
                    out.append(f"{key}: line {i + 1}: {x.strip()} -> {y.strip()}")
                    break
            else:
                out.append(f"{key}: JSON length changed")
        elif a["series_sha256"] != b["series_sha256"]:
            out.append(f"{key}: time series, histogram or traces changed")
    return out


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "compare"
    now = compute()
    if mode == "record":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        # mtime=0: the same results give the same bytes
        with open(GOLDEN, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(json.dumps(now, indent=0, sort_keys=True).encode("utf-8"))
        print(f"recorded {len(now)} outcomes in {GOLDEN.relative_to(ROOT)}")
        return 0
    diffs = differences(load_golden(), now)
    print("\n".join(diffs) if diffs else f"all {len(now)} outcomes byte-identical")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
