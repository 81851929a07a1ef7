"""Figures of gradient flow through time: ||dL/dh_t|| against t (one run, or several overlaid, or before and
after a what-if), the Jacobian norm against lag (with the rate ρ^lag over it where the cell's spec says
its step Jacobian is diag(φ′) W_hh-like), and the heat of ||dL/dh_t|| over training, each row scaled to its own
maximum. Numbers come from analysis/gradients.py; nothing here computes a gradient.

Every y axis that spans orders of magnitude is logarithmic: vanishing is a straight line going down.
Zeros and NaN cannot sit on a log axis and are left out (a gap in the line).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.analysis.equations import to_html
from rnnviz.analysis.gradients import (diagonal_jacobian_by_lag, geometric_rate, grad_heat_matrix, grad_norms,
                                       jacobian_by_lag, tbptt_windows)
from rnnviz.analysis.traces import check_index, resolve_prefix, stack_label, train_step_label
from rnnviz.cells import TRANSITIONS, CellSpec, get_spec
from rnnviz.plots.axes import check_tokens, hover_tokens, time_axis
from rnnviz.plots.budget import decimate_grid, f32
from rnnviz.plots.theme import GATE_COLORS, MUTED, NORMAL, Theme, run_line, style
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
               tokens: list[str] | None = None, theme: Theme = NORMAL, per_step_loss: bool = False) -> go.Figure:
    """||dL/dh_t|| (or grad.c, grad.gh) against t, one line per layer, log y: the mean over the probe samples'
    norms (sample None) or one sample's. y[layer] = analysis.grad_norms(trace, name, sample, prefix)[layer].
    The subtitle says what the top layer's curve shows (reach_sentence); per_step_loss: every step has a loss."""
    p = resolve_prefix(trace, prefix)
    norms = grad_norms(trace, name, sample, p)  # (L, T)
    T = norms.shape[1]
    tokens = check_tokens(tokens, T)
    fig = go.Figure()
    for k, row in enumerate(norms):
        fig.add_trace(go.Scatter(
            x=np.arange(T, dtype=np.float32), y=_positive(row), mode="lines+markers", name=f"layer {k}",
            line=run_line(k, theme.line_width), marker={"size": theme.marker_size}, customdata=hover_tokens(tokens, T),
            hovertemplate=f"layer {k}, t = %{{x}}%{{customdata}}<br>{SYMBOL.get(name, name)} = %{{y:.3g}}"
                          "<extra></extra>"))
    _log_y(fig, SYMBOL.get(name, name))
    fig.update_xaxes(**time_axis(tokens, theme=theme))
    who = "mean over probe samples" if sample is None else f"sample {sample}"
    return style(fig, theme, f"{stack_label(p).capitalize()}{SYMBOL.get(name, name)} through time, {who}"
                 f"{train_step_label(trace)}", reach_sentence(norms[-1], per_step_loss,
                                                          f"In layer {len(norms) - 1}, the top one, it"
                                                          if len(norms) > 1 else "It"))


