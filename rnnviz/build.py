"""The model a ModelConfig describes, on the chosen device; the one place that knows both model kinds."""
from __future__ import annotations

import torch
from torch import nn

from rnnviz.models import ModelConfig, RNNModel, default_device
from rnnviz.seq2seq import Seq2Seq


def build_model(cfg: ModelConfig, device: torch.device | str | None = None,
                seed: int | None = None) -> nn.Module:
    """A fresh model for `cfg` on `device` (default_device() if None); `seed` makes its weights reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    model: nn.Module = Seq2Seq(cfg) if cfg.seq2seq else RNNModel(cfg)
    return model.to(device if device is not None else default_device())
