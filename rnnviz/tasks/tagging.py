"""Many-to-many synchronous tagging: after every character, say how deeply nested the brackets are.

Not next-character prediction (language.py): the tag is a property of the prefix read so far.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults

OPEN, CLOSE, OTHER = 0, 1, 2  # ids of "(", ")", "a"


@dataclass
class BracketParams(TaskParams):
    seq_len: int = 40  # characters per string
    max_depth: int = 4  # deepest nesting; the tags are depths 0..max_depth
    p_open: float = 0.35  # chance of "(" (and of ")") at each step; the rest are fillers "a"


class BracketDepth(Task):
    info = TaskInfo(
        name="bracket_depth", sequence_type="many-to-many-sync", inputs="tokens", outputs="tokens",
        metric="accuracy",
        teaches="A counter in the hidden state: each '(' pushes it up, each ')' down, and fillers must leave "
                "it alone.",
        family="tagging")
    Params = BracketParams
    defaults = TrainDefaults(arch="lstm", hidden_size=32, steps=300, batch_size=32, lr=1e-2)
    limits = {"seq_len": (1, 1000), "max_depth": (1, 20), "p_open": (0.05, 0.5)}
    input_vocab = ["(", ")", "a"]

    def __init__(self, **params):
        super().__init__(**params)
        self.output_vocab = [str(d) for d in range(self.params.max_depth + 1)]
        self.output_size = self.params.max_depth + 1

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T) ids of "(", ")", "a"; y (B, T) the depth after reading each character.

        A ")" at depth 0 or a "(" at max_depth would break the string, so it becomes a filler "a".
        """
        p = self.params
        u = torch.rand(batch_size, p.seq_len, generator=generator).numpy()
        want = np.where(u < p.p_open, OPEN, np.where(u < 2 * p.p_open, CLOSE, OTHER))  # (B, T)
        x = np.empty_like(want)
        y = np.empty_like(want)
        depth = np.zeros(batch_size, dtype=want.dtype)
        for t in range(p.seq_len):  # a sequential constraint; B-wide numpy steps stay well under 1 ms
            w = want[:, t]
            w = np.where(((w == CLOSE) & (depth == 0)) | ((w == OPEN) & (depth == p.max_depth)), OTHER, w)
            depth = depth + (w == OPEN) - (w == CLOSE)
            x[:, t], y[:, t] = w, depth
        return torch.from_numpy(x).long(), torch.from_numpy(y).long()
