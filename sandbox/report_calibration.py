"""A calibration in words: what was fitted and from what, and the traces beside the calibrated model.

:func:`calibration_text` is the table the CLI prints and the app shows;
:func:`calibrated_yaml` the calibrated scenario with where each value came
from in its comments.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .calibrate import AGREEMENT_SLACK, Calibration

__all__ = ["calibration_text", "calibrated_yaml", "calibration_tables"]


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
    # the file's name and the services' names go into comments: nothing in them may end a comment line
    return "\n".join(re.sub(r"[\x00-\x1f\x7f\u0085\u2028\u2029]", " ", h) for h in head) + "\n" + body


def _spec(spec: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"


def calibration_text(c: Calibration) -> str:
    """What was fitted, then the traces beside the calibrated model, disagreements flagged."""
    lines = [f"Calibrated from {c.source}: {c.traces:,} traces, {c.calls:,} calls."]
    if c.rate_rps is not None:
        said = {"file": "its tracestate says", "given": "as given",
                "assumed": "assumed: the file does not say; give --sampling"}[c.sampling_source]
        before = f" (was {c.rate_before:g})" if c.rate_before is not None else ""
        lines.append(f"Arrival rate: {c.rate_rps:.4g} ± {c.rate_stderr or 0:.2g} rps{before}")
        lines.append(f"  from the root spans; the file holds {c.sampling:.3g} of requests ({said}).")
    if c.services:
        wide = max(len(_spec(f.service_time)) for f in c.services)
        lines += ["", "Service times (own time per call: its span less the calls it waited for,",
                  "their network delay and its own queueing):",
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
                   "Where flagged, the model does not\n  reproduce the traces: look for work the scenario lacks "
                   "(a call, a lock, a retry)\n  or a node that behaves differently under load.")
        lines.append("  Agreement: the 95% intervals of the two quantiles (order statistics) overlap,")
        lines.append(f"  each widened by {AGREEMENT_SLACK:.0%}. {verdict}")
    if c.warnings:
        lines += [""] + [f"note: {w}" for w in c.warnings]
    return "\n".join(lines)


def calibration_tables(c: Calibration) -> list[tuple[str, list[dict[str, Any]]]]:
    """The fit and the check as titled tables of plain rows, for an app to draw."""
    services = [{"node": f.node, "calls": f.calls, "own ms": round(f.own_ms_mean, 3),
                 "queue ms": round(f.queue_ms, 3), "queue from": f.queue_source, "fitted": _spec(f.service_time),
                 "KS": round(f.ks, 4), "5% critical": round(f.ks_critical, 4), "fits": f.fits} for f in c.services]
    calls = [{"call": f"{e.source} -> {e.target}", "share": e.probability, "± se": round(e.stderr, 4),
              "made": e.made, "of calls": e.caller_calls, "was": e.before, "note": e.note or "fitted"}
             for e in c.edges]
    calls += [{"call": f"{name}.{k}", "share": now, "± se": None, "made": None, "of calls": None, "was": was,
               "note": "set by its kind from the calls on its branches"}
              for name, changed in c.fields.items() for k, (was, now) in changed.items()]
    check = [{"": a.what, "calls": a.trace_calls, "trace p50": round(a.trace_p50_ms, 3),
              "model p50": round(a.model_p50_ms, 3), "trace p99": round(a.trace_p99_ms, 3),
              "model p99": round(a.model_p99_ms, 3), "agrees": a.agrees} for a in c.agreement]
    return [("Service times (own time per call)", services), ("Calls", calls),
            ("Traces beside the calibrated model (p50 and p99 of each call's span, ms)", check)]
