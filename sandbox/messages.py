"""Validation messages: pydantic's errors as (field path, reason) in plain words.

Turns each pydantic error into the dotted path the user wrote (leaving out the
union tags pydantic inserts) and a reason with the bad value in it, such as
``nodes.db.workers: must be at least 1, got 0``, or for an unknown field, the
fields that are allowed there.
"""

from __future__ import annotations

import reprlib
from typing import Any

from pydantic import BaseModel, ValidationError

from .architecture import (Autoscale, Backoff, CacheNode, CircuitBreaker, Constant, Edge, Exponential, Fault,
                           LoadBalancerNode, Lognormal, QueueNode, RateLimiterNode, ServiceNode, Uniform)
from .challenge_spec import Challenge, Constraints, Prediction, Solution

__all__ = ["explain", "shown"]

_TAGS = {"service", "database", "cache", "load_balancer", "queue", "rate_limiter",
         "exponential", "constant", "lognormal", "uniform",
         "spike", "step", "ramp", "diurnal", "function-after", "function-before"}


def _part(name: Any) -> str:
    """One step of a path, shortened when it is very long (a 100,000-character key)."""
    text = str(name)
    return text if len(text) <= 64 else f"{text[:40]}...{text[-12:]}"


def _field_path(loc: tuple[Any, ...], data: Any) -> str:
    """Dotted path from a pydantic location, leaving out union tags pydantic inserts."""
    parts: list[str] = []
    cursor = data
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
            cursor = cursor[item] if isinstance(cursor, list) and item < len(cursor) else None
            continue
        if isinstance(cursor, dict) and item in cursor:
            parts.append(_part(item))
            cursor = cursor[item]
        elif item in _TAGS or str(item).startswith(("function-", "tagged-union")):
            continue  # a union branch name, not a field the user wrote
        else:
            parts.append(_part(item))
            cursor = None
    return ".".join(parts)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 2, 4, 4, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40


def shown(value: Any) -> str:
    """A value as a message shows it: a few elements and characters at most, built bounded
    (never the whole repr cut short: a value of a billion elements costs what four do).

    >>> shown(list(range(1000))), shown("x" * 100)
    ('[0, 1, 2, 3, ...]', "'xxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'")
    """
    return _REPR.repr(value)


_BY_TAG: dict[str, type[BaseModel]] = {
    "service": ServiceNode, "database": ServiceNode, "cache": CacheNode, "load_balancer": LoadBalancerNode,
    "queue": QueueNode, "rate_limiter": RateLimiterNode, "exponential": Exponential, "constant": Constant,
    "lognormal": Lognormal, "uniform": Uniform,
}


def _allowed_fields(parent: tuple[Any, ...]) -> list[str]:
    """The field names the model at pydantic location `parent` accepts (for 'unknown field')."""
    from .scenario import Diurnal, Ramp, Scenario, Spike, Step, Workload  # they import this module
    by_tag = {**_BY_TAG, "spike": Spike, "step": Step, "ramp": Ramp, "diurnal": Diurnal}
    model: type[BaseModel] | None = Scenario
    if parent and parent[-1] in by_tag:
        model = by_tag[parent[-1]]
    elif parent and parent[-1] == "workload":
        model = Workload
    elif len(parent) == 2 and parent[0] == "edges":
        model = Edge
    elif parent and parent[-1] in ("backoff", "circuit_breaker", "autoscale", "challenge", "constraints", "solution"):
        model = {"backoff": Backoff, "circuit_breaker": CircuitBreaker, "autoscale": Autoscale, "challenge": Challenge,
                 "constraints": Constraints, "solution": Solution}[parent[-1]]
    elif len(parent) >= 2 and parent[-2] == "predict":
        model = Prediction
    elif len(parent) >= 2 and parent[-2] == "failures":
        model = Fault
    elif parent:
        model = None
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def explain(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    """One (field path, reason) per pydantic error, in plain words with the bad value."""
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        path = _field_path(tuple(err["loc"]), data)
        kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
        if kind == "greater_than_equal":
            reason = f"must be at least {ctx['ge']:g}, got {shown(value)}"
        elif kind == "greater_than":
            reason = f"must be more than {ctx['gt']:g}, got {shown(value)}"
        elif kind == "less_than_equal":
            reason = f"must be at most {ctx['le']:g}, got {shown(value)}"
        elif kind == "less_than":
            reason = f"must be less than {ctx['lt']:g}, got {shown(value)}"
        elif kind == "extra_forbidden":
            allowed = _allowed_fields(tuple(err["loc"][:-1]))
            reason = "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        elif kind == "missing":
            reason = "is required"
        elif kind == "union_tag_invalid":
            reason = (f"unknown {ctx.get('discriminator', 'tag').strip(chr(39))} {shown(ctx.get('tag'))}; "
                      f"expected one of {ctx.get('expected_tags')}")
        elif kind == "union_tag_not_found":
            reason = f"needs a {ctx.get('discriminator', 'tag').strip(chr(39))} field"
        elif kind == "literal_error":
            reason = f"must be one of {ctx.get('expected')}, got {shown(value)}"
        elif kind == "value_error":
            reason = str(ctx.get("error", err["msg"]))
        elif kind in ("int_parsing", "int_type", "int_from_float"):
            reason = f"must be a whole number, got {shown(value)}"
        elif kind in ("float_parsing", "float_type"):
            reason = f"must be a number, got {shown(value)}"
        elif kind == "finite_number":
            reason = f"must be a finite number, got {shown(value)}"
        elif kind == "string_too_long":
            reason = f"must be at most {ctx['max_length']:,} characters, got {len(value):,}" if isinstance(value, str) \
                else f"is too long ({shown(value)})"
        elif kind == "too_long":
            reason = f"must hold at most {ctx.get('max_length', 0):,} items, got {ctx.get('actual_length', 0):,}"
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            reason = f"must be a mapping, got {shown(value)}"
        elif kind in ("string_type", "string_sub_type"):
            reason = f"must be text, got {shown(value)}"
        else:
            msg = str(err["msg"])[:200]
            reason = msg[0].lower() + msg[1:] if msg else kind
        problems.append((path, reason))
    return problems
