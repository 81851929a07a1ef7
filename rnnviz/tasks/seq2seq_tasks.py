"""Many-to-many asynchronous tasks for an encoder-decoder: read a whole string, then write another.

Not the model (rnnviz/seq2seq.py runs teacher forcing and adds the start token). Targets end with an
END token and are padded with PAD (-100) after it; the metric is per-token accuracy over non-pad target
positions under teacher forcing, and sequence_accuracy() is the stricter all-tokens-right score.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.tasks.base import PAD, Task, TaskInfo, TaskParams, TrainDefaults

END = "<end>"
DIGITS = list(string.digits)
ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
NUMBER_WORDS = list(ONES) + list(TENS[2:]) + ["hundred", "thousand"]


def sequence_accuracy(output: Tensor, y: Tensor) -> float:
    """Fraction of sequences whose every non-pad target is the argmax: output (B, T, O), y (B, T)."""
    wrong = (output.detach().argmax(-1) != y) & (y != PAD)
    return float((~wrong.any(1)).float().mean())


def spell(n: int) -> list[str]:
    """0 <= n < 10**6 in English words without "and": 342 -> three hundred forty two."""
    if not 0 <= n < 10 ** 6:
        raise ValueError(f"{n} cannot be spelled; use 0 to 999999")
    if n == 0:
        return ["zero"]
    if n >= 1000:
        return _below_thousand(n // 1000) + ["thousand"] + _below_thousand(n % 1000)
    return _below_thousand(n)


def _below_thousand(n: int) -> list[str]:
    words = [ONES[n // 100], "hundred"] if n >= 100 else []
    n %= 100
    if n >= 20:
        words += [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    elif n:
        words.append(ONES[n])
    return words


class _Seq2SeqTask(Task):
    """x (B, S) source ids; y (B, target_len) target ids ending in END, PAD after it."""

    target_len: int = 1  # decoder steps a batch's targets have (the longest answer plus END)

    def with_end(self, y: Tensor) -> Tensor:
        """Append the END id to equal-length targets y (B, T) -> (B, T + 1)."""
        return torch.cat([y, torch.full_like(y[:, :1], len(self.output_vocab) - 1)], 1)

    def sequence_accuracy(self, output: Tensor, y: Tensor) -> float:
        return sequence_accuracy(output, y)


@dataclass
class ReverseParams(TaskParams):
    seq_len: int = 8  # letters per string
    n_letters: int = 8  # alphabet size


class Reverse(_Seq2SeqTask):
    info = TaskInfo(
        name="reverse", sequence_type="many-to-many-async", inputs="tokens", outputs="tokens", metric="accuracy",
        teaches="The first letter out is the last one in: attention learns an anti-diagonal instead of "
                "squeezing the string through one state.",
        family="seq2seq")
    Params = ReverseParams
    defaults = TrainDefaults(arch="gru", hidden_size=64, steps=300, batch_size=32, lr=1e-2, attention="dot")
    limits = {"seq_len": (1, 50), "n_letters": (2, 26)}

    def __init__(self, **params):
        super().__init__(**params)
        self.input_vocab = list(string.ascii_lowercase[:self.params.n_letters])
        self.output_vocab = self.input_vocab + [END]
        self.output_size = len(self.output_vocab)
        self.target_len = self.params.seq_len + 1

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        x = torch.randint(0, self.params.n_letters, (batch_size, self.params.seq_len), generator=generator)
        return x, self.with_end(x.flip(1))

    def copies(self, x: Tensor) -> list[list[int]]:
        S = len(x)
        return [[S - 1 - t] for t in range(S)] + [[]]


@dataclass
class SortParams(TaskParams):
    seq_len: int = 8  # digits per string


class SortDigits(_Seq2SeqTask):
    info = TaskInfo(
        name="sort_digits", sequence_type="many-to-many-async", inputs="tokens", outputs="tokens",
        metric="accuracy",
        teaches="Sorting needs the whole input before the first output: the encoder must count, and attention "
                "looks up where each digit sits.",
        family="seq2seq")
    Params = SortParams
    defaults = TrainDefaults(arch="gru", hidden_size=64, steps=300, batch_size=32, lr=1e-2, attention="additive")
    limits = {"seq_len": (1, 50)}
    input_vocab = DIGITS
    output_vocab = DIGITS + [END]
    output_size = 11

    def __init__(self, **params):
        super().__init__(**params)
        self.target_len = self.params.seq_len + 1

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        x = torch.randint(0, 10, (batch_size, self.params.seq_len), generator=generator)
        return x, self.with_end(x.sort(1).values)

    def copies(self, x: Tensor) -> list[list[int]]:
        digits = [int(d) for d in x]
        return [[j for j, d in enumerate(digits) if d == want] for want in sorted(digits)] + [[]]


@dataclass
class SpellParams(TaskParams):
    seq_len: int = 4  # at most this many digits: 0 to 10**seq_len - 1, so "thousand" appears


class SpellNumbers(_Seq2SeqTask):
    info = TaskInfo(
        name="spell_numbers", sequence_type="many-to-many-async", inputs="tokens", outputs="tokens",
        metric="accuracy",
        teaches="Input and output differ in length and order ('17' is one word, '70' another): the decoder "
                "decides when to stop.",
        family="seq2seq")
    Params = SpellParams
    defaults = TrainDefaults(arch="gru", hidden_size=64, steps=300, batch_size=32, lr=1e-2, attention="additive")
    limits = {"seq_len": (1, 6)}
    input_vocab = DIGITS + ["·"]  # "·" left-pads shorter numbers so the encoder ends on the last digit
    output_vocab = NUMBER_WORDS + [END]
    output_size = len(NUMBER_WORDS) + 1

    def __init__(self, **params):
        super().__init__(**params)
        self.target_len = len(spell(int("7" * self.params.seq_len))) + 1  # 7s give the most words

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Digit counts uniform in 1..seq_len, then values uniform among numbers with that many digits."""
        L = self.params.seq_len
        d = torch.randint(1, L + 1, (batch_size,), generator=generator)
        lo = torch.where(d == 1, 0, 10 ** (d - 1))
        n = lo + (torch.rand(batch_size, generator=generator, dtype=torch.float64) * (10 ** d - lo)).long()
        index = {w: i for i, w in enumerate(self.output_vocab)}
        xs, ys = [], []
        for value in n.tolist():
            digits = [int(c) for c in str(value)]
            words = [index[w] for w in spell(value)] + [index[END]]
            xs.append([10] * (L - len(digits)) + digits)
            ys.append(words + [PAD] * (self.target_len - len(words)))
        return torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long)
