"""The parallel form of a linear recurrence h_t = a_t ⊙ h_{t−1} + b_t: every step at once, not a loop over time.

Not a cell (linear_cells.py writes each recurrence out one step at a time, the form the trace records, and
says how its a_t and b_t come from the input); this computes the same h_1..h_T in a few whole-sequence tensor
operations, which is why recurrences whose gates read only x_t train in parallel (Martin & Cundy 2018).
Two forms, both tested equal to the step loop:

associative_scan, what training uses: the steps compose as (a, b) ∘ (a′, b′) = (a′ a, a′ b + b′), an
associative operator, so the sequence can be cut into chunks of CHUNK_STEPS steps that are scanned all at once
(a loop of CHUNK_STEPS − 1 multiply-adds, each over every chunk), then the state at each chunk's end follows by
Hillis & Steele (1986)'s scan over the chunks (⌈log₂(T / CHUNK_STEPS)⌉ rounds), and each step adds its chunk's
start times the product of the a's before it in its chunk (Blelloch 1990's two-level form). Every pass touches
the sequence about twice, where Hillis & Steele over all T steps touches it ⌈log₂ T⌉ times and makes a new
tensor each round (on a CPU, fresh memory costs more than the arithmetic). Products of a_t ∈ (0, 1] only shrink
(to 0 at worst), so float32 stays within about 1e-6 of the loop (`python -m rnnviz bench --scan` times it).

log_scan, Heinsen (2023)'s log-space scan, as "Were RNNs All We Needed?" (Feng et al. 2024) uses it for minGRU
and minLSTM (the forward pass; its backward is the reverse scan). Unrolled, with A_t = Σ_{s≤t} log a_s (A_0 = 0)
and b_0 = h_0:

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
from torch.autograd.function import once_differentiable


CHUNK = 128  # the log-space scan's chunk
CHUNK_STEPS = 8  # the associative scan's: the fastest of 4, 8, 16, 32 on two CPU cores at the sizes bench times


def associative_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """h (B, T, H) with h_t = a_t ⊙ h_{t−1} + b_t, from a, b (B, T, H) and h0 (B, H); a may be complex.
    Its backward is the same scan run backwards in time (_Scan), not autograd through every round."""
    _check(a, b, h0)
    return _Scan.apply(a, b, h0)


class _Scan(torch.autograd.Function):
    """Forward: the two-level scan (_chunked) with h0 folded into step 0. Backward (Martin & Cundy 2018): with
    g_t = dL/dh_t, the total derivative ĝ_t = g_t + conj(a_{t+1}) ĝ_{t+1} is a linear scan from the end, and
    dL/db_t = ĝ_t, dL/da_t = ĝ_t conj(h_{t−1}), dL/dh0 = conj(a_0) ĝ_0 (conj: Wirtinger, a no-op for real a)."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
        h = _chunked(a, b, h0)
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    @once_differentiable  # the saved h carries no graph: a second derivative would be silently wrong
    def backward(ctx, g: Tensor):
        return _reverse(*ctx.saved_tensors, g)


