"""Figures of W_hh's spectrum: eigenvalues in the complex plane against the unit circle, and sorted singular
values against 1, one colour per gate block (LSTM i f g o, GRU r z n; a plain RNN's single block "h"); and,
for a linear recurrence without W_hh, its per-step decays a_t (decay_figure), and where the mLSTM's memory at
the last step was written (write_share_figure).
Numbers from analysis.block_spectra; pass analysis.recurrent_weights(model, prefix, layer) and the trace's
or model's block names (model.spec.blocks).

Why: a linear recurrence h_t = W h_{t-1} multiplies a component along eigenvector v by λ each step, so
eigenvalues inside the circle forget (and their gradients vanish), outside it explode.
"""
from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go

from rnnviz.analysis.gradients import block_spectra
from rnnviz.analysis.memory import write_shares
from rnnviz.analysis.traces import check_index, layered, resolve_prefix, visible
from rnnviz.cells import get_spec
from rnnviz.plots.axes import MONOSPACE
from rnnviz.plots.budget import f32
from rnnviz.plots.gates import GATE_NAMES
from rnnviz.plots.hidden import state_heatmap
from rnnviz.plots.theme import MUTED, NORMAL, Theme, gate_color, gate_dash, gate_symbol, run_color, style

CIRCLE_POINTS = 361
CIRCLE_COLOR = "#000000"  # drawn last, thick and dark, so hundreds of points cannot hide it
POINT_OPACITY = 0.6  # overlapping eigenvalues show as darker clumps, and the circle shows through


# a gate block named by what it is ("reset gate r block"): "r block" alone was defined nowhere on the Gradient flow
# page; a plain RNN's one block is W_hh itself ("h block")
def _block(g: str) -> str:
    return f"{GATE_NAMES.get(g, g)} block"


def eigenvalue_figure(w_hh, blocks: list[str], theme: Theme = NORMAL, title: str | None = None) -> go.Figure:
    """Eigenvalues of each (H, H) gate block of W_hh (G*H, H) as points (x = Re λ, y = Im λ), one colour and
    marker symbol per block, and the unit circle over them (the last trace), on equal axes."""
    spectra = block_spectra(w_hh, list(blocks))
    fig = go.Figure()
    for g, s in spectra.items():
        ev = s["eigenvalues"]
        fig.add_trace(go.Scatter(
            x=f32(ev.real), y=f32(ev.imag), mode="markers", name=f"{_block(g)}: ρ = {s['spectral_radius']:.3g}",
            marker={"size": theme.marker_size, "color": gate_color(g), "symbol": gate_symbol(g),
                    "opacity": POINT_OPACITY, "line": {"width": 0.5, "color": "#ffffff"}},
            customdata=f32(np.abs(ev)),
            hovertemplate=f"{_block(g)}<br>λ = %{{x:.3f}} %{{y:+.3f}}i<br>|λ| = %{{customdata:.3f}}<extra></extra>"))
    a = np.linspace(0, 2 * np.pi, CIRCLE_POINTS)
    fig.add_trace(go.Scatter(x=f32(np.cos(a)), y=f32(np.sin(a)), mode="lines", name="unit circle |λ| = 1",
                             line={"color": CIRCLE_COLOR, "width": max(3.0, theme.line_width)}, hoverinfo="skip"))
    fig.update_xaxes(title_text="real part Re λ", zeroline=True)
    fig.update_yaxes(title_text="imaginary part Im λ", zeroline=True, scaleanchor="x", scaleratio=1)
    rho = max(s["spectral_radius"] for s in spectra.values())
    return style(fig, theme, title or f"Eigenvalues of W<sub>hh</sub> (spectral radius ρ = {rho:.3g})",
                 "Inside the circle: that direction fades each step (gradients vanish); outside: it grows (explode)."
                 if len(spectra) == 1 else  # a gated cell: the gates scale each block every step, so no circle rule
                 "One colour per gate block. The gates, each between 0 and 1, scale what every block passes on at "
                 "each step, so the circle decides vanishing only for a tanh RNN; here the gates do.")


