"""Queueing formulas the analysis uses, each exact where the model's assumptions hold.

Times are in seconds and rates per second. Each function names its model, its
assumptions and its source; :mod:`sandbox.analysis` decides which model a node
allows and says how exact the result is.

- :func:`erlang_b`, :func:`erlang_c`, :func:`mmc_wait`: M/M/c/c and M/M/c (Erlang).
- :func:`mmck`: M/M/c/K (Gross and Harris, *Fundamentals of Queueing Theory*, 2.5).
- :func:`gim_c_wait`: GI/M/c for Erlang-k and constant interarrivals (Takacs 1962;
  Gross and Harris, the GI/M/c section of chapter 6).
- :func:`fork_join_response`: parallel branches (Nelson and Tantawi 1988).

Closed networks are in :mod:`sandbox.closed_queueing`, the thread pool's chain in
:mod:`sandbox.pool_chain`.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import numpy as np

__all__ = ["erlang_b", "erlang_c", "mmc_wait", "FiniteQueue", "mmck", "gim_c_wait", "fork_join_response", "logsumexp"]

SPREAD = 40.0   # standard deviations: a Poisson term this far from its mean is below e^-270 of the largest


# ── M/M/c/K and Erlang ──────────────────────────────────────────────────────

class FiniteQueue(NamedTuple):
    """An M/M/c/K queue: blocking probability, carried load per server, wait of admitted calls, mean number in it."""
    blocking: float
    utilization: float
    wait: float
    in_system: float


def logsumexp(x: np.ndarray) -> float:
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
        log_z = float(np.logaddexp(logsumexp(logs), logs[-1] + log_g))
        p_tail = math.exp(logs[-1] + log_g - log_z)
    else:
        log_z, mean_g, p_tail = logsumexp(logs), 0.0, 0.0
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
    log_inverse_c = float(np.logaddexp(-math.log(y), logsumexp(terms)))
    p_wait = math.exp(-log_inverse_c) / y
    return p_wait / (c * mu * y)


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
