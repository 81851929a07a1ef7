"""Figures only the lessons need: each step's share of dL/dW_hh, the gates at one step, accuracy against lag.
Not the general views (their own modules)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.analysis.traces import gates as gate_names, layered, resolve_prefix
from rnnviz.plots.gates import GATE_NAMES
from rnnviz.plots.theme import MUTED, NORMAL, Theme, gate_color, run_line, style
from rnnviz.trace import Trace, weight_grad_share


def weight_share_figure(trace: Trace, layer: int = 0, tokens: list[str] | None = None,
                        theme: Theme = NORMAL) -> go.Figure:
    """Bars: ||step t's share of dL/dW_hh||_F; the subtitle: the norm of their sum, the gradient itself (an
    annotation in the plot's corner said it there, over a 0 to 0.03 axis, and read as a 0.167 the bars never reach)."""
    shares = weight_grad_share(trace, layer)  # (T, G*H, H)
    per_step = shares.flatten(1).norm(dim=1).numpy().astype(np.float32)
    total = float(shares.sum(0).norm())
    labels = [f"t={t}" + (f" '{tokens[t]}'" if tokens else "") for t in range(len(per_step))]
    fig = go.Figure(go.Bar(x=np.arange(len(per_step)), y=per_step, marker_color=gate_color("i"), hovertext=labels,
                           hovertemplate="%{hovertext}<br>||share|| %{y:.3g}<extra></extra>"))
    fig.update_xaxes(title_text="time step t")
    fig.update_yaxes(title_text="||share of dL/dW<sub>hh</sub>|| at step t")
    return style(fig, theme, "The weight gradient is a sum over time steps",
                 "One matrix W<sub>hh</sub> is used at every step, so its gradient adds up every step's share. Each "
                 "share is a matrix; a bar is its size. The bars add up to "
                 f"{float(per_step.sum()):.3g}, more than their sum's, ||dL/dW<sub>hh</sub>|| = {total:.3g}: shares "
                 "pointing different ways partly cancel.")


def gates_at_step(trace: Trace, t: int, units: list[int], layer: int = 0, sample: int = 0,
                  prefix: str | None = None, theme: Theme = NORMAL) -> go.Figure:
    """Grouped bars: every gate's activation at step t for a few units (sigmoid gates 0..1, g/n in -1..1)."""
    p = resolve_prefix(trace, prefix)
    fig = go.Figure()
    for g in gate_names(trace, p):
        values = layered(trace, f"gate.{g}", layer, sample, p)[t, units]
        fig.add_trace(go.Bar(name=GATE_NAMES.get(g, g), x=[f"unit {u}" for u in units], y=values,
                             marker_color=gate_color(g), hovertemplate="%{x}: %{y:.2f}<extra>" + g + "</extra>"))
    fig.add_hline(y=0, line_color="#000000", line_width=1)
    fig.update_yaxes(title_text="activation", range=[-1.05, 1.05])
    return style(fig, theme, f"Gates at step {t}",
                 "Sigmoid gates run 0 (shut) to 1 (open); the candidate g runs -1 to 1.")


