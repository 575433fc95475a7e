"""Exact queueing results for the benchmark's reference values, written independently of sandbox.analysis.

Every function takes rates per second and times in seconds and returns seconds (callers convert).
Nothing here imports the sandbox: the references must not share code with what they check.

- closed forms: Erlang B and C (M/M/c, M/M/c/c), M/M/c/K, Pollaczek-Khinchine (M/G/1),
  Nelson and Tantawi's two-way fork-join of M/M/1 queues;
- numerical, exact up to a truncation whose lost mass is below 1e-15: Ek/M/c (round robin of a
  Poisson stream) as a continuous-time Markov chain on (customers, arrival phase), D/M/c as the
  Markov chain embedded at arrival epochs, the caller-callee chain (a thread pool of c1 workers
  each held while it waits for a callee of c2 workers), and exact product-form closed networks by
  the convolution algorithm in rational arithmetic (load-dependent multi-server stations).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

__all__ = ["erlang_b", "erlang_c", "mmc", "mmck", "pk_wait", "fork_join_2", "ek_m_c", "d_m_c",
           "caller_callee", "closed_network", "gi_m_1_sigma"]


# ── closed forms ────────────────────────────────────────────────────────────

def erlang_b(c: int, a: float) -> float:
    """Blocking of M/M/c/c (insensitive to the service distribution) with `a` erlangs offered."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """P(wait) in M/M/c with `a` erlangs offered (a < c)."""
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def mmc(lam: float, s: float, c: int) -> dict[str, float]:
    """M/M/c, unbounded FIFO: utilization and mean wait."""
    a = lam * s
    return {"utilization": a / c, "wait": erlang_c(c, a) * s / (c - a), "rejected": 0.0}


def mmck(lam: float, s: float, c: int, k: int) -> dict[str, float]:
    """M/M/c/K (K = c + waiting slots in all): carried utilization, blocking, mean wait of admitted calls."""
    a = lam * s
    p = [1.0]
    for n in range(1, k + 1):
        p.append(p[-1] * a / min(n, c))
    total = sum(p)
    p = [x / total for x in p]
    block = p[k]
    admitted = lam * (1 - block)
    lq = sum((n - c) * p[n] for n in range(c + 1, k + 1))
    busy = sum(min(n, c) * p[n] for n in range(k + 1))
    return {"utilization": busy / c, "rejected": block, "wait": lq / admitted if admitted else 0.0}


def pk_wait(lam: float, mean: float, var: float) -> float:
    """M/G/1 mean wait (Pollaczek-Khinchine): lam E[S^2] / (2 (1 - rho))."""
    rho = lam * mean
    return lam * (var + mean * mean) / (2 * (1 - rho))


def fork_join_2(lam: float, s: float) -> float:
    """Mean response of a fork into two identical M/M/1 queues joined at the end (Nelson and Tantawi, exact):
    (12 - rho) / 8 x 1 / (mu - lam)."""
    mu = 1 / s
    rho = lam * s
    return (12 - rho) / 8 / (mu - lam)


def gi_m_1_sigma(lst, mu: float) -> float:
    """The root sigma in (0, 1) of sigma = A*(mu (1 - sigma)) for GI/M/1 (A* the interarrival LST)."""
    sigma = 0.5
    for _ in range(10_000):
        nxt = lst(mu * (1 - sigma))
        if abs(nxt - sigma) < 1e-15:
            break
        sigma = nxt
    return sigma


# ── Markov chains ───────────────────────────────────────────────────────────

def _stationary(q: np.ndarray) -> np.ndarray:
    """Stationary distribution of a generator matrix (rows sum to zero)."""
    n = q.shape[0]
    a = q.T.copy()
    a[-1, :] = 1.0
    b = np.zeros(n)
    b[-1] = 1.0
    pi = np.linalg.solve(a, b)
    pi[pi < 0] = 0.0
    return pi / pi.sum()


def ek_m_c(k: int, lam: float, s: float, c: int, limit: int = 600) -> dict[str, float]:
    """Ek/M/c, unbounded FIFO (truncated at `limit` customers): Erlang-k interarrivals of mean 1/lam.

    State (customers n, arrival phase p). Arrivals see the chain at the end of phase k-1, so the
    customers an arrival finds are distributed as pi(n, k-1) / sum_n pi(n, k-1); one that finds
    n >= c waits for n - c + 1 departures at rate c mu."""
    mu = 1 / s
    size = (limit + 1) * k
    q = np.zeros((size, size))

    def ix(n: int, p: int) -> int:
        return n * k + p

    for n in range(limit + 1):
        for p in range(k):
            i = ix(n, p)
            if p < k - 1:
                q[i, ix(n, p + 1)] += k * lam
            elif n < limit:
                q[i, ix(n + 1, 0)] += k * lam
            else:
                q[i, ix(n, 0)] += k * lam  # lost at the truncation (its mass is negligible)
            if n > 0:
                q[i, ix(n - 1, p)] += min(n, c) * mu
    np.fill_diagonal(q, -q.sum(axis=1))
    pi = _stationary(q).reshape(limit + 1, k)
    seen = pi[:, k - 1] / pi[:, k - 1].sum()
    wait = sum(seen[n] * (n - c + 1) / (c * mu) for n in range(c, limit + 1))
    busy = sum(pi[n].sum() * min(n, c) for n in range(limit + 1))
    return {"utilization": busy / c, "wait": wait, "rejected": 0.0, "tail": float(pi[-20:].sum())}


def d_m_c(lam: float, s: float, c: int, limit: int = 600) -> dict[str, float]:
    """D/M/c, unbounded FIFO: the chain of customers found by arrivals, T = 1/lam apart.

    Between arrivals the system is a pure death process (rate min(n, c) mu); its transition
    matrix over T is exp(Q T), by uniformization."""
    mu = 1 / s
    t = 1 / lam
    size = limit + 1
    death = np.zeros((size, size))
    for n in range(1, size):
        death[n, n - 1] = min(n, c) * mu
    np.fill_diagonal(death, -death.sum(axis=1))
    rate = c * mu
    step = np.eye(size) + death / rate
    x = rate * t
    terms = int(x + 12 * math.sqrt(x) + 40)
    expo = np.zeros((size, size))
    power = np.eye(size)
    weight = math.exp(-x)
    for m in range(terms + 1):
        expo += weight * power
        power = power @ step
        weight *= x / (m + 1)
    # found n -> after joining n+1 -> found m at the next arrival
    p = np.zeros((size, size))
    for n in range(size):
        p[n] = expo[min(n + 1, limit)]
    p /= p.sum(axis=1, keepdims=True)
    a = p.T - np.eye(size)
    a[-1, :] = 1.0
    b = np.zeros(size)
    b[-1] = 1.0
    seen = np.linalg.solve(a, b)
    seen[seen < 0] = 0
    seen /= seen.sum()
    wait = sum(seen[n] * (n - c + 1) / (c * mu) for n in range(c, size))
    return {"utilization": lam * s / c, "wait": wait, "rejected": 0.0, "tail": float(seen[-20:].sum())}


def caller_callee(lam: float, s1: float, c1: int, limit1: int, s2: float, c2: int) -> dict[str, float]:
    """A caller of c1 workers (exponential own work s1, then one synchronous call, no network delay) and a
    callee of c2 workers (exponential s2) that only it calls, FIFO at both; `limit1` waiting slots at the caller
    (the callee's queue holds at most c1 calls, so it never rejects when its own limit is at least c1 - c2).

    State (k calls in the caller, j of its held workers waiting on or served by the callee). Returns the
    caller's utilization, blocking and wait, the callee's utilization and wait, and the mean latency of
    admitted calls (Little)."""
    mu1, mu2 = 1 / s1, 1 / s2
    kmax = c1 + limit1
    states = [(k, j) for k in range(kmax + 1) for j in range(min(k, c1) + 1)]
    index = {st: i for i, st in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for (k, j), i in index.items():
        held = min(k, c1)
        if k < kmax:
            q[i, index[(k + 1, j)]] += lam
        if held - j > 0:
            q[i, index[(k, j + 1)]] += (held - j) * mu1
        if j > 0:
            # a callee completion frees a caller worker; a waiting call (if any) takes it and starts its own work
            q[i, index[(k - 1, j - 1)]] += min(j, c2) * mu2
    np.fill_diagonal(q, -q.sum(axis=1))
    pi = _stationary(q)
    block = sum(pi[i] for (k, j), i in index.items() if k == kmax)
    thr = lam * (1 - block)
    e_held = sum(pi[i] * min(k, c1) for (k, j), i in index.items())
    e_wait1 = sum(pi[i] * max(k - c1, 0) for (k, j), i in index.items())
    e_k = sum(pi[i] * k for (k, j), i in index.items())
    e_busy2 = sum(pi[i] * min(j, c2) for (k, j), i in index.items())
    e_wait2 = sum(pi[i] * max(j - c2, 0) for (k, j), i in index.items())
    return {"caller_utilization": e_held / c1, "caller_rejected": block, "caller_wait": e_wait1 / thr,
            "callee_utilization": e_busy2 / c2, "callee_wait": e_wait2 / thr, "latency": e_k / thr,
            "tail": float(sum(pi[i] for (k, j), i in index.items() if k > kmax - 5))}


def closed_network(users: int, think: float, stations: list[tuple[str, int, float]]) -> dict[str, object]:
    """Exact closed product-form network (exponential FCFS multi-server stations, an exponential think time):
    the convolution algorithm in rational arithmetic, so there is no round-off at all.

    `stations` are (name, servers, demand per cycle in s). Returns the throughput (cycles per s) and per station
    its utilization (per server), mean wait (before a server) and mean residence, both per visit."""
    n_users = users

    def factors(servers: int | None, demand: float) -> list[Fraction]:
        d = Fraction(demand)
        out = [Fraction(1)]
        for j in range(1, n_users + 1):
            out.append(out[-1] * d / (j if servers is None else min(j, servers)))
        return out

    def convolve(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
        return [sum((a[i] * b[n - i] for i in range(n + 1)), Fraction(0)) for n in range(n_users + 1)]

    fs = {name: factors(c, d) for name, c, d in stations}
    think_f = factors(None, think)
    g = think_f
    for name, _, _ in stations:
        g = convolve(g, fs[name])
    x = g[n_users - 1] / g[n_users]
    out: dict[str, object] = {"throughput": float(x)}
    for name, c, d in stations:
        rest = think_f
        for other, _, _ in stations:
            if other != name:
                rest = convolve(rest, fs[other])
        p = [fs[name][j] * rest[n_users - j] / g[n_users] for j in range(n_users + 1)]
        length = sum((j * p[j] for j in range(n_users + 1)), Fraction(0))
        waiting = sum((max(j - c, 0) * p[j] for j in range(n_users + 1)), Fraction(0))
        busy = sum((min(j, c) * p[j] for j in range(n_users + 1)), Fraction(0))
        out[name] = {"utilization": float(busy / c), "wait": float(waiting / x),
                     "residence": float(length / x), "demand": d}
    return out
