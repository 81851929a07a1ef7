"""Axis labels made from input tokens: visible whitespace, escaped markup, thinned to what fits; not a builder.

Plotly renders tick text as a subset of HTML, so a "<" in source code would swallow the rest of the label:
every token is escaped here. Ticks sit at numeric positions (not categories), so repeated tokens such as
two "e"s stay two columns.
"""
from __future__ import annotations

import numpy as np

from rnnviz.analysis.traces import visible

MAX_TOKEN_TICKS = 64  # beyond this every k-th token is labelled; the hover still names each one


def token_ticks(tokens: list[str], positions=None, max_ticks: int = MAX_TOKEN_TICKS) -> dict:
    """Axis settings labelling position p with tokens[p] (positions default 0..n-1), every k-th if too many."""
    n = len(tokens)
    pos = np.arange(n) if positions is None else np.asarray(positions)
    stride = max(1, int(np.ceil(n / max_ticks)))
    keep = list(range(0, n, stride))
    return {"tickmode": "array", "tickvals": [float(pos[i]) for i in keep],
            "ticktext": [visible(tokens[i]) for i in keep]}


def check_tokens(tokens: list[str] | None, n: int, what: str = "input") -> list[str] | None:
    if tokens is not None and len(tokens) != n:
        raise ValueError(f"{len(tokens)} {what} tokens were given for {n} steps; give one label per step")
    return None if tokens is None else [str(t) for t in tokens]
