"""xLSTM's two cells (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory"), one step each, and the
mLSTM's parallel form. Not the loops (stack.py).

Both give the LSTM an exponential input gate, i_t = exp(ĩ_t), so a new input can outweigh everything stored;
to keep exp from overflowing they carry a stabiliser m_t, the running maximum of the log gates, and store their
memories scaled by exp(−m_t). The scale cancels in what they output (h_t = o_t ⊙ c_t / n_t), so m_t changes
no result, only the range of the numbers; for the same reason no gradient needs to flow through it (detached):

    m_t = max(log f_t + m_{t−1}, ĩ_t),  i′_t = exp(ĩ_t − m_t) ≤ 1,  f′_t = exp(log f_t + m_{t−1} − m_t) ≤ 1

with f_t = σ(f̃_t) (the sigmoid forget gate, as NX-AI/xlstm's defaults). The trace records the forget gate f_t as
it is (in (0, 1), like every LSTM's, so forget biases compare across cells) and the input gate as i′_t, exp(ĩ_t)
divided by the stabiliser's exp(m_t) (in (0, 1]: exp(ĩ_t) itself has no upper bound to draw); with m_t recorded
too, the update's f′_t = f_t exp(m_{t−1} − m_t) follows.

- sLSTM: a scalar memory per unit, with a recurrent matrix R (W_hh here) into every gate, so it stays sequential.
  Its normaliser n_t sums the input gates; h_t = o_t ⊙ c_t / n_t. One head: R is full (the paper's block-diagonal
  R with one block). The c slot carries [c, n, m] (CellSpec.carried).
- mLSTM: a matrix memory per head, written with v_t k_tᵀ and read with q_t, whose gates read x_t only: no W_hh,
  linear in its state, so it runs in parallel (`mlstm_parallel`, the paper's quadratic form in chunks). Its h slot
  is the memory C (H·d numbers: NH heads of d×d), the c slot [n, m]; what it outputs, y_t, is rec["y"].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.cellspec import CellSpec, LayerWeights

MLSTM_HEAD = 16  # d, channels per mLSTM head: its memory is d×d per head, H·d numbers per layer
MLSTM_CHUNK = 32  # steps per chunk of the parallel form: memory O(T · chunk), not O(T²)


def slstm_step(gx: Tensor, h: Tensor, c: Tensor, w: LayerWeights, spec: CellSpec):
    """sLSTM (Beck et al. 2024, eqs. 8-17 with the stabiliser), gates in rows i, f, g, o of W_ih and R = W_hh:
        ĩ_t, f̃_t, g̃_t, õ_t = W_x· x_t + R_· h_{t−1} + b_·
        m_t = max(log σ(f̃_t) + m_{t−1}, ĩ_t)            m_0 = −∞: nothing is stored yet (n_{t−1} = 0)
        i′_t = exp(ĩ_t − m_t),  f′_t = exp(log σ(f̃_t) + m_{t−1} − m_t)
        c_t = f′_t ⊙ c_{t−1} + i′_t ⊙ tanh(g̃_t)
        n_t = f′_t ⊙ n_{t−1} + i′_t                       (n_t ≥ 1 from the first step on)
        h_t = σ(õ_t) ⊙ c_t / n_t
    The paper's cell input z_t is named g_t here, as the LSTM's candidate is. c packs [c, n, m], each H wide."""
    H = h.shape[-1]
    c_prev, n_prev, m_prev = c.split(H, -1)
    m_prev = torch.where(n_prev > 0, m_prev, -math.inf)
    gh = F.linear(h, w.weight_hh, w.bias_hh)
    a_i, a_f, a_g, a_o = (gx + gh).chunk(4, -1)
    log_f = F.logsigmoid(a_f)
    m = torch.maximum(log_f + m_prev, a_i).detach()  # h_t does not depend on m_t: no gradient flows through it
    i, f = torch.exp(a_i - m), torch.exp(log_f + m_prev - m)
    g, o = torch.tanh(a_g), torch.sigmoid(a_o)
    c_new = f * c_prev + i * g
    n = f * n_prev + i
    rec = {"gh": gh, "preact.i": a_i, "gate.i": i, "preact.f": a_f, "gate.f": torch.sigmoid(a_f), "preact.g": a_g,
           "gate.g": g,
           "preact.o": a_o, "gate.o": o, "c": c_new, "n": n, "m": m}
    return o * c_new / n, torch.cat([c_new, n, m], -1), rec


def _mlstm_inputs(gx: Tensor, H: int):
    """(q, k, v, õ, ĩ, f̃) from gx = [q | k | v | õ | ĩ | f̃]: q, k, v as (.., NH, d) with k scaled by 1/√d,
    õ (.., H), ĩ and f̃ (.., NH)."""
    NH = H // MLSTM_HEAD
    q, k, v, a_o, a_i, a_f = gx.split([H, H, H, H, NH, NH], -1)
    heads = lambda t: t.unflatten(-1, (NH, MLSTM_HEAD))  # noqa: E731
    return heads(q), heads(k) / math.sqrt(MLSTM_HEAD), heads(v), a_o, a_i, a_f


def _per_channel(t: Tensor) -> Tensor:
    """A per-head value (.., NH) repeated for each of its head's d channels: (.., H), so views see H units."""
    return t.repeat_interleave(MLSTM_HEAD, -1)