def _reverse(a: Tensor, h: Tensor, h0: Tensor, g: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(dL/da, dL/db, dL/dh0) of h = scan(a, b, h0) from g = dL/dh: ĝ_t = g_t + conj(a_{t+1}) ĝ_{t+1}, a linear
    scan in reversed time; dL/db_t = ĝ_t, dL/da_t = ĝ_t conj(h_{t−1}), dL/dh0 = conj(a_0) ĝ_0."""
    a_next = torch.empty_like(a)  # a_{t+1}; none after the end
    a_next[:, :-1] = a[:, 1:].conj()
    a_next[:, -1] = 0
    g_hat = _chunked(a_next, g, reverse=True, own_a=True)
    d_a = torch.empty_like(g_hat)  # ĝ_t conj(h_{t−1}), h_{−1} = h0
    torch.mul(g_hat[:, 1:], h[:, :-1].conj(), out=d_a[:, 1:])
    torch.mul(g_hat[:, 0], h0.conj(), out=d_a[:, 0])
    return d_a, g_hat, g_hat[:, 0] * a[:, 0].conj()


def _chunked(a: Tensor, b: Tensor, h0: Tensor | None = None, reverse: bool = False, own_a: bool = False) -> Tensor:
    """r (B, T, H) with r_t = a_t r_{t−1} + b_t from r_{−1} = h0 (zeros if None), or with reverse=True
    r_t = a_t r_{t+1} + b_t from r_T = 0, in chunks of CHUNK_STEPS (the module docstring). b is left alone, and a
    too unless own_a (the caller's scratch copy: it is overwritten)."""
    B, T, H = b.shape
    if T == 0:  # nothing to scan
        return b.clone()
    C = min(CHUNK_STEPS, T)
    n = -(-T // C)
    pad = n * C - T  # identity steps after the end (a = 1, b = 0): they change nothing before them
    a = torch.cat([a, a.new_ones(B, pad, H)], 1) if pad else (a if own_a else a.clone())
    b = torch.cat([b, b.new_zeros(B, pad, H)], 1) if pad else b.clone()
    if h0 is not None:
        b[:, 0].addcmul_(a[:, 0], h0)
    a4, b4 = a.view(B, n, C, H), b.view(B, n, C, H)  # (batch, chunk, step in chunk, unit)
    for j in (range(C - 2, -1, -1) if reverse else range(1, C)):  # each chunk from 0 at its start; a4: products
        prev = j + 1 if reverse else j - 1
        b4[:, :, j].addcmul_(a4[:, :, j], b4[:, :, prev])
        a4[:, :, j].mul_(a4[:, :, prev])
    if n > 1:  # the state where each chunk starts, from the chunks' whole-chunk (a, b), then each step's share of it
        if reverse:
            starts = _hillis_steele(a4[:, :, 0].flip(1), b4[:, :, 0].flip(1)).flip(1)  # r at each chunk's first step
            b4[:, :-1].addcmul_(a4[:, :-1], starts[:, 1:].unsqueeze(2))
        else:
            ends = _hillis_steele(a4[:, :, -1], b4[:, :, -1])  # r at each chunk's last step
            b4[:, 1:].addcmul_(a4[:, 1:], ends[:, :-1].unsqueeze(2))
    return b[:, :T]


def _hillis_steele(a: Tensor, b: Tensor) -> Tensor:
    """r_t = a_t r_{t−1} + b_t from r_{−1} = 0 (a_0 unused), in ⌈log₂ T⌉ rounds: after the round with offset k,
    (a_t, b_t) compose steps t−2k+1..t, so b_t is r_t once 2k ≥ T. In place on copies (no graph is kept here):
    each right-hand side is a new tensor before it is added, so no round reads what it writes."""
    a, b = a.clone(), b.clone()
    T, k = b.shape[1], 1
    while k < T:
        b[:, k:] += a[:, k:] * b[:, :-k]
        if 2 * k < T:  # the last round needs no products of a
            a[:, k:] *= a[:, :-k].clone()
        k *= 2
    return b


def _check(a: Tensor, b: Tensor, h0: Tensor) -> None:
    if a.shape != b.shape or a.dim() != 3 or h0.shape != (b.shape[0], b.shape[2]):
        raise ValueError(f"a {tuple(a.shape)}, b {tuple(b.shape)} and h0 {tuple(h0.shape)} do not fit "
                         "(B, T, H), (B, T, H), (B, H)")


def log_scan(log_a: Tensor, b: Tensor, h0: Tensor, chunk: int = CHUNK) -> Tensor:
    """h (B, T, H) with h_t = a_t ⊙ h_{t−1} + b_t, from log_a (B, T, H) ≤ 0, b (B, T, H) and h0 (B, H). The
    log-space form is the forward pass; the backward is the reverse scan above (as _Scan's), since autograd
    through the split would lose the gradient wherever b or h0 is exactly 0 (both parts masked there)."""
    _check(log_a, b, h0)
    return _LogScan.apply(log_a, b, h0, chunk)


class _LogScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, log_a: Tensor, b: Tensor, h0: Tensor, chunk: int) -> Tensor:
        outs, start = [], h0
        for s in range(0, b.shape[1], chunk):
            outs.append(_scan(log_a[:, s:s + chunk], b[:, s:s + chunk], start))
            start = outs[-1][:, -1]
        h = torch.cat(outs, 1)
        a = log_a.exp()
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx, g: Tensor):
        a = ctx.saved_tensors[0]
        d_a, d_b, d_h0 = _reverse(*ctx.saved_tensors, g)
        return d_a * a, d_b, d_h0, None  # dL/dlog a = dL/da · a


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
