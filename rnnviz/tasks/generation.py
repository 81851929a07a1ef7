"""One-to-many tasks: an input at t = 0 only, then the network must unroll a whole sequence from its state.

Not forecasting (time_series.py reads the signal at every step); here nothing but the recurrence carries it.
"""
from __future__ import annotations

import math
import string
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults

F_MIN, F_MAX = 0.03, 0.12  # cycles per step: 8 to 33 steps per period, at least one period in 30 steps


@dataclass
class SineGenParams(TaskParams):
    seq_len: int = 30  # steps to generate: one to four periods


class SineGen(Task):
    info = TaskInfo(
        name="sine_gen", sequence_type="one-to-many", inputs="vectors", outputs="vectors", metric="mse",
        teaches="A frequency and phase given once set the state, and the recurrence alone turns it into an "
                "oscillation.",
        family="generation", higher_is_better=False)
    Params = SineGenParams
    defaults = TrainDefaults(arch="lstm", hidden_size=64, steps=600, batch_size=32, lr=1e-2)
    limits = {"seq_len": (2, 500)}
    input_size = 2
    output_size = 1

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T, 2): (frequency, phase) scaled to [-1, 1] at t = 0, zeros after; y (B, T, 1) the sine."""
        B, T = batch_size, self.params.seq_len
        u = torch.rand(B, 2, generator=generator)
        freq = F_MIN + (F_MAX - F_MIN) * u[:, :1]  # (B, 1) cycles per step
        phase = 2 * math.pi * u[:, 1:]  # (B, 1)
        t = torch.arange(T, dtype=torch.float32)
        y = torch.sin(2 * math.pi * freq * t + phase).unsqueeze(-1)  # (B, T, 1)
        x = torch.zeros(B, T, 2)
        x[:, 0] = u * 2 - 1
        return x, y

    def describe_input(self, x: Tensor) -> list[str]:
        u = (x[0] + 1) / 2
        f, p = F_MIN + (F_MAX - F_MIN) * float(u[0]), 360 * float(u[1])
        return [f"f={f:.3f} φ={p:.0f}°"] + ["·"] * (len(x) - 1)

    def dependency(self, x: Tensor) -> list[int]:
        return [0]


@dataclass
class PatternParams(TaskParams):
    seq_len: int = 12  # pattern length
    n_codes: int = 4  # patterns to store, one per code
    n_symbols: int = 4  # alphabet size
    pattern_seed: int = 0  # which fixed patterns: they belong to the task, not to the batch


class PatternGen(Task):
    info = TaskInfo(
        name="pattern_gen", sequence_type="one-to-many", inputs="vectors", outputs="tokens", metric="accuracy",
        teaches="A class code given once selects a stored melody that the network replays symbol by symbol.",
        family="generation")
    Params = PatternParams
    defaults = TrainDefaults(arch="lstm", hidden_size=32, steps=400, batch_size=32, lr=1e-2)
    limits = {"seq_len": (1, 200), "n_codes": (1, 64), "n_symbols": (2, 26), "pattern_seed": (0, 2 ** 31 - 1)}

    def __init__(self, **params):
        super().__init__(**params)
        p = self.params
        g = torch.Generator().manual_seed(p.pattern_seed)
        self.patterns = torch.randint(0, p.n_symbols, (p.n_codes, p.seq_len), generator=g)  # (K, T) ids
        self.input_size = p.n_codes
        self.output_size = p.n_symbols
        self.output_vocab = list(string.ascii_lowercase[:p.n_symbols])

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T, K) one-hot code at t = 0, zeros after; y (B, T) the code's pattern as ids."""
        p = self.params
        code = torch.randint(0, p.n_codes, (batch_size,), generator=generator)
        x = torch.zeros(batch_size, p.seq_len, p.n_codes)
        x[torch.arange(batch_size), 0, code] = 1.0
        return x, self.patterns[code]

    def describe_input(self, x: Tensor) -> list[str]:
        return [f"code {int(x[0].argmax())}"] + ["·"] * (len(x) - 1)

    def dependency(self, x: Tensor) -> list[int]:
        return [0]
