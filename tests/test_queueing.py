"""The queueing formulas against published figures and against brute force computed here.

Every reference below is independent of ``sandbox.queueing``: a Markov chain built
state by state and solved densely with numpy, a ratio recursion, an embedded
chain, inclusion-exclusion over all subsets, or a seeded event simulation. Exact
against exact is held to 1e-9 relative unless said otherwise: both sides are
round-off away from the truth (about 1e-13 for a dense solve of a few thousand
states), and every truncation below drops mass under 1e-18. Published figures are
held to the digits their source quotes.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

from sandbox.closed_queueing import Station, _convolution, _exact_mva, _schweitzer, mva
from sandbox.pool_chain import PairFigures, caller_callee_chain
from sandbox.queueing import FiniteQueue, erlang_b, erlang_c, fork_join_response, gim_c_wait, mmc_wait, mmck

EXACT = 1e-9


# ── brute force ─────────────────────────────────────────────────────────────

def stationary(q: np.ndarray) -> np.ndarray:
    """pi Q = 0, sum pi = 1, for a generator whose diagonal is still to be filled."""
    q = q.copy()
    np.fill_diagonal(q, 0.0)
    np.fill_diagonal(q, -q.sum(axis=1))
    a = q.T.copy()
    a[-1, :] = 1.0
    b = np.zeros(len(q))
    b[-1] = 1.0
    return np.linalg.solve(a, b)


def birth_death(lam: float, s: float, c: int, k: int) -> dict[str, float]:
    """M/M/c/K from its generator."""
    q = np.zeros((k + 1, k + 1))
    for n in range(k):
        q[n, n + 1] = lam
        q[n + 1, n] = min(n + 1, c) / s
    p = stationary(q)
    n = np.arange(k + 1)
    admitted = lam * (1 - p[k])
    return {"blocking": p[k], "wait": float((np.maximum(n - c, 0) * p).sum()) / admitted,
            "in_system": float((n * p).sum()), "utilization": float((np.minimum(n, c) * p).sum()) / c}


def ratio_recursion(lam: float, s: float, c: int, k: int) -> dict[str, float]:
    """M/M/c/K by p_n / p_(n-1) = a / min(n, c), rescaled whenever the terms grow large (plain floats)."""
    a = lam * s
    total = weighted = queued = 0.0
    p = 1.0
    for n in range(k + 1):
        if n:
            p *= a / min(n, c)
        if p > 1e250:
            total, weighted, queued, p = total / p, weighted / p, queued / p, 1.0
        total += p
        weighted += n * p
        queued += max(n - c, 0) * p
    blocking = p / total
    return {"blocking": blocking, "wait": queued / total / (lam * (1 - blocking)), "in_system": weighted / total}


def erlang_c_sum(c: int, a: float) -> float:
    """Erlang C from its textbook sum, in exact rationals (a given as a float, taken exactly)."""
    fa = Fraction(a)
    top = fa ** c / math.factorial(c) * c / (c - fa)
    return float(top / (sum(fa ** n / math.factorial(n) for n in range(c)) + top))


def ek_m_c(k: int, lam: float, s: float, c: int, limit: int = 300) -> float:
    """Ek/M/c mean wait from the chain on (customers, arrival phase), truncated at `limit` customers.

    An arrival happens at the end of phase k-1, so arrivals find n customers with
    probability proportional to pi(n, k-1); one that finds n >= c waits for n - c + 1
    departures at rate c mu."""
    q = np.zeros(((limit + 1) * k, (limit + 1) * k))
    for n in range(limit + 1):
        for ph in range(k):
            i = n * k + ph
            if ph < k - 1:
                q[i, i + 1] = k * lam
            elif n < limit:
                q[i, (n + 1) * k] = k * lam
            if n:
                q[i, i - k] = min(n, c) / s
    pi = stationary(q).reshape(limit + 1, k)[:, k - 1]
    seen = pi / pi.sum()
    n = np.arange(limit + 1)
    return float((seen * np.maximum(n - c + 1, 0)).sum() * s / c)


def d_m_c(lam: float, s: float, c: int, limit: int = 200) -> float:
    """D/M/c mean wait from the chain of customers found by arrivals 1/lam apart.

    Between arrivals the system is a pure death process (rate min(n, c) / s); its
    transition matrix over 1/lam is exp(Q / lam), by uniformization at rate c / s."""
    size = limit + 1
    death = np.zeros((size, size))
    for n in range(1, size):
        death[n, n - 1] = min(n, c) / s
    np.fill_diagonal(death, -death.sum(axis=1))
    x = c / s / lam
    step = np.eye(size) + death * s / c
    expo, power, weight = np.zeros((size, size)), np.eye(size), math.exp(-x)
    for m in range(int(x + 12 * math.sqrt(x) + 40)):
        expo += weight * power
        power, weight = power @ step, weight * x / (m + 1)
    moves = np.array([expo[min(n + 1, limit)] for n in range(size)])   # found n, n + 1 after joining
    moves /= moves.sum(axis=1, keepdims=True)
    a = moves.T - np.eye(size)
    a[-1, :] = 1.0
    b = np.zeros(size)
    b[-1] = 1.0
    seen = np.linalg.solve(a, b)
    n = np.arange(size)
    return float((seen * np.maximum(n - c + 1, 0)).sum() * s / c)


def closed_chain(users: int, think: float, first: tuple[int, float], second: tuple[int, float] | None
                 ) -> dict[str, float]:
    """A closed cycle think -> station 1 -> station 2 (optional) -> think, as a chain on (n1, n2)."""
    c1, d1 = first
    c2, d2 = second if second is not None else (1, 0.0)
    states = [(a, b) for a in range(users + 1) for b in range(users + 1 - a) if second is not None or b == 0]
    index = {st: i for i, st in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for (a, b), i in index.items():
        if a + b < users:
            q[i, index[(a + 1, b)]] = (users - a - b) / think
        if a:
            q[i, index[(a - 1, b + 1) if second is not None else (a - 1, 0)]] = min(a, c1) / d1
        if b:
            q[i, index[(a, b - 1)]] = min(b, c2) / d2
    pi = stationary(q)
    n1 = np.array([a for a, _ in states], dtype=float)
    n2 = np.array([b for _, b in states], dtype=float)
    x = float((pi * np.minimum(n1, c1)).sum()) / d1
    return {"throughput": x, "q1": float((pi * n1).sum()), "q2": float((pi * n2).sum())}


def mg1k(lam: float, workers_slots: int, own: float, p: float, latency: float, service: float) -> dict[str, float]:
    """M/G/1/K with phase-type service own -> (with probability p) network -> callee: the embedded chain at
    departures (Gross and Harris, M/G/1/K), a_j = lam^j alpha M^(j+1) t with M = (lam I - T)^-1."""
    k = workers_slots
    t_mat = np.array([[-1 / own, p / own, 0.0], [0.0, -1 / (2 * latency), 1 / (2 * latency)],
                      [0.0, 0.0, -1 / service]])
    exit_rates = -t_mat.sum(axis=1)
    m = np.linalg.inv(lam * np.eye(3) - t_mat)
    alpha = np.array([1.0, 0.0, 0.0])
    a = [lam ** j * alpha @ np.linalg.matrix_power(m, j + 1) @ exit_rates for j in range(k)]
    moves = np.zeros((k, k))
    for n in range(k):
        base = max(n - 1, 0)
        for j in range(k - 1 - base):
            moves[n, base + j] = a[j]
        moves[n, k - 1] = 1 - moves[n, :k - 1].sum()
    eq = moves.T - np.eye(k)
    eq[-1, :] = 1.0
    rhs = np.zeros(k)
    rhs[-1] = 1.0
    dep = np.linalg.solve(eq, rhs)
    mean_s = own + p * (2 * latency + service)
    rho = lam * mean_s
    p_n = np.append(dep / (dep[0] + rho), 1 - 1 / (dep[0] + rho))
    response = float((np.arange(k + 1) * p_n).sum()) / (lam * (1 - p_n[k]))
    return {"blocking": float(p_n[k]), "response": response, "caller_wait": response - mean_s}


def pair_chain(lam: float, c1: int, slots: int, own: float, c2: int, service: float) -> dict[str, float]:
    """Caller and callee with no network and a call every time: the chain on (requests, calls at the callee)."""
    top = c1 + slots
    states = [(k, j) for k in range(top + 1) for j in range(min(k, c1) + 1)]
    index = {st: i for i, st in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for (k, j), i in index.items():
        if k < top:
            q[i, index[(k + 1, j)]] = lam
        if min(k, c1) > j:
            q[i, index[(k, j + 1)]] = (min(k, c1) - j) / own
        if j:
            q[i, index[(k - 1, j - 1)]] = min(j, c2) / service
    pi = stationary(q)
    k_ = np.array([k for k, _ in states], dtype=float)
    j_ = np.array([j for _, j in states], dtype=float)
    blocking = float(pi[k_ == top].sum())
    admitted = lam * (1 - blocking)
    return {"blocking": blocking, "utilization": float((pi * np.minimum(k_, c1)).sum()) / c1,
            "callee_wait": float((pi * np.maximum(j_ - c2, 0)).sum()) / admitted,
            "caller_wait": float((pi * np.maximum(k_ - c1, 0)).sum()) / admitted,
            "response": float((pi * k_).sum()) / admitted}


def simulate_pair(rate: float, workers: int, slots: int, own: float, p: float, latency: float, servers: int,
                  service: float, arrivals: int, seed: int) -> dict[str, np.ndarray]:
    """Event simulation of the chain's model; per arrival: rejected (0/1), callee wait (nan if no call), hold."""
    rng = np.random.default_rng(seed)
    gaps, owns = rng.exponential(1 / rate, arrivals), rng.exponential(own, arrivals)
    calls, nets = rng.random(arrivals) < p, rng.exponential(2 * latency, arrivals)
    services = rng.exponential(service, arrivals)
    rejected, callee_wait = np.zeros(arrivals), np.full(arrivals, np.nan)
    started = np.full(arrivals, np.nan)
    events: list[tuple[float, int, str]] = [(float(gaps[0]), 0, "arrive")]
    waiting: deque[int] = deque()
    callee_queue: deque[tuple[int, float]] = deque()
    busy = callee_busy = 0
    held = np.zeros(arrivals)

    def start(i: int, now: float) -> None:
        started[i] = now
        heapq.heappush(events, (now + owns[i], i, "own"))

    def finish(i: int, now: float) -> None:
        nonlocal busy
        held[i] = now - started[i]
        if waiting:
            start(waiting.popleft(), now)
        else:
            busy -= 1

    def serve(i: int, now: float, since: float) -> None:
        callee_wait[i] = now - since
        heapq.heappush(events, (now + services[i], i, "served"))

    while events:
        now, i, kind = heapq.heappop(events)
        if kind == "arrive":
            if i + 1 < arrivals:
                heapq.heappush(events, (now + gaps[i + 1], i + 1, "arrive"))
            if busy < workers:
                busy += 1
                start(i, now)
            elif len(waiting) < slots:
                waiting.append(i)
            else:
                rejected[i] = 1
        elif kind == "own":
            if not calls[i]:
                finish(i, now)
            elif latency > 0:
                heapq.heappush(events, (now + nets[i], i, "net"))
            else:
                kind = "net"
        if kind == "net":
            if callee_busy < servers:
                callee_busy += 1
                serve(i, now, now)
            else:
                callee_queue.append((i, now))
        elif kind == "served":
            finish(i, now)
            if callee_queue:
                j, since = callee_queue.popleft()
                serve(j, now, since)
            else:
                callee_busy -= 1
    return {"rejected": rejected, "callee_wait": callee_wait, "held": held, "span": np.cumsum(gaps)}


