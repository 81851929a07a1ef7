"""The parallel form of a linear recurrence h_t = a_t ⊙ h_{t−1} + b_t: every step at once, not a loop over time.

Not a cell (linear_cells.py writes each recurrence out one step at a time, the form the trace records, and
says how its a_t and b_t come from the input); this computes the same h_1..h_T in a few whole-sequence tensor
operations, which is why recurrences whose gates read only x_t train in parallel (Martin & Cundy 2018).

Heinsen (2023)'s log-space scan, as "Were RNNs All We Needed?" (Feng et al. 2024) uses it for minGRU/minLSTM.
Unrolled, with A_t = Σ_{s≤t} log a_s (A_0 = 0) and b_0 = h_0:

    h_t = Σ_{s=0..t} exp(A_t − A_s) b_s = exp(A_t) · Σ_{s=0..t} exp(log b_s − A_s)

and the sum is a logcumsumexp, so no product of many a_s (which underflows) is ever formed. The paper keeps
b positive (its g(x) on h̃); here b is any sign: its positive and negative parts are summed apart and
subtracted, so the cell's equations stay those of its step. a_t must lie in (0, 1], given as log a_t.

In float32 the error grows with |A_t| (an exp of a difference of large numbers), so the scan runs over
CHUNK steps at a time, each chunk starting from the last one's h: ⌈T / CHUNK⌉ sequential steps, each
parallel over its CHUNK time steps. float32 then stays within about 1e-4 (relative) of the step loop at any
length; float64 within 1e-12.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


CHUNK = 128


def log_scan(log_a: Tensor, b: Tensor, h0: Tensor, chunk: int = CHUNK) -> Tensor:
    """h (B, T, H) with h_t = a_t ⊙ h_{t−1} + b_t, from log_a (B, T, H) ≤ 0, b (B, T, H) and h0 (B, H)."""
    if log_a.shape != b.shape or log_a.dim() != 3 or h0.shape != (b.shape[0], b.shape[2]):
        raise ValueError(f"log_a {tuple(log_a.shape)}, b {tuple(b.shape)} and h0 {tuple(h0.shape)} do not fit "
                         "(B, T, H), (B, T, H), (B, H)")
    outs = []
    for s in range(0, b.shape[1], chunk):
        outs.append(_scan(log_a[:, s:s + chunk], b[:, s:s + chunk], h0))
        h0 = outs[-1][:, -1]
    return torch.cat(outs, 1)


def _scan(log_a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    A = F.pad(torch.cumsum(log_a, 1), (0, 0, 1, 0))  # (B, T+1, H), A_0 = 0
    v = torch.cat([h0.unsqueeze(1), b], 1)  # (B, T+1, H): b_0 = h_0
    h = torch.exp(A + torch.logcumsumexp(_log_part(v, A), 1)) - torch.exp(A + torch.logcumsumexp(_log_part(-v, A), 1))
    return h[:, 1:]


def _log_part(v: Tensor, A: Tensor) -> Tensor:
    """log v_s − A_s where v_s > 0, −inf elsewhere (that part adds nothing). Gradients stay finite: logcumsumexp's
    backward is NaN at −inf inputs, and where() passes nothing back from the branch it did not take, to v or A."""
    pos = v > 0
    return torch.where(pos, torch.log(torch.where(pos, v, torch.ones_like(v))) - A, float("-inf"))
