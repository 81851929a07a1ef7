"""The same recurrence computed two ways: step by step, and as one parallel scan (for cells that have one).

Not the scan itself (rnnviz/scan.py) and not a benchmark (bench_scan prints ratios side by side); this is what
the Graph page shows a student: the two results agree, and how long each took here, on the probe's own sequence
and on a longer one of the same width.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnviz.model_stacks import stack_of
from rnnviz.models import embed_input

LONG = 512  # the longer sequence timed beside the probe's own: where the scan pulls ahead


@dataclass
class ScanVsLoop:
    loop: Tensor  # (B, T, H) the stack's outputs, step by step
    scan: Tensor  # (B, T, H) the same, as one scan per layer
    loop_ms: float  # forward, median of repeats
    scan_ms: float
    long_loop_ms: float  # the same at LONG steps, random input of the same width
    long_scan_ms: float

    @property
    def max_difference(self) -> float:
        return float((self.loop - self.scan).abs().max())


@torch.no_grad()
def scan_vs_loop(model: nn.Module, x: Tensor, prefix: str = "", repeats: int = 5) -> ScanVsLoop:
    """Runs the stack of `model` on the embedded x both ways; ValueError for a cell without a parallel form."""
    rnn = stack_of(model, prefix)
    if not rnn.spec.parallel:
        raise ValueError(f"{rnn.spec.name} has no parallel form: h_t depends on h_(t−1) through a nonlinearity")
    was = rnn.training
    rnn.eval()
    try:
        xe = embed_input(model, model.cfg, x)
        long = torch.randn(xe.shape[0], LONG, xe.shape[-1], generator=torch.Generator().manual_seed(0))
        loop, scan = rnn(xe, scan=False)[0], rnn(xe)[0]
        times = [_ms(lambda: rnn(v, scan=s), repeats) for v in (xe, long) for s in (False, True)]
    finally:
        rnn.train(was)
    return ScanVsLoop(loop, scan, *times)


def _ms(fn, repeats: int) -> float:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)