def batch_se(values: np.ndarray, batches: int = 20) -> tuple[float, float]:
    """Mean and standard error by batch means (the batches are long enough to be nearly independent)."""
    means = np.array([np.nanmean(b) for b in np.array_split(values, batches)])
    return float(np.nanmean(values)), float(means.std(ddof=1) / math.sqrt(batches))


# ── M/M/c/K ─────────────────────────────────────────────────────────────────

def test_mmc_published_wait() -> None:
    q = mmck(1, None, 0.8, 1.0)   # M/M/1 at rho 0.8: W = rho / (mu - lam) = 4
    assert q == FiniteQueue(0.0, pytest.approx(0.8), pytest.approx(4.0, rel=1e-12), pytest.approx(4.0, rel=1e-12))


@pytest.mark.parametrize("c,k,lam,s", [(3, 7, 99.0, 1 / 30),   # per-server offered 1.1; the last three: rho ~ 1
                                        (1, 1, 5.0, 0.1), (1, 6, 9.0, 0.1), (2, 5, 95.0, 0.02), (8, 58, 300.0, 0.03),
                                        (5, 5, 40.0, 0.1), (4, 300, 200.0, 1 / 60), (20, 40, 400.0, 0.1),
                                        (1, 1000, 1 - 1e-9, 1.0), (1, 1000, 1 + 1e-9, 1.0), (2, 500, 2.0, 1.0)])
