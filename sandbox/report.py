"""Text reports: results and analysis as readable tables for the terminal."""

from __future__ import annotations

import functools
import math
from typing import Any

from .analysis import Analysis, accuracy_text
from .graph import offered_rps
from .kinds import kind_of
from .report_classes import CLASS_HEADER, class_rows
from .results import Results
from .placement_theory import crossing_shares, flows, outage_predictions
from .scenario import Scenario

__all__ = ["summary_text", "analysis_text"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda row: "  ".join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def _num(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "inf"
    return f"{x:,.{digits}f}"


def _pct(x: float) -> str:
    return ">999%" if not math.isfinite(x) or x >= 10 else f"{x:.0%}"


def summary_text(r: Results) -> str:
    """The results of one run as a few lines and a per-node table."""
    q = r.requests
    lat = r.latency_ms
    done = q.completed / q.arrived if q.arrived else 0.0
    warm = f", first {r.duration_s - r.measured_s:g} s left out as warm-up" if r.measured_s < r.duration_s else ""
    slo = f" within {r.slo_ms:g} ms" if r.slo_ms else " (no slo_ms set: share completed)"
    lines = [
        f"{r.scenario}  (seed {r.seed}, {r.duration_s:g} simulated s{warm})",
        f"Requests    arrived {q.arrived:,}  completed {q.completed:,} ({done:.1%})  rejected {q.rejected:,}"
        f"  failed {q.failed:,}  in flight {q.in_flight:,}",
        f"Throughput  {r.throughput_rps:,.1f} rps    Goodput {r.goodput:.2%}{slo}",
        f"Latency ms  mean {_num(lat.mean)}  p50 {_num(lat.p50)}  p90 {_num(lat.p90)}  p95 {_num(lat.p95)}"
        f"  p99 {_num(lat.p99)}  p99.9 {_num(lat.p999)}  max {_num(lat.max)}",
        f"Cost        ${r.cost_per_hour:,.2f} per hour"
        + (f", ${r.cost_per_million:,.2f} per million completed requests" if r.cost_per_million is not None else ""),
        "",
    ]
    if r.classes:
        lines += [_table(CLASS_HEADER, class_rows(r)), ""]
    theory = {c.node: c for c in r.theory}
    rows = []
    for n in r.nodes.values():
        t = theory.get(n.name)
        rows.append([
            n.name, n.kind, f"{n.replicas}x{n.capacity // max(1, n.replicas)}" if n.capacity else "-",
            f"{n.arrived:,}", f"{n.utilization:.0%}" if n.capacity else "-",
            f"{_num(n.wait_ms['mean'])} / {_num(n.wait_ms['p99'])}",
            f"{_num(n.service_ms['mean'])}", f"{_num(n.queue_length['mean'])} / {n.queue_length['max']:g}",
            f"{n.rejected:,}",
            ("not modelled" if t.agrees is None else
             f"{_pct(t.predicted_utilization)} / {_num(t.predicted_wait_ms)}" + ("" if t.agrees else "  !"))
            if t else "-",
        ])
    lines.append(_table(["node", "kind", "size", "arrived", "busy", "wait ms mean/p99", "service ms",
                         "queue mean/max", "rejected", "theory busy/wait"], rows))
    keyed = [n for n in r.nodes.values() if "hit_ratio" in n.keyed]
    if keyed:
        krows = [[n.name, f"{n.keyed['hit_ratio']:.1%}", f"{n.keyed['predicted_hit_ratio']:.1%}",
                  f"{n.keyed['misses']:,}", f"{n.keyed['writes']:,}", f"{n.keyed['evictions']:,}",
                  f"{n.keyed['expirations']:,}", f"{n.keyed['coalesced']:,}", f"{n.keyed['entries']:,}",
                  n.keyed["method"]] for n in keyed]
        lines += ["", _table(["keyed cache", "hit ratio", "theory", "misses", "writes", "evicted", "expired",
                              "coalesced", "entries", "theory by"], krows)]
    for n in (n for n in r.nodes.values() if "shards" in n.keyed):
        k = n.keyed
        srows = [[f"{n.name} shard {sh['shard']}", f"{sh['calls']:,}", f"{share:.1%}", f"{sh['utilization']:.0%}",
                  f"{u:.0%}", _num(sh["wait_ms"])]
                 for sh, share, u in zip(k["shards"], k["predicted_shard_shares"], k["predicted_shard_utilization"])]
        if len(srows) > 1:
            lines += ["", _table(["shard", "calls", "theory share", "busy", "theory busy", "wait ms mean"], srows)]
        if "predicted_stale_share" in k:
            lines.append("")
            busy = "; ".join(_roles(sh, len(k["shards"]) > 1) for sh in k["shards"])
            lines.append(f"{n.name}: {k['reads']:,} reads ({k['replica_reads']:,} on read replicas), {k['writes']:,} "
                         f"writes; {k['stale_reads']:,} stale reads, {k['stale_share']:.2%} of replica reads "
                         f"(theory {k['predicted_stale_share']:.2%}); {busy}")
    for n in (n for n in r.nodes.values() if n.rollout):
        lines += ["", rollout_line(n.name, n.rollout)]
    for n in (n for n in r.nodes.values() if n.pipeline):
        lines += ["", *pipeline_lines(n.name, n.pipeline)]
    if r.placement:
        lines += ["", *placement_lines(r.placement)]
    by_class = _theory_by_class(r)
    if by_class:
        lines += ["", _table(["node", "class", "share of calls", "theory", "wait ms mean", "theory", ""], by_class)]
    busy_edges = [e for e in r.edges if e.attempts != e.calls or e.failures or e.hedges or e.breaker_opened]
    if busy_edges:
        erows = [[f"{e.source} -> {e.target}", f"{e.calls:,}", f"{e.attempts:,}", f"{e.amplification:.2f}x",
                  ", ".join(f"{k} {v:,}" for k, v in e.failures.items()) or "-",
                  f"{e.wasted_calls:,}", f"{e.hedges:,}/{e.hedge_wins:,}",
                  f"{e.breaker_opened}x, {e.breaker_open_s:.0f} s" if e.breaker_opened else "-"]
                 for e in busy_edges]
        lines += ["", _table(["call", "calls", "attempts", "amplification", "failed attempts", "wasted",
                              "hedges/won", "breaker open"], erows)]
    lines += ["", f"Bottleneck  {r.bottleneck.why}"]
    if r.causes:
        lines += ["", "Why requests did not complete:"]
        if r.classes:  # the same causes, split by class (a share is of the class's own requests)
            lines += [f"  {c.count:>9,}  {c.share:6.2%}  {k.name}: {c.status} at {c.node}: {c.reason}"
                      for k in r.classes.values() for c in k.causes]
        else:
            lines += [f"  {c.count:>9,}  {c.share:6.2%}  {c.status} at {c.node}: {c.reason}" for c in r.causes]
    flagged = [c for c in r.theory if c.agrees is False]
    if flagged:
        lines += ["", "Theory and simulation disagree (!), beyond the estimate's stated accuracy and the run's "
                      "statistical error:"]
        lines += [f"  {c.node}: {c.note}" for c in flagged]
    if r.analysis.out_of_scope:
        lines += ["", "Left to the simulation (the analysis does not model it):"]
        lines += [f"  {why}" for why in r.analysis.out_of_scope]
    if r.analysis.findings:
        lines += ["", "Findings:"]
        lines += [f"  {f.level:<7}  {f.message}" for f in r.analysis.findings]
    lines += ["", f"Engine      {r.engine.wall_s:.2f} s wall, {r.engine.events:,} events"]
    return "\n".join(lines)


def _theory_by_class(r: Results) -> list[list[str]]:
    """Per node and class, the simulated share of the node's calls and mean wait beside theory's (! where they
    disagree); only nodes the analysis models, of a workload with classes."""
    rows = []
    for t in r.theory:
        for k, c in getattr(t, "classes", {}).items():
            if c.agrees is None:
                continue
            rows.append([t.node, k, f"{c.simulated_share:.1%}", f"{c.predicted_share:.1%}", _num(c.simulated_wait_ms),
                         "unbounded" if c.predicted_wait_ms is None else _num(c.predicted_wait_ms),
                         "" if c.agrees else "!"])
    return rows


def _class_analysis(a: Analysis) -> list[str]:
    """Theory per class: end to end, and its wait at each node it visits."""
    rows = [[k, f"{c.share:.0%}", _num(c.rate_rps),
             "-" if c.latency_accuracy == "none" else _num(c.predicted_latency_ms, 2),
             accuracy_text(c.latency_accuracy, c.latency_band)] for k, c in a.classes.items()]
    waits = [[n, k, _num(c.visits, 3), _num(c.offered_rps), _num(c.hold_ms, 2),
              "-" if c.accuracy == "none" else ("unbounded" if not math.isfinite(c.predicted_wait_ms)
                                                else _num(c.predicted_wait_ms, 2)),
              accuracy_text(c.accuracy, c.wait_band, c.method)]
             for n, e in a.nodes.items() if e.capacity for k, c in e.classes.items() if c.visits > 0]
    out = ["", _table(["class", "share", "rate rps", "mean latency ms", "accuracy"], rows)]
    if waits:
        out += ["", _table(["node", "class", "visits", "offered rps", "hold ms", "wait ms", "accuracy"], waits)]
    return out


def _roles(shard: dict[str, Any], named: bool) -> str:
    """How busy a shard's primaries and read replicas were: ``shard 2: primaries 9% busy, read replicas 40%``."""
    where = f"shard {shard['shard']}: " if named else ""
    return (f"{where}primaries {shard['primary_utilization']:.0%} busy, read replicas "
            f"{shard['read_replica_utilization']:.0%}")


def rollout_line(name: str, f: dict[str, Any]) -> str:
    """What a feature flag's rollout did: rolled back or not, when, how many requests the treatment served."""
    er = f["error_rate"]
    breach = next((d for d in f["decisions"] if d["decision"].startswith("breach")), None)
    why = (f"; guardrail {breach['guardrail']} breached at {breach['t_s']:g} s (statistic {breach['statistic']:.2f} "
           f"over {breach['critical']:.2f})" if breach and breach.get("statistic") is not None else "")
    if f["rolled_back"]:
        head = (f"{name}: {f['treatment']} rolled back at {f['rolled_back_at_s']:g} s, "
                f"{f['time_to_detect_s']:g} s after its first exposure")
    elif f["held_at_share"] is not None:
        head = f"{name}: {f['treatment']} held at {f['held_at_share']:.0%}"
    else:
        head = f"{name}: {f['treatment']} rolled out as scheduled" + (" (a breach was ignored)" if breach else "")
    return (f"{head}; {f['exposed_requests']:,} requests ({f['exposed_keys']:,} keys) exposed to it; error rate "
            f"{er['treatment']:.2%} against the control's {er['control']:.2%}{why}")


def pipeline_lines(name: str, p: dict[str, Any]) -> list[str]:
    """A stream's consumer groups (lag, freshness, the hottest partition) or a topic's subscriptions, beside theory."""
    if "groups" in p:
        rows = []
        for g, f in p["groups"].items():
            hot = f["hottest_partition"]
            fresh = f["freshness_ms"]
            theory = f.get("predicted_freshness_ms")
            util = f.get("predicted_partition_utilization") or []
            rows.append([f"{name} -> {g}", f"{f['consumed']:,}", f"{f['failed']:,}", f"{f['expired']:,}",
                         f"{sum(f['lag_at_end']):,}", f"{_num(fresh['mean'])} / {_num(fresh['p99'])}",
                         _num(theory) if theory is not None else
                         "unstable" if f.get("predicted_lag_growth_per_s", 0) > 0 else "-",
                         f"{hot}" + (f" ({util[hot]:.0%} busy in theory)" if util else ""),
                         f"{f.get('predicted_capacity_rps', 0):,.0f}", f"{f.get('predicted_lag_growth_per_s', 0):,.1f}"])
        return [_table(["consumer group", "consumed", "failed", "expired", "lag at end", "freshness ms mean/p99",
                        "theory mean", "hottest partition", "theory max rps", "theory lag growth/s"], rows)]
    rows = [[f"{name} -> {sub}", f"{f['delivered']:,}", f"{f['failed']:,}", f"{f['dropped']:,}",
             f"{f['backlog_at_end']:,} / {f['backlog_max']:,}", f"{_num(f['age_ms']['mean'])} / {_num(f['age_ms']['p99'])}",
             f"{f['consumers']}", f"{f.get('predicted_utilization', 0):.0%}"]
            for sub, f in p.get("subscriptions", {}).items()]
    return [_table(["subscription", "delivered", "failed", "dropped", "backlog end/max", "age ms mean/p99",
                    "consumers", "theory busy"], rows)]


def placement_lines(p: dict[str, Any]) -> list[str]:
    """Zones (their calls and refusals), the calls that crossed zones, each outage and how soon it was seen."""
    rows = [[zone, z["region"], ", ".join(f"{n} {f['replicas']}" for n, f in z["nodes"].items()),
             f"{sum(f['calls'] for f in z['nodes'].values()):,}",
             f"{sum(f['failed'] for f in z['nodes'].values()):,}",
             f"{sum(f['refused_zone_down'] for f in z['nodes'].values()):,}"] for zone, z in p["zones"].items()]
    lines = ["Placement"]
    if rows:
        lines.append(_table(["zone", "region", "replicas", "calls", "failed", "refused: zone down"], rows))
    c = p["calls_between_placed"]
    if c["calls"]:
        lines.append(f"Calls between placed replicas: {c['calls']:,}; {c['cross_zone_share']:.1%} crossed zones "
                     f"(theory {c['predicted_cross_zone_share']:.1%}), {c['cross_region_share']:.1%} crossed regions "
                     f"(theory {c['predicted_cross_region_share']:.1%})")
    for o in p["outages"]:
        theory = (f"theory {o['predicted_failed']:,.0f}, detected by {o['detected_by']}"
                  if o["predicted_failed"] is not None else o["detected_by"])
        seen = "; ".join(
            f"{d['balancer']} took them out after "
            + (f"{d['detected_after_s']:.1f} s" if d["detected_after_s"] is not None else "never, within the outage")
            + (f" and back {d['back_after_s']:.1f} s after it ended" if d["back_after_s"] is not None else "")
            for d in o["detections"])
        lines.append(f"Zone {o['zone']} down at {o['at_s']:g} s for {o['for_s']:g} s: {o['node']} refused "
                     f"{o['refused']:,} calls ({theory})" + (f"; {seen}" if seen else ""))
    for name, x in p.get("random_failures", {}).items():
        lines.append(f"{name} fails at random: {x['failures']:,} failures of its {x['replicas']} replicas; a replica up "
                     f"{x['replica_availability']:.2%} of the time (theory {x['predicted_replica_availability']:.2%}), "
                     f"at least one {x['tier_availability']:.3%} (theory {x['predicted_tier_availability']:.3%}); "
                     f"{x['refused']:,} calls refused, {x['failed_share']:.2%} (theory {x['predicted_failed_share']:.2%}, "
                     f"detected by {x['detected_by']})")
    theory = p.get("predicted_availability")
    lines.append(f"Availability {p['availability']:.2%} of requests completed ({nines(p['availability'])})"
                 + (f" (theory, from the zone outages and random failures alone: {theory:.2%})"
                    if theory is not None else ""))
    return lines


def nines(availability: float) -> str:
    """Availability as nines: 0.999 is "3.0 nines"."""
    if availability >= 1.0:
        return "no request lost"
    return f"{-math.log10(1.0 - availability):.1f} nines"


def _placement_analysis(s: Scenario) -> list[str]:
    """Theory's placement: the calls expected to cross zones and regions, and what each zone outage costs."""
    f = flows(s)
    if f is None:
        return []
    zone, region = crossing_shares(s, f)
    lines = ["", f"Placement: {zone:.1%} of calls between placed replicas cross zones, {region:.1%} cross regions "
                 "(their delays are in the latency above)"]
    for o in outage_predictions(s):
        lines.append(f"  zone {o['zone']} down at {o['at_s']:g} s for {o['for_s']:g} s: about "
                     f"{o['predicted_failed']:,.0f} calls to {o['node']} fail (detected by {o['detected_by']})")
    return lines


def analysis_text(s: Scenario, a: Analysis) -> str:
    """The back-of-envelope analysis as a table and findings."""
    rows = [[e.node, e.kind, _num(e.visits, 3), _num(e.offered_rps), str(e.capacity or "-"), _num(e.hold_ms, 2),
             _pct(e.predicted_utilization) if e.capacity else "-",
             ("-" if e.accuracy == "none" else _num(e.predicted_wait_ms, 2)) if e.capacity else "-",
             f"{e.predicted_rejected:.1%}" if e.capacity and e.accuracy != "none" else "-",
             accuracy_text(e.accuracy, e.wait_band, e.method) if e.capacity else "-"]
            for e in a.nodes.values()]
    first = f" ({a.first_to_saturate} first)" if a.first_to_saturate else ""
    latency = ("not modelled (see below)" if a.latency_accuracy == "none" else
               f"{_num(a.predicted_latency_ms, 2)} ms  ({accuracy_text(a.latency_accuracy, a.latency_band)})")
    lines = [f"{s.name}: analysis at {a.rate_rps:,.1f} rps (no simulation)", "",
             _table(["node", "kind", "visits", "offered rps", "workers", "hold ms", "busy", "wait ms", "rejected",
                     "accuracy"], rows), "",
             f"Predicted mean latency  {latency}",
             f"Saturates at            {_num(a.saturation_rps)} rps{first}"]
    keyed = [(n, kind_of(node).predicted_figures(s, node, functools.partial(offered_rps, s, n)))
             for n, node in s.nodes.items()]
    caches = [(n, f) for n, f in keyed if "predicted_hit_ratio" in f]
    if caches:
        lines += ["", "Keyed caches (hits from the workload's keys):"]
        lines += [f"  {n}: hit ratio {f['predicted_hit_ratio']:.1%} by {f['method']} ({f['accuracy']})"
                  for n, f in caches]
    for n, f in keyed:
        if "predicted_shard_shares" not in f:
            continue
        shares = f["predicted_shard_shares"]
        if len(shares) > 1:
            hot = f["hottest_shard"]
            lines += ["", f"{n}: {len(shares)} shards by {f['keyed_by']}; the hottest, shard {hot}, takes "
                          f"{shares[hot]:.1%} of its calls and is {f['predicted_shard_utilization'][hot]:.0%} busy: "
                          f"it saturates the database at {_num(f['saturation_rps_of_hottest'])} rps"]
        if "predicted_stale_share" in f:
            lines.append(f"{n}: {f['predicted_stale_share']:.2%} of reads on read replicas are stale (Poisson writes, "
                         "any lag distribution with this mean)")
    for n, f in keyed:
        for g, x in f.get("groups", {}).items():
            hot = x["predicted_hottest_partition"]
            fresh = x["predicted_freshness_ms"]
            lines += ["", f"{n} -> {g}: keeps up with {_num(x['predicted_capacity_rps'])} messages a second; partition "
                          f"{hot} takes {x['predicted_partition_shares'][hot]:.1%} of them and is "
                          f"{x['predicted_partition_utilization'][hot]:.0%} busy; "
                          + (f"the lag grows by {_num(x['predicted_lag_growth_per_s'])} a second"
                             if x["predicted_lag_growth_per_s"] > 0 else
                             f"freshness {_num(fresh)} ms on average" if fresh is not None else "it keeps up")
                          + f" ({x['method']})"]
        for sub, x in f.get("subscriptions", {}).items():
            lines += ["", f"{n} -> {sub}: its consumers {x['predicted_utilization']:.0%} busy"
                          + (f"; its backlog grows by {_num(x['predicted_backlog_growth_per_s'])} a second"
                             if x["predicted_backlog_growth_per_s"] > 0 else "")]
    lines += _placement_analysis(s)
    if a.classes:
        lines += _class_analysis(a)
    if a.out_of_scope:
        lines += ["", "Left to the simulation (the analysis does not model it):"] + [f"  {w}" for w in a.out_of_scope]
    if a.findings:
        lines += ["", "Findings:"] + [f"  {f.level:<7}  {f.message}" for f in a.findings]
    return "\n".join(lines)
