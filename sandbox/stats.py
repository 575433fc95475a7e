"""Streaming statistics: log-bucketed histograms, so memory does not grow with requests.

A :class:`LogHistogram` keeps counts in buckets whose bounds grow by a factor
``gamma = (1 + a) / (1 - a)``; answering a percentile with the bucket's midpoint
(in the relative sense) is then within ``a`` (1% by default) of the true value,
whatever the number of samples (the DDSketch construction). Values at or below
``1e-9`` share one zero bucket, so zero waits cost one increment.

>>> h = LogHistogram()
>>> for x in range(1, 1001):
...     _ = h.add(float(x))
>>> abs(h.quantile(0.99) - 990) / 990 < 0.01
True
>>> h.count, h.mean
(1000, 500.5)
"""

from __future__ import annotations

import math
from typing import Iterable

__all__ = ["LogHistogram", "RELATIVE_ERROR", "ZERO_BUCKET", "window_quantile", "MAX_POINTS", "merge_pairs"]

MAX_POINTS = 2048  # a time series longer than this halves its resolution: memory stays bounded

RELATIVE_ERROR = 0.01
_ZERO = 1e-9
ZERO_BUCKET = -(10 ** 9)  # the index `add` returns for a zero
_log = math.log
_ceil = math.ceil


class LogHistogram:
    """Counts of positive values in geometric buckets, plus exact count, sum, min and max."""

    __slots__ = ("counts", "zeros", "count", "total", "high", "_inv_log_gamma", "_gamma")

    def __init__(self, relative_error: float = RELATIVE_ERROR) -> None:
        if not 0 < relative_error < 1:
            raise ValueError(f"relative_error must be in (0, 1), got {relative_error}")
        self._gamma = (1 + relative_error) / (1 - relative_error)
        self._inv_log_gamma = 1.0 / math.log(self._gamma)
        self.counts: dict[int, int] = {}
        self.zeros = 0
        self.count = 0
        self.total = 0.0
        self.high = 0.0

    def add(self, x: float) -> int:
        """Record one value (negative values count as zero); returns its bucket index."""
        self.count += 1
        self.total += x
        if x > _ZERO:
            if x > self.high:
                self.high = x
            i = _ceil(_log(x) * self._inv_log_gamma)
            counts = self.counts
            counts[i] = counts.get(i, 0) + 1
            return i
        self.zeros += 1
        return ZERO_BUCKET

    def add_zero(self) -> None:
        """Record a zero (a call that did not wait): the cheap common case."""
        self.count += 1
        self.zeros += 1

    @property
    def low(self) -> float:
        """The smallest value recorded, to bucket resolution (0 when any zero was)."""
        if self.zeros or not self.counts:
            return 0.0
        return self._gamma ** (min(self.counts) - 1)

    def value(self, index: int) -> float:
        """The representative value of bucket `index` (within the relative error of its members)."""
        return 0.0 if index == ZERO_BUCKET else 2 * self._gamma ** index / (self._gamma + 1)

    def above(self, x: float) -> int:
        """How many recorded values lie in buckets wholly above `x` (to the bucket's resolution)."""
        if x <= 0:
            return self.count - self.zeros
        edge = _ceil(_log(x) * self._inv_log_gamma)
        return sum(c for i, c in self.counts.items() if i > edge)

    def merge(self, other: "LogHistogram") -> None:
        """Add another histogram's samples to this one (same relative error)."""
        for i, c in other.counts.items():
            self.counts[i] = self.counts.get(i, 0) + c
        self.zeros += other.zeros
        self.count += other.count
        self.total += other.total
        self.high = max(self.high, other.high)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """The q-quantile (0 <= q <= 1), within the relative error; 0 when empty."""
        if not self.count:
            return 0.0
        rank = q * (self.count - 1)
        if rank < self.zeros:
            return 0.0
        seen = self.zeros
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen > rank:
                value = 2 * self._gamma ** i / (self._gamma + 1)
                return min(max(value, self.low), self.high)
        return self.high

    def quantiles(self, qs: Iterable[float]) -> list[float]:
        """Several quantiles in one pass over the buckets."""
        qs = list(qs)
        if not self.count:
            return [0.0] * len(qs)
        order = sorted(range(len(qs)), key=lambda k: qs[k])
        out = [0.0] * len(qs)
        keys = sorted(self.counts)
        seen, j = self.zeros, 0
        for k in order:
            rank = qs[k] * (self.count - 1)
            if rank < self.zeros:
                continue
            while j < len(keys) and seen + self.counts[keys[j]] <= rank:
                seen += self.counts[keys[j]]
                j += 1
            if j == len(keys):
                out[k] = self.high
            else:
                value = 2 * self._gamma ** keys[j] / (self._gamma + 1)
                out[k] = min(max(value, self.low), self.high)
        return out

    def share_at_most(self, x: float) -> float:
        """The share of samples <= x (bucket resolution)."""
        if not self.count:
            return 0.0
        if x <= _ZERO:
            return self.zeros / self.count
        limit = math.ceil(math.log(x) * self._inv_log_gamma)
        return (self.zeros + sum(c for i, c in self.counts.items() if i <= limit)) / self.count

    def buckets(self) -> list[tuple[float, float, int]]:
        """(lower_ms, upper_ms, count) per non-empty bucket, for a distribution chart."""
        rows = [(0.0, _ZERO, self.zeros)] if self.zeros else []
        for i in sorted(self.counts):
            rows.append((self._gamma ** (i - 1), self._gamma ** i, self.counts[i]))
        return rows


def window_quantile(window: dict[int, int], q: float, like: LogHistogram) -> float:
    """The q-quantile of bucket counts gathered with `like`'s indices (a 1-second window)."""
    total = sum(window.values())
    if not total:
        return 0.0
    rank = q * (total - 1)
    seen = 0
    for i in sorted(window):
        seen += window[i]
        if seen > rank:
            return like.value(i)
    return 0.0  # pragma: no cover - the loop always reaches rank


def merge_pairs(points: list, combine) -> list:
    """Merge neighbouring points two by two (an odd last point stays as it is)."""
    merged = [combine(a, b) for a, b in zip(points[0::2], points[1::2])]
    if len(points) % 2:
        merged.append(points[-1])
    return merged
