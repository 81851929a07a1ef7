"""Stacked recurrent layers with torch.nn.RNN/LSTM/GRU's parameter names, run fast or traced.

Not a model (no embedding, no head: see models.py). One set of parameters serves two loops over time:
`forward` takes the fastest exact path (fused.py) for training, and `forward_traced` walks the written-out
step of cells.py, keeping every intermediate it computes on a Tape for trace.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnviz import fused
from rnnviz.cells import CellSpec, LayerWeights, get_spec, step_fn
from rnnviz.linear_cells import init_lru, init_s6, parallel_forward
from rnnviz.xlstm_cells import MLSTM_HEAD, init_mlstm, mlstm_parallel

LRU_LOGS = ("nu_log", "theta_log", "gamma_log")  # the LRU's λ and γ, as the paper parametrises them
EXTRA = {"lru": (*LRU_LOGS, "weight_c"), "s6": ("A_log", "D", "weight_x", "bias_dt")}  # a family's own weights
CONV_EXTRA, BLOCK_EXTRA = ("conv", "conv_bias"), ("norm", "weight_out")  # Mamba's convolution; its residual block
RMS_EPS = 1e-5  # the residual block's RMSNorm, as Mamba's
MAX_HIDDEN = 1024  # beyond this nothing trains or traces interactively on a CPU
MAX_LAYERS = 4
BIDIRECTIONAL_FAMILIES = ("rnn", "lstm", "gru")  # torch.nn's own cells, the ones files bring bidirectional


def extra_names(spec: CellSpec) -> tuple[str, ...]:
    """The names of a layer's own weights beyond W_ih, b_ih, W_hh, b_hh (LayerWeights.extra), in storage order."""
    return EXTRA.get(spec.family, ()) + (CONV_EXTRA if spec.conv else ()) + (BLOCK_EXTRA if spec.residual else ())


@dataclass
class Tape:
    """What a traced forward computed, per layer and step: steps[layer][t] is the step's record
    (h, c, gh, gate.*, preact.*); inputs[layer] the layer's input sequence (B, T, D)."""

    steps: list[list[dict[str, Tensor]]] = field(default_factory=list)
    inputs: list[Tensor] = field(default_factory=list)
    h0: list[Tensor] = field(default_factory=list)
    c0: list[Tensor | None] = field(default_factory=list)
    backward: "Tape | None" = None  # a bidirectional stack's backward direction, in the order it reads (last first)


def check_sizes(arch: str, input_size: int, hidden_size: int, num_layers: int, dropout: float,
                bidirectional: bool = False) -> CellSpec:
    spec = get_spec(arch)
    if bidirectional and spec.family not in BIDIRECTIONAL_FAMILIES:
        raise ValueError(f"{arch} cannot run bidirectional here; a bidirectional stack takes an Elman RNN, an LSTM "
                         "or a GRU")
    if not 1 <= hidden_size <= MAX_HIDDEN:
        raise ValueError(f"hidden size {hidden_size} is out of range; use 1 to {MAX_HIDDEN}")
    if not 1 <= num_layers <= MAX_LAYERS:
        raise ValueError(f"{num_layers} layers is out of range; use 1 to {MAX_LAYERS}")
    if input_size < 1:
        raise ValueError(f"input size {input_size} must be at least 1")
    if spec.family == "lru" and hidden_size % 2:
        raise ValueError(f"the LRU's hidden size {hidden_size} must be even: it holds H/2 complex units as their "
                         "real and imaginary parts")
    if spec.family == "mlstm" and hidden_size % MLSTM_HEAD:
        raise ValueError(f"the mLSTM's hidden size {hidden_size} must be a multiple of {MLSTM_HEAD}: it holds "
                         f"heads of {MLSTM_HEAD} channels")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout {dropout} must be in [0, 1)")
    return spec


