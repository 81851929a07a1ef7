"""The unrolled computation graph as a figure: states coloured by their value, edges by the gradient that
flowed back through them, one label per shared matrix. Not the topology (analysis/unrolled.py decides
every node, edge and number; its docstring says exactly what each colour and width means).

Edges are drawn in GRADIENT_BINS groups of equal log-gradient (one trace each, with None gaps), not one trace
per edge, so a 48-step two-layer LSTM stays a few dozen traces.
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from rnnviz.analysis.unrolled import FORWARD, Unrolled, unrolled_graph
from rnnviz.cells import get_spec
from rnnviz.model_stacks import BACKWARD
from rnnviz.plots.budget import f32
from rnnviz.plots.theme import GATE_COLORS, GRADIENT_SCALE, MUTED, NORMAL, Theme, style

GRADIENT_BINS = 6  # edge widths/colours: enough steps to see a gradient fade, few enough traces
LABEL_MAX_STEPS = 16  # wider windows drop the matrix names from edges (hover keeps them)
NEUTRAL = "#4d4d4d"  # lit edges whose gradient was not recorded (outputs, losses)
ATTENTION = "#CC79A7"  # Okabe-Ito reddish purple
EDGE_NOTE = ("Edge width and colour: the gradient that flowed back to the node the edge leaves (its ||dL/d·||, on "
             "the colour bar's log scale).")  # not "…that reached its tail": a tail is no word a student knows here


def _segments(edges) -> tuple[np.ndarray, np.ndarray]:
    """Edge endpoints as one polyline with NaN gaps: x0, x1, NaN, x0, x1, NaN, ..."""
    n = len(edges)
    xs, ys = np.full(3 * n, np.nan, np.float32), np.full(3 * n, np.nan, np.float32)
    xs[0::3], xs[1::3] = edges["x0"], edges["x1"]
    ys[0::3], ys[1::3] = edges["y0"], edges["y1"]
    return xs, ys


def _arcs(edges, rise: float = 1.1, points: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Quadratic Bézier arcs bulging upwards (attention joins two nodes of the same row), NaN-separated."""
    s = np.linspace(0.0, 1.0, points)[:, None]  # (P, 1)
    x0, x1 = edges["x0"].to_numpy()[None], edges["x1"].to_numpy()[None]
    y0, y1 = edges["y0"].to_numpy()[None], edges["y1"].to_numpy()[None]
    cx, cy = (x0 + x1) / 2, np.maximum(y0, y1) + rise
    xs = (1 - s) ** 2 * x0 + 2 * s * (1 - s) * cx + s ** 2 * x1  # (P, E)
    ys = (1 - s) ** 2 * y0 + 2 * s * (1 - s) * cy + s ** 2 * y1
    gap = np.full((1, xs.shape[1]), np.nan)
    return f32(np.vstack([xs, gap]).T.ravel()), f32(np.vstack([ys, gap]).T.ravel())


def _line(fig: go.Figure, edges, color: str, width: float, name: str, dash: str = "solid", opacity: float = 1.0,
          legend: bool = False) -> None:
    if len(edges):
        xs, ys = _arcs(edges) if (edges["kind"] == "attention").all() else _segments(edges)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": width, "dash": dash},
                                 opacity=opacity, hoverinfo="skip", name=name, showlegend=legend))


def _draw_gradient_edges(fig: go.Figure, e, theme: Theme) -> tuple[float, float] | None:
    """Lit edges with a recorded gradient, binned by log10 ||dL/d tail||; returns the log range used."""
    e = e[e["grad"] > 0]
    if not len(e):
        return None
    logs = np.log10(e["grad"].to_numpy(np.float64))
    lo, hi = float(logs.min()), float(logs.max())
    span = max(hi - lo, 1e-9)
    bins = np.minimum(((logs - lo) / span * GRADIENT_BINS).astype(int), GRADIENT_BINS - 1)
    for b in range(GRADIENT_BINS):
        frac = (b + 0.5) / GRADIENT_BINS
        color = sample_colorscale(GRADIENT_SCALE, [0.25 + 0.75 * frac])[0]
        _line(fig, e[bins == b], color, theme.line_width * (0.5 + 2.5 * frac), "gradient")
    return lo, hi


