"""A/B comparisons: two designs on identical traffic, and the paired differences B - A.

Seed k drives both designs, and the arrivals and every unchanged node draw
from the same named random streams (common random numbers), so each seed's
B - A is measured on identical traffic and the interval of the mean difference
is a paired Student t interval over the per-seed differences: much narrower
than the two designs' intervals side by side suggest. :func:`verdict` says
what changed, in words; :func:`variant` makes design B from A and a few
``PATH=VALUE`` changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence, Unpack

from ..intervals import CONFIDENCE, Estimate, json_safe, paired_estimate, plus_minus
from ..scenario import Scenario, with_overrides
from ..settings import show_value
from .figures import FIGURES, figure_of, format_estimate, label, seed_span, text_table
from .replication import ReplicationResult
from .runs import RunOptions, RunOptionsArgs, Task, choose_seeds, need_interval
from .figures import estimates

__all__ = ["Delta", "ComparisonResult", "compare", "verdict", "variant", "changed_name"]


@dataclass(frozen=True)
class Delta:
    """One figure in A and in B, and the paired difference B - A."""
    a: Estimate
    b: Estimate
    diff: Estimate          # mean of per-seed differences b - a, paired t-interval
    relative: float | None  # diff.mean / a.mean

    @property
    def significant(self) -> bool:
        """The interval of B - A excludes 0: the difference is not noise (at this confidence)."""
        return self.diff.excludes_zero()

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.to_dict(), "b": self.b.to_dict(), "diff": self.diff.to_dict(),
                "relative": json_safe(self.relative), "significant": self.significant}


@dataclass(frozen=True)
class ComparisonResult:
    """Two designs on identical traffic: per-figure deltas with paired intervals, and a verdict."""
    a_name: str
    b_name: str
    seeds: list[int]
    a: ReplicationResult
    b: ReplicationResult
    deltas: dict[str, Delta]
    verdict: str
    confidence: float = CONFIDENCE

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows: A, B, the paired difference B - A, the relative change; * marks a real difference."""
        rows = [[label(k), format_estimate(k, d.a), format_estimate(k, d.b), format_estimate(k, d.diff, signed=True),
                 f"{d.relative:+.1%}" if d.relative is not None and math.isfinite(d.relative) else "",
                 _mark(k, d)]
                for k, d in self.deltas.items()]
        return ["figure", self.a_name, self.b_name, f"{self.b_name} - {self.a_name}", "change", ""], rows

    def text(self) -> str:
        """The terminal form: the two designs, the table of deltas, the verdict."""
        n = len(self.seeds)
        return "\n".join([f"{self.a_name} = {self.a.scenario}    {self.b_name} = {self.b.scenario}",
                          f"{n} paired runs on identical traffic (seeds {seed_span(self.seeds)}); "
                          f"{self.confidence:.0%} intervals, paired Student t with {n - 1} degrees of freedom",
                          "", text_table(*self.table()), "",
                          f"better / worse / changed: the interval of {self.b_name} - {self.a_name} excludes 0, "
                          f"a real difference at {self.confidence:.0%} confidence", f"Verdict: {self.verdict}"])

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a_name, "b": self.b_name, "seeds": self.seeds, "confidence": self.confidence,
                "deltas": {k: d.to_dict() for k, d in self.deltas.items()}, "verdict": self.verdict,
                "runs": {"a": [r.to_dict() for r in self.a.runs], "b": [r.to_dict() for r in self.b.runs]}}


