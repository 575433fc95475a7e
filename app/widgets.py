"""Shared widgets: design fields bound to dotted paths, problems beside them, messages, progress.

A *field* widget shows one field of the current design (``nodes.web.workers``)
and writes a change back through :func:`sandbox.edit.set_field` in its
callback, before the page is drawn again, so the problems and the analysis the
page shows are always those of what is on screen. Each field shows, right under
it, the validation problems whose path is its own. Problems quote what the
design holds, so their text is escaped (:mod:`app.text`) before Streamlit
renders it as Markdown.
"""

from __future__ import annotations

import shutil
import time
from typing import Any, Callable, Sequence

import pandas as pd
import streamlit as st

from sandbox import edit
from sandbox.diagram import to_svg

from . import state
from .text import code, md

Problems = list[tuple[str, str]]
PROGRESS_AFTER_S = 0.4  # a run shorter than this shows no progress bar


ALERTS = {"error": st.error, "success": st.success, "warning": st.warning, "info": st.info}


def show_flash(page: str) -> None:
    """The message left by the visitor's last action, with a button to dismiss it (see state.flash)."""
    msg = state.current_flash(page)
    if msg is None:
        return
    kind, text = msg
    with st.container(horizontal=True, vertical_alignment="center", wrap=False):
        ALERTS.get(kind, st.info)(text)
        st.button("Dismiss", key="flash_dismiss", type="tertiary", icon=":material/close:",
                  on_click=state.clear_flash, help="hide this message")
    for title, rows in state.flash_tables():
        if rows:
            st.markdown(f"**{md(title)}**")
            st.dataframe(pd.DataFrame(rows), hide_index=True)


MAX_PROBLEMS_LISTED = 30


def problem_lines(problems: Problems) -> str:
    """Problems as a Markdown list, one a line (at most MAX_PROBLEMS_LISTED): the path in a code span, the reason
    as text."""
    lines = [f"- {code(p)}: {md(r)}" if p else f"- {md(r)}" for p, r in problems[:MAX_PROBLEMS_LISTED]]
    if len(problems) > MAX_PROBLEMS_LISTED:
        lines.append(f"- and {len(problems) - MAX_PROBLEMS_LISTED:,} more")
    return "\n".join(lines)


def show_field_problems(problems: Problems, path: str, prefix: bool = False) -> None:
    """Problems at `path` (or under it, with `prefix`), right where the field is."""
    for where, reason in problems:
        if where == path or (prefix and where.startswith(path + ".")):
            st.error(md(reason if where == path else f"{where.removeprefix(path + '.')}: {reason}"),
                     icon=":material/error:")


def show_problems(problems: Problems) -> None:
    """Every problem of the design, one line each."""
    if not problems:
        return
    noun = "problem" if len(problems) == 1 else "problems"
    st.error(f"**{len(problems)} {noun} to fix before this design can run**\n\n{problem_lines(problems)}",
             icon=":material/error:")


def _write(path: str, key: str, integer: bool, keep_none: bool) -> None:
    value = st.session_state[key]
    if integer and isinstance(value, float) and value.is_integer():
        value = int(value)
    state.update(edit.set_field(state.design(), path, value, keep_none=keep_none))


def _write_keyed(path: str, key: str, integer: bool, keep_none: bool) -> None:
    """Like _write, for one key of a mapping: clearing its last key removes the mapping (edit.set_keyed)."""
    value = st.session_state[key]
    if integer and isinstance(value, float) and value.is_integer():
        value = int(value)
    state.update(edit.set_keyed(state.design(), path, value))


def number_field(label: str, path: str, value: Any, problems: Problems, *, integer: bool = False,
                 step: float | None = None, help: str | None = None, placeholder: str | None = None,
                 keep_none: bool = False, disabled: bool = False, keyed: bool = False) -> None:
    """A number field of the design; an empty optional field removes the setting (and, `keyed`, the mapping
    it was the last key of).

    A field with a `placeholder` (what empty means: "none", "no limit") is optional,
    so it can be emptied even once it holds a number: Streamlit lets a number field
    be cleared only when it was made without a value, so it starts from its widget
    state instead. A field without one keeps its last number when emptied.
    """
    key = state.widget_key(path)
    write = _write_keyed if keyed else _write
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = None
    if value is not None:
        value = int(value) if integer else float(value)
    clearable = placeholder is not None
    if clearable and key not in st.session_state:
        st.session_state[key] = value
    start = None if clearable else value
    if integer:
        st.number_input(label, value=start, step=1, format="%d", key=key, help=help, placeholder=placeholder,
                        on_change=write, args=(path, key, True, keep_none), disabled=disabled)
    else:
        st.number_input(label, value=start, step=step or 1.0, format="%g", key=key, help=help,
                        placeholder=placeholder, on_change=write, args=(path, key, False, keep_none),
                        disabled=disabled)
    show_field_problems(problems, path)


