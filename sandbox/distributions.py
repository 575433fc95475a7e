"""Service-time distributions: how long a call holds a worker, as a spec and as a stream of draws.

Each distribution is one small model (``dist: exponential``, ``constant``,
``lognormal`` or ``uniform``) that knows its mean and squared coefficient of
variation (what the analysis needs) and makes its own sampler (what the engine
needs), drawing in seconds from a named random stream.

>>> from sandbox.randomness import Streams
>>> d = Lognormal(dist="lognormal", mean_ms=8, p99_ms=30)
>>> round(d.mean(), 3), round(d.scv(), 3)
(8.0, 0.551)
>>> draw = d.sampler(Streams(1), "demo")
>>> 0 < draw() < 1.0
True
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from .model import MAX_MS, Model
from .randomness import Draw, Streams

__all__ = ["Exponential", "Constant", "Lognormal", "Uniform", "ServiceTime", "DISTRIBUTIONS"]

_Z99 = 2.3263478740408408  # standard normal quantile at 0.99


class Exponential(Model):
    """Memoryless service time: M in M/M/c."""
    dist: Literal["exponential"]
    mean_ms: float = Field(gt=0, le=MAX_MS)

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        """Squared coefficient of variation (variance / mean²)."""
        return 1.0

    def sampler(self, streams: Streams, purpose: str) -> Draw:
        """Draws in seconds from the stream named `purpose`."""
        return streams.sampler(purpose, "exponential", self.mean_ms / 1000.0)


class Constant(Model):
    """Deterministic service time: D in M/D/1."""
    dist: Literal["constant"]
    mean_ms: float = Field(ge=0, le=MAX_MS)

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        return 0.0

    def sampler(self, streams: Streams, purpose: str) -> Draw:
        value = self.mean_ms / 1000.0
        return lambda: value


class Lognormal(Model):
    """Right-skewed service time, set by its mean and either its p99 or sigma."""
    dist: Literal["lognormal"]
    mean_ms: float = Field(gt=0, le=MAX_MS)
    p99_ms: float | None = Field(default=None, gt=0, le=MAX_MS)
    sigma: float | None = Field(default=None, gt=0, le=5)

    @model_validator(mode="after")
    def _one_shape(self) -> "Lognormal":
        if (self.p99_ms is None) == (self.sigma is None):
            raise ValueError("give exactly one of p99_ms or sigma")
        if self.p99_ms is not None:
            ratio = self.p99_ms / self.mean_ms
            limit = math.exp(_Z99 ** 2 / 2)
            if ratio <= 1:
                raise ValueError(f"p99_ms ({self.p99_ms:g}) must be larger than mean_ms ({self.mean_ms:g})")
            if ratio >= limit:
                raise ValueError(f"p99_ms may be at most {limit:.2f}x mean_ms for a lognormal, got {ratio:.2f}x")
        return self

    def shape(self) -> tuple[float, float]:
        """(mu, sigma) of the underlying normal, in milliseconds."""
        if self.sigma is not None:
            sigma = self.sigma
        else:
            # mean = e^(mu + s²/2), p99 = e^(mu + z s)  =>  s²/2 - z s + ln(p99/mean) = 0
            assert self.p99_ms is not None
            sigma = _Z99 - math.sqrt(_Z99 ** 2 - 2 * math.log(self.p99_ms / self.mean_ms))
        return math.log(self.mean_ms) - sigma ** 2 / 2, sigma

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        return math.expm1(self.shape()[1] ** 2)

    def sampler(self, streams: Streams, purpose: str) -> Draw:
        mu_ms, sigma = self.shape()
        return streams.sampler(purpose, "lognormal", mu_ms - math.log(1000.0), sigma)


class Uniform(Model):
    """Service time spread evenly between min_ms and max_ms."""
    dist: Literal["uniform"]
    min_ms: float = Field(ge=0, le=MAX_MS)
    max_ms: float = Field(gt=0, le=MAX_MS)

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        if self.max_ms <= self.min_ms:
            raise ValueError(f"max_ms ({self.max_ms:g}) must be larger than min_ms ({self.min_ms:g})")
        return self

    def mean(self) -> float:
        return (self.min_ms + self.max_ms) / 2

    def scv(self) -> float:
        return (self.max_ms - self.min_ms) ** 2 / 12 / self.mean() ** 2

    def sampler(self, streams: Streams, purpose: str) -> Draw:
        return streams.sampler(purpose, "uniform", self.min_ms / 1000.0, self.max_ms / 1000.0)


ServiceTime = Annotated[Union[Exponential, Constant, Lognormal, Uniform], Field(discriminator="dist")]
DISTRIBUTIONS: tuple[str, ...] = ("exponential", "constant", "lognormal", "uniform")
