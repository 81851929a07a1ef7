"""Figures of gates and cell state: every gate of the current cell over time (lines for chosen units, or one
heatmap per gate), the cell state c_t, h_t against c_t, and gate saturation across architectures (Karpathy,
Johnson & Fei-Fei 2015, figure 3). Gate names come from the cell's spec (CellSpec.gate_meanings) and colours
are fixed (theme.GATE_COLORS), so an LSTM's and a GRU's figures agree; variants show only the gates they have
(trace.meta["gates"]).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.analysis.gates import HIGH, LOW, saturation_many
from rnnviz.analysis.traces import SIGMOID_GATES, check_index, gates, layered, resolve_prefix, stack_label, \
    train_step_label
from rnnviz.cells import SPECS, get_spec
from rnnviz.plots.axes import check_tokens, heat_tokens, hover_tokens, time_axis
from rnnviz.plots.budget import HEATMAP_MAX_CELLS, HOVER_TEXT_MAX_CELLS, decimate_grid, f32, stride_index
from rnnviz.plots.hidden import state_heatmap
from rnnviz.plots.logticks import log_ticks
from rnnviz.plots.theme import MUTED, NORMAL, Theme, gate_color, style, unit_line
from rnnviz.trace import Trace

GATE_NAMES = {g: s.gate_label(g) for s in SPECS.values() for g in s.gates}  # "forget gate f", read from the specs
MAX_UNITS_LINES = 6  # subplots of gate lines; more units are unreadable as lines: use gate_heatmaps
MAX_CELL_LINES = 32


def gate_label(arch: str, gate: str) -> str:
    """The gate's name as the cell's own spec gives it ("update gate z"); for a cell this version does not know,
    the name shared by the known cells, or the letter alone."""
    try:
        return get_spec(arch).gate_label(gate)
    except ValueError:
        return GATE_NAMES.get(gate, gate)


def _memory_note(arch: str) -> str:
    """Which gate staying open keeps memory, from the spec (LSTM f, GRU z); empty for a cell with none."""
    try:
        g = get_spec(arch).memory_gate
    except ValueError:
        return ""
    return f" {gate_label(arch, g).capitalize()} staying bright is memory being kept." if g else ""


def _gate_list(trace: Trace, prefix: str) -> list[str]:
    names = gates(trace, prefix)
    if not names:
        raise ValueError(f"a {trace.arch} cell has no gates; choose an LSTM or GRU model to see gates")
    return names


def gate_lines(trace: Trace, units: list[int] = (0,), layer: int = 0, sample: int = 0, prefix: str | None = None,
               tokens: list[str] | None = None, theme: Theme = NORMAL) -> go.Figure:
    """One row per chosen unit; in each, every gate's value over t, in the gate's fixed colour."""
    p = resolve_prefix(trace, prefix)
    names, units = _gate_list(trace, p), list(units)
    if not 1 <= len(units) <= MAX_UNITS_LINES:
        raise ValueError(f"{len(units)} units chosen; choose 1 to {MAX_UNITS_LINES} (the heatmaps show them all)")
    H = layered(trace, f"gate.{names[0]}", layer, sample, p).shape[1]  # gates are H wide (S6's state is H·N)
    units = [check_index("unit", u, H) for u in units]
    T = layered(trace, "h", layer, sample, p).shape[0]
    tokens = check_tokens(tokens, T)
    fig = make_subplots(rows=len(units), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[f"unit {u}" for u in units])
    for r, u in enumerate(units, 1):
        for g in names:
            v = layered(trace, f"gate.{g}", layer, sample, p)[:, u]
            fig.add_trace(go.Scatter(
                x=np.arange(v.size, dtype=np.float32), y=f32(v), mode="lines", name=gate_label(trace.arch, g),
                legendgroup=g, showlegend=r == 1, line={"color": gate_color(g), "width": theme.line_width},
                customdata=hover_tokens(tokens, v.size),
                hovertemplate=f"unit {u}, {g}<sub>t</sub><br>t = %{{x}}%{{customdata}}<br>%{{y:.3f}}<extra></extra>"),
                row=r, col=1)
        shown = {k: v for k, v in _gate_range(trace.arch, names).items() if r > 1 or k != "matches"}
        fig.update_yaxes(title_text="value", row=r, col=1, **shown)
    if names == ["dt"]:  # one shared log axis: powers of ten alone left one label ("10⁻²") on a 25× spread
        fig.update_yaxes(**log_ticks([v for t in fig.data for v in t.y]))
    fig.update_xaxes(row=len(units), col=1, **time_axis(tokens, theme=theme))
    fig.update_layout(height=int(theme.height * max(1.0, 0.55 * len(units))))
    return style(fig, theme, f"{stack_label(p).capitalize()}{_what(names, 'Gates')} of {trace.arch}, layer {layer}, "
                 f"sample {sample}{train_step_label(trace)}", _gate_note(trace.arch, names))


def _exponential(arch: str, gate: str) -> bool:
    """The xLSTM's input gate i_t = exp(ĩ_t), recorded divided by exp(m_t), its stabiliser (so at most 1)."""
    spec = _spec(arch)
    return spec is not None and "exponential" in spec.gate_meaning(gate)