def reach_sentence(norms, per_step_loss: bool = False, curve: str = "It") -> str:
    """What a curve of ||dL/dh_t|| against t says, from its numbers: the median over the first tenth of the
    steps against the median over the last tenth (the final step left out when it differs in kind), naming the
    steps compared so that a reader can check the ratio on the axis. curve: how the sentence names it ("In layer
    1, the top one, it": with several layers drawn, which one it means)."""
    y = np.asarray(norms, dtype=np.float64).ravel()
    t = np.flatnonzero(np.isfinite(y) & (y > 0))  # the steps with a value to compare
    if t.size < 4:
        return "Too few steps to say how far back the gradient reaches."
    body = t[:-1] if per_step_loss else t
    n = max(1, body.size // 10)
    first, last = body[:n], body[-n:]
    ratio = float(np.median(y[first]) / np.median(y[last]))
    steps = (f"t = {last[0]} against t = {first[0]}" if n == 1 else
             f"its median over t = {last[0]}–{last[-1]} against t = {first[0]}–{first[-1]}")
    if ratio < 0.1:
        said = (f"{curve} falls {1 / ratio:,.0f}× toward the first steps ({steps}): the gradient vanishes as it "
                "flows back in time.")
    elif ratio > 10:
        said = (f"{curve} grows {ratio:,.0f}× toward the first steps ({steps}): the gradient explodes as it flows "
                "back in time.")
    else:
        said = (f"{curve} stays within 10× from the last steps to the first ({steps}): the gradient reaches back "
                "through the sequence.")
    if per_step_loss:
        said += (" Every step's gradient adds those of the losses after it: the last steps have the fewest after "
                 "them, the very last only its own.")
    return said


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
                 theme: Theme = NORMAL, title: str | None = None, subtitle: str | None = None,
                 legend: str = "") -> go.Figure:
    """Several labelled ||dL/dh_t|| curves overlaid on one log axis: label -> a Trace (its mean over samples
    for `layer`) or an array (T,). k1 shades alternate truncated-BPTT windows over t. legend: the legend's title
    (what the curves are: "run" on the race page, "the network" before and after an edit; none for a lesson's
    labelled networks, which are no runs)."""
    if not series:
        raise ValueError("nothing to compare; give at least one labelled trace or curve")
    fig = go.Figure()
    longest = 0
    for i, (label, value) in enumerate(series.items()):
        y = _series(value, name, layer)
        longest = max(longest, y.size)
        fig.add_trace(go.Scatter(
            x=np.arange(y.size, dtype=np.float32), y=_positive(y), mode="lines", name=str(label),
            line=run_line(i, theme.line_width),
            hovertemplate=f"{label}<br>t = %{{x}}<br>{SYMBOL.get(name, name)} = %{{y:.3g}}<extra></extra>"))
    if k1:
        shade_windows(fig, longest, k1)
    _log_y(fig, SYMBOL.get(name, name))
    fig.update_xaxes(title_text="time step t")
    fig.update_layout(legend={"title": {"text": legend}})
    shade = f" Shaded: every other truncated-BPTT window of {k1} steps." if k1 else ""
    return style(fig, theme, title or f"{SYMBOL.get(name, name)} through time, compared",
                 subtitle or "Same task, same probe: the curve that stays flat carries the gradient furthest back."
                 + shade)


def before_after(before: Trace, after: Trace, what: str, name: str = "grad.h", layer: int = -1,
                 theme: Theme = NORMAL, sample: int | None = None, prefix: str | None = None) -> go.Figure:
    """A what-if's effect on gradient flow: the same probe before and after `what` (e.g. "W_hh × 2"), for one
    probe sequence (as the curve above it on the page) or the mean over them (sample None)."""
    curves = {label: grad_norms(t, name, sample, prefix)[layer] for label, t in
              (("before", before), (f"after: {what}", after))}
    which = f"probe sequence {sample}" if sample is not None else "the probe sequences (mean)"
    return grad_compare(curves, name, layer, theme=theme, title=f"What if: {what}",
                        subtitle=f"{SYMBOL.get(name, name)} on the same input ({which}), before and after the change "
                        "(the original model is untouched).", legend="the network")


def _spec(trace: Trace) -> CellSpec | None:
    try:
        return get_spec(trace.arch)
    except ValueError:  # an architecture this version does not know: no claim about its transition
        return None


def _rate_note(spec: CellSpec | None, arch: str, rho: float | None, said: str, drawn: bool,
               exact: bool = False) -> str:
    """One sentence on what sets the decay, from the spec's transition (cells.TRANSITIONS)."""
    if drawn:
        note = f"ρ = {rho:.3g} is W<sub>hh</sub>'s spectral radius: ρ < 1 predicts vanishing, ρ > 1 exploding."
        leaky = spec is not None and spec.transition == "leaky"
        return note + (" The leak keeps (1 − α) of h<sub>t−1</sub> each step, so for α < 1 the rate lies nearer 1"
                       " than ρ." if leaky else "")
    if spec is None or spec.transition not in TRANSITIONS:
        why = f"This version does not know how {arch}'s step Jacobian is formed, so no ρ line is drawn."
    elif not spec.has_w_hh:
        step = to_html(TRANSITIONS[spec.transition].split(":")[0])
        why = f"{arch} has no W<sub>hh</sub>: its step Jacobian is {step}" + (
            ", whose exact norm is dashed." if exact else ", so no ρ line applies.")
    elif spec.transition == "gated":
        why = f"Gated {arch}: the gates, not W<sub>hh</sub>'s ρ, set the decay."
    else:
        why = "The ρ line is left out, as asked."
    return f"{why} {said.capitalize()}."


