"""The traffic mix in a report: one row per request class, as the text and Markdown reports show it.

Both reports (:mod:`sandbox.report` for the terminal, :mod:`sandbox.report_md`
for a design review) print the same table: each class's share and priority,
what became of its requests, its latency against its SLO, and its error budget.
"""

from __future__ import annotations

from .results import ClassResult, Results

__all__ = ["CLASS_HEADER", "class_rows"]

CLASS_HEADER = ["class", "share", "priority", "arrived", "completed", "lost", "p50 ms", "p99 ms", "SLO ms",
                "goodput", "burn rate", "budget"]


def _budget(c: ClassResult) -> str:
    b = c.error_budget
    if b.target is None:
        return "-"
    if b.exhausted_at_s is not None:
        return f"spent at {b.exhausted_at_s:g} s"
    used = b.bad / b.allowed if b.allowed else 0.0
    return f"{used:.0%} used"


def class_rows(r: Results) -> list[list[str]]:
    """One row per class (empty without classes)."""
    rows = []
    for c in r.classes.values():
        q = c.requests
        lost = (q.rejected + q.failed) / q.arrived if q.arrived else 0.0
        rows.append([c.name, f"{c.share:.0%}", str(c.priority), f"{q.arrived:,}", f"{q.completed:,}", f"{lost:.1%}",
                     f"{c.latency_ms.p50:,.1f}", f"{c.latency_ms.p99:,.1f}",
                     f"{c.slo_ms:,.0f}" if c.slo_ms is not None else "-", f"{c.goodput:.2%}",
                     f"{c.error_budget.burn_rate:,.1f}x" if c.error_budget.burn_rate is not None else "-",
                     _budget(c)])
    return rows
