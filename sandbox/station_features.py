"""What a station can be told to do over a run: scheduled faults and autoscaling, as specs.

A :class:`Fault` takes a service, database or cache down, slows it or makes it
fail calls for a while (:mod:`sandbox.components.faults` plays it); an
:class:`Autoscale` policy adds and removes a service's replicas to track a
target utilization (:mod:`sandbox.components.autoscaler`). A :class:`Shed`
policy refuses low-priority calls when a replica's line is long (load shedding).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .model import MAX_COUNT, MAX_S, Model

__all__ = ["Fault", "Autoscale", "Shed"]


class Fault(Model):
    """A scheduled fault: the node is down, slow, or erroring from at_s for for_s seconds; or, for a keyed
    cache, flushed (emptied) at at_s. Or random failures: with ``mtbf_s`` and ``mttr_s`` (mode down) each
    replica fails and is repaired over and over, up and down times drawn from exponential distributions."""
    at_s: float | None = Field(default=None, ge=0, le=MAX_S, description="when it starts (a scheduled fault)")
    for_s: float | None = Field(default=None, gt=0, le=MAX_S, description="how long it lasts (not for a flush)")
    mode: Literal["down", "slow", "errors", "flush"]
    multiplier: float | None = Field(default=None, ge=1, le=1000, description="slow: service-time multiplier")
    rate: float | None = Field(default=None, gt=0, le=1, description="errors: share of attempts that fail")
    mtbf_s: float | None = Field(default=None, gt=0, le=MAX_S,
                                 description="random failures: each replica's mean time between failures")
    mttr_s: float | None = Field(default=None, gt=0, le=MAX_S, description="random failures: mean time to repair")

    @property
    def lasts_s(self) -> float:
        """How long it lasts: for_s (0 for a flush, an instant)."""
        return self.for_s or 0.0

    @property
    def random(self) -> bool:
        """Random failures (mtbf_s and mttr_s), not a fault at a given time."""
        return self.mtbf_s is not None

    @property
    def replica_availability(self) -> float:
        """A replica's share of time up under random failures: mtbf / (mtbf + mttr)."""
        assert self.mtbf_s is not None and self.mttr_s is not None
        return self.mtbf_s / (self.mtbf_s + self.mttr_s)

    @model_validator(mode="after")
    def _random(self) -> "Fault":
        if self.mtbf_s is None and self.mttr_s is None:
            if self.at_s is None:
                raise ValueError("needs at_s (when it starts), or mtbf_s and mttr_s for random failures")
            return self
        if self.mtbf_s is None or self.mttr_s is None:
            raise ValueError("random failures need both mtbf_s (mean time between failures) and mttr_s "
                             "(mean time to repair)")
        if self.mode != "down":
            raise ValueError(f"random failures take replicas down: mode must be 'down', not {self.mode!r}")
        if self.at_s is not None or self.for_s is not None:
            raise ValueError("random failures happen at random times: leave out at_s and for_s")
        return self

    @model_validator(mode="after")
    def _mode_fields(self) -> "Fault":
        if self.random:
            return self
        if self.mode == "flush" and self.for_s is not None:
            raise ValueError("a flush empties the cache at at_s, an instant: leave out for_s")
        if self.mode != "flush" and self.for_s is None:
            raise ValueError(f"mode {self.mode!r} needs for_s (how long it lasts, in seconds)")
        if self.mode == "slow" and self.multiplier is None:
            raise ValueError("mode 'slow' needs a multiplier (service-time factor, at least 1)")
        if self.mode == "errors" and self.rate is None:
            raise ValueError("mode 'errors' needs a rate (share of attempts that fail, up to 1)")
        if self.mode != "slow" and self.multiplier is not None:
            raise ValueError(f"multiplier applies to mode 'slow', not {self.mode!r}")
        if self.mode != "errors" and self.rate is not None:
            raise ValueError(f"rate applies to mode 'errors', not {self.mode!r}")
        return self


class Autoscale(Model):
    """Target-tracking autoscaling: adjust replicas so utilization nears the target."""
    min_replicas: int = Field(default=1, ge=1, le=1000)
    max_replicas: int = Field(ge=1, le=1000)
    target_utilization: float = Field(default=0.6, gt=0, lt=1)
    check_every_s: float = Field(default=10.0, gt=0, le=MAX_S)
    cold_start_s: float = Field(default=30.0, ge=0, le=MAX_S, description="a new replica serves only after this")

    @model_validator(mode="after")
    def _bounds(self) -> "Autoscale":
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"max_replicas ({self.max_replicas}) must be at least min_replicas ({self.min_replicas})")
        return self


class Shed(Model):
    """Load shedding: an arrival that finds more than `queue_over` calls waiting at its replica is refused
    (cause ``shed``) when its class's priority is below `below_priority`."""
    queue_over: int = Field(ge=0, le=MAX_COUNT)
    below_priority: int = Field(default=1, ge=0, le=1001)
