"""Diagnosis: the bottleneck in one sentence, and theory beside simulation for every node.

Both read a run's :class:`~sandbox.results.NodeResult` figures (and the
analysis), so each figure can be explained: which node limits the system and
why (busy, waiting, turning calls away, blocked on a callee, doing wasted
work), and where the queueing theory and the simulation disagree, with the
reason when the workload is one the steady-state theory leaves out.
"""

from __future__ import annotations

import math
from typing import Any

from .analysis import Analysis, ClassNodeEstimate, NodeEstimate
from .kinds import KINDS
from .results import Bottleneck, ClassComparison, ClassResult, Comparison, ComparisonByClass, NodeResult

__all__ = ["find_bottleneck", "compare_with_theory", "class_sentence"]


def _asynchronous(kind: str) -> bool:
    return KINDS[kind].asynchronous if kind in KINDS else False


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms" if ms >= 1 else f"{ms:.2f} ms"


def find_bottleneck(nodes: dict[str, NodeResult], latency_mean_ms: float, requests_arrived: int,
                    callers: dict[str, list[str]] | None = None, wasted: dict[str, int] | None = None,
                    shed: dict[str, int] | None = None) -> Bottleneck:
    """The busiest node that holds workers, and why it limits the system.

    The sentence names how busy it is, how long calls wait there and what share
    of a request's time that is, and, when its workers mostly wait on a callee,
    that callee (a thread-pool cascade).
    """
    candidates = [n for n in nodes.values() if n.capacity and n.arrived]
    if not candidates:
        return Bottleneck(None, "no node with workers received calls")
    # the busiest node; among near-ties, the one doing its own work (a queue's consumers
    # or a caller blocked on a callee are busy *because of* another node)
    top = max(candidates, key=lambda n: (round(max(n.utilization, n.peak_utilization - 0.15), 2),
                                         -round(n.downstream_share, 1),
                                         n.rejected, n.wait_ms["mean"], n.name))
    parts = [f"{top.name} is {top.utilization:.0%} busy"]
    if top.peak_utilization >= 0.9 and top.peak_utilization - top.utilization >= 0.15:
        parts[0] += f" on average and {top.peak_utilization:.0%} at the peak (around t={top.peak_at_s:.0f} s)"
    wait = top.wait_ms["mean"]
    waiting_share = 0.0   # of a request's time, spent waiting here
    if wait >= 0.05:
        share = ""
        if latency_mean_ms > 0 and not _asynchronous(top.kind):
            per_request = wait * top.arrived / max(1, requests_arrived)  # wait x visits per request
            waiting_share = min(1.0, per_request / latency_mean_ms)
            share = f", {waiting_share:.0%} of their time"
        noun = "messages wait" if _asynchronous(top.kind) else "requests wait"
        parts.append(f"{noun} {_duration(wait)} there{share}")
    for q in (callers or {}).get(top.name, []):
        feeder = nodes.get(q)
        if feeder is not None and _asynchronous(feeder.kind) and feeder.wait_ms["mean"] >= max(1.0, 2 * wait):
            parts.append(f"messages wait {_duration(feeder.wait_ms['mean'])} for it in {q} "
                         f"(up to {feeder.queue_length['max']:,.0f} queued)")
    if top.rejected:
        by_policy = (shed or {}).get(top.name, 0)
        turned = f"it turned away {top.rejected} calls ({top.rejected / max(1, top.arrived):.1%})"
        if not by_policy:
            parts.append(f"{turned} with its queue full")
        elif by_policy == top.rejected:
            parts.append(f"{turned} by load shedding")
        else:
            parts.append(f"{turned}: {by_policy} by load shedding, the rest with its queue full")
    lost = (wasted or {}).get(top.name, 0)
    if top.completed and lost >= 0.1 * top.completed:
        parts.append(f"{min(1.0, lost / top.completed):.0%} of the calls it finished were wasted: "
                     "their callers had already timed out")
    if top.downstream_share >= 0.5:
        parts.append(f"its workers spend {top.downstream_share:.0%} of their busy time waiting on calls downstream")
    # (a node can wait while mostly idle: its bulkhead's few workers are the busy ones)
    if top.peak_utilization < 0.5 and not top.rejected and waiting_share < 0.25:
        parts.append("no node is near saturation, so latency is mostly service time")
    return Bottleneck(top.name, "; ".join(parts))


def _wait_allowance(rho: float, completed: int) -> float:
    """Relative 95% half-width of a simulated mean wait over `completed` calls at utilization `rho`.

    Whitt (1989, "Planning queueing simulations"): the time-average queue of an M/M/1 has asymptotic
    variance 2 rho (1 + rho) / (1 - rho)^4, so the mean wait over n calls has a relative standard error
    of about sqrt(2 (1 + rho) / n) / (1 - rho). Other queues are of the same order; it is the
    statistical part of the allowance, beside the stated accuracy of the estimate.
    """
    rho = min(max(rho, 0.0), 0.99)
    return 1.96 * math.sqrt(2 * (1 + rho) / max(completed, 1)) / (1 - rho)


