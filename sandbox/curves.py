"""Curves: where a latency curve turns bad (the knee), and which designs no other beats (Pareto).

Both are plain functions over lists of numbers, so they serve sweeps, the
report's charts, and anyone with their own measurements.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

__all__ = ["knee", "pareto", "worsens_upwards", "KNEE_FACTOR"]

KNEE_FACTOR = 2.0


def knee(xs: Sequence[Any], ys: Sequence[float], factor: float = KNEE_FACTOR) -> int | None:
    """The index of the knee: walking the way `ys` worsens, the first y above `factor` x min(ys).

    The definition: queueing has "exploded" once latency is more than `factor`
    (2) times the best the design achieves on the curve, i.e. once waiting
    adds more than the service itself. For an M/M/1 queue, whose p99 is
    ln(100) / (mu (1 - rho)), the knee by this rule is the first load above
    rho = 0.5 when the curve starts near zero load:

    >>> rho = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    >>> p99 = [46.05 / (1 - r) for r in rho]
    >>> rho[knee(rho, p99)]       # 2 x p99(0.1) = 102 ms is passed at rho = 0.6 (115 ms)
    0.6
    >>> knee([1, 2, 3, 4], [900.0, 60.0, 45.0, 44.0])   # replicas: worse going down; 1 replica is the knee
    0
    >>> knee([1, 2, 3], [10.0, 11.0, 12.0]) is None
    True
    """
    finite = [y for y in ys if y is not None and math.isfinite(y)]
    if len(ys) < 2 or not finite:
        return None
    best = min(finite)
    order = range(len(ys)) if worsens_upwards(ys) else range(len(ys) - 1, -1, -1)
    for i in order:
        y = ys[i]
        if y is None or not math.isfinite(y) or y > factor * best:
            return i
    return None


def worsens_upwards(ys: Sequence[float]) -> bool:
    first, last = ys[0], ys[-1]
    bad = lambda y: y is None or not math.isfinite(y)
    if bad(last):
        return True
    if bad(first):
        return False
    return last >= first


def pareto(costs: Sequence[float], values: Sequence[float]) -> list[int]:
    """Indexes of the points no other point beats: none cheaper-or-equal and lower-or-equal, better in one.

    Both coordinates are to be minimised (cost and p99). Returned by rising cost.

    >>> pareto([1, 2, 3, 4, 2], [100, 60, 65, 30, 80])
    [0, 1, 3]
    """
    idx = [i for i in range(len(costs)) if math.isfinite(costs[i]) and math.isfinite(values[i])]
    front = [i for i in idx
             if not any((costs[j] <= costs[i] and values[j] <= values[i])
                        and (costs[j] < costs[i] or values[j] < values[i]) for j in idx)]
    return sorted(front, key=lambda i: (costs[i], values[i]))
