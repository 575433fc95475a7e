"""A database at run time with shards by key and read replicas that lag behind its primary.

The station's replicas are laid out shard by shard: each shard holds the
node's ``replicas`` (its primaries) and then its ``read_replicas``, each with
the node's workers. A call goes to shard ``key % shards`` (round robin when
requests carry no key); within it a write (a request of a class with
``writes: true``) goes to a primary, picked by the caller as for any station,
and a read to the next read replica in turn (to a primary when there are
none). When a write finishes on the primary it *commits*: each read replica
of its shard receives it after its own lag (drawn per write and replica).
A read served by a replica before every write to its key has reached that
replica is **stale**.

:meth:`Database.route_by_key` wraps the station's own ``serve`` (a class-aware one
too), so the queueing, the statistics and the traces are the station's.
"""

from __future__ import annotations

from typing import Any, Callable

from simpy import Environment

from ..randomness import Draw
from .base import Request, Serve
from .station import Station

__all__ = ["Database"]


class Database(Station):
    """A station with `shards` copies by key and `read_replicas` per shard (see the module docstring)."""

    def __init__(self, env: Environment, name: str, kind: str, *, shards: int, primaries: int, read_replicas: int,
                 write_classes: frozenset[int], lag: Draw | None, **kw: Any) -> None:
        super().__init__(env, name, kind, **kw)
        self.shards = shards
        self.primaries = primaries
        self.read_replicas = read_replicas
        self.write_classes = write_classes
        self.draw_lag = lag
        self.group = primaries + read_replicas     # replicas per shard
        self.next_read = [0] * shards                # round robin over each shard's read replicas
        self.next_shard = 0                          # round robin over shards when requests carry no key
        # per read replica: key -> when every committed write to it will have reached that replica
        self.visible: list[dict[int, float]] = [{} for _ in range(shards * read_replicas)]
        self.reads = self.writes = self.stale = self.replica_reads = 0
        self.shard_calls = [0] * shards              # measured calls each shard finished, and their time in it
        self.shard_time = [0.0] * shards

    def route_by_key(self) -> None:
        """Send each call to its shard's primary or read replica, around the station's own serve."""
        inner: Callable[[Request, Any], Serve] = self.serve
        replicas = self.replicas
        env = self.env

        def serve(request: Request, replica: Any) -> Serve:
            key = request.key
            if key >= 0:
                shard = key % self.shards
            else:
                shard = self.next_shard
                self.next_shard = (shard + 1) % self.shards
            base = shard * self.group
            writing = request.cls in self.write_classes
            measured = request.measured
            if writing or not self.read_replicas:
                target = replicas[base + replica.index % self.primaries]
                if measured:
                    if writing:
                        self.writes += 1
                    else:
                        self.reads += 1
            else:
                j = self.next_read[shard]
                self.next_read[shard] = (j + 1) % self.read_replicas
                target = replicas[base + self.primaries + j]
                if measured:
                    self.reads += 1
                    self.replica_reads += 1
                    if key >= 0 and env.now < self.visible[shard * self.read_replicas + j].get(key, -1.0):
                        self.stale += 1
            t_enter = env.now
            failure = yield from inner(request, target)
            if measured:   # every call it took, a call refused at a full line too
                self.shard_calls[shard] += 1
                self.shard_time[shard] += env.now - t_enter
            if writing and failure is None and self.read_replicas and key >= 0 and self.draw_lag is not None:
                now = env.now
                for j in range(self.read_replicas):   # committed: each read replica receives it after its lag
                    seen = self.visible[shard * self.read_replicas + j]
                    arrives = now + self.draw_lag()
                    if arrives > seen.get(key, -1.0):
                        seen[key] = arrives
            return failure

        self.serve = serve  # type: ignore[method-assign]

    def key_figures(self, measured_s: float) -> dict[str, Any]:
        shards = []
        for s in range(self.shards):
            group = self.replicas[s * self.group:(s + 1) * self.group]
            calls = self.shard_calls[s]
            workers = sum(r.workers for r in group)
            held = sum(r.held for r in group)
            # time in the shard is the wait plus the time a worker held the call
            entry = {"shard": s, "calls": calls,
                     "utilization": held / (workers * measured_s) if measured_s else 0.0,
                     "wait_ms": 1000 * max(0.0, self.shard_time[s] - held) / calls if calls else 0.0}
            if self.read_replicas:   # the primaries take the writes, the read replicas the reads
                for role, part in (("primary", group[:self.primaries]), ("read_replica", group[self.primaries:])):
                    entry[f"{role}_utilization"] = (sum(r.held for r in part)
                                                    / (sum(r.workers for r in part) * measured_s)
                                                    if measured_s else 0.0)
            shards.append(entry)
        return {"reads": self.reads, "writes": self.writes, "replica_reads": self.replica_reads,
                "stale_reads": self.stale,
                "stale_share": self.stale / self.replica_reads if self.replica_reads else 0.0, "shards": shards}
