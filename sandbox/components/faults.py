"""Scheduled faults: a node goes down, slows down, or starts failing, then recovers; a keyed cache is flushed.

Each fault in a node's ``failures`` list starts at ``at_s`` and lasts ``for_s``.
Overlapping faults combine: the node is down if any active fault says so,
service times are multiplied by the largest active ``multiplier``, and error
probabilities combine as independent failures with the node's own ``error_rate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator

from simpy import Environment, Timeout

from .station import Station

if TYPE_CHECKING:  # pragma: no cover
    from ..station_features import Fault

__all__ = ["schedule_faults"]


def schedule_faults(env: Environment, station: Station, faults: "list[Fault]") -> None:
    """Start one process per fault that switches it on and off at its times."""
    active: "list[Fault]" = []

    def apply() -> None:
        station.down = any(f.mode == "down" for f in active)
        station.slow = max([f.multiplier or 1.0 for f in active if f.mode == "slow"], default=1.0)
        ok = 1.0 - station.base_error
        for f in active:
            if f.mode == "errors":
                ok *= 1.0 - (f.rate or 0.0)
        station.error_p = 1.0 - ok

    def fault(f: "Fault") -> Generator:
        yield Timeout(env, f.at_s or 0.0)
        if f.mode == "flush":
            station.flush()
            return
        active.append(f)
        apply()
        yield Timeout(env, f.lasts_s)
        active.remove(f)
        apply()

    for f in faults:
        if not f.random:   # random failures are per replica: sandbox.components.placement plays them
            env.process(fault(f))
