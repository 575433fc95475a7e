"""Shared widgets: design fields bound to dotted paths, problems beside them, messages, progress.

A *field* widget shows one field of the current design (``nodes.web.workers``)
and writes a change back through :func:`sandbox.edit.set_field` in its
callback, before the page is drawn again, so the problems and the analysis the
page shows are always those of what is on screen. Each field shows, right under
it, the validation problems whose path is its own.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import streamlit as st

from sandbox import edit

from . import state

Problems = list[tuple[str, str]]
PROGRESS_AFTER_S = 0.4  # a run shorter than this shows no progress bar


def show_flash() -> None:
    """The one-off message left by the previous action, if any."""
    msg = st.session_state.pop("flash", None)
    if msg:
        kind, text = msg
        {"error": st.error, "success": st.success, "warning": st.warning}.get(kind, st.info)(text)


def show_field_problems(problems: Problems, path: str, prefix: bool = False) -> None:
    """Problems at `path` (or under it, with `prefix`), right where the field is."""
    for where, reason in problems:
        if where == path or (prefix and where.startswith(path + ".")):
            st.error(reason if where == path else f"{where.removeprefix(path + '.')}: {reason}", icon=":material/error:")


def show_problems(problems: Problems) -> None:
    """Every problem of the design, one line each."""
    if not problems:
        return
    noun = "problem" if len(problems) == 1 else "problems"
    lines = "\n".join(f"- `{p}`: {r}" if p else f"- {r}" for p, r in problems)
    st.error(f"**{len(problems)} {noun} to fix before this design can run**\n\n{lines}", icon=":material/error:")


def _write(path: str, key: str, integer: bool, keep_none: bool) -> None:
    value = st.session_state[key]
    if integer and isinstance(value, float) and value.is_integer():
        value = int(value)
    state.update(edit.set_field(state.design(), path, value, keep_none=keep_none))


def number_field(label: str, path: str, value: Any, problems: Problems, *, integer: bool = False,
                 step: float | None = None, help: str | None = None, placeholder: str | None = None,
                 keep_none: bool = False, disabled: bool = False) -> None:
    """A number field of the design; an empty optional field removes the setting."""
    key = state.widget_key(path)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = None
    if integer:
        value = int(value) if value is not None else None
        st.number_input(label, value=value, step=1, format="%d", key=key, help=help, placeholder=placeholder,
                        on_change=_write, args=(path, key, True, keep_none), disabled=disabled)
    else:
        value = float(value) if value is not None else None
        st.number_input(label, value=value, step=step or 1.0, format="%g", key=key, help=help,
                        placeholder=placeholder, on_change=_write, args=(path, key, False, keep_none),
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


def text_field(label: str, path: str, value: Any, problems: Problems, *, help: str | None = None) -> None:
    """A text design field."""
    key = state.widget_key(path)
    st.text_input(label, value="" if value is None else str(value), key=key, help=help,
                  on_change=_write, args=(path, key, False, False))
    show_field_problems(problems, path)


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
