"""The base of every spec: frozen pydantic models that refuse unknown fields and non-finite numbers.

Every part of a scenario (a node, a call, a workload, a service-time
distribution) is a :class:`Model`: validated where it enters, immutable after,
serialised under the names the YAML uses. The bounds that several specs share
live here too.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Model", "MAX_RATE_RPS", "MAX_PROCESSES", "MAX_MS", "MAX_S", "MAX_PRICE", "MAX_COUNT"]

MAX_RATE_RPS = 1e8        # requests per second: far above any system simulated one event at a time
MAX_PROCESSES = 100_000   # closed-loop users and queue consumers: each is a simulated process
MAX_MS = 1e9              # any time in milliseconds (11.6 days): finite numbers like 1e308 overflow the figures
MAX_S = 1e7               # any time in seconds: as long as the longest run
MAX_PRICE = 1e6           # dollars per replica-hour
MAX_COUNT = 1_000_000_000  # messages, waiting slots, tokens


class Model(BaseModel):
    """A spec: unknown fields refused, frozen, YAML names (``from``) and Python names (``source``) both accepted."""
    # allow_inf_nan=False: .inf and .nan are refused wherever a number goes ("must be a finite number")
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True, allow_inf_nan=False)