def select_field(label: str, path: str, value: Any, options: Sequence[Any], problems: Problems, *,
                 format_func: Callable[[Any], str] = str, help: str | None = None,
                 on_change: Callable[..., None] | None = None, disabled: bool = False) -> None:
    """A choice among options for a design field."""
    key = state.widget_key(path)
    options = list(options)
    index = options.index(value) if value in options else None
    st.selectbox(label, options, index=index, key=key, format_func=format_func, help=help,
                 on_change=on_change or _write, args=(path, key, False, False) if on_change is None else (path, key),
                 disabled=disabled)
    show_field_problems(problems, path)


def checkbox_field(label: str, path: str, value: Any, problems: Problems, *, help: str | None = None,
                   disabled: bool = False) -> None:
    """A yes/no design field."""
    key = state.widget_key(path)
    st.checkbox(label, value=bool(value), key=key, help=help, on_change=_write, args=(path, key, False, False),
                disabled=disabled)
    show_field_problems(problems, path)


def _write_choices(path: str, key: str) -> None:
    chosen = list(st.session_state[key])
    state.update(edit.set_field(state.design(), path, chosen or None))


def multiselect_field(label: str, path: str, value: Any, options: Sequence[str], problems: Problems, *,
                      help: str | None = None, placeholder: str | None = None) -> None:
    """A list of choices for a design field; choosing none removes the setting (its default applies).

    What the design holds stays among the options, even a name that is not one of
    them, so it shows (with its problem under it) and can be taken out.
    """
    key = state.widget_key(path)
    given = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
    options = list(dict.fromkeys([*options, *given]))
    st.multiselect(label, options, default=list(dict.fromkeys(given)), key=key, help=help, placeholder=placeholder,
                   on_change=_write_choices, args=(path, key))
    show_field_problems(problems, path)


def text_field(label: str, path: str, value: Any, problems: Problems, *, help: str | None = None) -> None:
    """A text design field."""
    key = state.widget_key(path)
    st.text_input(label, value="" if value is None else str(value), key=key, help=help,
                  on_change=_write, args=(path, key, False, False))
    show_field_problems(problems, path)


@st.cache_data(max_entries=100, show_spinner=False)
def _dot_error(dot: str) -> str | None:
    """Why Graphviz cannot draw `dot`, or None; unknown (None) without the `dot` program to ask."""
    if shutil.which("dot") is None:
        return None
    try:
        to_svg(dot)
    except Exception as exc:  # noqa: BLE001 - to_svg says why in its message
        return str(exc)
    return None


def diagram_chart(make_dot: Callable[[], str], **chart: Any) -> bool:
    """A Graphviz diagram, or an error saying why it cannot be drawn (never a blank chart); True when drawn.

    The browser draws DOT silently or not at all, so the DOT is first drawn here
    by Graphviz (cached by its text) when Graphviz is installed.
    """
    try:
        dot = make_dot()
        problem = _dot_error(dot)
    except Exception as exc:  # noqa: BLE001 - a diagram that cannot be made must not stop the page
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        st.error(f"The architecture diagram could not be drawn: {md(problem, limit=300)}", icon=":material/error:")
        return False
    st.graphviz_chart(dot, **chart)
    return True


class ProgressBar:
    """A progress bar that appears only once a run has taken longer than `after_s`.

    Call it with the share done (0 to 1); ``parts`` splits the bar over several
    runs (one per seed). ``close()`` removes it.
    """

    def __init__(self, label: str, parts: int = 1, after_s: float | None = None) -> None:
        self.label, self.parts = label, parts
        self.after_s = PROGRESS_AFTER_S if after_s is None else after_s
        self.part = 0
        self.slot = st.empty()
        self.bar: Any = None
        self.t0 = time.perf_counter()

    def __call__(self, share: float) -> None:
        done = min(1.0, (self.part + share) / self.parts)
        if self.bar is None and time.perf_counter() - self.t0 < self.after_s:
            return
        text = f"{self.label}: {done:.0%} of simulated time"
        if self.bar is None:
            self.bar = self.slot.progress(done, text=text)
        else:
            self.bar.progress(done, text=text)

    def next_part(self) -> None:
        self.part += 1

    def close(self) -> None:
        self.slot.empty()
