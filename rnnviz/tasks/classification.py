"""Many-to-one tasks over bit strings: read a whole sequence, answer once at the end.

Not the toy language (sentiment.py) nor the long-lag tasks (long_term.py), whose point is the distance.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults


class _Bits(Task):
    """Shared by the bit-string tasks: x (B, T) ids in {0, 1}, one label per sequence."""

    input_vocab = ["0", "1"]
    output_size = 2
    limits = {"seq_len": (1, 500)}

    def bits(self, batch_size: int, generator: torch.Generator) -> Tensor:
        return torch.randint(0, 2, (batch_size, self.params.seq_len), generator=generator)

    def dependency(self, x: Tensor) -> list[int]:
        return list(range(len(x)))  # every bit counts


@dataclass
class ParityParams(TaskParams):
    seq_len: int = 16  # bits per string; the leading-zero curriculum (see batch) makes 16 learn in seconds


class Parity(_Bits):
    info = TaskInfo(
        name="parity", sequence_type="many-to-one", inputs="tokens", outputs="classes", metric="accuracy",
        teaches="The answer depends on every bit at once, so the state must flip on each 1 and forget nothing.",
        family="classification")
    Params = ParityParams
    defaults = TrainDefaults(arch="lstm", hidden_size=32, steps=800, batch_size=64, lr=1e-2)
    output_vocab = ["even", "odd"]

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T) bits, y (B,) 1 when the number of ones is odd.

        Each string keeps only its last L ~ U{1..T} bits random and zeros before them (zeros leave the
        parity alone). Short problems mixed in are the curriculum that makes parity learnable: over
        uniform strings it is uncorrelated with every function of fewer bits, so the gradient carries no
        signal until the whole chain of flips is found.
        """
        B, T = batch_size, self.params.seq_len
        x = self.bits(B, generator)
        keep = torch.randint(1, T + 1, (B, 1), generator=generator)  # (B, 1) live bits at the end
        x = x * (torch.arange(T) >= T - keep)
        return x, x.sum(1) % 2

    @property
    def lag(self) -> int:
        return self.params.seq_len


@dataclass
class MajorityParams(TaskParams):
    seq_len: int = 21  # odd, so there are no ties


class Majority(_Bits):
    info = TaskInfo(
        name="majority", sequence_type="many-to-one", inputs="tokens", outputs="classes", metric="accuracy",
        teaches="Counting needs one direction in state space that every 1 pushes up and every 0 pushes down.",
        family="classification")
    Params = MajorityParams
    defaults = TrainDefaults(arch="lstm", hidden_size=32, steps=300, batch_size=64, lr=1e-2)
    output_vocab = ["more 0s", "more 1s"]

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T) bits, y (B,) 1 when more than half are ones (a tie, at even T, counts as 0)."""
        x = self.bits(batch_size, generator)
        return x, (2 * x.sum(1) > x.shape[1]).long()
