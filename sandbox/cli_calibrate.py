"""The `calibrate` command: fit a scenario to OpenTelemetry or Jaeger traces and check it (see :mod:`sandbox.cli`)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, TextIO

import yaml

from .calibrate import AGREEMENT_SLACK, Calibration, calibrate
from .cli_import import write_new_file
from .errors import ScenarioError

__all__ = ["add_calibrate_parser", "calibrate_command", "calibration_text", "calibrated_yaml"]


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


def calibrated_yaml(c: Calibration) -> str:
    """The calibrated scenario as YAML, with where each fitted value came from in the comments at the top."""
    head = [f"# Calibrated by `sandbox calibrate` from {c.source}: {c.traces:,} traces, {c.calls:,} calls."]
    if c.rate_rps is not None:
        head.append(f"#   workload.rate_rps: {c.rate_rps:.4g} (root spans, sampling {c.sampling:.4g} "
                    f"{'from the file' if c.sampling_source == 'file' else c.sampling_source})")
    for f in c.services:
        head.append(f"#   nodes.{f.node}.service_time: {_spec(f.service_time)} ({f.calls:,} calls; KS distance "
                    f"{f.ks:.3f}, 5% critical value {f.ks_critical:.3f})")
    for e in c.edges:
        if e.fitted:
            head.append(f"#   edges[{e.edge}] {e.source} -> {e.target}: probability {e.probability:g} "
                        f"± {e.stderr:.3f} ({e.made:,} of {e.caller_calls:,} calls)")
    for name, changed in c.fields.items():
        for k, (_, now) in changed.items():
            head.append(f"#   nodes.{name}.{k}: {now} (from the share of calls on its branches)")
    for name, value in c.parallel.items():
        head.append(f"#   nodes.{name}.parallel: {str(value).lower()} (its calls {'overlap' if value else 'do not overlap'})")
    for w in c.warnings:
        head.append(f"# note: {w}")
    body = yaml.safe_dump(c.data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(h.replace("\n", " ") for h in head) + "\n" + body


def _spec(spec: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"


def _plain(c: Calibration) -> dict[str, Any]:
    from dataclasses import asdict
    return {"source": c.source, "traces": c.traces, "calls": c.calls, "sampling": c.sampling,
            "sampling_source": c.sampling_source, "rate_rps": c.rate_rps, "rate_stderr": c.rate_stderr,
            "rate_before": c.rate_before, "services": [asdict(f) for f in c.services],
            "edges": [asdict(e) for e in c.edges], "parallel": c.parallel,
            "fields": {n: {k: {"before": b, "after": a} for k, (b, a) in f.items()} for n, f in c.fields.items()},
            "agreement": [asdict(a) | {"agrees": a.agrees} for a in c.agreement], "agrees": c.agrees,
            "warnings": c.warnings, "scenario": c.data}


def calibration_text(c: Calibration) -> str:
    """What was fitted, then the traces beside the calibrated model, disagreements flagged."""
    lines = [f"Calibrated from {c.source}: {c.traces:,} traces, {c.calls:,} calls."]
    if c.rate_rps is not None:
        said = {"file": "as the file's tracestate says", "given": "as given",
                "assumed": "assumed: the file does not say; give --sampling"}[c.sampling_source]
        before = f" (was {c.rate_before:g})" if c.rate_before is not None else ""
        lines.append(f"Arrival rate: {c.rate_rps:.4g} ± {c.rate_stderr or 0:.2g} rps{before}; the file holds "
                     f"{c.sampling:.3g} of requests, {said}.")
    if c.services:
        wide = max(len(_spec(f.service_time)) for f in c.services)
        lines += ["", "Service times (own time per call: the span less its calls and their network delay, less "
                      "its queueing):",
                  f"  {'node':<16} {'calls':>7} {'own ms':>8} {'queue ms':>9}  {'fitted':<{wide}} {'KS':>6} {'5% crit':>7}"]
        for f in c.services:
            queue = f"{f.queue_ms:.2f}" + ("*" if f.queue_source == "model" else "")
            lines.append(f"  {f.node:<16} {f.calls:>7,} {f.own_ms_mean:>8.2f} {queue:>9}  {_spec(f.service_time):<{wide}} "
                         f"{f.ks:>6.3f} {f.ks_critical:>7.3f}{'' if f.fits else '  (no candidate fits well)'}")
        if any(f.queue_source == "model" for f in c.services):
            lines.append("  * the traces do not record queueing: this is what theory predicts at the calibrated load")
    fitted = [e for e in c.edges if e.fitted or e.note]
    if fitted:
        lines += ["", "Calls (share of the caller's calls that made it, ± standard error):"]
        for e in fitted:
            made = f"{e.made:,}/{e.caller_calls:,}"
            if e.fitted:
                was = f" (was {e.before:g})" if abs(e.before - e.probability) > 1e-12 else ""
                lines.append(f"  {e.source} -> {e.target}: {e.probability:g} ± {e.stderr:.3f}  [{made}]{was}")
            else:
                lines.append(f"  {e.source} -> {e.target}: kept {e.probability:g}  [{made}]: {e.note}")
    for name, changed in c.fields.items():
        for k, (was, now) in changed.items():
            lines.append(f"  {name}.{k}: {now}" + (f" (was {was})" if was is not None else ""))
    for name, value in c.parallel.items():
        lines.append(f"  {name}: parallel {'on' if value else 'off'} (its calls {'overlap' if value else 'never overlap'})")
    if c.agreement:
        lines += ["", "Traces beside the calibrated model (p50 and p99 of each call's span, ms):",
                  f"  {'':<16} {'calls':>7} {'trace p50':>10} {'model p50':>10} {'trace p99':>10} {'model p99':>10}"]
        for a in c.agreement:
            flag = "" if a.agrees else "  <- disagrees" + ("" if a.p50_agrees else " (p50)") + \
                ("" if a.p99_agrees else " (p99)")
            lines.append(f"  {a.what:<16} {a.trace_calls:>7,} {a.trace_p50_ms:>10.3g} {a.model_p50_ms:>10.3g} "
                         f"{a.trace_p99_ms:>10.3g} {a.model_p99_ms:>10.3g}{flag}")
        verdict = ("The model reproduces the traces." if c.agrees else
                   "Where flagged, the model does not reproduce the traces: look for work the scenario lacks "
                   "(a call, a lock, a retry) or a node that behaves differently under load.")
        lines.append(f"  Agreement: the 95% intervals of the two quantiles (order statistics) overlap, each widened "
                     f"by {AGREEMENT_SLACK:.0%}. {verdict}")
    if c.warnings:
        lines += [""] + [f"note: {w}" for w in c.warnings]
    return "\n".join(lines)
