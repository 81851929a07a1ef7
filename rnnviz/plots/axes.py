"""Axis labels made from input tokens: visible whitespace, escaped markup, thinned to what fits; not a builder.

Plotly renders tick text as a subset of HTML, so a "<" in source code would swallow the rest of the label:
every token is escaped here. Ticks sit at numeric positions (not categories), so repeated tokens such as
two "e"s stay two columns. While the tokens fit side by side (the theme's axis_chars characters on a full-width
axis), every one is labelled, upright and monospaced so "while (node == col)" reads as code. Beyond, the axis
shows step numbers: a character every k steps reads as words the text does not have (the probe "'it again keep
this again'" read "'taanke hsaan"). Builders put each step's token in the hover (hover_tokens), so nothing is lost.
"""
from __future__ import annotations

import html
import re

import numpy as np

from rnnviz.analysis.traces import visible
from rnnviz.plots.theme import NORMAL, Theme

MAX_TOKEN_TICKS = NORMAL.axis_chars  # the default: characters of tick text a full-width axis holds side by side
MARK = "●"  # a task's marker on a step (the adding problem's numbers to add)
MARKED = "a marked number"  # what a ● on a time axis's step number means, in the adding task's own words
NUMBER = re.compile(r"[-+]?\d+\.\d+" + MARK + "?")  # a measured value; "0", "1" or "7" stay tokens (parity, digits)
MONOSPACE = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"


def token_stride(tokens: list[str], max_ticks: int = MAX_TOKEN_TICKS) -> int:
    """Every k-th token is labelled: the smallest k whose labels, each as wide as the longest token (plus a
    space between words), fit in max_ticks characters."""
    width = max((len(html.unescape(visible(t))) for t in tokens), default=1)
    width = 1 if width <= 1 else width + 1
    return max(1, int(np.ceil(len(tokens) * width / max_ticks)))


def token_ticks(tokens: list[str], positions=None, max_ticks: int | None = None, theme: Theme | None = None,
                share: float = 1.0, rows: int | None = None) -> dict:
    """Axis settings labelling position p with tokens[p] (positions default 0..n-1), every one, upright, in a
    monospace font, when they fit in max_ticks characters (default: the theme's axis_chars times `share`, the part
    of the page's width the figure gets) or, for a vertical axis, in `rows` lines. Otherwise, and for numbers (a
    time series' values, the adding problem's "0.53●": not words to read along an axis), step numbers, every step
    the task marks (●) among them; the tokens stay in the hover."""
    n = len(tokens)
    pos = np.arange(n) if positions is None else np.asarray(positions)
    if max_ticks is None:
        max_ticks = max(1, int((theme or NORMAL).axis_chars * share))
    width = len(str(n)) + 2  # a step number: "48●" and a space
    fit = rows if rows is not None else max_ticks / width  # step-number labels the axis holds
    crowded = n > rows if rows is not None else token_stride(tokens, max_ticks) > 1
    if n and (all(NUMBER.fullmatch(str(t)) for t in tokens) or crowded):
        return _step_ticks(tokens, pos, fit)
    return {"tickmode": "array", "tickvals": [float(p) for p in pos[:n]],
            "ticktext": [visible(t) for t in tokens], "tickangle": 0, "tickfont": {"family": MONOSPACE}}


def time_axis(tokens: list[str] | None, **kw) -> dict:
    """A time axis's settings: its title and, given tokens, token_ticks(tokens, **kw). The title says "(input
    token)" only when the ticks are the tokens, not step numbers (parity's bits read like step numbers otherwise),
    and what ● means when a tick carries one."""
    ticks = token_ticks(tokens, **kw) if tokens else {}
    named = bool(ticks) and ticks["ticktext"] == [visible(t) for t in tokens]
    marked = bool(ticks) and not named and any(str(t).endswith(MARK) for t in ticks["ticktext"])
    return {"title_text": "time step t" + (" (input token)" if named else f" ({MARK}: {MARKED})" if marked else ""),
            **ticks}


def _nice(at_least: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `at_least`: step numbers 0, 10, 20, not 0, 7, 14."""
    k = 1
    while True:
        for m in (1, 2, 5):
            if m * k >= at_least:
                return m * k
        k *= 10


def _step_ticks(tokens: list[str], pos, fit: float) -> dict:
    """Step numbers, evenly spaced so that at most about `fit` of them are labelled, plus every marked step as
    "t●"; a plain tick within half a stride of a marked one is dropped so that labels never collide (the figure's
    true width is not known here: a rule by characters let "16" touch "17●" in a half-width figure)."""
    n = len(tokens)
    stride = _nice(n / fit)
    marked = [i for i, t in enumerate(tokens) if NUMBER.fullmatch(str(t)) and str(t).endswith(MARK)]
    plain = [i for i in range(0, n, stride) if all(abs(i - m) >= max(1, stride // 2 + 1) for m in marked)]
    keep = sorted(set(plain) | set(marked))
    return {"tickmode": "array", "tickvals": [float(pos[i]) for i in keep],
            "ticktext": [f"{i}{MARK}" if i in marked else str(i) for i in keep], "tickangle": 0,
            "tickfont": {"family": MONOSPACE}}


def hover_tokens(tokens: list[str] | None, n: int) -> np.ndarray:
    """Each step's token as a hover suffix ("  “w”": escaped, whitespace visible), "" per step without tokens;
    a hovertemplate appends it with "t = %{x}%{customdata}"."""
    if tokens is None:
        return np.full(n, "", dtype=object)
    return np.array([f"  “{visible(t)}”" for t in tokens], dtype=object)


def check_tokens(tokens: list[str] | None, n: int, what: str = "input") -> list[str] | None:
    if tokens is not None and len(tokens) != n:
        raise ValueError(f"{len(tokens)} {what} tokens were given for {n} steps; give one label per step")
    return None if tokens is None else [str(t) for t in tokens]


def heat_tokens(tokens: list[str], rows: int) -> list[list[str]]:
    """hover_tokens repeated down a heatmap's rows: (rows, T) customdata, for heatmaps with one column per step. Nested
    lists, not an object array: plotly validates and writes those about twice as fast (a Gates figure's four heat
    maps of 128 units took 130 ms to build and serialise, every redraw of a live view)."""
    row = list(hover_tokens(tokens, len(tokens)))
    return [row] * rows
