"""A keyed cache at run time: entries by key, evicted by policy, so the hit ratio emerges from the traffic.

A read hits when its key is stored; a miss makes the cache's `when: miss`
calls and stores the key when the answer comes back (a failed fetch stores
nothing), evicting by ``lru`` (least recently used), ``fifo`` (oldest stored)
or ``random`` (its own random stream) when full; with a TTL an entry expires
that long after it was stored (a read finding it expired is a miss). With ``coalesce``, a miss on a key that another call is
already fetching waits for that fetch's answer instead of making its own
(request coalescing, the cure for a stampede after a flush). A write (a request of a class
with ``writes: true``) goes on to the miss calls as well: ``on_write:
invalidate`` drops the key, ``update`` stores it once the write is answered.
Counters cover measured requests; the store itself lives through warm-up.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from simpy import Environment, Event

from ..randomness import Draw
from .base import OutEdge, Request, Serve
from .station import Cache

__all__ = ["KeyedCache", "CacheCounters"]


class CacheCounters:
    """What a keyed cache saw (measured requests): reads that hit or missed, writes, entries evicted."""

    __slots__ = ("hits", "misses", "writes", "evictions", "expirations", "flushes", "coalesced")

    def __init__(self) -> None:
        self.hits = self.misses = self.writes = self.evictions = self.expirations = self.flushes = 0
        self.coalesced = 0     # misses that waited for another call's fetch of the same key


class KeyedCache(Cache):
    """A cache of `capacity` keys (see the module docstring)."""

    def __init__(self, env: Environment, name: str, kind: str, capacity: int | None, eviction: str, on_write: str,
                 write_classes: frozenset[int], evict: Draw, warm: list[int], ttl_s: float | None,
                 coalesce: bool, **kw: Any) -> None:
        super().__init__(env, name, kind, 0.0, lambda: 1.0, **kw)
        self.size: float = capacity if capacity is not None else math.inf   # a TTL cache alone has no size limit
        self.ttl = ttl_s
        self.coalesce = coalesce
        self.pending: dict[int, Event] = {}             # coalescing: the fetch in flight for each key
        self.expires: dict[int, float] = {}            # with a TTL: when each stored key expires
        self.eviction = eviction
        self.on_write = on_write
        self.write_classes = write_classes
        self.draw_evict = evict
        self.counters = CacheCounters()
        self.key_series = []                            # (hits, reads) per time-series window
        self.key_mark = (0, 0)
        self.recent = eviction == "lru"                 # a hit makes the key the most recent
        self.entries: OrderedDict[int, None] = OrderedDict()
        self.slots: list[int] = []                      # random eviction: the stored keys, and where each is
        self.slot_of: dict[int, int] = {}
        for key in warm:                                # least popular first: the most popular ends most recent
            self.store(key, measured=False)

    def flush(self) -> None:
        self.entries.clear()
        self.slots.clear()
        self.slot_of.clear()
        self.expires.clear()
        self.counters.flushes += 1

    def close_key_window(self) -> None:
        c = self.counters
        hits, reads = c.hits, c.hits + c.misses
        assert self.key_series is not None
        self.key_series.append((hits - self.key_mark[0], reads - self.key_mark[1]))
        self.key_mark = (hits, reads)

    def key_figures(self, measured_s: float) -> dict[str, Any]:
        c = self.counters
        reads = c.hits + c.misses
        now = self.env.now
        live = len(self) if self.ttl is None else sum(1 for t in self.expires.values() if t > now)
        return {"hits": c.hits, "misses": c.misses, "writes": c.writes, "evictions": c.evictions,
                "expirations": c.expirations, "flushes": c.flushes, "coalesced": c.coalesced, "entries": live, "hit_ratio": c.hits / reads if reads else 0.0}

    def __len__(self) -> int:
        return len(self.slots) if self.eviction == "random" else len(self.entries)

    def holds(self, key: int, measured: bool) -> bool:
        if self.ttl is not None:
            expiry = self.expires.get(key)
            if expiry is None:
                return False
            if expiry <= self.env.now:
                self.drop(key)
                if measured:
                    self.counters.expirations += 1
                return False
        if self.eviction == "random":
            return key in self.slot_of
        if key in self.entries:
            if self.recent:
                self.entries.move_to_end(key)
            return True
        return False

    def drop(self, key: int) -> None:
        if self.ttl is not None:
            self.expires.pop(key, None)
        if self.eviction == "random":
            i = self.slot_of.pop(key, None)
            if i is not None:
                last = self.slots.pop()
                if last != key:
                    self.slots[i] = last
                    self.slot_of[last] = i
        else:
            self.entries.pop(key, None)

    def store(self, key: int, measured: bool) -> None:
        if self.ttl is not None:
            self.expires[key] = self.env.now + self.ttl   # stored (again) now: expires a TTL from now
        if self.eviction == "random":
            if key in self.slot_of:
                return
            if len(self.slots) >= self.size:
                self.drop(self.slots[min(int(self.draw_evict() * len(self.slots)), len(self.slots) - 1)])
                if measured:
                    self.counters.evictions += 1
            self.slot_of[key] = len(self.slots)
            self.slots.append(key)
            return
        entries = self.entries
        if key in entries:
            if self.recent:
                entries.move_to_end(key)
            return
        if len(entries) >= self.size:
            gone, _ = entries.popitem(last=False)
            if self.ttl is not None:
                self.expires.pop(gone, None)
            if measured:
                self.counters.evictions += 1
        entries[key] = None

    def calls_after_service(self, request: Request) -> list[OutEdge]:
        key = request.key
        c = self.counters
        if request.cls in self.write_classes:
            if request.measured:
                c.writes += 1
            if self.on_write == "invalidate":
                self.drop(key)
            elif not self.on_miss:
                self.store(key, request.measured)
            return self.on_miss
        if self.holds(key, request.measured):
            if request.measured:
                c.hits += 1
            return self.on_hit
        if request.measured:
            c.misses += 1
        if not self.on_miss:   # nothing to fetch from: the key is stored at once
            self.store(key, request.measured)
        return self.on_miss

    def call_edges(self, request: Request, edges: list[OutEdge]) -> Serve:
        writing = request.cls in self.write_classes
        if not self.coalesce or edges is not self.on_miss or writing:
            failure = yield from super().call_edges(request, edges)
            if edges is self.on_miss and failure is None and not (writing and self.on_write == "invalidate"):
                self.store(request.key, request.measured)   # the answer came back: keep it
            return failure
        key = request.key
        fetch = self.pending.get(key)
        if fetch is not None:     # another call is fetching this key: wait for its answer instead
            if request.measured:
                self.counters.coalesced += 1
            return (yield fetch)
        fetch = self.pending[key] = Event(self.env)
        failure = yield from super().call_edges(request, edges)
        del self.pending[key]
        fetch.succeed(failure)
        if failure is None:
            self.store(key, request.measured)
        return failure
