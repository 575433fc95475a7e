"""Workloads: where requests enter, how they arrive, and how the rate changes over the run.

Open arrivals come at ``rate_rps`` whatever the system does (``poisson`` or
evenly spaced ``constant``), optionally shaped by a load ``profile``: a spike,
a step, a ramp or a day-like wave, each a small model that knows its rate at
any time and its peak. Two arrival processes are written as mappings instead:
bursty ``{process: mmpp, ...}`` (a two-state Markov-modulated Poisson process)
and ``{process: replay, times_s: [...]}`` (recorded timestamps); for them
``rate_rps`` is their long-run mean rate, filled in when left out. Closed-loop
``users`` each send a request, wait for its answer, think, and send again. The
SimPy processes that make the requests are in :mod:`sandbox.arrivals`.

>>> w = Workload(entry="api", rate_rps=100, duration_s=60,
...              profile={"shape": "spike", "at_s": 20, "for_s": 10, "multiplier": 3})
>>> w.rate_at(10), w.rate_at(25), w.peak_rate()
(100.0, 300.0, 300.0)
>>> b = Workload(entry="api", duration_s=60,
...              arrival={"process": "mmpp", "rates_rps": [50, 400], "mean_sojourn_s": [20, 5]})
>>> b.rate_rps, round(b.arrival_scv(), 3)
(120.0, 2.957)
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (Discriminator, Field, PrivateAttr, SerializerFunctionWrapHandler, Tag, field_validator,
                      model_serializer, model_validator)

from .classes import CLASS_NAME, MAX_CLASSES, TrafficClass
from .keys import Keys
from .messages import shown
from .model import MAX_MS, MAX_PROCESSES, MAX_RATE_RPS, MAX_S, Model

__all__ = ["Spike", "Step", "Ramp", "Diurnal", "Profile", "Mmpp", "Replay", "Arrival", "Workload", "MAX_REPLAY"]

MAX_REPLAY = 1_000_000   # timestamps in a replay: each is one simulated request


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


def _pair(value: Any) -> Any:
    """Two values, one per state (checked before the numbers, for a clear message)."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"must list two values (state 1, state 2), got {shown(value)}")
    if len(value) != 2:
        raise ValueError(f"must list exactly two values (state 1, state 2), got {len(value):,}")
    return value


class Mmpp(Model):
    """Bursty arrivals: Poisson at rates_rps[i] while in state i, which lasts an exponential time of mean
    mean_sojourn_s[i] before switching to the other (a two-state Markov-modulated Poisson process).

    A run starts in a state drawn from the stationary shares, so the mean rate
    holds from the first second.
    """
    process: Literal["mmpp"]
    rates_rps: tuple[Annotated[float, Field(ge=0, le=MAX_RATE_RPS)], Annotated[float, Field(ge=0, le=MAX_RATE_RPS)]]
    # a state shorter than a millisecond is a Poisson process at the mean rate in all but cost
    mean_sojourn_s: tuple[Annotated[float, Field(ge=0.001, le=MAX_S)], Annotated[float, Field(ge=0.001, le=MAX_S)]]

    _two = field_validator("rates_rps", "mean_sojourn_s", mode="before")(_pair)

    @model_validator(mode="after")
    def _some_traffic(self) -> "Mmpp":
        if not any(self.rates_rps):
            raise ValueError("at least one of rates_rps must be above 0")
        return self

    def __str__(self) -> str:   # what a report names it
        return self.process

    def shares(self) -> tuple[float, float]:
        """The long-run share of time in each state."""
        s1, s2 = self.mean_sojourn_s
        return s1 / (s1 + s2), s2 / (s1 + s2)

    def mean_rate(self) -> float:
        p1, p2 = self.shares()
        return p1 * self.rates_rps[0] + p2 * self.rates_rps[1]

    def interval_scv(self) -> float:
        """Squared coefficient of variation of the stationary interval between arrivals (exact).

        The interval is phase-type: with D0 = Q - diag(rates), M = -D0 and phi the
        state seen just after an arrival (time shares x rates, normalised),
        E[X^k] = k! phi M^-k 1 (Fischer and Meier-Hellstern, "The MMPP cookbook").
        """
        l1, l2 = self.rates_rps
        r1, r2 = 1 / self.mean_sojourn_s[0], 1 / self.mean_sojourn_s[1]   # switching rates out of each state
        a, b = l1 + r1, l2 + r2
        det = a * b - r1 * r2                    # = l1 l2 + l1 r2 + l2 r1 > 0
        u1, u2 = (b + r1) / det, (a + r2) / det  # M^-1 1
        v1, v2 = (b * u1 + r1 * u2) / det, (r2 * u1 + a * u2) / det   # M^-2 1
        p1, p2 = self.shares()
        mean = p1 * l1 + p2 * l2
        phi1, phi2 = p1 * l1 / mean, p2 * l2 / mean
        second = 2 * (phi1 * v1 + phi2 * v2)
        return max(0.0, second * mean ** 2 - 1)   # E[X] = 1 / mean


