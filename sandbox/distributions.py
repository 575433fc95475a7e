"""Service-time distributions: how long a call holds a worker, as a spec and as a stream of draws.

Each distribution is one small model (``dist: exponential``, ``constant``,
``lognormal``, ``uniform``, ``gamma``, ``weibull``, ``pareto`` or ``empirical``)
that knows its mean and squared coefficient of variation (what the analysis
needs) and makes its own sampler (what the engine needs), drawing in seconds
from a named random stream.

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
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Field, PrivateAttr, field_validator, model_validator

from .messages import shown
from .model import MAX_MS, Model
from .randomness import Draw, Streams

__all__ = ["Exponential", "Constant", "Lognormal", "Uniform", "Gamma", "Weibull", "Pareto", "Empirical",
           "ServiceTime", "DISTRIBUTIONS", "MAX_SAMPLES"]

_Z99 = 2.3263478740408408  # standard normal quantile at 0.99
MAX_SAMPLES = 100_000        # values in an empirical distribution: a measured histogram, not a database


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


class Gamma(Model):
    """Service time with its variability set directly: shape 1/cv², scale mean x cv² (cv 1 is exponential)."""
    dist: Literal["gamma"]
    mean_ms: float = Field(gt=0, le=MAX_MS)
    cv: float = Field(gt=0, le=10, description="coefficient of variation: standard deviation / mean")

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        return self.cv ** 2

    def sampler(self, streams: Streams, purpose: str) -> Draw:
        return streams.sampler(purpose, "gamma", 1.0 / self.cv ** 2, self.mean_ms / 1000.0 * self.cv ** 2)


class Weibull(Model):
    """Service time set by its mean and shape k (k < 1: a long tail; 1: exponential; above: tighter)."""
    dist: Literal["weibull"]
    mean_ms: float = Field(gt=0, le=MAX_MS)
    # below 0.1 the moments overflow (Gamma(1 + 2/k)); above 100 it is a constant in all but name
    shape: float = Field(ge=0.1, le=100)

    def scale_ms(self) -> float:
        """The scale lambda: mean = lambda x Gamma(1 + 1/k)."""
        return self.mean_ms / math.gamma(1 + 1 / self.shape)

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        return math.gamma(1 + 2 / self.shape) / math.gamma(1 + 1 / self.shape) ** 2 - 1

    def sampler(self, streams: Streams, purpose: str) -> Draw:
        unit = streams.sampler(purpose, "weibull", self.shape)   # NumPy's Weibull has scale 1
        scale_s = self.scale_ms() / 1000.0
        return lambda: scale_s * unit()


class Pareto(Model):
    """Heavy-tailed service time: Lomax (Pareto type II, from 0), P(X > x) = (1 + x / lambda)^-alpha.

    The scale is lambda = mean x (alpha - 1). Its variance is finite only for
    alpha > 2, where scv = alpha / (alpha - 2); for alpha <= 2 the scv is
    infinite (``math.inf``): rare huge calls dominate, and a run's measured
    mean converges slowly.
    """
    dist: Literal["pareto"]
    mean_ms: float = Field(gt=0, le=MAX_MS)
    alpha: float = Field(gt=1, le=100, description="tail index: above 1 for a finite mean, above 2 for a finite variance")

    def scale_ms(self) -> float:
        return self.mean_ms * (self.alpha - 1)

    def mean(self) -> float:
        return self.mean_ms

    def scv(self) -> float:
        return self.alpha / (self.alpha - 2) if self.alpha > 2 else math.inf

    def sampler(self, streams: Streams, purpose: str) -> Draw:
        unit = streams.sampler(purpose, "pareto", self.alpha)   # NumPy's pareto is Lomax with scale 1
        scale_s = self.scale_ms() / 1000.0
        return lambda: scale_s * unit()


class Empirical(Model):
    """Measured service times, drawn uniformly with replacement: the sample's own mean and scv."""
    dist: Literal["empirical"]
    samples_ms: list[Annotated[float, Field(ge=0, le=MAX_MS)]] = Field(max_length=MAX_SAMPLES)
    _moments: tuple[float, float] = PrivateAttr(default=(0.0, 0.0))   # (mean ms, scv): the analysis asks often

    @field_validator("samples_ms", mode="before")
    @classmethod
    def _not_empty(cls, samples: Any) -> Any:
        if not isinstance(samples, list):
            raise ValueError(f"must list sample times in milliseconds, got {shown(samples)}")
        if not samples:
            raise ValueError("must list at least one sample (milliseconds)")
        return samples

    @model_validator(mode="after")
    def _summarise(self) -> "Empirical":
        values = np.asarray(self.samples_ms, dtype=float)
        mean = float(values.mean())
        # the population variance (divide by n): the draws come from exactly these values
        self._moments = (mean, float(values.var()) / mean ** 2 if mean > 0 else 0.0)
        return self

    def mean(self) -> float:
        return self._moments[0]

    def scv(self) -> float:
        return self._moments[1]

    def sampler(self, streams: Streams, purpose: str) -> Draw:
        seconds = [v / 1000.0 for v in self.samples_ms]
        index = streams.sampler(purpose, "integers", 0, len(seconds))
        return lambda: seconds[int(index())]


ServiceTime = Annotated[Union[Exponential, Constant, Lognormal, Uniform, Gamma, Weibull, Pareto, Empirical],
                        Field(discriminator="dist")]
DISTRIBUTIONS: tuple[str, ...] = ("exponential", "constant", "lognormal", "uniform", "gamma", "weibull", "pareto",
                                  "empirical")