class Recurrent(nn.Module):
    """Like torch.nn.LSTM(input_size, hidden_size, num_layers, batch_first=True), for every cell in cells.SPECS.

    Parameters per layer k: weight_ih_lk (G*H, D), weight_hh_lk (G*H, H), bias_ih_lk, bias_hh_lk (G*H,),
    plus peephole_{i,f,o}_lk (H,) for lstm_peephole. For the ESN they are buffers: the reservoir is fixed.
    A cell without W_hh (minGRU, minLSTM: spec.has_w_hh False) has only weight_ih_lk and bias_ih_lk; the LRU adds
    nu_log_lk, theta_log_lk, gamma_log_lk (H/2,) and weight_c_lk (H, H); S6 adds A_log_lk (H, N), D_lk (H,),
    weight_x_lk (H + 2N, H) and bias_dt_lk (H,) (linear_cells.py); S6 in Mamba's block (`mamba`) adds conv_lk (H, 4)
    and conv_bias_lk (H,) (its c carries the convolution's window, 4H), norm_lk (D,) and weight_out_lk (H, H).
    S6's state h is H·N wide (state_size). The
    mLSTM's weight_ih_lk is (4H + 2H/16, D): q, k, v, o, then one input and one forget gate per head of 16
    (CellSpec.block_rows); its h is the memory C (H·16) and its c carries [n, m] (carried_size); the sLSTM's c
    carries [c, n, m] (xlstm_cells.py).

    bidirectional=True (an Elman RNN, LSTM or GRU, as torch.nn's): each layer also has a backward direction,
    weight_ih_lk_reverse etc., that reads the sequence from its end; layer k+1 and the head read both directions
    side by side at each step, [h→_t, h←_t] (2H), and h_n holds (layer 0 →, layer 0 ←, layer 1 →, ...), as torch.
    """

    def __init__(self, arch: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 dropout: float = 0.0, bias: bool = True, leak_rate: float = 1.0, bidirectional: bool = False):
        super().__init__()
        self.spec = check_sizes(arch, input_size, hidden_size, num_layers, dropout, bidirectional)
        if not 0.0 < leak_rate <= 1.0:
            raise ValueError(f"leak rate {leak_rate} must be in (0, 1]")
        self.arch, self.input_size, self.hidden_size = arch, input_size, hidden_size
        self.num_layers, self.dropout, self.bias, self.leak_rate = num_layers, dropout, bias, leak_rate
        self.bidirectional, self.directions = bidirectional, 2 if bidirectional else 1
        G, H, rows = self.spec.num_blocks, hidden_size, self.spec.input_rows(hidden_size)
        fixed = self.spec.family == "esn"
        for k, sfx in [(k, sfx) for k in range(num_layers) for sfx in ("", "_reverse")[:self.directions]]:
            rec = self.spec.has_w_hh
            shapes = {f"weight_ih_l{k}": (rows, input_size if k == 0 else H * self.directions)} | (
                {f"weight_hh_l{k}": (G * H, H)} if rec else {})
            if bias:
                shapes.update({f"bias_ih_l{k}": (rows,)} | ({f"bias_hh_l{k}": (G * H,)} if rec else {}))
            if self.spec.peephole:
                shapes.update({f"peephole_{g}_l{k}": (H,) for g in "ifo"})
            if self.spec.family == "lru":
                shapes.update({f"{n}_l{k}": (H // 2,) for n in LRU_LOGS} | {f"weight_c_l{k}": (H, H)})
            if self.spec.family == "s6":
                N = self.spec.state_per_unit
                shapes.update({f"A_log_l{k}": (H, N), f"D_l{k}": (H,), f"weight_x_l{k}": (H + 2 * N, H),
                               f"bias_dt_l{k}": (H,)})
            if self.spec.conv:
                shapes.update({f"conv_l{k}": (H, self.spec.conv), f"conv_bias_l{k}": (H,)})
            if self.spec.residual:
                shapes.update({f"norm_l{k}": (input_size if k == 0 else H,), f"weight_out_l{k}": (H, H)})
            for name, shape in ((n + sfx, shape) for n, shape in shapes.items()):
                if fixed:
                    self.register_buffer(name, torch.empty(shape))
                else:
                    self.register_parameter(name, nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.RNNBase's default: every weight and bias uniform in ±1/sqrt(H); then the cell's paper's own
        (init_own: the LRU, S6, the mLSTM)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for t in self.weights():
                t.uniform_(-bound, bound)
            for k in range(self.num_layers):
                init_own(self, k)

    def weights(self) -> list[Tensor]:
        """Every recurrent weight, trainable or fixed, in a stable order."""
        return list(self.parameters()) + [b for _, b in self.named_buffers()]

    def layer(self, k: int, reverse: bool = False) -> tuple[Tensor, Tensor | None, LayerWeights]:
        """(weight_ih, bias_ih, LayerWeights) of layer k (its backward direction's with reverse=True)."""
        sfx = "_reverse" if reverse else ""
        if reverse and not self.bidirectional:
            raise ValueError("this stack is not bidirectional: it has no backward direction")
        g = lambda n: getattr(self, f"{n}_l{k}{sfx}", None)  # noqa: E731
        peep = {p: g(f"peephole_{p}") for p in "ifo"} if self.spec.peephole else None
        extra = {n: g(n) for n in extra_names(self.spec)} or None
        return g("weight_ih"), g("bias_ih"), LayerWeights(g("weight_hh"), g("bias_hh"), peep, self.leak_rate, extra)

    @property
    def state_size(self) -> int:
        """Numbers in one layer's h: the hidden size, times S6's N per channel."""
        return self.hidden_size * self.spec.state_per_unit

    @property
    def carried_size(self) -> int:
        """Numbers in one layer's second state (c slot): H per part the cell carries there (0 without one)."""
        return self.hidden_size * len(self.spec.carried)

    def initial_state(self, x: Tensor, state) -> tuple[Tensor, Tensor | None]:
        L, B, H, C = self.num_layers * self.directions, x.shape[0], self.state_size, self.carried_size
        if state is None:
            return x.new_zeros(L, B, H), (x.new_zeros(L, B, C) if C else None)
        h0, c0 = state if isinstance(state, tuple) else (state, None)
        if h0.shape != (L, B, H):
            raise ValueError(f"initial state has shape {tuple(h0.shape)}; expected {(L, B, H)}")
        if C and c0 is None:
            c0 = x.new_zeros(L, B, C)
        if C and c0.shape != (L, B, C):
            raise ValueError(f"initial cell state has shape {tuple(c0.shape)}; expected {(L, B, C)}")
        return h0, c0

    def check_input(self, x: Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"input has shape {tuple(x.shape)}; expected (batch, time, {self.input_size})")

    def forward(self, x: Tensor, state=None, scan: bool = True):
        """Fast path. x (B, T, D) -> out (B, T, H), (h_n (L, B, state_size), c_n (L, B, carried_size)) (c_n None
        without a c slot: an LSTM's is (L, B, H), the sLSTM's [c, n, m] 3H wide, the mLSTM's h_n its memory H·16).
        scan=False runs the step loop even where the cell has a parallel form (to compare the two)."""
        self.check_input(x)
        h0, c0 = self.initial_state(x, state)
        spec = self.spec
        if self.bidirectional:
            return self._both_ways(x, h0, c0, None)
        if spec.torch_equivalent and (spec.family != "gru" or x.is_cuda):
            out, h_n, c_n = fused.torch_kernel(spec.family, spec.nonlinearity, x, h0, c0, _torch_order(self),
                                               self.bias, self.num_layers, self.dropout, self.training)
            return out, (h_n, c_n)
        hs, cs = [], []
        for k in range(self.num_layers):
            if k > 0:
                x = F.dropout(x, self.dropout, self.training)
            w_ih, b_ih, w = self.layer(k)
            if spec.parallel and scan:  # linear in h: every step at once, equal to the step loop
                gx = self.layer_input(k, x)
                if spec.family == "mlstm":
                    x, h, c = mlstm_parallel(gx, h0[k], c0[k], w, spec)
                else:
                    x, h, c = parallel_forward(gx, h0[k], None if c0 is None else c0[k], w, spec)
                hs.append(h)
                cs.append(c)
                continue
            if spec.family == "gru" and not spec.reset_before:  # the hand-written BPTT is torch's GRU
                x = fused.gru_layer(x, h0[k], w_ih, w.weight_hh, b_ih, w.bias_hh)
                hs.append(x[:, -1])
                continue
            x, h, c = self._loop(x, h0[k], None if c0 is None else c0[k], k, w, None)
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs) if spec.carried else None)

    def forward_traced(self, x: Tensor, state=None, tape: Tape | None = None):
        """The written-out loop, layer by layer, keeping every step's record on `tape` (eval: no dropout)."""
        self.check_input(x)
        h0, c0 = self.initial_state(x, state)
        tape = tape if tape is not None else Tape()
        if self.bidirectional:
            out, state = self._both_ways(x, h0, c0, tape)
            return out, state, tape
        hs, cs = [], []
        for k in range(self.num_layers):
            w = self.layer(k)[2]
            steps: list[dict[str, Tensor]] = []
            tape.inputs.append(x)
            h_init = h0[k].detach().requires_grad_()  # a leaf, so dL/dh_0 exists even for a fixed reservoir
            c_init = None if c0 is None else c0[k].detach().requires_grad_()
            tape.h0.append(h_init)
            tape.c0.append(c_init)
            x, h, c = self._loop(x, h_init, c_init, k, w, steps)
            tape.steps.append(steps)
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs) if self.spec.carried else None), tape

    def step(self, x_t: Tensor, h: list[Tensor], c: list, tape: Tape | None = None):
        """One time step through every layer (for decoders that feed back): x_t (B, D), h and c lists of one
        (B, state_size) and one (B, carried_size) per layer (c entries None without a c slot) -> (top output (B, H),
        new h, new c)."""
        if self.bidirectional:
            raise ValueError("a bidirectional stack reads the whole sequence from both ends, so it cannot be run "
                             "one step at a time")
        step, spec = step_fn(self.spec), self.spec
        h, c = list(h), list(c)
        for k in range(self.num_layers):
            w = self.layer(k)[2]
            if tape is not None and len(tape.steps) <= k:
                tape.steps.append([])
                tape.h0.append(h[k])
                tape.c0.append(c[k])
            h[k], c[k], rec = step(self.layer_input(k, x_t), h[k], c[k], w, spec)
            if tape is not None:
                rec["h"] = h[k]
                tape.steps[k].append(rec)
            y = rec.get("y", h[k])  # what the layer outputs: its state, or its readout of it (LRU, S6's block)
            x_t = y if k == self.num_layers - 1 else F.dropout(y, self.dropout, self.training)
        return x_t, h, c

    def layer_input(self, k: int, x: Tensor, reverse: bool = False) -> Tensor:
        """What layer k's step reads at each time step, from the layer's input x (.., D): gx = W_ih x + b_ih, every
        step's input projection in one matmul. In a residual block (spec.residual, Mamba's) W_ih reads RMSNorm(x)
        and x itself follows, for the step's residual connection (zeros where x is not H wide)."""
        w_ih, b_ih, w = self.layer(k, reverse)
        if not self.spec.residual:
            return F.linear(x, w_ih, b_ih)
        gx = F.linear(F.rms_norm(x, x.shape[-1:], w.extra["norm"], RMS_EPS), w_ih, b_ih)
        return torch.cat([gx, x if x.shape[-1] == self.hidden_size else torch.zeros_like(gx[..., :self.hidden_size])],
                         -1)

    def _both_ways(self, x: Tensor, h0: Tensor, c0: Tensor | None, tape: Tape | None):
        """A bidirectional stack, layer by layer: the forward direction reads x_0..x_{T−1}, the backward one
        x_{T−1}..x_0 (its own weights, its own loop over the flipped sequence), and the next layer reads both at
        each step, [h→_t, h←_t]. With a tape, the backward direction's records go on tape.backward in the order it
        reads (its step s is the sequence's position T−1−s), so every per-step analysis reads it as a recurrence."""
        back = None if tape is None else Tape()
        if tape is not None:
            tape.backward = back
        hs, cs = [], []
        for k in range(self.num_layers):
            if k > 0:
                x = F.dropout(x, self.dropout, self.training)
            outs = []
            for d, (t, xd) in enumerate(((tape, x), (back, x.flip(1)))):
                h_init = h0[2 * k + d]
                c_init = None if c0 is None else c0[2 * k + d]
                steps = None
                if t is not None:
                    h_init = h_init.detach().requires_grad_()
                    c_init = None if c_init is None else c_init.detach().requires_grad_()
                    t.inputs.append(xd)
                    t.h0.append(h_init)
                    t.c0.append(c_init)
                    steps = []
                y, h, c = self._loop(xd, h_init, c_init, k, self.layer(k, bool(d))[2], steps, reverse=bool(d))
                if t is not None:
                    t.steps.append(steps)
                outs.append(y if d == 0 else y.flip(1))
                hs.append(h)
                cs.append(c)
            x = torch.cat(outs, -1)
        return x, (torch.stack(hs), torch.stack(cs) if self.spec.carried else None)

    def _loop(self, x, h, c, k: int, w: LayerWeights, steps: list | None, reverse: bool = False):
        """Layer k over time with cells.py's step; `steps` (if given) receives each step's record. reverse: the
        backward direction's weights (x is then already flipped: this loop always runs forward over it)."""
        gx = self.layer_input(k, x, reverse)  # (B, T, ·)
        step, spec = step_fn(self.spec), self.spec
        outs = []
        for gx_t in gx.unbind(1):  # not gx[:, t]: each slice's backward would fill a whole (B, T, G*H) zero tensor
            h, c, rec = step(gx_t, h, c, w, spec)
            if steps is not None:
                rec["h"] = h
                steps.append(rec)
            outs.append(rec.get("y", h))
        return torch.stack(outs, 1), h, c

    def extra_repr(self) -> str:
        both = ", bidirectional=True" if self.bidirectional else ""
        return f"{self.arch}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}{both}"


OWN_INIT = ("lru", "s6", "mlstm")  # families initialised as their papers do (the sLSTM: see init_mlstm)


@torch.no_grad()
def init_own(rnn: Recurrent, k: int, generator: torch.Generator | None = None) -> None:
    """Layer k as its cell's paper initialises it, over torch's uniform default: the LRU's ring and S6's S4D-real A
    (linear_cells.py), the mLSTM's gates (xlstm_cells.py); nothing for the other cells."""
    if rnn.spec.family not in OWN_INIT:
        return
    w_ih, b_ih, w = rnn.layer(k)
    if rnn.spec.family == "mlstm":
        init_mlstm(rnn.spec, rnn.hidden_size, w_ih, b_ih, generator)
        return
    (init_lru if rnn.spec.family == "lru" else init_s6)(w.extra, w_ih, generator=generator)
    if b_ih is not None:
        b_ih.zero_()


def _torch_order(rec: Recurrent) -> list[Tensor]:
    """torch's _flat_weights order: per layer w_ih, w_hh, b_ih, b_hh."""
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if rec.bias else [])  # only cells with W_hh
    return [getattr(rec, f"{n}_l{k}") for k in range(rec.num_layers) for n in names]
