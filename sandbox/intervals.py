"""Confidence intervals: a mean over independent runs, ± the half-width of its Student t interval.

One run is one sample. With n runs of a figure (their p99s, say), the mean
has the interval ``mean ± t(1 - (1 - c)/2, n - 1) x s / sqrt(n)``, where s is
the sample standard deviation and t the Student t quantile: it covers the
long-run value with probability c (95%) when the runs are independent and
their figure is roughly normal (a mean or percentile over thousands of
requests is). A paired comparison applies the same to the per-seed
differences B - A.

The t quantile comes from the closed-form t distribution for whole degrees
of freedom (Abramowitz & Stegun 26.7.3-4), inverted by bisection: exact to
1e-12, so SciPy (tens of megabytes) is not needed for one function.

>>> e = estimate([180.0, 170.0, 195.0, 176.0, 179.0])   # s = 9.25, t(0.975, 4) = 2.776
>>> f"{e.mean:.0f} ± {e.half_width:.0f}"
'180 ± 11'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["CONFIDENCE", "Estimate", "estimate", "share_estimate", "paired_estimate", "t_quantile", "plus_minus",
           "low_to_high", "format_number", "json_safe"]

CONFIDENCE = 0.95


def _t_central(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer `df` (Abramowitz & Stegun 26.7.3-4, exact)."""
    theta = math.atan(t / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:
        total = term = math.cos(theta) if df > 1 else 0.0
        for k in range(3, df - 1, 2):
            term *= (k - 1) / k * c2
            total += term
        return 2 / math.pi * (theta + s * total)
    total = term = 1.0
    for k in range(2, df - 1, 2):
        term *= (k - 1) / k * c2
        total += term
    return s * total


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided Student t critical value: P(|T| < t) = `confidence` with `df` degrees of freedom.

    Computed from the closed-form t distribution for integer df (no SciPy
    needed), by bisection to 1e-12.

    >>> [round(t_quantile(0.95, df), 3) for df in (1, 4, 9, 29, 1000)]
    [12.706, 2.776, 2.262, 2.045, 1.962]
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence!r}")
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    lo, hi = 0.0, 1.0
    while _t_central(hi, df) < confidence:
        lo, hi = hi, hi * 2
    while hi - lo > 1e-12 * max(1.0, hi):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_central(mid, df) < confidence else (lo, mid)
    return (lo + hi) / 2


@dataclass(frozen=True)
class Estimate:
    """A mean over runs with its confidence interval: ``mean ± half_width``, or ``bounds`` when it is not
    symmetric (a share near 0 or 1, see :func:`share_estimate`).

    ``half_width`` (and ``std``) are None with a single run: one sample has no interval.
    """
    mean: float
    half_width: float | None
    n: int
    std: float | None
    confidence: float = CONFIDENCE
    bounds: tuple[float, float] | None = None   # (low, high) of an interval that is not mean ± half_width

    @property
    def low(self) -> float:
        return self.bounds[0] if self.bounds is not None else self.mean - (self.half_width or 0.0)

    @property
    def high(self) -> float:
        return self.bounds[1] if self.bounds is not None else self.mean + (self.half_width or 0.0)

    def excludes_zero(self) -> bool:
        """True when the interval lies wholly above or below 0 (a real difference)."""
        return self.half_width is not None and (self.low > 0 or self.high < 0)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"mean": self.mean, "half_width": self.half_width, "low": self.low if self.half_width
                       is not None else None, "high": self.high if self.half_width is not None else None,
                       "n": self.n, "std": self.std, "confidence": self.confidence})


