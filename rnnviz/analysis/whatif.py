"""What-if edits for the gradient-flow page: each returns an edited deep copy of a model and never touches
the original, so "before" and "after" can be probed side by side. Not training, not figures.

Exactly what each edit does (stack None edits every recurrent stack: both halves of an encoder-decoder;
layer None edits every layer):
  scaled_recurrent   W_hh <- factor · W_hh (every gate block), so every block's spectral radius scales by
                     |factor|; biases and input weights untouched. Refused for a cell without W_hh.
  with_forget_bias   the forget gate's total bias b_if + b_hf <- value (init.set_forget_bias): LSTM family
                     with its own f weights only (not GRU, NFG or CIFG, whose f is 1 or 1 - i).
  with_forget_clamped  f_t = 1 at every step for every input, without a new cell type: the f rows of W_ih
                     and W_hh (and the peephole p_f) become 0 and b_if + b_hf = FORGET_CLAMP_BIAS, so
                     cells.lstm_step computes f = σ(30) = 1 - 9e-14, which is 1.0 exactly in float32 (and its
                     gradient f(1 - f) is 0). This is the NFG variant's f_t = 1 (Greff et al. 2015) in an
                     ordinary LSTM's weights, so it saves, loads and trains like one. Refused for minLSTM,
                     whose normalised f′ = f / (f + i) would still be below 1 (can_clamp_forget).
  scaled_lambda      the LRU's |λ| <- factor · |λ| (kept in (0, 1)), phases and the rest unchanged.
  with_update_held   minGRU's z_t = value at every step (z rows of W_ih 0, b_z = logit(value)): a fixed leak.
  ablated            unit u of one layer is silenced: row u of every gate block of W_ih, W_hh, b_ih, b_hh
                     (and u's peepholes) becomes 0, so every pre-activation of u is 0 and, from a zero
                     initial state, h_u = c_u = 0 at every step in every cell (tanh/relu(0) = 0; LSTM
                     c = f·c + i·tanh(0) = 0; GRU n = tanh(0 + r·0) = 0 and h = z·h_{t-1} = 0; ESN likewise;
                     minGRU and minLSTM n = 0, so h = a·h_{t-1} = 0). The LRU's state unit u is the real or
                     imaginary part of complex unit j = u mod H/2: B_j's rows (both parts) and column j of C
                     (both parts) become 0, so both halves of h_j stay 0; D, which reads x_t, is left alone.
                     S6's unit u is channel u: its u and z rows become 0, so u_t[u] = SiLU(0) = 0 feeds its
                     N state numbers nothing (they stay 0) and y_t[u] = (0 + D·0) ⊙ SiLU(0) = 0. In Mamba's
                     block its convolution's row u and bias become 0 too, so u_t[u] = SiLU(0) still; the layer
                     then outputs x_t + W_out y_t with y_t[u] = 0 (the residual path is left alone).
                     The mLSTM's unit u is value channel u: its v row becomes 0, so v_t[u] = 0 writes nothing
                     into row u of its head's C, which stays 0, and y_t[u] = o_t[u] · (C_t q_t)[u] / · = 0.
                     sLSTM: g = tanh(0) = 0, so c_u = f′·c_u + i′·0 = 0 and h_u = o·0 / n_u = 0 (n_u ≥ 1).
                     Column u of W_hh becomes 0 too, so the weights show that u feeds no other unit.
                     Readers of h_u (the next layer, the head, attention) are left alone: they multiply 0.
                     An encoder-decoder's decoder starts from the encoder's state, so ablate both (stack=None).
"""
from __future__ import annotations

import copy
import math
from typing import Callable

import torch
from torch import Tensor, nn

from rnnviz.analysis.traces import check_index
from rnnviz.init import set_forget_bias
from rnnviz.model_stacks import recurrent_stacks, stack_of
from rnnviz.stack import Recurrent
from rnnviz.trace import Trace, probe

FORGET_CLAMP_BIAS = 30.0  # σ(30) = 1 - 9.4e-14: rounds to exactly 1.0 in float32


def _targets(model: nn.Module, stack: str | None, layer: int | None) -> list[tuple[Recurrent, int]]:
    """(stack, layer) pairs an edit applies to; stack is a prefix ("", "enc.", "dec.") or None for every stack."""
    stacks = recurrent_stacks(model) if stack is None else {stack: stack_of(model, stack)}
    out = []
    for rnn in stacks.values():
        layers = range(rnn.num_layers) if layer is None else [check_index("layer", layer, rnn.num_layers)]
        out.extend((rnn, k) for k in layers)
    return out


def _gate_rows(rnn: Recurrent, gate: str) -> slice:
    return rnn.spec.block_rows(gate, rnn.hidden_size)


def _need_forget_weights(model: nn.Module) -> None:
    spec = model.spec
    if "f" not in spec.blocks:
        raise ValueError(f"{spec.name} has no forget-gate weights of its own; choose an LSTM with a forget gate "
                         f"(lstm, lstm_peephole, lstm_nig, lstm_nog, lstm_niaf or lstm_noaf)")


@torch.no_grad()
def scaled_recurrent(model: nn.Module, factor: float, layer: int | None = None,
                     stack: str | None = None) -> nn.Module:
    """A copy with every W_hh block multiplied by `factor` (a copy, the input model is untouched)."""
    if not math.isfinite(factor):
        raise ValueError(f"scale factor {factor} must be a finite number, e.g. 0.5 or 2")
    out = copy.deepcopy(model)
    for rnn, k in _targets(out, stack, layer):
        if not rnn.spec.has_w_hh:
            raise ValueError(f"{rnn.spec.name} has no W_hh to scale; its recurrence is diagonal")
        rnn.layer(k)[2].weight_hh.mul_(factor)
    return out


