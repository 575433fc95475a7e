"""Reading YAML safely: bounded files, no aliases, no duplicate keys, nothing executed.

Every design file the sandbox reads comes through here. The loader is PyYAML's
safe loader (libyaml's ``CSafeLoader`` where it is installed, which parses many
times faster than the pure-Python one), so tags such as ``!!python/object``
are refused and nothing is ever constructed but plain data. On top of it:

- **No aliases.** ``&anchor`` / ``*alias`` let 500 bytes expand into billions
  of values (the "billion laughs"); designs have no use for them, so the first
  alias is refused, naming its line.
- **No duplicate keys.** YAML keeps the last of two equal keys silently, so a
  node given twice would lose the first; both are named instead.
- **Bounded files.** Only regular files (not ``/dev/zero`` or a pipe) of at
  most :data:`MAX_FILE_BYTES` (1 MiB) are read.
- **Bounded nesting.** Input nested deeper than Python can construct gives a
  message, not a ``RecursionError``.

Problems are raised as :class:`~sandbox.errors.ScenarioError` naming the
source, the line and the reason.

>>> parse("a: 1\\nb: [2, 3]\\n")
{'a': 1, 'b': [2, 3]}
>>> parse("a: &x 1\\nb: *x\\n")
Traceback (most recent call last):
...
sandbox.errors.ScenarioError: <text>: line 1, column 4: the value anchored here (&name) is used again through a YAML alias (*name); aliases are not allowed in a design: write the value out
>>> parse("a: 1\\na: 2\\n")
Traceback (most recent call last):
...
sandbox.errors.ScenarioError: <text>: line 2, column 1: 'a' is given twice (first at line 1); keep one
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from .errors import ScenarioError

__all__ = ["parse", "parse_all", "read_text", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 1024 * 1024  # a large design is tens of kilobytes; a megabyte of YAML takes seconds to read

_TOO_DEEP = "the YAML is nested too deeply to read (a design needs a few levels)"
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Refused(Exception):
    """A problem found while constructing, with the mark of the node at fault."""

    def __init__(self, node: Node, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


class _DesignLoader(_Base):
    """The safe loader, refusing aliases and duplicate keys."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            # a node met a second time was reached through an alias
            raise _Refused(node, "the value anchored here (&name) is used again through a YAML alias (*name); "
                                 "aliases are not allowed in a design: write the value out")
        return super().construct_object(node, deep)

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _ in node.value:
                key = key_node.value if key_node.tag.endswith((":str", ":int")) else None
                if key is None:
                    continue
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    raise _Refused(key_node, f"{key!r} is given twice (first at line {first}); keep one")
                seen[key] = key_node
        return super().construct_mapping(node, deep)


_DesignLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _DesignLoader.construct_yaml_map)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def parse(text: str, source: str = "<text>") -> Any:
    """The plain data (dicts, lists, strings, numbers) a YAML text holds, or ScenarioError."""
    return _load(text, source, every=False)


def parse_all(text: str, source: str = "<text>") -> list[Any]:
    """Each document of a multi-document YAML text (``---`` between them), read as :func:`parse` reads one.

    >>> parse_all("a: 1\\n---\\nb: 2\\n")
    [{'a': 1}, {'b': 2}]
    """
    documents: list[Any] = _load(text, source, every=True)
    return documents


def _load(text: str, source: str, every: bool) -> Any:
    loader = _DesignLoader(text)
    try:
        if not every:
            return loader.get_single_data()
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents
    except _Refused as exc:
        raise ScenarioError(source, [(_where(exc.node.start_mark), exc.reason)]) from None
    except ConstructorError as exc:
        raise ScenarioError(source, [(_where(exc.problem_mark), f"YAML error: {exc.problem}")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = str(exc.problem or exc.context)
        if "nesting depth" in problem:  # libyaml stops at 1,000 levels
            raise ScenarioError(source, [(_where(mark), _TOO_DEEP)]) from None
        raise ScenarioError(source, [(_where(mark), f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [("", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise ScenarioError(source, [("", _TOO_DEEP)]) from None
    finally:
        loader.dispose()


def read_text(path: str | Path, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a design file: a regular UTF-8 file of at most `limit` bytes, or ScenarioError."""
    p = Path(path)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise ScenarioError(str(p), [("", "no such file")]) from None
    except OSError as exc:
        raise ScenarioError(str(p), [("", f"cannot be read: {exc.strerror or exc}")]) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(str(p), [("", "is a directory, not a scenario file")])
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(str(p), [("", "is not a regular file (a device, pipe or socket); give a YAML file")])
    if info.st_size > limit:
        raise ScenarioError(str(p), [("", f"is {info.st_size:,} bytes; a design file may be at most {limit:,}")])
    try:
        with open(p, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise ScenarioError(str(p), [("", f"cannot be read: {exc.strerror or exc}")]) from None
    if len(raw) > limit:  # it grew after the check
        raise ScenarioError(str(p), [("", f"is more than {limit:,} bytes; a design file may be at most {limit:,}")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(p), [("", f"cannot be read: it is not UTF-8 text ({exc.reason} at byte "
                                          f"{exc.start:,})")]) from None
