"""Figures of hidden states: the units x time heatmap (sortable, input tokens along time), the PCA trajectory
of h_t, and the unit finder's ranking. Numbers from analysis/hidden.py; the coloured-text view is text.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rnnviz.analysis.hidden import pca, unit_order
from rnnviz.analysis.traces import layered, resolve_prefix, stack_label, train_step_label, visible
from rnnviz.cells import get_spec
from rnnviz.plots.axes import check_tokens, heat_tokens, time_axis
from rnnviz.plots.budget import HEATMAP_MAX_CELLS, HOVER_TEXT_MAX_CELLS, decimate_grid
from rnnviz.plots.theme import GATE_COLORS, NORMAL, Theme, style

STATE_NAMES = {"h": "Hidden state h<sub>t</sub>", "c": "Cell state c<sub>t</sub>",
               "grad.h": "Gradient dL/dh<sub>t</sub>", "decay": "Decay a<sub>t</sub> per unit and step"}
ORDER_WORDS = {"index": "as stored", "variance": "most variable first", "pc1": "by PC1 loading",
               "cluster": "clustered"}
ORDER_NOTES = {"index": "", "variance": " Most variable units at the top.",
               "pc1": " Units sorted by their weight in the first principal component.",
               "cluster": " Units that rise and fall together sit side by side."}
POSITIVE, NEGATIVE = GATE_COLORS["f"], GATE_COLORS["i"]  # vermillion and blue, the signed palette's ends
TEXT_MAX_STEPS = 60  # PCA points carry their token as text up to this many steps; beyond, hover only


def _unit_labels(perm: np.ndarray, factor: int) -> list[str]:
    """Row labels after ordering (and block-averaging `factor` rows): "unit 7", or "units 3…9" per block."""
    if factor == 1:
        return [f"unit {u}" for u in perm]
    blocks = [perm[i:i + factor] for i in range(0, perm.size, factor)]
    return [f"units {b[0]}…{b[-1]} ({b.size})" for b in blocks]


def state_heatmap(trace, name: str = "h", layer: int = 0, sample: int = 0, prefix: str | None = None,
                  order: str = "index", tokens: list[str] | None = None, theme: Theme = NORMAL,
                  max_cells: int = HEATMAP_MAX_CELLS) -> go.Figure:
    """Units (rows, ordered by `order`, see analysis.unit_order) x time steps (columns) of a (layer, sample,
    step, unit) tensor: z = trace[name][layer, sample][:, perm].T, block-averaged beyond max_cells. Signed
    values use the diverging palette centred at 0, non-negative ones (relu, gates) viridis."""
    p = resolve_prefix(trace, prefix)
    m = layered(trace, name, layer, sample, p)  # (T, H)
    tokens = check_tokens(tokens, m.shape[0])
    perm = unit_order(m, order)
    grid = decimate_grid(m[:, perm].T, max_cells)  # (H', T')
    signed = bool(np.nanmin(m) < 0) if m.size else False
    named = bool(tokens) and grid.col_factor == 1  # each column one step: ticks (and hover) name its token
    hover = named and grid.z.size <= HOVER_TEXT_MAX_CELLS
    fig = go.Figure(go.Heatmap(
        z=grid.z, x=grid.cols, y=_unit_labels(perm, grid.row_factor),
        colorscale=theme.signed_scale if signed else theme.magnitude_scale, zmid=0.0 if signed else None,
        colorbar={"title": {"text": "value"}}, customdata=heat_tokens(tokens, grid.z.shape[0]) if hover else None,
        hovertemplate="%{y}<br>t = %{x:.0f}" + ("%{customdata}" if hover else "") + "<br>value %{z:.3f}"
                      "<extra></extra>"))
    fig.update_xaxes(**time_axis(tokens if named else None, theme=theme))
    fig.update_yaxes(title_text=f"unit ({ORDER_WORDS.get(order, order)})", autorange="reversed")
    shrunk = ORDER_NOTES.get(order, "") + (
        f" Averaged in blocks of {grid.row_factor} units x {grid.col_factor} steps to stay fluid."
        if grid.row_factor * grid.col_factor > 1 else "")
    stored = name == "c" and get_spec(trace.arch).rescaled_cell  # the sLSTM keeps c_t divided by e^(m_t)
    what = "Stored cell state c<sub>t</sub> exp(−m<sub>t</sub>)" if stored else STATE_NAMES.get(name, name)
    title = f"{stack_label(p).capitalize()}{what}, layer {layer}, sample {sample}"
    return style(fig, theme, title + train_step_label(trace),
                 ("Each row is one unit over time: red positive, blue negative, white 0." if signed else
                  "Each row is one unit over time: bright = large.") + shrunk
                 + (" The sLSTM stores c_t rescaled by its stabiliser m_t; h_t reads c_t / n_t (the Gates page)."
                    if stored else ""))


def pca_figure(trace, layer: int = 0, sample: int = 0, prefix: str | None = None, dims: int = 2,
               tokens: list[str] | None = None, name: str = "h", theme: Theme = NORMAL) -> go.Figure:
    """The trajectory of h_t through the sequence in its first 2 or 3 principal components (analysis.pca),
    points coloured by time and labelled by their input token."""
    if dims not in (2, 3):
        raise ValueError(f"a trajectory can be drawn in 2 or 3 dimensions, not {dims}")
    p = resolve_prefix(trace, prefix)
    m = layered(trace, name, layer, sample, p)
    tokens = check_tokens(tokens, m.shape[0])
    res = pca(m, dims)
    T = m.shape[0]
    labels = [visible(t) for t in tokens] if tokens else [""] * T
    common = dict(mode="lines+markers+text" if (tokens and T <= TEXT_MAX_STEPS) else "lines+markers",
                  text=labels, line={"color": "#9e9e9e", "width": theme.line_width / 2},
                  marker={"size": theme.marker_size * 1.3, "color": np.arange(T, dtype=np.float32),
                          "colorscale": theme.magnitude_scale, "showscale": True,
                          "colorbar": {"title": {"text": "time step t"}}},
                  customdata=np.arange(T), name="h_t", showlegend=False)
    axes = [f"PC{i + 1} ({res.ratio[i]:.0%} of variance)" for i in range(dims)]
    if dims == 2:
        fig = go.Figure(go.Scatter(x=res.coords[:, 0], y=res.coords[:, 1], textposition="top center",
                                   hovertemplate="t = %{customdata}  %{text}<br>(%{x:.2f}, %{y:.2f})<extra></extra>",
                                   **common))
        fig.update_xaxes(title_text=axes[0])
        fig.update_yaxes(title_text=axes[1])
    else:
        fig = go.Figure(go.Scatter3d(x=res.coords[:, 0], y=res.coords[:, 1], z=res.coords[:, 2],
                                     hovertemplate="t = %{customdata}  %{text}<extra></extra>", **common))
        fig.update_layout(scene={"xaxis_title": axes[0], "yaxis_title": axes[1], "zaxis_title": axes[2]})
    shown = float(res.ratio.sum())
    return style(fig, theme, f"{stack_label(p).capitalize()}Trajectory of h<sub>t</sub> in {dims}-D (PCA), "
                 f"layer {layer}, sample {sample}", f"These {dims} directions hold {shown:.0%} of the variance; "
                 "dark = early, bright = late.")


def unit_finder_figure(correlations: pd.DataFrame, over: str, top: int = 12, theme: Theme = NORMAL) -> go.Figure:
    """The strongest rows of analysis.unit_correlations as horizontal bars, strongest at the top. `over` says which
    text they were measured on ("the 100 steps of sample 0, layer 0, at training step 400"): two finders on two
    texts rank units differently, and each must say which it read."""
    if correlations.empty:
        raise ValueError("no correlations to show; give the unit finder at least one feature")
    d = correlations.head(top).iloc[::-1]
    labels = [f"{visible(f)} · unit {u}" for f, u in zip(d["feature"], d["unit"])]
    r = d["correlation"].to_numpy(np.float32)
    fig = go.Figure(go.Bar(x=r, y=labels, orientation="h",
                           marker={"color": np.where(r >= 0, POSITIVE, NEGATIVE).tolist()},
                           hovertemplate="%{y}<br>correlation %{x:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="Pearson correlation with the feature over time", range=[-1, 1])
    fig.update_yaxes(title_text="feature · unit")
    return style(fig, theme, "Unit finder: units that track a feature",
                 f"Measured over {over}. A bar near ±1: that unit's activation follows the feature step by step "
                 "(orange: rises with it, blue: falls).")