def _gate_range(arch: str, names: list[str]) -> dict:
    """The gate lines' y axes: a gate's whole range, 0 (shut) to 1 (open), or −1 to 1 with a bounded candidate,
    so that a gate at 0.55 does not sit at the bottom looking shut; one range shared by every unit's panel when a
    value is unbounded (a linear candidate), on a log scale for S6's step size Δ_t (units 25× apart: shared and
    linear, the small ones lay flat on the axis), so units compare by height."""
    spec = _spec(arch)
    bounded = [g for g in names if g in SIGMOID_GATES or (g in CANDIDATES and (spec is None or spec.input_act))]
    if len(bounded) == len(names):
        return {"range": [-1.05 if set(names) & set(CANDIDATES) else -0.05, 1.05]}
    return {"matches": "y", "type": "log"} if names == ["dt"] else {"matches": "y"}  # log ticks: gate_lines


def _gate_note(arch: str, names: list[str]) -> str:
    """What the lines' ranges are, for the gates this cell has."""
    sigmoid = [g for g in names if g in SIGMOID_GATES and not _exponential(arch, g)]
    note = f"Sigmoid gates ({', '.join(sigmoid)}) live in [0, 1]: 0 shut, 1 open." if sigmoid else ""
    exp = [g for g in names if _exponential(arch, g)]
    if exp:
        note += (f" The exponential input gate {exp[0]} is drawn divided by exp(m<sub>t</sub>), its stabiliser: "
                 "at most 1, and 1 where it sets m<sub>t</sub>.")
    shown = [c for c in CANDIDATES if c in names]  # an LSTM's g, a GRU's n: name only the cell's own
    if shown:
        bounded = _spec(arch) is None or _spec(arch).input_act
        which = ", ".join(shown)
        note += (f" Candidates ({which}) live in [−1, 1]." if bounded else f" Candidates ({which}) are linear: "
                 "unbounded.")
    if "dt" in names:
        note += (" Δ<sub>t</sub> is a step size, not a gate: large forgets h and takes in the input, small keeps h "
                 "(one log scale for every unit).")
    return note.strip()


def _spec(arch: str):
    try:
        return get_spec(arch)
    except ValueError:
        return None


CANDIDATES = ("g", "n")  # the new content on offer: tanh in [−1, 1], or linear (NIAF, minGRU, minLSTM)


def _axis(gate: str) -> str:
    """A gate's colour axis: [0, 1] for sigmoid gates, signed for candidates, its own for a step size (S6's Δ)."""
    return "coloraxis" if gate in SIGMOID_GATES else "coloraxis2" if gate in CANDIDATES else "coloraxis3"


