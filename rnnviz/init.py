"""Initialisation schemes for recurrent weights, and the spectra that say what they will do to gradients.

Not training and not plotting: functions of a Recurrent stack's tensors. The spectral radius ρ of W_hh
sets the geometric rate at which a linearised recurrence forgets (ρ < 1: gradients vanish like ρ^lag)
or blows up (ρ > 1): Pascanu, Mikolov & Bengio (2013), section 2.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.stack import OWN_INIT, Recurrent, init_own

SCHEMES = {
    "default": "torch's default, every weight uniform in ±1/sqrt(H); the LRU, S6 and the mLSTM as their papers "
               "initialise them",
    "orthogonal": "each gate block of W_hh a random orthogonal matrix times the gain (Saxe et al. 2014)",
    "identity": "W_hh = gain × I, zero biases, tiny input weights: the IRNN of Le, Jaitly & Hinton (2015)",
    "spectral": "default weights with each W_hh block rescaled to the chosen spectral radius",
}


@dataclass
class InitConfig:
    scheme: str = "default"  # a key of SCHEMES
    spectral_radius: float = 1.0  # "spectral": target radius of every W_hh block
    gain: float = 1.0  # "orthogonal" and "identity": scale of W_hh
    forget_bias: float | None = None  # LSTM family: total forget bias b_if + b_hf (1.0 in Jozefowicz et al. 2015)

    def validate(self) -> "InitConfig":
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown initialisation {self.scheme!r}; choose one of {', '.join(SCHEMES)}")
        if not 0.0 < self.spectral_radius <= 10.0:
            raise ValueError(f"spectral radius {self.spectral_radius} is out of range; use (0, 10]")
        if not 0.0 < self.gain <= 10.0:
            raise ValueError(f"gain {self.gain} is out of range; use (0, 10]")
        if self.forget_bias is not None and not -20 <= self.forget_bias <= 20:  # NaN fails this too
            raise ValueError(f"forget-gate bias {self.forget_bias} is out of range; use -20 to 20")
        return self


def blocks(w_hh: Tensor, n: int) -> list[Tensor]:
    """The n square (H, H) gate blocks of a (n*H, H) recurrent matrix, as views."""
    return list(w_hh.chunk(n, 0))


def spectral_radius(w: Tensor) -> float:
    return float(torch.linalg.eigvals(w.detach().double().cpu()).abs().max())


@torch.no_grad()
def scale_to_radius(w: Tensor, radius: float) -> None:
    """Rescales a square matrix in place so that max |eigenvalue| = radius."""
    rho = spectral_radius(w)
    if rho > 0:
        w.mul_(radius / rho)


@torch.no_grad()
def apply_init(rnn: Recurrent, cfg: InitConfig, generator: torch.Generator | None = None) -> None:
    """Re-initialises every layer of `rnn` under `cfg` (draws from `generator` for reproducibility)."""
    cfg.validate()
    spec = rnn.spec
    if cfg.scheme != "default" and not spec.has_w_hh:
        raise ValueError(f"{spec.name} has no W_hh matrix for the {cfg.scheme!r} initialisation to shape; "
                         "use default")
    for k in range(rnn.num_layers):
        w_ih, b_ih, w = rnn.layer(k)
        H, bound = rnn.hidden_size, 1.0 / rnn.hidden_size ** 0.5
        for t in (w_ih, w.weight_hh, b_ih, w.bias_hh):
            if t is not None:
                t.uniform_(-bound, bound, generator=generator)
        if spec.family in OWN_INIT and cfg.scheme == "default":  # their paper's own, as Recurrent makes it
            init_own(rnn, k, generator)
        for block in blocks(w.weight_hh, spec.num_blocks) if spec.has_w_hh else ():
            if cfg.scheme == "orthogonal":
                q, r = torch.linalg.qr(torch.randn(H, H, generator=generator, dtype=torch.float64))
                block.copy_(cfg.gain * q * torch.sign(torch.diagonal(r)))  # Haar-distributed (Mezzadri 2007)
            elif cfg.scheme == "identity":
                block.copy_(cfg.gain * torch.eye(H))
            elif cfg.scheme == "spectral":
                scale_to_radius(block, cfg.spectral_radius)
        if cfg.scheme == "identity":
            w_ih.normal_(0.0, 0.001, generator=generator)
            for b in (b_ih, w.bias_hh):
                if b is not None:
                    b.zero_()
        if cfg.forget_bias is not None:
            set_forget_bias(rnn, k, cfg.forget_bias)


@torch.no_grad()
def set_forget_bias(rnn: Recurrent, layer: int, value: float) -> None:
    """Makes the forget gate's total bias b_if + b_hf equal `value` (cells with an f block only; minLSTM's has
    no b_hf, so b_if alone is set)."""
    spec = rnn.spec
    if "f" not in spec.blocks:
        raise ValueError(f"{spec.name} has no forget-gate weights to bias")
    _, b_ih, w = rnn.layer(layer)
    if b_ih is None:
        raise ValueError("this model has no biases (bias=False)")
    rows = spec.block_rows("f", rnn.hidden_size)
    b_ih[rows] = value
    if w.bias_hh is not None:
        w.bias_hh[rows] = 0.0


@torch.no_grad()
def init_reservoir(rnn: Recurrent, radius: float, input_scaling: float, generator: torch.Generator | None = None):
    """Echo state reservoir (Jaeger 2001): W ~ U(-1, 1) rescaled to `radius`, W_in ~ U(-1, 1) × input_scaling."""
    for k in range(rnn.num_layers):
        w_ih, b_ih, w = rnn.layer(k)
        w.weight_hh.uniform_(-1.0, 1.0, generator=generator)
        scale_to_radius(w.weight_hh, radius)
        w_ih.uniform_(-input_scaling, input_scaling, generator=generator)
        if b_ih is not None:
            b_ih.uniform_(-0.1 * input_scaling, 0.1 * input_scaling, generator=generator)
            w.bias_hh.zero_()


def matrix_spectrum(w: Tensor) -> dict:
    """Eigenvalues (complex, if square), singular values, spectral radius and largest singular value."""
    w = w.detach().double().cpu()
    sv = torch.linalg.svdvals(w)
    out = {"singular_values": sv.float(), "max_singular_value": float(sv[0])}
    if w.shape[0] == w.shape[1]:
        ev = torch.linalg.eigvals(w)
        out.update(eigenvalues=ev.to(torch.complex64), spectral_radius=float(ev.abs().max()))
    return out


def layer_spectra(rnn: Recurrent) -> list[dict]:
    """Per layer: each W_hh gate block's spectrum, the largest block radius, and σ_max of the whole W_hh."""
    if not rnn.spec.has_w_hh:
        raise ValueError(f"{rnn.spec.name} has no W_hh matrix to take the spectrum of; its recurrence is diagonal")
    out = []
    for k in range(rnn.num_layers):
        w_hh = rnn.layer(k)[2].weight_hh
        per_block = {g: matrix_spectrum(b) for g, b in zip(rnn.spec.blocks, blocks(w_hh, rnn.spec.num_blocks))}
        out.append({
            "blocks": per_block,
            "spectral_radius": max(s["spectral_radius"] for s in per_block.values()),
            "max_singular_value": matrix_spectrum(w_hh)["max_singular_value"],
        })
    return out



