"""Components: the compiled, runnable form of each node kind, one module per kind.

- :mod:`.station`: services, databases and caches (replicas x workers, bounded queues).
- :mod:`.load_balancer`: pass-through nodes choosing replicas by policy.
- :mod:`.queue`: asynchronous message queues with consumers.
- :mod:`.base`: requests, failures, statistics and the call machinery they share.
"""

from .base import Component, Failure, NodeStats, OutEdge, Request
from .load_balancer import POLICIES, LoadBalancer, make_picker
from .queue import MessageQueue
from .station import Cache, Replica, Station

__all__ = ["Component", "Failure", "NodeStats", "OutEdge", "Request", "POLICIES", "LoadBalancer",
           "make_picker", "MessageQueue", "Cache", "Replica", "Station"]