def compare_with_theory(nodes: dict[str, NodeResult], analysis: Analysis, context: str = "") -> list[Comparison]:
    """Per node, the analysis beside the simulation, flagged where they disagree.

    They agree when every figure lies within the estimate's stated accuracy (none for an exact one)
    plus the simulation's own statistical error (from the run length and the load). A node outside
    what the analysis models is not compared (``agrees`` None), and the reason is the note.
    `context` is appended to each disagreement: what in the workload the steady-state theory
    leaves out (a closed loop analysed as an open network). With request classes each class is
    compared too (its share of the node's calls, its wait; a :class:`ComparisonByClass`), and a
    class that disagrees makes its node disagree.
    """
    out = []
    for name, sim in nodes.items():
        est = analysis.nodes.get(name)
        if est is None or not sim.capacity:
            continue
        pu, su = est.predicted_utilization, sim.utilization
        pw = est.predicted_wait_ms if math.isfinite(est.predicted_wait_ms) else None
        sw = sim.wait_ms["mean"]
        pr, sr = est.predicted_rejected, sim.rejected / max(1, sim.arrived)
        classes = _compare_classes(sim, est) if est.classes and sim.classes else None
        if est.accuracy == "none":
            out.append(_comparison(classes, name, pu, su, pw, sw, None, f"not modelled: {est.reason}", pr, sr,
                                   "none"))
            continue
        n = max(1, sim.completed)
        notes = []
        util_tol = est.utilization_band * pu + 0.01 + 1.96 * math.sqrt(2 * max(pu, 0.0) / n)
        if math.isfinite(pu) and abs(pu - su) > util_tol:
            notes.append(f"utilization {su:.0%} simulated vs {pu:.0%} predicted")
        elif not math.isfinite(pu):
            notes.append(f"utilization {su:.0%} simulated vs >999% predicted")
        if pw is None:
            if su >= 0.95 and not _class_notes(classes):  # saturated in both: the backlog builds in its queue or upstream
                out.append(_comparison(classes, name, pu, su, pw, sw, True, "saturated, as theory predicts", pr, sr,
                                       est.accuracy))
                continue
            notes.append("theory says this node is saturated, so its wait grows without bound")
        else:
            wait_tol = (est.wait_band + _wait_allowance(_load(su, est), n)) * pw + 0.5
            if abs(sw - pw) > wait_tol:
                notes.append(f"wait {sw:.1f} ms simulated vs {pw:.1f} ms predicted")
        reject_tol = est.utilization_band * pr + 0.002 + 1.96 * math.sqrt(max(pr * (1 - pr), 0.0) / n) \
            / (1 - min(su, 0.99)) ** 0.5
        if abs(sr - pr) > reject_tol:
            notes.append(f"{sr:.1%} of calls turned away simulated vs {pr:.1%} predicted")
        notes += _class_notes(classes)
        if notes and context:
            notes.append(context)
        out.append(_comparison(classes, name, pu, su, pw, sw, not notes, "; ".join(notes) if notes else "agrees", pr,
                               sr, est.accuracy))
    return out


def _load(simulated: float, est: NodeEstimate) -> float:
    """The load a node's simulated wait is as noisy as: its own, or its busiest pool's (a bulkhead)."""
    return max([simulated] + [c.utilization for c in est.classes.values()])


def _comparison(classes: dict[str, ClassComparison] | None, node: str, pu: float, su: float, pw: float | None,
                sw: float, agrees: bool | None, note: str, pr: float, sr: float, accuracy: str) -> Comparison:
    """A node's comparison, with its classes' where the workload has them."""
    if classes is None:
        return Comparison(node, pu, su, pw, sw, agrees, note, pr, sr, accuracy)
    return ComparisonByClass(node, pu, su, pw, sw, agrees, note, pr, sr, accuracy, classes)


def _class_notes(classes: dict[str, ClassComparison] | None) -> list[str]:
    """The disagreements of a node's classes, each named by its class."""
    return [f"{k}: {c.note}" for k, c in (classes or {}).items() if c.agrees is False]


def _compare_classes(sim: NodeResult, est: NodeEstimate) -> dict[str, ClassComparison]:
    """Per class at one node: its share of the node's calls and its mean wait, theory beside simulation, by the
    node's rules (the estimate's band plus the run's statistical error; a share within binomial noise)."""
    out = {}
    for k, c in est.classes.items():
        figures = sim.classes.get(k)
        if figures is not None:
            out[k] = _compare_class(sim, est, c, figures)
    return out


