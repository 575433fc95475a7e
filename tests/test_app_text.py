"""app.text: user text written into Markdown so that it shows as typed and is never markup."""

from __future__ import annotations

import html
import re

import pytest

from app.text import code, md

JOINER = "\u2060"


def shows(markdown: str) -> str:
    return html.unescape(markdown).replace(JOINER, "")


@pytest.mark.parametrize("text", [
    "**bold** _it_ `code` ~~gone~~", "![x](http://127.0.0.1:9/x.png)", "[click](http://evil)", ":red[NOTICE]",
    ":material/warning:", "$x^2$ and $$y$$", "<b>hi</b> <script>alert(1)</script>", "# heading", "- item",
    "1. item", "> quote", "a | b | c", "a\\", "&amp; &#42;", "{curly}", "+ plus", "!bang",
])
def test_every_special_character_becomes_a_reference_and_shows_as_typed(text: str) -> None:
    out = md(text)
    assert shows(out) == text
    assert not re.search(r"[\\`*_{}\[\]()#+\-.!|~<>:$@]", re.sub(r"&#[0-9]+;", "", out)), out
    assert not re.search(r"&(?!#[0-9]+;)", out), out  # a bare & could start a reference of the user's own


@pytest.mark.parametrize("text", ["http://evil.com", "https://evil.com/x", "www.evil.com", "me@evil.com",
                                  "mailto:me@evil.com", "WWW.EVIL.COM"])
def test_autolinks_are_broken_by_an_invisible_joiner(text: str) -> None:
    """GitHub-style autolinks are found in the decoded text, so the text itself must not read as a URL."""
    decoded = html.unescape(md(text))
    assert JOINER in decoded and decoded.replace(JOINER, "") == text
    assert not re.search(r"https?://|www\.|[\w.+-]@\w", decoded, re.I), decoded


def test_user_text_stays_on_one_line_and_keeps_its_spaces() -> None:
    assert shows(md("one\n\n# two\r\nthree")) == "one # two three"
    assert md("  x  ") == "&#32;&#32;x&#32;&#32;" and md("   ") == "&#32;" * 3
    assert md("x" * 10, limit=5) == "xxxx…"


def test_code_spans_hold_any_text_literally() -> None:
    assert code("nodes.web.workers") == "`nodes.web.workers`"
    assert code("a`b") == "`` a`b ``"
    assert code("``x``") == "``` ``x`` ```"
    assert code("a\nb") == "`a b`" and code("") == ""


def test_anything_is_shown_as_its_text() -> None:
    assert shows(md(["a", 1])) == "['a', 1]" and shows(md(None)) == "None"
