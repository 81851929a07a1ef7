"""The one-to-one baseline: a point in the plane, inside or outside a circle, in a single step.

Not a sequence task, on purpose: with one step the recurrent weights never act (h_0 = 0), so the model is
a one-hidden-layer network. It is the contrast every other task is measured against.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults

RADIUS = math.sqrt(2 / math.pi)  # π r² = 2 = half the square [-1, 1]²: the classes are balanced


@dataclass
class CircleParams(TaskParams):
    seq_len: int = 1  # one step: nothing to remember, nothing for W_hh to do


class Circle(Task):
    info = TaskInfo(
        name="circle", sequence_type="one-to-one", inputs="vectors", outputs="classes", metric="accuracy",
        teaches="A single step with no recurrence can already draw a curved boundary; memory is what the "
                "other tasks add.",
        family="baseline")
    Params = CircleParams
    defaults = TrainDefaults(arch="rnn_tanh", hidden_size=32, steps=1500, batch_size=64, lr=1e-2)
    limits = {"seq_len": (1, 1)}
    input_size = 2
    output_size = 2
    output_vocab = ["outside", "inside"]

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, 1, 2) uniform in [-1, 1]², y (B,) 1 inside the circle of radius sqrt(2/π)."""
        x = torch.rand(batch_size, 1, 2, generator=generator) * 2 - 1
        y = (x[:, 0].pow(2).sum(-1) < RADIUS ** 2).long()
        return x, y

    def describe_input(self, x: Tensor) -> list[str]:
        return [f"({float(v[0]):.2f}, {float(v[1]):.2f})" for v in x]

    def dependency(self, x: Tensor) -> list[int]:
        return [0]