def measured_rate(lag, norm) -> float | None:
    """The average factor per step of lag: the geometric mean of successive ratios norm[k+1]/norm[k], which
    telescopes to (last/first)^(1/lag span), so thinned steps count by their lag. None under two points."""
    lag, norm = np.asarray(lag, dtype=np.float64), np.asarray(norm, dtype=np.float64)
    ok = np.isfinite(norm) & (norm > 0)
    lag, norm = lag[ok], norm[ok]
    if lag.size < 2 or lag[-1] == lag[0]:
        return None
    return float(np.exp(np.log(norm[-1] / norm[0]) / (lag[-1] - lag[0])))


# what each linear recurrence's decay a_t is (its step Jacobian diag(a_t)): "the decays" of a constant λ read as
# something that changes with t
_DECAYS = {"mingru": " = 1 − z<sub>t</sub>",
           "minlstm": " = f′<sub>t</sub> = f<sub>t</sub> / (f<sub>t</sub> + i<sub>t</sub>)",
           "lru": " = |λ| (constant)", "s6": " = exp(Δ<sub>t</sub>A), step size Δ<sub>t</sub> > 0, rates A < 0",
           "mamba": " = exp(Δ<sub>t</sub>A), step size Δ<sub>t</sub> > 0, rates A < 0",
           "mlstm": " = f′<sub>t</sub> = σ(f̃<sub>t</sub>) exp(m<sub>t−1</sub> − m<sub>t</sub>)"}  # every symbol
# defined: a legend read "a_t = f′_t" (or "exp(Δ_t A)") with f′ (or Δ and A) nowhere on the page


