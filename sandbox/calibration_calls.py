"""The calibration's calls: each call's probability, parallel fan-out and a cache's branches, from who called whom.

A call's probability is the share of the caller's calls that made it at least once (retries and hedges
count as attempts, not as more calls), with its binomial standard error; a node whose calls overlap in
time in most spans with several is parallel; a node with `when: hit|miss` calls learns the share of its
calls that took each branch, which its kind turns into fields (a cache's hit ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .kinds import kind_of
from .scenario import Scenario
from .tracefiles import Hop

__all__ = ["CallFit", "fit_edges", "unmodelled_calls", "fit_parallel", "branch_shares"]


@dataclass(frozen=True)
class CallFit:
    """One call's fitted probability: the share of the caller's calls that made it, with its standard error."""
    source: str
    target: str
    edge: int                       # its index in the scenario's edges
    caller_calls: int
    made: int                       # caller calls that made it at least once
    attempts: int                   # calls made in all (retries and hedges included)
    probability: float
    stderr: float
    before: float
    fitted: bool                    # False: kept as it was (the note says why)
    note: str = ""


def fit_edges(s: Scenario, hops: list[Hop], by_node: dict[str, list[Hop]], warnings: list[str]) -> list[CallFit]:
    out = []
    for i, e in enumerate(s.edges):
        # the calls that got as far as making their own calls: not those refused at the door or failed in
        # their own work (a caller whose first call failed may have skipped the later ones: a small bias)
        callers = [h for h in by_node.get(e.source, []) if h.calls or not h.error]
        if not callers:
            continue
        made = sum(1 for h in callers if any(hops[c].service == e.target for c in h.calls))
        attempts = sum(1 for h in callers for c in h.calls if hops[c].service == e.target)
        n = len(callers)
        p = made / n
        se = math.sqrt(p * (1 - p) / n)
        note = ""
        if e.when != "always":
            note = f"called on a {e.when}: the cache's hit ratio sets its share"
        elif e.classes is not None:
            note = "taken by some classes only: the traces do not say which class a call was (kept)"
        elif e.weight is not None:
            note = "a weighted choice: weights are kept"
        elif made == 0:
            note = "never made in the traces; kept (remove the call if it is gone)"
            warnings.append(f"{e.source} never called {e.target} in the traces ({n} calls of {e.source})")
        fitted = not note
        if fitted:
            value = round(p, 4)
            p = value if value > 0 else p
        out.append(CallFit(e.source, e.target, i, n, made, attempts, p if fitted else e.probability, se,
                           e.probability, fitted, note))
    return _one_of_sums_to_one(s, out)


def _one_of_sums_to_one(s: Scenario, fits: list[CallFit]) -> list[CallFit]:
    """A `route: one` node takes exactly one call: its fitted shares are scaled to sum to 1 exactly (the last
    takes the rounding), as the format requires."""
    for name, node in s.nodes.items():
        if kind_of(node).routing(node) != "one":
            continue
        group = [k for k, f in enumerate(fits) if f.source == name and f.fitted]
        if len(group) != len([e for e in s.edges if e.source == name]):
            for k in group:   # some are kept, so the fitted ones cannot be made to sum to 1: keep them all
                fits[k] = replace(fits[k], probability=fits[k].before, fitted=False,
                                  note="one of a route: one choice whose other calls are kept")
            continue
        total = sum(fits[k].made for k in group)
        if not total:
            continue
        shares = [round(fits[k].made / total, 4) for k in group]
        shares[-1] = round(1.0 - sum(shares[:-1]), 10)
        for k, p in zip(group, shares):
            fits[k] = replace(fits[k], probability=p)
    return fits


def unmodelled_calls(s: Scenario, hops: list[Hop], warnings: list[str]) -> None:
    known = {(e.source, e.target) for e in s.edges}
    seen: dict[tuple[str, str], int] = {}
    for h in hops:
        if h.parent is None:
            continue
        pair = (hops[h.parent].service, h.service)
        if pair[0] in s.nodes and pair[1] in s.nodes and pair not in known:
            seen[pair] = seen.get(pair, 0) + 1
    for (a, b), n in sorted(seen.items()):
        warnings.append(f"the traces show {n} calls from {a} to {b}, which the scenario does not have (add the edge)")


def fit_parallel(s: Scenario, hops: list[Hop], by_node: dict[str, list[Hop]]) -> dict[str, bool]:
    """Nodes whose calls overlap in most multi-call spans are parallel; those whose never overlap are not."""
    out = {}
    for name, node in s.nodes.items():
        if "parallel" not in type(node).model_fields or name not in by_node:
            continue
        several = overlapping = 0
        for h in by_node[name]:
            calls = sorted((hops[c].start_ns, hops[c].end_ns) for c in h.calls if not hops[c].asynchronous)
            if len(calls) < 2:
                continue
            several += 1
            if any(b[0] < a[1] for a, b in zip(calls, calls[1:])):
                overlapping += 1
        if several < 5:
            continue
        now = overlapping > several / 2
        if now != bool(getattr(node, "parallel", False)):
            out[name] = now
    return out


def branch_shares(s: Scenario, hops: list[Hop], by_node: dict[str, list[Hop]]) -> dict[str, dict[str, float]]:
    """By node with `when: hit|miss` calls: the share of its calls that took each branch, from the calls made on
    that branch's edges (divided by the edge's probability)."""
    out: dict[str, dict[str, float]] = {}
    for name, mine in by_node.items():
        if name not in s.nodes or not kind_of(s.nodes[name]).branches:
            continue
        shares = {}
        for when in ("hit", "miss"):
            es = [e for e in s.edges if e.source == name and e.when == when]
            if not es:
                continue
            targets = {e.target for e in es}
            took = sum(1 for h in mine if not h.error and any(hops[c].service in targets for c in h.calls))
            ok = sum(1 for h in mine if not h.error)
            if ok:
                shares[when] = took / ok / max(e.probability for e in es)
        if shares:
            out[name] = shares
    return out
