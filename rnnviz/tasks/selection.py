"""Tasks that need selection: remembering some inputs and ignoring others, chosen by what each input is
(selective copying), or by what came just before it (induction heads).

Not the long-dependency benchmarks (long_term.py), whose cause sits at a fixed place: here where the data
sits changes from sequence to sequence, which a time-invariant linear recurrence (the LRU, S4) cannot
follow, and a selective one (S6, whose Δ_t is chosen by the input) can (Gu & Dao 2023, section 3.1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults
from rnnviz.tasks.long_term import CopyMemory


@dataclass
class SelectiveCopyParams(TaskParams):
    seq_len: int = 64  # L: the stretch the symbols are scattered over; at 16 an LRU of 32 units simply stores it all
    n_memorize: int = 4  # k symbols to copy, in the order they came
    n_symbols: int = 8  # alphabet


class SelectiveCopy(CopyMemory):
    """Selective copying (Gu & Dao 2023; Arjovsky et al.'s copy task with random spacing, after Jing et al. 2019).

    Input (length L + k): k symbols at random distinct places among L − k blanks, then k delimiters ':'.
    Target: blanks, then the k symbols in the order they came, one per delimiter. The loss is cross-entropy over
    every step (as copy_memory); the metric scores only the recall window. Unlike copy_memory, the gap from a
    symbol to its copy differs in every sequence, so a fixed filter over time cannot pick the symbols out.
    Its vocabulary (blank, symbols, ':') and recall-window metric are copy_memory's.
    """

    info = TaskInfo(
        name="selective_copy", sequence_type="many-to-many-sync", inputs="tokens", outputs="tokens",
        metric="recall accuracy",
        teaches="The symbols sit at random places among blanks, so each input must decide whether it is kept: "
                "S6's Δ_t does this (in Mamba's block, two layers), a time-invariant recurrence must hold the whole "
                "stretch instead.",
        family="long-term")
    Params = SelectiveCopyParams
    # recall 0.95 to 1.00 over seeds 1 to 3 in one to one and a half minutes on one core (bench/selective_copy.py):
    # no other cell gets past 0.64 at this budget, and fewer steps leave this one short of 0.9
    defaults = TrainDefaults(arch="mamba", hidden_size=32, num_layers=2, steps=2000, batch_size=32, lr=3e-3)
    limits = {"seq_len": (2, 1000), "n_memorize": (1, 20), "n_symbols": (2, 26)}

    def __init__(self, **params):
        super().__init__(**params)
        p = self.params
        if p.n_memorize > p.seq_len:
            raise ValueError(f"{p.n_memorize} symbols do not fit among {p.seq_len} places; use a length of at "
                             f"least {p.n_memorize}")

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, L + k) ids: symbols at k random sorted places among blanks, then k delimiters; y (B, L + k)."""
        L, k, n = self.params.seq_len, self.params.n_memorize, self.params.n_symbols
        places = torch.rand(batch_size, L, generator=generator).argsort(1)[:, :k].sort(1).values  # (B, k)
        symbols = torch.randint(1, n + 1, (batch_size, k), generator=generator)
        x = torch.zeros(batch_size, L + k, dtype=torch.long)
        x.scatter_(1, places, symbols)
        x[:, L:] = n + 1
        y = torch.zeros_like(x)
        y[:, L:] = symbols
        return x, y

    @property
    def baseline_loss(self) -> float:
        """The loss of a model that outputs blanks and then guesses uniformly: k ln n / (L + k)."""
        L, k, n = self.params.seq_len, self.params.n_memorize, self.params.n_symbols
        return k * math.log(n) / (L + k)

    @property
    def lag(self) -> int:
        return self.params.seq_len  # the longest gap, from the first place to the first delimiter

    def dependency(self, x: Tensor) -> list[int]:
        """The places that hold symbols in this sequence (they differ from sequence to sequence)."""
        n = self.params.n_symbols
        return torch.nonzero((x >= 1) & (x <= n)).flatten().tolist()


@dataclass
class InductionParams(TaskParams):
    seq_len: int = 32  # T: random symbols, the trigger once at a random place, and the trigger again at the end
    n_symbols: int = 8  # alphabet of the symbols (the trigger is one more token)


class InductionHeads(Task):
    """Induction heads (Olsson et al. 2022; the Mamba paper's synthetic, Gu & Dao 2023, section 4.1.2):
    associative recall of the symbol that followed the trigger's earlier occurrence.

    Input (length T): random symbols, the trigger '>' at one random place i (0 <= i <= T − 3) followed by the key
    symbol s at i + 1, and '>' again at the last step (nowhere else). Target: s, read at the end (many-to-one).
    What must be kept is chosen by what came just before it (the trigger), not by what it is: every symbol is
    also a distractor, and where the pair sits changes from sequence to sequence. Chance is 1/n_symbols.
    """

    info = TaskInfo(
        name="induction_heads", sequence_type="many-to-one", inputs="tokens", outputs="classes",
        metric="accuracy",
        teaches="Recall the symbol that followed the trigger's earlier occurrence: the state must keep what comes "
                "right after '>' and ignore every other symbol, wherever the pair sits.",
        family="long-term")
    Params = InductionParams
    # accuracy 1.00 at seeds 1 to 3 in 5 s on one core; a GRU and Mamba's block also solve it, bare S6, the LRU in one
    # layer and the tanh RNN stay near chance (bench/selective_copy.py --task induction_heads; README)
    defaults = TrainDefaults(arch="lstm", hidden_size=64, num_layers=1, steps=1000, batch_size=32, lr=3e-3)
    limits = {"seq_len": (3, 1000), "n_symbols": (2, 26)}
    TRIGGER = ">"

    def __init__(self, **params):
        super().__init__(**params)
        symbols = [chr(ord("a") + i) for i in range(self.params.n_symbols)]
        self.input_vocab, self.output_vocab = symbols + [self.TRIGGER], symbols
        self.output_size = len(symbols)

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T) ids: symbols 0..n−1, the trigger n at a random place i and at T − 1; y (B,) x[i + 1]."""
        T, n = self.params.seq_len, self.params.n_symbols
        x = torch.randint(0, n, (batch_size, T), generator=generator)
        i = torch.randint(0, T - 2, (batch_size,), generator=generator)  # the pair (i, i + 1) ends before T − 1
        rows = torch.arange(batch_size)
        x[rows, i], x[:, -1] = n, n
        return x, x[rows, i + 1]

    @property
    def lag(self) -> int:
        return self.params.seq_len - 2  # the longest: a pair at the start, recalled at the end

    def dependency(self, x: Tensor) -> list[int]:
        """The trigger's first place, the key symbol after it, and the trigger at the end that asks for it."""
        i = int((x[:-1] == self.params.n_symbols).nonzero()[0])
        return [i, i + 1, len(x) - 1]
