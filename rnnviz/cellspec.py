"""What a cell is, as the views and loops need it: CellSpec, the step Jacobian's forms, a layer's weights.

Not the recurrences themselves (cells.py and linear_cells.py write those out, one step each, and list every
cell's spec in cells.SPECS). Kept apart so both cell modules can build specs without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from torch import Tensor


TRANSITIONS = {  # spec.transition -> the step Jacobian ∂h_t/∂h_{t−1} that backpropagation multiplies by
    "elman": "diag(φ′(a_t)) W_hh: one fixed matrix per step, so ρ(W_hh)^lag sets the gradient's rate",
    "leaky": "(1 − α) I + α diag(tanh′(a_t)) W_hh: the leak keeps part of h_{t−1}, so for α < 1 the rate "
             "lies nearer 1 than ρ(W_hh)",
    "gated": "a sum of paths whose factors are the gates at each step: no single matrix sets the rate",
    "diagonal": "diag(a_t): each unit keeps the fraction a_t of itself that the input sets, no W_hh matrix",
    "rotation": "a 2×2 turn-and-shrink per complex unit: [[Re λ, −Im λ], [Im λ, Re λ]] on [Re h, Im h] turns by "
                "arg λ and shrinks by |λ|, no W_hh matrix",
}
RHO_TRANSITIONS = ("elman", "leaky")  # diag(φ′) W_hh-like transitions, where a ρ(W_hh)^lag line means something


@dataclass(frozen=True)
class CellSpec:
    """What a cell is and what the views need to show it; tuples throughout, so a spec can be a dict key.
    Equations and gate meanings are plain text in the step docstrings' notation (h_{t−1}, ⊙, σ), with the
    unrolled graph's matrix names (W_xh, W_hh); analysis/equations.py turns them into HTML."""

    name: str
    family: str  # "rnn" | "lstm" | "gru" | "esn" | "min" | "lru" | "s6" | "slstm" | "mlstm": how the step is computed
    blocks: tuple[str, ...]  # row blocks of W_ih / W_hh, in storage order
    gates: tuple[str, ...]  # gate activations the trace records (may include derived ones)
    torch_equivalent: str | None  # the torch.nn module with the same numerics, if any
    has_cell: bool = False  # has a cell state c_t besides h_t, which the views show
    peephole: bool = False  # Gers & Schmidhuber (2000) peepholes p ⊙ c
    input_act: bool = True  # g_t = tanh(a_g); False: g_t = a_g (NIAF)
    output_act: bool = True  # h_t = o_t ⊙ tanh(c_t); False: h_t = o_t ⊙ c_t (NOAF)
    coupled: bool = False  # CIFG: f_t = 1 - i_t
    nonlinearity: str = "tanh"  # rnn family: "tanh" or "relu"
    summary: str = ""
    equations: tuple[str, ...] = ()  # the update, one line per quantity ("h_t = ..."), as the step computes it
    gate_meanings: tuple[tuple[str, str], ...] = ()  # (gate, "name: what it does"), for every gate recorded
    has_w_hh: bool = True  # False for a recurrence without a W_hh matrix (a diagonal one: minGRU, LRU)
    parallel: str = ""  # the fast path's whole-sequence form, where the recurrence has one ("associative scan")
    carry: str = ""  # without W_hh: what multiplies h_{t−1} on the unrolled graph's recurrent edge ("a_t ⊙")
    state_per_unit: int = 1  # state numbers per unit of hidden size: S6 keeps N per channel (its h is H·N wide)
    reads_out: bool = False  # the layer outputs y_t read from its state (LRU, S6, mLSTM), not the state h_t itself
    carried: tuple[str, ...] = ()  # what the step's second state (its c slot) packs, each H wide: LSTM ("c",);
    # sLSTM ("c", "n", "m"): its cell, normaliser and stabiliser; each part is also recorded under its name
    state_symbol: str = "h"  # what the step's first state (h slot) is: the mLSTM's is its memory C_t
    head_blocks: tuple[str, ...] = ()  # blocks with one row per head of state_per_unit channels (mLSTM's i, f)
    transition: str = ""  # a key of TRANSITIONS: how ∂h_t/∂h_{t−1} is formed
    memory_gate: str = ""  # the gate that, near 1, keeps the old state (LSTM f, GRU z); "" if none
    reset_before: bool = False  # GRU family: r_t applied to h_{t−1} before W_hn (Cho et al. 2014; Keras
    # reset_after=False; ONNX linear_before_reset=0), not after it as torch.nn.GRU does
    conv: int = 0  # > 0: a causal depthwise convolution of this width over u_t before the recurrence (Mamba's);
    # the c slot then carries its window, the last `conv` values of u_t before it (carried names them)
    residual: bool = False  # the layer is a pre-norm residual block (Mamba's): x̂_t = RMSNorm(x_t) feeds W_ih, and the
    # layer outputs x_t + W_out y_t (x_t where it is H wide, else W_out y_t alone); Recurrent.layer_input adds x_t
    # to the step's input gx after the input projection, so the step computes the whole block

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    def block_width(self, block: str, hidden: int) -> int:
        """Rows of W_ih that one block takes: the hidden size, or one per head for a head block."""
        return hidden // self.state_per_unit if block in self.head_blocks else hidden

    def block_rows(self, block: str, hidden: int) -> slice:
        """The rows of W_ih (and b_ih, W_hh, b_hh) that hold one block, e.g. the forget gate's."""
        start = sum(self.block_width(b, hidden) for b in self.blocks[:self.blocks.index(block)])
        return slice(start, start + self.block_width(block, hidden))

    def input_rows(self, hidden: int) -> int:
        """Rows of W_ih: G·H, less for a cell with head blocks."""
        return sum(self.block_width(b, hidden) for b in self.blocks)

    @property
    def rescaled_cell(self) -> bool:
        """True where the cell state is stored divided by exp(m_t), its stabiliser (the sLSTM): a view of c_t then
        shows that stored number, and says so."""
        return self.has_cell and "m" in self.carried

    @property
    def rho_sets_rate(self) -> bool:
        """True where ∂h_t/∂h_{t−1} is diag(φ′) W_hh-like, so ρ(W_hh)^lag is the rate to compare with."""
        return self.has_w_hh and self.transition in RHO_TRANSITIONS

    def gate_meaning(self, gate: str) -> str:
        """The spec's words for one of its gates, e.g. "forget gate: how much of c_{t−1} is kept"."""
        for g, meaning in self.gate_meanings:
            if g == gate:
                return meaning
        raise ValueError(f"{self.name} declares no meaning for gate {gate!r}; it has {', '.join(self.gates) or 'none'}")

    def gate_label(self, gate: str) -> str:
        """The gate's short name with its symbol, "forget gate f": the meaning's words before the colon."""
        return f"{self.gate_meaning(gate).split(':')[0]} {gate}"

    def equation(self, symbol: str) -> str | None:
        """The line that defines `symbol` ("h" -> "h_t = ..."), or None if the spec has none."""
        return next((e for e in self.equations if e.startswith(f"{symbol}_t =")), None)


class LayerWeights(NamedTuple):
    """One layer's recurrent weights as a step needs them."""

    weight_hh: Tensor | None  # (G*H, H); None for a cell without W_hh (spec.has_w_hh False)
    bias_hh: Tensor | None  # (G*H,)
    peephole: dict[str, Tensor] | None = None  # gate -> (H,)
    leak_rate: float = 1.0  # ESN only
    extra: dict[str, Tensor] | None = None  # a cell's own recurrent parameters (the LRU's nu_log, theta_log, ...)
