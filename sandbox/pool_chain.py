"""The caller-callee chain: a thread pool that holds its workers on one callee, as one exact Markov chain.

Times in seconds; see :func:`caller_callee_chain`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .closed_queueing import Station, mva

__all__ = ["PairFigures", "caller_callee_chain"]


class PairFigures(NamedTuple):
    """The exact figures of a caller and the one callee it holds its workers on (seconds; shares)."""
    blocking: float
    caller_utilization: float
    callee_wait: float
    caller_wait: float
    response: float
    states: int


TAIL = 1e-12   # an unbounded caller's queue is cut where the mass beyond is below this


def _chain_states(workers: int, limit: int, phases: bool) -> int:
    """States of the chain with `limit` requests at most: (own, network, callee) splits of the busy workers."""
    def per(b: int) -> int:
        return (b + 1) * (b + 2) // 2 if phases else b + 1
    low = sum(per(b) for b in range(min(limit, workers) + 1))
    return low + max(0, limit - workers) * per(workers)


def caller_callee_chain(rate: float, caller_workers: int, caller_waiting: int | None, own: float,
                        call_probability: float, latency: float, callee_servers: int, callee_service: float,
                        max_states: int = 1500) -> PairFigures | None:
    """The continuous-time Markov chain of a thread pool and the one callee it holds its workers on.

    Poisson arrivals at `rate`; the caller has `caller_workers` workers and
    `caller_waiting` waiting slots (an arrival finding all of them taken is turned
    away; None: unbounded). A request does its own exponential work (mean `own`),
    then with probability `call_probability` calls the callee, which only this
    caller calls: the network both ways as one exponential phase of mean
    2 x `latency` with no queueing (none when 0: then the chain is exact for the
    model the simulation runs), then a FIFO wait for one of `callee_servers` servers
    and an exponential service of mean `callee_service`, its worker held throughout;
    then the worker takes the next waiting request. State: (requests at the caller,
    workers in their own work, in the network, at the callee), the busy workers
    being min(requests, workers); pi Q = 0 solved densely. Unbounded: the queue is
    cut where the stationary mass beyond is below TAIL (judged from the geometric
    decay of the levels a quarter of the way up the queue), and the request load must be below what all workers
    busy complete. None when the chain would have more than `max_states` states,
    when it cannot be cut safely within them, or when own or callee_service is not
    positive (the caller then uses an approximation).

    >>> f = caller_callee_chain(70.0, 4, 10, 0.010, 1.0, 0.0, 1, 0.012)
    >>> f.states, round(f.caller_utilization, 2), round(f.blocking, 3), round(f.callee_wait * 1000, 1)
    (65, 0.72, 0.018, 20.1)
    """
    if caller_workers < 1 or callee_servers < 1 or (caller_waiting is not None and caller_waiting < 0):
        raise ValueError(f"workers and servers must be at least 1 and waiting slots >= 0, got "
                         f"{caller_workers}, {callee_servers}, {caller_waiting}")
    if not 0 <= call_probability <= 1 or latency < 0:
        raise ValueError(f"call_probability must be in [0, 1] and latency >= 0, got {call_probability}, {latency}")
    if own <= 0 or callee_service <= 0:
        return None
    if caller_waiting is not None:
        if _chain_states(caller_workers, caller_workers + caller_waiting, latency > 0) > max_states:
            return None
        return _solve_chain(rate, caller_workers, caller_waiting, own, call_probability, latency, callee_servers,
                            callee_service)[0]
    full_rate = mva([Station("own", own, 0), Station("network", call_probability * 2 * latency, 0),
                     Station("callee", call_probability * callee_service, callee_servers)], 0.0, caller_workers)
    if rate >= full_rate.throughput:
        return None   # all workers busy complete less than arrives: no stationary state
    waiting = 32
    while _chain_states(caller_workers, caller_workers + waiting, latency > 0) <= max_states:
        figures, levels = _solve_chain(rate, caller_workers, waiting, own, call_probability, latency,
                                       callee_servers, callee_service)
        i = caller_workers + waiting // 4   # deep enough to be geometric, high enough to be above round-off
        decay = levels[i + 1] / levels[i] if levels[i] > 0 else 0.0
        if decay < 1 and levels[-1] / (1 - decay) < TAIL:
            return figures._replace(blocking=0.0)
        waiting *= 2
    return None


def _solve_chain(rate: float, cw: int, waiting: int, own: float, p_call: float, latency: float, servers: int,
                 service: float) -> tuple[PairFigures, np.ndarray]:
    """The chain's figures, and the stationary probability of each number of requests at the caller."""
    K = cw + waiting
    phases = latency > 0
    states: dict[tuple[int, int, int, int], int] = {}
    for n in range(K + 1):
        b = min(n, cw)
        for a in range(b + 1):
            for l in (range(b - a + 1) if phases else (0,)):
                states[(n, a, l, b - a - l)] = len(states)
    size = len(states)
    Q = np.zeros((size, size))

    def move(src: int, dst: tuple[int, int, int, int], r: float) -> None:
        if r > 0:
            Q[src, states[dst]] += r
            Q[src, src] -= r

    for (n, a, l, j), i in states.items():
        start = 1 if n > cw else 0   # a finishing request frees a worker; the first waiting request takes it
        if n < K:
            move(i, (n + 1, a + 1, l, j) if n < cw else (n + 1, a, l, j), rate)
        if a:
            done = a / own
            move(i, (n, a - 1, l + 1, j) if phases else (n, a - 1, l, j + 1), done * p_call)
            move(i, (n - 1, a - 1 + start, l, j), done * (1 - p_call))
        if l:
            move(i, (n, a, l - 1, j + 1), l / (2 * latency))
        if j:
            move(i, (n - 1, a + start, l, j - 1), min(j, servers) / service)
    A = Q.T.copy()
    A[-1, :] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    pi = np.maximum(np.linalg.solve(A, rhs), 0.0)   # round-off can leave -1e-18 where the mass is nil
    pi /= pi.sum()
    n_, a_, l_, j_ = np.array(list(states), dtype=float).T
    levels = np.bincount(n_.astype(int), weights=pi, minlength=K + 1)
    blocking = float(levels[K])
    admitted = rate * (1 - blocking)
    busy = float((pi * np.minimum(n_, cw)).sum())
    calls = admitted * p_call
    callee_wait = float((pi * np.maximum(j_ - servers, 0)).sum()) / calls if calls > 0 else 0.0
    caller_wait = float((pi * np.maximum(n_ - cw, 0)).sum()) / admitted if admitted > 0 else 0.0
    response = caller_wait + own + p_call * (2 * latency + callee_wait + service)
    return PairFigures(blocking, busy / cw, callee_wait, caller_wait, response, size), levels
