"""The linear recurrences, one step each: minGRU and minLSTM ("Were RNNs All We Needed?", Feng et al. 2024), the
LRU (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for Long Sequences") and Mamba's selective
state space S6 (Gu & Dao 2023).

Not the loops (stack.py) and not the parallel scan itself (scan.py). Their gates read x_t only, never h_{t−1},
so there is no W_hh and h_t is linear in h_{t−1} (the LRU's a_t = λ is complex and the same at every step):

    h_t = a_t ⊙ h_{t−1} + b_t,   ∂h_t/∂h_{t−1} = diag(a_t) exactly,

with a_t and b_t functions of x_t alone. That is why they train in parallel: `coefficients` gives every
step's (a_t, b_t) at once for scan.py's scans, `parallel_forward` runs a layer that way, and the tests hold each
scan equal to the step loop below.
The step has the same shape as every cell's (cells.py): h_t, c_t, rec = step(gx_t, h_{t−1}, c_{t−1}, w, spec),
gx_t = W_ih x_t + b_ih holding the blocks in spec.blocks' order. The paper's candidate h̃_t is named n_t here,
as the GRU's candidate is, so gate names stay plain letters.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.cellspec import CellSpec, LayerWeights
from rnnviz.scan import associative_scan


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


def lru_step(gx: Tensor, h: Tensor, c: Tensor | None, w: LayerWeights, spec: CellSpec):
    """LRU (Orvieto et al. 2023), a complex diagonal linear recurrence with the paper's position-wise GELU after it:
        λ = exp(−exp(ν) + i·exp(θ))               |λ| = exp(−exp(ν)) < 1 for any ν, θ: stable by construction
        h_t = λ ⊙ h_{t−1} + γ ⊙ (B x_t)           γ = exp(γ_log), initialised to sqrt(1 − |λ|²)
        y_t = GELU(Re(C h_t) + D x_t)
    h (N complex units) is carried as [Re h, Im h], H = 2N real numbers, so the views see the state; y_t, what the
    next layer or the head reads, is rec["y"]. gx = [Re(B x_t), Im(B x_t), D x_t] (+ b_ih); C is stored as the
    real (H, 2N) matrix [Re C | −Im C], so Re(C h) = weight_c @ [Re h, Im h]. D is a matrix, not the paper's
    diagonal, since a layer's input and output widths may differ. "decay" is |λ| for both halves of each unit."""
    lam_re, lam_im, gamma = lru_lambda(w)
    h_re, h_im = h.chunk(2, -1)
    N = h_re.shape[-1]
    bx_re, bx_im, dx = gx.split([N, N, 2 * N], -1)
    h = torch.cat([lam_re * h_re - lam_im * h_im + gamma * bx_re, lam_re * h_im + lam_im * h_re + gamma * bx_im], -1)
    mag = torch.cat([lam_re.hypot(lam_im)] * 2).expand_as(h)
    return h, None, {"decay": mag} | lru_readout(gx, h, None, w)


def lru_readout(gx: Tensor, h: Tensor, c: Tensor | None, w: LayerWeights) -> dict[str, Tensor]:
    """The LRU's output from its state h_t: y_t = GELU(Re(C h_t) + D x_t), with its pre-activation."""
    pre = F.linear(h, w.extra["weight_c"]) + gx[..., h.shape[-1]:]
    return {"y": F.gelu(pre), "preact.y": pre}


def lru_lambda(w: LayerWeights) -> tuple[Tensor, Tensor, Tensor]:
    """(Re λ, Im λ, γ), each (N,), from the layer's ν, θ and γ logs."""
    e = w.extra
    r, theta = torch.exp(-torch.exp(e["nu_log"])), torch.exp(e["theta_log"])
    return r * torch.cos(theta), r * torch.sin(theta), torch.exp(e["gamma_log"])


@torch.no_grad()
def init_lru(extra: dict[str, Tensor], w_ih: Tensor, r_min: float = 0.0, r_max: float = 1.0,
             max_phase: float = 2 * math.pi, generator: torch.Generator | None = None) -> None:
    """The paper's initialisation (and minimal-LRU's defaults): λ uniform on the ring r_min ≤ |λ| ≤ r_max with
    phase in [0, max_phase], γ = sqrt(1 − |λ|²), B ~ N(0, 1/(2 D)) per real part, C ~ N(0, 1/N), D ~ N(0, 1/D)."""
    N, D = extra["nu_log"].shape[0], w_ih.shape[1]
    u1, u2 = torch.rand(2, N, generator=generator, dtype=torch.float64)
    nu = -0.5 * torch.log(u1 * (r_max ** 2 - r_min ** 2) + r_min ** 2)
    extra["nu_log"].copy_(torch.log(nu))
    extra["theta_log"].copy_(torch.log(max_phase * u2.clamp_min(1e-4)))
    extra["gamma_log"].copy_(0.5 * torch.log1p(-torch.exp(-2 * nu)))  # log sqrt(1 − |λ|²), |λ|² = exp(−2ν)
    w_ih[:2 * N].normal_(0.0, (2 * D) ** -0.5, generator=generator)
    w_ih[2 * N:].normal_(0.0, D ** -0.5, generator=generator)
    extra["weight_c"].normal_(0.0, N ** -0.5, generator=generator)


