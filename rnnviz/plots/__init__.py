"""Figure builders for every view: pure functions from a Trace, arrays or history rows to a plotly Figure.

Not streamlit (pages draw the figures), not training, not analysis (rnnviz.analysis computes the numbers).
Every builder takes `theme` (theme.NORMAL or theme.PRESENTATION) and returns a styled go.Figure; heavy
arrays go out as float32 and within budget.py's limits. One module per view group:
    theme         Theme, NORMAL, PRESENTATION, palettes, style()
    budget        cell and point budgets, decimation
    graph         the unrolled computation graph
    gradients     ||dL/dh_t|| over t, comparisons, what-if before/after, Jacobian vs lag, heat over training
    spectra       W_hh eigenvalues and singular values
    connectivity  |dy_T/dx_s| bars with the true dependency marked
    hidden        hidden-state heatmap, PCA trajectory, unit finder
    text          HTML: characters coloured by a unit's activation or by generation probability
    gates         gate lines and heatmaps, cell state, c against h, saturation
    attention     attention matrix, top-k alternatives of generated text
    curves        loss, metric and gradient-norm curves over training
    snapshots     one figure per probe snapshot, for a slider
"""
from rnnviz.plots.attention import attention_figure, topk_figure
from rnnviz.plots.budget import HEATMAP_MAX_CELLS, LINE_MAX_POINTS, SCATTER_MAX_POINTS, decimate_grid, decimate_line
from rnnviz.plots.connectivity import connectivity_figure
from rnnviz.plots.curves import grad_norm_figure, loss_curves
from rnnviz.plots.gates import cell_state_figure, cell_vs_hidden, gate_heatmaps, gate_lines, saturation_figure
from rnnviz.plots.gradients import (before_after, grad_compare, grad_curve, grad_heat_figure, jacobian_figure,
                                    shade_windows)
from rnnviz.plots.graph import unrolled_figure
from rnnviz.plots.hidden import pca_figure, state_heatmap, unit_finder_figure
from rnnviz.plots.snapshots import snapshot_figure, snapshot_steps
from rnnviz.plots.spectra import eigenvalue_figure, singular_value_figure
from rnnviz.plots.text import activation_html, generation_html
from rnnviz.plots.theme import NORMAL, PRESENTATION, Theme, style, theme_for

__all__ = [
    "HEATMAP_MAX_CELLS", "LINE_MAX_POINTS", "NORMAL", "PRESENTATION", "SCATTER_MAX_POINTS", "Theme",
    "activation_html", "attention_figure", "before_after", "cell_state_figure", "cell_vs_hidden",
    "connectivity_figure", "decimate_grid", "decimate_line", "eigenvalue_figure", "gate_heatmaps", "gate_lines",
    "generation_html", "grad_compare", "grad_curve", "grad_heat_figure", "grad_norm_figure", "jacobian_figure",
    "loss_curves", "pca_figure", "saturation_figure", "shade_windows", "singular_value_figure", "snapshot_figure",
    "snapshot_steps", "state_heatmap", "style", "theme_for", "topk_figure", "unit_finder_figure", "unrolled_figure",
]
