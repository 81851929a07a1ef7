"""The recurrences, one time step each, with their equations; not the loops over time (see stack.py).

Every step function has the same shape, so the fast loop, the traced loop, the Jacobian probe and the
Pascanu regulariser all call the same written-out equation:

    h_t, c_t, rec = step(gx_t, h_{t-1}, c_{t-1}, w)

gx_t is the input projection W_ih x_t + b_ih, precomputed for every t in one matmul; w holds the layer's
recurrent weights. rec names what the step computed: "gh" (W_hh h_{t-1} + b_hh, or its parts when a cell
applies W_hh in two products, with "hh_in" what each block read; its gradient gives the
step's share of dL/dW_hh), "gate.<g>" activations and "preact.<g>" pre-activations under the papers' names.
Gate blocks are stacked in PyTorch's order (LSTM i, f, g, o; GRU r, z, n) so weights move to torch.nn.
Leading dimensions are free: (B, .) per step, or (T*B, .) when every step is evaluated at once.

Each cell's CellSpec in SPECS also says what the views need, so they ask the cell rather than its family: its
equations, its gates and what each means, whether it has a W_hh matrix, and how its step Jacobian is formed.
A new cell is one entry in SPECS (and a step function for a new family) plus its reference test. The linear
recurrences (minGRU, minLSTM, the LRU, S6), whose gates read x_t only, are written out in linear_cells.py, and
xLSTM's sLSTM and mLSTM in xlstm_cells.py; both are joined here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.cellspec import RHO_TRANSITIONS, TRANSITIONS, CellSpec, LayerWeights  # noqa: F401 (re-exported)
from rnnviz.linear_cells import LINEAR_READOUTS, LINEAR_SPECS, LINEAR_STEPS
from rnnviz.xlstm_cells import XLSTM_READOUTS, XLSTM_SPECS, XLSTM_STEPS


def _gate_line(g: str, act: str = "σ", extra: str = "") -> str:
    return f"{g}_t = {act}(W_x{g} x_t + W_h{g} h_{{t−1}} + b_{g}{extra})"


def _lstm_equations(blocks, peephole=False, input_act=True, output_act=True, coupled=False) -> tuple[str, ...]:
    """The LSTM's lines (i, f, g, c, o, h) with a Greff variant's one change; a gate the cell lacks has no line."""
    peep = {g: f" + p_{g} ⊙ c_{c}" if peephole else "" for g, c in (("i", "{t−1}"), ("f", "{t−1}"), ("o", "t"))}
    keep = "(1 − i_t) ⊙ c_{t−1}" if coupled else "f_t ⊙ c_{t−1}" if "f" in blocks else "c_{t−1}"
    write = "i_t ⊙ g_t" if "i" in blocks else "g_t"
    squash = "tanh(c_t)" if output_act else "c_t"
    lines = {"i": _gate_line("i", extra=peep["i"]), "f": _gate_line("f", extra=peep["f"]),
             "g": _gate_line("g", "tanh") if input_act else "g_t = W_xg x_t + W_hg h_{t−1} + b_g",
             "c": f"c_t = {keep} + {write}", "o": _gate_line("o", extra=peep["o"]),
             "h": f"h_t = o_t ⊙ {squash}" if "o" in blocks else f"h_t = {squash}"}
    return tuple(line for k, line in lines.items() if k in blocks or k in "ch")


def _lstm_meanings(blocks, input_act=True, output_act=True, coupled=False) -> tuple[tuple[str, str], ...]:
    shown = "tanh(c_t)" if output_act else "c_t"
    meanings = {
        "i": "input gate: how much of the candidate g_t is written into c_t",
        "f": "forget gate: tied to the input gate, f_t = 1 − i_t, so what is written displaces what is kept"
             if coupled else "forget gate: how much of c_{t−1} is kept",
        "g": "candidate: the new content, in [−1, 1]" if input_act
             else "candidate: the new content, unbounded (no tanh)",
        "o": f"output gate: how much of {shown} is shown as h_t",
    }
    return tuple((g, m) for g, m in meanings.items() if g in blocks or (g == "f" and coupled))


def _lstm(name, blocks, summary, torch_equivalent=None, **kw) -> CellSpec:
    gates = tuple(g for g in "ifgo" if g in blocks or (g == "f" and kw.get("coupled")))
    act = {k: v for k, v in kw.items() if k != "peephole"}
    return CellSpec(name, "lstm", tuple(blocks), gates, torch_equivalent, has_cell=True, carried=("c",),
                    summary=summary,
                    equations=_lstm_equations(blocks, **kw), gate_meanings=_lstm_meanings(blocks, **act),
                    transition="gated", memory_gate="f" if "f" in gates else "", **kw)


def _rnn(name, torch_equivalent, nonlinearity, summary) -> CellSpec:
    return CellSpec(name, "rnn", ("h",), (), torch_equivalent, nonlinearity=nonlinearity, summary=summary,
                    equations=(f"h_t = {nonlinearity}(W_xh x_t + W_hh h_{{t−1}} + b)",), transition="elman")


GRU_MEANINGS = (("r", "reset gate: how much of W_hn h_{t−1} reaches the candidate n_t"),
                ("z", "update gate: how much of h_{t−1} is kept; 1 − z_t of the candidate n_t is written"),
                ("n", "candidate: the new state on offer, in [−1, 1]"))
GRU_BEFORE_MEANINGS = (("r", "reset gate: how much of h_{t−1} W_hn reads for the candidate n_t"),) + GRU_MEANINGS[1:]

SPECS: dict[str, CellSpec] = {
    s.name: s
    for s in (
        _rnn("rnn_tanh", "nn.RNN", "tanh", "Elman RNN, tanh units"),
        _rnn("rnn_relu", "nn.RNN(nonlinearity='relu')", "relu", "Elman RNN, relu units (IRNN with identity init)"),
        _lstm("lstm", "ifgo", "LSTM with forget gate (Gers et al. 2000), PyTorch's formulation", "nn.LSTM"),
        CellSpec("gru", "gru", tuple("rzn"), tuple("rzn"), "nn.GRU",
                 summary="GRU (Cho et al. 2014), PyTorch's formulation with b_hn inside r",
                 equations=(_gate_line("r"), _gate_line("z"),
                            "n_t = tanh(W_xn x_t + b_xn + r_t ⊙ (W_hn h_{t−1} + b_hn))",
                            "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}"),
                 gate_meanings=GRU_MEANINGS, transition="gated", memory_gate="z"),
        CellSpec("gru_reset_before", "gru", tuple("rzn"), tuple("rzn"), None,
                 summary="GRU as Cho et al. (2014) wrote it (Keras reset_after=False): r_t resets h_{t−1} before W_hn",
                 equations=(_gate_line("r"), _gate_line("z"),
                            "n_t = tanh(W_xn x_t + b_xn + W_hn (r_t ⊙ h_{t−1}) + b_hn)",
                            "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}"),
                 gate_meanings=GRU_BEFORE_MEANINGS, transition="gated", memory_gate="z", reset_before=True),
        _lstm("lstm_peephole", "ifgo", "LSTM with peephole connections", peephole=True),
        _lstm("lstm_nig", "fgo", "Greff et al. NIG: no input gate, i_t = 1"),
        _lstm("lstm_nfg", "igo", "Greff et al. NFG: no forget gate, f_t = 1"),
        _lstm("lstm_nog", "ifg", "Greff et al. NOG: no output gate, o_t = 1"),
        _lstm("lstm_cifg", "igo", "Greff et al. CIFG: coupled gates, f_t = 1 − i_t", coupled=True),
        _lstm("lstm_niaf", "ifgo", "Greff et al. NIAF: no input activation, g_t without its tanh", input_act=False),
        _lstm("lstm_noaf", "ifgo", "Greff et al. NOAF: no output activation, h_t = o_t ⊙ c_t",
              output_act=False),
        CellSpec("esn", "esn", ("h",), (), None,
                 summary="Echo state network: fixed random reservoir, leaky tanh units, trained readout",
                 equations=("h_t = (1 − α) h_{t−1} + α tanh(W_in x_t + W h_{t−1} + b)",), transition="leaky"),
    )
} | LINEAR_SPECS | XLSTM_SPECS


def get_spec(arch: str) -> CellSpec:
    if arch not in SPECS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(SPECS)}")
    return SPECS[arch]


def hidden_projection(h: Tensor, w: LayerWeights) -> Tensor:
    """gh = W_hh h_{t-1} + b_hh, the only place a step touches W_hh: its gradient is that step's share."""
    return F.linear(h, w.weight_hh, w.bias_hh)  # (N, G*H)


