"""The open network's fixed point: per node, hold, arrival variability, wait and rejections at one rate.

:func:`evaluate` iterates, callees before callers, until response times and
admitted shares settle, over a :class:`~sandbox.network_design.Design` (what does
not change with the rate); the methods and their accuracy are described in
:mod:`sandbox.analysis`.

With request classes every node's hold is worked out per class (its own service
time, the calls open to it, each callee's response to that class); the node
serves the mixture of them, weighted by each class's offered rate, and each pool
of workers (the shared one, one per bulkhead: each its own station) waits by
the same methods, or by :mod:`sandbox.priority_queueing` where it orders its
line by priority. A class's response is its wait plus its own hold.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from . import queueing
from .calls import Edge
from .closed_queueing import Station, mva
from .estimates import METHODS, ClassNodeEstimate, NodeEstimate
from .kinds import kind_of
from .network_design import Design, solve_class_visits
from .pool_chain import PairFigures, caller_callee_chain
from .priority_queueing import mixture_moments, priority_waits
from .queueing import erlang_c, mmc_wait
from .scenario import Scenario

__all__ = ["evaluate", "NEGLIGIBLE"]


NEGLIGIBLE = 1e-9   # a blocking probability below this leaves a finite queue's figures as an unbounded one's


@dataclass(frozen=True)
class _Stream:
    """Calls arriving at one replica: their rate's squared coefficient of variation, and what is known exactly."""
    ca2: float
    shape: str      # "poisson" | "constant" | "erlang" (round robin of a Poisson stream) | "pooled" | "other"
    k: int = 1      # the Erlang order


def _thinned(stream: _Stream, share: float) -> _Stream:
    """The calls of some classes, a random `share` of `stream` (each call's class is drawn on its own)."""
    if share >= 1.0 or stream.shape == "pooled":
        return stream
    return _Stream(share * stream.ca2 + 1 - share, "poisson" if stream.shape == "poisson" else "other")


class _Part(NamedTuple):
    """One class's response at a node (ms, ms^2), and whether it is exponential."""
    response: float
    var: float
    exponential: bool


# ── one evaluation at one rate ───────────────────────────────────────────────

@dataclass
class _Figures:
    """One node's figures in the fixed point (ms)."""
    response: float = 0.0
    response_var: float = 0.0
    utilization: float = 0.0
    blocking: float = 0.0
    exact_departures: bool = True   # its calls leave it as a Poisson stream (Burke; M/G/inf)
    exponential: bool = False       # its response time is exponential (no wait, one exponential part)
    exact: bool = True              # its response time is exact for the model, else within `band`
    band: float = 0.0
    classes: dict[str, _Part] = field(default_factory=dict)   # per class, when the workload has classes


@dataclass(frozen=True)
class _Hold:
    """A worker's hold at one node: mean and variance (ms, ms^2) and what is known about it."""
    mean: float
    var: float
    independent: bool        # its parts are independent of one another (Pollaczek-Khinchine is exact)
    exponential: bool        # it is one exponential part
    exact: bool              # the callee responses in it are exact
    band: float              # else, the worst relative accuracy among them
    branches: list[tuple[float, float, str]]   # (mean, variance, callee) of each call it makes


def _mixed(parts: list[tuple[float, _Hold]]) -> _Hold:
    """The hold of a station serving a mix of classes: the mixture of theirs, weighted by their rates."""
    taken = [(w, h) for w, h in parts if w > 0] or [(1.0, h) for _, h in parts]
    holds = [h for _, h in taken]
    if not all(math.isfinite(h.mean) for h in holds):
        mean, var = math.inf, math.inf
    else:
        mean, var = mixture_moments([w for w, _ in taken], [h.mean for h in holds], [h.var for h in holds])
    exponential = all(h.exponential for h in holds) and all(math.isclose(h.mean, holds[0].mean) for h in holds)
    return _Hold(mean, var, all(h.independent for h in holds), exponential, all(h.exact for h in holds),
                 max(h.band for h in holds), [b for h in holds for b in h.branches])


