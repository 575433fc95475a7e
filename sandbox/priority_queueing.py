"""Queueing with request classes: the service time of a class mix, and waits under non-preemptive priority.

Times are in seconds and rates per second, as in :mod:`sandbox.queueing`.

- :func:`mixture_moments`: a FIFO station serving a mix of classes serves one
  service time, the *mixture* of the classes' (each class weighted by its
  arrival rate): E[S] = sum p_k m_k and E[S^2] = sum p_k (Var_k + m_k^2). With
  Poisson arrivals and one server, Pollaczek-Khinchine on these moments is exact.
- :func:`cobham_waits`: M/G/1 with non-preemptive priority classes (Cobham 1954;
  Kleinrock, *Queueing Systems* vol. 2, 3.6; Gross and Harris, *Fundamentals of
  Queueing Theory*, the section on non-preemptive priorities)::

      W_k = W0 / ((1 - sigma_above) (1 - sigma_through)),   W0 = sum_i lambda_i E[S_i^2] / 2,

  sigma_above the load of the classes of higher priority than k, sigma_through
  that plus the load of k's own level (classes of equal priority share a level,
  FIFO among them).
- :func:`mmc_priority_waits`: its M/M/c extension, every class with the same
  exponential service mean (Cobham 1954; Gross and Harris): W0 = C(c, a) / (c mu),
  C Erlang's C, the loads per server.
- :func:`priority_waits`: both in one, for any number of servers and service
  means: W0 = C(c, a) E[S] / c x (ca^2 + cs^2) / 2 with the mixture's mean and
  squared coefficient of variation (the Allen-Cunneen scaling applied to every
  class, as Bondi and Buzen 1984 scale M/M/c priority waits to M/G/c). It is
  Cobham's exact formula for one server and Poisson arrivals, and the exact
  M/M/c formula for one exponential mean; otherwise an approximation.

Overload: when the classes together offer at least one server's worth of work
per server, the higher levels whose load is still below 1 keep a finite wait:
the servers are always busy (C = 1), carrying the stable levels' calls and, of
the first level that does not fit, what is left. Every class of that level and
below waits without bound (inf).

>>> [round(w * 1000, 3) for w in cobham_waits([30.0, 50.0], [0.010, 0.010], [2e-4, 2e-4], [1, 0])]
[11.429, 57.143]
"""

from __future__ import annotations

import math
from typing import Sequence

from .queueing import erlang_c

__all__ = ["mixture_moments", "cobham_waits", "mmc_priority_waits", "priority_waits", "level_loads", "carried_rates"]


def mixture_moments(weights: Sequence[float], means: Sequence[float], variances: Sequence[float]) -> tuple[float, float]:
    """(mean, variance) of a mixture: a draw is part k with probability weights[k] / sum(weights).

    Two exponential classes, 80% at 5 ms and 20% at 20 ms (a hyperexponential):

    >>> mean, var = mixture_moments([0.8, 0.2], [5.0, 20.0], [25.0, 400.0])
    >>> mean, round(var, 9), round(var / mean ** 2, 6)      # E[S^2] = 0.8 x 50 + 0.2 x 800 = 200
    (8.0, 136.0, 2.125)
    """
    if len(weights) != len(means) or len(means) != len(variances):
        raise ValueError(f"weights, means and variances must have one entry per part, got "
                         f"{len(weights)}, {len(means)}, {len(variances)}")
    if any(w < 0 for w in weights) or any(v < 0 for v in variances):
        raise ValueError(f"weights and variances must be at least 0, got {list(weights)}, {list(variances)}")
    total = math.fsum(weights)
    if total <= 0:
        raise ValueError(f"weights: at least one must be positive, got {list(weights)}")
    mean = math.fsum(w * m for w, m in zip(weights, means)) / total
    second = math.fsum(w * (v + m * m) for w, m, v in zip(weights, means, variances)) / total
    return mean, max(0.0, second - mean * mean)


def level_loads(loads: Sequence[float], priorities: Sequence[int]) -> list[tuple[float, float]]:
    """Per class, (sigma_above, sigma_through): the load of the higher levels, and that plus its own level's.

    >>> level_loads([0.2, 0.3, 0.1], [0, 2, 2])
    [(0.4, 0.6000000000000001), (0.0, 0.4), (0.0, 0.4)]
    """
    out = []
    for p in priorities:
        above = math.fsum(x for x, q in zip(loads, priorities) if q > p)
        out.append((above, above + math.fsum(x for x, q in zip(loads, priorities) if q == p)))
    return out