def singular_value_figure(w_hh, blocks: list[str], theme: Theme = NORMAL, title: str | None = None) -> go.Figure:
    """Each gate block's singular values, largest first, with σ = 1 marked (log y: they span decades); each
    block has its own colour, marker symbol and dash, so curves lying on one another stay apart."""
    spectra = block_spectra(w_hh, list(blocks))
    fig = go.Figure()
    for g, s in spectra.items():
        sv = s["singular_values"]
        fig.add_trace(go.Scatter(
            x=np.arange(1, sv.size + 1, dtype=np.float32), y=f32(sv), mode="lines+markers",
            name=f"{_block(g)}: σ<sub>max</sub> = {s['max_singular_value']:.3g}",
            line={"width": theme.line_width, "color": gate_color(g), "dash": gate_dash(g)},
            marker={"size": theme.marker_size, "symbol": gate_symbol(g), "opacity": 0.8},
            hovertemplate=f"{_block(g)}<br>σ<sub>%{{x}}</sub> = %{{y:.3g}}<extra></extra>"))
    fig.add_hline(y=1.0, line={"color": MUTED, "width": theme.line_width, "dash": "dash"})
    fig.update_xaxes(title_text="rank (largest first)")
    fig.update_yaxes(title_text="singular value σ (log scale)", type="log")
    if len(spectra) > 1:  # gate blocks: the gates rescale every step, so σ alone decides nothing
        note = ("One curve per gate block (grey dashes: σ = 1). The gates rescale these every step, so "
                "σ<sub>max</sub> alone does not decide vanishing.")
    else:
        top = float(next(iter(spectra.values()))["max_singular_value"])
        note = ("σ<sub>max</sub> < 1 guarantees vanishing gradients for a tanh RNN (Pascanu et al. 2013); "
                "the grey dashed line is σ = 1. " + (f"Here σ<sub>max</sub> = {top:.3g} < 1: gradients vanish."
                                                    if top < 0.999 else  # an orthogonal W_hh is 0.99999994
                                                    f"Here σ<sub>max</sub> = {top:.3g}, not below 1: no guarantee "
                                                    "either way."))
    return style(fig, theme, title or "Singular values of W<sub>hh</sub>", note)


def decay_figure(trace, layer: int = 0, sample: int = 0, prefix: str | None = None, tokens: list[str] | None = None,
                 theme: Theme = NORMAL) -> go.Figure:
    """What a linear recurrence (minGRU, minLSTM) has in place of W_hh's spectrum: each unit's decay a_t over time,
    the eigenvalues of its step Jacobian diag(a_t), on a fixed 0 to 1 colour scale. The mLSTM's are f′_t, which
    carry its stabiliser's rescaling: the subtitle says so, and points to its forget gate."""
    fig = state_heatmap(trace, "decay", layer, sample, prefix, tokens=tokens, theme=theme)
    fig.update_traces(zmin=0.0, zmax=1.0, colorbar={"title": {"text": "a<sub>t</sub>"}},
                      selector={"type": "heatmap"})
    rows, units = layered(trace, "decay", layer, sample, resolve_prefix(trace, prefix)).shape[1], \
        trace.meta.get("hidden_size")
    entries = ""
    if units and rows != units:  # S6's H·N states, the mLSTM's matrix memory: "unit 0–255" of a 16-unit model
        fig.update_yaxes(title_text="state entry")  # short: a long rotated title ran into the subtitle
        rows_named = [re.sub(r"^units\b", "entries", re.sub(r"^unit\b", "entry", str(y))) for y in fig.data[0].y]
        fig.update_traces(y=rows_named, selector={"type": "heatmap"})
        entries = f" Rows: the state's {rows} entries ({rows // units} per unit), as stored."
    stored = (" The mLSTM's are f′<sub>t</sub> = σ(f̃<sub>t</sub>) exp(m<sub>t−1</sub> − m<sub>t</sub>) of its "
              "memory C<sub>t</sub>, stored divided by exp(m<sub>t</sub>): exactly 1 wherever the forget term sets "
              "m<sub>t</sub> = m<sub>t−1</sub> + log σ(f̃<sub>t</sub>). What it keeps is its forget gate "
              "σ(f̃<sub>t</sub>)."
              if get_spec(trace.arch).family == "mlstm" else "")
    return style(fig, theme, None, "Eigenvalues of ∂h<sub>t</sub>/∂h<sub>t−1</sub> = diag(a<sub>t</sub>), in (0, 1]: "
                 "bright keeps the state (and its gradient); the input decides." + stored + entries)


def kept_figure(trace, layer: int = 0, sample: int = 0, prefix: str | None = None, tokens: list[str] | None = None,
                theme: Theme = NORMAL) -> go.Figure:
    """The mLSTM's forget gate σ(f̃_t) per channel over time, on the 0 to 1 scale of decay_figure: what it keeps
    of its memory each step, without the stabiliser's rescaling (analysis.memory.kept_decay)."""
    fig = state_heatmap(trace, "gate.f", layer, sample, prefix, tokens=tokens, theme=theme)
    fig.update_traces(zmin=0.0, zmax=1.0, colorbar={"title": {"text": "σ(f̃<sub>t</sub>)"}},
                      selector={"type": "heatmap"})
    return style(fig, theme, f"What the mLSTM keeps: its forget gate σ(f̃<sub>t</sub>), layer {layer}, sample {sample}",
                 "The share of its memory each step carries on (one gate per head, on each of its channels): the "
                 "product over a lag is what survives it.")


