"""Training curves for the Train page: loss and metric (train and validation) of one run or several overlaid
(an RNN vs LSTM vs GRU race), and the total gradient norm on a log axis with clipping events marked.
History rows are Trainer.history's dicts ({"step", "loss", "metric", "grad_norm", "clipped", "val_loss",
"val_metric", ...}); every line is decimated to budget.LINE_MAX_POINTS points (bucket means for loss and
metric, bucket min and max for the gradient norm so spikes survive). The ||dL/dh_t|| heat over training is
gradients.grad_heat_figure.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.plots.budget import LINE_MAX_POINTS, decimate_line, f32, stride_index
from rnnviz.plots.theme import GATE_COLORS, MUTED, NORMAL, RUN_COLORS, Theme, run_line, style

ERRORS = {"mse", "rmse", "mae"}  # metrics that are errors (drawn on a log axis beside a log loss)
VALIDATION_DOTS = 60  # validation points get markers up to this many; beyond, the dashed line alone reads better


def _runs(history) -> dict[str, pd.DataFrame]:
    """One run's rows, or {label: rows} for several, as DataFrames with a numeric column per key."""
    runs = history if isinstance(history, dict) else {"": history}
    if not runs or not any(len(rows) for rows in runs.values()):
        raise ValueError("there is no training history yet; train for a few steps first")
    return {label: pd.DataFrame(list(rows)) for label, rows in runs.items() if len(rows)}  # just started: not yet


