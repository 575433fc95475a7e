"""Queueing formulas the analysis uses, each exact where the model's assumptions hold.

Times are in seconds and rates per second. Each function names its model, its
assumptions and its source; :mod:`sandbox.analysis` decides which model a node
allows and says how exact the result is.

- :func:`erlang_b`, :func:`erlang_c`, :func:`mmc_wait`: M/M/c/c and M/M/c (Erlang).
- :func:`mmck`: M/M/c/K (Gross and Harris, *Fundamentals of Queueing Theory*, 2.5).
- :func:`gim_c_wait`: GI/M/c for Erlang-k and constant interarrivals (Takacs 1962;
  Gross and Harris, the GI/M/c section of chapter 6).
- :func:`mva`: closed product-form networks: exact Mean Value Analysis (Reiser and
  Lavenberg 1980), the convolution algorithm for multi-server stations (Buzen
  1973; Lazowska et al., *Quantitative System Performance*, ch. 8 and 20), and
  Schweitzer's approximation where the exact work would be too large.
- :func:`fork_join_response`: parallel branches (Nelson and Tantawi 1988).
- :func:`caller_callee_chain`: the exact Markov chain of a thread pool that holds
  its workers on one callee.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["erlang_b", "erlang_c", "mmc_wait", "FiniteQueue", "mmck", "gim_c_wait", "Station", "ClosedFigures",
           "mva", "fork_join_response", "PairFigures", "caller_callee_chain"]

SPREAD = 40.0   # standard deviations: a Poisson term this far from its mean is below e^-270 of the largest


# ── M/M/c/K and Erlang ──────────────────────────────────────────────────────

class FiniteQueue(NamedTuple):
    """An M/M/c/K queue: blocking probability, carried load per server, wait of admitted calls, mean number in it."""
    blocking: float
    utilization: float
    wait: float
    in_system: float


def _logsumexp(x: np.ndarray) -> float:
    top = float(x.max())
    return top + math.log(float(np.exp(x - top).sum())) if math.isfinite(top) else -math.inf


def _geometric(log_ratio: float, count: float) -> tuple[float, float]:
    """log of sum_{m=1..count} r^m and the mean m under those weights (count may be inf when r < 1).

    Closed forms with expm1, reflected about the largest term, so neither r^count
    overflows nor r near 1 cancels."""
    if math.isinf(count):
        return log_ratio - math.log(-math.expm1(log_ratio)), 1.0 / -math.expm1(log_ratio)
    if log_ratio > 0:   # the largest term is the last: count down from it
        log_s, mean = _geometric_from_top(log_ratio, int(count))
        return count * log_ratio + log_s, count - mean
    log_s, mean = _geometric_from_top(-log_ratio, int(count))
    return log_ratio + log_s, 1.0 + mean


def _geometric_from_top(y: float, m: int) -> tuple[float, float]:
    """log of sum_{i=0..m-1} e^(-i y) (y >= 0) and the mean i under those weights."""
    if y == 0:
        return math.log(m), (m - 1) / 2
    log_s = math.log(-math.expm1(-m * y)) - math.log(-math.expm1(-y))
    if m * y < 1e-4:     # the closed form cancels here; the series' next term is below 1e-12 of m
        return log_s, (m - 1) / 2 - y * (m * m - 1) / 12
    return log_s, math.exp(-y) / -math.expm1(-y) - m * math.exp(-m * y) / -math.expm1(-m * y)


def mmck(servers: int, capacity: int | None, rate: float, hold: float) -> FiniteQueue:
    """M/M/c/K: Poisson arrivals, `servers` exponential servers, at most `capacity` calls in the system.

    ``capacity`` = servers + waiting slots; None is unbounded (M/M/c: wait inf and no
    blocking when rate x hold >= servers). The birth-death chain's stationary law
    (Gross and Harris 2.5): below c servers, Poisson-like terms a^n / n!, summed in
    logarithms only within SPREAD standard deviations of their peak (the rest is
    below e^-270 of it); above, a geometric series in rho = a / c, in closed form.
    So the cost grows with sqrt(a), not with K: K = 100,100 with c = 100,000 takes
    about a millisecond. Blocking is the probability of K calls (PASTA); utilization
    is the carried load per server; wait is the mean wait of admitted calls (Little's
    law on the admitted rate). ValueError when capacity < servers.

    >>> q = mmck(1, None, 0.8, 1.0)
    >>> round(q.wait, 9), q.blocking
    (4.0, 0.0)
    >>> q = mmck(1, 2, 1.0, 1.0)          # M/M/1/2 at rho 1: three equally likely states
    >>> round(q.blocking, 9), round(q.in_system, 9)
    (0.333333333, 1.0)
    """
    c = servers
    if c < 1:
        raise ValueError(f"servers: must be at least 1, got {c}")
    if capacity is not None and capacity < c:
        raise ValueError(f"capacity: must be at least servers ({c}), got {capacity}")
    if rate <= 0 or hold <= 0:
        return FiniteQueue(0.0, 0.0, 0.0, 0.0)
    a = rate * hold
    if capacity is None and a >= c:
        return FiniteQueue(0.0, a / c, math.inf, math.inf)
    peak = min(a, c)   # the largest term at or below c servers; a > c: the terms fall at least as fast as below c
    lo = max(0, int(peak - SPREAD * math.sqrt(peak) - SPREAD))
    hi = min(c, int(a + SPREAD * math.sqrt(a) + SPREAD) + 1)
    n = np.arange(lo, hi + 1, dtype=float)
    # log(a^n / n!) relative to n = lo, by the ratio a / n: small numbers, no lgamma of 1e5
    logs = np.concatenate(([0.0], np.cumsum(math.log(a) - np.log(n[1:]))))
    extra = capacity - c if capacity is not None else math.inf
    tail = hi == c and extra > 0   # the geometric part above c, unless it is negligible or empty
    if tail:
        log_g, mean_g = _geometric(math.log(a / c), extra)
        log_z = float(np.logaddexp(_logsumexp(logs), logs[-1] + log_g))
        p_tail = math.exp(logs[-1] + log_g - log_z)
    else:
        log_z, mean_g, p_tail = _logsumexp(logs), 0.0, 0.0
    p = np.exp(logs - log_z)
    if capacity is None:
        blocking = 0.0
    elif hi < c:
        blocking = 0.0                       # K is beyond where any term counts
    elif extra == 0:
        blocking = float(p[-1])
    else:
        blocking = math.exp(logs[-1] + extra * math.log(a / c) - log_z)
    queued = p_tail * mean_g
    in_system = float((n * p).sum()) + p_tail * (c + mean_g)
    admitted = rate * (1.0 - blocking)
    wait = queued / admitted if admitted > 0 else 0.0
    return FiniteQueue(blocking, admitted * hold / c, wait, in_system)


def erlang_b(servers: int, offered_erlangs: float) -> float:
    """Blocking probability of an M/M/c/c loss system (Erlang B); insensitive to the service distribution.

    >>> round(erlang_b(2, 1.0), 9)
    0.2
    """
    return mmck(servers, servers, offered_erlangs, 1.0).blocking


def erlang_c(servers: int, offered_erlangs: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C); 1 when saturated.

    >>> round(erlang_c(1, 0.8), 9), round(erlang_c(2, 1.0), 9)
    (0.8, 0.333333333)
    """
    c, a = servers, offered_erlangs
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def mmc_wait(servers: int, rate: float, hold: float, variability: float = 1.0) -> float:
    """Mean wait before service in an M/M/c queue, scaled by `variability` = (ca^2 + cs^2) / 2 (Allen-Cunneen).

    Exact for variability 1 (M/M/c); inf when saturated.

    >>> round(mmc_wait(1, 80.0, 0.010), 9)
    0.04
    """
    if rate <= 0 or hold <= 0:
        return 0.0
    a = rate * hold
    if a >= servers:
        return math.inf
    return erlang_c(servers, a) * hold / (servers - a) * variability


