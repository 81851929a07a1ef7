"""Text coloured character by character, as HTML: a unit's activation over the input (Karpathy, Johnson &
Fei-Fei 2015) and generated text by the probability of each chosen character. Not Plotly: the page shows it
with st.html / st.markdown(unsafe_allow_html=True). Every character is escaped, so text from a user's
corpus (code with <, & and quotes) can never inject markup.
"""
from __future__ import annotations

import html

import numpy as np
from plotly.colors import sample_colorscale

from rnnviz.plots.theme import NORMAL, Theme, text_on

SHOWN = {"\n": "↵", "\t": "⇥"}  # whitespace drawn as a sign (a newline also breaks); a space keeps its box in
# pre-wrap text and is where a line may break, so words are not split across lines
# generated text, coloured by 1 − p: white where the model was sure (most of a text, so it reads as plain
# text), a strong orange-red where it was unsure, so the eye goes to the hesitations
UNSURE_SCALE = ((0.0, "#ffffff"), (0.5, "#fc8d59"), (1.0, "#b30000"))
PROJECTED = 24  # px: the smallest text on a projected page (presentation mode)
PRIME = "rgb(225, 225, 225)"  # the prime, given not generated: grey, apart from the white of a sure character


def _span(ch: str, background: str, title: str, theme: Theme) -> str:
    shown = html.escape(SHOWN.get(ch, ch))
    out = (f'<span title="{html.escape(title)}" style="background:{background};color:{text_on(background)};'
           f'padding:0 1px;border-radius:2px">{shown}</span>')
    # the views' labels show a newline as ↵ and a space as ␣ (analysis.traces.visible): the line still breaks
    # there, and may break after a space, so a word is not split across lines
    return out + ("<br>" if ch in ("\n", "↵") else "<wbr>" if ch in (" ", "␣") else "")


def _block(spans: list[str], theme: Theme, words: bool = False) -> str:
    """The spans as one block of text: characters side by side, or, for `words` (tokens longer than one
    character: words, numbers like 0.64), a space between tokens. Lines break at spaces, and inside a word only
    when it is longer than a line ("it / ems_size" read like a line break the model wrote)."""
    size = max(theme.font_size, PROJECTED if theme.name == "presentation" else 16)
    wrap = "word-break:normal;overflow-wrap:anywhere"
    return (f'<div style="font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:{size}px;'
            f'line-height:1.6;white-space:pre-wrap;{wrap}">{(" " if words else "").join(spans)}</div>')


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
    return _legend(theme, f"{'unit ' + str(unit) if unit is not None else 'activation'}: blue −{scale:.2g}",
                   theme.signed_scale, f"red +{scale:.2g} (white: 0)") + _block(
        spans, theme, words=any(len(str(t)) > 1 for t in tokens))


def _legend(theme: Theme, before: str, scale, after: str) -> str:
    """One line saying what the colours mean, with the scale as a swatch between its two ends' words (divs, no
    spans: the text below is one span per character)."""
    size = PROJECTED if theme.name == "presentation" else max(theme.font_size - 2, 13)
    stops = ",".join(sample_colorscale(scale, [0, 0.25, 0.5, 0.75, 1]) if isinstance(scale, str)
                     else [c for _, c in scale])
    swatch = (f'<div style="display:inline-block;width:7em;height:0.9em;vertical-align:middle;margin:0 0.4em;'
              f'border:1px solid #b0b0b0;background:linear-gradient(to right,{stops})"></div>')
    return (f'<div style="font-size:{size}px;color:{theme.text_color};margin-bottom:0.3em">'
            f'{html.escape(before)}{swatch}{html.escape(after)}</div>')


def _unsure_legend(theme: Theme) -> str:
    return _legend(theme, "white: the model was sure", UNSURE_SCALE,
                   "strong colour: the model was unsure · grey: the prime (given)")


def generation_html(gen, theme: Theme = NORMAL, legend: bool = True) -> str:
    """The prime in plain grey, then each generated character on a background coloured by 1 − p, p the
    probability it was drawn with: white (dark text) where the model was sure, a strong colour where it was
    unsure, the text colour chosen for contrast; hover shows the top alternatives. `legend` puts a line
    saying so above the text."""
    prime = "".join(_span(ch, PRIME, "prime (given, not generated)", theme) for ch in gen.prime)
    doubt = [1.0 - min(max(float(p), 0.0), 1.0) for p in gen.probs]
    colors = sample_colorscale([list(s) for s in UNSURE_SCALE], doubt) if doubt else []
    spans = []
    for i, (ch, c, p) in enumerate(zip(gen.chars, colors, gen.probs)):
        alts = ", ".join(f"{SHOWN.get(a, a)!r} {q:.2f}" for a, q in (gen.top[i] if i < len(gen.top) else []))
        spans.append(_span(ch, c, f"step {i}: p = {p:.2f}; top: {alts}", theme))
    return (_unsure_legend(theme) if legend else "") + _block([prime] + spans, theme, words=bool(gen.sep))
