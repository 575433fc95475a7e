"""Resilient calls: timeouts, retries with backoff, circuit breakers and hedging on one edge.

A :class:`Policy` wraps the calls over one edge that asks for any of these; an
edge without them never touches this module, so the mechanisms cost nothing
when unused.

- **Timeout**: the caller stops waiting after ``timeout_ms``. The callee is not
  told: its work goes on and, when it finishes, is counted as wasted.
- **Retries**: a failed attempt whose cause is in ``retry_on`` is tried again,
  up to ``retries`` more times, after ``backoff`` (exponential, optionally with
  full jitter). Each attempt is counted, so the amplification factor (attempts
  per call) shows how retries multiply load.
- **Circuit breaker**: after too many failures (a ratio over recent calls, or a
  run of consecutive failures) the caller stops calling for ``open_s`` and fails
  at once ("circuit open"); then it lets ``half_open_probes`` calls through and
  closes again only if they succeed.
- **Hedging**: if the first copy has not answered after ``hedge_after_ms``, a
  second is sent; the first answer wins and the other is abandoned (wasted).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from simpy import AnyOf, Environment, Timeout

from .base import Failure, OutEdge, Request, Serve, plain_call

if TYPE_CHECKING:  # pragma: no cover
    from ..calls import CircuitBreaker, Edge
    from ..randomness import Draw

__all__ = ["Policy", "Breaker", "EdgeCounters", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"


class EdgeCounters:
    """What happened to the calls over one resilient edge (measured requests only)."""

    __slots__ = ("attempts", "successes", "retries", "by_cause", "wasted_calls", "wasted_s", "hedges",
                 "hedge_wins", "short_circuited")

    def __init__(self) -> None:
        self.attempts = self.successes = self.retries = 0
        self.by_cause: dict[str, int] = {}
        self.wasted_calls = 0
        self.wasted_s = 0.0
        self.hedges = self.hedge_wins = 0
        self.short_circuited = 0


class Breaker:
    """A circuit breaker's state machine, with every state change logged."""

    def __init__(self, env: Environment, spec: "CircuitBreaker") -> None:
        self.env = env
        self.ratio = spec.failure_ratio
        self.window = spec.window
        self.min_calls = spec.min_calls
        self.consecutive_limit = spec.consecutive_failures
        self.open_s = spec.open_s
        self.probes = spec.half_open_probes
        self.state = CLOSED
        self.recent: deque[bool] = deque(maxlen=self.window)  # True = failure
        self.failures_in_window = 0
        self.consecutive = 0
        self.opened_at = 0.0
        self.probes_sent = self.probes_ok = 0
        self.transitions: list[tuple[float, str]] = []
        self.times_opened = 0

    def _set(self, state: str) -> None:
        self.state = state
        self.transitions.append((self.env.now, state))

    def allow(self) -> bool:
        """May a call go through now?"""
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            if self.env.now - self.opened_at < self.open_s:
                return False
            self._set(HALF_OPEN)
            self.probes_sent = self.probes_ok = 0
        if self.probes_sent < self.probes:
            self.probes_sent += 1
            return True
        return False

    def record(self, ok: bool) -> None:
        """The outcome of a call that was allowed through."""
        if self.state == HALF_OPEN:
            if not ok:
                self._open()
                return
            self.probes_ok += 1
            if self.probes_ok >= self.probes:
                self._set(CLOSED)
                self.recent.clear()
                self.failures_in_window = self.consecutive = 0
            return
        if self.state == OPEN:
            return  # a late answer to a call made before the breaker opened
        if len(self.recent) == self.window and self.recent[0]:
            self.failures_in_window -= 1
        self.recent.append(not ok)
        if ok:
            self.consecutive = 0
            return
        self.failures_in_window += 1
        self.consecutive += 1
        by_run = self.consecutive_limit is not None and self.consecutive >= self.consecutive_limit
        by_ratio = (self.ratio is not None and len(self.recent) >= self.min_calls
                    and self.failures_in_window >= self.ratio * len(self.recent))
        if by_run or by_ratio:
            self._open()

    def _open(self) -> None:
        self.opened_at = self.env.now
        self.times_opened += 1
        self._set(OPEN)

    def open_seconds(self, start: float, end: float) -> float:
        """Time spent open (or half-open) within [start, end]."""
        total, since = 0.0, None
        for t, state in self.transitions:
            if state != CLOSED and since is None:
                since = t
            elif state == CLOSED and since is not None:
                total += max(0.0, min(t, end) - max(since, start))
                since = None
        if since is not None:
            total += max(0.0, end - max(since, start))
        return total


