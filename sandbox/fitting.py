"""Fitting a service-time distribution to measured durations, and choosing among the candidates.

Each candidate keeps the sample mean exactly (the figure queueing theory is
most sensitive to) and takes its shape from the sample: exponential (no
shape), gamma (the coefficient of variation, by moments), lognormal (sigma, the
standard deviation of the logarithms, its maximum-likelihood value), constant
(when the durations hardly vary). The chosen one has the smallest
Kolmogorov-Smirnov distance to the sample, except that an exponential is kept
when the sample is consistent with one; the distance is reported beside the 5%
critical value 1.36/sqrt(n), so "fits" has a stated meaning.

>>> import random
>>> rng = random.Random(3)
>>> fit = fit_service_time([rng.expovariate(1 / 8.0) for _ in range(2000)])
>>> fit.spec["dist"], round(fit.spec["mean_ms"])
('exponential', 8)
>>> fit.fits
True
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = ["Fit", "fit_service_time", "ks_distance", "gamma_cdf", "quantile"]

_CONSTANT_CV = 0.05   # below this coefficient of variation the durations are taken as constant
_MAX_SIGMA = 5.0      # the lognormal's bound in the scenario format
_MAX_CV = 10.0        # the gamma's bound in the scenario format


@dataclass(frozen=True)
class Fit:
    """The chosen distribution (as scenario data), its KS distance and critical value, and every candidate's."""
    spec: dict[str, Any]
    ks: float
    critical: float           # the 5% Kolmogorov-Smirnov critical value for this many samples
    candidates: dict[str, float]
    n: int
    mean_ms: float
    cv: float

    @property
    def fits(self) -> bool:
        """The sample is consistent with the chosen distribution at the 5% level (a constant: its cv is below
        5%, since any spread at all puts a point mass at KS distance up to 1)."""
        if self.spec["dist"] == "constant":
            return self.cv < _CONSTANT_CV
        return self.ks <= self.critical


def quantile(xs: Sequence[float], q: float) -> float:
    """The q-quantile of `xs` (linear between order statistics, as numpy's default)."""
    s = sorted(xs)
    if not s:
        return math.nan
    h = (len(s) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def ks_distance(sorted_xs: Sequence[float], cdf: Callable[[float], float]) -> float:
    """The Kolmogorov-Smirnov distance between the sample (sorted) and a distribution's CDF."""
    n = len(sorted_xs)
    d = 0.0
    for i, x in enumerate(sorted_xs):
        f = cdf(x)
        d = max(d, f - i / n, (i + 1) / n - f)
    return d


def _ks_step(sorted_xs: Sequence[float], at: float) -> float:
    """The KS distance between the sample and a constant `at`: the share below it, or the share above it."""
    n = len(sorted_xs)
    below = sum(1 for x in sorted_xs if x < at) / n
    above = sum(1 for x in sorted_xs if x > at) / n
    return max(below, above)


def gamma_cdf(x: float, shape: float, scale: float) -> float:
    """P(X <= x) for a gamma(shape, scale): the regularized lower incomplete gamma function
    (series below shape + 1, continued fraction above; Numerical Recipes 6.2).

    >>> round(gamma_cdf(1.0, 1.0, 1.0), 6) == round(1 - math.exp(-1), 6)
    True
    """
    if x <= 0:
        return 0.0
    z = x / scale
    a = shape
    log_front = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1:
        term = total = 1.0 / a
        k = a
        for _ in range(10_000):
            k += 1
            term *= z / k
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return min(1.0, math.exp(log_front) * total)
    tiny = 1e-300
    b = z + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-15:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def fit_service_time(samples_ms: Sequence[float]) -> Fit:
    """The best of constant, exponential, gamma and lognormal for these durations (ms), by KS distance."""
    xs = sorted(max(0.0, float(x)) for x in samples_ms)
    n = len(xs)
    if n == 0:
        raise ValueError("no samples to fit")
    mean = statistics.fmean(xs)
    sd = statistics.pstdev(xs) if n > 1 else 0.0
    cv = sd / mean if mean > 0 else 0.0
    critical = 1.36 / math.sqrt(n)
    if mean <= 0 or cv < _CONSTANT_CV:
        spec = {"dist": "constant", "mean_ms": _round(mean)}
        d = _ks_step(xs, mean)
        return Fit(spec, d, critical, {"constant": d}, n, mean, cv)
    candidates: dict[str, tuple[dict[str, Any], float]] = {}
    candidates["exponential"] = ({"dist": "exponential", "mean_ms": _round(mean)},
                                 ks_distance(xs, lambda x: 1.0 - math.exp(-x / mean)))
    gcv = min(cv, _MAX_CV)
    shape = 1.0 / gcv ** 2
    candidates["gamma"] = ({"dist": "gamma", "mean_ms": _round(mean), "cv": _round(gcv)},
                           ks_distance(xs, lambda x: gamma_cdf(x, shape, mean / shape)))
    if xs[0] > 0:
        logs = [math.log(x) for x in xs]
        sigma = min(statistics.pstdev(logs), _MAX_SIGMA)
        if sigma > 0:
            mu = math.log(mean) - sigma ** 2 / 2     # keeps the mean, takes the spread of the logarithms
            candidates["lognormal"] = (
                {"dist": "lognormal", "mean_ms": _round(mean), "sigma": _round(sigma)},
                ks_distance(xs, lambda x: 0.5 * (1 + math.erf((math.log(x) - mu) / (sigma * math.sqrt(2))))))
    best = min(candidates, key=lambda k: candidates[k][1])
    # the exponential is the gamma with cv 1: when the sample's cv is within 2 standard errors of 1 (for an
    # exponential sample the cv's standard error is 1/sqrt(n), by the delta method) and it fits, the extra
    # parameter buys nothing, and theory is exact for it
    if abs(cv - 1.0) < 2 / math.sqrt(n) and candidates["exponential"][1] <= critical:
        best = "exponential"
    return Fit(candidates[best][0], candidates[best][1], critical, {k: v[1] for k, v in candidates.items()},
               n, mean, cv)


def _round(x: float) -> float:
    """Four significant figures: a fitted value is no more precise than that, and the YAML stays readable."""
    return float(f"{x:.4g}")
