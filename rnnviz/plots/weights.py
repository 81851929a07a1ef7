"""Weight matrices as heatmaps, one panel per gate block (W_ii, W_if, ...), signed colours centred at 0.
Not spectra (spectra.py) and not training curves."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.analysis.equations import to_html
from rnnviz.plots.budget import HEATMAP_MAX_CELLS, decimate_grid, f32
from rnnviz.plots.theme import NORMAL, Theme, style

CLIP_PERCENTILE = 99  # of |w|: the colour scale's end; the hover still shows each weight's value


def weight_blocks(w, blocks: list[str], name: str = "W_hh", theme: Theme = NORMAL,
                  max_cells: int = HEATMAP_MAX_CELLS, rows: list[int] | None = None) -> go.Figure:
    """A (G*H, D) weight matrix as G heatmaps of (H, D), one per gate block, sharing one colour scale
    symmetric about 0 and clipped at the CLIP_PERCENTILE-th percentile of |w|, so the blocks compare at a glance
    and outliers do not wash the rest out. Each block is decimated to max_cells / G cells. `rows` gives each
    block's row count where they differ (the mLSTM's per-head gates: CellSpec.block_width)."""
    m = np.asarray(f32(w), dtype=np.float64)
    if m.ndim != 2 or (sum(rows) != m.shape[0] if rows else m.shape[0] % len(blocks)):
        raise ValueError(f"{name} has shape {m.shape}, which does not split into {len(blocks)} gate blocks")
    parts = np.split(m, np.cumsum(rows)[:-1] if rows else len(blocks), axis=0)
    # a few outliers would set the scale and wash every other weight out to white
    bound = float(np.percentile(np.abs(m), CLIP_PERCENTILE)) if m.size else 0.0
    bound = bound or float(np.abs(m).max(initial=0.0)) or 1.0
    same = rows is None or len(set(rows)) == 1  # every block's rows are the same units: one y axis, labelled once
    split = len(blocks) > 1  # a tanh RNN's W_hh is one block: no panel title repeating the figure's
    shown = to_html(name)  # W_hh as the figures write it: W<sub>hh</sub>
    fig = make_subplots(1, len(blocks), subplot_titles=[f"{shown} · {g}" for g in blocks] if split else None,
                        horizontal_spacing=0.04 if same else 0.08, shared_yaxes=same)  # labels clear of the block left
    for j, (g, part) in enumerate(zip(blocks, parts)):
        grid = decimate_grid(part, max(1, max_cells // len(blocks)))
        fig.add_trace(go.Heatmap(z=grid.z, colorscale=theme.signed_scale, zmin=-bound, zmax=bound, zmid=0.0,
                                 showscale=j == len(blocks) - 1, colorbar={"title": {"text": "weight (clipped)"}},
                                 hovertemplate=f"{g}: row %{{y}}, column %{{x}}<br>%{{z:.3f}}<extra></extra>"),
                      1, j + 1)
        fig.update_yaxes(autorange="reversed", row=1, col=j + 1, title_text="unit (row)" if j == 0 else None)
        fig.update_xaxes(title_text="input" if name.startswith("W_ih") else "from unit", row=1, col=j + 1)
    return style(fig, theme, f"{shown}, split by gate block" if split else shown,
                 f"Red positive, blue negative, white 0;{' one scale for all blocks,' if split else ''} clipped at the "
                 f"{CLIP_PERCENTILE}th percentile of |w| ({bound:.3g}).")
