"""Figures only the lessons need: each step's share of dL/dW_hh, the gates at one step, accuracy against lag.
Not the general views (their own modules)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.analysis.traces import gates as gate_names, layered, resolve_prefix
from rnnviz.plots.gates import GATE_NAMES
from rnnviz.plots.theme import NORMAL, Theme, gate_color, run_line, style
from rnnviz.trace import Trace, weight_grad_share


def weight_share_figure(trace: Trace, layer: int = 0, tokens: list[str] | None = None,
                        theme: Theme = NORMAL) -> go.Figure:
    """Bars: ||step t's share of dL/dW_hh||_F; the annotation: the norm of their sum, the gradient itself."""
    shares = weight_grad_share(trace, layer)  # (T, G*H, H)
    per_step = shares.flatten(1).norm(dim=1).numpy().astype(np.float32)
    total = float(shares.sum(0).norm())
    labels = [f"t={t}" + (f" '{tokens[t]}'" if tokens else "") for t in range(len(per_step))]
    fig = go.Figure(go.Bar(x=np.arange(len(per_step)), y=per_step, marker_color=gate_color("i"), hovertext=labels,
                           hovertemplate="%{hovertext}<br>||share|| %{y:.3g}<extra></extra>"))
    fig.add_annotation(xref="paper", yref="paper", x=0.01, y=0.98, showarrow=False, align="left",
                       text=f"sum over steps = dL/dW_hh, norm {total:.3g}")
    fig.update_xaxes(title_text="time step t")
    fig.update_yaxes(title_text="||share of dL/dW_hh|| at step t")
    return style(fig, theme, "The weight gradient is a sum over time steps",
                 "One matrix W_hh is used at every step, so its gradient adds up every step's contribution.")


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
    """One line per architecture: final validation metric against the dependency lag."""
    fig = go.Figure()
    for i, (label, points) in enumerate(results.items()):
        points = sorted(points)
        fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=label,
                                 mode="lines+markers", line=run_line(i, theme.line_width)))
    if chance is not None:
        fig.add_hline(y=chance, line_dash="dash", line_color="#7f7f7f", annotation_text="chance")
    fig.update_xaxes(title_text="lag (steps between cause and answer)")
    fig.update_yaxes(title_text=f"validation {metric}")
    return style(fig, theme, "Which networks hold information over a growing lag?",
                 "Each point is one trained run; the line falls to chance where learning fails.")
