"""Share links: a design packed into a short, URL-safe string, and unpacked again.

A design (the scenario as plain data, what YAML parses to) and, optionally, the
positions of its nodes on a canvas are written as JSON, compressed with zlib and
encoded in URL-safe base64 without padding, behind a version prefix. Unpacking
never runs anything: the text is decoded with ``json.loads`` only, and refused,
with the reason, when it is malformed, too long, or expands past a fixed size
(a zip bomb cannot exhaust memory). Whether the design itself is *valid* is the
scenario's business (:func:`sandbox.scenario.from_dict`), not this module's.

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

__all__ = ["encode", "decode", "MAX_TOKEN_CHARS", "MAX_JSON_BYTES"]

VERSION = "1"
MAX_TOKEN_CHARS = 16_000      # well inside what browsers and servers accept in a URL
MAX_JSON_BYTES = 512 * 1024   # the most a token may expand to
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")
_SOURCE = "<share link>"

Layout = dict[str, tuple[float, float]]


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
    def refuse(reason: str) -> ScenarioError:
        return ScenarioError(_SOURCE, [("", reason)])

    if not isinstance(token, str) or not token:
        raise refuse("not a share link (empty)")
    if len(token) > MAX_TOKEN_CHARS:
        raise refuse(f"not a share link (longer than {MAX_TOKEN_CHARS:,} characters)")
    if not _TOKEN.match(token):
        raise refuse("not a share link (unexpected characters)")
    if token[0] != VERSION:
        raise refuse(f"a share link of an unknown version {token[0]!r}")
    body = token[1:]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_JSON_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error):
        raise refuse("not a share link (it does not decode; was it cut short?)") from None
    if len(raw) > MAX_JSON_BYTES or inflater.unconsumed_tail:
        raise refuse(f"the shared design expands past {MAX_JSON_BYTES:,} bytes")
    if not inflater.eof:
        raise refuse("not a share link (it is incomplete; was it cut short?)")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise refuse("not a share link (its content is not JSON)") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("d"), dict):
        raise refuse("not a share link (it holds no design)")
    return payload["d"], _layout(payload.get("l"), refuse)


def _layout(value: Any, refuse: Any) -> Layout:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise refuse("the shared layout is not a mapping of node positions")
    out: Layout = {}
    for name, pos in value.items():
        ok = (isinstance(pos, list) and len(pos) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pos))
        if not ok:
            raise refuse(f"the shared position of {name!r} is not two numbers")
        out[str(name)] = (float(pos[0]), float(pos[1]))
    return out