def _compare_class(sim: NodeResult, est: NodeEstimate, c: ClassNodeEstimate, figures: dict[str, Any]) -> ClassComparison:
    ps = c.offered_rps / est.offered_rps if est.offered_rps > 0 else 0.0
    ss = figures["arrived"] / sim.arrived if sim.arrived else 0.0
    pw = c.predicted_wait_ms if math.isfinite(c.predicted_wait_ms) else None
    sw = float(figures["wait_ms"]["mean"])
    if c.accuracy == "none" or est.accuracy == "none":
        return ClassComparison(ps, ss, pw, sw, None, f"not modelled: {est.reason}", "none")
    notes = []
    share_tol = 0.01 + 1.96 * math.sqrt(ps * (1 - ps) / max(1, sim.arrived))
    if abs(ss - ps) > share_tol:
        notes.append(f"{ss:.1%} of the calls simulated vs {ps:.1%} predicted")
    n = int(figures["completed"])
    if pw is None:
        if sim.utilization < 0.95:
            notes.append("theory says its line grows without bound")
    elif n or c.offered_rps > 0:
        tol = (c.wait_band + _wait_allowance(max(sim.utilization, c.utilization), max(1, n))) * pw + 0.5
        if abs(sw - pw) > tol:
            notes.append(f"wait {sw:.1f} ms simulated vs {pw:.1f} ms predicted")
    return ClassComparison(ps, ss, pw, sw, not notes, "; ".join(notes) if notes else "agrees", c.accuracy)


def shard_sentence(node: NodeResult) -> str:
    """A hot shard, when one runs well above its node: ``shard 0 of db is 79% busy (20% of its calls, where an
    even spread gives 12%): its keys are the most popular``; empty otherwise."""
    shards = node.keyed.get("shards") if node.keyed else None
    if not shards or len(shards) < 2:
        return ""
    hot = max(shards, key=lambda s: s["utilization"])
    total = sum(s["calls"] for s in shards)
    if hot["utilization"] < node.utilization + 0.1 or not total:
        return ""
    return (f"shard {hot['shard']} of {node.name} is {hot['utilization']:.0%} busy ({hot['calls'] / total:.0%} of its "
            f"calls, where an even spread gives {1 / len(shards):.0%}): its keys are the most popular")


def pipeline_sentence(node: NodeResult) -> str:
    """A consumer group that fell behind: ``etl lags 324 messages behind on clicks (the oldest unread 2.6 s old),
    most in partition 0: its keys are 26% of the messages, more than one consumer at a time can take``; empty
    when every group kept up (less than a second's messages unread at the end)."""
    groups = node.pipeline.get("groups") if node.pipeline else None
    parts = []
    for name, g in (groups or {}).items():
        lag = sum(g["lag_at_end"])
        rate = sum(g["consumed_per_partition"]) / max(1e-9, g["series"]["t_s"][-1]) if g.get("series", {}).get("t_s") \
            else 0.0
        if lag < max(10.0, rate):
            continue
        hot = max(range(len(g["lag_at_end"])), key=lambda p: (g["lag_at_end"][p], -p))
        lopsided = g["lag_at_end"][hot] > 1.5 * lag / len(g["lag_at_end"])   # one partition holds most of the lag
        oldest = g["series"]["oldest_unread_s"][-1] if g.get("series", {}).get("oldest_unread_s") else None
        share = g.get("predicted_partition_shares", [None] * (hot + 1))[hot]
        why = (f": its keys are {share:.0%} of the messages, and a partition is read one message at a time"
               if share is not None and share > 1.2 / len(g["lag_at_end"]) else "")
        parts.append(f"consumer group {name} is {lag:,} messages behind on {node.name}"
                     + (f" (the oldest unread {oldest:.1f} s old)" if oldest else "")
                     + (f", most in partition {hot}{why}" if lopsided else ""))
    return "; ".join(parts)


def class_sentence(classes: dict[str, ClassResult]) -> str:
    """Which classes suffer: ``checkout p99 1.2 s, 6.0x its SLO; browse within its SLO (p99 80 ms of 200 ms)``.

    A class suffers when its p99 is over its SLO, or when a share of it fails or is refused (with the main cause).
    """
    parts = []
    for c in classes.values():
        lat, req = c.latency_ms, c.requests
        lost = (req.rejected + req.failed) / req.arrived if req.arrived else 0.0
        cause = f", {lost:.1%} lost ({c.causes[0].reason} at {c.causes[0].node})" if lost >= 0.001 and c.causes \
            else ""
        if not req.completed:
            parts.append(f"{c.name} completed nothing{cause}")
        elif c.slo_ms is not None and lat.p99 > c.slo_ms:
            ratio = lat.p99 / c.slo_ms
            parts.append(f"{c.name} p99 {_duration(lat.p99)}, {ratio:.1f}x its SLO{cause}" if ratio >= 2 else
                         f"{c.name} p99 {_duration(lat.p99)}, {ratio - 1:.0%} over its SLO{cause}")
        elif c.slo_ms is not None:
            parts.append(f"{c.name} within its SLO (p99 {_duration(lat.p99)} of {_duration(c.slo_ms)}){cause}")
        else:
            parts.append(f"{c.name} p99 {_duration(lat.p99)}{cause}")
    return "; ".join(parts) + "." if parts else ""