def test_mmck_is_the_birth_death_chain(c: int, k: int, lam: float, s: float) -> None:
    got, ref = mmck(c, k, lam, s), birth_death(lam, s, c, k)
    assert got.blocking == pytest.approx(ref["blocking"], rel=EXACT)
    assert got.wait == pytest.approx(ref["wait"], rel=EXACT, abs=1e-300)
    assert got.in_system == pytest.approx(ref["in_system"], rel=EXACT)
    assert got.utilization == pytest.approx(ref["utilization"], rel=EXACT)


@pytest.mark.parametrize("r,k", [(0.5, 3), (0.9, 10), (1.0, 7), (1.3, 5), (0.999999, 50_000)])
def test_mm1k_closed_form(r: float, k: int) -> None:
    expected = 1 / (k + 1) if r == 1 else (1 - r) * r ** k / (1 - r ** (k + 1))
    assert mmck(1, k, r, 1.0).blocking == pytest.approx(expected, rel=EXACT)


def test_mmck_with_a_hundred_thousand_servers() -> None:
    """a^n / n! reaches e^99000 here; the reference rescales a plain ratio recursion over all 100,101 terms."""
    got, ref = mmck(100_000, 100_100, 99_000.0, 1.0), ratio_recursion(99_000.0, 1.0, 100_000, 100_100)
    assert got.blocking == pytest.approx(ref["blocking"], rel=1e-8)   # 1e5 float products: 1e-11 each way
    assert got.wait == pytest.approx(ref["wait"], rel=1e-8)
    assert got.in_system == pytest.approx(ref["in_system"], rel=1e-8)
    assert got.in_system == pytest.approx(99_000.0 * (1 - got.blocking) * (got.wait + 1.0), rel=1e-12)   # Little