def _draw_edges(fig: go.Figure, g: Unrolled, theme: Theme) -> tuple[float, float] | None:
    e = g.edges
    att, rest = e[e["kind"] == "attention"], e[e["kind"] != "attention"]
    _line(fig, rest[~rest["lit"]], MUTED, theme.line_width * 0.6, "not reached yet", "dot",
          legend=not rest["lit"].all())
    lit = rest[rest["lit"]]
    _line(fig, lit[~(lit["grad"] > 0)], NEUTRAL, theme.line_width * 0.6, "no gradient recorded")
    for q in (0.25, 0.5, 0.75, 1.0):  # attention by weight: darker and wider where the decoder looks
        sel = att[att["lit"] & (att["alpha"] > q - 0.25) & (att["alpha"] <= q)]
        _line(fig, sel, ATTENTION, theme.line_width * (0.3 + 2 * q), "attention α", opacity=0.25 + 0.75 * q,
              legend=q == 1.0 or (len(sel) > 0 and q == 0.25))
    return _draw_gradient_edges(fig, lit, theme)


def _draw_edge_labels(fig: go.Figure, g: Unrolled, theme: Theme) -> None:
    """Every edge's hover at its midpoint; the matrix name printed on each edge that has one (same name, same
    matrix: the point of weight sharing), when the window is narrow enough to read them."""
    e = g.edges[g.edges["kind"] != "attention"]
    if not len(e):
        return
    show = (g.window[1] - g.window[0]) <= LABEL_MAX_STEPS
    text = [w if show else "" for w in e["weight"]]
    if show and set(g.nodes["part"]) & {FORWARD, "encoder"}:  # two directions' rows (four edges between
        # layers) or an encoder's and a decoder's tagged names ("W_hh (enc)") side by side would run into each
        text = _named_once(e.reset_index(drop=True), g.window)  # other: each matrix named once, names spread out
    vertical = (e["x0"] == e["x1"]).to_numpy()
    x = e["x0"] + 0.5 * (e["x1"] - e["x0"]) + np.where(vertical, 0.04, 0.0)
    y = [_vertical_label_y(y0, y1, g.rows.values()) if up else (y0 + y1) / 2
         for y0, y1, up in zip(e["y0"], e["y1"], vertical)]
    fig.add_trace(go.Scatter(
        x=f32(x), y=f32(y),
        mode="markers+text", text=text, textposition=np.where(vertical, "middle right", "bottom center").tolist(),
        marker={"size": theme.marker_size * 1.5, "color": "rgba(0,0,0,0)"}, textfont={"color": NEUTRAL},
        hovertext=e["hover"].tolist(), hoverinfo="text", showlegend=False, name="edges"))


def _vertical_label_y(tail: float, head: float, rows) -> float:
    """Where a vertical edge's name sits: a third of the way from its tail, or, when the edge passes other rows
    (h to y past the c row), halfway between the last of them and its head: a row passed holds the next step's
    nodes (an LSTM's c sits 0.3 of a step left of its h), which would cover a name written beside the edge."""
    lo, hi = sorted((tail, head))
    passed = [r for r in rows if lo < r < hi]
    if not passed:
        return tail + 0.35 * (head - tail)
    last = max(passed) if head > tail else min(passed)
    return (last + head) / 2


def _named_once(e, window: tuple[int, int]) -> list[str]:
    """Each matrix's name on one of its edges: the k-th matrix's on its edge nearest the k-th of evenly spaced
    columns of the window, so the names do not pile up at one step."""
    names = [w for w in dict.fromkeys(e["weight"]) if w]
    text = [""] * len(e)
    columns = np.linspace(window[0], window[1] - 1, max(len(names), 1))
    for k, w in enumerate(names):
        mine = e.index[e["weight"] == w]
        text[int(mine[np.argmin(np.abs(e.loc[mine, "x0"].to_numpy() - columns[k]))])] = w
    return text


