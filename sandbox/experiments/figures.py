"""The headline figures of an experiment: their names, units and which way is better, and how they print.

Every experiment reports the same figures of each run (:data:`FIGURES`, then
``utilization.<node>``), each as a mean over the runs with its confidence
interval (:func:`estimates`), printed with its unit and an interval as precise
as the interval is wide (:func:`format_estimate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..intervals import Estimate, estimate, low_to_high, plus_minus, share_estimate
from .runs import RunSummary

__all__ = ["Figure", "FIGURES", "CLASS_FIGURES", "figure_of", "estimates", "is_share", "label", "format_estimate", "interval_end", "seed_span",
           "text_table"]


@dataclass(frozen=True)
class Figure:
    """How a headline figure is named and shown."""
    label: str
    unit: str            # "ms", "rps", "share" (shown as %), "$/h", ""
    lower_is_better: bool


FIGURES: dict[str, Figure] = {
    "latency_ms.mean": Figure("mean latency", "ms", True),
    "latency_ms.p50": Figure("p50", "ms", True),
    "latency_ms.p95": Figure("p95", "ms", True),
    "latency_ms.p99": Figure("p99", "ms", True),
    "throughput_rps": Figure("throughput", "rps", False),
    "goodput": Figure("goodput", "share", False),
    "failure_rate": Figure("rejected or failed", "share", True),
    "cost_per_hour": Figure("cost", "$/h", True),
    "workers": Figure("workers", "", True),
}
"""The headline figures, in the order tables show them; ``utilization.<node>`` and ``class.<name>.*`` follow."""

CLASS_FIGURES: dict[str, Figure] = {
    "p99_ms": Figure("p99", "ms", True),
    "goodput": Figure("goodput", "share", False),
    "burn_rate": Figure("burn rate", "", True),
}
"""Per request class, as ``class.<name>.<figure>`` (only when the workload has classes)."""


def figure_of(key: str) -> Figure | None:
    """How figure `key` is named and shown: a headline figure or a class's; None for utilization and others.

    >>> figure_of("class.checkout.p99_ms").label, figure_of("utilization.db")
    ('checkout p99', None)
    """
    if key in FIGURES:
        return FIGURES[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "class" and parts[2] in CLASS_FIGURES:
        f = CLASS_FIGURES[parts[2]]
        return Figure(f"{parts[1]} {f.label}", f.unit, f.lower_is_better)
    return None



def estimates(runs: Sequence[RunSummary], confidence: float) -> dict[str, Estimate]:
    """Every figure all the runs have, as a mean with its interval (bounded to [0, 1] for shares)."""
    keys = [k for k in _ordered_keys(runs) if all(k in r.figures for r in runs)]
    return {k: (share_estimate if is_share(k) else estimate)([r.figures[k] for r in runs], confidence)
            for k in keys}


def is_share(key: str) -> bool:
    """Figures that are shares in [0, 1] get intervals that stay in [0, 1]."""
    f = figure_of(key)
    return (f.unit == "share") if f is not None else key.startswith("utilization.")


def _ordered_keys(runs: Sequence[RunSummary]) -> list[str]:
    seen = dict.fromkeys(k for r in runs for k in r.figures)
    return [k for k in FIGURES if k in seen] + sorted(k for k in seen if k not in FIGURES)



def label(key: str, unit: bool = False) -> str:
    """The name a table shows for a figure key, with its unit when `unit`.

    >>> label("latency_ms.p99", unit=True), label("utilization.db")
    ('p99 ms', 'utilization db')
    """
    f = figure_of(key)
    if f is not None:
        suffix = {"share": " %", "": ""}.get(f.unit, f" {f.unit}") if unit else ""
        return f.label + suffix
    if key.startswith("utilization."):
        return "utilization " + key.split(".", 1)[1] + (" %" if unit else "")
    return key


def interval_end(key: str, x: float, e: Estimate) -> str:
    """One end of an interval, as precise as the interval."""
    if e.half_width is None:
        return ""
    return format_estimate(key, Estimate(x, e.half_width, e.n, e.std), unitless=True).split(" ± ")[0]


def format_estimate(key: str, e: Estimate, signed: bool = False, unitless: bool = False) -> str:
    """``180 ± 12 ms``, ``97.12 ± 0.41%``: a figure with its interval and unit.

    The half-width keeps two significant digits and the mean as many decimals.

    >>> format_estimate("latency_ms.p99", Estimate(180.4, 12.2, 10, 17.0))
    '180 ± 12 ms'
    >>> format_estimate("latency_ms.mean", Estimate(19.874, 0.4312, 10, 0.6))
    '19.87 ± 0.43 ms'
    >>> format_estimate("goodput", Estimate(0.9712, 0.0041, 10, 0.005))
    '97.12 ± 0.41%'
    >>> format_estimate("failure_rate", share_estimate([0.0, 0.0, 0.08, 0.0, 0.0]))
    '1.6% (0.2 to 13.8%)'
    """
    f = figure_of(key)
    unit = f.unit if f is not None else ("share" if key.startswith("utilization.") else "")
    if unit == "share":
        if e.bounds is not None and not signed:  # lopsided near 0 or 1: shown as its ends
            return low_to_high(e.mean, e.low, e.high, 100, "" if unitless else "%")
        hw = e.half_width * 100 if e.half_width is not None else None
        return plus_minus(e.mean * 100, hw, signed) + ("" if unitless else "%")
    body = plus_minus(e.mean, e.half_width, signed)
    return f"{body} {unit}" if unit and not unitless else body


def seed_span(seeds: Sequence[int]) -> str:
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ", ".join(map(str, seeds))


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain aligned table: the first column to the left, the others to the right."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda row: "  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                                for i, (x, w) in enumerate(zip(row, widths))).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])
