"""Closed product-form networks: users cycling through stations, a think time apart.

Exact Mean Value Analysis (Reiser and Lavenberg 1980) for delay and single-server
stations; the convolution algorithm for multi-server stations (Buzen 1973;
Lazowska et al., *Quantitative System Performance*, ch. 8 and 20), in logarithms;
and Schweitzer's approximation where the exact work would be too large. Times in
seconds.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .queueing import logsumexp

__all__ = ["Station", "ClosedFigures", "mva"]


class Station(NamedTuple):
    """A station of a closed network: demand = visits x mean service per visit (s); servers 0 is a delay."""
    name: str
    demand: float
    servers: int


class ClosedFigures(NamedTuple):
    """A closed network's figures (per cycle of a user); `exact` False when Schweitzer's approximation was used.

    utilization is per server (a delay's: the mean number of users in it)."""
    throughput: float
    response: float
    residence: dict[str, float]
    queue: dict[str, float]
    utilization: dict[str, float]
    exact: bool


MVA_WORK = 2_000_000            # users x queueing stations for exact MVA in Python (about a second at most)
CONVOLUTION_WORK = 20_000_000   # terms in the convolutions (about 0.6 s); beyond, Schweitzer's approximation


def mva(stations: Sequence[Station], think: float, users: int) -> ClosedFigures:
    """The figures of a single-class closed product-form network: `users` cycling through `stations`, `think` apart.

    Product form: exponential FCFS stations (or any service at a delay), a station's
    rate depending only on how many are in it. Delay stations, and stations with at
    least as many servers as users (never all busy), reside exactly their demand.
    Only delays and single servers: exact Mean Value Analysis (Reiser and Lavenberg
    1980). Multi-server stations: the exact load-dependent MVA recursion for the
    marginal probabilities subtracts nearly equal numbers near saturation (clamped
    and renormalised it is still 3-8% off with 12 servers and 200 users), so they go
    by the convolution algorithm instead (Buzen 1973; Lazowska et al. ch. 8), in
    logarithms (the normalising constants span thousands of orders of magnitude),
    each station's factor convolved in O(users x servers) because it is geometric
    beyond its servers, and the leave-one-out constants for the marginals by divide
    and conquer. Relative round-off about 1e-10 at 100,000 users. When the
    convolutions would exceed CONVOLUTION_WORK terms (or MVA, MVA_WORK steps, with
    no multi-server station), Schweitzer's approximation Q(n - 1) = Q(n) (n - 1) / n
    with Seidmann's split of a c-server station into a queue of demand D / c and a
    delay of D (c - 1) / c, and ``exact`` False.

    >>> f = mva([Station("s1", 0.015, 1), Station("s2", 0.020, 1)], 0.300, 15)
    >>> round(f.response * 1000, 4), f.exact
    (90.3506, True)
    """
    for st in stations:
        if not (st.demand >= 0 and math.isfinite(st.demand)) or st.servers < 0:
            raise ValueError(f"station {st.name}: demand must be finite and >= 0, servers >= 0, got {st}")
    if not (think >= 0 and math.isfinite(think)):
        raise ValueError(f"think: must be finite and >= 0, got {think}")
    names = [st.name for st in stations]
    if users <= 0:
        zero = {n: 0.0 for n in names}
        return ClosedFigures(0.0, 0.0, dict(zero), dict(zero), dict(zero), True)
    queueing = [st for st in stations if st.demand > 0 and 0 < st.servers < users]
    delay_total = think + sum(st.demand for st in stations if st not in queueing)
    if not queueing:
        x = users / delay_total if delay_total > 0 else math.inf
        return _figures(stations, x, {}, True)
    if all(st.servers == 1 for st in queueing) and users * len(queueing) <= MVA_WORK:
        return _figures(stations, *_exact_mva(queueing, delay_total, users), True)
    width = sum(min(st.servers, users + 1) for st in queueing)
    if (users + 1) * width * max(1, math.ceil(math.log2(len(queueing)))) <= CONVOLUTION_WORK:
        return _figures(stations, *_convolution(queueing, delay_total, users), True)
    return _figures(stations, *_schweitzer(queueing, delay_total, users), False)


def _figures(stations: Sequence[Station], x: float, queue: dict[str, float], exact: bool) -> ClosedFigures:
    """ClosedFigures from the throughput and the queueing stations' mean numbers (the rest are delays)."""
    residence, length, util = {}, {}, {}
    for st in stations:
        if st.name in queue:
            length[st.name] = queue[st.name]
            residence[st.name] = queue[st.name] / x if x > 0 else 0.0
        else:
            residence[st.name] = st.demand
            length[st.name] = x * st.demand if math.isfinite(x) else (0.0 if st.demand == 0 else math.inf)
        util[st.name] = x * st.demand / st.servers if st.servers else length[st.name]
    return ClosedFigures(x, sum(residence.values()), residence, length, util, exact)


def _exact_mva(stations: Sequence[Station], delay: float, users: int) -> tuple[float, dict[str, float]]:
    """Reiser and Lavenberg's recursion for single-server stations: R_i(n) = D_i (1 + Q_i(n - 1))."""
    demands = [st.demand for st in stations]
    q = [0.0] * len(demands)
    x = 0.0
    for n in range(1, users + 1):
        r = [d * (1.0 + qi) for d, qi in zip(demands, q)]
        x = n / (delay + sum(r))
        q = [x * ri for ri in r]
    return x, {st.name: qi for st, qi in zip(stations, q)}


def _log_factor(demand: float, servers: int, users: int) -> np.ndarray:
    """log of demand^j / prod_{k<=j} min(k, servers), j = 0..users (servers 0: a delay, k)."""
    k = np.arange(1, users + 1, dtype=float)
    rates = k if servers == 0 else np.minimum(k, servers)
    if demand <= 0:
        out = np.full(users + 1, -np.inf)
        out[0] = 0.0
        return out
    return np.concatenate(([0.0], np.cumsum(math.log(demand) - np.log(rates))))


def _convolve_station(g: np.ndarray, st: Station) -> np.ndarray:
    """log of (g * f) for a station's factor f: a band of `servers` terms, then a geometric tail by accumulation."""
    size = len(g)
    f = _log_factor(st.demand, st.servers, size - 1)
    band = min(st.servers, size)
    padded = np.concatenate((np.full(band - 1, -np.inf), g))
    out = np.empty(size)
    rows = max(1, 4_000_000 // band)   # bound the memory of the window
    for start in range(0, size, rows):
        stop = min(size, start + rows)
        terms = sliding_window_view(padded[start:stop + band - 1], band)[:, ::-1] + f[:band]
        top = terms.max(axis=1)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):   # a row of nothing but -inf is log 0
            out[start:stop] = top + np.log(np.exp(terms - top[:, None]).sum(axis=1))
    c = st.servers
    if c < size:   # sum_{j>=c} f(c) r^(j-c) g(n-j) = f(c) r^(n-c) sum_{m<=n-c} g(m) r^-m, r = D / c
        log_r = math.log(st.demand / c)
        m = np.arange(size - c, dtype=float)
        tail = f[c] + m * log_r + np.logaddexp.accumulate(g[:size - c] - m * log_r)
        out[c:] = np.logaddexp(out[c:], tail)
    return out


def _leave_one_out(base: np.ndarray, stations: Sequence[Station]) -> list[np.ndarray]:
    """For each station, the constants of base convolved with every other station (divide and conquer)."""
    if len(stations) == 1:
        return [base]
    half = len(stations) // 2
    left, right = stations[:half], stations[half:]
    with_right, with_left = base, base
    for st in right:
        with_right = _convolve_station(with_right, st)
    for st in left:
        with_left = _convolve_station(with_left, st)
    return _leave_one_out(with_right, left) + _leave_one_out(with_left, right)


def _convolution(stations: Sequence[Station], delay: float, users: int) -> tuple[float, dict[str, float]]:
    """Throughput and mean numbers from the normalising constants: p_i(j) = f_i(j) G_-i(N - j) / G(N)."""
    base = _log_factor(delay, 0, users)
    others = _leave_one_out(base, stations)
    x = 0.0
    queue = {}
    for k, (st, rest) in enumerate(zip(stations, others)):
        f = _log_factor(st.demand, st.servers, users)
        log_p = f + rest[::-1]                       # proportional to P(j at the station), j = 0..users
        log_g = logsumexp(log_p)
        p = np.exp(log_p - log_g)
        queue[st.name] = float((np.arange(users + 1) * p).sum() / p.sum())
        if k == 0:
            log_g_less = logsumexp(f[:-1] + rest[-2::-1])   # G(N - 1), from the same leave-one-out constants
            x = math.exp(log_g_less - log_g)
    return x, queue


def _schweitzer(stations: Sequence[Station], delay: float, users: int) -> tuple[float, dict[str, float]]:
    """Schweitzer's fixed point with Seidmann's split of each c-server station into a queue and a delay."""
    d = np.array([st.demand for st in stations])
    c = np.array([st.servers for st in stations], dtype=float)
    split_delay = delay + float((d * (c - 1) / c).sum())
    q = np.full(len(stations), users / (len(stations) + 1))   # in the queue part
    x = 0.0
    for _ in range(100_000):
        r = d / c * (1.0 + q * (users - 1) / users)
        x = users / (split_delay + float(r.sum()))
        new = x * r
        done = float(np.abs(new - q).max()) <= 1e-12 * users
        q = new
        if done:
            break
    return x, {st.name: float(qk + x * dk * (ck - 1) / ck) for st, qk, dk, ck in zip(stations, q, d, c)}