def _draw_nodes(fig: go.Figure, g: Unrolled, theme: Theme, size: float) -> None:
    n = g.nodes
    for kind, label in g.value_labels.items():  # h and c each on a scale of its own (bars top to bottom: h, c, dL)
        states = n[n["kind"] == kind]
        signed = label.startswith("unit")  # one unit's value, white at 0; else a norm, from 0: a scale from the
        # smallest norm drawn made 0.414 against 0.441 look like dark against bright
        v = states["value"].to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)] if np.isfinite(v).any() else np.zeros(1)
        top = max(float(np.abs(v).max()), 1e-6)
        lo, hi = (-top, top) if signed else (0.0, top)
        fig.add_trace(go.Scatter(
            x=f32(states["x"]), y=f32(states["y"]), mode="markers", name=_STATES[kind], showlegend=False,
            marker={"size": size, "color": f32(states["value"]), "line": {"width": 1.5, "color": "#000000"},
                    "colorscale": theme.signed_scale if signed else theme.magnitude_scale,
                    "cmin": lo, "cmax": hi, "showscale": True,
                    "colorbar": {"title": {"text": label}, "x": 1.0, **_bar(g, kind, lo, hi)}},
            hovertext=states["hover"].tolist(), hoverinfo="text"))
    right = n["x"].max()
    for kind, symbol in (("x", "circle"), ("y", "circle"), ("L_t", "square"), ("L", "square")):
        sel = n[n["kind"] == kind]
        if not len(sel):
            continue
        fig.add_trace(go.Scatter(
            x=f32(sel["x"]), y=f32(sel["y"]), mode="markers+text", text=sel["label"].tolist(),
            textposition=[_node_text_position(t, kind, x == right) for t, x in zip(sel["label"], sel["x"])],
            showlegend=False, name=kind,
            marker={"size": size * (1.3 if kind == "L" else 1.0), "symbol": symbol, "color": "#ffffff",
                    "line": {"width": 2, "color": "#000000"}},
            hovertext=sel["hover"].tolist(), hoverinfo="text"))


_STATES = {"h": "states", "c": "cell states"}  # trace names


def _bar(g: Unrolled, kind: str, lo: float, hi: float) -> dict:
    """Where a colour bar sits on the right (h's and the edges' halves, or thirds when c has its own) and its
    labels: its two ends, and 0 between them; one label when the range is a point (all zero, or the edges' one
    gradient). A one-step graph's single h, on plotly's own ticks, read "0.65848" and "0.6584795", and in a third
    of the height at projector size plotly's ticks ran into each other. Each label hangs below its tick: centred
    on it, the top one touched the bar's title."""
    thirds = len(g.value_labels) == 2
    one = hi - lo <= 1e-5 * max(1.0, abs(lo))
    ticks = [lo] if one else [lo, 0.0, hi] if lo < 0 < hi else [lo, hi]
    where = {"h": 0.84, "c": 0.5, "dL": 0.16} if thirds else {"h": 0.75, "dL": 0.22}
    return {"len": 0.3 if thirds else 0.45, "y": where[kind], "tickmode": "array", "tickvals": ticks,
            "ticktext": [f"{t:.3g}".replace("-", "−") for t in ticks], "ticklabelposition": "outside bottom"}


def _node_text_position(label: str, kind: str, rightmost: bool) -> str:
    """Two characters fit inside a node ("&lt;" is one); a longer label goes below an input node, the bottom
    row, and above any other, off to one side: below an output, "outside" crossed the edge that reaches it, and
    beside it, "&lt;end&gt;" ran into the next node. Its right, or its left in the last column, whose right
    holds the colour bars."""
    if len(html.unescape(label)) <= 2:
        return "middle center"
    return "bottom center" if kind == "x" else "top left" if rightmost else "top right"


def _gradient_colorbar(fig: go.Figure, rng: tuple[float, float], g: Unrolled) -> None:
    """An invisible point that carries the edges' colour bar (log10 of the gradient at the edge's tail)."""
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip", name="gradient scale",
        marker={"color": [rng[0]], "cmin": rng[0], "cmax": max(rng[1], rng[0] + 1e-6), "showscale": True,
                "colorscale": [[0, sample_colorscale(GRADIENT_SCALE, [0.25])[0]],
                               [1, sample_colorscale(GRADIENT_SCALE, [1.0])[0]]],
                "colorbar": {"title": {"text": "log₁₀ ||dL/d·||"}, "x": 1.0,
                             **_bar(g, "dL", rng[0], max(rng[1], rng[0] + 1e-6))}}))