def test_mmck_large_and_unbounded_limits() -> None:
    for c, a in ((1, 0.8), (4, 3.2), (50, 45.0), (600, 540.0)):
        unbounded = mmck(c, None, a, 1.0)
        assert unbounded.wait == pytest.approx(erlang_c_sum(c, a) / (c - a), rel=EXACT)
        assert unbounded.in_system == pytest.approx(a * (1 + unbounded.wait), rel=EXACT)
        assert mmck(c, 10 ** 9, a, 1.0).wait == pytest.approx(unbounded.wait, rel=EXACT)   # rho^(K-c) is nil
    assert mmck(3, None, 3.3, 1.0) == FiniteQueue(0.0, pytest.approx(1.1), math.inf, math.inf)
    assert mmck(3, 7, 0.0, 1.0) == FiniteQueue(0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="capacity"):
        mmck(3, 2, 1.0, 1.0)


def test_erlang_b_and_c() -> None:
    assert erlang_b(5, 4.0) == pytest.approx(0.1991, abs=5e-5)   # Erlang B tables, four decimals
    for c, a in ((1, 0.5), (5, 3.0), (50, 45.0), (400, 390.0), (400, 800.0), (10, 1e5)):
        b = 1.0
        for n in range(1, c + 1):   # the textbook recursion
            b = a * b / (n + a * b)
        assert erlang_b(c, a) == pytest.approx(b, rel=EXACT)
    assert erlang_c(20, 15.0) == pytest.approx(erlang_c_sum(20, 15.0), rel=EXACT)
    assert mmc_wait(2, 1.0, 1.0) == pytest.approx(1 / 3, rel=EXACT)   # M/M/2 at a = 1: C = 1/3, W = C / (c - a)