def gate_heatmaps(trace: Trace, layer: int = 0, sample: int = 0, prefix: str | None = None,
                  tokens: list[str] | None = None, theme: Theme = NORMAL) -> go.Figure:
    """One heatmap (units x time) per gate: sigmoid gates share a [0, 1] viridis scale, candidates a [−1, 1]
    diverging one. Each is block-averaged to its share of the cell budget."""
    p = resolve_prefix(trace, prefix)
    names = _gate_list(trace, p)
    tokens = check_tokens(tokens, layered(trace, "h", layer, sample, p).shape[0])
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[gate_label(trace.arch, g) for g in names])
    for r, g in enumerate(names, 1):
        m = layered(trace, f"gate.{g}", layer, sample, p)  # (T, H)
        grid = decimate_grid(m.T, HEATMAP_MAX_CELLS // len(names))
        # each column one step: hover names its token, while the strings stay within budget
        named = tokens is not None and grid.col_factor == 1 and grid.z.size * len(names) <= HOVER_TEXT_MAX_CELLS
        fig.add_trace(go.Heatmap(z=grid.z, x=grid.cols, y=grid.rows, name=g,
                                 coloraxis=_axis(g),
                                 customdata=heat_tokens(tokens, grid.z.shape[0]) if named else None,
                                 hovertemplate=f"{g}: unit %{{y:.0f}}, t = %{{x:.0f}}"
                                               + ("%{customdata}" if named else "") + "<br>%{z:.3f}<extra></extra>"),
                      row=r, col=1)
        fig.update_yaxes(title_text="unit", autorange="reversed", row=r, col=1)
    fig.update_xaxes(row=len(names), col=1, **time_axis(tokens, theme=theme))
    bounded = _spec(trace.arch) is None or _spec(trace.arch).input_act
    fig.update_layout(coloraxis={"colorscale": theme.magnitude_scale, "cmin": 0, "cmax": 1,
                                 "colorbar": {"title": {"text": "gate"}, "len": 0.45, "y": 0.75}},
                      coloraxis2={"colorscale": theme.signed_scale, "cmid": 0,
                                  **({"cmin": -1, "cmax": 1} if bounded else {}),
                                  "colorbar": {"title": {"text": "candidate"}, "len": 0.45, "y": 0.25}},
                      coloraxis3={"colorscale": theme.magnitude_scale, "cmin": 0,  # S6's Δ_t: a positive step
                                  "colorbar": {"title": {"text": "step Δ"}, "len": 0.45, "y": 0.5}},
                      height=int(theme.height * max(1.0, 0.5 * len(names))))
    return style(fig, theme, f"{stack_label(p).capitalize()}{_what(names, 'Every gate', every=True)} of {trace.arch}, "
                 f"layer {layer}, sample {sample}{train_step_label(trace)}",
                 _heat_note(names) + _memory_note(trace.arch))


def _what(names: list[str], gates: str, every: bool = False) -> str:
    """A gate figure's subject: `gates`, with the cell's candidate when it draws one (an LSTM's g is no gate), or
    S6's step size Δ_t, which is no gate, when it is all the cell has (of every unit for the heat map, so its two
    figures' titles differ)."""
    if names == ["dt"]:
        return "The step size Δ<sub>t</sub>" + (" of every unit" if every else "")
    return gates + (" and candidate" if set(names) & set(CANDIDATES) else "")


def _heat_note(names: list[str]) -> str:
    """What bright and dark mean, for the rows drawn: a gate opens and shuts; S6's step size Δ_t is no gate."""
    note = "Gates: bright, open (1); dark, shut (0)." if set(names) & set(SIGMOID_GATES) else ""
    shown = [c for c in CANDIDATES if c in names]
    if shown:  # on the red-blue scale, where dark is ±1, not shut
        note += f" Candidate {', '.join(shown)}: red positive, blue negative, white 0."
    if "dt" in names:
        note += (" Step Δ<sub>t</sub>: bright, a large step (forgets h, takes in the input); dark, a small one "
                 "(keeps h).")
    return note.strip()


def stabiliser_figure(trace: Trace, layer: int = 0, sample: int = 0, prefix: str | None = None,
                      tokens: list[str] | None = None, theme: Theme = NORMAL) -> go.Figure:
    """xLSTM's stabiliser m_t per unit over time (the mLSTM's: one per head, on each of its channels): the running
    maximum of the log gates, by which the exponential input gate and the stored memory are divided."""
    p = resolve_prefix(trace, prefix)
    fig = state_heatmap(trace, "m", layer, sample, p, tokens=tokens, theme=theme)
    fig.update_traces(colorbar={"title": {"text": "m<sub>t</sub>"}}, selector={"type": "heatmap"})
    return style(fig, theme, f"{stack_label(p).capitalize()}The stabiliser m<sub>t</sub>, layer {layer}, sample "
                 f"{sample}{train_step_label(trace)}",
                 "m<sub>t</sub> = max(log f<sub>t</sub> + m<sub>t−1</sub>, log i<sub>t</sub>): where it jumps, the "
                 "exponential input gate outweighed all that was stored. The memory is kept divided by "
                 "exp(m<sub>t</sub>), and the input gate above is shown as i<sub>t</sub> / exp(m<sub>t</sub>).")


def cell_state_figure(trace: Trace, units: list[int] | None = None, layer: int = 0, sample: int = 0,
                      prefix: str | None = None, tokens: list[str] | None = None, theme: Theme = NORMAL,
                      share: float = 1.0) -> go.Figure:
    """c_t over t for chosen units (default: the MAX_CELL_LINES most variable), one line each (the sLSTM's
    c_t / n_t: see _cell). share: the part of the page's width the figure is drawn in (its time axis labels
    every token only if they fit there)."""
    p = resolve_prefix(trace, prefix)
    c, name, note = _cell(trace, layer, sample, p)  # (T, H)
    tokens = check_tokens(tokens, c.shape[0])
    chosen = ([check_index("unit", u, c.shape[1]) for u in units] if units is not None
              else np.argsort(-c.var(0), kind="stable")[:MAX_CELL_LINES].tolist())
    fig = go.Figure()
    for i, u in enumerate(chosen):
        fig.add_trace(go.Scatter(x=np.arange(c.shape[0], dtype=np.float32), y=f32(c[:, u]), mode="lines",
                                 name=f"unit {u}", line=unit_line(i, theme.line_width),
                                 customdata=hover_tokens(tokens, c.shape[0]),
                                 hovertemplate=f"unit {u}<br>t = %{{x}}%{{customdata}}<br>{name} = %{{y:.3f}}"
                                               "<extra></extra>"))
    fig.update_xaxes(**time_axis(tokens, theme=theme, share=share))
    fig.update_yaxes(title_text=f"cell state {name}")
    return style(fig, theme, f"{stack_label(p).capitalize()}Cell state {name}, layer {layer}, sample {sample}",
                 note or "Unlike h<sub>t</sub>, c<sub>t</sub> is not squashed: it can count and hold values for many "
                 "steps.")


def _cell(trace: Trace, layer: int, sample: int, p: str) -> tuple[np.ndarray, str, str]:
    """(the cell state (T, H), its name, a note or ""): c_t, or the sLSTM's c_t / n_t, the memory as h_t reads it.
    The sLSTM stores c_t and n_t both divided by exp(m_t), so c_t alone is a rescaled number; their ratio is not,
    and it is a weighted average of the candidates written so far (each weighted by its input gate and what the
    forget gates since kept of it), in [−1, 1]."""
    spec = get_spec(trace.arch)
    if not spec.has_cell:
        raise ValueError(f"a {trace.arch} cell has no cell state c_t; choose an LSTM-family model")
    c = layered(trace, "c", layer, sample, p)
    if "n" not in spec.carried:
        return c, "c<sub>t</sub>", ""
    return (c / layered(trace, "n", layer, sample, p), "c<sub>t</sub> / n<sub>t</sub>",
            "The sLSTM's memory as h<sub>t</sub> reads it: c<sub>t</sub> / n<sub>t</sub>, an average of the "
            "candidates g written so far, weighted by input and forget gates (stored c<sub>t</sub> and "
            "n<sub>t</sub> are both divided by exp(m<sub>t</sub>); their ratio is not).")


def cell_vs_hidden(trace: Trace, layer: int = 0, sample: int = 0, prefix: str | None = None,
                   theme: Theme = NORMAL) -> go.Figure:
    """Every (c_t, h_t) pair of every unit, coloured by t, over the curve h = tanh(c) (h = c without output
    activation; the sLSTM's c_t / n_t against h = c / n): h_t lies between 0 and that curve, o_t saying how far.
    Beyond SCATTER_MAX_POINTS pairs an even stride of them is drawn, and the subtitle says how many."""
    p = resolve_prefix(trace, prefix)
    spec = get_spec(trace.arch)
    c, name, _ = _cell(trace, layer, sample, p)
    h = layered(trace, "h", layer, sample, p)
    t = np.repeat(np.arange(c.shape[0], dtype=np.float32), c.shape[1])
    keep = stride_index(t.size)
    fig = go.Figure(go.Scatter(
        x=f32(c.ravel()[keep]), y=f32(h.ravel()[keep]), mode="markers", name="(c<sub>t</sub>, h<sub>t</sub>)",
        marker={"size": theme.marker_size, "color": t[keep], "colorscale": theme.magnitude_scale, "showscale": True,
                "colorbar": {"title": {"text": "time step t"}}},
        hovertemplate="c = %{x:.3f}<br>h = %{y:.3f}<extra></extra>"))
    lim = float(np.nanmax(np.abs(c))) if c.size else 1.0
    grid = np.linspace(-lim, lim, 200)
    normalised = "n" in spec.carried  # the sLSTM: h = o ⊙ c / n, no tanh
    ref, label = ((np.tanh(grid), "h = tanh(c) (o = 1)") if spec.output_act and not normalised else
                  (grid, "h = c / n (o = 1)" if normalised else "h = c (o = 1)"))
    fig.add_trace(go.Scatter(x=f32(grid), y=f32(ref), mode="lines", name=label, hoverinfo="skip",
                             line={"color": MUTED, "width": theme.line_width, "dash": "dash"}))
    fig.update_xaxes(title_text=f"cell state {name}")
    fig.update_yaxes(title_text="hidden state h<sub>t</sub>")
    fig.update_layout(legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.85)"})  # clear of the colour bar
    thinned = (f" One pair in {keep[1] - keep[0]} drawn ({keep.size:,} of {t.size:,}), spread evenly."
               if keep.size < t.size else "")
    return style(fig, theme, f"h<sub>t</sub> against {name}, layer {layer}, sample {sample}",  # y against x
                 ("h is c / n scaled by the output gate: no squashing, the normaliser keeps it in [−1, 1]."
                  if normalised else "c is free to grow; h is c squashed and scaled by the output gate.") + thinned)


def saturation_figure(data, labels: list[str] | None = None, layer: int = 0, theme: Theme = NORMAL) -> go.Figure:
    """Fraction of steps each unit's gate is left-saturated (< 0.1) against right-saturated (> 0.9), one panel
    per label: data is analysis.saturation_many's DataFrame or a list of traces (labels default to archs).
    The square is [0, 1]²; on the dashed diagonal frac_low + frac_high = 1 (never in between)."""
    df = data if isinstance(data, pd.DataFrame) else saturation_many(list(data), labels, layer)
    if "label" not in df:
        df = df.assign(label="")
    panels = list(dict.fromkeys(df["label"]))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=panels, shared_yaxes=True, horizontal_spacing=0.04)
    seen = set()
    for col, lab in enumerate(panels, 1):
        d = df[df["label"] == lab]
        fig.add_trace(go.Scatter(x=[0, 1, 1, 0, 0, None, 0, 1], y=[0, 0, 1, 1, 0, None, 1, 0], mode="lines",
                                 line={"color": MUTED, "width": theme.line_width / 2, "dash": "dash"},
                                 hoverinfo="skip", showlegend=False), row=1, col=col)
        for g in dict.fromkeys(d["gate"]):
            s = d[d["gate"] == g]
            fig.add_trace(go.Scatter(
                x=f32(s["frac_low"]), y=f32(s["frac_high"]), mode="markers", legendgroup=g,
                name=GATE_NAMES.get(g, g), showlegend=g not in seen, customdata=s["unit"].to_numpy(),
                marker={"size": theme.marker_size * 1.2, "color": gate_color(g), "opacity": 0.8},
                hovertemplate=f"{lab} {g}, unit %{{customdata}}<br>shut %{{x:.0%}} · open %{{y:.0%}}<extra></extra>"),
                row=1, col=col)
            seen.add(g)
        fig.update_xaxes(title_text=f"fraction < {LOW} (shut)", range=[-0.03, 1.03], row=1, col=col)
    fig.update_yaxes(title_text=f"fraction > {HIGH} (open)", range=[-0.03, 1.03], row=1, col=1)
    return style(fig, theme, "Gate saturation: how often each unit's gates are shut or open",
                 "Near the dashed diagonal x + y = 1: a gate that acts like a switch, always shut or open. Near "
                 "(0, 0): a gate that stays in between.")