@torch.no_grad()
def with_forget_bias(model: nn.Module, value: float, layer: int | None = None,
                     stack: str | None = None) -> nn.Module:
    """A copy whose forget-gate total bias b_if + b_hf is `value` (e.g. 1, as Jozefowicz et al. 2015 advise)."""
    _need_forget_weights(model)
    if not math.isfinite(value):
        raise ValueError(f"forget-gate bias {value} must be a finite number, e.g. 1")
    out = copy.deepcopy(model)
    for rnn, k in _targets(out, stack, layer):
        set_forget_bias(rnn, k, value)
    return out


@torch.no_grad()
def with_forget_clamped(model: nn.Module, layer: int | None = None, stack: str | None = None) -> nn.Module:
    """A copy whose forget gate is exactly 1 at every step (see the module docstring for how)."""
    _need_forget_weights(model)
    if not model.cfg.bias:
        raise ValueError("this model has no biases (bias=False), so its forget gate cannot be held at 1")
    if not can_clamp_forget(model.spec):
        raise ValueError(f"{model.spec.name}'s forget gate is normalised, f′ = f / (f + i), so holding f at 1 does "
                         "not keep h_(t−1); set its bias instead")
    out = copy.deepcopy(model)
    for rnn, k in _targets(out, stack, layer):
        w_ih, b_ih, w = rnn.layer(k)
        rows = _gate_rows(rnn, "f")
        w_ih[rows] = 0.0
        if w.weight_hh is not None:
            w.weight_hh[rows] = 0.0
        if w.peephole is not None:
            w.peephole["f"].zero_()
        set_forget_bias(rnn, k, FORGET_CLAMP_BIAS)
    return out


def can_clamp_forget(spec) -> bool:
    """Whether f = 1 keeps the old state: a forget gate used as it is (not minLSTM's normalised one)."""
    return "f" in spec.blocks and spec.family != "min"


@torch.no_grad()
def scaled_lambda(model: nn.Module, factor: float, layer: int | None = None, stack: str | None = None) -> nn.Module:
    """A copy whose LRU λ have their radius |λ| multiplied by `factor` (kept inside (0, 1) as the LRU's
    parametrisation requires), their phase and everything else unchanged: ν ← log(−log(factor · |λ|))."""
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"scale factor {factor} must be a positive number, e.g. 0.9 or 1.05")
    out = copy.deepcopy(model)
    for rnn, k in _targets(out, stack, layer):
        if rnn.spec.family != "lru":
            raise ValueError(f"{rnn.spec.name} has no λ to scale; this edit is the LRU's")
        nu_log = rnn.layer(k)[2].extra["nu_log"]
        r = (torch.exp(-torch.exp(nu_log.double())) * factor).clamp(1e-6, 1 - 1e-6)
        nu_log.copy_(torch.log(-torch.log(r)))
    return out


@torch.no_grad()
def with_update_held(model: nn.Module, value: float, layer: int | None = None, stack: str | None = None) -> nn.Module:
    """A copy of a minGRU whose update gate z_t is `value` at every step, whatever the input: the z rows of W_ih
    become 0 and b_z = logit(value), so h_t = (1 − value) h_(t−1) + value n_t, a fixed leak."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"the update gate can be held at a value in (0, 1), not {value}")
    if model.spec.name != "mingru":
        raise ValueError(f"{model.spec.name} has no minGRU update gate to hold")
    if not model.cfg.bias:
        raise ValueError("this model has no biases (bias=False), so its update gate cannot be held")
    out = copy.deepcopy(model)
    for rnn, k in _targets(out, stack, layer):
        w_ih, b_ih, _ = rnn.layer(k)
        rows = _gate_rows(rnn, "z")
        w_ih[rows] = 0.0
        b_ih[rows] = math.log(value / (1 - value))
    return out


@torch.no_grad()
def ablated(model: nn.Module, unit: int, layer: int = 0, stack: str | None = None) -> nn.Module:
    """A copy in which `unit` of `layer` stays exactly 0 (see the module docstring for exactly what changes)."""
    out = copy.deepcopy(model)
    for rnn, k in _targets(out, stack, layer):
        u = check_index("unit", unit, rnn.hidden_size)
        w_ih, b_ih, w = rnn.layer(k)
        H = rnn.hidden_size
        rows = [rnn.spec.block_rows(b, H).start + u for b in rnn.spec.blocks]
        if rnn.spec.family == "mlstm":  # u is value channel u: v_t[u] = 0 writes nothing into row u of C
            rows = [rnn.spec.block_rows("v", H).start + u]
        if rnn.spec.family == "lru":  # u is Re or Im of complex unit j: its drive B_j x_t is silenced, both parts
            j = u % (H // 2)
            rows, u = [j, j + H // 2], [j, j + H // 2]
            w.extra["weight_c"][:, u] = 0.0
        tensors: list[Tensor | None] = [w_ih, w.weight_hh, b_ih, w.bias_hh]
        for t in tensors:
            if t is not None:
                t[rows] = 0.0
        if w.weight_hh is not None:
            w.weight_hh[:, u] = 0.0
        for p in (w.peephole or {}).values():
            p[u] = 0.0
        for name in ("conv", "conv_bias"):  # Mamba's convolution would otherwise feed channel u its bias
            if name in (w.extra or {}):
                w.extra[name][u] = 0.0
    return out


def probe_pair(model: nn.Module, edit: Callable[[nn.Module], nn.Module], x: Tensor, y: Tensor | None = None,
               loss_fn=None) -> tuple[Trace, Trace]:
    """(trace of model, trace of edit(model)) on the same input: the before and after of a what-if."""
    return probe(model, x, y, loss_fn), probe(edit(model), x, y, loss_fn)
