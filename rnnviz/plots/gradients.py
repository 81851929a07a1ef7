"""Figures of gradient flow through time: ||dL/dh_t|| against t (one run, or several overlaid, or before and
after a what-if), the Jacobian norm against lag with the rate ρ^lag over it, and the heat of ||dL/dh_t||
over training. Numbers come from analysis/gradients.py; nothing here computes a gradient.

Every y axis that spans orders of magnitude is logarithmic: vanishing is a straight line going down.
Zeros and NaN cannot sit on a log axis and are left out (a gap in the line).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.analysis.gradients import geometric_rate, grad_heat_matrix, grad_norms, jacobian_by_lag, tbptt_windows
from rnnviz.analysis.traces import check_index, resolve_prefix, stack_label, train_step_label
from rnnviz.plots.axes import check_tokens, token_ticks
from rnnviz.plots.budget import decimate_grid, f32
from rnnviz.plots.theme import GATE_COLORS, MUTED, NORMAL, Theme, run_color, style
from rnnviz.trace import Trace

SYMBOL = {"grad.h": "||dL/dh<sub>t</sub>||", "grad.c": "||dL/dc<sub>t</sub>||",
          "grad.gh": "||dL/d(W<sub>hh</sub>h<sub>t−1</sub>)||"}


def _positive(y) -> np.ndarray:
    """y for a log axis: non-positive values become NaN (gaps), not -inf."""
    y = np.asarray(y, dtype=np.float32).copy()
    y[~(y > 0)] = np.nan
    return y


def _log_y(fig: go.Figure, title: str) -> None:
    fig.update_yaxes(type="log", title_text=f"{title} (log scale)", exponentformat="power")


def grad_curve(trace: Trace, name: str = "grad.h", sample: int | None = None, prefix: str | None = None,
               tokens: list[str] | None = None, theme: Theme = NORMAL) -> go.Figure:
    """||dL/dh_t|| (or grad.c, grad.gh) against t, one line per layer, log y: the mean over the probe samples'
    norms (sample None) or one sample's. y[layer] = analysis.grad_norms(trace, name, sample, prefix)[layer]."""
    p = resolve_prefix(trace, prefix)
    norms = grad_norms(trace, name, sample, p)  # (L, T)
    T = norms.shape[1]
    tokens = check_tokens(tokens, T)
    fig = go.Figure()
    for k, row in enumerate(norms):
        fig.add_trace(go.Scatter(
            x=np.arange(T, dtype=np.float32), y=_positive(row), mode="lines+markers", name=f"layer {k}",
            line={"width": theme.line_width, "color": run_color(k)}, marker={"size": theme.marker_size},
            hovertemplate=f"layer {k}, t = %{{x}}<br>{SYMBOL.get(name, name)} = %{{y:.3g}}<extra></extra>"))
    _log_y(fig, SYMBOL.get(name, name))
    fig.update_xaxes(title_text="time step t", **(token_ticks(tokens) if tokens else {}))
    who = "mean over probe samples" if sample is None else f"sample {sample}"
    return style(fig, theme, f"{stack_label(p).capitalize()}{SYMBOL.get(name, name)} through time, {who}"
                 f"{train_step_label(trace)}",
                 "A line falling to the left: the gradient vanishes as it flows back in time.")


def _series(value, name: str, layer: int) -> np.ndarray:
    """A Trace's mean ||dL/dh_t|| for one layer, or an array given as it is."""
    if isinstance(value, Trace):
        norms = grad_norms(value, name)
        return norms[check_index("layer", layer, norms.shape[0])]
    return np.asarray(value, dtype=np.float32).ravel()


def shade_windows(fig: go.Figure, steps: int, k1: int) -> None:
    """Shades every other truncated-BPTT window [start, end) so the cuts between them show."""
    for i, (a, b) in enumerate(tbptt_windows(steps, k1)):
        if i % 2 == 0:
            fig.add_vrect(x0=a - 0.5, x1=b - 0.5, fillcolor=MUTED, opacity=0.25, line_width=0, layer="below")


def grad_compare(series: dict, name: str = "grad.h", layer: int = -1, k1: int | None = None,
                 theme: Theme = NORMAL, title: str | None = None, subtitle: str | None = None) -> go.Figure:
    """Several labelled ||dL/dh_t|| curves overlaid on one log axis: label -> a Trace (its mean over samples
    for `layer`) or an array (T,). k1 shades alternate truncated-BPTT windows over t."""
    if not series:
        raise ValueError("nothing to compare; give at least one labelled trace or curve")
    fig = go.Figure()
    longest = 0
    for i, (label, value) in enumerate(series.items()):
        y = _series(value, name, layer)
        longest = max(longest, y.size)
        fig.add_trace(go.Scatter(
            x=np.arange(y.size, dtype=np.float32), y=_positive(y), mode="lines", name=str(label),
            line={"width": theme.line_width, "color": run_color(i)},
            hovertemplate=f"{label}<br>t = %{{x}}<br>{SYMBOL.get(name, name)} = %{{y:.3g}}<extra></extra>"))
    if k1:
        shade_windows(fig, longest, k1)
    _log_y(fig, SYMBOL.get(name, name))
    fig.update_xaxes(title_text="time step t")
    fig.update_layout(legend={"title": {"text": "run"}})
    shade = f" Shaded: every other truncated-BPTT window of {k1} steps." if k1 else ""
    return style(fig, theme, title or f"{SYMBOL.get(name, name)} through time, compared",
                 subtitle or "Same task, same probe: the curve that stays flat carries the gradient furthest back."
                 + shade)