S6_STATE = 4  # N, state numbers per channel: Mamba uses 16; 4 keeps the state (H·N) readable on screen
MAMBA_CONV = 4  # K, the width of Mamba's causal convolution (its d_conv)


def s6_step(gx: Tensor, h: Tensor, c: Tensor | None, w: LayerWeights, spec: CellSpec):
    """S6, Mamba's selective state space (Gu & Dao 2023), in the smallest block that keeps its gating branch:
    per channel d of H, a state of N numbers whose forgetting depends on the input.
        u_t = SiLU(W_xu x_t + b_u),  z_t = W_xz x_t + b_z                    (Mamba's two branches)
        Δ_t = softplus(W_Δ u_t + b_Δ),  B_t = W_B u_t,  C_t = W_C u_t          (selection: all from the input)
        h_t[d, n] = exp(Δ_t[d] A[d, n]) h_{t−1}[d, n] + Δ_t[d] B_t[n] u_t[d]   A = −exp(A_log) < 0
        y_t = (Σ_n C_t[n] h_t[·, n] + D ⊙ u_t) ⊙ SiLU(z_t)
    h is carried flat, (.., H·N) with n fastest; [W_Δ; W_B; W_C] is weight_x (H + 2N, H) (Mamba's x_proj and
    dt_proj in one, without the low rank), b_Δ is bias_dt. "decay" is exp(Δ_t A), the eigenvalues of
    ∂h_t/∂h_{t−1}; gate.dt is Δ_t: large Δ forgets the past and takes in u_t, small Δ keeps the state.

    In Mamba's block (the `mamba` cell: spec.conv, spec.residual) the same recurrence sits between a causal
    convolution and a residual connection, as Gu & Dao's Figure 3 draws it:
        x̂_t = RMSNorm(x_t) ⊙ g                                              (Recurrent.layer_input, before W_ih)
        u_t = SiLU(Σ_{j<K} w_conv[·, j] ⊙ ũ_{t−K+1+j} + b_conv),  ũ_t = W_xu x̂_t + b_u   (depthwise, causal, K = 4)
        out_t = x_t + W_out y_t                                              (x_t where it is H wide, else 0)
    The c slot carries the convolution's window [ũ_{t−K+1}, .., ũ_t] (K·H, oldest first); gx is [ũ_t; z_t; x_t]."""
    window = _window(gx, c, w)
    u, z, dt, B, C, A, r = _s6_inputs(gx, w, window)
    decay = torch.exp(dt.unsqueeze(-1) * A)  # (.., H, N)
    h = (decay * h.unflatten(-1, A.shape) + (dt * u).unsqueeze(-1) * B.unsqueeze(-2)).flatten(-2)
    rec = {"gate.dt": dt, "preact.z": z, "u": u, "decay": decay.flatten(-2)}
    return h, window, rec | _s6_output(h, u, z, C, r, w)


def s6_readout(gx: Tensor, h: Tensor, c: Tensor | None, w: LayerWeights) -> dict[str, Tensor]:
    """S6's output from its state h_t (and, in Mamba's block, the window c the step returned):
    y_t = (Σ_n C_t[n] h_t[·, n] + D ⊙ u_t) ⊙ SiLU(z_t), then out_t = x_t + W_out y_t in the block."""
    u, z, _, _, C, _, r = _s6_inputs(gx, w, c)
    return _s6_output(h, u, z, C, r, w)


def _s6_output(h: Tensor, u: Tensor, z: Tensor, C: Tensor, r: Tensor, w: LayerWeights) -> dict[str, Tensor]:
    y = ((h.unflatten(-1, (u.shape[-1], -1)) * C.unsqueeze(-2)).sum(-1) + w.extra["D"] * u) * F.silu(z)
    if "weight_out" in w.extra:  # Mamba's block: the out-projection and the residual connection
        y = r + F.linear(y, w.extra["weight_out"])
    return {"y": y}


def _window(gx: Tensor, c: Tensor | None, w: LayerWeights) -> Tensor | None:
    """The convolution's window after this step: c's last K−1 values of ũ and this step's ũ_t (None: no conv)."""
    if "conv" not in w.extra:
        return None
    H = w.extra["conv"].shape[0]
    return torch.cat([c[..., H:], gx[..., :H]], -1)


