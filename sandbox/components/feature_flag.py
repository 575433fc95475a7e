"""A feature flag at run time: each call to control or treatment by the rollout's current share, guardrails that
compare the two and roll back.

A call draws its variant: with ``sticky`` and keys, a key's place in [0, 1) is fixed for the run (a hash of the
key and the flag's own seed), so a key in the treatment stays there while the share grows; otherwise a fresh
draw from the flag's own stream. Every ``check_every_s`` the guardrails compare the variants' calls over the
last ``window_s``: an error rate by a one-sided two-proportion z test of treatment - control against the
allowed increase, a p99 by a one-sided test of the share of treatment calls slower than ``max_ratio`` x the
control's p99 in the window against the 1% a p99 allows. Each look at each guardrail is held to alpha / (looks
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
from .base import Component, OutEdge, Request, Serve

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
        self.stopped: float | None = None     # rollback: share 0 from then on
        self.held: float | None = None        # hold: the share frozen
        self.control: OutEdge | None = None
        self.treatment: OutEdge | None = None
        # per variant (0 control, 1 treatment): recent calls (end time, failed, latency s), and totals
        self.recent: list[deque[tuple[float, bool, float]]] = [deque(), deque()]
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
        """The treatment's share now: the schedule's, unless rolled back (0) or held."""
        if self.stopped is not None:
            return 0.0
        if self.held is not None:
            return self.held
        current = 0.0
        for at, share in self.schedule:
            if at <= now:
                current = share
        return current

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
        treated = self._place(request) < self.share(t0)
        edge = self.treatment if treated else self.control
        assert edge is not None
        v = 1 if treated else 0
        if treated and self.stopped is None:
            self.exposed_before_stop += 1
            if request.key >= 0:
                self.exposed_keys.add(request.key)
        failure = yield from self.call_chosen(request, [edge])
        now = env.now
        self.recent[v].append((now, failure is not None, now - t0))
        self.calls[v] += 1
        if failure is not None:
            self.failed[v] += 1
        if measured:
            if failure is None:
                self.stats.completed += 1
            else:
                self.stats.failed += 1
            self.stats.record(0.0, 0.0, now - t0)
        return failure

    def checks(self) -> Serve:
        """Every check_every_s: each guardrail on the last window_s; and one point of the series."""
        env = self.env
        while True:
            yield Timeout(env, self.check_every)
            now = env.now
            for q in self.recent:
                while q and q[0][0] < now - self.window:
                    q.popleft()
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
        nc, nt = len(ctrl), len(trt)
        entry: dict[str, Any] = {"t_s": now, "share": share, "guardrail": g.metric, "control_calls": nc,
                                 "treatment_calls": nt}
        if nc < self.min_requests or nt < self.min_requests:
            self.decisions.append({**entry, "decision": "too few calls"})
            return
        if g.metric == "error_rate":
            pc = sum(1 for _, bad, _ in ctrl if bad) / nc
            pt = sum(1 for _, bad, _ in trt if bad) / nt
            se = math.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
            stat = (pt - pc - g.bound) / se if se > 0 else (math.inf if pt - pc > g.bound else -math.inf)
            entry.update(control=pc, treatment=pt)
        else:
            ok_c = sorted(lat for _, bad, lat in ctrl if not bad)
            ok_t = [lat for _, bad, lat in trt if not bad]
            if len(ok_c) < self.min_requests or len(ok_t) < self.min_requests:
                self.decisions.append({**entry, "decision": "too few calls"})
                return
            q99 = ok_c[min(len(ok_c) - 1, int(math.ceil(0.99 * len(ok_c))) - 1)]
            limit = g.bound * q99
            slow = sum(1 for lat in ok_t if lat > limit) / len(ok_t)
            stat = (slow - 0.01) / math.sqrt(0.01 * 0.99 / len(ok_t))
            ok_t.sort()
            p99_t = ok_t[min(len(ok_t) - 1, int(math.ceil(0.99 * len(ok_t))) - 1)]
            entry.update(control=1000 * q99, treatment=1000 * p99_t)
        breach = stat > self.z
        entry.update(statistic=stat if math.isfinite(stat) else None, critical=self.z,
                     decision="breach" if breach else "ok")
        if breach:
            if self.breached_at is None:
                self.breached_at = now
            if self.on_breach == "rollback":
                self.stopped = now
                entry["decision"] = "breach: rolled back"
            elif self.on_breach == "hold":
                if self.held is None:
                    self.held = share
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
