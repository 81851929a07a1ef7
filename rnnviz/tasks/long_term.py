"""Long-term dependency benchmarks, where the cause and its effect are far apart in time.

Not generic classification: each task follows a paper's construction, so its lag (`seq_len`) is the knob
that separates gated cells from plain tanh RNNs and shows vanishing gradients at work.
"""
from __future__ import annotations

import math
import string
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults

MEAN_PREDICTOR_MSE = 1 / 6  # adding: Var(u1 + u2) = 2 * 1/12 for u ~ U[0, 1], what always saying 1.0 scores


@dataclass
class AddingParams(TaskParams):
    seq_len: int = 50  # T; at 50 an LSTM learns it in 3000 steps and a tanh RNN does not


class Adding(Task):
    """Hochreiter & Schmidhuber (1997), in the form of Le et al. (2015) and Arjovsky et al. (2016)."""

    info = TaskInfo(
        name="adding", sequence_type="many-to-one", inputs="vectors", outputs="vectors", metric="mse",
        teaches="Two marked numbers far apart must be kept until the end: the gradient from the answer has "
                "to survive the whole lag.",
        family="long-term", higher_is_better=False)
    Params = AddingParams
    defaults = TrainDefaults(arch="lstm", hidden_size=64, steps=3000, batch_size=32, lr=3e-3)
    limits = {"seq_len": (2, 1000)}
    input_size = 2
    output_size = 1

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T, 2): values U[0, 1] and a marker channel with one 1 in each half; y (B, 1) their sum."""
        B, T = batch_size, self.params.seq_len
        values = torch.rand(B, T, generator=generator)
        first = torch.randint(0, T // 2, (B,), generator=generator)
        second = torch.randint(T // 2, T, (B,), generator=generator)
        marks = torch.zeros(B, T)
        rows = torch.arange(B)
        marks[rows, first] = 1.0
        marks[rows, second] = 1.0
        return torch.stack([values, marks], -1), (values * marks).sum(1, keepdim=True)

    @property
    def lag(self) -> int:
        return self.params.seq_len

    def dependency(self, x: Tensor) -> list[int]:
        return torch.nonzero(x[:, 1] > 0.5).flatten().tolist()

    def describe_input(self, x: Tensor) -> list[str]:
        return [f"{float(v):.2f}" + ("●" if float(m) > 0.5 else "") for v, m in x]


@dataclass
class CopyParams(TaskParams):
    seq_len: int = 10  # the lag T: blanks plus delimiter between the symbols and their recall
    n_memorize: int = 4  # symbols to copy (Arjovsky et al. use 10)
    n_symbols: int = 8  # alphabet, as Arjovsky et al.


class CopyMemory(Task):
    """Hochreiter & Schmidhuber (1997), the version of Arjovsky, Shah & Bengio (2016).

    Input (length T + 2k): k symbols, T - 1 blanks, a delimiter, k blanks. Target: blanks for T + k steps,
    then the k symbols. The loss is cross-entropy over every step (as Arjovsky et al.; a memoryless model
    reaches k ln(n_symbols) / (T + 2k), see baseline_loss); the metric scores only the recall window.
    """

    info = TaskInfo(
        name="copy_memory", sequence_type="many-to-many-sync", inputs="tokens", outputs="tokens",
        metric="recall accuracy",
        teaches="Symbols must be held unchanged through a long blank stretch and replayed on cue, which "
                "only works if the state neither fades nor drifts.",
        family="long-term")
    Params = CopyParams
    defaults = TrainDefaults(arch="gru", hidden_size=64, steps=700, batch_size=32, lr=1e-2)
    limits = {"seq_len": (1, 1000), "n_memorize": (1, 20), "n_symbols": (2, 26)}

    def __init__(self, **params):
        super().__init__(**params)
        letters = list(string.ascii_lowercase[:self.params.n_symbols])
        self.input_vocab = ["_"] + letters + [":"]  # blank 0, symbols 1..n, delimiter n + 1
        self.output_vocab = ["_"] + letters
        self.output_size = len(self.output_vocab)

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T + 2k) ids, y (B, T + 2k) ids: blank except the last k steps, which repeat x's first k."""
        T, k, n = self.params.seq_len, self.params.n_memorize, self.params.n_symbols
        symbols = torch.randint(1, n + 1, (batch_size, k), generator=generator)
        x = torch.zeros(batch_size, T + 2 * k, dtype=torch.long)
        y = torch.zeros_like(x)
        x[:, :k] = symbols
        x[:, T + k - 1] = n + 1
        y[:, T + k:] = symbols
        return x, y

    def metric(self, output: Tensor, y: Tensor) -> float:
        """Accuracy over the recall window (the last k steps) only."""
        k = self.params.n_memorize
        return float((output.detach()[:, -k:].argmax(-1) == y[:, -k:]).float().mean())

    @property
    def baseline_loss(self) -> float:
        """The loss of a model that outputs blanks and then guesses uniformly: k ln n / (T + 2k)."""
        T, k, n = self.params.seq_len, self.params.n_memorize, self.params.n_symbols
        return k * math.log(n) / (T + 2 * k)

    @property
    def lag(self) -> int:
        return self.params.seq_len + self.params.n_memorize  # from a symbol to its copy

    def dependency(self, x: Tensor) -> list[int]:
        k = self.params.n_memorize
        return list(range(k)) + [self.params.seq_len + k - 1]


