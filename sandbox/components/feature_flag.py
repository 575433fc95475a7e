"""A feature flag at run time: each call to control or treatment by the rollout's current share, guardrails that
compare the two and roll back.

A call draws its variant: with ``sticky`` and keys, a key's place in [0, 1) is fixed for the run (a hash of the
key and the flag's own seed), so a key in the treatment stays there while the share grows; otherwise a fresh
draw from the flag's own stream. Every ``check_every_s`` the guardrails compare the variants' calls over the
last ``window_s``: an error rate by a one-sided two-proportion z test of treatment - control against the
allowed increase, a p99 by a one-sided test of the share of treatment calls slower than ``max_ratio`` x the
control's p99 in the window against the 1% a p99 allows (latencies kept per second in log buckets of 1%
relative width, so both the p99 and the count above it are within 1%). Each look at each guardrail is held to alpha / (looks
x guardrails) (Bonferroni over the planned looks), so the whole rollout keeps its false-alarm rate at most
alpha. A breach rolls back (share 0 from then on), holds (no further ramp) or is only logged.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import NormalDist
from typing import Any

from simpy import Environment, Timeout

from ..randomness import Draw
from ..stats import LogHistogram
from .base import Component, OutEdge, Request, Serve, Span

__all__ = ["FeatureFlag", "Guard", "z_critical"]


def z_critical(p: float) -> float:
    """The standard normal quantile of 1 - p: a one-sided test at level p rejects above it."""
    return NormalDist().inv_cdf(1.0 - p)


class Guard:
    """One guardrail: its metric and bound, as plain values."""

    def __init__(self, metric: str, bound: float) -> None:
        self.metric = metric    # "error_rate" (bound: the allowed increase) or "p99_ms" (bound: the allowed ratio)
        self.bound = bound


class FeatureFlag(Component):
    """Routes each call to control or treatment by the rollout's share (see the module docstring)."""

    def __init__(self, env: Environment, name: str, kind: str, control: str, treatment: str,
                 schedule: list[tuple[float, float]], sticky: bool, guards: list[Guard], check_every_s: float,
                 window_s: float, min_requests: int, on_breach: str, alpha: float, looks: int, draw: Draw,
                 salt: int, route: Draw) -> None:
        super().__init__(env, name, kind, route)
        self.control_name, self.treatment_name = control, treatment
        self.schedule = schedule
        self.sticky = sticky
        self.guards = guards
        self.check_every = check_every_s
        self.window = window_s
        self.min_requests = min_requests
        self.on_breach = on_breach
        self.z = z_critical(alpha / max(1, looks * max(1, len(guards))))
        self.alpha = alpha
        self.draw = draw
        self.salt = salt
        self.current = 0.0                    # the share now (set by ramp, and by a rollback or a hold)
        self.places: dict[int, float] = {}    # sticky: each key's place in [0, 1), once computed
        self.stopped: float | None = None     # rollback: share 0 from then on
        self.held: float | None = None        # hold: the share frozen
        self.control: OutEdge | None = None
        self.treatment: OutEdge | None = None
        # per variant (0 control, 1 treatment): one bucket per second of calls, [second, calls, failed, latencies
        # of the calls that succeeded], the last window_s of them kept; and totals
        self.recent: list[deque[list[Any]]] = [deque(), deque()]
        self.last: list[list[Any]] = [[-1, 0, 0, None], [-1, 0, 0, None]]
        self.calls = [0, 0]
        self.failed = [0, 0]
        self.exposed_keys: set[int] = set()
        self.exposed_before_stop = 0
        self.decisions: list[dict[str, Any]] = []
        self.breached_at: float | None = None
        self.series: list[tuple[float, float, int, int, int, int]] = []   # t, share, calls and failures per variant
        self._mark = (0, 0, 0, 0)

    def set_edges(self, edges: list[OutEdge]) -> None:
        self.edges = edges
        self.control = next(e for e in edges if e.target.name == self.control_name)
        self.treatment = next(e for e in edges if e.target.name == self.treatment_name)

    def share(self, now: float) -> float:
        """The treatment's share at `now`: the schedule's, unless rolled back (0) or held."""
        if self.stopped is not None:
            return 0.0
        if self.held is not None:
            return self.held
        current = 0.0
        for at, share in self.schedule:
            if at <= now:
                current = share
        return current

    def ramp(self) -> Serve:
        """Set the share at each stage of the schedule (serve reads it, so a call costs no lookup)."""
        env = self.env
        for at, _ in self.schedule:
            if at > env.now:
                yield Timeout(env, at - env.now)
            self.current = self.share(env.now)
        return None

    def _place(self, request: Request) -> float:
        key = request.key
        if self.sticky and key >= 0:   # a fixed place per key: splitmix64 of the key and the flag's salt
            z = (key * 0x9E3779B97F4A7C15 + self.salt) & 0xFFFFFFFFFFFFFFFF
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
            return ((z ^ (z >> 31)) >> 11) / float(1 << 53)
        return self.draw()

    def serve(self, request: Request, replica: Any) -> Serve:
        env = self.env
        t0 = env.now
        measured = request.measured
        if measured:
            self.stats.arrived += 1
        key = request.key
        if self.sticky and key >= 0:
            place = self.places.get(key)
            if place is None:
                place = self.places[key] = self._place(request)
        else:
            place = self.draw()
        treated = place < self.current
        if treated:
            edge = self.treatment
            v = 1
            if self.stopped is None:
                self.exposed_before_stop += 1
                if key >= 0:
                    self.exposed_keys.add(key)
        else:
            edge = self.control
            v = 0
        assert edge is not None
        spans = request.spans
        sid = spans.open(request) if spans is not None else 0
        if edge.policy is not None or edge.latency_s:
            failure = yield from self.call_chosen(request, [edge])
        else:
            if measured:
                edge.calls += 1
            failure = yield from edge.target.serve(request, edge.pick())
        now = env.now
        if spans is not None:
            spans.close(request, Span(self.name, 0, t0, t0, now, "ok" if failure is None else "failed", sid))
        bucket = self.last[v]
        second = int(now)
        if bucket[0] != second:
            bucket = self.last[v] = [second, 0, 0, LogHistogram()]
            self.recent[v].append(bucket)
        bucket[1] += 1
        self.calls[v] += 1
        if failure is not None:
            bucket[2] += 1
            self.failed[v] += 1
        else:
            bucket[3].add(now - t0)
        if measured:   # it holds no workers: only the time through it (the variant's) is worth a histogram
            stats = self.stats
            if failure is None:
                stats.completed += 1
            else:
                stats.failed += 1
            i = stats.response.add(now - t0)
            stats.window[i] = stats.window.get(i, 0) + 1
        return failure

    def checks(self) -> Serve:
        """Every check_every_s: each guardrail on the last window_s; and one point of the series."""
        env = self.env
        while True:
            yield Timeout(env, self.check_every)
            now = env.now
            for q in self.recent:
                while q and q[0][0] < now - self.window:
                    q.popleft()   # (a bucket is kept while its second overlaps the window)
            share = self.share(now)
            c = (self.calls[0], self.failed[0], self.calls[1], self.failed[1])
            m = self._mark
            self.series.append((now, share, c[0] - m[0], c[1] - m[1], c[2] - m[2], c[3] - m[3]))
            self._mark = c
            if self.stopped is not None:
                continue
            for g in self.guards:
                self._judge(g, now, share)

    def _judge(self, g: Guard, now: float, share: float) -> None:
        ctrl, trt = self.recent
        nc, nt = sum(b[1] for b in ctrl), sum(b[1] for b in trt)
        entry: dict[str, Any] = {"t_s": now, "share": share, "guardrail": g.metric, "control_calls": nc,
                                 "treatment_calls": nt}
        if nc < self.min_requests or nt < self.min_requests:
            self.decisions.append({**entry, "decision": "too few calls"})
            return
        if g.metric == "error_rate":
            pc = sum(b[2] for b in ctrl) / nc
            pt = sum(b[2] for b in trt) / nt
            se = math.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
            stat = (pt - pc - g.bound) / se if se > 0 else (math.inf if pt - pc > g.bound else -math.inf)
            entry.update(control=pc, treatment=pt)
        else:
            ok_c, ok_t = LogHistogram(), LogHistogram()
            for b in ctrl:
                ok_c.merge(b[3])
            for b in trt:
                ok_t.merge(b[3])
            if ok_c.count < self.min_requests or ok_t.count < self.min_requests:
                self.decisions.append({**entry, "decision": "too few calls"})
                return
            q99 = ok_c.quantile(0.99)
            # the treatment's calls slower than the limit: the histogram's buckets above it (1% resolution)
            slow = ok_t.above(g.bound * q99) / ok_t.count
            stat = (slow - 0.01) / math.sqrt(0.01 * 0.99 / ok_t.count)
            entry.update(control=1000 * q99, treatment=1000 * ok_t.quantile(0.99))
        breach = stat > self.z
        entry.update(statistic=stat if math.isfinite(stat) else None, critical=self.z,
                     decision="breach" if breach else "ok")
        if breach:
            if self.breached_at is None:
                self.breached_at = now
            if self.on_breach == "rollback":
                self.stopped = now
                self.current = 0.0
                entry["decision"] = "breach: rolled back"
            elif self.on_breach == "hold":
                if self.held is None:
                    self.held = share
                    self.current = share
                entry["decision"] = "breach: held"
            else:
                entry["decision"] = "breach: ignored"
        self.decisions.append(entry)

    def rollout_figures(self, measured_s: float) -> dict[str, Any]:
        first = next((at for at, share in self.schedule if share > 0), None)
        return {
            "control": self.control_name, "treatment": self.treatment_name, "on_breach": self.on_breach,
            "alpha": self.alpha, "critical_z": self.z,
            "calls": {"control": self.calls[0], "treatment": self.calls[1]},
            "failed": {"control": self.failed[0], "treatment": self.failed[1]},
            "error_rate": {"control": self.failed[0] / self.calls[0] if self.calls[0] else 0.0,
                           "treatment": self.failed[1] / self.calls[1] if self.calls[1] else 0.0},
            "rolled_back": self.stopped is not None, "rolled_back_at_s": self.stopped,
            "held_at_share": self.held, "first_breach_at_s": self.breached_at,
            "time_to_detect_s": self.breached_at - first if self.breached_at is not None and first is not None
            else None,
            "exposed_requests": self.exposed_before_stop, "exposed_keys": len(self.exposed_keys),
            "decisions": [d for d in self.decisions if d["decision"] != "too few calls"],
            "looks_too_few_calls": sum(1 for d in self.decisions if d["decision"] == "too few calls"),
            "series": {"t_s": [p[0] for p in self.series], "share": [p[1] for p in self.series],
                       "control_calls": [p[2] for p in self.series], "control_failed": [p[3] for p in self.series],
                       "treatment_calls": [p[4] for p in self.series],
                       "treatment_failed": [p[5] for p in self.series]},
        }
