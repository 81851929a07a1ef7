"""Sentiment of a generated toy language: "the plot was not very good" is negative, and "but" turns it around.

Not real reviews: a tiny grammar with a word vocabulary, so the rule (negation flips, the clause after
"but" decides) is known exactly and can be looked for in the hidden states.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults

PAD_WORD = "·"  # id 0; sentences are left-padded with it so the last step is the sentence's last word
OPENERS = (("i", "think"), ("honestly",), ("overall",))
SUBJECTS = (("the", "movie"), ("the", "film"), ("the", "plot"), ("the", "acting"), ("the", "ending"),
            ("this", "film"))
VERBS = ("was", "is", "felt")
INTENSIFIERS = ("very", "really", "so")
POSITIVE = ("good", "great", "fun", "brilliant", "lovely")
NEGATIVE = ("bad", "awful", "boring", "dull", "terrible")
WORDS = [PAD_WORD] + sorted({w for group in (OPENERS, SUBJECTS) for phrase in group for w in phrase}
                            | set(VERBS) | set(INTENSIFIERS) | set(POSITIVE) | set(NEGATIVE) | {"not", "but"})
LONGEST = 2 + 6 + 1 + 6  # opener, clause (subject 2, verb, not, intensifier, adjective), "but", clause
RANDOMS = 16  # uniforms one sentence may consume


def _pick(options, u: float):
    return options[min(int(u * len(options)), len(options) - 1)]


def _clause(u: list[float], polarity: bool) -> list[str]:
    """One clause from 5 uniforms that says `polarity` (True positive): a 'not' flips its adjective."""
    words = list(_pick(SUBJECTS, u[0])) + [_pick(VERBS, u[1])]
    negated = u[2] < 0.5
    if negated:
        words.append("not")
    if u[3] < 0.4:
        words.append(_pick(INTENSIFIERS, u[3] / 0.4))
    words.append(_pick(POSITIVE if polarity != negated else NEGATIVE, u[4]))
    return words


def sentence(u: list[float]) -> tuple[list[str], int]:
    """A sentence from RANDOMS uniforms: (words, label 1 positive / 0 negative)."""
    polarity = u[7] < 0.5
    words = list(_pick(OPENERS, u[1])) if u[0] < 0.25 else []
    words += _clause(u[2:7], polarity)
    if u[8] < 0.4:  # "X but Y": Y says the opposite of X, and Y decides
        polarity = not polarity
        words += ["but"] + _clause(u[9:14], polarity)
    return words, int(polarity)


@dataclass
class SentimentParams(TaskParams):
    seq_len: int = 16  # words per padded sentence; the longest sentence has 15


class Sentiment(Task):
    info = TaskInfo(
        name="sentiment", sequence_type="many-to-one", inputs="tokens", outputs="classes", metric="accuracy",
        teaches="Word meanings combine in order: a 'not' must be remembered until its adjective arrives, "
                "and 'but' resets the verdict.",
        family="classification")
    Params = SentimentParams
    defaults = TrainDefaults(arch="lstm", hidden_size=32, steps=300, batch_size=64, lr=1e-2)
    limits = {"seq_len": (LONGEST, 200)}
    input_vocab = WORDS
    output_vocab = ["negative", "positive"]
    output_size = 2

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """x (B, T) word ids, left-padded with PAD_WORD; y (B,) 1 positive, 0 negative."""
        T, index = self.params.seq_len, {w: i for i, w in enumerate(WORDS)}
        rows, labels = [], []
        for u in torch.rand(batch_size, RANDOMS, generator=generator).tolist():
            words, label = sentence(u)
            rows.append([0] * (T - len(words)) + [index[w] for w in words])
            labels.append(label)
        return torch.tensor(rows, dtype=torch.long).view(batch_size, T), torch.tensor(labels, dtype=torch.long)

    def encode(self, text: str) -> Tensor:
        """A sentence typed by a user -> (1, T) ids, left-padded; unknown words raise ValueError."""
        words, index = text.lower().split(), {w: i for i, w in enumerate(WORDS)}
        unknown = [w for w in words if w not in index]
        if unknown:
            raise ValueError(f"unknown word {unknown[0]!r}; the toy language knows {', '.join(WORDS[1:])}")
        if not 1 <= len(words) <= self.params.seq_len:
            raise ValueError(f"a sentence of {len(words)} words does not fit; use 1 to {self.params.seq_len}")
        ids = [0] * (self.params.seq_len - len(words)) + [index[w] for w in words]
        return torch.tensor([ids])

    def dependency(self, x: Tensor) -> list[int]:
        """The last adjective and the 'not' of its clause, if any: what the label is computed from."""
        words = [WORDS[int(i)] for i in x]
        adj = max(t for t, w in enumerate(words) if w in POSITIVE or w in NEGATIVE)
        start = max([t for t, w in enumerate(words[:adj]) if w == "but"] + [0])
        return [t for t in range(start, adj) if words[t] == "not"] + [adj]
