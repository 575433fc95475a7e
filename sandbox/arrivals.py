"""Arrivals: the SimPy processes that create requests (open arrivals or closed-loop users).

Open arrivals come at ``rate_rps`` whatever the system does: ``poisson`` draws
exponential gaps, ``constant`` spaces them evenly. A ``profile`` makes the rate
vary over time; Poisson arrivals then use thinning (draw at the peak rate,
keep each with probability rate(t) / peak), which gives an exact
non-homogeneous Poisson process. ``mmpp`` arrivals are Poisson at the rate of
a hidden state that switches after exponential sojourns (drawn from a stream of
their own, so the gaps keep the "arrivals" stream); ``replay`` makes one
request at each listed time. Closed-loop ``users`` each send a request, wait
for its answer, think for an exponential time, and send again, so the load
falls when the system slows down.
"""

from __future__ import annotations

import math
from typing import Callable, Generator

from simpy import Environment, Timeout

from .randomness import Streams
from .workload import Mmpp, Replay, Workload

__all__ = ["open_arrivals", "mmpp_arrivals", "replayed_arrivals", "closed_loop_user"]

_IDLE_STEP_S = 0.01   # how often constant arrivals look again while the rate is zero
_MIN_CYCLE_S = 1e-6   # the shortest request-think cycle of a closed-loop user

Start = Callable[[float], None]                     # begin one request arriving now
Visit = Callable[[float], Generator]                # one request, as a generator, for closed loops


def open_arrivals(env: Environment, workload: Workload, streams: Streams, start: Start) -> Generator:
    """Arrivals until duration_s, calling `start(now)` for each."""
    end = workload.duration_s
    profile = workload.profile
    if isinstance(workload.arrival, Mmpp):
        yield from mmpp_arrivals(env, workload.arrival, end, streams, start)
        return
    if isinstance(workload.arrival, Replay):
        yield from replayed_arrivals(env, workload.arrival, end, start)
        return
    if workload.arrival == "constant":
        while True:
            rate = workload.rate_at(env.now)
            if rate <= 0:  # a trough of zero load: look again a little later
                if env.now + _IDLE_STEP_S >= end:
                    return
                yield Timeout(env, _IDLE_STEP_S)
                continue
            spacing = 1.0 / rate
            if env.now + spacing >= end:
                return
            yield Timeout(env, spacing)
            start(env.now)
    peak = workload.peak_rate()
    gap = streams.sampler("arrivals", "exponential", 1.0 / peak)
    if profile is None:
        while True:
            dt = gap()
            if env.now + dt >= end:
                return
            yield Timeout(env, dt)
            start(env.now)
    keep = streams.sampler("arrivals:thinning", "random")
    rate_at = workload.rate_at
    while True:
        dt = gap()
        if env.now + dt >= end:
            return
        yield Timeout(env, dt)
        if keep() * peak < rate_at(env.now):
            start(env.now)


def mmpp_arrivals(env: Environment, mmpp: Mmpp, end: float, streams: Streams, start: Start) -> Generator:
    """Poisson arrivals at the current state's rate; the state switches after exponential sojourns."""
    unit_gap = streams.sampler("arrivals", "exponential", 1.0)              # scaled by each state's rate
    sojourn = streams.sampler("arrivals:mmpp:state", "exponential", 1.0)   # scaled by each state's mean
    state = 0 if streams.generator("arrivals:mmpp:start").random() < mmpp.shares()[0] else 1
    rates, means = mmpp.rates_rps, mmpp.mean_sojourn_s
    t = env.now
    left = sojourn() * means[state]   # time left in the current state
    while True:
        rate = rates[state]
        gap = unit_gap() / rate if rate > 0 else math.inf
        if gap >= left:  # the state ends first; gaps are memoryless, so the next one starts afresh there
            t += left
            if t >= end:
                return
            state = 1 - state
            left = sojourn() * means[state]
            continue
        t += gap
        left -= gap
        if t >= end:
            return
        yield Timeout(env, max(0.0, t - env.now))
        start(env.now)


def replayed_arrivals(env: Environment, replay: Replay, end: float, start: Start) -> Generator:
    """One request at each listed time before `end` (the list is sorted)."""
    for t in replay.times_s:
        if t >= end:
            return
        if t > env.now:
            yield Timeout(env, t - env.now)
        start(env.now)


def closed_loop_user(env: Environment, workload: Workload, think: Callable[[], float],
                     visit: Visit) -> Generator:
    """One user: think, send a request and wait for its answer, until duration_s."""
    end = workload.duration_s
    while True:
        pause = think()
        if env.now + pause >= end:
            return
        if pause:
            yield Timeout(env, pause)
        sent = env.now
        yield from visit(sent)
        if env.now == sent and not pause:
            # a request answered in no time with no think time would loop forever at
            # one instant: a real request-think cycle takes at least a microsecond
            yield Timeout(env, _MIN_CYCLE_S)
