"""Workloads: where requests enter, how they arrive, and how the rate changes over the run.

Open arrivals come at ``rate_rps`` whatever the system does (``poisson`` or
evenly spaced ``constant``), optionally shaped by a load ``profile``: a spike,
a step, a ramp or a day-like wave, each a small model that knows its rate at
any time and its peak. Closed-loop ``users`` each send a request, wait for its
answer, think, and send again. The SimPy processes that make the requests are
in :mod:`sandbox.arrivals`.

>>> w = Workload(entry="api", rate_rps=100, duration_s=60,
...              profile={"shape": "spike", "at_s": 20, "for_s": 10, "multiplier": 3})
>>> w.rate_at(10), w.rate_at(25), w.peak_rate()
(100.0, 300.0, 300.0)
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from .classes import CLASS_NAME, MAX_CLASSES, TrafficClass
from .messages import shown
from .model import MAX_MS, MAX_PROCESSES, MAX_RATE_RPS, MAX_S, Model

__all__ = ["Spike", "Step", "Ramp", "Diurnal", "Profile", "Workload"]


class Spike(Model):
    """Rate multiplied by `multiplier` from at_s for for_s seconds."""
    shape: Literal["spike"]
    at_s: float = Field(ge=0, le=MAX_S)
    for_s: float = Field(gt=0, le=MAX_S)
    multiplier: float = Field(gt=0, le=10_000)

    def rate_at(self, t_s: float, base: float, duration_s: float) -> float:
        return base * self.multiplier if self.at_s <= t_s < self.at_s + self.for_s else base

    def peak(self, base: float) -> float:
        return base * max(1.0, self.multiplier)


class Step(Model):
    """Rate changes to to_rps at at_s and stays there."""
    shape: Literal["step"]
    at_s: float = Field(ge=0, le=MAX_S)
    to_rps: float = Field(gt=0, le=MAX_RATE_RPS)

    def rate_at(self, t_s: float, base: float, duration_s: float) -> float:
        return self.to_rps if t_s >= self.at_s else base

    def peak(self, base: float) -> float:
        return max(base, self.to_rps)


class Ramp(Model):
    """Rate rises (or falls) linearly from rate_rps to to_rps between start_s and end_s."""
    shape: Literal["ramp"]
    to_rps: float = Field(gt=0, le=MAX_RATE_RPS)
    start_s: float = Field(default=0, ge=0, le=MAX_S)
    end_s: float | None = Field(default=None, gt=0, le=MAX_S)

    def rate_at(self, t_s: float, base: float, duration_s: float) -> float:
        end = self.end_s if self.end_s is not None else duration_s
        if t_s <= self.start_s or end <= self.start_s:
            return base if t_s <= self.start_s else self.to_rps
        frac = min(1.0, (t_s - self.start_s) / (end - self.start_s))
        return base + (self.to_rps - base) * frac

    def peak(self, base: float) -> float:
        return max(base, self.to_rps)


class Diurnal(Model):
    """Rate follows a sine: rate_rps x (1 + amplitude x sin(2 pi (t - peak_s) / period_s + pi/2))."""
    shape: Literal["diurnal"]
    period_s: float = Field(gt=0, le=MAX_S)
    amplitude: float = Field(default=0.5, ge=0, le=1)
    peak_s: float = Field(default=0, ge=0, le=MAX_S, description="time of the first peak")

    def rate_at(self, t_s: float, base: float, duration_s: float) -> float:
        return base * (1 + self.amplitude * math.cos(2 * math.pi * (t_s - self.peak_s) / self.period_s))

    def peak(self, base: float) -> float:
        return base * (1 + self.amplitude)


Profile = Annotated[Union[Spike, Step, Ramp, Diurnal], Field(discriminator="shape")]


class Workload(Model):
    """Where requests enter and how they arrive: open (rate_rps) or closed-loop (users)."""
    entry: str
    arrival: Literal["poisson", "constant"] = "poisson"
    rate_rps: float | None = Field(default=None, gt=0, le=MAX_RATE_RPS)
    users: int | None = Field(default=None, ge=1, le=MAX_PROCESSES,
                              description="closed loop: users who each wait for an answer, then think")
    think_time_ms: float = Field(default=1000.0, ge=0, le=MAX_MS, description="closed loop: mean (exponential) pause between requests")
    duration_s: float = Field(gt=0, le=10_000_000)
    warmup_s: float = Field(default=0.0, ge=0, le=MAX_S, description="requests arriving before this are left out of the statistics")
    slo_ms: float | None = Field(default=None, gt=0, le=MAX_MS, description="goodput = share of arrivals completed within this")
    profile: Profile | None = None
    classes: dict[str, TrafficClass] | None = Field(
        default=None, description="the traffic mix: named classes with shares summing to 1 (see sandbox.classes)")

    @field_validator("classes", mode="before")
    @classmethod
    def _class_names(cls, classes: Any) -> Any:
        if not isinstance(classes, dict):
            return classes
        if not classes:
            raise ValueError("must name at least one class (or leave classes out)")
        if len(classes) > MAX_CLASSES:
            raise ValueError(f"must name at most {MAX_CLASSES} classes, got {len(classes):,}")
        for name in classes:
            if not isinstance(name, str) or not CLASS_NAME.match(name):
                raise ValueError(f"class name {shown(name)} must start with a letter or _, hold only letters, "
                                 "digits, _ and -, and be at most 64 characters")
        return classes

    @model_validator(mode="after")
    def _consistent(self) -> "Workload":
        if (self.rate_rps is None) == (self.users is None):
            raise ValueError("give exactly one of rate_rps (open arrivals) or users (closed loop)")
        if self.warmup_s >= self.duration_s:
            raise ValueError(f"warmup_s ({self.warmup_s:g}) must be shorter than duration_s ({self.duration_s:g})")
        if self.profile is not None and self.users is not None:
            raise ValueError("a load profile needs rate_rps; it does not apply to closed-loop users")
        return self

    def rate_at(self, t_s: float) -> float:
        """Arrival rate (requests per second) at simulated time t_s."""
        base = self.rate_rps or 0.0
        if self.profile is None:
            return base
        return self.profile.rate_at(t_s, base, self.duration_s)

    def mean_rate(self, start_s: float, end_s: float) -> float:
        """The mean arrival rate over [start_s, end_s] (midpoint rule, 4000 steps)."""
        if self.profile is None or end_s <= start_s:
            return self.rate_rps or 0.0
        steps = 4000
        dt = (end_s - start_s) / steps
        return sum(self.rate_at(start_s + (k + 0.5) * dt) for k in range(steps)) / steps

    def peak_rate(self) -> float:
        """The highest arrival rate the profile reaches."""
        base = self.rate_rps or 0.0
        return base if self.profile is None else self.profile.peak(base)

    def expected_requests(self) -> float:
        """Requests a run is expected to make: at the peak rate throughout, or each user once per think time."""
        if self.users is None:
            return self.peak_rate() * self.duration_s
        return self.users * self.duration_s / max(self.think_time_ms / 1000.0, 0.001)
