"""Gradient flow through time as numbers: ||dL/dh_t|| per step, Jacobian norms by lag, W_hh spectra, the
gradient heat over training and truncated-BPTT windows. Not figures (rnnviz/plots/gradients.py draws them).

The geometric rate: linearise h_t = φ(W_hh h_{t-1} + ...) and ∂h_T/∂h_t is a product of T-t Jacobians
diag(φ') W_hh, whose norm behaves like ρ^(T-t) for ρ the spectral radius of W_hh (Pascanu, Mikolov &
Bengio 2013, section 2.1): tanh' <= 1 only makes it shrink faster. For gated cells W_hh is one of several
paths (the LSTM's cell state adds f_t), so ρ is a reference line, not a prediction.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from rnnviz.analysis.traces import check_index, resolve_prefix, tensor
from rnnviz.init import blocks, layer_spectra, matrix_spectrum
from rnnviz.model_stacks import stack_of
from rnnviz.trace import Trace


class LagCurve(NamedTuple):
    lag: np.ndarray  # (n,) T-1-t, ascending, steps with a recorded norm only
    norm: np.ndarray  # (n,) ||∂h_{T-1}/∂h_t||_F


def grad_norms(trace: Trace, name: str = "grad.h", sample: int | None = None,
               prefix: str | None = None) -> np.ndarray:
    """(layer, step) ||name[layer, sample, step, :]||_2 over units: the mean of the samples' norms (sample
    None) or one sample's. name: grad.h, grad.c, grad.gh or any (layer, sample, step, unit) tensor."""
    t = tensor(trace, name, resolve_prefix(trace, prefix))
    n = np.linalg.norm(t.astype(np.float64), axis=-1)  # (L, B, T)
    if sample is None:
        return n.mean(1).astype(np.float32)
    return n[:, check_index("sample", sample, n.shape[1])].astype(np.float32)


def jacobian_by_lag(trace: Trace, layer: int = 0, prefix: str | None = None) -> LagCurve:
    """The trace's Jacobian norms against lag T-1-t, without the steps the probe thinned (NaN there)."""
    j = tensor(trace, "jacobian", resolve_prefix(trace, prefix)).astype(np.float64)
    j = j[check_index("layer", layer, j.shape[0])]
    lag = (j.size - 1 - np.arange(j.size))[::-1]
    norm = j[::-1]
    keep = np.isfinite(norm)
    return LagCurve(lag[keep].astype(np.float32), norm[keep].astype(np.float32))


def diagonal_jacobian_by_lag(trace: Trace, layer: int = 0, prefix: str | None = None, sample: int = 0) -> LagCurve:
    """For a linear recurrence h_t = a_t ⊙ h_{t−1} + b_t (the trace has "decay" a_t), the exact law:
    ∂h_{T−1}/∂h_t = diag(Π_{s=t+1..T−1} a_s), so ||·||_F = sqrt(Σ_u Π_s a_{s,u}²), from the recorded decays alone,
    against lag as jacobian_by_lag gives the measured norms (which are of sample 0)."""
    p = resolve_prefix(trace, prefix)
    a = tensor(trace, "decay", p).astype(np.float64)  # (L, B, T, H)
    a = a[check_index("layer", layer, a.shape[0]), check_index("sample", sample, a.shape[1])]  # (T, H)
    later = np.concatenate([np.cumprod((a * a)[::-1], 0)[::-1][1:], np.ones((1, a.shape[1]))])  # Π_{s>t} a_s²
    norm = np.sqrt(later.sum(1))[::-1]  # by lag 0..T−1
    return LagCurve(np.arange(norm.size, dtype=np.float32), norm.astype(np.float32))


def geometric_rate(lag, rho: float, anchor: float) -> np.ndarray:
    """anchor · ρ^lag: the decay (ρ < 1) or growth (ρ > 1) a linear recurrence with radius ρ implies."""
    rate = anchor * np.power(float(rho), np.asarray(lag, dtype=np.float64))
    return np.clip(rate, 0.0, np.finfo(np.float32).max).astype(np.float32)  # growth past float32 draws at the top


def recurrent_weights(model: nn.Module, prefix: str = "", layer: int = 0) -> torch.Tensor:
    """W_hh (G*H, H) of one layer of a model's recurrent stack (prefix "", "enc." or "dec."), detached."""
    rnn = stack_of(model, prefix)
    if not rnn.spec.has_w_hh:
        raise ValueError(f"{rnn.spec.name} has no W_hh matrix; its recurrence is diagonal (see its decays a_t)")
    return rnn.layer(check_index("layer", layer, rnn.num_layers))[2].weight_hh.detach().cpu()


def spectral_radius(model: nn.Module, prefix: str = "", layer: int = 0) -> float:
    """ρ of a layer's W_hh: the largest over its gate blocks, as init.layer_spectra reports it."""
    rnn = stack_of(model, prefix)
    return float(layer_spectra(rnn)[check_index("layer", layer, rnn.num_layers)]["spectral_radius"])


def block_spectra(w_hh, names: list[str]) -> dict[str, dict]:
    """Per gate block of W_hh (G*H, H): eigenvalues (complex numpy), sorted singular values, ρ and σ_max."""
    w = torch.as_tensor(np.asarray(w_hh)) if not isinstance(w_hh, torch.Tensor) else w_hh
    if w.dim() != 2 or w.shape[0] != len(names) * w.shape[1]:
        raise ValueError(f"W_hh has shape {tuple(w.shape)}; expected ({len(names)}*H, H) for blocks {names}")
    out = {}
    for g, b in zip(names, blocks(w, len(names))):
        s = matrix_spectrum(b)
        out[g] = {"eigenvalues": s["eigenvalues"].numpy(), "singular_values": s["singular_values"].numpy(),
                  "spectral_radius": s["spectral_radius"], "max_singular_value": s["max_singular_value"]}
    return out


def grad_heat_matrix(grad_heat: list) -> tuple[np.ndarray, np.ndarray]:
    """Trainer.grad_heat [(train_step, [||dL/dh_t|| per t]), ...] -> (train steps (P,), Z (P, T_max)),
    shorter rows padded with NaN (a probe batch of a different length after a resume)."""
    if not grad_heat:
        raise ValueError("there is no gradient history yet; train for at least one probe interval")
    steps = np.asarray([s for s, _ in grad_heat], dtype=np.float32)
    width = max(len(r) for _, r in grad_heat)
    z = np.full((len(grad_heat), width), np.nan, dtype=np.float32)
    for i, (_, row) in enumerate(grad_heat):
        z[i, :len(row)] = row
    return steps, z


def tbptt_windows(steps: int, k1: int) -> list[tuple[int, int]]:
    """The [start, end) windows truncated BPTT with k1 cuts a sequence of `steps` into, first to last."""
    if k1 < 1:
        raise ValueError(f"truncation length {k1} must be at least 1")
    return [(s, min(s + k1, steps)) for s in range(0, steps, k1)]
