"""Components: the runtime pieces the node kinds are compiled into (see :mod:`sandbox.kinds`).

- :mod:`.station`: services, databases and caches (replicas x workers, bounded queues).
- :mod:`.load_balancer`: pass-through nodes choosing replicas by policy.
- :mod:`.queue`: asynchronous message queues with consumers.
- :mod:`.rate_limiter`: token buckets that reject calls over a rate.
- :mod:`.resilience`: timeouts, retries, circuit breakers and hedging on an edge.
- :mod:`.faults`: scheduled outages, slowdowns and error bursts.
- :mod:`.autoscaler`: target-tracking replica counts with cold starts.
- :mod:`.base`: requests, failures, statistics and the call machinery they share.
"""

from .base import MAX_SPANS, Component, Failure, NodePoint, NodeStats, OutEdge, Request, Span, Spans
from .load_balancer import POLICIES, LoadBalancer, make_picker
from .queue import MessageQueue
from .rate_limiter import RateLimiter
from .resilience import Breaker, Policy
from .station import Cache, Replica, Station

__all__ = ["Component", "Failure", "NodePoint", "NodeStats", "OutEdge", "Request", "Span", "Spans", "MAX_SPANS", "POLICIES", "LoadBalancer",
           "make_picker", "MessageQueue", "Cache", "Replica", "Station", "RateLimiter", "Breaker", "Policy"]