def estimate(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean and Student-t interval of independent samples: mean ± t(n-1) s / sqrt(n).

    >>> e = estimate([10.0, 12.0, 11.0, 13.0, 9.0])   # s = 1.581, t(0.975, 4) = 2.776
    >>> round(e.mean, 3), round(e.half_width, 3)
    (11.0, 1.963)
    >>> estimate([5.0]).half_width is None
    True
    """
    n = len(values)
    if n == 0:
        raise ValueError("an estimate needs at least one value")
    mean = math.fsum(values) / n
    if n < 2:
        return Estimate(mean, None, n, None, confidence)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return Estimate(mean, t_quantile(confidence, n - 1) * std / math.sqrt(n), n, std, confidence)


def share_estimate(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean of per-run shares (each in [0, 1]) with an interval that stays in [0, 1].

    A Student t interval on shares can leave [0, 1] (``1.6 ± 6.8%``). Here the
    variance of the mean is measured across runs as for :func:`estimate`, turned
    into an effective number of independent trials ``n_eff = p(1 - p) / (s^2 / n)``,
    and the Wilson score interval is taken with that ``n_eff`` and the t quantile:
    the "Wilson with effective sample size" interval for proportions estimated
    from clustered data (Korn and Graubard 1998; Dean and Pagano 2015). Near the
    middle it is the t interval; near 0 or 1 it is lopsided and never crosses the
    bound. ``half_width`` is half the interval's length.

    >>> e = share_estimate([0.0, 0.0, 0.08, 0.0, 0.0])   # one run of five rejected 8%
    >>> round(e.mean, 3), e.low >= 0.0, round(e.high, 3)
    (0.016, True, 0.138)
    >>> share_estimate([0.5, 0.5, 0.5]).bounds      # the same in every run
    (0.5, 0.5)
    """
    n = len(values)
    if n == 0:
        raise ValueError("an estimate needs at least one value")
    p = math.fsum(values) / n
    if n < 2:
        return Estimate(p, None, n, None, confidence)
    std = math.sqrt(math.fsum((v - p) ** 2 for v in values) / (n - 1))
    se2 = std ** 2 / n
    if se2 <= 0.0 or not 0.0 < p < 1.0:
        return Estimate(p, 0.0, n, std, confidence, (p, p))
    z = t_quantile(confidence, n - 1)
    n_eff = p * (1.0 - p) / se2
    denom = 1.0 + z * z / n_eff
    centre = (p + z * z / (2.0 * n_eff)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n_eff + z * z / (4.0 * n_eff * n_eff))
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return Estimate(p, (high - low) / 2.0, n, std, confidence, (low, high))


def paired_estimate(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """The mean of the per-seed differences b - a, with its t-interval (a paired comparison).

    >>> d = paired_estimate([100.0, 140.0, 90.0], [90.0, 131.0, 79.0])
    >>> round(d.mean, 2), round(d.half_width, 2)   # differences -10, -9, -11
    (-10.0, 2.48)
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples need equal lengths, got {len(a)} and {len(b)}")
    return estimate([y - x for x, y in zip(a, b)], confidence)


def format_number(x: float, signed: bool = False) -> str:
    """Three significant figures or so, with thousands separators."""
    if x is None or not math.isfinite(x):
        return "n/a"
    mag = abs(x)
    digits = 0 if mag >= 100 else 1 if mag >= 10 else 2 if mag >= 1 else 3
    return f"{x:+,.{digits}f}" if signed else f"{x:,.{digits}f}"


def _decimals(width: float) -> int:
    """Decimals that show `width` (a half-width) to two significant digits."""
    return min(4, max(0, 1 - math.floor(math.log10(width))))


def plus_minus(mean: float, hw: float | None, signed: bool = False) -> str:
    """``mean ± hw``, the half-width to two significant digits and the mean to as many decimals.

    Every figure carries its interval: ``± 0`` when every run gave the same value,
    and ``(one run)`` when a single run gives no interval at all.

    >>> plus_minus(180.4, 12.2), plus_minus(19.874, 0.4312), plus_minus(0.1, 0.0), plus_minus(7.0, None)
    ('180 ± 12', '19.87 ± 0.43', '0.100 ± 0', '7.00 (one run)')
    """
    sign = "+" if signed else ""
    shown = "0" if mean == 0 else format_number(mean, signed)
    if hw is None:
        return f"{shown} (one run)"
    if math.isfinite(hw) and math.isfinite(mean) and hw > 1e-9 * max(1.0, abs(mean)):
        decimals = _decimals(hw)
        return f"{mean:{sign},.{decimals}f} ± {hw:,.{decimals}f}"
    return f"{shown} ± 0"


def low_to_high(mean: float, low: float, high: float, scale: float = 1.0, unit: str = "") -> str:
    """A lopsided interval: ``1.6% (0.3 to 10%)``, the ends as precise as the interval is wide.

    >>> low_to_high(0.016, 0.0029, 0.104, 100, "%")
    '1.6% (0.3 to 10.4%)'
    """
    width = (high - low) * scale / 2
    if not width > 1e-9 * max(1.0, abs(mean * scale)):
        return plus_minus(mean * scale, 0.0) + unit
    d = _decimals(width)
    return f"{mean * scale:,.{d}f}{unit} ({low * scale:,.{d}f} to {high * scale:,.{d}f}{unit})"


def json_safe(x: Any) -> Any:
    """JSON-safe: non-finite floats become None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x