def mlstm_step(gx: Tensor, h: Tensor, c: Tensor, w: LayerWeights, spec: CellSpec):
    """mLSTM (Beck et al. 2024, eqs. 19-27 with the stabiliser), per head of d = MLSTM_HEAD channels:
        q_t = W_q x_t + b_q,  k_t = (W_k x_t + b_k) / √d,  v_t = W_v x_t + b_v,  o_t = σ(W_o x_t + b_o)
        ĩ_t = w_i·x_t + b_i,  f̃_t = w_f·x_t + b_f                      (one number per head)
        m_t = max(log σ(f̃_t) + m_{t−1}, ĩ_t),  i′_t = exp(ĩ_t − m_t),  f′_t = σ(f̃_t) exp(m_{t−1} − m_t)
        C_t = f′_t C_{t−1} + i′_t v_t k_tᵀ,    n_t = f′_t n_{t−1} + i′_t k_t
        y_t = o_t ⊙ C_t q_t / max(|n_tᵀ q_t|, exp(−m_t))
    h is C (.., NH·d·d: head, then the row read out, then the column q_t meets), c packs [n, m] (each H wide, m
    repeated per channel). "decay" is f′_t for every entry of its head's C: ∂C_t/∂C_{t−1} = f′_t I exactly."""
    H = c.shape[-1] // 2
    NH = H // MLSTM_HEAD
    q, k, v, a_o, a_i, a_f = _mlstm_inputs(gx, H)
    C = h.unflatten(-1, (NH, MLSTM_HEAD, MLSTM_HEAD))
    n_prev, m_prev = c[..., :H].unflatten(-1, (NH, MLSTM_HEAD)), c[..., H::MLSTM_HEAD]
    log_f = F.logsigmoid(a_f)
    m = torch.maximum(log_f + m_prev, a_i).detach()  # y_t does not depend on m_t: no gradient flows through it
    i, f = torch.exp(a_i - m), torch.exp(log_f + m_prev - m)
    h = (f[..., None, None] * C + i[..., None, None] * v.unsqueeze(-1) * k.unsqueeze(-2)).flatten(-3)
    n, m_h = (f.unsqueeze(-1) * n_prev + i.unsqueeze(-1) * k).flatten(-2), _per_channel(m)
    c = torch.cat([n, m_h], -1)
    rec = {"preact.i": _per_channel(a_i), "gate.i": _per_channel(i), "preact.f": _per_channel(a_f),
           "gate.f": _per_channel(torch.sigmoid(a_f)), "n": n, "m": m_h,
           "decay": f.repeat_interleave(MLSTM_HEAD * MLSTM_HEAD, -1)}
    return h, c, rec | mlstm_readout(gx, h, c, w)


