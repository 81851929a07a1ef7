"""Time-series forecasting: read a signal one value at a time and predict the next one at every step.

Not generation (generation.py gives the input only at t = 0): here the model sees the signal throughout
and must infer its frequency and phase from what it has read so far.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults

F_MIN, F_MAX = 0.02, 0.1  # cycles per step: periods of 10 to 50 steps


def random_sines(batch_size: int, steps: int, n_sines: int, generator: torch.Generator) -> Tensor:
    """(B, steps) sums of n sines with random frequency, phase and amplitude in [0.5, 1], over sqrt(n) so the
    variance stays near that of one sine whatever n is."""
    u = torch.rand(batch_size, n_sines, 3, generator=generator)
    freq = (F_MIN + (F_MAX - F_MIN) * u[..., 0]).unsqueeze(-1)  # (B, n, 1)
    phase = (2 * math.pi * u[..., 1]).unsqueeze(-1)
    amp = (0.5 + 0.5 * u[..., 2]).unsqueeze(-1)
    t = torch.arange(steps, dtype=torch.float32)
    waves = amp * torch.sin(2 * math.pi * freq * t + phase)  # (B, n, steps)
    return waves.sum(1) / math.sqrt(n_sines)


class _Forecast(Task):
    """x (B, T, 1) the observed values, y (B, T, 1) the next clean value at each step."""

    input_size = 1
    output_size = 1

    def lagged(self, clean: Tensor, observed: Tensor) -> tuple[Tensor, Tensor]:
        """clean, observed (B, T + 1) -> x = observed[:T], y = clean[1:], each (B, T, 1)."""
        return observed[:, :-1].unsqueeze(-1), clean[:, 1:].unsqueeze(-1)


@dataclass
class NoisySineParams(TaskParams):
    seq_len: int = 50  # steps: one to five periods
    noise: float = 0.2  # std of the observation noise; the target is the clean signal


class NoisySine(_Forecast):
    info = TaskInfo(
        name="noisy_sine", sequence_type="many-to-many-sync", inputs="vectors", outputs="vectors", metric="mse",
        teaches="Forecasting from noisy readings: the state averages evidence over steps, which no single "
                "reading can give.",
        family="time series", higher_is_better=False)
    Params = NoisySineParams
    defaults = TrainDefaults(arch="lstm", hidden_size=32, steps=600, batch_size=32, lr=1e-2)
    limits = {"seq_len": (2, 1000), "noise": (0.0, 2.0)}

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """The next clean value of one sine of random frequency and phase, read with N(0, noise²) added."""
        T = self.params.seq_len
        clean = random_sines(batch_size, T + 1, 1, generator)
        observed = clean + self.params.noise * torch.randn(batch_size, T + 1, generator=generator)
        return self.lagged(clean, observed)


@dataclass
class SinesParams(TaskParams):
    seq_len: int = 60  # steps: enough to tell several frequencies apart
    n_sines: int = 3  # components in the sum


class Sines(_Forecast):
    info = TaskInfo(
        name="sines", sequence_type="many-to-many-sync", inputs="vectors", outputs="vectors", metric="mse",
        teaches="A sum of oscillations needs several oscillators in one state, each tracking its own phase.",
        family="time series", higher_is_better=False)
    Params = SinesParams
    defaults = TrainDefaults(arch="lstm", hidden_size=64, steps=400, batch_size=32, lr=1e-2)
    limits = {"seq_len": (2, 1000), "n_sines": (1, 8)}

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        clean = random_sines(batch_size, self.params.seq_len + 1, self.params.n_sines, generator)
        return self.lagged(clean, clean)