# ── GI/M/c ──────────────────────────────────────────────────────────────────

def _interarrival_transform(rate: float, scv: float) -> Callable[[float, int], float]:
    """The n-th derivative of the interarrival time's Laplace-Stieltjes transform A*(s), for scv 1/k or 0."""
    if scv == 0:   # constant gaps 1/rate: A*(s) = exp(-s / rate)
        return lambda s, order: (-1.0 / rate) ** order * math.exp(-s / rate)
    k = round(1 / scv) if scv > 0 else 0
    if k < 1 or abs(k * scv - 1) > 1e-9:
        raise ValueError(f"interarrival_scv: must be 0 or 1/k for an integer k >= 1, got {scv:g}")
    kr = k * rate

    def erlang(s: float, order: int) -> float:   # A*(s) = (k rate / (k rate + s))^k and its derivatives
        rising = math.prod(range(k, k + order))
        return (-1) ** order * rising * math.exp(-k * math.log1p(s / kr)) / (kr + s) ** order
    return erlang


def _one_minus_transform(rate: float, scv: float, s: np.ndarray) -> np.ndarray:
    """1 - A*(s) without cancellation for small s."""
    if scv == 0:
        return -np.expm1(-s / rate)
    k = round(1 / scv)
    return -np.expm1(-k * np.log1p(s / (k * rate)))