def compare(a: Scenario, b: Scenario | dict[str, Any], n: int = 10, *, seed: int | None = None,
            seeds: Sequence[int] | None = None, confidence: float = CONFIDENCE, a_label: str = "A",
            b_label: str = "B", run: RunOptions | None = None, **options: Unpack[RunOptionsArgs]
            ) -> ComparisonResult:
    """Run designs `a` and `b` under the same seeds and give the paired differences B - A.

    `b` is a second scenario, or a dict of dotted-path changes to `a`
    (``{"nodes.web.replicas": 5}``). Seed k drives both designs with the same
    arrivals (common random numbers), so each difference is measured on
    identical traffic and the interval of the mean difference is a paired
    Student t-interval over the n per-seed differences.

    >>> from sandbox.scenario import loads
    >>> a = loads('''
    ... name: one worker
    ... workload: {entry: s, rate_rps: 60, duration_s: 60, warmup_s: 2}
    ... nodes: {s: {kind: service, queue_limit: null, service_time: {dist: exponential, mean_ms: 10}}}
    ... ''')
    >>> c = compare(a, {"nodes.s.workers": 2}, n=3, workers=1)   # 1 worker at rho 0.6, then 2
    >>> c.deltas["latency_ms.p99"].significant, c.deltas["latency_ms.p99"].diff.mean < 0
    (True, True)
    >>> c.verdict.startswith("B lowers p99 by")
    True
    """
    b_scenario = variant(a, b) if isinstance(b, dict) else b
    chosen = choose_seeds(a, n, seed, seeds)
    need_interval(len(chosen))
    da, db = a.to_dict(), b_scenario.to_dict()
    tasks: list[Task] = [(da, s, {}) for s in chosen] + [(db, s, {}) for s in chosen]
    runs = RunOptions.of(run, options).run_all(tasks)
    ra, rb = runs[:len(chosen)], runs[len(chosen):]
    rep_a = ReplicationResult(a.name, chosen, ra, estimates(ra, confidence), confidence)
    rep_b = ReplicationResult(b_scenario.name, chosen, rb, estimates(rb, confidence), confidence)
    deltas = {}
    for key in rep_a.figures:
        if key in rep_b.figures:
            xa, xb = [r.figures[key] for r in ra], [r.figures[key] for r in rb]
            diff = paired_estimate(xa, xb, confidence)
            mean_a = rep_a.figures[key].mean
            deltas[key] = Delta(rep_a.figures[key], rep_b.figures[key], diff,
                                diff.mean / mean_a if mean_a else None)
    return ComparisonResult(a_label, b_label, chosen, rep_a, rep_b, deltas,
                            verdict(deltas, b_label, a_label), confidence)


def _mark(key: str, d: Delta) -> str:
    """better or worse for B when the difference is real; changed where neither direction is better."""
    if not d.significant:
        return ""
    figure = figure_of(key)
    if figure is None:
        return "changed"
    return "better" if (d.diff.mean < 0) == figure.lower_is_better else "worse"


def variant(base: Scenario, changes: dict[str, Any]) -> Scenario:
    """Design B: `base` with dotted-path `changes`, named after them unless they set the name.

    >>> from sandbox.scenario import loads
    >>> a = loads("name: shop\\nworkload: {entry: s, rate_rps: 5, duration_s: 9}\\n"
    ...           "nodes: {s: {kind: service, service_time: {dist: constant, mean_ms: 1}}}")
    >>> variant(a, {"nodes.s.workers": 4}).name
    'shop with nodes.s.workers=4'
    """
    if not changes:
        return base
    named = changes if "name" in changes else {"name": changed_name(base.name, changes), **changes}
    return with_overrides(base, named)


def changed_name(name: str, changes: dict[str, Any]) -> str:
    """A name for a design that is another with some settings changed.

    >>> changed_name("Checkout API", {"nodes.api.workers": 5})
    'Checkout API with nodes.api.workers=5'
    """
    return f"{name} with " + ", ".join(f"{k}={show_value(v)}" for k, v in changes.items()) if changes else name


def verdict(deltas: dict[str, Delta], b: str = "B", a: str = "A") -> str:
    """The comparison in words: p99 first, then failures, throughput and cost where they differ.

    A change counts only when its interval excludes 0; cost is told when both
    designs carry it.
    """
    parts = []
    p99 = deltas.get("latency_ms.p99")
    if p99 is not None:
        d = p99.diff
        rel = f" ({p99.relative:+.0%})" if p99.relative is not None else ""
        if p99.significant:
            word = "lowers" if d.mean < 0 else "raises"
            parts.append(f"{word} p99 by {plus_minus(abs(d.mean), d.half_width)} ms{rel}")
        else:
            parts.append(f"leaves p99 unchanged within the noise ({plus_minus(d.mean, d.half_width, signed=True)} ms, "
                         "an interval that includes 0)")
    fail = deltas.get("failure_rate")
    if fail is not None and fail.significant and abs(fail.diff.mean) >= 1e-4:
        parts.append(f"rejects or fails {fail.b.mean:.1%} of requests instead of {fail.a.mean:.1%} "
                     f"({plus_minus(fail.diff.mean * 100, (fail.diff.half_width or 0) * 100, signed=True)} points)")
    tput = deltas.get("throughput_rps")
    if tput is not None and tput.significant and tput.relative is not None and abs(tput.relative) >= 0.01:
        word = "more" if tput.diff.mean > 0 else "less"
        parts.append(f"serves {abs(tput.relative):.0%} {word} throughput")
    cost = deltas.get("cost_per_hour")
    if cost is not None and cost.relative is not None:
        if abs(cost.relative) < 0.005:
            parts.append("costs the same")
        else:
            parts.append(f"costs {abs(cost.relative):.0%} {'more' if cost.relative > 0 else 'less'}")
    if not parts:
        return f"{b} and {a} share no figure to compare."
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{b} {body}."


