"""Axis labels made from input tokens: visible whitespace, escaped markup, thinned to what fits; not a builder.

Plotly renders tick text as a subset of HTML, so a "<" in source code would swallow the rest of the label:
every token is escaped here. Ticks sit at numeric positions (not categories), so repeated tokens such as
two "e"s stay two columns. Up to MAX_TOKEN_TICKS characters every token is labelled, upright and monospaced
so "while (node == col)" reads as code; beyond, every k-th, with k chosen so the labels keep the same
spacing as MAX_TOKEN_TICKS single characters and never collide. Builders put each step's token in the hover
too (hover_tokens), so thinned labels lose nothing.
"""
from __future__ import annotations

import html
import re

import numpy as np

from rnnviz.analysis.traces import visible

MAX_TOKEN_TICKS = 80  # characters of tick text an axis holds side by side; a sequence this long is labelled in full
MARK = "●"  # a task's marker on a step (the adding problem's numbers to add)
NUMBER = re.compile(r"[-+]?\d+\.\d+" + MARK + "?")  # a measured value; "0", "1" or "7" stay tokens (parity, digits)
MONOSPACE = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"


def token_stride(tokens: list[str], max_ticks: int = MAX_TOKEN_TICKS) -> int:
    """Every k-th token is labelled: the smallest k whose labels, each as wide as the longest token (plus a
    space between words), fit in max_ticks characters."""
    width = max((len(html.unescape(visible(t))) for t in tokens), default=1)
    width = 1 if width <= 1 else width + 1
    return max(1, int(np.ceil(len(tokens) * width / max_ticks)))


def token_ticks(tokens: list[str], positions=None, max_ticks: int = MAX_TOKEN_TICKS) -> dict:
    """Axis settings labelling position p with tokens[p] (positions default 0..n-1): every one while they fit
    (dtick 1), else every token_stride-th; upright, in a monospace font. Numbers (a time series' values, the
    adding problem's "0.53●") are not words to read along an axis: those axes show step numbers instead, every
    step the task marks (●) always among them, and the values stay in the hover."""
    n = len(tokens)
    pos = np.arange(n) if positions is None else np.asarray(positions)
    if n and all(NUMBER.fullmatch(str(t)) for t in tokens):
        return _step_ticks(tokens, pos, max_ticks)
    keep = list(range(0, n, token_stride(tokens, max_ticks)))
    return {"tickmode": "array", "tickvals": [float(pos[i]) for i in keep],
            "ticktext": [visible(tokens[i]) for i in keep], "tickangle": 0, "tickfont": {"family": MONOSPACE}}


def _step_ticks(tokens: list[str], pos, max_ticks: int) -> dict:
    """Step numbers, evenly spaced, plus every marked step as "t●"; a plain tick too close to a marked one is
    dropped so that labels never collide."""
    n = len(tokens)
    width = len(str(n)) + 2  # "48●" and a space
    stride = max(1, int(np.ceil(n * width / max_ticks)))
    marked = [i for i, t in enumerate(tokens) if str(t).endswith(MARK)]
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
