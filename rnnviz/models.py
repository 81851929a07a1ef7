"""A sequence model: input layer -> stacked recurrent cells -> head, sized by one flat config.

Not the recurrences (cells.py), not the loops (stack.py), not the encoder-decoder (seq2seq.py). Module
names follow what people write with torch.nn (`embedding`, `rnn`, `head`), so the state_dict of an
`nn.Embedding + nn.LSTM + nn.Linear` model and ours line up key for key.
"""
from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor, nn

from rnnviz.cells import get_spec
from rnnviz.init import init_reservoir
from rnnviz.model_stacks import BACKWARD
from rnnviz.stack import Recurrent, Tape, check_sizes

MAX_VOCAB = 100_000  # an embedding beyond this is not a character or toy-word model
MAX_FEATURES = 4096


@dataclass
class ModelConfig:
    arch: str = "lstm"  # a name from cells.SPECS
    input_size: int = 1  # features per step when inputs are vectors (ignored for tokens)
    vocab_size: int = 0  # > 0: inputs are token ids in [0, vocab_size), embedded first
    embed_size: int = 32  # characters and toy words need few dimensions
    input_proj: int = 0  # > 0: vector inputs pass a linear layer of this width first; 0 feeds them as nn.LSTM does
    hidden_size: int = 64  # small enough to train live on two cores
    num_layers: int = 1  # 1 to 4
    output_size: int = 0  # > 0: a linear head to this many outputs (classes, values or target tokens)
    dropout: float = 0.0  # between stacked layers, as nn.LSTM(dropout=...)
    bias: bool = True  # False for models imported from nn.LSTM(bias=False)
    spectral_radius: float = 0.9  # ESN reservoir; below 1 for the echo state property (Jaeger 2001)
    leak_rate: float = 1.0  # ESN leak α: 1 is memoryless tanh, small values integrate slowly
    input_scaling: float = 1.0  # ESN input weights' scale
    seq2seq: bool = False  # encoder-decoder: the decoder reads its own previous output tokens
    attention: str = "none"  # seq2seq only: "none", "additive" (Bahdanau 2015) or "dot" (Luong 2015)
    bidirectional: bool = False  # each layer also reads the sequence backwards (imported nn.RNN/LSTM/GRU files)

    @property
    def tokens(self) -> bool:
        return self.vocab_size > 0

    @property
    def cell_input_size(self) -> int:
        if self.tokens:
            return self.embed_size
        return self.input_proj or self.input_size

    def validate(self) -> "ModelConfig":
        spec = check_sizes(self.arch, self.cell_input_size, self.hidden_size, self.num_layers, self.dropout,
                           self.bidirectional)
        if self.bidirectional and self.seq2seq:
            raise ValueError("an encoder-decoder here runs one way; bidirectional is for a single stack")
        if self.seq2seq and spec.reads_out:  # attention queries the decoder's state: it must be what it outputs
            raise ValueError(f"an encoder-decoder needs a cell whose output is its state, and {self.arch} reads "
                             "its output from its state; choose another cell for this task")
        for name, value, top in (("vocabulary size", self.vocab_size, MAX_VOCAB),
                                 ("input size", self.input_size, MAX_FEATURES),
                                 ("output size", self.output_size, MAX_VOCAB)):
            if not 0 <= value <= top:
                raise ValueError(f"{name} {value} is out of range; use 0 to {top}")
        if self.attention not in ("none", "additive", "dot"):
            raise ValueError(f"unknown attention {self.attention!r}; choose none, additive or dot")
        if self.seq2seq and self.output_size < 1:
            raise ValueError("an encoder-decoder needs output_size, the size of its target vocabulary")
        if not self.seq2seq and self.attention != "none":
            raise ValueError("attention needs an encoder-decoder (seq2seq=True)")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d).validate()


@functools.lru_cache(maxsize=1)
def default_device() -> torch.device:
    """CUDA when present, else the CPU; RNNVIZ_DEVICE=cpu (or cuda:1, ...) overrides. Chosen once."""
    name = os.environ.get("RNNVIZ_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def embed_input(model: nn.Module, cfg: ModelConfig, x: Tensor) -> Tensor:
    """Token ids -> model.embedding, or vectors -> model.input_proj (if any); says what is wrong with x."""
    if cfg.tokens:
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"token input must be integer ids of shape (batch, time); got {x.dtype} {tuple(x.shape)}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= cfg.vocab_size):
            raise ValueError(f"token ids must lie in 0..{cfg.vocab_size - 1}; got {int(x.min())}..{int(x.max())}")
        return model.embedding(x)
    if x.dim() != 3 or x.shape[-1] != cfg.input_size:
        raise ValueError(f"vector input must have shape (batch, time, {cfg.input_size}); got {tuple(x.shape)}")
    x = x.to(next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32))  # a .double() copy's
    return model.input_proj(x) if cfg.input_proj else x


def make_input_layer(model: nn.Module, cfg: ModelConfig) -> None:
    """Adds `embedding` (tokens) or `input_proj` (projected vectors) to model, under torch's usual names."""
    if cfg.tokens:
        model.embedding = nn.Embedding(cfg.vocab_size, cfg.embed_size)
    elif cfg.input_proj:
        model.input_proj = nn.Linear(cfg.input_size, cfg.input_proj)


class RNNModel(nn.Module):
    """x (B, T) ids or (B, T, D) vectors -> outputs (B, T, O), or hidden states (B, T, H) without a head (2H,
    [h→_t, h←_t], for a bidirectional stack)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.spec = get_spec(cfg.arch)
        make_input_layer(self, cfg)
        self.rnn = Recurrent(cfg.arch, cfg.cell_input_size, cfg.hidden_size, cfg.num_layers, cfg.dropout,
                             cfg.bias, cfg.leak_rate, cfg.bidirectional)
        width = cfg.hidden_size * self.rnn.directions  # a bidirectional stack outputs [h→_t, h←_t]
        self.head = nn.Linear(width, cfg.output_size) if cfg.output_size else None
        if self.spec.family == "esn":
            init_reservoir(self.rnn, cfg.spectral_radius, cfg.input_scaling)
            freeze_input(self)  # only the readout learns

    def forward(self, x: Tensor, y: Tensor | None = None, state=None):
        """The one call every model answers (minGPT's `model(x, y)`): y is unused here (the loss is the task's)
        and required by the encoder-decoder, which reads it for teacher forcing."""
        if isinstance(y, tuple):
            raise TypeError("model(x, state) is now model(x, state=state): the second argument is the targets y")
        out, state = self.rnn(embed_input(self, self.cfg, x), state)
        return (self.head(out) if self.head is not None else out), state

    def forward_traced(self, x: Tensor, y: Tensor | None = None, state=None):
        """The written-out loop; returns (outputs, state, tapes={"": Tape} (and "bwd.": the backward direction's,
        in the order it reads, for a bidirectional stack), extras={"x": embedded input})."""
        xe = embed_input(self, self.cfg, x)
        if not xe.requires_grad:  # vectors or a frozen embedding: still want dL/dx_t and connectivity
            xe = xe.detach().requires_grad_()
        out, state, tape = self.rnn.forward_traced(xe, state, Tape())
        y = self.head(out) if self.head is not None else out
        return y, state, {"": tape} | ({BACKWARD: tape.backward} if tape.backward is not None else {}), {"x": xe}



def freeze_input(model: nn.Module) -> None:
    for name in ("embedding", "input_proj"):
        if hasattr(model, name):
            getattr(model, name).requires_grad_(False)


def num_parameters(model: nn.Module) -> int:
    """Every weight, trained or fixed (an ESN's reservoir counts)."""
    return sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
