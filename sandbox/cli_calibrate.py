"""The `calibrate` command: fit a scenario to OpenTelemetry or Jaeger traces and check it (see :mod:`sandbox.cli`)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, TextIO

from .calibrate import Calibration, calibrate
from .cli_import import write_new_file
from .errors import ScenarioError
from .report_calibration import calibrated_yaml, calibration_text

__all__ = ["add_calibrate_parser", "calibrate_command"]


def add_calibrate_parser(sub: Any) -> None:
    cal = sub.add_parser("calibrate", help="fit a scenario to traces of your system (OTLP or Jaeger JSON) and check it")
    cal.add_argument("file", help="scenario YAML: the structure (nodes, calls, workers) to fit")
    cal.add_argument("traces", help="OTLP JSON (or JSON lines, as the Collector's file exporter writes) or Jaeger JSON")
    cal.add_argument("--sampling", type=float, default=None, metavar="P",
                     help="the share of requests the file holds (default: what its tracestate says, else 1)")
    cal.add_argument("--seed", type=int, default=None, help="seed of the check run")
    cal.add_argument("--out", metavar="FILE", default=None,
                     help="write the calibrated scenario here (never over an existing file)")
    cal.add_argument("--json", action="store_true", help="print what was fitted and the check as JSON")


def calibrate_command(args: argparse.Namespace, out: TextIO) -> int:
    """The fit and the check on standard output; the calibrated scenario to --out. Exit 0 whether or not the
    model agrees: a disagreement is a finding, flagged in the table, not a failure of the command."""
    if args.sampling is not None and not (math.isfinite(args.sampling) and 0 < args.sampling <= 1):
        raise ScenarioError("--sampling", [("", f"must be a share above 0 and at most 1, got {args.sampling:g}")])
    if args.seed is not None and args.seed < 0:
        raise ScenarioError("--seed", [("", f"must be non-negative, got {args.seed}")])
    c = calibrate(args.file, args.traces, sampling=args.sampling, seed=args.seed)
    if args.out is not None:
        write_new_file(args.out, calibrated_yaml(c), "--out")
    if args.json:
        out.write(json.dumps(_plain(c), indent=2, allow_nan=False) + "\n")
    else:
        out.write(calibration_text(c) + "\n")
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _plain(c: Calibration) -> dict[str, Any]:
    from dataclasses import asdict
    return {"source": c.source, "traces": c.traces, "calls": c.calls, "sampling": c.sampling,
            "sampling_source": c.sampling_source, "rate_rps": c.rate_rps, "rate_stderr": c.rate_stderr,
            "rate_before": c.rate_before, "services": [asdict(f) for f in c.services],
            "edges": [asdict(e) for e in c.edges], "parallel": c.parallel,
            "fields": {n: {k: {"before": b, "after": a} for k, (b, a) in f.items()} for n, f in c.fields.items()},
            "agreement": [asdict(a) | {"agrees": a.agrees} for a in c.agreement], "agrees": c.agrees,
            "warnings": c.warnings, "scenario": c.data}