def _column(df: pd.DataFrame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) where `key` was recorded (validation is only every few steps)."""
    if key not in df or "step" not in df:
        return np.zeros(0), np.zeros(0)
    v = pd.to_numeric(df[key], errors="coerce").to_numpy(np.float64)
    keep = np.isfinite(v)
    return df["step"].to_numpy(np.float64)[keep], v[keep]


def _values(fig: go.Figure, xaxis: str, key: str) -> np.ndarray:
    """Every x or y value the traces on one panel draw, as one array (the live charts rebuild each second: no
    Python loop over their points)."""
    parts = [np.asarray(getattr(t, key), np.float64) for t in fig.data
             if t.xaxis == xaxis and getattr(t, key) is not None]
    return np.concatenate(parts) if parts else np.empty(0)


def loss_curves(history, metric_name: str = "metric", log_loss: bool = False, theme: Theme = NORMAL,
                max_points: int = LINE_MAX_POINTS, baseline: tuple[float, float] | None = None,
                ceiling: float | None = None) -> go.Figure:
    """Loss (left) and metric (right) against training step: training solid, validation dashed with markers,
    one colour per run. history: Trainer.history rows, or {label: rows} to overlay runs. When the metric is the
    loss itself (mean squared error), one panel: two would show the same curves twice. baseline: the task's
    (loss, metric) when the input is ignored (Task.baseline), drawn as a grey dotted line on each panel.
    ceiling: the loss axis's top, when a diverged run's 10⁴ would squash the others into one band (lesson 3);
    the subtitle says what runs off it."""
    runs = _runs(history)
    same = metric_name.lower() == "mse"
    panels = (("loss", "val_loss"),) if same else (("loss", "val_loss"), ("metric", "val_metric"))
    titles = ["loss (mse)"] if same else ["loss", metric_name]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, horizontal_spacing=0.1)
    for i, (label, df) in enumerate(runs.items()):
        for col, (train, val) in enumerate(panels, 1):
            for key, what in ((train, "train"), (val, "validation")):
                x, y = decimate_line(*_column(df, key), max_points=max_points, how="mean")
                if not x.size:
                    continue
                name = f"{label} {what}".strip()
                dots = what == "validation" and x.size <= VALIDATION_DOTS
                fig.add_trace(go.Scatter(
                    x=x, y=y, mode="lines+markers" if dots else "lines", name=name,
                    legendgroup=name, showlegend=col == 1,
                    line=run_line(i, theme.line_width, validation=what == "validation"),
                    marker={"size": theme.marker_size * 0.8},
                    hovertemplate=f"{name}<br>step %{{x:.0f}}<br>{key} = %{{y:.4g}}<extra></extra>"), row=1, col=col)
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="loss" + (" (log scale)" if log_loss else ""), type="log" if log_loss else "linear",
                     row=1, col=1)
    above = ""
    losses = _values(fig, "x", "y") if ceiling is not None else np.empty(0)  # only asked for by lesson 3
    losses = losses[np.isfinite(losses) & (losses > 0)]
    if losses.size and losses.max() > ceiling:
        low = min(float(losses.min()), *(baseline[:1] if baseline else ()))
        fig.update_yaxes(range=[np.log10(0.8 * low), np.log10(ceiling)] if log_loss else [0, ceiling], row=1, col=1)
        above = f" Loss above {ceiling:.2g} runs off the top."
    if not same:
        log_metric = log_loss and metric_name.lower() in ERRORS  # an error spans decades like the loss does
        fig.update_yaxes(title_text=metric_name + (" (log scale)" if log_metric else ""),
                         type="log" if log_metric else "linear", row=1, col=2)
    if baseline is not None:  # a dotted line named in the legend: a label beside it at the curves' end covered
        for col, value in enumerate(baseline[:len(panels)], 1):  # a run that stays at the line (lesson 3's race)
            log = fig.get_subplot(1, col).yaxis.type == "log"
            xs = _values(fig, f"x{'' if col == 1 else col}", "x")
            if not xs.size or not np.isfinite(value) or (log and value <= 0):
                continue
            name = "input ignored" + (f" ({titles[col - 1]})" if len(panels) > 1 else "") + f": {value:.3g}"
            fig.add_trace(go.Scatter(x=[float(xs.min()), float(xs.max())], y=[value, value], mode="lines", name=name,
                                     line={"color": MUTED, "dash": "dot", "width": theme.line_width},
                                     hovertemplate=f"{name}<extra></extra>"), row=1, col=col)
    several = len(runs) > 1
    lines = ("Solid, dotted or long-dashed: training. Dashed or dash-dotted: validation."
             if len(runs) > len(RUN_COLORS) else "Solid: training batches. Dashed: held-out validation.")
    note = " Grey dotted line: ignoring the input." if baseline is not None else " A widening gap is overfitting."
    checks = [t for t in fig.data if t.name.endswith("validation") and t.mode == "lines+markers" and len(t.x) > 1]
    if checks:  # a straight dash from step 0 to step 50 read as validation improving before training did
        gap = float(np.median(np.diff(np.asarray(checks[0].x, np.float64))))
        when = "at every step" if gap <= 1 else f"every {gap:,.0f} steps"
        if gap > 1 and float(checks[0].x[0]) == 1:  # two runs' first dots differ: they were taken after one update
            when = f"after the first step's update, then {when}"
        note += f" Validation is checked {when} (the dots); the dashes only join them."
    return style(fig, theme, "Training race" if several else "Training curves", lines + note + above)


CLIPPED = "✕ where clipping fired"  # the legend's name of the clipped steps' markers ("clipped at 1 clipped")


def grad_norm_figure(history, clip_norm: float | None = None, theme: Theme = NORMAL,
                     max_points: int = LINE_MAX_POINTS) -> go.Figure:
    """Total gradient norm (before clipping) against step on a log axis; ✕ where clipping fired, the clipping
    threshold dashed. history: rows or {label: rows}."""
    runs = _runs(history)
    fig = go.Figure()
    for i, (label, df) in enumerate(runs.items()):
        s, g = _column(df, "grad_norm")
        g = np.where(g > 0, g, np.nan)
        x, y = decimate_line(s, g, max_points=max_points, how="minmax")
        name = f"{label} gradient norm".strip()
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name,
                                 line=run_line(i, theme.line_width),
                                 hovertemplate="step %{x:.0f}<br>||∇L|| = %{y:.3g}<extra></extra>"))
        if "clipped" in df:
            clipped = np.array([isinstance(v, (bool, np.bool_)) and bool(v) for v in df["clipped"]])  # None, NaN: no
            hit = clipped & (pd.to_numeric(df["grad_norm"], errors="coerce").to_numpy(np.float64) > 0)
            steps = df["step"].to_numpy(np.float64)[hit]
            norms = pd.to_numeric(df["grad_norm"], errors="coerce").to_numpy(np.float64)[hit]
            keep = stride_index(steps.size, max_points)
            fig.add_trace(go.Scatter(x=f32(steps[keep]), y=f32(norms[keep]), mode="markers",
                                     name=(f"{label}: " if label else "") + CLIPPED,
                                     marker={"symbol": "x", "color": GATE_COLORS["f"], "size": theme.marker_size * 1.2},
                                     hovertemplate="clipped at step %{x:.0f}<br>||∇L|| = %{y:.3g}<extra></extra>"))
    if clip_norm:
        fig.add_hline(y=clip_norm, line={"color": MUTED, "width": theme.line_width, "dash": "dash"})
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="total gradient norm ||∇L|| (log scale)", type="log", exponentformat="power")
    marked = any(t.name.endswith(CLIPPED) and len(t.x) for t in fig.data)  # an overlaid run may clip
    clip = (f"; ✕ marks a step where clipping rescaled the gradient. Dashed: the clipping threshold {clip_norm:g}."
            if clip_norm else "; ✕ marks a step where clipping rescaled the gradient." if marked
            else " (clipping is off).")
    before = "Measured before clipping. " if clip_norm or marked else ""
    return style(fig, theme, "Gradient norm during training",
                 before + "A spike of orders of magnitude is an exploding gradient" + clip)