def jacobian_figure(trace: Trace, rho: float | None, layer: int = 0, prefix: str | None = None,
                    theme: Theme = NORMAL, gated: bool | None = None) -> go.Figure:
    """||∂h_{T-1}/∂h_t|| against lag T-1-t (log y), named with its measured average factor per step. Where the
    cell's spec says its step Jacobian is diag(φ′) W_hh-like (spec.rho_sets_rate: rnn_tanh, rnn_relu, esn)
    anchor·ρ^lag is drawn over it, anchor = the norm at lag 0 (sqrt(H), the identity's); for a gated cell or
    one without W_hh no ρ line is drawn and the subtitle says why (gated True or False overrides the spec); rho may
    then be None. For a linear recurrence (a "decay" in the trace) the exact law from the decays is drawn instead.
    The y range comes from the measurement alone. Thinned steps (NaN in the trace) are left out."""
    p = resolve_prefix(trace, prefix)
    curve = jacobian_by_lag(trace, layer, p)
    if not curve.lag.size:
        raise ValueError("this trace has no Jacobian norms; probe with jacobian=True")
    spec = _spec(trace)
    gated = not (spec is not None and spec.rho_sets_rate) if gated is None else bool(gated)  # gated: no ρ line
    if not gated and rho is None:
        raise ValueError(f"a ρ line for {trace.arch} needs W_hh's spectral radius rho")
    rate = measured_rate(curve.lag, curve.norm)
    said = f"measured: ×{rate:.3g} per step on average" if rate is not None else "measured"
    fig = go.Figure(go.Scatter(x=curve.lag, y=_positive(curve.norm), mode="lines+markers", name=said,
                               line={"width": theme.line_width, "color": GATE_COLORS["i"]},
                               marker={"size": theme.marker_size},
                               hovertemplate="lag %{x}<br>||∂h<sub>T−1</sub>/∂h<sub>t</sub>|| = %{y:.3g}"
                                             "<extra></extra>"))
    exact = spec is not None and not spec.has_w_hh and p + "decay" in trace  # the decays' product is exact
    if exact:
        exact_curve = diagonal_jacobian_by_lag(trace, layer, p)
        fig.add_trace(go.Scatter(x=exact_curve.lag, y=_positive(exact_curve.norm), mode="lines",
                                 name="exact from the decays a<sub>t</sub>" + _DECAYS.get(trace.arch, ""),
                                 line={"width": theme.line_width, "color": GATE_COLORS["f"], "dash": "dash"},
                                 hovertemplate="lag %{x}<br>exact = %{y:.3g}<extra></extra>"))
    if not gated:
        anchor = float(curve.norm[0]) if curve.lag[0] == 0 else float(np.sqrt(trace.meta.get("hidden_size", 1)))
        fig.add_trace(go.Scatter(x=curve.lag, y=_positive(geometric_rate(curve.lag, rho, anchor)), mode="lines",
                                 name=f"ρ = {rho:.3g}: anchor·ρ<sup>lag</sup>",
                                 line={"width": theme.line_width, "color": GATE_COLORS["f"], "dash": "dash"},
                                 hovertemplate="lag %{x}<br>ρ<sup>lag</sup> line = %{y:.3g}<extra></extra>"))
    _log_y(fig, "||∂h<sub>T−1</sub>/∂h<sub>t</sub>||<sub>F</sub>")
    measured = _positive(curve.norm)
    measured = measured[np.isfinite(measured) & (measured > 0)]
    if measured.size:  # the measurement sets the frame; a prediction line may leave it, it is a guide
        lo, hi = float(np.log10(measured.min())), float(np.log10(measured.max()))
        pad = max(0.3, 0.1 * (hi - lo))
        fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_xaxes(title_text="lag T−1−t (steps back from the end)")
    fig.update_layout(showlegend=True)  # the legend names the measured rate, even with one line
    method = (trace.meta.get("jacobian") or {}).get(p, "")  # how the norms were measured, in a sentence of its
    how = (f" The norms are {'exact, by autograd' if method == 'exact' else 'an ' + method}." if method else "")
    # own: "…per step on average. (exact)" read as if the average were exact
    note = _rate_note(spec, trace.arch, rho, said, drawn=not gated, exact=exact)
    return style(fig, theme, f"{stack_label(p).capitalize()}Jacobian norm against lag, layer {layer}"
                 f"{train_step_label(trace)}", note + how)


def _row_max(logz: np.ndarray) -> np.ndarray:
    """Each row's largest finite value, (R, 1); NaN for a row with none."""
    top = np.where(np.isfinite(logz), logz, -np.inf).max(axis=1, keepdims=True)
    return np.where(np.isfinite(top), top, np.nan)


