"""Routing: which of a node's calls a request makes, when its class or a one-of choice decides.

By default each call is its own coin flip (``route: each``), taken by every
class, and :meth:`Component.call_edges` does that inline. A node gets a
:class:`Chooser` only when something else decides:

- calls taken by some classes only (an edge's ``classes``);
- ``route: one``: exactly one call is made, its probability its share;
- a weighted load balancer: exactly one call, by weight.

A chooser picks from the calls the request's class may take (worked out once
per list of calls and class), drawing from the node's own route stream.
"""

from __future__ import annotations

from typing import Literal

from ..randomness import Draw
from .base import OutEdge, Request

__all__ = ["Chooser", "Mode"]

Mode = Literal["each", "one", "weight"]


class Chooser:
    """Picks the calls one request makes from a list of a node's calls."""

    __slots__ = ("route", "mode", "memo")

    def __init__(self, route: Draw, mode: Mode) -> None:
        self.route = route
        self.mode = mode
        self.memo: dict[tuple[int, int], tuple[list[OutEdge], list[float]]] = {}

    def _candidates(self, edges: list[OutEdge], cls: int) -> tuple[list[OutEdge], list[float]]:
        """The calls class `cls` may take, and the upper end of each one's slice of [0, 1) for a one-of choice."""
        taken = [e for e in edges if e.classes is None or cls in e.classes]
        sizes = [e.weight if self.mode == "weight" else e.probability for e in taken]
        total = sum(sizes) or 1.0
        ends, acc = [], 0.0
        for size in sizes:
            acc += size / total
            ends.append(acc)
        if ends:
            ends[-1] = float("inf")  # rounding never leaves a draw without a call
        return taken, ends

    def __call__(self, request: Request, edges: list[OutEdge]) -> list[OutEdge]:
        key = (id(edges), request.cls)  # the lists are the component's own, alive for the whole run
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self._candidates(edges, request.cls)
        taken, ends = found
        route = self.route
        if self.mode == "each":
            return [e for e in taken if e.probability >= 1.0 or route() < e.probability]
        if not taken:
            return taken
        u = route()
        for edge, end in zip(taken, ends):
            if u < end:
                return [edge]
        return [taken[-1]]  # pragma: no cover - the last end is infinite
