"""Findings: what the analysis notices about a design, one sentence each.

A :class:`Finding` is a warning (something will go wrong: an unreachable
node, a saturated one, a queue nobody consumes) or information (a cycle, a
node predicted busy, a scheduled fault). The analysis makes the findings every
design can have; each node kind adds its own (see :mod:`sandbox.kinds`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding"]


@dataclass(frozen=True)
class Finding:
    """Something the analysis noticed: level is "warning" or "info"."""
    level: str
    topic: str
    node: str | None
    message: str