def rnn_step(gx: Tensor, h: Tensor, c: Tensor | None, w: LayerWeights, spec: CellSpec):
    """Elman RNN:  h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  φ = tanh or relu."""
    gh = hidden_projection(h, w)
    a = gx + gh
    h = torch.tanh(a) if spec.nonlinearity == "tanh" else torch.relu(a)
    return h, None, {"gh": gh, "preact.h": a}


def esn_step(gx: Tensor, h: Tensor, c: Tensor | None, w: LayerWeights, spec: CellSpec):
    """Leaky echo state network (Jaeger 2001; Jaeger et al. 2007):
        h_t = (1 - α) h_{t-1} + α tanh(W_in x_t + b + W h_{t-1})
    W_in (scaled by the input scaling) and W (scaled to a chosen spectral radius) stay fixed; α is the leak rate.
    """
    gh = hidden_projection(h, w)
    a = gx + gh
    alpha = w.leak_rate
    h = torch.tanh(a) if alpha == 1.0 else torch.lerp(h, torch.tanh(a), alpha)
    return h, None, {"gh": gh, "preact.h": a}


def gru_step(gx: Tensor, h: Tensor, c: Tensor | None, w: LayerWeights, spec: CellSpec):
    """GRU as torch.nn.GRU computes it (Cho et al. 2014 with the reset gate applied after W_hn):
        r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    """
    if spec.reset_before:
        return _gru_reset_before(gx, h, w)
    gh = hidden_projection(h, w)
    x_r, x_z, x_n = gx.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    a_r, a_z = x_r + h_r, x_z + h_z
    r, z = torch.sigmoid(a_r), torch.sigmoid(a_z)
    a_n = x_n + r * h_n
    n = torch.tanh(a_n)
    h = torch.lerp(n, h, z)  # n + z ⊙ (h - n)
    rec = {"gh": gh, "preact.r": a_r, "gate.r": r, "preact.z": a_z, "gate.z": z, "preact.n": a_n, "gate.n": n}
    return h, None, rec