@dataclass(frozen=True)
class _ClassWaits:
    """A class-aware station's waits at one rate: over all its calls, and per class."""
    method: str
    wait: float                      # mean wait (ms) of its admitted calls, every class
    blocking: float                  # share of its arriving calls turned away
    waits: dict[str, float]          # per class: mean wait (ms) of its admitted calls
    p_wait: dict[str, float]         # per class: the chance an admitted call waits at all
    utilization: dict[str, float]    # per class: carried load per worker of its pool
    reason: str = ""                 # set: no closed form at this rate (accuracy none)
    offered: float | None = None     # bulkheads: offered load per worker of the busiest pool
    carried: float | None = None     # bulkheads: carried load per worker, every pool


class _Evaluation:
    """The fixed point over response times, arrival variability and admitted shares at one entry rate."""

    def __init__(self, d: Design, rate: float, detail: bool) -> None:
        self.d, self.rate, self.detail = d, rate, detail
        self.fig = {n: _Figures() for n in d.names}
        self.passing = {n: 1.0 for n in d.names}
        self.streams: dict[str, _Stream] = {}
        self.node_stream: dict[str, _Stream] = {}
        self.chains: dict[tuple[str, float], PairFigures | None] = {}
        self.result: dict[str, NodeEstimate] = {}
        self.visits: dict[str, float] = {}
        self.class_visits: dict[str, dict[str, float]] = {}   # class -> node -> visits per request of the class

    def run(self) -> dict[str, NodeEstimate]:
        d = self.d
        limits = {n: cap for n, node in d.s.nodes.items() if (cap := kind_of(node).admits_rps(node)) is not None}
        solved: dict[str, float] | None = None
        for _ in range(80):
            if solved != self.passing:
                self.visits, self.class_visits = solve_class_visits(d, self.passing)
                solved = dict(self.passing)
            if self.detail or not self.streams:
                self._arrival_streams()
            changed = False
            for n in reversed(d.order):   # callees before callers
                before = (self.fig[n].response, self.fig[n].blocking)
                self._node(n)
                after = (self.fig[n].response, self.fig[n].blocking)
                if any(abs(a - b) > 1e-9 * max(1.0, abs(a)) for a, b in zip(after, before)
                       if math.isfinite(a) or math.isfinite(b)):
                    changed = True
            for n in d.names:
                admitted = 1.0 - self.fig[n].blocking
                if n in limits:
                    offered = self.rate * self.visits[n]
                    admitted = min(1.0, limits[n] / offered) if offered > 0 else 1.0
                if abs(admitted - self.passing[n]) > 1e-12:
                    changed = True
                self.passing[n] = admitted
            if not changed:
                break
        return self.result

    # arrival variability, callers first (QNA: Whitt 1983)
    def _arrival_streams(self) -> None:
        d, w = self.d, self.d.s.workload
        # Poisson and constant arrivals are known exactly; of mmpp and replay, only their gaps' scv
        entry = _Stream(w.arrival_scv(), w.arrival if isinstance(w.arrival, str) else "other")
        if not self.detail:  # the saturation search needs holds, not the fine structure of arrivals
            self.streams = {n: entry if n == w.entry else _Stream(1.0, "poisson") for n in d.order}
            self.node_stream = dict(self.streams)
            return
        for n in d.order:
            flows: list[tuple[float, _Stream]] = []
            if n == w.entry:
                flows.append((self.rate, entry))
            for u, e, f in d.into[n]:
                lam = self.rate * self.visits[u] * self.passing[u] * f
                out = self._departures(u, e)
                if f < 1:  # thinning keeps a Poisson stream Poisson and makes any other more random
                    out = _Stream(f * out.ca2 + 1 - f, out.shape if out.shape == "poisson" else "other")
                flows.append((lam, out))
            total = sum(lam for lam, _ in flows)
            if not flows or total <= 0:
                stream = _Stream(1.0, "poisson")
            elif len(flows) == 1:
                stream = flows[0][1]
            else:
                shapes = {st.shape for _, st in flows}
                stream = _Stream(sum(lam * st.ca2 for lam, st in flows) / total,
                                 "poisson" if shapes == {"poisson"} else "other")
            self.node_stream[n] = stream
            self.streams[n] = self._split(n, stream)

    def _split(self, n: str, stream: _Stream) -> _Stream:
        """The stream one replica of n sees."""
        r = self.d.caps[n].replicas
        if r == 1:
            return stream
        policy = self.d.policy(n)
        if policy == "round_robin":  # every r-th call: Erlang-r gaps from a Poisson stream
            shape = {"poisson": "erlang", "constant": "constant"}.get(stream.shape, "other")
            return _Stream(stream.ca2 / r, shape, r if shape == "erlang" else 1)
        if policy == "random":
            return _Stream(stream.ca2 / r + 1 - 1 / r, "poisson" if stream.shape == "poisson" else "other")
        return _Stream(stream.ca2, "pooled")

    def _departures(self, u: str, e: Edge) -> _Stream:
        """The calls u makes over edge e, as a stream."""
        d = self.d
        stream = self.node_stream.get(u, _Stream(1.0, "poisson"))
        ku = d.kind(u)
        if not d.caps[u].servers:  # a load balancer or rate limiter passes calls on as they come
            # a token bucket that turns calls away passes them at about its token rate, evenly
            return stream if self.passing[u] >= 1.0 else _Stream(0.0, "other")
        if ku.asynchronous:
            return _Stream(1.0, "other")
        fig = self.fig[u]
        earlier_ok = all((t in d.never_waits and not d.out[t]) or (self.fig[t].exact_departures and f == 1)
                         for t, f in self._before(u, e))
        if stream.shape == "poisson" and u in self._unqueued() and earlier_ok:
            return _Stream(1.0, "poisson")   # M/G/inf of a Poisson stream, then Burke's theorem
        rho = min(fig.utilization, 1.0)
        c = max(1, d.per_replica(u))
        cs2 = d.own(u)[1]
        ca2 = stream.ca2
        return _Stream(max(0.0, 1 + (1 - rho ** 2) * (ca2 - 1) + rho ** 2 * (cs2 - 1) / math.sqrt(c)), "other")

    def _before(self, u: str, e: Edge) -> list[tuple[str, float]]:
        """The callees u calls before edge e, in sequence (none when it calls in parallel, or one of them)."""
        if self.d.parallel(u) or self.d.one_of(u):
            return []
        out = []
        for other, f in self.d.out[u]:
            if other is e:
                break
            out.append((other.target, f))
        return out

    def _unqueued(self) -> set[str]:
        """Stations whose calls never wait for a worker: many more workers than calls in flight."""
        out = set()
        for n, est in self.result.items():
            if est.predicted_wait_ms < 1e-6 and est.predicted_rejected < NEGLIGIBLE:
                out.add(n)
        return out

    # one node's hold, wait and rejections
    def _callee(self, t: str, cls: str | None) -> _Part:
        """t's response to a call of class `cls` (None: to any call)."""
        fig = self.fig[t]
        if cls is not None and cls in fig.classes:
            return fig.classes[cls]
        return _Part(fig.response, fig.response_var, fig.exponential)

    def _hold(self, n: str, cls: str | None = None) -> _Hold:
        """A worker's hold at n by a call of class `cls` (None: any call, the workload having no classes)."""
        d = self.d
        own, scv = d.own(n, cls)
        branches = []
        independent, exact, band = True, True, 0.0
        for e, f in d.out[n] if cls is None else d.class_out[cls][n]:
            if f <= 0:
                continue  # a branch never taken adds nothing, even towards a saturated node (0 x inf)
            t = e.target
            if d.kind(t).asynchronous:
                mean, var = 2 * e.latency_ms, 0.0
            else:
                fig = self.fig[t]
                part = self._callee(t, cls)
                mean, var = 2 * e.latency_ms + part.response, part.var
                independent &= t in d.never_waits and not d.out[t]   # its responses are its own i.i.d. holds
                exact &= fig.exact
                band = max(band, fig.band)
            branches.append((f, mean, var, t, e))
        if not branches:
            return _Hold(own, scv * own ** 2, True, scv == 1.0 and own > 0, True, 0.0, [])
        calls = [(m, v, t) for _, m, v, t, _ in branches]
        if d.parallel(n):
            taken = [(mean, self.fig[t].utilization) for f, mean, var, t, _ in branches]
            joined, exact_join = queueing.fork_join_response([(m / 1000.0, u) for m, u in taken])
            everything = all(f >= 1 for f, *_ in branches)
            downstream = joined * 1000.0 if everything else max(f * mean for f, mean, *_ in branches)
            mm1 = all(e.latency_ms == 0 and (est := self.result.get(t)) is not None and est.method == "M/M/c"
                      and est.capacity == 1 for _, _, _, t, e in branches)
            if not (exact_join and everything and mm1):
                exact, band = False, max(band, METHODS["fork-join approximation"].wait_band)
            var = own ** 2 * scv + max(v for _, _, v, _, _ in branches)
            return _Hold(own + downstream, var, False, False, exact, band, calls)
        mean = own + sum(f * m for f, m, *_ in branches)
        if d.one_of(n):   # at most one call: its downstream time is a mixture of the branches, not a sum
            downstream = sum(f * m for f, m, *_ in branches)
            var = own ** 2 * scv + max(0.0, sum(f * (v + m * m) for f, m, v, *_ in branches) - downstream ** 2)
        else:
            var = own ** 2 * scv + sum(f * v + max(0.0, f * (1 - f)) * m ** 2 for f, m, v, *_ in branches)
        (f0, _, _, t0, e0), = branches if len(branches) == 1 else [(0.0, 0.0, 0.0, "", None)]
        exponential = own == 0 and f0 == 1 and e0 is not None and e0.latency_ms == 0 and \
            self._callee(t0, cls).exponential
        return _Hold(mean, var, independent, exponential, exact, band, calls)

    def _class_rates(self, n: str) -> dict[str, float]:
        """Each class's offered rate (per s) at n."""
        d = self.d
        return {k: self.rate * d.shares[k] * self.class_visits[k][n] for k in d.classes}

    def _node(self, n: str) -> None:
        d = self.d
        node = d.s.nodes[n]
        kind = d.kind(n)
        holds = {k: self._hold(n, k) for k in d.classes}
        rates = self._class_rates(n) if d.classes else {}
        h = _mixed([(rates[k], holds[k]) for k in d.classes]) if d.classes else self._hold(n)
        hold, hold_var, branches = h.mean, h.var, h.branches
        lam = self.rate * self.visits[n]
        cap = d.caps[n]
        fig = self.fig[n]
        if not cap.servers:
            fig.response, fig.response_var, fig.utilization, fig.blocking = hold, hold_var, 0.0, 0.0
            fig.exact_departures = True
            fig.exponential, fig.exact, fig.band = h.exponential, h.exact, h.band
            fig.classes = {k: _Part(hk.mean, hk.var, hk.exponential) for k, hk in holds.items()}
            accuracy = "exact" if h.exact else "approximate"
            self.result[n] = NodeEstimate(n, node.kind, self.visits[n], lam, 0, hold, 0.0, 0.0,
                                          0.0 if kind.asynchronous else hold,
                                          accuracy=accuracy, wait_band=h.band,
                                          classes=self._class_estimates(n, holds, rates, None, accuracy, "none",
                                                                        h.band))
            return
        r, c = cap.replicas, d.per_replica(n)
        slots = kind.waiting_slots(node)
        if kind.asynchronous:
            slots = None if slots is None else max(0, slots)   # a queue holds `capacity` messages beyond those consumed
        cw = self._class_waits(n, rates, holds, h, r, slots) if d.classes else None
        method, wait, blocking = (cw.method, cw.wait, cw.blocking) if cw else self._wait(n, lam, h, r, c, slots)
        hold_s = hold / 1000.0
        offered_util = lam * hold_s / cap.servers if hold and lam else 0.0
        util = offered_util * (1 - blocking)
        if cw is not None and cw.offered is not None:   # bulkheads: the busiest pool saturates first
            offered_util, util = cw.offered, cw.carried or 0.0
        # completions form a Poisson stream: Burke's theorem for M/M/c, M/G/inf for a node nobody waits at
        exact_out = method in ("never waits", "M/M/c") and not branches and self.streams[n].shape == "poisson"
        fig.blocking = blocking
        fig.utilization = util
        fig.exact_departures = exact_out
        p_wait = erlang_c(c, min(lam / r * hold_s, c * (1 - 1e-12))) if wait > 0 else 0.0
        wait_var = wait ** 2 * (2 - p_wait) / p_wait if p_wait > 0 and math.isfinite(wait) else 0.0
        fig.response = 0.0 if kind.asynchronous else wait + hold
        fig.response_var = 0.0 if kind.asynchronous else hold_var + wait_var
        m = METHODS[method]
        # as exact as its own method and the callee responses its hold adds up; as far off as the worst
        exact = m.exact and h.exact
        util_band, wait_band = max(m.utilization_band, h.band), max(m.wait_band, h.band)
        fig.exact, fig.band = exact, wait_band
        fig.exponential = h.exponential and wait == 0 and not kind.asynchronous
        accuracy, reason = ("exact" if exact else "approximate"), ""
        classes: dict[str, ClassNodeEstimate] = {}
        if cw is not None:
            if cw.reason:
                accuracy, reason = "none", cw.reason
            fig.classes = {k: self._class_part(kind.asynchronous, hk, cw.waits[k], cw.p_wait[k])
                           for k, hk in holds.items()}
            classes = self._class_estimates(n, holds, rates, cw.waits, accuracy, method, 0.0 if exact else wait_band,
                                            cw.utilization)
        self.result[n] = NodeEstimate(
            n, node.kind, self.visits[n], lam, cap.servers, hold, util, wait,
            0.0 if kind.asynchronous else wait + hold, blocking, offered_util,
            accuracy, method, 0.0 if exact else util_band, 0.0 if exact else wait_band, reason=reason,
            classes=classes)

    # request classes: per class figures, pools of workers, priority order
    @staticmethod
    def _class_part(asynchronous: bool, h: _Hold, wait: float, p_wait: float) -> _Part:
        """A class's response at a station: its wait (exponential once it waits, as in M/M/c) and its own hold."""
        if asynchronous:
            return _Part(0.0, 0.0, False)
        wait_var = wait ** 2 * (2 - p_wait) / p_wait if p_wait > 0 and math.isfinite(wait) else 0.0
        return _Part(wait + h.mean, h.var + wait_var, h.exponential and wait == 0)

    def _class_estimates(self, n: str, holds: dict[str, _Hold], rates: dict[str, float],
                         waits: dict[str, float] | None, accuracy: str, method: str, band: float,
                         utilization: dict[str, float] | None = None) -> dict[str, ClassNodeEstimate]:
        asynchronous = self.d.kind(n).asynchronous
        out = {}
        for k, hk in holds.items():
            wait = waits[k] if waits is not None else 0.0
            response = 0.0 if asynchronous else wait + hk.mean
            out[k] = ClassNodeEstimate(self.class_visits[k][n], rates[k], hk.mean, wait, response, accuracy, method,
                                       band, (utilization or {}).get(k, 0.0))
        return out

    def _class_waits(self, n: str, rates: dict[str, float], holds: dict[str, _Hold], h: _Hold, r: int,
                     slots: int | None) -> _ClassWaits:
        """Waits at a station with classes: its one pool of workers, or each pool (bulkheads) as its own station,
        each arriving call of a pool's classes a random share of the station's."""
        d = self.d
        pools = d.pools(n)
        stream = self.streams[n]
        if len(pools) == 1:
            return self._pool_waits(n, d.classes, rates, holds, h, r, d.per_replica(n), slots, stream, True)
        lam = math.fsum(rates.values())
        parts = []
        for classes, workers in pools:
            lam_p = math.fsum(rates[k] for k in classes)
            h_p = _mixed([(rates[k], holds[k]) for k in classes])
            share = lam_p / lam if lam > 0 else 0.0
            w = self._pool_waits(n, classes, rates, holds, h_p, r, workers, slots, _thinned(stream, share), False)
            parts.append((lam_p, h_p.mean / 1000.0, workers * r, w))
        return _pooled(parts, d.caps[n].servers)

    def _pool_waits(self, n: str, classes: tuple[str, ...], rates: dict[str, float], holds: dict[str, _Hold],
                    h: _Hold, r: int, c: int, slots: int | None, stream: _Stream, whole: bool) -> _ClassWaits:
        """One pool of `c` workers per replica serving `classes`: FIFO by the node's methods on the mixture of
        their holds, or by priority (:func:`~sandbox.priority_queueing.priority_waits`)."""
        d = self.d
        lam = math.fsum(rates[k] for k in classes)
        method, wait, blocking = self._wait(n, lam, h, r, c, slots, stream, whole)
        hold_s = h.mean / 1000.0
        p_wait = erlang_c(c, min(lam / r * hold_s, c * (1 - 1e-12))) if wait > 0 and hold_s > 0 else 0.0
        levels = {d.priorities[k] for k in classes if rates[k] > 0}
        util = lam / r * hold_s / c * (1 - blocking) if lam > 0 and hold_s > 0 else 0.0
        fifo = _ClassWaits(method, wait, blocking, {k: wait for k in classes}, {k: p_wait for k in classes},
                           {k: util for k in classes})
        if not d.priority(n) or len(levels) < 2 or wait == 0:
            return fifo
        if blocking >= NEGLIGIBLE or method == "finite callers (MVA bound)":
            why = ("its line fills, and which class a full line turns away depends on its state"
                   if blocking >= NEGLIGIBLE else "its callers' workers bound its line (a finite population)")
            return replace(fifo, reason=f"priority order where {why}: no closed form for the waits by class "
                                        "(see the simulation)")
        pooled = stream.shape == "pooled"   # least connections: the replicas as one pool
        servers, per = (c * r, 1) if pooled else (c, r)
        poisson = stream.shape == "poisson"
        ks = [k for k in classes]
        means = [holds[k].mean / 1000.0 for k in ks]
        waits_s = priority_waits(servers, [rates[k] / per for k in ks], means,
                                 [holds[k].var / 1e6 for k in ks], [d.priorities[k] for k in ks],
                                 1.0 if poisson else stream.ca2)
        waits = {k: w * 1000.0 for k, w in zip(ks, waits_s)}
        independent = all(holds[k].independent for k in ks)
        taken = [holds[k] for k in ks if rates[k] > 0]
        one_mean = all(x.exponential and math.isclose(x.mean, taken[0].mean) for x in taken)
        if poisson and independent and servers == 1:
            method = "M/G/1 priority"
        elif poisson and independent and one_mean:
            method = "M/M/c priority"
        else:
            method = "M/G/c priority"
        mean_wait = math.fsum(rates[k] * waits[k] for k in ks if rates[k] > 0) / lam
        return replace(fifo, method=method, wait=mean_wait, waits=waits)

    def _wait(self, n: str, lam: float, h: _Hold, r: int, c: int, slots: int | None,
              stream: _Stream | None = None, whole: bool = True) -> tuple[str, float, float]:
        """(method, mean wait ms of admitted calls, blocking probability) for one node (`whole`), or for one pool
        of its workers that `stream` (at each replica) feeds."""
        d = self.d
        hold, hold_var, independent = h.mean, h.var, h.independent
        hold_s = hold / 1000.0
        stream = stream or self.streams[n]
        if whole and n in d.never_waits:
            return "never waits", 0.0, 0.0
        if not self.detail:  # the saturation search: unbounded queues, the open estimate, the callers' bound
            cs2 = hold_var / hold ** 2 if hold > 0 else 0.0
            ca2 = stream.ca2
            wait = mmc_wait(c, lam / r, hold_s, (ca2 + cs2) / 2) * 1000.0
            capped = self._callers_bound(n, hold) if whole and wait > 0.05 * hold else None   # only near saturation
            return "Allen-Cunneen", wait if capped is None else min(wait, capped), 0.0
        pair = self._pair_figures(n, lam) if whole else None
        if pair is not None:
            return pair
        if stream.shape == "pooled":
            c, slots, lam_r = c * r, None if slots is None else slots * r, lam
        else:
            lam_r = lam / r
        cs2 = hold_var / hold ** 2 if hold > 0 else 0.0
        exp_hold = h.exponential
        offered = lam_r * hold_s
        if offered < c and erlang_c(c, offered) < NEGLIGIBLE:
            return "wait negligible", 0.0, 0.0
        finite = queueing.mmck(c, None if slots is None else c + slots, lam_r, hold_s)
        blocking = finite.blocking if slots is not None else 0.0
        unbounded = slots is None or blocking < NEGLIGIBLE
        if stream.shape == "pooled":
            method = "pooled replicas"
        elif stream.shape == "poisson" and exp_hold:
            method = "M/M/c" if unbounded else "M/M/c/K"
            return method, (mmc_wait(c, lam_r, hold_s) if unbounded else finite.wait) * 1000.0, blocking
        elif stream.shape == "poisson" and c == 1 and unbounded and independent:
            rho = lam_r * hold_s
            wait = math.inf if rho >= 1 else rho / (1 - rho) * hold * (1 + cs2) / 2
            return "M/G/1", wait, 0.0
        elif stream.shape in ("erlang", "constant") and exp_hold and unbounded and c == 1:
            return "GI/M/c", queueing.gim_c_wait(c, lam_r, hold_s, stream.ca2) * 1000.0, 0.0
        else:
            method = "Allen-Cunneen" if unbounded else "Allen-Cunneen, finite queue"
        scale = (stream.ca2 + cs2) / 2
        if unbounded:
            wait = mmc_wait(c, lam_r, hold_s, scale) * 1000.0
        else:  # the M/M/c/K wait of admitted calls, scaled, and never beyond a full queue's
            wait = min(finite.wait * scale, slots * hold_s / c) * 1000.0 if slots is not None else math.inf
        capped = self._callers_bound(n, hold) if whole and wait > 0.05 * hold else None
        if capped is not None and capped < wait:
            return "finite callers (MVA bound)", capped, blocking
        return method, wait, blocking

    def _pair_figures(self, n: str, lam: float) -> tuple[str, float, float] | None:
        """The exact chain's figures when n is a caller or the callee of a pair (None otherwise)."""
        d = self.d
        callee = {t: u for u, t in d.pairs.items()}
        caller = n if n in d.pairs else callee.get(n)
        if caller is None or self.streams[caller].shape != "poisson":
            return None
        t = d.pairs[caller]
        (e, f), = d.out[caller]
        lam_u = self.rate * self.visits[caller]
        key = (caller, round(lam_u, 12))
        if key not in self.chains:
            self.chains[key] = caller_callee_chain(
                lam_u, d.per_replica(caller), d.kind(caller).waiting_slots(d.s.nodes[caller]),
                d.own(caller)[0] / 1000.0, f, e.latency_ms / 1000.0, d.per_replica(t), d.own(t)[0] / 1000.0,
                max_states=800)
        chain = self.chains[key]
        if chain is None:
            return None
        method = "caller-callee chain" if e.latency_ms == 0 else "caller-callee chain, latency as one phase"
        if n == caller:
            return method, chain.caller_wait * 1000.0, chain.blocking
        return method, chain.callee_wait * 1000.0, 0.0

    def _callers_bound(self, n: str, hold: float) -> float | None:
        """The wait at n were every worker of its callers cycling through it at once: a closed network of that
        many customers (MVA). Nobody can wait longer than that; None when its callers are not all worker-bound."""
        d = self.d
        if n == d.s.workload.entry or d.caps[n].replicas != 1 or not d.into[n] or d.kind(n).asynchronous:
            return None
        population = 0
        cycle = 0.0
        for u, e, f in d.into[n]:
            if not d.caps[u].servers or e.resilient:
                return None
            population += d.caps[u].servers
            cycle = max(cycle, d.own(u)[0] + 2 * e.latency_ms)
        if population > 10_000:
            return None
        return _finite_callers_wait(hold, d.per_replica(n), cycle, population)