def _frontier(fig: go.Figure, g: Unrolled, theme: Theme) -> None:
    """A dashed line just before the earliest step the backward pass has reached (a legend entry, not a label,
    so it never collides with the title)."""
    at = g.nodes[(g.nodes["kind"] == "h") & (g.nodes["t"] == g.frontier)]
    if len(at):
        x = float(at["x"].iloc[0]) - 0.5
        top = max(g.rows.values()) + 0.4
        fig.add_trace(go.Scatter(x=[x, x], y=[-0.4, top], mode="lines", name="backward pass has reached ▶",
                                 line={"color": GATE_COLORS["f"], "width": theme.line_width, "dash": "dash"},
                                 hoverinfo="skip"))


def unrolled_figure(trace, sequence_type: str, sample: int = 0, start: int | None = None, steps: int | None = None,
                    bptt_step: int | None = None, unit: int | None = None, tokens: list[str] | None = None,
                    output_tokens: list[str] | None = None, theme: Theme = NORMAL) -> go.Figure:
    """The unrolled graph of one probe sample; arguments as analysis.unrolled.unrolled_graph (which it calls)."""
    g = unrolled_graph(trace, sequence_type, sample, start, steps, bptt_step, unit, tokens, output_tokens)
    fig = go.Figure()
    if g.frontier is not None:
        _frontier(fig, g, theme)
    rng = _draw_edges(fig, g, theme)
    _draw_edge_labels(fig, g, theme)
    node = 2.2 * theme.marker_size + 12  # px: 27 normal, 41 presentation
    _draw_nodes(fig, g, theme, node)
    if rng is not None:
        _gradient_colorbar(fig, rng, g)
    h0 = g.nodes[(g.nodes["kind"] == "h") & (g.nodes["layer"] == 0) & ~g.nodes["id"].str.startswith(BACKWARD)]
    both = "encoder" in set(g.nodes["part"])
    two_way = FORWARD in set(g.nodes["part"])
    xs = g.nodes["x"].to_numpy()
    fig.update_xaxes(title_text="time step t" + (" (encoder, then decoder)" if both else ""),
                     tickmode="array", tickvals=f32(h0["x"]).tolist(), ticktext=[str(s) for s in h0["step"]],
                     showgrid=False, zeroline=False,  # a fixed margin: one step alone would autorange to a sliver
                     range=[float(xs.min()) - 0.8, float(xs.max()) + 0.8])
    labelled = (g.nodes.loc[g.nodes["kind"] == "y", "label"] != "").any()  # the targets, written in the y nodes:
    names = [k + " (target)" if labelled and k.startswith("output") else k for k in g.rows]  # not predictions
    fig.update_yaxes(tickmode="array", tickvals=list(g.rows.values()), ticktext=names,
                     showgrid=False, zeroline=False, range=[-0.6, max(g.rows.values()) + 0.6])
    span = max(g.rows.values()) + 1.2
    height = int(min(max(theme.height, span * 3 * node), 1.6 * theme.height))  # rows a node-and-a-half apart
    fig.update_layout(height=height, legend={"x": 0.0, "y": 1.0, "yanchor": "top",
                                                  "bgcolor": "rgba(255,255,255,0.85)"})
    walk = "" if bptt_step is None else f" · backward pass {bptt_step} step{'s' if bptt_step != 1 else ''} back"
    (a, b), n = g.window, g.total_steps
    part = "" if (a, b) == (0, n) else f" · steps {a}–{b - 1} of 0–{n - 1}"  # a window says which part it is
    if n == 1:  # one-to-one: one step, nothing recurs, no W_hh arrow to share
        return style(fig, theme, f"Unrolled {trace.arch} ({sequence_type}), sample {sample}{walk}",
                     "One step: W<sub>xh</sub> reads the input and W<sub>hy</sub> writes the output; nothing "
                     "recurs, so no W<sub>hh</sub> arrow. " + EDGE_NOTE)
    return style(fig, theme, f"Unrolled {trace.arch} ({sequence_type}), sample {sample}{part}{walk}",
                 "Same label, same matrix: W<sub>xh</sub>, "
                 + ("W<sub>hh</sub>, " if get_spec(trace.arch).has_w_hh else "")
                 + "W<sub>hy</sub> are shared by every step"
                 + ("; (enc) and (dec) are the encoder's and the decoder's own. " if both else
                    "; (→) and (←) each direction's own, each named once. " if two_way else ". ")
                 + EDGE_NOTE)