# ── GI/M/c ──────────────────────────────────────────────────────────────────

def test_gim1_published_example() -> None:
    assert round(gim_c_wait(1, 80.0, 0.010, 1 / 3) * 1000, 1) == 24.6   # E3/M/1 at 80%, 10 ms service


@pytest.mark.parametrize("c", [1, 2, 5, 10, 50])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.95])
def test_poisson_arrivals_are_erlang_c(c: int, rho: float) -> None:
    """scv 1 is M/M/c; c = 5 at rho 0.8 puts c (1 - sigma) = 1 on the formula's removable 0/0."""
    lam, s = rho * c / 0.01, 0.01
    assert gim_c_wait(c, lam, s, 1.0) == pytest.approx(erlang_c_sum(c, lam * s) * s / (c - lam * s), rel=EXACT)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("c", [1, 2, 3, 4])
def test_erlang_arrivals_match_the_phase_chain(k: int, c: int) -> None:
    lam, s = 0.8 * c / 0.01, 0.01     # sigma <= 0.8: the chain's mass beyond 300 customers is below 1e-29
    assert gim_c_wait(c, lam, s, 1 / k) == pytest.approx(ek_m_c(k, lam, s, c), rel=EXACT)


def test_erlang_arrivals_near_the_removable_singularity() -> None:
    """E2/M/5 with c (1 - sigma) = 1: sigma = 0.8 = (2 lam / (2 lam + mu))^2, and rates a hair either side."""
    mu, root = 100.0, math.sqrt(0.8)
    lam = mu * root / (2 * (1 - root))
    for x in (1.0, 1 + 1e-7, 1 - 1e-5, 1 + 1e-3):
        assert gim_c_wait(5, lam * x, 1 / mu, 0.5) == pytest.approx(ek_m_c(2, lam * x, 1 / mu, 5), rel=EXACT)


@pytest.mark.parametrize("c", [1, 2, 3, 5])
def test_constant_arrivals_match_the_embedded_chain(c: int) -> None:
    lam, s = 0.75 * c / 0.01, 0.01
    # the uniformization's Poisson weights are summed to 12 sd + 40 terms: its error is below 1e-15
    assert gim_c_wait(c, lam, s, 0.0) == pytest.approx(d_m_c(lam, s, c), rel=EXACT)


def test_smoother_arrivals_wait_less_and_large_pools_are_finite() -> None:
    waits = [gim_c_wait(20, 1800.0, 0.010, scv) for scv in (1.0, 0.5, 0.25, 0.0)]
    assert waits == sorted(waits, reverse=True) and waits[-1] > 0
    big = gim_c_wait(100_000, 99_900.0, 1.0, 0.0)
    assert 0 < big < mmc_wait(100_000, 99_900.0, 1.0)


def test_gim_limits_and_refusals() -> None:
    assert gim_c_wait(2, 200.0, 0.010, 0.5) == math.inf
    assert gim_c_wait(2, 0.0, 0.010, 0.5) == 0.0
    for scv in (0.3, 2.0, -1.0):
        with pytest.raises(ValueError, match="interarrival_scv"):
            gim_c_wait(1, 50.0, 0.01, scv)


# ── Closed networks ─────────────────────────────────────────────────────────

def test_mva_published_tandem() -> None:
    f = mva([Station("s1", 0.015, 1), Station("s2", 0.020, 1)], 0.300, 15)
    assert f.response * 1000 == pytest.approx(90.3506, abs=5e-5) and f.exact   # our review's exact MVA, 4 decimals


