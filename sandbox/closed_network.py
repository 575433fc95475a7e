"""Closed loops: users who wait for an answer, then think, solved by Mean Value Analysis where it is exact.

:func:`closed_by_mva` builds the closed network (stations with their demands, a
delay for think time and the network) when it is product form, or close to it,
and gives the estimates; otherwise :func:`closed_loop_rate` finds the rate at
which users = rate x (think + response) in the open network. Users of request
classes that every node treats alike are one population (each class then has
the same figures); where nodes treat them differently, each class cycles at its
own rate, which neither models (it is out of the analysis' scope).
"""

from __future__ import annotations

import math
from dataclasses import replace

from .closed_queueing import Station, mva
from .estimates import METHODS, NodeEstimate
from .network_design import Design, visits_with_limits
from .open_network import evaluate
from .scenario import Scenario

__all__ = ["closed_by_mva", "closed_loop_rate"]


def closed_by_mva(s: Scenario, d: Design) -> tuple[float, dict[str, NodeEstimate], float, bool] | None:
    """Throughput, estimates, latency and exactness of a closed loop by MVA; None when the network is not one
    MVA models (a worker held across a call by a pool smaller than the users, a queue, a rate limiter)."""
    w = s.workload
    users = w.users or 0
    v = visits_with_limits(s)
    stations: list[Station] = []
    exact = True
    network = 0.0   # ms of network delay per request
    for n, node in s.nodes.items():
        if v[n] <= 0 or not math.isfinite(v[n]):
            continue
        kind, cap = d.kind(n), d.caps[n]
        if kind.asynchronous or kind.admits_rps(node) is not None or d.parallel(n) or n in d.scope:
            return None
        for e, f in d.out[n]:
            network += v[n] * f * 2 * e.latency_ms
        if not cap.servers:
            continue
        own, scv = d.own(n)
        if cap.servers >= users:   # never all busy: a delay of its own service time
            stations.append(Station(n, v[n] * own / 1000.0, 0))
            continue
        if d.out[n]:
            return None            # holds a worker across its calls: not product form
        slots = kind.waiting_slots(node)
        if slots is not None and d.per_replica(n) + slots < users:
            exact = False          # rejections the MVA does not see
        if scv != 1.0:
            exact = False          # FCFS with non-exponential service is not product form
        if cap.replicas > 1:
            exact = False          # round robin over replicas, taken as a random split
        for k in range(cap.replicas):
            label = n if cap.replicas == 1 else f"{n}#{k}"
            stations.append(Station(label, v[n] / cap.replicas * own / 1000.0, d.per_replica(n)))
    think = (w.think_time_ms + network) / 1000.0
    closed = mva(stations, think, users)
    exact = exact and closed.exact
    rate = closed.throughput
    base = evaluate(s, rate, design=d)
    method = METHODS["MVA" if exact else "approximate MVA"]
    labels = {n: [st.name for st in stations if st.name == n or st.name.startswith(f"{n}#")] for n in s.nodes}

    def response(n: str) -> float:
        """ms per visit: a queueing station's residence; a delay's own time and the calls it makes."""
        if labels[n] and any(st.servers for st in stations if st.name in labels[n]):
            return sum(closed.residence[x] for x in labels[n]) * 1000.0 / v[n]
        return d.own(n)[0] + sum(f * (2 * e.latency_ms + response(e.target)) for e, f in d.out[n])

    out = {}
    for n, est in base.items():
        if not est.capacity or not labels[n] or not v[n]:
            out[n] = est
            continue
        own = d.own(n)[0]
        per_visit = response(n)
        hold = own + sum(f * (2 * e.latency_ms + response(e.target)) for e, f in d.out[n])
        wait = max(0.0, per_visit - hold)
        util = rate * v[n] * hold / 1000.0 / est.capacity
        accuracy = "exact" if exact else "approximate"
        out[n] = replace(est, hold_ms=hold, predicted_utilization=util, offered_utilization=util,
                         predicted_wait_ms=wait, predicted_response_ms=hold + wait, predicted_rejected=0.0,
                         accuracy=accuracy, method=method.name, utilization_band=method.utilization_band,
                         wait_band=method.wait_band,
                         classes={k: replace(c, hold_ms=hold, predicted_wait_ms=wait, predicted_response_ms=hold + wait,
                                             accuracy=accuracy, method=method.name, wait_band=method.wait_band)
                                  for k, c in est.classes.items()})   # every class alike (else out of scope)
    return rate, out, closed.response * 1000.0 + network, exact


def closed_loop_rate(s: Scenario, saturation: float, d: Design) -> float:
    """Throughput of `users` closed-loop users: solve rate = users / (think + R(rate))."""
    users, think_s = s.workload.users or 0, s.workload.think_time_ms / 1000.0
    lo, hi = 0.0, min(saturation, users / think_s if think_s else saturation)
    entry = s.workload.entry
    for _ in range(60):
        mid = (lo + hi) / 2
        r_s = evaluate(s, mid, detail=False, design=d)[entry].predicted_response_ms / 1000.0
        if mid * (think_s + r_s) < users:
            lo = mid
        else:
            hi = mid
    return lo
