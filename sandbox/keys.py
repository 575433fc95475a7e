"""Keys: which item a request is for, drawn by popularity (Zipf or uniform), and what that means for a cache.

Keys are numbered by popularity rank: key 0 is the most popular. Under
``popularity: zipf`` with exponent ``s``, P(k) is proportional to 1/(k+1)^s
for k = 0 .. count-1; under ``uniform`` every key is as likely. A request draws
its key when it arrives, from its own random stream (``workload:key``), and
keeps it along its whole path; requests are independent of each other (the
*independent reference model*, which the cache formulas below assume too).

Drawing costs O(log count) per request: uniforms are drawn in blocks and
looked up in the cumulative table with one vectorised binary search per block.

The formulas (Che, Tung and Wang 2002 for LRU; Martina, Garetto and Leonardi
2014 for FIFO and random replacement), for a cache of C entries:

- LRU: the characteristic time T solves sum_k (1 - exp(-p_k T)) = C; key k hits
  with probability 1 - exp(-p_k T).
- FIFO and random: T solves sum_k p_k T / (1 + p_k T) = C; key k hits with
  probability p_k T / (1 + p_k T).

(T is in units of requests reaching the cache, so neither depends on the rate.)

- A TTL of T seconds, no size limit: key k, requested at lambda_k per second,
  hits lambda_k T / (1 + lambda_k T) of its requests (a renewal argument).

>>> k = Keys(count=4, popularity="zipf", s=1.0)
>>> [round(float(p), 3) for p in k.probabilities()]
[0.48, 0.24, 0.16, 0.12]
>>> round(hit_ratio(k, 4, "lru"), 6), round(hit_ratio(Keys(count=100, popularity="uniform"), 25, "lru"), 3)
(1.0, 0.25)
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Iterator, Literal

import numpy as np
from pydantic import Field

from .model import Model
from .randomness import Streams

__all__ = ["Keys", "Eviction", "hit_ratio", "hit_probabilities", "ttl_hit_ratio", "modulo_shares", "MAX_KEYS"]

MAX_KEYS = 10_000_000
_BLOCK = 4096
Eviction = Literal["lru", "fifo", "random"]


class Keys(Model):
    """How many keys there are and how popular each is."""
    count: int = Field(ge=1, le=MAX_KEYS, description="keys, numbered by popularity rank (0 is the most popular)")
    popularity: Literal["zipf", "uniform"] = Field(default="zipf", description="zipf: P(k) ~ 1/(k+1)^s; uniform")
    s: float = Field(default=1.0, ge=0, le=10, description="the Zipf exponent (0 is uniform; 1 is classic Zipf)")

    def probabilities(self) -> np.ndarray:
        """P(key k) for k = 0 .. count-1."""
        return _probabilities(self.count, self.popularity, self.s)

    def sampler(self, streams: Streams, purpose: str = "workload:key") -> Callable[[], int]:
        """A zero-argument function returning the next request's key, from the stream named `purpose`."""
        gen = streams.generator(purpose)
        count = self.count
        if self.popularity == "uniform":
            def uniform_blocks() -> Iterator[int]:
                while True:
                    yield from gen.integers(0, count, _BLOCK).tolist()
            return uniform_blocks().__next__
        cumulative = np.cumsum(self.probabilities())
        cumulative[-1] = 1.0

        def zipf_blocks() -> Iterator[int]:
            while True:
                yield from np.minimum(np.searchsorted(cumulative, gen.random(_BLOCK), side="right"),
                                      count - 1).tolist()
        return zipf_blocks().__next__


@functools.lru_cache(maxsize=16)
def _probabilities(count: int, popularity: str, s: float) -> np.ndarray:
    if popularity == "uniform" or s == 0:
        p = np.full(count, 1.0 / count)
    else:
        w = np.arange(1, count + 1, dtype=float) ** -s
        p = w / w.sum()
    p.setflags(write=False)
    return p


def hit_probabilities(keys: Keys, capacity: int, eviction: str) -> np.ndarray:
    """Each key's chance to hit a cache of `capacity` entries, by Che's approximation (LRU) or Martina et al.'s
    (FIFO, random), under independent requests."""
    p = keys.probabilities()
    if capacity >= keys.count:
        return np.ones(keys.count)
    occupancy: Callable[[float], float]
    if eviction == "lru":
        def occupancy(t: float) -> float:
            return float(np.sum(-np.expm1(-p * t)))
    else:
        def occupancy(t: float) -> float:
            return float(np.sum(p * t / (1.0 + p * t)))
    lo, hi = 0.0, 1.0
    while occupancy(hi) < capacity:
        hi *= 2.0
        if hi > 1e300:   # keys that are never read cannot fill the cache
            break
    for _ in range(200):   # bisection on the characteristic time: occupancy grows with it
        mid = (lo + hi) / 2
        if occupancy(mid) < capacity:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    t = (lo + hi) / 2
    return -np.expm1(-p * t) if eviction == "lru" else p * t / (1.0 + p * t)


@functools.lru_cache(maxsize=256)   # the analysis asks at every step of its fixed point
def hit_ratio(keys: Keys, capacity: int, eviction: str) -> float:
    """The share of requests that hit (the hit probabilities weighted by popularity)."""
    value = float(np.dot(keys.probabilities(), hit_probabilities(keys, capacity, eviction)))
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0


def ttl_hit_ratio(keys: Keys, rate_rps: float, ttl_s: float) -> float:
    """The hit ratio of a cache without a size limit whose entries expire ttl_s after they were stored, at
    `rate_rps` calls per second: key k (rate lambda_k = p_k x rate) stays for T after each miss, is hit
    lambda_k T times on average, then missed again, so it hits lambda_k T / (1 + lambda_k T) of its calls."""
    p = keys.probabilities()
    lt = p * max(0.0, rate_rps) * ttl_s
    return float(np.dot(p, lt / (1.0 + lt)))


def modulo_shares(keys: Keys | None, n: int) -> list[float]:
    """Each of n shards' (or partitions') share of the calls when key k goes to k % n: the popularity of its keys,
    or an even share without keys (calls spread in turn)."""
    if keys is None:
        return [1.0 / n] * n
    p = keys.probabilities()
    return [float(p[k::n].sum()) for k in range(n)]