def accuracy_vs_lag(results: dict[str, list[tuple[int, float]]], chance: float | None = None,
                    metric: str = "accuracy", theme: Theme = NORMAL) -> go.Figure:
    """One line per architecture through its mean final validation metric at each lag, and one dot per run
    (seed), nudged sideways per architecture so that no line hides another. results: label -> [(lag, value)]."""
    fig = go.Figure()
    n = len(results)
    lags = sorted({lag for points in results.values() for lag, _ in points})
    nudge = 0.012 * (max(lags) - min(lags) if len(lags) > 1 else 1)
    for i, (label, points) in enumerate(results.items()):
        dx = (i - (n - 1) / 2) * nudge
        by_lag = {lag: [v for g, v in points if g == lag] for lag in sorted({g for g, _ in points})}
        color = run_line(i, theme.line_width)["color"]
        fig.add_trace(go.Scatter(x=[p[0] + dx for p in points], y=[p[1] for p in points], mode="markers",
                                 name=f"{label}, each seed", legendgroup=label, showlegend=False,
                                 marker={"color": color, "size": theme.marker_size, "opacity": 0.55,
                                         "line": {"width": 1, "color": "#ffffff"}},
                                 hovertemplate=f"{label}<br>lag %{{customdata}}<br>{metric} %{{y:.3f}}"
                                               "<extra>one seed</extra>",
                                 customdata=[p[0] for p in points]))
        fig.add_trace(go.Scatter(x=[g + dx for g in by_lag], y=[float(np.mean(v)) for v in by_lag.values()],
                                 name=label, legendgroup=label, mode="lines+markers",
                                 line=run_line(i, theme.line_width),
                                 marker={"size": theme.marker_size * 1.4, "symbol": "diamond"},
                                 customdata=[[g, len(v)] for g, v in by_lag.items()],
                                 hovertemplate=f"{label}<br>lag %{{customdata[0]}}<br>mean {metric} %{{y:.3f}} over "
                                 "%{customdata[1]} seeds<extra></extra>"))
    if chance is not None:
        fig.add_hline(y=chance, line_dash="dot", line_color=MUTED, annotation_text=f"chance: {chance:.2g}",
                      annotation_position="bottom right", annotation_font_color="#7f7f7f")
    fig.update_xaxes(title_text="lag (steps between the cause and the answer)", tickvals=lags)
    fig.update_yaxes(title_text=f"validation {metric}", range=[0, 1.05] if metric == "accuracy" else None)
    return style(fig, theme, "Which networks hold information over a growing lag?",
                 "Small dots: one run each (seed). Line: their mean. Down at the dotted line, nothing was learned.")


def variant_scores(results: dict[str, list[float]], metric: str, baseline: float | None = None,
                   higher_is_better: bool = True, theme: Theme = NORMAL,
                   title: str = "Which piece of the LSTM matters?", axis: str | None = None,
                   log: bool = False, note: str = "") -> go.Figure:
    """Final validation metric per variant, one dot per run (seed) and a tick for their mean, best on top; the
    input-ignored baseline as a dotted line. results: label -> [value per seed]. `axis` replaces the x axis's
    title (keep it short: it does not wrap) and `note` ends the subtitle; log=True draws it on a log scale (for
    quantities spread over decades)."""
    order = sorted(results, key=lambda k: float(np.mean(results[k])), reverse=higher_is_better)
    fig = go.Figure()
    fig.add_trace(go.Scatter(y=order, x=[float(np.mean(results[k])) for k in order], mode="markers", name="mean",
                             marker={"symbol": "line-ns", "size": theme.marker_size * 3.5, "color": "#6baed6",
                                     "line": {"width": theme.line_width * 2, "color": "#6baed6"}},
                             customdata=[len(results[k]) for k in order],
                             hovertemplate=f"%{{y}}<br>mean {metric} %{{x:.3f}} over %{{customdata}} seeds"
                                           "<extra></extra>"))
    fig.add_trace(go.Scatter(y=[k for k in order for _ in results[k]], x=[v for k in order for v in results[k]],
                             mode="markers", name="one seed",
                             marker={"color": "#08519c", "size": theme.marker_size * 1.3},
                             hovertemplate=f"%{{y}}<br>{metric} %{{x:.3f}}<extra>one seed</extra>"))
    values = [v for vs in results.values() for v in vs] + ([baseline] if baseline is not None else [])
    lo, hi = min(values), max(values)
    if baseline is not None:  # its label on the side with room: left of a line near the axis it would cover the names
        left = lo if log or not higher_is_better else 0.0
        side = "top right" if baseline - left < 0.5 * (hi - left) else "top left"
        fig.add_vline(x=baseline, line_dash="dot", line_color=MUTED, line_width=theme.line_width,
                      annotation_text=f"input ignored: {baseline:.3g}", annotation_position=side,
                      annotation_font_color="#7f7f7f")
    text = axis or f"validation {metric} after training ({'higher' if higher_is_better else 'lower'} is better)"
    if log:
        fig.update_xaxes(title_text=text, type="log")
    else:
        fig.update_xaxes(title_text=text,
                         range=[0 if higher_is_better else lo - 0.1 * (hi - lo), hi + 0.05 * (hi - lo)])
    fig.update_yaxes(autorange="reversed", title_text="")
    fig.update_layout(showlegend=False, height=int(theme.height * max(1.0, 0.14 * len(order))))
    return style(fig, theme, title,
                 "Dots: one run each (seed); ticks: their mean; best on top."
                 + (" The dotted line: what ignoring the input scores." if baseline is not None else "")
                 + (f" {note}" if note else ""))