class _Try:
    """One copy of a call in flight; `abandoned` once the caller stops waiting for it."""

    __slots__ = ("start", "abandoned", "process")

    def __init__(self, start: float) -> None:
        self.start = start
        self.abandoned = False
        self.process: Any = None


class Policy:
    """Timeouts, retries, a circuit breaker and hedging for the calls over one edge."""

    def __init__(self, env: Environment, edge: OutEdge, spec: "Edge", jitter: "Draw") -> None:
        self.env = env
        self.edge = edge
        self.timeout_s = spec.timeout_ms / 1000.0 if spec.timeout_ms else None
        self.hedge_s = spec.hedge_after_ms / 1000.0 if spec.hedge_after_ms else None
        self.retries = spec.retries
        self.retry_on = frozenset(spec.retry_on)
        b = spec.backoff
        self.backoff = (b.base_ms / 1000.0, b.multiplier, b.max_ms / 1000.0, b.jitter == "full") if b else None
        self.jitter = jitter
        self.breaker = Breaker(env, spec.circuit_breaker) if spec.circuit_breaker else None
        self.counters = EdgeCounters()
        target = spec.target
        self.timed_out = Failure("failed", target, f"timed out after {spec.timeout_ms:g} ms ({spec.source} gave up)",
                                 "timeout") if spec.timeout_ms else None
        self.circuit_open = Failure("failed", target, f"circuit open ({spec.source} stopped calling)", "circuit_open")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if self.backoff is None:
            return 0.0
        base, multiplier, cap, full_jitter = self.backoff
        d = min(cap, base * multiplier ** (attempt - 1))
        return self.jitter() * d if full_jitter else d

    def call(self, request: Request) -> Serve:
        """The whole call: attempts, waits between them, and the breaker's say."""
        env = self.env
        c = self.counters
        measured = request.measured
        breaker = self.breaker
        attempt = 0
        while True:
            if breaker is not None and not breaker.allow():
                if measured:
                    c.short_circuited += 1
                    c.by_cause["circuit_open"] = c.by_cause.get("circuit_open", 0) + 1
                return self.circuit_open
            attempt += 1
            if measured:
                c.attempts += 1
                if attempt > 1:
                    c.retries += 1
            if self.timeout_s is None and self.hedge_s is None:
                failure = yield from self._attempt(request, None)
            else:
                failure = yield from self._guarded(request)
            if breaker is not None:
                breaker.record(failure is None)
            if failure is None:
                if measured:
                    c.successes += 1
                return None
            if measured:
                c.by_cause[failure.cause] = c.by_cause.get(failure.cause, 0) + 1
            if attempt > self.retries or failure.cause not in self.retry_on:
                return failure
            pause = self.delay(attempt)
            if pause > 0:
                yield Timeout(env, pause)

    def _attempt(self, request: Request, attempt: _Try | None) -> Serve:
        """One copy of the call; a copy the caller abandoned counts as wasted when it ends."""
        env = self.env
        failure = yield from plain_call(env, request, self.edge)
        if attempt is not None and attempt.abandoned and request.measured:
            self.counters.wasted_calls += 1
            self.counters.wasted_s += env.now - attempt.start
        return failure

    def _start(self, request: Request) -> _Try:
        t = _Try(self.env.now)
        t.process = self.env.process(self._attempt(request.branch(), t))
        return t

    def _guarded(self, request: Request) -> Serve:
        """An attempt raced against its timeout, with a hedge copy if the first is slow."""
        env = self.env
        tries = [self._start(request)]
        deadline = Timeout(env, self.timeout_s) if self.timeout_s is not None else None
        watch = [tries[0].process] + ([deadline] if deadline is not None else [])
        if self.hedge_s is not None:
            timer = Timeout(env, self.hedge_s)
            fired = yield AnyOf(env, watch + [timer])
            if tries[0].process not in fired and (deadline is None or deadline not in fired):
                tries.append(self._start(request))
                if request.measured:
                    self.counters.hedges += 1
                watch = [t.process for t in tries] + ([deadline] if deadline is not None else [])
                fired = yield AnyOf(env, watch)
        else:
            fired = yield AnyOf(env, watch)
        winner = next((t for t in tries if t.process in fired), None)
        for t in tries:
            if t is not winner:
                t.abandoned = True
        if winner is None:
            return self.timed_out
        if winner is not tries[0] and request.measured:
            self.counters.hedge_wins += 1
        return winner.process.value
