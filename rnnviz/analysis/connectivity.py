"""Per-input connectivity: how strongly the final output reacts to each earlier input step, as in Distill's
"Memorization in RNNs" (Madsen 2019). Not a figure (plots/connectivity.py draws the bars).

connectivity[s] = ||∂ y*_{T-1} / ∂ x_s||_2, the gradient of one scalar of the LAST step's output with
respect to step s's cell input vector x_s (the embedding of a token, or the input vector, after any
input projection): y* is the largest output (the predicted class's logit; for a one-value regressor the
value itself) with target="top", or ||y_{T-1}||_2 with target="norm". Computed by autograd on
model.forward_traced's output with respect to its traced "x" (one sample, eval mode, parameters' .grad
untouched). For an encoder-decoder, y_{T-1} is the last decoder step (teacher-forced on y) and s runs over
the source. trace_connectivity reads the trace's grad.x instead: ||dL/dx_s||, the same picture for the
probe's loss (the default loss is the last step's cross-entropy, i.e. about the predicted class).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from rnnviz.analysis.traces import check_index, tensor
from rnnviz.trace import Trace

TARGETS = ("top", "norm")


def input_connectivity(model: nn.Module, x: Tensor, y: Tensor | None = None, sample: int = 0,
                       target: str = "top") -> np.ndarray:
    """(S,) ||∂ y*_{T-1} / ∂ x_s|| for every input step s of x[sample] (see the module docstring)."""
    if target not in TARGETS:
        raise ValueError(f"unknown connectivity target {target!r}; choose top or norm")
    sample = check_index("sample", sample, x.shape[0])
    seq2seq = getattr(model.cfg, "seq2seq", False)
    if seq2seq and y is None:
        raise ValueError("an encoder-decoder needs its target sequence y to measure connectivity")
    xs = x[sample:sample + 1]
    was = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out, _, _, extras = model.forward_traced(xs, None if y is None else y[sample:sample + 1])
            last = out[0, -1]  # (O,)
            scalar = last[last.argmax()] if target == "top" else last.norm()
            (g,) = torch.autograd.grad(scalar, extras["x"])
    finally:
        model.train(was)
    return g[0].norm(dim=-1).detach().float().cpu().numpy()  # (S,)


def trace_connectivity(trace: Trace, sample: int = 0) -> np.ndarray:
    """(S,) ||dL/dx_s|| from the trace's recorded grad.x (the probe's own loss)."""
    g = tensor(trace, "grad.x")
    return np.linalg.norm(g[check_index("sample", sample, g.shape[0])], axis=-1).astype(np.float32)