class Replay(Model):
    """Recorded arrivals: one request at each of times_s (seconds from the start; sorted here); those at or
    after duration_s are left out."""
    process: Literal["replay"]
    times_s: list[Annotated[float, Field(ge=0, le=MAX_S)]] = Field(max_length=MAX_REPLAY)

    @field_validator("times_s", mode="before")
    @classmethod
    def _not_empty(cls, times: Any) -> Any:
        if not isinstance(times, list):
            raise ValueError(f"must list arrival times (seconds from the start), got {shown(times)}")
        if not times:
            raise ValueError("must list at least one arrival time (seconds from the start)")
        return times

    @field_validator("times_s")
    @classmethod
    def _sorted(cls, times: list[float]) -> list[float]:
        return sorted(times)

    def __str__(self) -> str:   # what a report names it (never the whole list)
        return self.process

    def count(self, start_s: float, end_s: float) -> int:
        """Arrivals in [start_s, end_s)."""
        return bisect_left(self.times_s, end_s) - bisect_left(self.times_s, start_s)

    def mean_rate(self, start_s: float, end_s: float) -> float:
        return self.count(start_s, end_s) / (end_s - start_s) if end_s > start_s else 0.0

    def interval_scv(self, end_s: float) -> float:
        """The sample's squared coefficient of variation of the gaps between the arrivals before end_s."""
        gaps = np.diff(np.asarray(self.times_s[:bisect_left(self.times_s, end_s)], dtype=float))
        mean = float(gaps.mean()) if len(gaps) else 0.0
        if len(gaps) < 2 or mean <= 0:
            return 1.0   # too few gaps (or all at one instant) to measure a spread: taken as Poisson
        return float(gaps.var()) / mean ** 2


def _process_of(value: Any) -> str | None:
    """Which arrival process a value names: the text itself, or a mapping's `process`."""
    if isinstance(value, str):
        return value
    tag = value.get("process") if isinstance(value, dict) else getattr(value, "process", None)
    return tag if isinstance(tag, str) else None


Arrival = Annotated[Union[Annotated[Literal["poisson"], Tag("poisson")], Annotated[Literal["constant"], Tag("constant")],
                          Annotated[Mmpp, Tag("mmpp")], Annotated[Replay, Tag("replay")]],
                    Discriminator(_process_of, custom_error_type="arrival_process",
                                  custom_error_message="must be poisson or constant, or a mapping with process: "
                                                       "mmpp or process: replay")]


