"""User text inside Markdown: escaped so that it shows exactly as typed and is never markup.

Streamlit renders every message, caption and label as Markdown with its own
extensions (``:red[...]`` colours, ``:material/...:`` icons, ``$...$`` maths),
and streamlit-flow renders a canvas node's content as Markdown with raw HTML.
A design name, a node name or a file name from a stranger must therefore reach
them as text: :func:`md` writes every character that Markdown, HTML or those
extensions could act on as a numeric character reference (``*`` becomes
``&#42;``). The parser turns a reference back into the plain character, and
never into markup, and the extensions (which look at the source text) see no
colon, bracket or dollar to act on. GitHub-style autolinks are found in the
*decoded* text, though, so a word joiner (U+2060, invisible) also goes after
each ``:`` and ``@`` and inside ``www.``: ``http://evil`` and ``a@evil.com``
stay text, not links. :func:`code` puts text in a code span instead, where
Markdown shows everything literally.

>>> md("**bold** [x](http://evil)")
'&#42;&#42;bold&#42;&#42; &#91;x&#93;&#40;http&#58;&#8288;//evil&#41;'
>>> code("a`b")
'`` a`b ``'
"""

from __future__ import annotations

import re
from typing import Any

# Every ASCII character Markdown (with GitHub's autolinks), HTML or Streamlit's extensions give a meaning to;
# letters, digits, spaces and the rest of Unicode are safe.
_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~<>:$&@")
_JOINER = "\u2060"  # breaks an autolink (http://, www., a@b.c) without showing
_AUTOLINK = re.compile(r"(:|@)|(?i:(www)(?=\.))")


def md(text: Any, limit: int | None = None) -> str:
    """`text` (anything; shown as str) as Markdown that displays it literally, on one line.

    Line breaks become spaces, so user text cannot start a heading or a list;
    leading and trailing spaces are kept as references too. `limit` shortens
    long text first (with an ellipsis).
    """
    s = re.sub(r"[\r\n\t\f\v]+", " ", str(text))
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    s = _AUTOLINK.sub(lambda m: m.group(0) + _JOINER if m.group(1) else m.group(2) + _JOINER, s)
    out = "".join(f"&#{ord(c)};" if c in _SPECIAL or c == _JOINER else c for c in s)
    lead = len(out) - len(out.lstrip(" "))
    trail = len(out) - len(out.rstrip(" "))
    if lead == len(out):
        return "&#32;" * lead
    return "&#32;" * lead + out.strip(" ") + "&#32;" * trail


def code(text: Any) -> str:
    """`text` in an inline code span that holds it literally (however many backticks it contains)."""
    s = re.sub(r"[\r\n\t\f\v]+", " ", str(text))
    if not s:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or fence != "`" else ""
    return f"{fence}{pad}{s}{pad}{fence}"