def _pooled(parts: list[tuple[float, float, int, _ClassWaits]], servers: int) -> _ClassWaits:
    """A station's waits from its pools' (rate per s, mean hold s, workers in all replicas, waits): the least
    exact method, calls turned away and waits over every pool's calls, the busiest pool's offered load."""
    lam = math.fsum(x for x, _, _, _ in parts)
    admitted = [(x * (1 - w.blocking), w) for x, _, _, w in parts]
    taken = math.fsum(a for a, _ in admitted)
    if any(a > 0 and not math.isfinite(w.wait) for a, w in admitted):
        wait = math.inf
    else:
        wait = math.fsum(a * w.wait for a, w in admitted if a > 0) / taken if taken > 0 else 0.0
    method = max((w.method for *_, w in parts), key=lambda m: (not METHODS[m].exact, METHODS[m].wait_band))
    return _ClassWaits(
        method, wait, math.fsum(x * w.blocking for x, _, _, w in parts) / lam if lam > 0 else 0.0,
        {k: v for *_, w in parts for k, v in w.waits.items()}, {k: v for *_, w in parts for k, v in w.p_wait.items()},
        {k: v for *_, w in parts for k, v in w.utilization.items()}, next((w.reason for *_, w in parts if w.reason), ""),
        max(x * hold / workers for x, hold, workers, _ in parts),
        math.fsum(min(x * (1 - w.blocking) * hold, workers) for x, hold, workers, w in parts) / servers)


@functools.lru_cache(maxsize=4096)
def _finite_callers_wait(hold: float, servers: int, cycle: float, population: int) -> float:
    """The wait (ms) at a station of `servers` held `hold` ms, were `population` callers cycling through it,
    each `cycle` ms away between calls (MVA; cached: the fixed point asks again with the same figures)."""
    closed = mva([Station("callee", hold / 1000.0, servers)], cycle / 1000.0, population)
    return max(0.0, closed.response * 1000.0 - hold)


def evaluate(s: Scenario, rate: float, detail: bool = True, design: Design | None = None) -> dict[str, NodeEstimate]:
    """Per-node estimates at entry rate `rate`; `detail` False for the saturation search (unbounded queues)."""
    d = design or Design(s)
    result = _Evaluation(d, rate, detail).run()
    if detail:
        for n, reason in d.scope.items():
            est = result[n]
            result[n] = replace(est, accuracy="none", reason=reason,
                                classes={k: replace(c, accuracy="none") for k, c in est.classes.items()})
    return result
