"""The linear recurrences of "Were RNNs All We Needed?" (Feng et al. 2024): minGRU and minLSTM, one step each.

Not the loops (stack.py) and not the parallel scan itself (scan.py). Their gates read x_t only, never h_{t−1},
so there is no W_hh and h_t is linear in h_{t−1}:

    h_t = a_t ⊙ h_{t−1} + b_t,   ∂h_t/∂h_{t−1} = diag(a_t) exactly,

with a_t and b_t functions of x_t alone. That is why they train in parallel: `coefficients` gives every
step's (a_t, b_t) at once for scan.py's scans, and the tests hold each scan equal to the step loop below.
The step has the same shape as every cell's (cells.py): h_t, c_t, rec = step(gx_t, h_{t−1}, c_{t−1}, w, spec),
gx_t = W_ih x_t + b_ih holding the blocks in spec.blocks' order. The paper's candidate h̃_t is named n_t here,
as the GRU's candidate is, so gate names stay plain letters.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.cellspec import CellSpec, LayerWeights


def min_step(gx: Tensor, h: Tensor, c: Tensor | None, w: LayerWeights, spec: CellSpec):
    """minGRU:   z_t = σ(W_xz x_t + b_z),  n_t = W_xn x_t + b_n,  h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ n_t
    minLSTM:  f_t = σ(W_xf x_t + b_f),  i_t = σ(W_xi x_t + b_i),  n_t = W_xn x_t + b_n,
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t),  h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ n_t
    minLSTM's gates are recorded normalised (gate.f = f'_t, gate.i = i'_t: what the state update uses), their
    pre-activations as they are; f'_t = σ(log f_t − log i_t), the same ratio without dividing. "decay" is a_t,
    what h_t keeps of h_{t−1} (1 − z_t; f'_t): the eigenvalues of the step Jacobian ∂h_t/∂h_{t−1} = diag(a_t)."""
    pre = dict(zip(spec.blocks, gx.chunk(spec.num_blocks, -1)))
    n = pre["n"]
    if spec.name == "mingru":
        z = torch.sigmoid(pre["z"])
        return torch.lerp(h, n, z), None, {"preact.z": pre["z"], "gate.z": z, "gate.n": n, "decay": 1 - z}
    log_f, log_i = _log_sigmoid(pre["f"]), _log_sigmoid(pre["i"])
    f, i = torch.sigmoid(log_f - log_i), torch.sigmoid(log_i - log_f)
    rec = {"preact.f": pre["f"], "gate.f": f, "preact.i": pre["i"], "gate.i": i, "gate.n": n, "decay": f}
    return f * h + i * n, None, rec


def coefficients(gx: Tensor, spec: CellSpec, log: bool = False) -> tuple[Tensor, Tensor]:
    """Every step's (a_t, b_t), each (B, T, H), from gx (B, T, G*H): the step's h_t = a_t ⊙ h_{t−1} + b_t;
    log a_t instead of a_t with log=True (for scan.log_scan). Each a_t is one sigmoid, exact near 0 and 1:
    minGRU a_t = 1 − z_t = σ(−a_z), b_t = z_t ⊙ n_t; minLSTM a_t = f'_t = σ(−d_t), b_t = i'_t ⊙ n_t,
    d_t = log i_t − log f_t."""
    pre = dict(zip(spec.blocks, gx.chunk(spec.num_blocks, -1)))
    d = pre["z"] if spec.name == "mingru" else _log_sigmoid(pre["i"]) - _log_sigmoid(pre["f"])
    return (-F.softplus(d) if log else torch.sigmoid(-d)), torch.sigmoid(d) * pre["n"]


def _log_sigmoid(a: Tensor) -> Tensor:
    return -F.softplus(-a)


_DIAGONAL = dict(has_w_hh=False, transition="diagonal", parallel="associative scan", torch_equivalent=None)

LINEAR_SPECS: dict[str, CellSpec] = {
    s.name: s
    for s in (
        CellSpec("mingru", "min", ("z", "n"), ("z", "n"),
                 summary="minGRU (Feng et al. 2024): a GRU whose gate reads x_t only, so it trains as a parallel scan",
                 equations=("z_t = σ(W_xz x_t + b_z)", "n_t = W_xn x_t + b_n",
                            "h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ n_t"),
                 gate_meanings=(("z", "update gate: how much of the candidate n_t is written; 1 − z_t of h_{t−1} "
                                      "is kept (the reverse of torch's GRU z)"),
                                ("n", "candidate: the new state on offer, a linear function of x_t (the paper's "
                                      "h̃_t)")),
                 **_DIAGONAL),
        CellSpec("minlstm", "min", ("f", "i", "n"), ("f", "i", "n"),
                 summary="minLSTM (Feng et al. 2024): forget and input gates read x_t only and are normalised to "
                         "sum to 1; trains as a parallel scan",
                 equations=("f_t = σ(W_xf x_t + b_f)", "i_t = σ(W_xi x_t + b_i)", "n_t = W_xn x_t + b_n",
                            "h_t = f′_t ⊙ h_{t−1} + i′_t ⊙ n_t,  f′_t = f_t / (f_t + i_t),  i′_t = i_t / (f_t + i_t)"),
                 gate_meanings=(("f", "forget gate: normalised, f′_t = f_t / (f_t + i_t) of h_{t−1} is kept"),
                                ("i", "input gate: normalised, i′_t = 1 − f′_t of the candidate n_t is written"),
                                ("n", "candidate: the new state on offer, a linear function of x_t (the paper's "
                                      "h̃_t)")),
                 memory_gate="f", **_DIAGONAL),
    )
}

LINEAR_STEPS = {"min": min_step}