PATTERN_LEN = 3  # the informative prefix; its sign patterns give up to 2**3 classes


@dataclass
class LatchParams(TaskParams):
    seq_len: int = 20  # the lag: steps of pure noise between the pattern and the answer
    noise: float = 0.5  # std of the Gaussian noise; the pattern values are ±1
    n_classes: int = 2  # patterns are distinct sign vectors of length 3


class Latching(Task):
    """Information latching with noise, after Bengio, Simard & Frasconi (1994): the class is set by the
    first PATTERN_LEN steps (a ±1 pattern per class), then `seq_len` steps of N(0, noise²) follow."""

    info = TaskInfo(
        name="latching", sequence_type="many-to-one", inputs="vectors", outputs="classes", metric="accuracy",
        teaches="To remember a bit robustly the state must fall into an attractor, and noise then tries to "
                "knock it out.",
        family="long-term")
    Params = LatchParams
    defaults = TrainDefaults(arch="rnn_tanh", hidden_size=32, steps=400, batch_size=32, lr=1e-2)
    limits = {"seq_len": (0, 1000), "noise": (0.0, 2.0), "n_classes": (2, 2 ** PATTERN_LEN)}
    input_size = 1

    def __init__(self, **params):
        super().__init__(**params)
        k = torch.arange(self.params.n_classes).unsqueeze(1)  # (C, 1)
        bits = (k >> torch.arange(PATTERN_LEN)) & 1  # (C, 3): class k's binary code
        self.patterns = bits.float() * 2 - 1 if self.params.n_classes > 2 else \
            torch.tensor([[-1.0] * PATTERN_LEN, [1.0] * PATTERN_LEN])  # two classes: all -1 vs all +1
        self.output_size = self.params.n_classes
        self.output_vocab = [f"class {c}" for c in range(self.params.n_classes)]

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, 3 + lag, 1): the class's ±1 pattern, then Gaussian noise; y (B,) the class."""
        p = self.params
        y = torch.randint(0, p.n_classes, (batch_size,), generator=generator)
        noise = torch.randn(batch_size, p.seq_len, generator=generator) * p.noise
        return torch.cat([self.patterns[y], noise], 1).unsqueeze(-1), y

    @property
    def lag(self) -> int:
        return self.params.seq_len

    def dependency(self, x: Tensor) -> list[int]:
        return list(range(PATTERN_LEN))


@dataclass
class FirstSymbolParams(TaskParams):
    seq_len: int = 20  # the lag: distractor symbols between the class symbol and the answer
    n_classes: int = 4  # class symbols A, B, C, ...; chance accuracy is 1 / n_classes
    n_distractors: int = 4  # distractor symbols w, x, y, z, drawn uniformly at every later step


class FirstSymbol(Task):
    """Hochreiter & Schmidhuber (1997), experiment 2: the first symbol is the class and `seq_len` random
    distractors follow; the answer is due after the last one. Tokens, not noise: a gate can learn to shut on
    distractors, which is what separates gated cells from a tanh RNN as the lag grows."""

    info = TaskInfo(
        name="first_symbol", sequence_type="many-to-one", inputs="tokens", outputs="classes", metric="accuracy",
        teaches="The answer is the very first symbol: it must survive every distractor after it, and so must "
                "the gradient that teaches the network to keep it.",
        family="long-term")
    Params = FirstSymbolParams
    defaults = TrainDefaults(arch="gru", hidden_size=32, steps=400, batch_size=32, lr=1e-2)
    limits = {"seq_len": (0, 1000), "n_classes": (2, 8), "n_distractors": (1, 8)}

    def __init__(self, **params):
        super().__init__(**params)
        p = self.params
        self.output_vocab = list("ABCDEFGH"[:p.n_classes])
        self.input_vocab = self.output_vocab + list("stuvwxyz"[8 - p.n_distractors:])
        self.output_size = p.n_classes

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, 1 + lag) ids: the class symbol, then distractor ids; y (B,) the class."""
        p = self.params
        y = torch.randint(0, p.n_classes, (batch_size,), generator=generator)
        distractors = torch.randint(p.n_classes, p.n_classes + p.n_distractors, (batch_size, p.seq_len),
                                    generator=generator)
        return torch.cat([y.unsqueeze(1), distractors], 1), y

    @property
    def lag(self) -> int:
        return self.params.seq_len

    def dependency(self, x: Tensor) -> list[int]:
        return [0]
