"""Validation messages: pydantic's errors as (field path, reason) in plain words.

Turns each pydantic error into the dotted path the user wrote (leaving out the
union tags pydantic inserts, such as a node's kind) and a reason with the bad
value in it, such as ``nodes.db.workers: must be at least 1, got 0``, or for an
unknown field, the fields that are allowed there. The path is read by walking
the root model's types along pydantic's location, so no model needs listing
here, and values are shown bounded (:func:`shown`): a value of a billion
elements costs what four do.
"""

from __future__ import annotations

import reprlib
import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ValidationError

__all__ = ["explain", "shown"]

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 2, 4, 4, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40


def shown(value: Any) -> str:
    """A value as a message shows it: a few elements and characters at most, built bounded
    (never the whole repr cut short).

    >>> shown(list(range(1000))), shown("x" * 100)
    ('[0, 1, 2, 3, ...]', "'xxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'")
    """
    return _REPR.repr(value)


def _part(name: Any) -> str:
    """One step of a path, shortened when it is very long (a 100,000-character key)."""
    text = str(name)
    return text if len(text) <= 64 else f"{text[:40]}...{text[-12:]}"


# ── walking the models' types along a pydantic location ──────────────────────

def _unwrap(tp: Any) -> Any:
    """The type inside Annotated[...]."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _members(tp: Any) -> tuple[Any, ...]:
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        return tuple(_unwrap(m) for m in typing.get_args(tp) if m is not type(None))
    return (tp,)


def _tag_of(model: Any, tag: Any) -> bool:
    """Does `model` (a union member) carry `tag` as its discriminator value?"""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return False
    for field in model.model_fields.values():
        ann = _unwrap(field.annotation)
        if typing.get_origin(ann) is typing.Literal and tag in typing.get_args(ann):
            return True
    return False


def _step(tp: Any, item: Any) -> tuple[Any, bool]:
    """The type one step into `tp` along location item `item`, and whether the item was a union tag
    (which pydantic inserts and the user never wrote)."""
    if isinstance(item, str) and item.startswith(("function-", "tagged-union")):
        return tp, True
    members = _members(tp)
    if len(members) > 1:
        for m in members:
            if _tag_of(m, item):
                return m, True
    tp = members[0] if members else tp
    origin = typing.get_origin(tp)
    if origin in (list, tuple) and isinstance(item, int):
        args = typing.get_args(tp)
        return (args[0] if args else None), False
    if origin is dict:
        args = typing.get_args(tp)
        return (args[1] if len(args) == 2 else None), False
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(item, str):
        for name, field in tp.model_fields.items():
            if item in (name, field.alias):
                return field.annotation, False
    return None, False


def _field_path(loc: tuple[Any, ...], data: Any, root: type[BaseModel] | None) -> str:
    """Dotted path from a pydantic location, leaving out union tags pydantic inserts."""
    parts: list[str] = []
    tp: Any = root
    for item in loc:
        tp, is_tag = _step(tp, item) if tp is not None else (None, False)
        if is_tag:
            continue
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
            data = data[item] if isinstance(data, list) and item < len(data) else None
            continue
        parts.append(_part(item))
        data = data.get(item) if isinstance(data, dict) else None
    return ".".join(parts)


def _allowed_fields(parent: tuple[Any, ...], root: type[BaseModel] | None) -> list[str]:
    """The field names the model at pydantic location `parent` accepts (for 'unknown field')."""
    tp: Any = root
    for item in parent:
        if tp is None:
            return []
        tp = _step(tp, item)[0]
    members = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel)] if tp is not None else []
    if len(members) != 1:
        return []
    return [f.alias or n for n, f in members[0].model_fields.items()]


# ── the messages ─────────────────────────────────────────────────────────────

def explain(exc: ValidationError, data: Any, root: type[BaseModel] | None = None) -> list[tuple[str, str]]:
    """One (field path, reason) per pydantic error, in plain words with the bad value.

    `root` is the model that validated `data` (for paths through unions and for
    the fields allowed where an unknown one was given).
    """
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        path = _field_path(tuple(err["loc"]), data, root)
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
            allowed = _allowed_fields(tuple(err["loc"][:-1]), root)
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