def before_after(before: Trace, after: Trace, what: str, name: str = "grad.h", layer: int = -1,
                 theme: Theme = NORMAL) -> go.Figure:
    """A what-if's effect on gradient flow: the same probe before and after `what` (e.g. "W_hh × 2")."""
    return grad_compare({"before": before, f"after: {what}": after}, name, layer, theme=theme,
                        title=f"What if: {what}", subtitle=f"{SYMBOL.get(name, name)} on the same input, "
                        "before and after the change (the original model is untouched).")


def jacobian_figure(trace: Trace, rho: float, layer: int = 0, prefix: str | None = None,
                    theme: Theme = NORMAL) -> go.Figure:
    """||∂h_{T-1}/∂h_t|| against lag T-1-t (log y), with anchor·ρ^lag drawn over it, anchor = the norm at lag 0
    (sqrt(H), the identity's). Thinned steps (NaN in the trace) are left out."""
    p = resolve_prefix(trace, prefix)
    curve = jacobian_by_lag(trace, layer, p)
    if not curve.lag.size:
        raise ValueError("this trace has no Jacobian norms; probe with jacobian=True")
    anchor = float(curve.norm[0]) if curve.lag[0] == 0 else float(np.sqrt(trace.meta.get("hidden_size", 1)))
    fig = go.Figure(go.Scatter(x=curve.lag, y=_positive(curve.norm), mode="lines+markers", name="measured",
                               line={"width": theme.line_width, "color": GATE_COLORS["i"]},
                               marker={"size": theme.marker_size},
                               hovertemplate="lag %{x}<br>||∂h<sub>T−1</sub>/∂h<sub>t</sub>|| = %{y:.3g}"
                                             "<extra></extra>"))
    fig.add_trace(go.Scatter(x=curve.lag, y=_positive(geometric_rate(curve.lag, rho, anchor)), mode="lines",
                             name=f"ρ = {rho:.3g}: anchor·ρ<sup>lag</sup>",
                             line={"width": theme.line_width, "color": GATE_COLORS["f"], "dash": "dash"},
                             hovertemplate="lag %{x}<br>ρ<sup>lag</sup> line = %{y:.3g}<extra></extra>"))
    _log_y(fig, "||∂h<sub>T−1</sub>/∂h<sub>t</sub>||<sub>F</sub>")
    measured = _positive(curve.norm)
    measured = measured[np.isfinite(measured) & (measured > 0)]
    if measured.size:  # keep the measurement readable: the ρ line may leave the frame, it is a guide
        lo, hi = float(measured.min()), float(measured.max())
        fig.update_yaxes(range=[np.log10(lo) - 2, np.log10(hi) + 2])
    fig.update_xaxes(title_text="lag T−1−t (steps back from the end)")
    method = (trace.meta.get("jacobian") or {}).get(p, "")
    return style(fig, theme, f"{stack_label(p).capitalize()}Jacobian norm against lag, layer {layer}"
                 f"{train_step_label(trace)}",
                 f"ρ = {rho:.3g} is W<sub>hh</sub>'s spectral radius: ρ < 1 predicts vanishing, ρ > 1 exploding."
                 + (f" ({method})" if method else ""))


def grad_heat_figure(grad_heat: list, theme: Theme = NORMAL) -> go.Figure:
    """log10 ||dL/dh_t|| over (training step, time step t), one row per probe (Trainer.grad_heat)."""
    steps, z = grad_heat_matrix(grad_heat)
    with np.errstate(divide="ignore", invalid="ignore"):
        logz = np.where(z > 0, np.log10(np.where(z > 0, z, 1.0)), np.nan)
    grid = decimate_grid(logz)
    train = np.interp(grid.rows, np.arange(steps.size), steps)  # block centres in training steps
    # one equal row per probe, labelled by its training step: probes need not be evenly spaced
    rows = np.arange(grid.z.shape[0], dtype=np.float32)
    every = max(1, int(np.ceil(rows.size / 12)))
    fig = go.Figure(go.Heatmap(
        z=grid.z, x=grid.cols, y=rows, customdata=np.repeat(train[:, None], grid.z.shape[1], 1).astype(np.float32),
        colorscale=theme.magnitude_scale,
        colorbar={"title": {"text": "log₁₀ ||dL/dh<sub>t</sub>||"}},
        hovertemplate="training step %{customdata:.0f}<br>t = %{x:.0f}<br>log₁₀ ||dL/dh<sub>t</sub>|| = %{z:.2f}"
                      "<extra></extra>"))
    fig.update_xaxes(title_text="time step t")
    fig.update_yaxes(title_text="training step", tickmode="array", tickvals=rows[::every],
                     ticktext=[f"{s:.0f}" for s in train[::every]])
    return style(fig, theme, "Gradient reaching each time step, over training",
                 "Dark on the left: early steps get almost no gradient. "
                 "Watch it brighten (or not) as training goes on.")