def test_a_delay_station_resides_its_demand() -> None:
    f = mva([Station("d", 0.2, 0)], 1.0, 10)
    assert f.response == f.residence["d"] == 0.2 and f.throughput == pytest.approx(10 / 1.2, rel=1e-15)
    wide = mva([Station("w", 0.2, 10)], 1.0, 10)     # as many servers as users: never all busy, a delay
    assert wide.response == 0.2 and wide.utilization["w"] == pytest.approx(wide.throughput * 0.2 / 10)


@pytest.mark.parametrize("demand,think", [(0.1, 0.5), (0.06, 1.0), (0.08, 1.0), (0.05, 2.0)])
def test_twelve_servers_two_hundred_users_match_the_chain(demand: float, think: float) -> None:
    """Where the clamped load-dependent MVA recursion is 3-8% off, near saturation."""
    got, ref = mva([Station("s", demand, 12)], think, 200), closed_chain(200, think, (12, demand), None)
    assert got.exact and got.throughput == pytest.approx(ref["throughput"], rel=EXACT)
    assert got.queue["s"] == pytest.approx(ref["q1"], rel=EXACT)


@pytest.mark.parametrize("users,first,second", [(60, (12, 0.10), (1, 0.006)), (30, (4, 0.04), (3, 0.03)),
                                                (45, (2, 0.02), (6, 0.09))])
def test_multi_server_networks_match_the_chain(users: int, first: tuple[int, float], second: tuple[int, float]
                                               ) -> None:
    got = mva([Station("a", first[1], first[0]), Station("b", second[1], second[0])], 0.5, users)
    ref = closed_chain(users, 0.5, first, second)
    assert got.throughput == pytest.approx(ref["throughput"], rel=EXACT)
    assert got.residence["a"] == pytest.approx(ref["q1"] / ref["throughput"], rel=EXACT)
    assert got.residence["b"] == pytest.approx(ref["q2"] / ref["throughput"], rel=EXACT)
    assert got.utilization["a"] == pytest.approx(ref["throughput"] * first[1] / first[0], rel=EXACT)


def test_the_convolution_agrees_with_mva_where_both_are_exact() -> None:
    stations = [Station("a", 0.01, 1), Station("b", 0.02, 1), Station("c", 0.005, 1)]
    for users in (1, 20, 500):
        x_mva, q_mva = _exact_mva(stations, 0.3, users)
        x_conv, q_conv = _convolution(stations, 0.3, users)
        assert x_conv == pytest.approx(x_mva, rel=EXACT)
        assert q_conv == pytest.approx(q_mva, rel=EXACT)


def test_many_users_keep_the_population() -> None:
    stations = [Station("a", 0.01, 64), Station("b", 0.003, 16), Station("c", 0.001, 1), Station("d", 0.2, 0)]
    f = mva(stations, 1.0, 100_000)
    assert f.exact
    # log-space constants for 1e5 users lose about 1e-10 (the logarithms reach 1e6): 1e-8 is a safe bound
    assert sum(f.queue.values()) + f.throughput * 1.0 == pytest.approx(100_000, rel=1e-8)
    assert f.throughput == pytest.approx(1000.0, rel=1e-8)   # c saturates: X = 1 / D_c


def test_schweitzer_beyond_the_exact_work() -> None:
    big = mva([Station("a", 0.01, 3000), Station("b", 0.003, 1000)], 0.02, 100_000)
    assert not big.exact and big.throughput <= min(3000 / 0.01, 1000 / 0.003, 100_000 / 0.033) * (1 + 1e-12)
    # measured: Schweitzer with Seidmann's split is within 0.11% of exact from 1,000 users on for these
    for stations in ([Station("a", 0.01, 4), Station("b", 0.02, 2)], [Station("a", 0.01, 1), Station("b", 0.02, 1)],
                     [Station("a", 0.01, 8), Station("b", 0.015, 12), Station("c", 0.002, 1)]):
        for think in (0.2, 1.0, 5.0):
            approx, exact = _schweitzer(stations, think, 2000)[0], _convolution(stations, think, 2000)[0]
            assert approx == pytest.approx(exact, rel=5e-3)


# ── Fork-join ───────────────────────────────────────────────────────────────

