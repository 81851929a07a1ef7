"""Shareable links: a page's controls live in the URL query string, so a link reproduces the setup and a
changed control updates the link. A bad value in a link falls back to the default with a visible note.
Not the controls themselves (pages and widgets.py draw them); this only parses, seeds and writes back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import streamlit as st

from rnnviz.ui.safe import MAX_ECHO, plain

NOTES = "rnnviz.link_notes"
MAX_VALUE_CHARS = 40  # no setting needs more; longer ones are refused before any parsing
KEPT = "rnnviz.kept"  # controls' values kept across pages: Streamlit forgets a widget's state on a page without it


@dataclass(frozen=True)
class Param:
    """One URL parameter bound to a widget key: its kind, default and what is allowed."""

    name: str  # in the URL
    key: str  # the widget's session-state key
    default: Any
    choices: tuple | None = None  # allowed values, for selections
    lo: float | None = None  # bounds, for numbers
    hi: float | None = None

    def parse(self, text: str):
        """The value `text` stands for, or ValueError with the reason (in words, never Python's internals)."""
        if len(text) > MAX_VALUE_CHARS:
            raise ValueError(f"a value of {len(text)} characters is too long for {self.name}")
        if self.choices is not None:
            for c in self.choices:
                if str(c) == text or self.show(c) == text or (_number(text) == c and not isinstance(c, (bool, str))):
                    return c
            raise ValueError(f"{text!r} is not one of {', '.join(map(self.show, self.choices))}")
        if isinstance(self.default, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{text!r} is not on/off")
        kind = type(self.default)
        try:
            value = kind(float(text)) if kind is int and float(text).is_integer() else kind(text)
        except (ValueError, OverflowError):  # "abc", or int("1e400") after float() gave inf
            raise ValueError(f"{text!r} is not a number") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise ValueError(f"{value} is outside {self.lo:g} to {self.hi:g}")
        return value

    def show(self, value) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        return f"{value:g}" if isinstance(value, float) else str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def seed(params: list[Param]) -> None:
    """Before the widgets are drawn: a widget not in this page run takes its value from the URL, else from what
    the user last set it to on an earlier visit (the sidebar's navigation drops the query string), else its
    default."""
    notes = st.session_state.setdefault(NOTES, [])
    kept = st.session_state.get(KEPT, {})
    for p in params:
        if p.key in st.session_state:
            continue
        value = p.default
        if p.key in kept:  # what the user set before, if it still fits this control (its task may have changed)
            try:
                value = p.parse(p.show(kept[p.key]))
            except ValueError:
                pass
        if p.name in st.query_params:
            try:
                value = p.parse(st.query_params[p.name])
            except ValueError as e:
                given = plain(st.query_params[p.name], MAX_ECHO)
                notes.append(f"The link's {p.name}={given} was ignored ({plain(e, 2 * MAX_ECHO)}); using "
                             f"{plain(p.show(p.default))}.")
        st.session_state[p.key] = value


def value(p: Param):
    """A control's value: its widget's, or (when the widget is hidden) the link's, or the default."""
    if p.key in st.session_state:
        return st.session_state[p.key]
    try:
        return p.parse(st.query_params[p.name]) if p.name in st.query_params else p.default
    except ValueError:
        return p.default


def write_back(params: list[Param]) -> None:
    """After the widgets: the URL shows every drawn control that differs from its default. A hidden
    control's setting stays in the link untouched."""
    kept = st.session_state.setdefault(KEPT, {})
    for p in params:
        if p.key not in st.session_state:
            continue
        value = kept[p.key] = st.session_state[p.key]
        if value != p.default:
            if st.query_params.get(p.name) != p.show(value):
                st.query_params[p.name] = p.show(value)
        elif p.name in st.query_params:
            del st.query_params[p.name]


def show_notes() -> None:
    """Says, once, which parts of a link were ignored."""
    for note in st.session_state.pop(NOTES, []):
        st.warning(note, icon=":material/link:")
