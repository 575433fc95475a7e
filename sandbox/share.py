"""Share links: a design packed into a short, URL-safe string, and unpacked again.

A design (the scenario as plain data, what YAML parses to) and, optionally, the
positions of its nodes on a canvas are written as JSON, compressed with zlib and
encoded in URL-safe base64 without padding, behind a version prefix. Unpacking
never runs anything: the text is decoded with ``json.loads`` only, and refused,
with the reason, when it is malformed, too long, expands past a fixed size (a
zip bomb cannot exhaust memory), nests too deeply, holds NaN or infinity, or
holds a design of the wrong *shape*: the top level a mapping, ``nodes`` a
mapping of names (text of at most 64 characters) to mappings, at most
MAX_SHARED_NODES of them, ``edges`` a list of at most MAX_SHARED_EDGES
mappings, ``workload`` a mapping, ``name`` and ``description`` bounded text,
and positions finite and within ±1,000,000. Whether the design's *values* are
valid is the scenario's business (:func:`sandbox.scenario.from_dict`), not this
module's: a link may carry a design still being edited.

:func:`shape_problems` is that shape check on its own, and :func:`drawable`
keeps the parts of a design (read back from anywhere) that have the right shape.

>>> token = encode({"name": "tiny", "nodes": {}}, {"api": (40.0, 120.0)})
>>> token.startswith("1")
True
>>> decode(token)
({'name': 'tiny', 'nodes': {}}, {'api': (40.0, 120.0)})
>>> decode("1%%%")
Traceback (most recent call last):
...
sandbox.errors.ScenarioError: <share link>: not a share link (unexpected characters)
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from typing import Any

from .errors import ScenarioError

__all__ = ["encode", "decode", "shape_problems", "drawable", "MAX_TOKEN_CHARS", "MAX_JSON_BYTES",
           "MAX_SHARED_NODES", "MAX_SHARED_EDGES"]

VERSION = "1"
MAX_TOKEN_CHARS = 16_000      # well inside what browsers and servers accept in a URL
MAX_JSON_BYTES = 512 * 1024   # the most a token may expand to
MAX_SHARED_NODES = 160        # four times the app's default run limit of 40 nodes
MAX_SHARED_EDGES = 1_000
MAX_NAME_CHARS = 200          # as the scenario's own bounds on name and description
MAX_DESCRIPTION_CHARS = 20_000
MAX_NODE_NAME_CHARS = 64
MAX_DEPTH = 16                # a design nests about 6 deep (nodes.web.failures[0].at_s)
MAX_COORD = 1e6               # a canvas position further out is no place a person put a node
MAX_LISTED = 10               # problems listed for one link; the rest are counted
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")
_SOURCE = "<share link>"

Layout = dict[str, tuple[float, float]]
Problems = list[tuple[str, str]]


class _NotFinite(ValueError):
    """JSON text held NaN, Infinity, or a number too large for a float."""


def encode(data: dict[str, Any], layout: Layout | None = None) -> str:
    """A URL-safe string holding `data` (a design) and the node `layout`."""
    payload: dict[str, Any] = {"d": data}
    if layout:
        payload["l"] = {name: [round(float(x), 1), round(float(y), 1)] for name, (x, y) in layout.items()}
    raw = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
    packed = base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("=")
    token = VERSION + packed
    if len(token) > MAX_TOKEN_CHARS:
        raise ScenarioError(_SOURCE, [("", f"the design is too large to share in a link "
                                           f"({len(token):,} characters; at most {MAX_TOKEN_CHARS:,})")])
    return token


def decode(token: str) -> tuple[dict[str, Any], Layout]:
    """The design and layout a share string holds; ScenarioError says why one is refused."""
    payload = _payload(_inflate(token))
    if not isinstance(payload, dict) or not isinstance(payload.get("d"), dict):
        raise _refuse("not a share link (it holds no design)")
    if not _shallow(payload, MAX_DEPTH + 1):
        raise _refuse(f"the shared design is nested too deeply (more than {MAX_DEPTH} levels)")
    problems = shape_problems(payload["d"])
    if problems:
        raise ScenarioError(_SOURCE, _listed(problems))
    return payload["d"], _layout(payload.get("l"))


def _refuse(reason: str) -> ScenarioError:
    return ScenarioError(_SOURCE, [("", reason)])


def _inflate(token: str) -> bytes:
    """The JSON bytes a token holds, never more than MAX_JSON_BYTES of them."""
    if not isinstance(token, str) or not token:
        raise _refuse("not a share link (empty)")
    if len(token) > MAX_TOKEN_CHARS:
        raise _refuse(f"not a share link (longer than {MAX_TOKEN_CHARS:,} characters)")
    if not _TOKEN.match(token):
        raise _refuse("not a share link (unexpected characters)")
    if token[0] != VERSION:
        raise _refuse(f"a share link of an unknown version {token[0]!r}")
    body = token[1:]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_JSON_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error):
        raise _refuse("not a share link (it does not decode; was it cut short?)") from None
    if len(raw) > MAX_JSON_BYTES or inflater.unconsumed_tail:
        raise _refuse(f"the shared design expands past {MAX_JSON_BYTES:,} bytes")
    if not inflater.eof:
        raise _refuse("not a share link (it is incomplete; was it cut short?)")
    return raw


def _payload(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_not_finite, parse_float=_finite_float)
    except _NotFinite:
        raise _refuse("the shared design holds NaN or infinity, which no field accepts") from None
    except RecursionError:  # deeper than the interpreter's stack: a few hundred bytes can do it
        raise _refuse(f"the shared design is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except (UnicodeDecodeError, ValueError):
        raise _refuse("not a share link (its content is not JSON)") from None


def _not_finite(text: str) -> float:
    raise _NotFinite(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as inf
        raise _NotFinite(text)
    return value


def _shallow(value: Any, limit: int) -> bool:
    """True when `value` nests at most `limit` containers deep (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True


def _listed(problems: Problems) -> Problems:
    if len(problems) <= MAX_LISTED:
        return problems
    return problems[:MAX_LISTED] + [("", f"and {len(problems) - MAX_LISTED:,} more problems of shape")]


# ── the shape of a design ────────────────────────────────────────────────────

def shape_problems(data: Any) -> Problems:
    """What is wrong with the shape of a design (types, counts, lengths), one (path, reason) each; [] if nothing.

    >>> shape_problems({"nodes": {"web": [1]}, "edges": {}})
    [('nodes.web', 'must be a mapping of fields; it is a list'), ('edges', 'must be a list of calls; it is a dict')]
    """
    clean, problems = drawable(data)
    return problems + (_bounds(clean) if isinstance(data, dict) else [])


def drawable(data: Any) -> tuple[dict[str, Any], Problems]:
    """The parts of a design that have the right types (a copy), and a problem for each part left out.

    For a design read back from somewhere the app does not control (a database
    written by an older version): what can be drawn is kept, the rest is named.
    """
    if not isinstance(data, dict):
        return {}, [("", f"must be a mapping with name, workload, nodes and edges; it is {_article(data)}")]
    out, problems = dict(data), []
    for key in ("name", "description"):
        if out.get(key) is not None and not isinstance(out[key], str):
            problems.append((key, f"must be text; it is {_article(out[key])}"))
    if out.get("workload") is not None and not isinstance(out["workload"], dict):
        problems.append(("workload", f"must be a mapping of fields; it is {_article(out.pop('workload'))}"))
    if "nodes" in out:
        out["nodes"], found = _nodes(out["nodes"])
        problems += found
        if out["nodes"] is None:
            del out["nodes"]
    if "edges" in out:
        out["edges"], found = _edges(out["edges"])
        problems += found
        if out["edges"] is None:
            del out["edges"]
    return out, problems


def _nodes(nodes: Any) -> tuple[dict[str, Any] | None, Problems]:
    if nodes is None:
        return None, []
    if not isinstance(nodes, dict):
        return None, [("nodes", f"must be a mapping of node names to nodes; it is {_article(nodes)}")]
    kept, problems = {}, []
    for name, node in nodes.items():
        if not isinstance(name, str):
            problems.append(("nodes", f"node names must be text; {str(name)[:40]!r} is not"))
        elif not isinstance(node, dict):
            problems.append((f"nodes.{name[:MAX_NODE_NAME_CHARS]}",
                             f"must be a mapping of fields; it is {_article(node)}"))
        else:
            kept[name] = node
    return kept, problems


def _edges(edges: Any) -> tuple[list[Any] | None, Problems]:
    if edges is None:
        return None, []
    if not isinstance(edges, list):
        return None, [("edges", f"must be a list of calls; it is {_article(edges)}")]
    kept, problems = [], []
    for i, edge in enumerate(edges):
        if isinstance(edge, dict):
            kept.append(edge)
        else:
            problems.append((f"edges[{i}]", f"must be a mapping of fields; it is {_article(edge)}"))
    return kept, problems


def _article(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__}"


def _bounds(data: dict[str, Any]) -> Problems:
    """Counts and lengths: what keeps a shared design cheap to store, check and draw."""
    problems = []
    for key, most in (("name", MAX_NAME_CHARS), ("description", MAX_DESCRIPTION_CHARS)):
        value = data.get(key)
        if isinstance(value, str) and len(value) > most:
            problems.append((key, f"may be at most {most:,} characters in a shared design, got {len(value):,}"))
    nodes = data.get("nodes") or {}
    if len(nodes) > MAX_SHARED_NODES:
        problems.append(("nodes", f"a shared design may have at most {MAX_SHARED_NODES} nodes, got {len(nodes):,}"))
    long = [n for n in nodes if len(n) > MAX_NODE_NAME_CHARS]
    if long:
        problems.append(("nodes", f"node names may be at most {MAX_NODE_NAME_CHARS} characters; "
                                  f"{long[0][:24]!r}... has {len(long[0]):,}"))
    edges = data.get("edges") or []
    if len(edges) > MAX_SHARED_EDGES:
        problems.append(("edges", f"a shared design may have at most {MAX_SHARED_EDGES:,} calls, got {len(edges):,}"))
    return problems


def _layout(value: Any) -> Layout:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _refuse("the shared layout is not a mapping of node positions")
    if len(value) > MAX_SHARED_NODES:
        raise _refuse(f"the shared layout has {len(value):,} positions; at most {MAX_SHARED_NODES}")
    out: Layout = {}
    for name, pos in value.items():
        ok = (isinstance(pos, list) and len(pos) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pos))
        if not ok:
            raise _refuse(f"the shared position of {name[:MAX_NODE_NAME_CHARS]!r} is not two numbers")
        if not all(abs(v) <= MAX_COORD for v in pos):
            raise _refuse(f"the shared position of {name[:MAX_NODE_NAME_CHARS]!r} is not within "
                          f"±{MAX_COORD:,.0f}")
        out[name[:MAX_NODE_NAME_CHARS]] = (float(pos[0]), float(pos[1]))
    return out