def grad_heat_figure(grad_heat: list, theme: Theme = NORMAL, normalize: bool = True) -> go.Figure:
    """||dL/dh_t|| over (training step, time step t), one row per probe (Trainer.grad_heat), log colour. With
    `normalize` each row is divided by its own maximum first (colour log₁₀ of that ratio, 0 at the row's
    peak), so the shape, how far back the gradient reaches, compares across training while the loss falls;
    otherwise the colour is log₁₀ ||dL/dh_t|| itself. Hover shows the raw norm either way."""
    steps, z = grad_heat_matrix(grad_heat)
    with np.errstate(divide="ignore", invalid="ignore"):
        logz = np.where(z > 0, np.log10(np.where(z > 0, z, 1.0)), np.nan)
    shown = logz - _row_max(logz) if normalize else logz
    grid, raw = decimate_grid(shown), decimate_grid(logz)
    train = np.interp(grid.rows, np.arange(steps.size), steps)  # block centres in training steps
    # one equal row per probe, labelled by its training step: probes need not be evenly spaced
    rows = np.arange(grid.z.shape[0], dtype=np.float32)
    every = max(1, int(np.ceil(rows.size / 12)))
    with np.errstate(over="ignore"):
        custom = np.stack([np.broadcast_to(train[:, None], grid.z.shape), np.power(10.0, raw.z)], -1)  # (R, C, 2)
    scale = "log₁₀ (||dL/dh<sub>t</sub>|| / row max)" if normalize else "log₁₀ ||dL/dh<sub>t</sub>||"
    fig = go.Figure(go.Heatmap(
        z=grid.z, x=grid.cols, y=rows, name="log10(norm / row max)" if normalize else "log10(norm)",
        customdata=f32(custom), colorscale=theme.magnitude_scale,
        zmax=0.0 if normalize else None, colorbar={"title": {"text": scale}},
        hovertemplate="training step %{customdata[0]:.0f}<br>t = %{x:.0f}<br>||dL/dh<sub>t</sub>|| = "
                      "%{customdata[1]:.3g}" + ("<br>log₁₀ (÷ row max) = %{z:.2f}" if normalize else "")
                      + "<extra></extra>"))
    fig.update_xaxes(title_text="time step t")
    fig.update_yaxes(title_text="training step", tickmode="array", tickvals=rows[::every],
                     ticktext=[f"{s:.0f}" for s in train[::every]])
    if normalize:
        note = "Rows normalised to their maximum: the shape (how far back gradient reaches) compares over training."
    else:
        note = "Dark on the left: early steps get almost no gradient. Watch it brighten (or not) as training goes on."
    return style(fig, theme, "Gradient reaching each time step, over training", note)


def grad_race_figure(heats: dict[str, list], theme: Theme = NORMAL) -> go.Figure:
    """The gradient race: each run's ||dL/dh_t|| map over (training step, time step t) side by side, one
    panel per run, on one colour scale (log₁₀ of each row's ratio to its own maximum, as grad_heat_figure):
    the panel that stays bright further left carries the gradient further back. heats: label -> grad_heat."""
    from plotly.subplots import make_subplots

    heats = {label: rows for label, rows in heats.items() if rows}
    if not heats:
        raise ValueError("none of these runs has been probed yet; give them a few steps")
    panels = []
    for label, rows in heats.items():
        steps, z = grad_heat_matrix(rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            logz = np.where(z > 0, np.log10(np.where(z > 0, z, 1.0)), np.nan)
        panels.append((label, steps, decimate_grid(logz - _row_max(logz)), decimate_grid(logz)))
    finite = [p[2].z[np.isfinite(p[2].z)] for p in panels]
    low = float(min((f.min() for f in finite if f.size), default=-1.0))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.04)
    for i, (label, steps, shown, raw) in enumerate(panels, 1):
        train = np.interp(shown.rows, np.arange(steps.size), steps)
        rows = np.arange(shown.z.shape[0], dtype=np.float32)
        with np.errstate(over="ignore"):
            custom = np.stack([np.broadcast_to(train[:, None], shown.z.shape), np.power(10.0, raw.z)], -1)
        fig.add_trace(go.Heatmap(
            z=shown.z, x=shown.cols, y=rows, coloraxis="coloraxis", name=label, customdata=f32(custom),
            hovertemplate=f"{label}<br>training step %{{customdata[0]:.0f}}<br>t = %{{x:.0f}}<br>"
                          "||dL/dh<sub>t</sub>|| = %{customdata[1]:.3g}<extra></extra>"), row=1, col=i)
        every = max(1, int(np.ceil(rows.size / 8)))
        fig.update_yaxes(tickmode="array", tickvals=rows[::every], ticktext=[f"{s:.0f}" for s in train[::every]],
                         title_text="training step" if i == 1 else None, row=1, col=i)
        fig.update_xaxes(title_text="time step t", row=1, col=i)
    fig.update_layout(coloraxis={"colorscale": theme.magnitude_scale, "cmin": low, "cmax": 0.0,
                                 "colorbar": {"title": {"text": "log₁₀ (||dL/dh<sub>t</sub>|| / row max)"}}})
    return style(fig, theme, "The gradient race",
                 "One colour scale for every run: bright where the gradient arrives. Bright further left, further "
                 "back in time; each row is one probe, newest at the top.")
