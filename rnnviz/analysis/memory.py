"""What a linear recurrence keeps of its past, in the units of its memory. Not figures.

For h_t = a_t ⊙ h_{t−1} + b_t the share of step s's write b_s still in h_T is Π_{r=s+1..T} a_r. The mLSTM records
two decays: f′_t = σ(f̃_t) exp(m_{t−1} − m_t) is what multiplies its *stored* memory (exactly, so the Jacobian law
uses it), but the stabiliser's rescaling exp(m_{t−1} − m_t) is bookkeeping: it cancels in y_t = C_t q_t / n_tᵀq_t
and makes f′_t exactly 1 whenever the old memory outweighs the new write. What it keeps of its memory is its forget
gate σ(f̃_t), and what it writes is weighted by exp(ĩ_t): from a zero state,
    C_T = Σ_s w_s v_s k_sᵀ / exp(m_T),   w_s = exp(ĩ_s + Σ_{r=s+1..T} log σ(f̃_r)),
so w_s / Σ w is how much of the memory read at step T step s wrote (write_shares). In the first layer ĩ_t reads
only x_t: the input gate is a property of each token (input_gate_by_token).
"""
from __future__ import annotations

import numpy as np

from rnnviz.analysis.traces import check_index, resolve_prefix, tensor
from rnnviz.cells import get_spec
from rnnviz.trace import Trace
from rnnviz.xlstm_cells import MLSTM_HEAD


def _mlstm(trace: Trace) -> bool:
    return get_spec(trace.arch).family == "mlstm"


def kept_decay(trace: Trace, layer: int = -1, prefix: str | None = None) -> np.ndarray:
    """(sample, step, unit) factors each step keeps of the memory before it: the recorded decays a_t, or the
    mLSTM's forget gate σ(f̃_t) (its recorded f′_t also holds the stabiliser's rescaling)."""
    p = resolve_prefix(trace, prefix)
    a = tensor(trace, "gate.f" if _mlstm(trace) else "decay", p).astype(np.float64)
    return a[check_index("layer", layer, a.shape[0])]


def kept_across(trace: Trace, layer: int = -1, prefix: str | None = None) -> float:
    """How much of step 0's write the best unit still holds at the last step: Π_{t≥1} of its kept decays, the
    largest over units, averaged over the probe's samples."""
    return float(kept_decay(trace, layer, prefix)[:, 1:].prod(1).max(1).mean())


def write_shares(trace: Trace, layer: int = -1, prefix: str | None = None) -> np.ndarray:
    """The mLSTM's (sample, step, head) shares w_s / Σ_s w_s of the memory read at the last step that each step
    wrote, from a zero state (the probes start from one); each (sample, head) sums to 1."""
    if not _mlstm(trace):
        raise ValueError(f"write shares are the mLSTM's; a {trace.arch} cell has no exponential input gate")
    p = resolve_prefix(trace, prefix)
    a_i = tensor(trace, "preact.i", p).astype(np.float64)
    a_i = a_i[check_index("layer", layer, a_i.shape[0]), :, :, ::MLSTM_HEAD]  # one ĩ per head
    log_f = np.log(kept_decay(trace, layer, p)[..., ::MLSTM_HEAD])
    later = np.concatenate([np.cumsum(log_f[:, :0:-1], 1)[:, ::-1], np.zeros_like(log_f[:, :1])], 1)  # Σ_{r>s}
    w = a_i + later
    w = np.exp(w - w.max(1, keepdims=True))
    return w / w.sum(1, keepdims=True)


def head_for_step(trace: Trace, step: int = 0, layer: int = -1) -> int:
    """The mLSTM head whose last memory holds the most of what `step` wrote, on average over the probe."""
    return int(write_shares(trace, layer)[:, step].mean(0).argmax())


def input_gate_by_token(trace: Trace, tokens: list[list[str]], head: int, layer: int = -1) -> dict[str, float]:
    """The mLSTM's ĩ_t of one head (of the top layer, as write_shares) for each distinct input token, the mean over
    its occurrences (in layer 0 every occurrence has the same ĩ: it reads only x_t), in first-seen order;
    tokens[b][t] labels sample b's step t."""
    if not _mlstm(trace):
        raise ValueError(f"the exponential input gate is the mLSTM's; a {trace.arch} cell has none")
    a_i = tensor(trace, "preact.i", resolve_prefix(trace, None))
    a_i = a_i[check_index("layer", layer, a_i.shape[0]), :, :, check_index("head", head, a_i.shape[-1] // MLSTM_HEAD)
              * MLSTM_HEAD]
    if [len(t) for t in tokens] != [a_i.shape[1]] * a_i.shape[0]:
        raise ValueError(f"give one label per step of each of the {a_i.shape[0]} probe samples ({a_i.shape[1]} steps)")
    seen: dict[str, list[float]] = {}
    for b, row in enumerate(tokens):
        for t, tok in enumerate(row):
            seen.setdefault(tok, []).append(float(a_i[b, t]))
    return {tok: float(np.mean(v)) for tok, v in seen.items()}