def _gru_reset_before(gx: Tensor, h: Tensor, w: LayerWeights):
    """GRU with the reset gate applied before W_hn (Cho et al. 2014; Keras reset_after=False):
        r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn)
        h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    W_hh is applied in two products, since W_hn needs r_t: "gh" is recorded as its two parts (W_h[rz] h_{t-1} +
    b_h[rz], W_hn (r_t ⊙ h_{t-1}) + b_hn), and "hh_in" as what each block of W_hh read (h, h, r_t ⊙ h_{t-1}):
    a step's share of dL/dW_hh is then grad(gh)ᵀ hh_in block by block (trace.weight_grad_share)."""
    H = h.shape[-1]
    x_r, x_z, x_n = gx.chunk(3, -1)
    b = (None, None) if w.bias_hh is None else (w.bias_hh[:2 * H], w.bias_hh[2 * H:])
    gh_rz = F.linear(h, w.weight_hh[:2 * H], b[0])
    h_r, h_z = gh_rz.chunk(2, -1)
    a_r, a_z = x_r + h_r, x_z + h_z
    r, z = torch.sigmoid(a_r), torch.sigmoid(a_z)
    gh_n = F.linear(r * h, w.weight_hh[2 * H:], b[1])
    a_n = x_n + gh_n
    n = torch.tanh(a_n)
    h_new = torch.lerp(n, h, z)
    rec = {"gh": (gh_rz, gh_n), "hh_in": torch.cat([h, h, r * h], -1), "preact.r": a_r, "gate.r": r,
           "preact.z": a_z, "gate.z": z, "preact.n": a_n, "gate.n": n}
    return h_new, None, rec


def lstm_step(gx: Tensor, h: Tensor, c: Tensor, w: LayerWeights, spec: CellSpec):
    """LSTM and the variants of Greff et al. (2015), "LSTM: A Search Space Odyssey", in torch's gate order:
        i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi [+ p_i ⊙ c_{t-1}])
        f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf [+ p_f ⊙ c_{t-1}])
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho [+ p_o ⊙ c_t])
        h_t = o_t ⊙ tanh(c_t)
    Bracketed peepholes only for lstm_peephole. Variants change one line each: NIG i_t = 1, NFG f_t = 1,
    NOG o_t = 1, CIFG f_t = 1 - i_t, NIAF g_t = a_g, NOAF h_t = o_t ⊙ c_t. Unlike Greff's baseline, the
    variants here have no peepholes, so each differs from torch.nn.LSTM in exactly one respect.
    """
    gh = hidden_projection(h, w)
    pre = dict(zip(spec.blocks, (gx + gh).chunk(spec.num_blocks, -1)))
    peep = w.peephole if spec.peephole else None
    rec = {"gh": gh}
    if peep is not None:
        pre["i"] = pre["i"] + peep["i"] * c
        pre["f"] = pre["f"] + peep["f"] * c
    act = {k: torch.sigmoid(v) for k, v in pre.items() if k in "if"}
    if spec.coupled:
        act["f"] = 1.0 - act["i"]
    act["g"] = torch.tanh(pre["g"]) if spec.input_act else pre["g"]
    i, f, g = act.get("i"), act.get("f"), act["g"]
    c = (c if f is None else f * c) + (g if i is None else i * g)
    if "o" in pre:
        if peep is not None:
            pre["o"] = pre["o"] + peep["o"] * c
        act["o"] = torch.sigmoid(pre["o"])
    y = torch.tanh(c) if spec.output_act else c
    h = y * act["o"] if "o" in act else y
    for k in spec.gates:
        if k in pre:
            rec[f"preact.{k}"] = pre[k]
        rec[f"gate.{k}"] = act[k]
    rec["c"] = c
    return h, c, rec


STEPS = {"rnn": rnn_step, "esn": esn_step, "gru": gru_step, "lstm": lstm_step} | LINEAR_STEPS | XLSTM_STEPS
READOUTS = LINEAR_READOUTS | XLSTM_READOUTS  # family -> readout(gx, h, c, w): y_t for a spec.reads_out cell


def step_fn(spec: CellSpec):
    return STEPS[spec.family]
