"""Replications: one design under several seeds, every figure as a mean with its confidence interval.

One run is one sample. Runs with different seeds are independent, so a
figure's mean over N runs has the Student t interval mean ± t(N-1) s / sqrt(N)
(shares use a bounded interval, see :func:`sandbox.intervals.share_estimate`):
``p99 = 180 ± 12 ms over 10 runs``.

>>> from sandbox.scenario import loads
>>> mm1 = loads('''
... name: mm1
... workload: {entry: s, rate_rps: 50, duration_s: 30, warmup_s: 2}
... nodes: {s: {kind: service, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}}
... ''')
>>> rep = replicate(mm1, n=4, workers=1)
>>> rep.seeds
[0, 1, 2, 3]
>>> est = rep.figures["latency_ms.mean"]
>>> est.low < 20.0 < est.high    # M/M/1: 1 / (mu - lambda) = 1 / (100 - 50) s = 20 ms
True
>>> rep.headline().startswith("p99 = ") and rep.headline().endswith("ms over 4 runs")
True
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence, Unpack

from ..intervals import CONFIDENCE, Estimate
from ..scenario import Scenario, with_overrides
from .figures import FIGURES, estimates, format_estimate, interval_end, label, seed_span, text_table
from .runs import RunOptions, RunOptionsArgs, RunSummary, choose_seeds, need_interval

__all__ = ["ReplicationResult", "replicate"]


@dataclass(frozen=True)
class ReplicationResult:
    """One design over several seeds: every figure as mean ± half-width."""
    scenario: str
    seeds: list[int]
    runs: list[RunSummary]
    figures: dict[str, Estimate]
    confidence: float = CONFIDENCE

    def headline(self, key: str = "latency_ms.p99") -> str:
        """``p99 = 180 ± 12 ms over 10 runs``."""
        return f"{FIGURES[key].label if key in FIGURES else key} = {format_estimate(key, self.figures[key])}" \
               f" over {len(self.runs)} runs"

    def bottlenecks(self) -> list[tuple[str | None, int]]:
        """How often each node was the bottleneck, most often first."""
        return Counter(r.bottleneck for r in self.runs).most_common()

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows: each figure as mean ± half-width, and its interval's ends."""
        rows = [[label(k), format_estimate(k, e), interval_end(k, e.low, e), interval_end(k, e.high, e)]
                for k, e in self.figures.items()]
        return ["figure", f"mean ± {self.confidence:.0%} CI", "low", "high"], rows

    def text(self) -> str:
        """The terminal form: what ran, the table, the bottleneck, the headline."""
        necks = ", ".join(f"{n or 'none'} in {c} of {len(self.runs)} runs" for n, c in self.bottlenecks())
        return "\n".join([f"{self.scenario}: {len(self.runs)} runs, seeds {seed_span(self.seeds)}; "
                          f"{self.confidence:.0%} intervals (Student t, {len(self.runs) - 1} degrees of freedom)",
                          "", text_table(*self.table()), "", f"Bottleneck  {necks}", self.headline()])

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "seeds": self.seeds, "confidence": self.confidence,
                "figures": {k: e.to_dict() for k, e in self.figures.items()},
                "bottlenecks": [{"node": n, "runs": c} for n, c in self.bottlenecks()],
                "runs": [r.to_dict() for r in self.runs]}


def replicate(scenario: Scenario, n: int = 10, *, seed: int | None = None, seeds: Sequence[int] | None = None,
              overrides: dict[str, Any] | None = None, confidence: float = CONFIDENCE,
              run: RunOptions | None = None, **options: Unpack[RunOptionsArgs]) -> ReplicationResult:
    """Run `scenario` under `n` seeds (``seed``, ``seed + 1``, ...) and give each figure a t-interval.

    `seed` defaults to the scenario's own seed, else 0; `seeds` lists them
    outright. `overrides` are dotted-path settings applied to every run. How
    the runs are made is `run` (a :class:`RunOptions`), or its fields as
    keywords (``workers=1``, ``limits=...``).
    """
    chosen = choose_seeds(scenario, n, seed, seeds)
    need_interval(len(chosen))
    base = with_overrides(scenario, overrides) if overrides else scenario
    data = base.to_dict()
    runs = RunOptions.of(run, options).run_all([(data, s, {}) for s in chosen])
    return ReplicationResult(base.name, chosen, runs, estimates(runs, confidence), confidence)