def _s6_inputs(gx: Tensor, w: LayerWeights, window: Tensor | None = None):
    """(u, z, Δ, B, C, A, r) of the step above, for one step (.., ·) or every step (B, T, ·) at once; with a
    convolution, `window` is its input: (.., K·H) for one step, (B, T + K − 1, H) for every step."""
    A = -torch.exp(w.extra["A_log"])  # (H, N)
    H, N = A.shape
    u_pre, z, r = gx.split([H, H, gx.shape[-1] - 2 * H], -1)  # r, the block's residual input: empty without one
    if "conv" in w.extra:
        k = w.extra["conv"]  # (H, K)
        if gx.dim() == 3:  # every step at once: window is the sequence with the K − 1 values before it; K shifted
            T = gx.shape[1]  # multiply-adds (F.conv1d's depthwise backward took 3 ms a training step at B 32, H 128)
            u_pre = w.extra["conv_bias"] + sum(window[:, j:j + T] * k[:, j] for j in range(k.shape[1]))
        else:
            u_pre = (window.unflatten(-1, (k.shape[1], H)) * k.T).sum(-2) + w.extra["conv_bias"]
    u = F.silu(u_pre)
    dt_pre, B, C = F.linear(u, w.extra["weight_x"]).split([H, N, N], -1)
    return u, z, F.softplus(dt_pre + w.extra["bias_dt"]), B, C, A, r