def gim_c_wait(servers: int, rate: float, hold: float, interarrival_scv: float) -> float:
    """Exact mean wait of a GI/M/c queue (FIFO, unbounded) for Erlang-k (scv 1/k) or constant (scv 0) gaps.

    Round robin over k replicas gives each one Erlang-k gaps of a Poisson stream;
    scv 1 is M/M/c. sigma is the root in (0, 1) of sigma = A*(c mu (1 - sigma)),
    A* the Laplace-Stieltjes transform of the interarrival time (Newton's method on
    y = 1 - sigma, monotone from y = 1 because the equation is concave in y). One
    server: W = sigma / (mu (1 - sigma)) (Kleinrock vol. 1, 6.4). More: arrivals
    find n >= c with probability C sigma^(n-c), so P(wait) = C / (1 - sigma) and
    W = P(wait) / (c mu (1 - sigma)), with Takacs's normalising constant
    (Takacs 1962; Gross and Harris, GI/M/c)::

        1/C = 1/(1-sigma) + sum_{j=1..c} binom(c,j) / (C_j (1-phi_j)) x (c(1-phi_j) - j) / (c(1-sigma) - j),

    phi_j = A*(j mu), C_j = prod_{i<=j} phi_i / (1 - phi_i). Every term is positive
    (numerator and denominator change sign together, at j = c(1 - sigma)), so the
    sum is taken in logarithms without cancellation, for any c; at that j the ratio
    is a removable 0/0 and is taken from the Taylor series of its numerator. inf
    when rate x hold >= servers; ValueError for any other scv.

    >>> round(gim_c_wait(1, 80.0, 0.010, 1 / 3) * 1000, 1)     # E3/M/1 at 80%, 10 ms service
    24.6
    >>> round(gim_c_wait(5, 400.0, 0.010, 1.0) / mmc_wait(5, 400.0, 0.010), 9)   # scv 1 is M/M/c
    1.0
    """
    transform = _interarrival_transform(rate, interarrival_scv)   # refuses any other scv
    c = servers
    if c < 1:
        raise ValueError(f"servers: must be at least 1, got {c}")
    if rate <= 0 or hold <= 0:
        return 0.0
    if rate * hold >= c:
        return math.inf
    mu = 1.0 / hold
    y = 1.0   # 1 - sigma; F(y) = 1 - A*(c mu y) - y is concave with F(0) = 0 and F(1) < 0
    for _ in range(500):
        f = float(_one_minus_transform(rate, interarrival_scv, np.array([c * mu * y]))[0]) - y
        slope = -c * mu * transform(c * mu * y, 1) - 1.0
        step = f / slope
        y -= step
        if abs(step) <= 1e-15 * y:
            break
    sigma = 1.0 - y
    if c == 1:
        return sigma / (mu * y)
    j = np.arange(1, c + 1, dtype=float)
    one_minus_phi = _one_minus_transform(rate, interarrival_scv, j * mu)
    log_phi = np.log1p(-one_minus_phi)
    log_cj = np.cumsum(log_phi - np.log(one_minus_phi))
    log_binom = np.cumsum(np.log((c - j + 1) / j))
    with np.errstate(divide="ignore", invalid="ignore"):   # 0/0 at j = c (1 - sigma): replaced below
        ratio = np.abs((c * one_minus_phi - j) / (c * y - j))
    x0 = c * y
    near = round(x0)
    if 1 <= near <= c and abs(near - x0) < 1e-3:
        t = near - x0   # g(x) = c (1 - A*(x mu)) - x has g(x0) = 0: ratio = -(g' + g'' t / 2 + g''' t^2 / 6)
        g1 = -c * mu * transform(x0 * mu, 1) - 1
        g2 = -c * mu ** 2 * transform(x0 * mu, 2)
        g3 = -c * mu ** 3 * transform(x0 * mu, 3)
        ratio[near - 1] = abs(g1 + g2 * t / 2 + g3 * t * t / 6)
    terms = log_binom - log_cj - np.log(one_minus_phi) + np.log(ratio)
    log_inverse_c = float(np.logaddexp(-math.log(y), _logsumexp(terms)))
    p_wait = math.exp(-log_inverse_c) / y
    return p_wait / (c * mu * y)


