"""Autoscaling: add or remove replicas of a service to track a target utilization.

Every ``check_every_s`` the autoscaler measures the service's utilization over
the last interval and asks for ``ceil(replicas x utilization / target)``
replicas, within ``min_replicas`` and ``max_replicas``. New replicas serve only
after ``cold_start_s``, which is why scaling on a sharp rise arrives late; a
scale-in removes one replica per check, and only when no replica is starting.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Generator

from simpy import Environment, Timeout

from .station import Station

if TYPE_CHECKING:  # pragma: no cover
    from ..station_features import Autoscale

__all__ = ["autoscale"]


def autoscale(env: Environment, station: Station, spec: "Autoscale") -> Generator:
    """The autoscaler's control loop for one service (a SimPy process)."""
    stats = station.stats
    pending = 0

    def cold_start() -> Generator:
        nonlocal pending
        yield Timeout(env, spec.cold_start_s)
        pending -= 1
        station.add_replica()

    last = stats.areas_at(env.now)
    while True:
        yield Timeout(env, spec.check_every_s)
        now = stats.areas_at(env.now)
        busy, capacity = now[0] - last[0], now[2] - last[2]
        last = now
        utilization = busy / capacity if capacity > 0 else 0.0
        active = len(station.replicas)
        wanted = math.ceil(active * utilization / spec.target_utilization - 1e-9)
        wanted = max(spec.min_replicas, min(spec.max_replicas, wanted))
        if wanted > active + pending:
            for _ in range(wanted - active - pending):
                pending += 1
                env.process(cold_start())
        elif wanted < active and pending == 0:
            station.remove_replica()
