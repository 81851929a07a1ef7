"""The unrolled computation graph of a traced model as two tables, nodes and edges, laid out for drawing;
not the drawing (plots/graph.py).

Topology follows the task's sequence type (rnnviz.tasks.base.SEQUENCE_TYPES):
  one-to-one          x_0 -> h_0 -> y_0 -> L                            (T = 1)
  one-to-many         x_0 at t = 0 only; y_t and L_t at every step; the total L
  many-to-one         x_t at every step; one y_{T-1} -> L (one loss node)
  many-to-many-sync   x_t, y_t and L_t at every step; the total L
  many-to-many-async  encoder: x_s -> h_s, no outputs; its last h (and c) -> the decoder's first; decoder:
                      previous-target inputs, y_t, L_t, the total L; attention edges from the encoder's top
                      h_s to the decoder's top h_t when the trace recorded attention
Layers stack rows of h (and c for the LSTM family); a bidirectional stack has a second row per layer, its backward
direction h←_t drawn at the position it read (its recurrent edges join t+1 to t, right to left), and each layer
above, and y_t, read both directions at their position. x positions are global steps (the encoder's 0..S-1,
an empty column, then the decoder's); a window keeps global steps [start, start + steps).

Numbers, all of one sample:
  node value  ||h_t||, ||c_t||, ||x_t||, ||y_t|| (h_t[unit], c_t[unit] when a unit is chosen); L the probe's
              loss; per-step losses L_t are not recorded (NaN)
  edge grad   the gradient that has reached the edge's tail, ||dL/d tail||: x_t->h_t carries ||dL/dx_t||,
              h_{t-1}->h_t ||dL/dh_{t-1}||, c_{t-1}->c_t ||dL/dc_{t-1}||, c_t->h_t ||dL/dc_t||, h_t->y_t and
              h^(k)_t->h^(k+1)_t ||dL/dh_t||; dL/dy_t and the decoder's inputs are not recorded (NaN)
  edge alpha  the attention weight α_ts (attention edges only)
bptt_step k: the backward pass has walked k steps back from the last global step T-1. An edge is lit when
its time (its tail's step; an attention edge's decoder step) is >= the frontier T-1-k.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnviz.analysis import equations as eq
from rnnviz.analysis.traces import check_index, prefixes, visible
from rnnviz.cells import get_spec
from rnnviz.model_stacks import BACKWARD
from rnnviz.trace import Trace

SEQUENCE_TYPES = ("one-to-one", "one-to-many", "many-to-one", "many-to-many-sync", "many-to-many-async")
FORWARD = "forward"  # the part name of a bidirectional stack's forward direction (its backward one: BACKWARD rows)
DEFAULT_GRAPH_STEPS = 12  # what fits a projected slide with readable labels
MAX_GRAPH_STEPS = 48  # beyond this the nodes are specks: use the heatmaps


@dataclass(frozen=True)
class Part:
    prefix: str  # the trace prefix of its stack: "", "enc." or "dec."
    name: str  # "", "encoder", "decoder"
    first: int  # global step of its step 0
    steps: int
    shift: float  # x position = global step + shift
    inputs: str  # "all" or "first" (one-to-many)
    outputs: str  # "none", "last" or "all"


@dataclass
class Unrolled:
    nodes: pd.DataFrame  # id, kind, part, t, step, layer, x, y, value, label, hover
    edges: pd.DataFrame  # src, dst, weight, kind, t, grad, alpha, lit, x0, y0, x1, y1, hover
    rows: dict[str, float]  # row name -> y position, for the axis
    total_steps: int
    window: tuple[int, int]  # global steps [start, end)
    frontier: int | None  # lit edges have t >= frontier; None: no walk, everything lit
    value_labels: dict[str, str]  # node kind ("h", and "c" for a cell) -> what its colour means: each has its own
    # scale, as a tanh h (at most sqrt(H) in norm) drew all dark beside an LSTM's c of 80


def parts_of(trace: Trace, sequence_type: str) -> list[Part]:
    if sequence_type not in SEQUENCE_TYPES:
        raise ValueError(f"unknown sequence type {sequence_type!r}; choose one of {', '.join(SEQUENCE_TYPES)}")
    seq2seq = "enc." in prefixes(trace)
    if (sequence_type == "many-to-many-async") != seq2seq:
        want = "many-to-many-async" if seq2seq else "a single-stack sequence type"
        raise ValueError(f"this trace is {'an encoder-decoder' if seq2seq else 'a single stack'}: "
                         f"draw it as {want}, not {sequence_type}")
    if seq2seq:
        S, T = trace["enc.h"].shape[2], trace["dec.h"].shape[2]
        return [Part("enc.", "encoder", 0, S, 0.0, "all", "none"), Part("dec.", "decoder", S, T, 1.0, "all", "all")]
    T = trace["h"].shape[2]
    outputs = "last" if sequence_type in ("one-to-one", "many-to-one") else "all"
    name = FORWARD if BACKWARD in prefixes(trace) else ""
    return [Part("", name, 0, T, 0.0, "first" if sequence_type == "one-to-many" else "all", outputs)]


def row_positions(num_layers: int, cell: bool, step_losses: bool, both: bool = False) -> dict[str, float]:
    """Row name -> y: inputs at 0, then h (and c just above it) per layer (with both directions: h→ then the
    backward direction's h←, row hb), outputs, losses."""
    rows, gap, y = {"x": 0.0}, (1.6 if cell else 1.0), 1.0
    for k in range(num_layers):
        for d in ("", "b")[:1 + both]:
            rows[f"h{d}{k}"] = y
            if cell:
                rows[f"c{d}{k}"] = y + 0.7
            y += gap
    rows["y"] = y
    if step_losses:
        rows["L_t"] = rows["y"] + 1.0
    rows["L"] = rows["y"] + (2.0 if step_losses else 1.0)
    return rows


def row_names(rows: dict[str, float], num_layers: int) -> dict[str, str]:
    names = {"x": "input x<sub>t</sub>", "y": "output y<sub>t</sub>", "L_t": "loss L<sub>t</sub>", "L": "total loss L"}
    both = "hb0" in rows
    for k in range(num_layers):
        suffix = f" (layer {k})" if num_layers > 1 else ""
        arrow = "→" if both else ""
        names[f"h{k}"], names[f"c{k}"] = f"hidden h{arrow}<sub>t</sub>{suffix}", f"cell c{arrow}<sub>t</sub>{suffix}"
        names[f"hb{k}"], names[f"cb{k}"] = f"backward h←<sub>t</sub>{suffix}", f"backward c←<sub>t</sub>{suffix}"
    return {r: names[r] for r in rows}


class _Builder:
    """Collects one call's nodes and edges; _finish keeps an edge only when both its ends are in the window."""

    def __init__(self, trace: Trace, sample: int, unit: int | None, window: tuple[int, int], rows: dict):
        self.trace, self.sample, self.unit, self.window, self.rows = trace, sample, unit, window, rows
        self.spec = get_spec(trace.arch)
        self.nodes: dict[str, dict] = {}
        self.edges: list[dict] = []

    def vec(self, name: str, *index) -> np.ndarray | None:
        if name not in self.trace:
            return None
        t = self.trace[name]
        return t[index[0], self.sample, index[1]].numpy() if t.dim() == 4 else t[self.sample, index[0]].numpy()

    def value(self, v: np.ndarray | None, per_unit: bool) -> float:
        if v is None:
            return float("nan")
        return float(v[self.unit]) if (per_unit and self.unit is not None) else float(np.linalg.norm(v))

    def node(self, key: str, kind: str, part: Part, step: int, layer: int, row: str, dx: float = 0.0, **info):
        g = part.first + step
        if self.window[0] <= g < self.window[1]:
            self.nodes[key] = {"id": key, "kind": kind, "part": part.name, "t": g, "step": step, "layer": layer,
                               "x": g + part.shift + dx, "y": self.rows[row], **info}

    def edge(self, src: str, dst: str, weight: str, kind: str, t: int, grad: float = float("nan"),
             alpha: float = float("nan")):
        self.edges.append({"src": src, "dst": dst, "weight": weight, "kind": kind, "t": t, "grad": grad,
                           "alpha": alpha})


def _fmt(v: float) -> str:
    return "not recorded" if not np.isfinite(v) else f"{v:.3g}"


def _add_states(b: _Builder, part: Part, L: int) -> None:
    """h (and c) nodes of every layer and step, with their recurrent, cell and between-layer edges."""
    p, cell = part.prefix, b.spec.has_cell
    what = "" if b.unit is None else f"[unit {b.unit}]"
    name = part.name + " " if part.name else ""
    x0, y0 = b.vec(p + "x", 0), b.vec(p + "y", 0, 0)  # layer 0's input and output (H wide; h_t may be H·N)
    narrow = x0 is not None and y0 is not None and x0.shape[-1] != y0.shape[-1]  # no residual into layer 0
    passes = [f"<br>passes on {eq.output_equation(b.spec, residual=not (k == 0 and narrow))}" if b.spec.reads_out
              else "" for k in range(L)]  # y_t, not h_t
    stored = " exp(−m<sub>t</sub>) as stored" if b.spec.rescaled_cell else ""  # the sLSTM's
    for t in range(part.steps):
        g = part.first + t
        for k in range(L):
            h, gh = b.vec(p + "h", k, t), b.vec(p + "grad.h", k, t)
            hv, gv = b.value(h, True), b.value(gh, False)
            b.node(f"{p}h{k}@{t}", "h", part, t, k, f"h{k}", value=hv, label="",
                   hover=f"<b>{name}h<sub>t</sub>{what}, layer {k}, t = {t}</b><br>value {_fmt(hv)}"
                         f"<br>||dL/dh<sub>t</sub>|| = {_fmt(gv)}<br>{eq.hidden_equation(b.spec)}{passes[k]}")
            if cell:
                c, gc = b.vec(p + "c", k, t), b.vec(p + "grad.c", k, t)
                cv = b.value(c, True)
                b.node(f"{p}c{k}@{t}", "c", part, t, k, f"c{k}", dx=-0.3, value=cv, label="",
                       hover=f"<b>{name}c<sub>t</sub>{stored}{what}, layer {k}, t = {t}</b><br>value {_fmt(cv)}"
                             f"<br>||dL/dc<sub>t</sub>|| = {_fmt(b.value(gc, False))}<br>{eq.cell_equation(b.spec)}")
                b.edge(f"{p}c{k}@{t}", f"{p}h{k}@{t}", "", "cell", g, b.value(gc, False))
            if t > 0:
                prev = b.value(b.vec(p + "grad.h", k, t - 1), False)
                carry = _w("W_hh", k, L, part.name) if b.spec.has_w_hh else eq.to_html(b.spec.carry)  # diagonal
                b.edge(f"{p}h{k}@{t - 1}", f"{p}h{k}@{t}", carry, "recurrent", g - 1, prev)
                if cell:
                    prev_c = b.value(b.vec(p + "grad.c", k, t - 1), False)
                    b.edge(f"{p}c{k}@{t - 1}", f"{p}c{k}@{t}", "", "cell", g - 1, prev_c)
            if k > 0:
                below = b.value(b.vec(p + "grad.h", k - 1, t), False)
                b.edge(f"{p}h{k - 1}@{t}", f"{p}h{k}@{t}", _w("W_xh", k, L, part.name) + _READ * b.spec.reads_out,
                       "input", g, below)


_READ = " y<sub>t</sub>"  # a reads-out cell's edges out of h_t carry y_t, read from it (eq.output_equation)


def _w(name: str, layer: int, L: int, part: str = "") -> str:
    """Weight label: W_hh; W_hh^(k) when layers differ, W_hh^(enc) and W_hh^(dec) in an encoder-decoder, W_hh^(→)
    and W_hh^(←) for a bidirectional stack's directions (each layer of each stack or direction shares its own
    matrices over time, so one label is one matrix)."""
    tags = [{"encoder": "enc", "decoder": "dec", FORWARD: "→", "backward": "←"}.get(part, "")] + (
        [str(layer)] if L > 1 else [])
    tags = [t for t in tags if t]
    return f"W<sub>{name[2:]}</sub>" + (f"<sup>({','.join(tags)})</sup>" if tags else "")


def _add_inputs(b: _Builder, part: Part, L: int, tokens: list[str] | None, out_tokens: list[str] | None):
    p = part.prefix
    for t in range(part.steps if part.inputs == "all" else 1):
        g, key = part.first + t, f"{p}x@{t}"
        if part.name == "decoder":
            label = "&lt;s&gt;" if t == 0 else (out_tokens[t - 1] if out_tokens else "")
            b.node(key, "x", part, t, -1, "x", value=float("nan"), label=label,
                   hover=f"<b>decoder input, t = {t}</b><br>{eq.DECODER_INPUT}")
            b.edge(key, f"{p}h0@{t}", _w("W_xh", 0, L, part.name), "input", g)
            continue
        xv, gx = b.vec("x", t), b.vec("grad.x", t)
        label = tokens[t] if tokens else ""
        b.node(key, "x", part, t, -1, "x", value=b.value(xv, False), label=label,
               hover=f"<b>input x<sub>t</sub>, t = {t}</b>{'<br>token ' + label if label else ''}<br>"
                     f"||x<sub>t</sub>|| = {_fmt(b.value(xv, False))}<br>||dL/dx<sub>t</sub>|| = "
                     f"{_fmt(b.value(gx, False))}<br>{eq.INPUT}")
        b.edge(key, f"{p}h0@{t}", _w("W_xh", 0, L, part.name), "input", g, b.value(gx, False))


def _add_outputs(b: _Builder, part: Part, L: int, out_tokens: list[str] | None) -> list[str]:
    """y (and L_t) nodes; returns the keys that feed the total loss."""
    p, feeds = part.prefix, []
    steps = {"none": [], "last": [part.steps - 1], "all": list(range(part.steps))}[part.outputs]
    for t in steps:
        g, key = part.first + t, f"{p}y@{t}"
        y = b.vec("output", t)
        label = out_tokens[t] if out_tokens else ""
        b.node(key, "y", part, t, -1, "y", value=b.value(y, False), label=label,
               hover=f"<b>output y<sub>t</sub>, t = {t}</b>{'<br>target ' + label if label else ''}<br>"
                     f"||y<sub>t</sub>|| = {_fmt(b.value(y, False))}<br>{eq.OUTPUT}")
        b.edge(f"{p}h{L - 1}@{t}", key, _w("W_hy", 0, 1) + _READ * b.spec.reads_out, "output", g,
               b.value(b.vec(p + "grad.h", L - 1, t), False))
        if part.outputs == "all":
            b.node(f"{p}L@{t}", "L_t", part, t, -1, "L_t", value=float("nan"), label="",
                   hover=f"<b>loss L<sub>t</sub>, t = {t}</b><br>{eq.STEP_LOSS}")
            b.edge(key, f"{p}L@{t}", "", "loss", g)
            feeds.append(f"{p}L@{t}")
        else:
            feeds.append(key)
    return feeds


def _add_backward(b: _Builder, part: Part, L: int) -> None:
    """A bidirectional stack's backward direction: h← (and c←) nodes at each position t, a little right of the
    forward ones; its recurrent edges from t+1 to t; x_t into layer 0; both directions of layer k−1 into both of
    layer k; both top directions into y_t. The trace keeps it in the order it read (step s = position T−1−s), and
    an edge's time is that order's, so the BPTT walk reaches it as the backward pass does."""
    p, cell, T = BACKWARD, b.spec.has_cell, part.steps
    what = "" if b.unit is None else f"[unit {b.unit}]"
    back = lambda name, k, t: b.vec(p + name, k, T - 1 - t)  # noqa: E731  (position t -> the order it read)
    for t in range(T):
        s = T - 1 - t
        for k in range(L):
            hv, gv = b.value(back("h", k, t), True), b.value(back("grad.h", k, t), False)
            b.node(f"{p}h{k}@{t}", "h", part, t, k, f"hb{k}", dx=0.25, value=hv, label="",
                   hover=f"<b>backward h←<sub>t</sub>{what}, layer {k}, t = {t}</b><br>read x<sub>{T - 1}</sub> down "
                         f"to x<sub>{t}</sub><br>value {_fmt(hv)}<br>||dL/dh<sub>t</sub>|| = {_fmt(gv)}"
                         f"<br>{eq.hidden_equation(b.spec).replace('t−1', 't+1')}")
            if cell:
                cv, gc = b.value(back("c", k, t), True), b.value(back("grad.c", k, t), False)
                b.node(f"{p}c{k}@{t}", "c", part, t, k, f"cb{k}", dx=-0.05, value=cv, label="",
                       hover=f"<b>backward c←<sub>t</sub>{what}, layer {k}, t = {t}</b><br>value {_fmt(cv)}"
                             f"<br>||dL/dc<sub>t</sub>|| = {_fmt(gc)}")
                b.edge(f"{p}c{k}@{t}", f"{p}h{k}@{t}", "", "cell", s, gc)
            if t < T - 1:  # h←_{t+1} -> h←_t: read one step earlier, at the next position
                nxt = b.value(back("grad.h", k, t + 1), False)
                b.edge(f"{p}h{k}@{t + 1}", f"{p}h{k}@{t}", _w("W_hh", k, L, "backward"), "recurrent", s - 1, nxt)
                if cell:
                    b.edge(f"{p}c{k}@{t + 1}", f"{p}c{k}@{t}", "", "cell", s - 1,
                           b.value(back("grad.c", k, t + 1), False))
            if k == 0:
                if part.inputs == "all" or t == 0:
                    b.edge(f"x@{t}", f"{p}h0@{t}", _w("W_xh", 0, L, "backward"), "input", s,
                           b.value(b.vec("grad.x", t), False))
                continue
            for src in (f"h{k - 1}@{t}", f"{p}h{k - 1}@{t}"):  # each direction of layer k reads both below
                grad = b.value(b.vec("grad.h", k - 1, t) if not src.startswith(p) else back("grad.h", k - 1, t),
                               False)
                b.edge(src, f"{p}h{k}@{t}", _w("W_xh", k, L, "backward"), "input", s, grad)
                if src.startswith(p):
                    b.edge(src, f"h{k}@{t}", _w("W_xh", k, L, FORWARD), "input", t, grad)
        b.edge(f"{p}h{L - 1}@{t}", f"y@{t}", _w("W_hy", 0, 1), "output", t, b.value(back("grad.h", L - 1, t), False))


def _add_attention(b: _Builder, enc: Part, dec: Part, L: int) -> None:
    if "attention" not in b.trace:
        return
    alpha = b.trace["attention"][b.sample].numpy()  # (T', S)
    for t in range(dec.steps):
        for s in range(enc.steps):
            b.edge(f"enc.h{L - 1}@{s}", f"dec.h{L - 1}@{t}", "α", "attention", dec.first + t,
                   alpha=float(alpha[t, s]))


def _add_bridge(b: _Builder, enc: Part, L: int) -> None:
    """The encoder's final state is the decoder's initial state (Sutskever et al. 2014)."""
    last = enc.steps - 1
    for k in range(L):
        b.edge(f"enc.h{k}@{last}", f"dec.h{k}@0", "", "bridge", last, b.value(b.vec("enc.grad.h", k, last), False))
        if b.spec.has_cell:
            b.edge(f"enc.c{k}@{last}", f"dec.c{k}@0", "", "bridge", last,
                   b.value(b.vec("enc.grad.c", k, last), False))


def _add_total_loss(b: _Builder, feeds: list[str], part: Part) -> None:
    """The total loss L: always drawn (it is where the gradient starts), above the outputs it sums."""
    xs = [b.nodes[k]["x"] for k in feeds if k in b.nodes] or [np.mean(b.window) - 0.5 + part.shift]
    many = part.outputs == "all"
    b.nodes["L"] = {"id": "L", "kind": "L", "part": part.name, "t": part.first + part.steps - 1,
                    "step": part.steps - 1, "layer": -1, "x": float(np.mean(xs)), "y": b.rows["L"],
                    "value": float(b.trace.meta.get("loss", float("nan"))), "label": "L",
                    "hover": f"<b>total loss L = {_fmt(float(b.trace.meta.get('loss', float('nan'))))}</b><br>"
                             f"{eq.TOTAL_LOSS if many else eq.LAST_LOSS}"}
    for k in feeds:
        if k in b.nodes:
            b.edge(k, "L", "", "loss", b.nodes[k]["t"])  # a feed outside the window has no edge


def graph_window(total: int, start: int | None, steps: int | None) -> tuple[int, int]:
    """[start, end) of the global steps to draw; default the last DEFAULT_GRAPH_STEPS, where the loss is."""
    steps = min(total, DEFAULT_GRAPH_STEPS) if steps is None else steps
    if not 1 <= steps <= MAX_GRAPH_STEPS:
        raise ValueError(f"a window of {steps} steps is out of range; use 1 to {MAX_GRAPH_STEPS}")
    start = max(0, total - steps) if start is None else start
    if not 0 <= start < total:
        raise ValueError(f"window start {start} is out of range; use 0 to {total - 1}")
    return start, min(total, start + steps)


def _finish(b: _Builder, frontier: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    nodes = pd.DataFrame(list(b.nodes.values()))
    kept = [e for e in b.edges if e["src"] in b.nodes and e["dst"] in b.nodes]
    edges = pd.DataFrame(kept, columns=["src", "dst", "weight", "kind", "t", "grad", "alpha"])
    pos = nodes.set_index("id")[["x", "y"]]
    edges["x0"], edges["y0"] = pos.loc[edges["src"], "x"].to_numpy(), pos.loc[edges["src"], "y"].to_numpy()
    edges["x1"], edges["y1"] = pos.loc[edges["dst"], "x"].to_numpy(), pos.loc[edges["dst"], "y"].to_numpy()
    edges["lit"] = True if frontier is None else edges["t"] >= frontier
    edges["hover"] = [
        (f"attention α = {a:.3f}" if k == "attention" else f"{w or k}: ||dL/d(tail)|| = {_fmt(g)}")
        + f"<br>step {t}" + ("" if lit else "<br>(the backward pass has not reached it yet)")
        for k, w, g, a, t, lit in zip(edges["kind"], edges["weight"], edges["grad"], edges["alpha"], edges["t"],
                                      edges["lit"])]
    return nodes, edges


def unrolled_graph(trace: Trace, sequence_type: str, sample: int = 0, start: int | None = None,
                   steps: int | None = None, bptt_step: int | None = None, unit: int | None = None,
                   tokens: list[str] | None = None, output_tokens: list[str] | None = None) -> Unrolled:
    """Nodes and edges of the unrolled graph of one sample (see the module docstring for every number).
    tokens label the inputs (the encoder's for an encoder-decoder), output_tokens the outputs (targets)."""
    parts = parts_of(trace, sequence_type)
    total = parts[-1].first + parts[-1].steps
    window = graph_window(total, start, steps)
    sample = check_index("sample", sample, trace["output"].shape[0])
    L, H = trace[parts[0].prefix + "h"].shape[0], trace[parts[0].prefix + "h"].shape[-1]
    if unit is not None:
        unit = check_index("unit", unit, H)
    if bptt_step is not None and bptt_step < 0:
        raise ValueError(f"bptt step {bptt_step} must be 0 (the last step only) or more")
    tokens = _labels(tokens, parts[0].steps, "input")
    out_tokens = _labels(output_tokens, parts[-1].steps, "output")
    spec = get_spec(trace.arch)
    both = BACKWARD in prefixes(trace)
    rows = row_positions(L, spec.has_cell, parts[-1].outputs == "all", both)
    b = _Builder(trace, sample, unit, window, rows)
    for part in parts:
        _add_inputs(b, part, L, tokens, out_tokens)
        _add_states(b, part, L)
    if both:
        _add_backward(b, parts[0], L)
    feeds = _add_outputs(b, parts[-1], L, out_tokens)
    if len(parts) == 2:
        _add_bridge(b, parts[0], L)
        _add_attention(b, parts[0], parts[1], L)
    _add_total_loss(b, feeds, parts[-1])
    frontier = None if bptt_step is None else total - 1 - bptt_step
    kinds = ("h", "c") if spec.has_cell else ("h",)  # a cell without c_t has no c nodes to colour
    value_labels = {k: f"norm ||{k}||" if unit is None else f"unit {unit}: {k}" for k in kinds}
    nodes, edges = _finish(b, frontier)
    return Unrolled(nodes, edges, {row_names(rows, L)[r]: y for r, y in rows.items()}, total, window, frontier,
                    value_labels)


def _labels(tokens: list[str] | None, n: int, what: str) -> list[str] | None:
    if tokens is None:
        return None
    if len(tokens) != n:
        raise ValueError(f"{len(tokens)} {what} labels were given for {n} steps; give one per step")
    return [visible(t) for t in tokens]
