"""Truncated backpropagation through time, TBPTT(k1, k2) of Williams & Peng (1990); not the optimiser.

Every k1 steps the loss of those k1 steps is backpropagated k2 steps (k2 a multiple of k1), from a state
detached at the window's start; the gradients of all windows add up into one update per batch. With
k1 = k2 = T it is ordinary BPTT. Windows are exact: states at window starts come from one no-grad pass.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def check_tbptt(model: nn.Module, k1: int, k2: int, seq_len: int | None = None) -> None:
    if getattr(model.cfg, "seq2seq", False):
        raise ValueError("truncated BPTT needs a model that reads one sequence step by step; "
                         "an encoder-decoder trains with full BPTT (set tbptt to 0)")
    if k1 < 1:
        raise ValueError(f"truncated BPTT window {k1} must be at least 1 step")
    if k2 and k2 % k1:
        raise ValueError(f"TBPTT reach k2={k2} must be a multiple of the window k1={k1}")


def tbptt_backward(model: nn.Module, x: Tensor, y: Tensor, loss_fn, k1: int, k2: int = 0,
                   last_only: bool = False) -> tuple[Tensor, Tensor]:
    """Accumulates TBPTT(k1, k2) gradients into .grad; returns the full-sequence loss and output (detached).

    loss_fn(output (B, T, O), y) -> scalar, as for full BPTT: each window's backward sees the full output
    with only its own k1 steps attached to the graph, so a mean over steps keeps its normalisation.
    last_only: the loss reads only the final step (many-to-one), so only the last window carries gradient.
    """
    k2 = k2 or k1
    check_tbptt(model, k1, k2)
    T = x.shape[1]
    starts = list(range(0, T, k1))
    states = {}
    with torch.no_grad():
        state, outs = None, []
        for a in starts:
            states[a] = state
            out, state = model(x[:, a:a + k1], state=state)
            outs.append(out)
        full = torch.cat(outs, 1)
    for a in starts:
        e = min(a + k1, T)
        if last_only and e < T:
            continue
        s = max(0, a - (k2 - k1))  # a window boundary, k2 steps before the window's nominal end
        start_state = _detach(states[s])
        out_w, _ = model(x[:, s:e], state=start_state)
        attached = full.clone()
        attached[:, a:e] = out_w[:, a - s:]
        loss_fn(attached, y).backward()
    return loss_fn(full, y).detach(), full


def _detach(state):
    if state is None:
        return None
    h, c = state
    return h.detach(), (c.detach() if c is not None else None)
