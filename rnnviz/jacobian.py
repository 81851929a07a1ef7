"""Jacobian norms ||∂h_{T-1}/∂h_t|| of one recurrent layer, for every t, from one batched backward pass.

Not the trace itself (trace.py calls this). The layer is re-run on one sample with its input held fixed,
so the Jacobian is the recurrence's own: every path from h_t to h_{T-1} through later h and c, none
through other layers. Cost grows with H cotangents x T steps, so both are bounded (and said in meta):
exact (one-hot cotangents) up to EXACT_MAX_HIDDEN units, else an unbiased estimate of the Frobenius norm
from PROJECTIONS Gaussian cotangents (E||J^T v||² = ||J||_F²); at most MAX_POINTS steps get a value,
the rest are NaN.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnviz.cells import step_fn
from rnnviz.stack import Recurrent, Tape

EXACT_MAX_HIDDEN = 64
PROJECTIONS = 32
MAX_POINTS = 256


def jacobian_norms(rnn: Recurrent, tape: Tape, layer: int, sample: int = 0) -> tuple[Tensor, str]:
    """(norms (T,), method) with norms[t] = ||∂h_{T-1}/∂h_t||_F; norms[T-1] = ||I||_F = sqrt(H)."""
    w = rnn.layer(layer)[2]
    step, spec = step_fn(rnn.spec), rnn.spec
    H = rnn.state_size  # the hidden size, or S6's H·N
    exact = H <= EXACT_MAX_HIDDEN
    gen = torch.Generator(device="cpu").manual_seed(0)
    cot = torch.eye(H) if exact else torch.randn(PROJECTIONS, H, generator=gen)  # (K, H)
    K = cot.shape[0]
    # the sample replicated K times: one ordinary backward then carries all K cotangents at once
    with torch.no_grad():
        gx = rnn.layer_input(layer, tape.inputs[layer][sample:sample + 1]).expand(K, -1, -1)  # (K, T, ·)
    h = tape.h0[layer][sample:sample + 1].detach().expand(K, -1).clone()
    c = None if tape.c0[layer] is None else tape.c0[layer][sample:sample + 1].detach().expand(K, -1)
    T = gx.shape[1]
    norms = torch.full((T,), float("nan"))
    norms[T - 1] = H ** 0.5
    points = _points(T - 1)
    with torch.enable_grad():
        h.requires_grad_()
        hs = []
        for t in range(T):
            h, c, _ = step(gx[:, t], h, c, w, spec)
            hs.append(h)
        if points:
            grads = torch.autograd.grad(hs[-1], [hs[t] for t in points], cot.to(gx), allow_unused=True)
            for t, g in zip(points, grads):
                sq = 0.0 if g is None else float(g.double().pow(2).sum())
                norms[t] = (sq if exact else sq / K) ** 0.5
    method = "exact" if exact else f"estimate from {PROJECTIONS} random projections"
    return norms, method


def _points(n: int) -> list[int]:
    """Steps 0..n-1, thinned evenly to MAX_POINTS, always keeping the latest ones."""
    if n <= MAX_POINTS:
        return list(range(n))
    idx = torch.linspace(0, n - 1, MAX_POINTS).round().long().unique()
    return idx.tolist()
