"""Rate limiters: a token bucket in front of the nodes it protects.

The bucket holds up to ``burst`` tokens and refills at ``rate_rps`` tokens per
second. A call that finds a token takes it and passes through (like a load
balancer, choosing replicas round-robin); a call that finds none is rejected at
once with the cause ``rate_limited``, which costs the protected node nothing.
"""

from __future__ import annotations

from simpy import Environment

from ..randomness import Draw
from .base import Failure, Request, Serve, Span
from .load_balancer import LoadBalancer

__all__ = ["RateLimiter"]


class RateLimiter(LoadBalancer):
    """A token bucket that passes calls through while tokens last."""

    def __init__(self, env: Environment, name: str, kind: str, rate_rps: float, burst: int, route: Draw) -> None:
        super().__init__(env, name, kind, "round_robin", route)
        self.rate = rate_rps
        self.burst = float(burst)
        self.tokens = float(burst)
        self.t_fill = 0.0
        self.limited = Failure("rejected", name, f"rate limited ({rate_rps:g} rps, burst {burst})", "rate_limited")

    def serve(self, request: Request, replica: object) -> Serve:
        now = self.env.now
        self.tokens = min(self.burst, self.tokens + (now - self.t_fill) * self.rate)
        self.t_fill = now
        if self.tokens < 1.0:
            if request.measured:
                self.stats.arrived += 1
                self.stats.rejected += 1
            spans = request.spans
            if spans is not None:
                spans.close(request, Span(self.name, 0, now, now, now, "rejected", spans.open(request)))
            return self.limited
        self.tokens -= 1.0
        return (yield from super().serve(request, replica))