def test_fork_join_published() -> None:
    value, exact = fork_join_response([(0.025, 0.6), (0.025, 0.6)])   # 2 x M/M/1, 10 ms at rho 0.6
    assert value * 1000 == pytest.approx(35.625, abs=5e-10) and exact


def test_fork_join_identical_branches() -> None:
    r1 = 0.02
    three, exact = fork_join_response([(r1, 0.5)] * 3)
    assert not exact and fork_join_response([(r1, 0.5)] * 2)[0] < three < 3 * r1
    for k in (3, 5, 9):   # at no load the branches are independent exponentials: E max = H_k R1
        assert fork_join_response([(r1, 0.0)] * k)[0] == pytest.approx(sum(1 / i for i in range(1, k + 1)) * r1,
                                                                      rel=1e-12)


def test_fork_join_heterogeneous_is_the_exponential_maximum() -> None:
    mixed, exact = fork_join_response([(0.010, 0.3), (0.030, 0.5)])
    assert mixed == pytest.approx(0.010 + 0.030 - 1 / (1 / 0.010 + 1 / 0.030), rel=1e-12) and not exact
    for k in (5, 20):   # equal means, unequal utilizations: E max of k iid exponentials = m H_k
        value, _ = fork_join_response([(0.01, 0.1 + 0.01 * i) for i in range(k)])
        assert value == pytest.approx(0.01 * sum(1 / i for i in range(1, k + 1)), rel=EXACT)
    means = [0.001 * (i + 1) ** 1.5 for i in range(13)]   # beyond 12: the integral, against all 8191 subsets
    expected = sum((-1) ** (r + 1) / sum(1 / means[i] for i in s)
                   for r in range(1, 14) for s in combinations(range(13), r))
    assert fork_join_response([(m, 0.5) for m in means])[0] == pytest.approx(expected, rel=EXACT)


def test_fork_join_edges() -> None:
    assert fork_join_response([(0.02, 0.4)]) == (0.02, True)
    assert fork_join_response([(0.0, 0.0), (0.02, 0.4), (0.0, 0.1)]) == (0.02, True)   # zero means are ignored
    assert fork_join_response([]) == (0.0, True)
    assert fork_join_response([(math.inf, 1.0), (0.01, 0.2)]) == (math.inf, False)


# ── The caller-callee chain ─────────────────────────────────────────────────

def test_the_published_thread_pool_chain() -> None:
    f = caller_callee_chain(70.0, 4, 10, 0.010, 1.0, 0.0, 1, 0.012)
    assert f is not None and f.states == 65                                    # our review's 65-state chain
    assert (round(f.caller_utilization, 2), round(f.blocking, 3), round(f.callee_wait * 1000, 1)) == (0.72, 0.018, 20.1)


@pytest.mark.parametrize("lam,c1,slots,own,service,c2", [(70, 4, 10, 0.010, 0.012, 1), (150, 8, 50, 0.005, 0.010, 2),
                                                         (20, 3, 0, 0.050, 0.040, 1), (90, 6, 20, 0.020, 0.015, 3)])
def test_the_chain_matches_a_two_dimensional_chain(lam: float, c1: int, slots: int, own: float, service: float,
                                                   c2: int) -> None:
    got = caller_callee_chain(lam, c1, slots, own, 1.0, 0.0, c2, service, max_states=5000)
    ref = pair_chain(lam, c1, slots, own, c2, service)
    assert got is not None
    assert got.blocking == pytest.approx(ref["blocking"], rel=EXACT)
    assert got.caller_utilization == pytest.approx(ref["utilization"], rel=EXACT)
    assert got.callee_wait == pytest.approx(ref["callee_wait"], rel=EXACT, abs=1e-15)
    assert got.caller_wait == pytest.approx(ref["caller_wait"], rel=EXACT, abs=1e-15)
    assert got.response == pytest.approx(ref["response"], rel=EXACT)   # Little's law on the whole caller


