"""Text coloured character by character, as HTML: a unit's activation over the input (Karpathy, Johnson &
Fei-Fei 2015) and generated text by the probability of each chosen character. Not Plotly: the page shows it
with st.html / st.markdown(unsafe_allow_html=True). Every character is escaped, so text from a user's
corpus (code with <, & and quotes) can never inject markup.
"""
from __future__ import annotations

import html

import numpy as np
from plotly.colors import sample_colorscale, unlabel_rgb

from rnnviz.plots.theme import NORMAL, Theme

SHOWN = {"\n": "↵", "\t": "⇥", " ": "\u00a0"}  # whitespace that must keep its box (a newline also breaks)


def _text_color(background: str) -> str:
    """Black or white, whichever reads better on `background` (WCAG relative luminance, simplified)."""
    r, g, b = (c / 255 for c in unlabel_rgb(background))
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#ffffff"


def _span(ch: str, background: str, title: str, theme: Theme) -> str:
    shown = html.escape(SHOWN.get(ch, ch))
    out = (f'<span title="{html.escape(title)}" style="background:{background};color:{_text_color(background)};'
           f'padding:0 1px;border-radius:2px">{shown}</span>')
    return out + ("<br>" if ch == "\n" else "")


def _block(spans: list[str], theme: Theme) -> str:
    size = max(theme.font_size, 16)
    return (f'<div style="font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:{size}px;'
            f'line-height:1.6;white-space:pre-wrap;word-break:break-all">{"".join(spans)}</div>')


def activation_html(tokens: list[str], values, vmax: float | None = None, theme: Theme = NORMAL,
                    unit: int | None = None) -> str:
    """Each token's background coloured by a unit's activation on the diverging palette (blue negative, white
    0, red positive), scaled to ±vmax (default max |value|, so a tanh unit near ±1 saturates the colour)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size != len(tokens):
        raise ValueError(f"{v.size} activations were given for {len(tokens)} characters; give one per character")
    scale = float(vmax) if vmax else float(np.nanmax(np.abs(v))) if v.size else 1.0
    scale = scale if scale > 0 else 1.0
    pos = np.clip((np.nan_to_num(v) / scale + 1.0) / 2.0, 0.0, 1.0)
    colors = sample_colorscale(theme.signed_scale, pos.tolist()) if v.size else []
    who = f"unit {unit}: " if unit is not None else ""
    spans = [_span(str(t), c, f"t = {i}  {who}{x:+.3f}", theme) for i, (t, c, x) in enumerate(zip(tokens, colors, v))]
    return _block(spans, theme)


def generation_html(gen, theme: Theme = NORMAL) -> str:
    """The prime in plain grey, then each generated character coloured by the probability it was drawn with
    (viridis: dark = the model was unsure, bright = confident); hover shows the top alternatives."""
    prime = "".join(_span(ch, "rgb(238, 238, 238)", "prime (given, not generated)", theme) for ch in gen.prime)
    colors = sample_colorscale(theme.magnitude_scale, [min(max(p, 0.0), 1.0) for p in gen.probs]) if gen.probs else []
    spans = []
    for i, (ch, c, p) in enumerate(zip(gen.chars, colors, gen.probs)):
        alts = ", ".join(f"{SHOWN.get(a, a)!r} {q:.2f}" for a, q in (gen.top[i] if i < len(gen.top) else []))
        spans.append(_span(ch, c, f"step {i}: p = {p:.2f}; top: {alts}", theme))
    return _block([prime] + spans, theme)