@torch.no_grad()
def init_s6(extra: dict[str, Tensor], w_ih: Tensor, dt_min: float = 1e-3, dt_max: float = 0.1,
            generator: torch.Generator | None = None) -> None:
    """Mamba's initialisation (mamba-minimal's): A = −(1, 2, .., N) per channel (S4D-real), D = 1, Δ's bias so
    softplus(b_Δ) is log-uniform in [dt_min, dt_max], the projections uniform in ±1/sqrt(fan-in); in Mamba's block
    the norm's gain 1 and the convolution as torch's Conv1d makes it (±1/sqrt(K), its fan-in)."""
    H, N = extra["A_log"].shape
    extra["A_log"].copy_(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).expand(H, N))
    extra["D"].fill_(1.0)
    dt = torch.exp(torch.rand(H, generator=generator) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
    extra["bias_dt"].copy_(dt + torch.log(-torch.expm1(-dt)))  # the inverse of softplus
    extra["weight_x"].uniform_(-H ** -0.5, H ** -0.5, generator=generator)
    w_ih.uniform_(-w_ih.shape[1] ** -0.5, w_ih.shape[1] ** -0.5, generator=generator)
    if "conv" in extra:
        bound = extra["conv"].shape[1] ** -0.5
        extra["conv"].uniform_(-bound, bound, generator=generator)
        extra["conv_bias"].uniform_(-bound, bound, generator=generator)
    if "norm" in extra:
        extra["norm"].fill_(1.0)
        extra["weight_out"].uniform_(-H ** -0.5, H ** -0.5, generator=generator)


def parallel_forward(gx: Tensor, h0: Tensor, c0: Tensor | None, w: LayerWeights,
                     spec: CellSpec) -> tuple[Tensor, Tensor, Tensor | None]:
    """A whole layer as one scan: gx (B, T, ·), h0 (B, H), c0 (B, ·) or None -> (the layer's outputs (B, T, ·),
    h_T (B, H), c_T or None), equal to running the step over t."""
    if spec.family == "min":
        h = associative_scan(*coefficients(gx, spec), h0)
        return h, h[:, -1], None
    if spec.family == "s6":
        window = c_T = None
        if spec.conv:  # the K − 1 values before the sequence, then the sequence: the convolution's input
            H = w.extra["conv"].shape[0]
            window = torch.cat([c0.unflatten(-1, (-1, H)), gx[..., :H]], 1)  # (B, K + T, H)
            c_T, window = window[:, -spec.conv:].flatten(1), window[:, 1:]
        u, z, dt, B, C, A, r = _s6_inputs(gx, w, window)
        a = torch.exp(dt.unsqueeze(-1) * A)  # (B, T, H, N)
        b = (dt * u).unsqueeze(-1) * B.unsqueeze(-2)
        hs = associative_scan(a.flatten(-2), b.flatten(-2), h0)
        return _s6_output(hs, u, z, C, r, w)["y"], hs[:, -1], c_T
    lam_re, lam_im, gamma = lru_lambda(w)
    N = lam_re.shape[0]
    bx_re, bx_im, dx = gx.split([N, N, 2 * N], -1)
    lam = torch.complex(lam_re, lam_im).expand(*gx.shape[:2], N)
    h0_re, h0_im = h0.chunk(2, -1)
    s = associative_scan(lam, torch.complex(gamma * bx_re, gamma * bx_im), torch.complex(h0_re, h0_im))
    h = torch.cat([s.real, s.imag], -1)
    return F.gelu(F.linear(h, w.extra["weight_c"]) + dx), h[:, -1], None


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
                 carry="a_t ⊙", input_act=False, **_DIAGONAL),
        CellSpec("minlstm", "min", ("f", "i", "n"), ("f", "i", "n"),
                 summary="minLSTM (Feng et al. 2024): forget and input gates read x_t only and are normalised to "
                         "sum to 1; trains as a parallel scan",
                 equations=("f_t = σ(W_xf x_t + b_f)", "i_t = σ(W_xi x_t + b_i)", "n_t = W_xn x_t + b_n",
                            "h_t = f′_t ⊙ h_{t−1} + i′_t ⊙ n_t,  f′_t = f_t / (f_t + i_t),  i′_t = i_t / (f_t + i_t)"),
                 gate_meanings=(("f", "forget gate: normalised, f′_t = f_t / (f_t + i_t) of h_{t−1} is kept"),
                                ("i", "input gate: normalised, i′_t = 1 − f′_t of the candidate n_t is written"),
                                ("n", "candidate: the new state on offer, a linear function of x_t (the paper's "
                                      "h̃_t)")),
                 memory_gate="f", carry="a_t ⊙", input_act=False, **_DIAGONAL),
        CellSpec("lru", "lru", ("B", "D"), (),
                 summary="LRU (Orvieto et al. 2023): a complex diagonal linear recurrence, |λ| < 1 by construction, "
                         "then GELU; trains as a parallel scan",
                 equations=("λ = exp(−exp(ν) + i exp(θ)),  |λ| < 1", "h_t = λ ⊙ h_{t−1} + γ ⊙ (B x_t)",
                            "y_t = GELU(Re(C h_t) + D x_t)"),
                 carry="λ ⊙", reads_out=True, **(_DIAGONAL | {"transition": "rotation"})),
        CellSpec("s6", "s6", ("u", "z"), ("dt",),
                 summary="S6, Mamba's selective state space (Gu & Dao 2023): how fast each channel forgets, Δ_t, "
                         "is chosen by the input; trains as a parallel scan",
                 equations=("u_t = SiLU(W_xu x_t + b_u)", "z_t = W_xz x_t + b_z",
                            "Δ_t = softplus(W_Δ u_t + b_Δ),  B_t = W_B u_t,  C_t = W_C u_t",
                            "h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t",
                            "y_t = (C_t h_t + D ⊙ u_t) ⊙ SiLU(z_t)"),
                 gate_meanings=(("dt", "step size: Δ_t, large forgets h_{t−1} and takes in u_t, small keeps h"),),
                 carry="exp(Δ_t A) ⊙", state_per_unit=S6_STATE, reads_out=True, **_DIAGONAL),
        CellSpec("mamba", "s6", ("u", "z"), ("dt",),
                 summary="S6 inside Mamba's block (Gu & Dao 2023): a causal convolution before the selective state "
                         "space, RMSNorm before the layer and a residual connection around it; stacks deep",
                 equations=("x̂_t = RMSNorm(x_t) ⊙ g", "ũ_t = W_xu x̂_t + b_u",
                            "u_t = SiLU(w_conv ∗ [ũ_{t−3}, .., ũ_t] + b_conv)", "z_t = W_xz x̂_t + b_z",
                            "Δ_t = softplus(W_Δ u_t + b_Δ),  B_t = W_B u_t,  C_t = W_C u_t",
                            "h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t",
                            "y_t = x_t + W_out ((C_t h_t + D ⊙ u_t) ⊙ SiLU(z_t))"),
                 gate_meanings=(("dt", "step size: Δ_t, large forgets h_{t−1} and takes in u_t, small keeps h"),),
                 carry="exp(Δ_t A) ⊙", state_per_unit=S6_STATE, reads_out=True, conv=MAMBA_CONV, residual=True,
                 carried=tuple(f"ũ_{{t−{j}}}" for j in range(MAMBA_CONV - 1, 0, -1)) + ("ũ_t",), **_DIAGONAL),
    )
}

LINEAR_STEPS = {"min": min_step, "lru": lru_step, "s6": s6_step}
# y_t from the state h_t, for the cells that read their output from it (spec.reads_out): each step ends by calling
# its readout on the very h_t it returns, so dL/dh_t (the trace's grad.h) has y_t's path as well as h_{t+1}'s
LINEAR_READOUTS = {"lru": lru_readout, "s6": s6_readout}