@pytest.mark.parametrize("lam,slots,p,latency", [(30.0, 5, 0.6, 0.002), (60.0, 0, 1.0, 0.004), (45.0, 12, 0.3, 0.0005)])
def test_one_worker_is_mg1k_with_phase_type_service(lam: float, slots: int, p: float, latency: float) -> None:
    got = caller_callee_chain(lam, 1, slots, 0.008, p, latency, 1, 0.010)
    ref = mg1k(lam, 1 + slots, 0.008, p, latency, 0.010)
    assert got is not None and got.callee_wait == 0.0   # one worker: at most one call at the callee
    assert got.blocking == pytest.approx(ref["blocking"], rel=EXACT)
    assert got.caller_wait == pytest.approx(ref["caller_wait"], rel=EXACT, abs=1e-15)
    assert got.response == pytest.approx(ref["response"], rel=EXACT)


def test_a_callee_with_enough_servers_never_queues() -> None:
    f = caller_callee_chain(150.0, 3, 6, 0.008, 0.9, 0.0, 3, 0.012)
    assert f is not None and f.callee_wait == 0.0
    admitted = 150.0 * (1 - f.blocking)   # Little on the workers: busy = admitted x time holding one
    assert f.caller_utilization * 3 == pytest.approx(admitted * (f.response - f.caller_wait), rel=EXACT)


@pytest.mark.slow
def test_the_chain_with_latency_matches_a_simulation() -> None:
    """200,000 seeded arrivals of the chain's own model (the network as one exponential phase); each figure
    within 4 standard errors estimated by 20 batch means: an unseeded run would fail by chance about once in
    1,300 per figure (Student t, 19 degrees of freedom). Seeds 1-6 gave |t| <= 3.2, and 2 million arrivals
    agree to 1.6 standard errors: no bias."""
    args = (150.0, 3, 5, 0.008, 0.7, 0.002, 2, 0.012)
    f = caller_callee_chain(*args)
    sim = simulate_pair(*args, arrivals=200_000, seed=7)
    warm = 5_000
    blocking, se_b = batch_se(sim["rejected"][warm:])
    wait, se_w = batch_se(sim["callee_wait"][warm:])
    admitted = sim["rejected"][warm:] == 0
    busy_share = sim["held"][warm:][admitted].sum() / (3 * (sim["span"][-1] - sim["span"][warm]))
    assert f is not None
    assert abs(f.blocking - blocking) < 4 * se_b
    assert abs(f.callee_wait - wait) < 4 * se_w
    assert f.caller_utilization == pytest.approx(busy_share, rel=0.01)   # its batch error is about 0.2%


def test_the_chain_with_latency_and_its_limits() -> None:
    no_latency = caller_callee_chain(60.0, 4, 10, 0.010, 0.7, 0.0, 1, 0.012)
    tiny = caller_callee_chain(60.0, 4, 10, 0.010, 0.7, 1e-8, 1, 0.012)
    assert no_latency is not None and tiny is not None
    assert tiny.callee_wait == pytest.approx(no_latency.callee_wait, rel=1e-5)   # a 20 ns phase: 1e-6 of the work
    assert caller_callee_chain(60.0, 200, 1000, 0.010, 1.0, 0.0, 50, 0.012) is None   # too many states
    idle = caller_callee_chain(0.0, 4, 10, 0.010, 0.5, 0.001, 1, 0.012)   # no load: the bare path
    assert idle is not None and idle._replace(response=0.0, states=0) == PairFigures(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    assert idle.response == pytest.approx(0.010 + 0.5 * (0.002 + 0.012), rel=1e-15)


def test_an_unbounded_caller() -> None:
    unbounded = caller_callee_chain(70.0, 4, None, 0.010, 1.0, 0.0, 1, 0.012)
    bounded = caller_callee_chain(70.0, 4, 400, 0.010, 1.0, 0.0, 1, 0.012, max_states=5000)   # 0.98^400: nil
    assert unbounded is not None and bounded is not None and unbounded.blocking == 0.0
    assert unbounded.caller_wait == pytest.approx(bounded.caller_wait, rel=EXACT)
    assert unbounded.callee_wait == pytest.approx(bounded.callee_wait, rel=EXACT)
    assert caller_callee_chain(90.0, 4, None, 0.010, 1.0, 0.0, 1, 0.012) is None   # the callee serves 83 per s
