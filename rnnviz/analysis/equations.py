"""A cell's own words from its CellSpec (rnnviz/cells.py), written as HTML: the equation of each node of the
unrolled graph (hover text), every line of its update, and what each gate does; no numbers, no figures.
A spec that lacks a line is an error here, never another cell's formula.
"""
from __future__ import annotations

import html
import re

from rnnviz.cells import CellSpec

_SUB = re.compile(r"(?<=([^\W\d_]{3}))?_(\{[^}]*\}|[A-Za-z0-9]+)")  # x_t, W_hh, h_{t−1}; not reset_after


def to_html(text: str) -> str:
    """Plain notation to HTML: h_{t−1} -> h<sub>t−1</sub>, W_hh -> W<sub>hh</sub>, dL/dW_hh too; markup in the text
    is escaped. A name of three letters or more before the underscore is a word, not a symbol: Keras's
    reset_after stays as it is."""
    return _SUB.sub(lambda m: m.group(0) if m.group(1) else f"<sub>{m.group(2).strip('{}')}</sub>",
                    html.escape(text, quote=False))


def _line(spec: CellSpec, symbol: str, what: str) -> str:
    if not spec.equations:
        raise ValueError(f"cell {spec.name!r} declares no equations; give its CellSpec in rnnviz/cells.py "
                         f"equations=(...) with a \"{symbol}_t = ...\" line")
    line = spec.equation(symbol)
    if line is None:
        raise ValueError(f"cell {spec.name!r} has no \"{symbol}_t = ...\" line among its equations, "
                         f"so its {what} cannot be shown")
    return to_html(line)


def hidden_equation(spec: CellSpec) -> str:
    """h_t's update as the cell computes it (the variant's own form); the mLSTM's state is its memory C_t."""
    return _line(spec, spec.state_symbol, "hidden state h_t")


def output_equation(spec: CellSpec, residual: bool = True) -> str:
    """What a layer that reads out from its state (LRU, S6, mLSTM) passes on, y_t, rather than h_t itself. In a
    residual block (Mamba's) whose input is not H wide (a first layer fed narrower embeddings) there is no residual:
    `residual=False` gives y_t without its x_t term, as stack.Recurrent.layer_input computes it."""
    line = _line(spec, "y", "output y_t")
    if spec.residual and not residual:
        line = line.replace("x<sub>t</sub> + ", "", 1) + " (no residual: the layer's input is not H wide)"
    return line


def cell_equation(spec: CellSpec) -> str:
    """c_t's update for a cell with a cell state (the LSTM family: f ⊙ c + i ⊙ g with the variant's change)."""
    return _line(spec, "c", "cell state c_t")


def all_equations(spec: CellSpec) -> list[str]:
    """Every line of the cell's update, in the order the step computes them, as HTML."""
    if not spec.equations:
        raise ValueError(f"cell {spec.name!r} declares no equations; give its CellSpec in rnnviz/cells.py equations")
    return [to_html(line) for line in spec.equations]



def gate_glossary(spec: CellSpec) -> list[str]:
    """One HTML line per recorded gate, "<b>f</b>: forget gate: how much of c<sub>t−1</sub> is kept"; a gate the
    spec gives no meaning says so rather than borrowing another cell's."""
    lines = []
    for g in spec.gates:
        try:
            said = to_html(spec.gate_meaning(g))
        except ValueError:
            said = f"the {spec.name} spec does not say what this gate does"
        lines.append(f"<b>{g}</b>: {said}")
    return lines


OUTPUT = "y<sub>t</sub> = W<sub>hy</sub> h<sub>t</sub> + b<sub>y</sub>"
STEP_LOSS = "L<sub>t</sub> = loss(y<sub>t</sub>, target<sub>t</sub>)"
TOTAL_LOSS = "L = mean of the L<sub>t</sub>: the training loss"
LAST_LOSS = "L = loss(y<sub>T−1</sub>, target): only the last output counts"
INPUT = "x<sub>t</sub>: step t's input vector (a token's embedding)"
DECODER_INPUT = "the previous target token y<sub>t−1</sub> (teacher forcing; the start token at t = 0)"
