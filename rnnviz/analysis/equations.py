"""The equation of each node of the unrolled graph, written for the actual cell (variants included), as
hover text; no numbers, no figures. The forms follow cells.py's docstrings.
"""
from __future__ import annotations

from rnnviz.cells import CellSpec


def hidden_equation(spec: CellSpec) -> str:
    if spec.family == "rnn":
        return f"h<sub>t</sub> = {'tanh' if spec.nonlinearity == 'tanh' else 'relu'}" \
               "(W<sub>xh</sub> x<sub>t</sub> + W<sub>hh</sub> h<sub>t−1</sub> + b)"
    if spec.family == "esn":
        return ("h<sub>t</sub> = (1 − α) h<sub>t−1</sub> + "
                "α tanh(W<sub>in</sub> x<sub>t</sub> + W h<sub>t−1</sub> + b)")
    if spec.family == "gru":
        return "h<sub>t</sub> = (1 − z<sub>t</sub>) ⊙ n<sub>t</sub> + z<sub>t</sub> ⊙ h<sub>t−1</sub>"
    inner = "tanh(c<sub>t</sub>)" if spec.output_act else "c<sub>t</sub>"
    return f"h<sub>t</sub> = o<sub>t</sub> ⊙ {inner}" if "o" in spec.blocks else f"h<sub>t</sub> = {inner}"


def cell_equation(spec: CellSpec) -> str:
    """c_t's update for the LSTM family: f ⊙ c + i ⊙ g, with the variant's missing or coupled gate."""
    if spec.coupled:
        keep = "(1 − i<sub>t</sub>) ⊙ c<sub>t−1</sub>"
    elif "f" in spec.blocks:
        keep = "f<sub>t</sub> ⊙ c<sub>t−1</sub>"
    else:
        keep = "c<sub>t−1</sub>"
    write = "i<sub>t</sub> ⊙ g<sub>t</sub>" if "i" in spec.blocks else "g<sub>t</sub>"
    return f"c<sub>t</sub> = {keep} + {write}"


OUTPUT = "y<sub>t</sub> = W<sub>hy</sub> h<sub>t</sub> + b<sub>y</sub>"
STEP_LOSS = "L<sub>t</sub> = loss(y<sub>t</sub>, target<sub>t</sub>)"
TOTAL_LOSS = "L = mean of the L<sub>t</sub>: the training loss"
LAST_LOSS = "L = loss(y<sub>T−1</sub>, target): only the last output counts"
INPUT = "x<sub>t</sub>: step t's input vector (a token's embedding)"
DECODER_INPUT = "the previous target token y<sub>t−1</sub> (teacher forcing; the start token at t = 0)"