# ── Closed networks ─────────────────────────────────────────────────────────

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
        log_g = _logsumexp(log_p)
        p = np.exp(log_p - log_g)
        queue[st.name] = float((np.arange(users + 1) * p).sum() / p.sum())
        if k == 0:
            log_g_less = _logsumexp(f[:-1] + rest[-2::-1])   # G(N - 1), from the same leave-one-out constants
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


# ── Fork-join ───────────────────────────────────────────────────────────────

EXACT_SUBSETS = 12   # inclusion-exclusion over 2^12 subsets; beyond, the integral of the maximum's survival


def fork_join_response(branches: Sequence[tuple[float, float]]) -> tuple[float, bool]:
    """Mean time until every parallel branch is done; branches as (mean response, bottleneck utilization).

    Returns the value and whether it is exact for that model. Zero-mean branches are
    ignored; one branch is its mean (exact). Two identical M/M/1 branches: Nelson and
    Tantawi's (1988) exact R2 = (12 - rho) / 8 x R1. k > 2 identical: their
    approximation R_k = [H_k/H_2 + 4/11 (1 - H_k/H_2) rho] R2. Otherwise the mean
    maximum of independent exponentials with the given means (branches of one fork
    are in fact correlated, so this is approximate): inclusion-exclusion over the
    subsets for up to EXACT_SUBSETS branches, and beyond, the integral of
    1 - prod(1 - e^(-t/m_i)) by Gauss-Legendre on geometric panels (the same value
    to about 1e-12, without 2^k alternating terms). A saturated branch: inf.

    >>> value, exact = fork_join_response([(0.025, 0.6), (0.025, 0.6)])
    >>> round(value * 1000, 3), exact
    (35.625, True)
    """
    taken = [(m, u) for m, u in branches if m > 0]
    if not taken:
        return 0.0, True
    if len(taken) == 1:
        return taken[0][0], True
    if not all(math.isfinite(m) for m, _ in taken):
        return math.inf, False   # a saturated branch: the join never comes
    m0, u0 = taken[0]
    if all(math.isclose(m, m0, rel_tol=1e-9) and math.isclose(u, u0, rel_tol=1e-9, abs_tol=1e-12) for m, u in taken):
        two = (12 - u0) / 8 * m0
        if len(taken) == 2:
            return two, True
        ratio = sum(1 / i for i in range(1, len(taken) + 1)) / 1.5   # H_k / H_2
        return (ratio + 4 / 11 * (1 - ratio) * u0) * two, False
    means = [m for m, _ in taken]
    if len(means) <= EXACT_SUBSETS:
        return _max_by_subsets(means), False
    return _max_by_integral(means), False


def _max_by_subsets(means: Sequence[float]) -> float:
    """E[max] of independent exponentials = sum over non-empty subsets S of (-1)^(|S|+1) / sum_{i in S} 1/m_i."""
    rates = np.array([1 / m for m in means])
    masks = np.arange(1, 1 << len(means))
    chosen = (masks[:, None] >> np.arange(len(means))) & 1
    signs = np.where(chosen.sum(axis=1) % 2 == 1, 1.0, -1.0)
    return float((signs / (chosen @ rates)).sum())


def _max_by_integral(means: Sequence[float]) -> float:
    """E[max] = integral over t >= 0 of 1 - prod_i (1 - e^(-t/m_i)), panels growing by 20% from m_min / 1000."""
    m = np.array(sorted(means))
    start, end = m[0] * 1e-3, m[-1] * (math.log(len(m)) + 40)   # beyond end, the survival is below e^-40
    edges = np.concatenate(([0.0], np.geomspace(start, end, int(math.log(end / start) / math.log(1.2)) + 2)))
    nodes, weights = np.polynomial.legendre.leggauss(16)
    lo, hi = edges[:-1, None], edges[1:, None]
    t = (lo + hi) / 2 + (hi - lo) / 2 * nodes
    with np.errstate(divide="ignore"):   # t << m rounds e^(-t/m) to 1: log 0, survival 1, as it should
        survival = -np.expm1(np.log1p(-np.exp(-t[..., None] / m)).sum(axis=-1))
    return float(((hi - lo) / 2 * weights * survival).sum())


# ── The caller-callee chain ─────────────────────────────────────────────────

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