def lambda_figure(traces: list, layer: int = 0, prefix: str = "", theme: Theme = NORMAL) -> go.Figure:
    """The LRU's λ in the complex plane at every probe that recorded it (trace.meta["lambda"]), coloured by training
    step, with the unit circle: how each unit's memory (|λ|) and rotation (arg λ) moved while it trained."""
    shown = [t for t in traces if prefix in t.meta.get("lambda", {})]
    if not shown:
        raise ValueError("these probes recorded no LRU λ; probe an LRU model")
    xs, ys, steps, units = [], [], [], []
    for t in shown:
        re, im = t.meta["lambda"][prefix][min(layer, len(t.meta["lambda"][prefix]) - 1)]
        xs += re
        ys += im
        steps += [t.meta.get("train_step") or 0] * len(re)
        units += list(range(len(re)))
    x, y = np.asarray(xs, np.float32), np.asarray(ys, np.float32)
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="markers", name="λ of each unit, each probe",
        marker={"size": theme.marker_size, "color": f32(steps), "colorscale": theme.magnitude_scale,
                "opacity": POINT_OPACITY, "colorbar": {"title": {"text": "training step"}}},
        customdata=np.stack([f32(units), f32(steps), f32(np.hypot(x, y))], -1),
        hovertemplate="unit %{customdata[0]:.0f}, training step %{customdata[1]:.0f}<br>λ = %{x:.3f} %{y:+.3f}i"
                      "<br>|λ| = %{customdata[2]:.4f}<extra></extra>"))
    a = np.linspace(0, 2 * np.pi, CIRCLE_POINTS)
    fig.add_trace(go.Scatter(x=f32(np.cos(a)), y=f32(np.sin(a)), mode="lines", name="unit circle |λ| = 1",
                             line={"color": CIRCLE_COLOR, "width": max(3.0, theme.line_width)}, hoverinfo="skip"))
    fig.update_xaxes(title_text="real part Re λ", zeroline=True)
    fig.update_yaxes(title_text="imaginary part Im λ", zeroline=True, scaleanchor="x", scaleratio=1)
    fig.update_layout(showlegend=False)  # the colour bar names the colours; the legend would sit on it
    top = float(np.hypot(x, y).max())
    probes = f"{len(shown)} probes" if len(shown) > 1 else "one probe"
    return style(fig, theme, f"The LRU's λ over training, layer {layer} ({probes}; largest |λ| = {top:.4f})",
                 "One dot per unit per probe. |λ| = exp(−exp(ν)) < 1 for every ν; near the rim a unit remembers "
                 "longer.")


def write_share_figure(trace, head: int, rows: list[str] | None = None, theme: Theme = NORMAL) -> go.Figure:
    """The mLSTM's choice, one head: for every probe sequence (a row), how much of its memory at the last step each
    step wrote (analysis.memory.write_shares), on a fixed 0 to 1 scale; rows labelled `rows` (e.g. their first
    token), the top layer."""
    shares = write_shares(trace)
    s = shares[:, :, check_index("head", head, shares.shape[-1])]  # (sample, step)
    rows = rows or [f"sequence {b + 1}" for b in range(s.shape[0])]
    if len(rows) != s.shape[0]:
        raise ValueError(f"{len(rows)} row labels were given for {s.shape[0]} probe sequences; give one per row")
    fig = go.Figure(go.Heatmap(
        z=f32(s), x=np.arange(s.shape[1]), y=rows, zmin=0.0, zmax=1.0, colorscale=theme.magnitude_scale,
        colorbar={"title": {"text": "share"}}, xgap=1, ygap=2,
        hovertemplate="%{y}, t = %{x}<br>share of the last memory %{z:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="time step t (what was written then)")
    fig.update_yaxes(autorange="reversed", tickfont={"family": MONOSPACE})
    return style(fig, theme, f"Where head {head + 1}'s memory at the last step comes from",
                 f"Each step's write weighted exp(ĩ<sub>s</sub>) Π<sub>r>s</sub> σ(f̃<sub>r</sub>), as a share: "
                 f"bright is a step its input gate chose and its forget gate kept. An even write is 1/{s.shape[1]}.")


def input_gate_figure(by_token: dict[str, float], head: int, theme: Theme = NORMAL) -> go.Figure:
    """One bar per input token: the mLSTM head's input-gate pre-activation ĩ for it (analysis.memory
    .input_gate_by_token); exp(ĩ) is the weight its write gets, so one unit more is e ≈ 2.7 times the weight."""
    toks = sorted(by_token)
    y = np.asarray([by_token[t] for t in toks])
    fig = go.Figure(go.Bar(x=[visible(t) for t in toks], y=f32(y), marker_color=[run_color(0 if v >= 0 else 1)
                                                                                   for v in y],
                           hovertemplate="“%{x}”: ĩ = %{y:.2f}<extra></extra>"))
    fig.update_xaxes(title_text="input token", type="category", tickfont={"family": MONOSPACE})
    fig.update_yaxes(title_text="ĩ, the input gate's log weight", zeroline=True)
    return style(fig, theme, f"What head {head + 1}'s input gate writes: it reads only the token",
                 "A token's write is weighted exp(ĩ): a bar 2 higher is written with 7 times the weight.")