def _normaliser(nq: Tensor, m: Tensor) -> Tensor:
    """max(|n_tᵀq_t|, exp(−m_t)), never 0: past m_t ≈ 103 exp(−m_t) underflows in float32, and with n_tᵀq_t = 0
    the read would be 0/0; the smallest normal float keeps it 0 instead (NX-AI adds 1e-6 for the same reason)."""
    return torch.maximum(nq.abs(), torch.exp(-m)).clamp_min(torch.finfo(nq.dtype).tiny)


def mlstm_readout(gx: Tensor, h: Tensor, c: Tensor, w: LayerWeights) -> dict[str, Tensor]:
    """The mLSTM's output from its memory h_t = C_t and c_t = [n_t, m_t]: y_t = o_t ⊙ C_t q_t / max(|n_tᵀq_t|,
    exp(−m_t)), with the output gate o_t."""
    H = c.shape[-1] // 2
    q, _, _, a_o, _, _ = _mlstm_inputs(gx, H)
    C = h.unflatten(-1, (H // MLSTM_HEAD, MLSTM_HEAD, MLSTM_HEAD))
    n, m = c[..., :H].unflatten(-1, q.shape[-2:]), c[..., H::MLSTM_HEAD]
    read = (C @ q.unsqueeze(-1)).squeeze(-1) / _normaliser((n * q).sum(-1), m).unsqueeze(-1)
    o = torch.sigmoid(a_o)
    return {"y": o * read.flatten(-2), "gate.o": o, "preact.o": a_o}


def mlstm_parallel(gx: Tensor, h0: Tensor, c0: Tensor, w: LayerWeights, spec: CellSpec,
                   chunk: int = MLSTM_CHUNK) -> tuple[Tensor, Tensor, Tensor]:
    """The whole layer without a loop over steps: gx (B, T, ·), h0 = C_0 (B, H·d), c0 = [n_0, m_0] (B, 2H) ->
    (y (B, T, H), C_T, [n_T, m_T]), equal to running mlstm_step over t. The sequence is cut into chunks of L steps.
    Within each, the paper's parallel form, with F_t = Σ_{s≤t} log σ(f̃_s) from the chunk's start and the state
    (C, n, m) the chunk starts from:
        m_t = max(max_{j≤t} (F_t − F_j + ĩ_j), F_t + m)         (the step's m_t, unrolled)
        D_tj = exp(F_t − F_j + ĩ_j − m_t) for j ≤ t, 0 after;  w_t = exp(F_t + m − m_t) weighs the state carried in
        C_t q_t = Σ_j D_tj (q_t·k_j) v_j + w_t C q_t,   n_tᵀ q_t = Σ_j D_tj (q_t·k_j) + w_t nᵀ q_t
    Every chunk is computed at once; only the states the chunks start from are a loop, one short step per chunk
    (each chunk's writes summed at its end, then carried on), so memory grows with T · L, not T²."""
    B, T, _ = gx.shape
    H = c0.shape[-1] // 2
    NH, d = H // MLSTM_HEAD, MLSTM_HEAD
    nc = -(-T // chunk)
    L = -(-T // nc)  # chunks of at most `chunk` steps, as even as they come: 100 steps are 4 of 25, not 32+32+32+4
    pad = nc * L - T
    q, k, v, a_o, a_i, a_f = _mlstm_inputs(gx, H)
    log_f = F.logsigmoid(a_f)
    if pad:  # steps past the end write nothing (ĩ = −∞) and keep everything (log f = 0): the final state is T's
        q, k, v = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (q, k, v))
        a_i, log_f = F.pad(a_i, (0, 0, 0, pad), value=-math.inf), F.pad(log_f, (0, 0, 0, pad))
    chunks = lambda t: t.transpose(1, 2).unflatten(2, (nc, L))  # noqa: E731  (B, NH, chunk, L, ·)
    q, k, v, a_i, log_f = chunks(q), chunks(k), chunks(v), chunks(a_i), chunks(log_f)
    Fc = log_f.cumsum(-1)  # (B, NH, nc, L)
    # each chunk's own writes, as its final state holds them: Σ_j exp(F_L − F_j + ĩ_j − a) v_j k_jᵀ, a their max
    log_e = Fc[..., -1:] - Fc + a_i
    a = log_e.amax(-1).detach()  # every m and a here only scales what it divides: y does not depend on them
    e = torch.exp(log_e - a.unsqueeze(-1))
    writes_C, writes_n = torch.einsum("bhcj,bhcjv,bhcjk->bhcvk", e, v, k), torch.einsum("bhcj,bhcjk->bhck", e, k)
    C, n, m = h0.view(B, NH, d, d), c0[:, :H].view(B, NH, d), c0[:, H::d]
    starts = []
    for c in range(nc):  # the state each chunk starts from, carried across chunks
        starts.append((C, n, m))
        m_end = torch.maximum(a[:, :, c], Fc[:, :, c, -1] + m).detach()
        keep, add = torch.exp(Fc[:, :, c, -1] + m - m_end), torch.exp(a[:, :, c] - m_end)
        C = keep[..., None, None] * C + add[..., None, None] * writes_C[:, :, c]
        n = keep[..., None] * n + add[..., None] * writes_n[:, :, c]
        m = m_end
    C0, n0, m0 = (torch.stack(t, 2) for t in zip(*starts))  # (B, NH, nc, ·)
    causal = torch.ones(L, L, dtype=torch.bool, device=gx.device).tril()
    log_d = (Fc.unsqueeze(-1) - Fc.unsqueeze(-2) + a_i.unsqueeze(-2)).masked_fill(~causal, -math.inf)
    log_w = Fc + m0.unsqueeze(-1)
    m_t = torch.maximum(log_d.amax(-1), log_w).detach()
    dmat, wt = torch.exp(log_d - m_t.unsqueeze(-1)), torch.exp(log_w - m_t)
    s_qk = (q @ k.transpose(-1, -2)) * dmat  # (B, NH, nc, L, L)
    num = s_qk @ v + wt.unsqueeze(-1) * (q @ C0.transpose(-1, -2))
    den = s_qk.sum(-1) + wt * (q @ n0.unsqueeze(-1)).squeeze(-1)
    read = num / _normaliser(den, m_t).unsqueeze(-1)
    read = read.flatten(2, 3)[:, :, :T].transpose(1, 2).flatten(-2)  # (B, T, H)
    return torch.sigmoid(a_o) * read, C.flatten(-3), torch.cat([n.flatten(-2), _per_channel(m)], -1)


@torch.no_grad()
def init_mlstm(spec: CellSpec, hidden: int, w_ih: Tensor, b_ih: Tensor | None,
               generator: torch.Generator | None = None) -> None:
    """NX-AI/xlstm's initialisation of the mLSTM's gates (q, k, v and o keep torch's uniform ±1/√H): their input
    weights 0, the forget bias spread linearly from 3 to 6 across the heads (σ ≈ 0.95 to 0.998: memory from the
    start), the input bias drawn from N(0, 0.1). Without it the forget gates start near 0.5 and the mLSTM forgets
    the first symbol within lesson 9's lag of 50 in every seed; with it, it learns it in every seed.
    The sLSTM keeps torch's default: NX-AI's (R = 0, forget biases spread from 5 to −7) learned lesson 6's lag 20
    in 2 of 3 seeds here, torch's in 3 of 3, and lag 50 in 3 of 3."""
    i_rows, f_rows = spec.block_rows("i", hidden), spec.block_rows("f", hidden)
    w_ih[i_rows] = 0.0
    w_ih[f_rows] = 0.0
    if b_ih is not None:
        b_ih[f_rows] = torch.linspace(3.0, 6.0, f_rows.stop - f_rows.start)
        b_ih[i_rows] = torch.randn(i_rows.stop - i_rows.start, generator=generator) * 0.1


XLSTM_SPECS: dict[str, CellSpec] = {
    s.name: s
    for s in (
        CellSpec("slstm", "slstm", ("i", "f", "g", "o"), ("i", "f", "g", "o"), None, has_cell=True,
                 summary="sLSTM (Beck et al. 2024): an LSTM with an exponential input gate, a normaliser n_t and a "
                         "stabiliser m_t; recurrent through R, so sequential",
                 equations=("i_t = exp(W_xi x_t + W_hi h_{t−1} + b_i)",
                            "f_t = σ(W_xf x_t + W_hf h_{t−1} + b_f)",
                            "g_t = tanh(W_xg x_t + W_hg h_{t−1} + b_g)",
                            "o_t = σ(W_xo x_t + W_ho h_{t−1} + b_o)",
                            "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t",
                            "n_t = f_t ⊙ n_{t−1} + i_t",
                            "h_t = o_t ⊙ c_t / n_t",
                            "m_t = max(log f_t + m_{t−1}, log i_t): c_t and n_t are stored divided by exp(m_t)"),
                 gate_meanings=(("i", "input gate: exponential, exp(ĩ_t), shown divided by exp(m_t): a new input "
                                      "can outweigh all that is stored"),
                                ("f", "forget gate: σ(f̃_t), how much of c_{t−1} is kept (the stored c_{t−1} is "
                                      "multiplied by f_t exp(m_{t−1} − m_t))"),
                                ("g", "candidate: the new content, in [−1, 1] (the paper's z_t)"),
                                ("o", "output gate: how much of c_t / n_t is shown as h_t")),
                 transition="gated", memory_gate="f", carried=("c", "n", "m")),
        CellSpec("mlstm", "mlstm", ("q", "k", "v", "o", "i", "f"), ("i", "f", "o"), None,
                 summary="mLSTM (Beck et al. 2024): a matrix memory per head, written with v_t k_tᵀ and read with "
                         "q_t; its gates read x_t only, so it trains in parallel",
                 equations=("q_t = W_q x_t + b_q", "k_t = (W_k x_t + b_k) / √d", "v_t = W_v x_t + b_v",
                            "i_t = exp(w_i·x_t + b_i)", "f_t = σ(w_f·x_t + b_f)",
                            "o_t = σ(W_o x_t + b_o)",
                            "C_t = f_t C_{t−1} + i_t v_t k_tᵀ",
                            "n_t = f_t n_{t−1} + i_t k_t",
                            "y_t = o_t ⊙ C_t q_t / max(|n_tᵀ q_t|, 1)",
                            "m_t = max(log f_t + m_{t−1}, log i_t): C_t and n_t are stored divided by exp(m_t)"),
                 gate_meanings=(("i", f"input gate: exponential, one per head of {MLSTM_HEAD} channels, shown "
                                      "divided by exp(m_t): how strongly v_t k_tᵀ is written"),
                                ("f", f"forget gate: σ(f̃_t), one per head of {MLSTM_HEAD} channels, how much of "
                                      "C_{t−1} is kept"),
                                ("o", "output gate: how much of what q_t reads from C_t is shown")),
                 has_w_hh=False, transition="diagonal", parallel="chunked quadratic form", carry="f_t ⊙",
                 state_per_unit=MLSTM_HEAD, reads_out=True, memory_gate="f", carried=("n", "m"), state_symbol="C",
                 head_blocks=("i", "f")),
    )
}

XLSTM_STEPS = {"slstm": slstm_step, "mlstm": mlstm_step}
XLSTM_READOUTS = {"mlstm": mlstm_readout}  # as linear_cells.LINEAR_READOUTS
