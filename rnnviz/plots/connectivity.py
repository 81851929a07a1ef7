"""The connectivity figure: one bar per input step s, its height how strongly the final output reacts to
that input (analysis.input_connectivity), the steps the task truly depends on highlighted, as in
Distill's "Memorization in RNNs". A model that has learnt the task puts its tall bars on the marked steps.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.plots.axes import check_tokens, hover_tokens, token_ticks
from rnnviz.plots.theme import GATE_COLORS, NORMAL, Theme, style

DEPENDENCY = GATE_COLORS["f"]  # vermillion: "the answer lives here"
OTHER = GATE_COLORS["i"]  # blue


def connectivity_figure(values, dependency: list[int] | None = None, tokens: list[str] | None = None,
                        log: bool = False, theme: Theme = NORMAL,
                        what: str = "||∂y<sub>T−1</sub>/∂x<sub>s</sub>||", title: str | None = None) -> go.Figure:
    """Bars of values (S,) over input steps s; `dependency` (task.dependency(x)) marks the steps the answer
    truly depends on in a second colour and with a ★ legend entry; tokens label the steps. Without a
    dependency (None or empty) the subtitle says so and names no ★. `title` replaces the default, e.g. to
    tell two of these side by side apart ("tanh RNN", "GRU")."""
    v = np.asarray(values, dtype=np.float32).ravel()
    S = v.size
    tokens = check_tokens(tokens, S)
    dep = sorted({int(s) for s in (dependency or [])})
    bad = [s for s in dep if not 0 <= s < S]
    if bad:
        raise ValueError(f"dependency steps {bad} lie outside the {S} input steps; give steps 0 to {S - 1}")
    mask = np.zeros(S, bool)
    mask[dep] = True
    x = np.arange(S, dtype=np.float32)
    fig = go.Figure()
    for sel, name, color in ((~mask, "other steps", OTHER), (mask, "★ true dependency (the task's answer lives here)",
                                                            DEPENDENCY)):
        if sel.any():  # width in steps: plotly sizes a trace's bars by that trace's own spacing (2 marked: huge)
            fig.add_trace(go.Bar(x=x[sel], y=v[sel], name=name, marker={"color": color}, width=0.85,
                                 customdata=hover_tokens(tokens, S)[sel],
                                 hovertemplate="input step s = %{x}%{customdata}<br>" + what + " = %{y:.3g}"
                                               "<extra></extra>"))
    for s in dep:  # a band and a star: visible even where the model gives the step no weight at all
        fig.add_vrect(x0=s - 0.5, x1=s + 0.5, fillcolor=DEPENDENCY, opacity=0.15, line_width=0, layer="below")
    if dep:  # the star clear above the tallest bar (on a log axis 1.08× was no gap: it covered the next bars)
        top = float(np.nanmax(v)) if v.size and np.nanmax(v) > 0 else 1.0
        shown = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
        span = (np.log10(top / shown.min()) if log else top - min(0.0, float(shown.min()))) if shown.size else 1.0
        above = top * 10 ** (0.12 * max(span, 0.5)) if log else top + 0.12 * max(span, 1e-12)
        fig.add_trace(go.Scatter(x=np.asarray(dep, np.float32), y=np.full(len(dep), above, np.float32),
                                 mode="markers", marker={"symbol": "star", "size": theme.marker_size * 2,
                                                         "color": DEPENDENCY}, showlegend=False, hoverinfo="skip",
                                 name="true dependency"))
    fig.update_xaxes(title_text="input step s", range=[-0.6, S - 0.4],  # the bars, no empty strip beyond
                     **(token_ticks(tokens, theme=theme) if tokens else {}))
    fig.update_yaxes(title_text=what + (" (log scale)" if log else ""), type="log" if log else "linear")
    fig.update_layout(barmode="overlay", bargap=0.15)
    if dep:
        note = ("Tall bars on the ★ steps: the network remembers what matters. Tall bars elsewhere: it looks at noise."
                + _reading(v, mask))
    else:  # in the subtitle, not over the bars, where a note would cover them
        note = "This task names no true dependency: the tall bars are the inputs the network relies on."
    return style(fig, theme, title or "How much the final output depends on each input step", note)


def _times(x: float) -> str:
    """A ratio as a student reads it: 5,298×, 3.8× (never 5.3e+03×)."""
    return f"{x:,.0f}×" if x >= 10 else f"{x:.2g}×"


def _reading(v: np.ndarray, mask: np.ndarray) -> str:
    """What these bars show, from their numbers: the lowest ★ bar against the other steps' median, and whether
    the last tenth of the steps stand 3× above the ones before them (a dependence that fades with distance:
    lesson 6's tanh RNN, whose subtitle said only what tall bars would mean)."""
    star, other = v[mask], v[~mask]
    other = other[np.isfinite(other)]
    if not star.size or not other.size or not np.isfinite(star).all() or np.median(other) <= 0:
        return ""
    r = float(star.min() / np.median(other))
    one = star.size == 1
    if r >= 3:
        said = (f" Here the ★ bar stands {_times(r)} above the other steps' median: it singles it out." if one else
                f" Here every ★ bar stands {_times(r)} or more above the other steps' median: it singles them out.")
    elif r == 0:
        said = f" Here {'the' if one else 'a'} ★ bar is 0: the output does not react to it at all."
    elif r <= 1 / 3:
        said = (f" Here {'the' if one else 'the lowest'} ★ bar is {_times(1 / r)} below the other steps' median: it "
                "barely reacts to it.")
    else:
        said = (f" Here {'the' if one else 'the lowest'} ★ bar is within 3× of the other steps' median: it does not "
                "single it out.")
    n = max(2, v.size // 10)  # the last tenth of the steps (unmarked) against the unmarked ones before them
    unmarked = v[~mask]
    late, early = unmarked[-n:], unmarked[:-n]
    late, early = late[np.isfinite(late)], early[np.isfinite(early)]
    if late.size and early.size and np.median(early) > 0 and np.median(late) >= 3 * np.median(early):
        said += (f" Its last {n} other bars stand {_times(float(np.median(late) / np.median(early)))} above the "
                 "earlier ones: what it reads fades with distance.")  # not the tallest bar alone: one tall last step
    return said
