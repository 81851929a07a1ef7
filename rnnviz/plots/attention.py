"""Figures of the encoder-decoder's attention and of text generation's choices: the attention matrix with
tokens on both axes, and the top-k alternatives at each generated step. HTML text views are in text.py.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from rnnviz.analysis.traces import check_index, train_step_label, visible
from rnnviz.plots.axes import check_tokens, token_ticks
from rnnviz.plots.budget import f32
from rnnviz.plots.theme import NORMAL, Theme, style, text_on

COPY_MARK = "#D55E00"  # Okabe-Ito vermillion: seen on the magnitude scale's dark and bright ends
TOPK_MAX_STEPS = 80  # columns of the top-k figure; a page slides a window over longer generations


def attention_figure(trace, sample: int = 0, source_tokens: list[str] | None = None,
                     target_tokens: list[str] | None = None, copies: list[list[int]] | None = None,
                     theme: Theme = NORMAL) -> go.Figure:
    """α (decoder step x encoder step) of one sample: row t is where decoder step t looks (each row sums to 1).
    z = trace["attention"][sample]; source tokens along x, target tokens down y (first step at the top).
    copies: Task.copies of the sample's source, the positions each step must copy: drawn as open squares, and the
    subtitle counts the rows whose weight peaks there, or one column later, where a one-way encoder's state has
    read the token too (the attention demo mostly looks there)."""
    if "attention" not in trace:
        raise ValueError("this trace has no attention weights; train an encoder-decoder with attention "
                         "additive or dot")
    a = trace["attention"]
    alpha = a[check_index("sample", sample, a.shape[0])].numpy()  # (T', S)
    T, S = alpha.shape
    src, tgt = check_tokens(source_tokens, S, "source"), check_tokens(target_tokens, T, "target")
    fig = go.Figure(go.Heatmap(
        z=f32(alpha), x=np.arange(S, dtype=np.float32), y=np.arange(T, dtype=np.float32),
        colorscale=theme.magnitude_scale, zmin=0.0, zmax=1.0, colorbar={"title": {"text": "attention α"}},
        customdata=np.array([[f"{visible(tgt[t]) if tgt else t} ← {visible(src[s]) if src else s}"
                              for s in range(S)] for t in range(T)]),
        hovertemplate="decoder step %{y}, encoder step %{x}<br>%{customdata}<br>α = %{z:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="encoder step (source token)", **(token_ticks(src, theme=theme) if src else {}))
    rows = int(0.6 * theme.height / (1.4 * theme.tick_size))  # lines of tick text that fit down the plot area
    fig.update_yaxes(title_text="decoder step (output token)", autorange="reversed",
                     **(token_ticks(tgt, theme=theme, rows=rows) if tgt else {}))
    return style(fig, theme, f"Attention, sample {sample}{train_step_label(trace)}",
                 "Each row sums to 1: where the decoder looked while writing that token."
                 + (_copied(fig, alpha, copies, theme) if copies else " Reversal shows as the anti-diagonal."))


def _copied(fig: go.Figure, alpha: np.ndarray, copies: list[list[int]], theme: Theme) -> str:
    """Open squares on the cells each step must copy; the sentence saying where the rows' weights peak."""
    rows = [(t, c) for t, c in enumerate(copies[:alpha.shape[0]]) if c]
    fig.add_trace(go.Scatter(x=[j for _, c in rows for j in c], y=[t for t, c in rows for _ in c], mode="markers",
                             name="the token it must copy", hoverinfo="skip", showlegend=False,
                             marker={"symbol": "square-open", "color": COPY_MARK, "size": 2.2 * theme.marker_size,
                                     "line": {"width": 0.5 * theme.line_width}}))
    peaks = [int(np.argmax(alpha[t])) for t, _ in rows]
    on = sum(p in c for p, (_, c) in zip(peaks, rows))
    after = sum(p not in c and p - 1 in c for p, (_, c) in zip(peaks, rows))
    other = len(rows) - on - after
    nb = "\u00a0"  # a count stays with its words: a line starting "6 (a one-way…" read like a list number
    return (f" Squares: the token each step must copy. The weight peaks on it in{nb}{on} of{nb}{len(rows)} rows, on "
            f"the token just after it in{nb}{after} (a one-way encoder's state there has read it too)"
            + (f", elsewhere in{nb}{other}." if other else "."))


def topk_figure(gen, start: int = 0, steps: int | None = None, theme: Theme = NORMAL) -> go.Figure:
    """The top-k candidates (rows, most likely at the top) at each generated step (columns), coloured by
    probability and labelled with the character; the chosen one is outlined by its hover text. The letters
    are a text layer of their own, black on light cells and white on dark ones: plotly's automatic contrast
    is lost as soon as anything sets the heatmap's text colour."""
    n = len(gen.top)
    if n == 0:
        raise ValueError("nothing was generated; generate at least one character")
    start = check_index("step", start, n)
    stop = min(n, start + (steps or TOPK_MAX_STEPS))
    k = max(len(r) for r in gen.top[start:stop])
    z = np.full((k, stop - start), np.nan, np.float32)
    text = np.full((k, stop - start), "", dtype=object)
    for j, row in enumerate(gen.top[start:stop]):
        for r, (ch, p) in enumerate(row):
            z[r, j], text[r, j] = p, visible(ch)
    chosen = [visible(c) for c in gen.chars[start:stop]]
    x, y = np.arange(start, stop, dtype=np.float32), np.arange(1, k + 1, dtype=np.float32)
    fig = go.Figure(go.Heatmap(
        z=z, x=x, y=y, text=text, colorscale=theme.magnitude_scale, zmin=0.0, zmax=1.0,
        colorbar={"title": {"text": "probability"}},
        hovertemplate="step %{x}, rank %{y}<br>%{text}: p = %{z:.3f}<extra></extra>"))
    r, c = np.nonzero(np.isfinite(z))
    cells = sample_colorscale(theme.magnitude_scale, z[r, c].astype(float).tolist()) if r.size else []
    fig.add_trace(go.Scatter(x=x[c], y=y[r], mode="text", text=text[r, c].tolist(), name="letters",
                             textfont={"color": [text_on(cell) for cell in cells]}, hoverinfo="skip",
                             showlegend=False))
    unit = "word" if getattr(gen, "sep", "") else "character"
    fig.update_xaxes(title_text=f"generated step (chosen {unit})", tickmode="array",
                     tickvals=list(range(start, stop)), ticktext=chosen, range=[start - 0.5, stop - 0.5])
    fig.update_yaxes(title_text="rank", range=[k + 0.5, 0.5], dtick=1)  # most likely at the top
    return style(fig, theme, "What the model considered at each step",
                 "Bright top cell alone: confident. Several bright cells: the model hesitated between them.")