def carried_rates(rates: Sequence[float], loads: Sequence[float], priorities: Sequence[int]) -> list[float]:
    """The rates the servers carry: every class while the levels fit (loads per server summing below 1); in
    overload, the levels that fit, then what is left for the first level that does not (shared in proportion
    to its classes' rates), then nothing.

    >>> carried_rates([50.0, 100.0], [0.5, 1.0], [1, 0])     # the low class gets half of its rate
    [50.0, 50.0]
    """
    out = []
    for rate, (above, through) in zip(rates, level_loads(loads, priorities)):
        if through < 1.0:
            out.append(rate)
        elif above < 1.0:
            out.append(rate * (1.0 - above) / (through - above))
        else:
            out.append(0.0)
    return out


def _wait_per_class(w0: float, loads: Sequence[float], priorities: Sequence[int]) -> list[float]:
    out = []
    for above, through in level_loads(loads, priorities):
        out.append(w0 / ((1.0 - above) * (1.0 - through)) if through < 1.0 else math.inf)
    return out


def _check(rates: Sequence[float], means: Sequence[float], priorities: Sequence[int]) -> None:
    if not len(rates) == len(means) == len(priorities):
        raise ValueError(f"rates, means and priorities must have one entry per class, got "
                         f"{len(rates)}, {len(means)}, {len(priorities)}")
    if any(x < 0 for x in rates) or any(m < 0 for m in means):
        raise ValueError(f"rates and means must be at least 0, got {list(rates)}, {list(means)}")


def cobham_waits(rates: Sequence[float], means: Sequence[float], second_moments: Sequence[float],
                 priorities: Sequence[int]) -> list[float]:
    """Mean wait before service of each class in M/G/1 with non-preemptive priorities (Cobham 1954).

    Poisson arrivals of each class at `rates`; service of class k with mean
    `means[k]` and second moment `second_moments[k]`; the higher `priorities[k]`
    is served first, FIFO within a level. One class is Pollaczek-Khinchine:

    >>> w, = cobham_waits([80.0], [0.010], [2e-4], [0])
    >>> round(w, 9)                                        # M/M/1 at rho 0.8: rho / (mu - lambda)
    0.04
    """
    _check(rates, means, priorities)
    loads = [x * m for x, m in zip(rates, means)]
    carried = carried_rates(rates, loads, priorities)
    w0 = math.fsum(x * s2 for x, s2 in zip(carried, second_moments)) / 2.0
    return _wait_per_class(w0, loads, priorities)


def mmc_priority_waits(servers: int, rates: Sequence[float], mean: float, priorities: Sequence[int]) -> list[float]:
    """Mean wait of each class in M/M/c with non-preemptive priorities, every class served in exponential time
    of the same `mean` (Cobham 1954): W_k = C(c, a) / (c mu) / ((1 - sigma_above) (1 - sigma_through)).

    One class is the Erlang C wait, C(c, a) / (c mu - lambda):

    >>> w, = mmc_priority_waits(2, [150.0], 0.010, [0])
    >>> round(w * 1000, 6)                                 # C(2, 1.5) = 9/14: 9/14 / (200 - 150) s
    12.857143
    """
    if servers < 1:
        raise ValueError(f"servers: must be at least 1, got {servers}")
    _check(rates, [mean] * len(rates), priorities)
    loads = [x * mean / servers for x in rates]
    a = math.fsum(rates) * mean
    c_wait = erlang_c(servers, a) if a < servers else 1.0
    return _wait_per_class(c_wait * mean / servers, loads, priorities)


def priority_waits(servers: int, rates: Sequence[float], means: Sequence[float], variances: Sequence[float],
                   priorities: Sequence[int], arrival_scv: float = 1.0) -> list[float]:
    """Mean wait of each class under non-preemptive priority at `servers` servers, any service means:
    the M/M/c extension on the carried mixture's mean, scaled by (ca^2 + cs^2) / 2.

    Exact for one server with Poisson arrivals (it is then Cobham's formula) and for one exponential mean
    (the M/M/c formula); otherwise an approximation:

    >>> a = priority_waits(1, [30.0, 50.0], [0.005, 0.012], [0.005 ** 2, 0.012 ** 2], [1, 0])
    >>> b = cobham_waits([30.0, 50.0], [0.005, 0.012], [2 * 0.005 ** 2, 2 * 0.012 ** 2], [1, 0])
    >>> [round(x / y, 12) for x, y in zip(a, b)]
    [1.0, 1.0]
    """
    if servers < 1:
        raise ValueError(f"servers: must be at least 1, got {servers}")
    _check(rates, means, priorities)
    loads = [x * m / servers for x, m in zip(rates, means)]
    carried = carried_rates(rates, loads, priorities)
    if math.fsum(carried) <= 0:
        return [0.0] * len(rates)
    mean, var = mixture_moments(carried, means, variances)
    if mean <= 0:
        return [0.0] * len(rates)
    a = math.fsum(x * m for x, m in zip(carried, means))
    c_wait = erlang_c(servers, a) if a < servers * (1 - 1e-12) else 1.0
    w0 = c_wait * mean / servers * (arrival_scv + var / mean ** 2) / 2.0
    return _wait_per_class(w0, loads, priorities)