class Workload(Model):
    """Where requests enter and how they arrive: open (rate_rps) or closed-loop (users)."""
    entry: str
    arrival: Arrival = "poisson"
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
    keys: Keys | None = Field(default=None, description="the keys requests are for, by popularity (see sandbox.keys)")
    _replay_scv: float = PrivateAttr(default=1.0)   # measured once: the analysis asks at every step of its fixed point

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

    @field_validator("arrival", mode="before")
    @classmethod
    def _known_process(cls, arrival: Any) -> Any:
        process = arrival.get("process") if isinstance(arrival, dict) else arrival
        if isinstance(arrival, dict) and process not in ("mmpp", "replay"):
            raise ValueError(f"process must be mmpp or replay, got {shown(process)}")
        if isinstance(arrival, (dict, Mmpp, Replay)) or process in ("poisson", "constant"):
            return arrival
        raise ValueError(f"must be poisson or constant, or a mapping with process: mmpp or replay; got {shown(arrival)}")

    @model_validator(mode="after")
    def _consistent(self) -> "Workload":
        if isinstance(self.arrival, (Mmpp, Replay)):
            self._process_rate(self.arrival)
        if (self.rate_rps is None) == (self.users is None):
            raise ValueError("give exactly one of rate_rps (open arrivals) or users (closed loop)")
        if self.warmup_s >= self.duration_s:
            raise ValueError(f"warmup_s ({self.warmup_s:g}) must be shorter than duration_s ({self.duration_s:g})")
        if self.profile is not None and self.users is not None:
            raise ValueError("a load profile needs rate_rps; it does not apply to closed-loop users")
        return self

    def _process_rate(self, process: Mmpp | Replay) -> None:
        """rate_rps of an mmpp or replay is its long-run mean rate: filled in, or checked when given."""
        name = process.process
        if self.users is not None:
            raise ValueError(f"{name} arrivals are open arrivals: they do not apply to closed-loop users")
        if self.profile is not None:
            raise ValueError(f"a load profile applies to poisson or constant arrivals, not to {name} ones "
                             "(the process sets its own rates)")
        mean = process.mean_rate() if isinstance(process, Mmpp) else process.mean_rate(0.0, self.duration_s)
        if mean <= 0:
            raise ValueError(f"no replayed arrival falls before duration_s ({self.duration_s:g})")
        if mean > MAX_RATE_RPS:
            raise ValueError(f"the {name} arrivals average {mean:,.0f} requests/s; at most {MAX_RATE_RPS:,.0f}")
        if isinstance(process, Replay):
            self._replay_scv = process.interval_scv(self.duration_s)
        if self.rate_rps is None:
            object.__setattr__(self, "rate_rps", mean)   # frozen: set once, here, before anyone reads it
        elif abs(self.rate_rps - mean) > 1e-9 * mean:
            raise ValueError(f"rate_rps ({self.rate_rps:g}) must equal the mean rate of the {name} arrivals, "
                             f"{mean:.10g} requests/s (or be left out)")

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if isinstance(self.arrival, (Mmpp, Replay)) and "rate_rps" not in self.model_fields_set:
            data.pop("rate_rps", None)   # derived, not written: a new duration_s derives it afresh
        return data

    def arrival_scv(self) -> float:
        """Squared coefficient of variation of the gaps between open arrivals (1 Poisson, 0 constant)."""
        if isinstance(self.arrival, Mmpp):
            return self.arrival.interval_scv()
        if isinstance(self.arrival, Replay):
            return self._replay_scv
        return 1.0 if self.arrival == "poisson" else 0.0

    def rate_at(self, t_s: float) -> float:
        """Arrival rate (requests per second) at simulated time t_s."""
        base = self.rate_rps or 0.0
        if self.profile is None:
            return base
        return self.profile.rate_at(t_s, base, self.duration_s)

    def mean_rate(self, start_s: float, end_s: float) -> float:
        """The mean arrival rate over [start_s, end_s] (midpoint rule, 4000 steps; a replay counts its own)."""
        if isinstance(self.arrival, Replay) and end_s > start_s:
            return self.arrival.mean_rate(start_s, end_s)
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
