"""Character language models: predict the next character of generated code or of a user's own text.

Not sampling (rnnviz/sampling.py generates text from a trained model) and not the corpus (code_corpus.py)
or text loading (text.py). Windows are drawn from a corpus held once per task instance as int64 ids.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.tasks.base import Task, TaskInfo, TaskParams, TrainDefaults
from rnnviz.tasks.code_corpus import CODE_VOCAB, code_corpus, features_of_text, start_depth
from rnnviz.tasks.text import DEFAULT_TEXT, load_text

HELD_OUT = 0.1  # the last tenth of a corpus or text: validation and probe windows come only from there
VISIBLE = {"\n": "↵", " ": "␣", "\t": "⇥"}  # what figure axes show for characters that print as nothing


class _CharLM(Task):
    """x (B, T) character ids, y (B, T) the next character's ids; windows start at self.starts offsets."""

    def use_text(self, text: str, vocab: list[str], starts: np.ndarray) -> None:
        self.text = text
        self.input_vocab = self.output_vocab = vocab
        self.output_size = len(vocab)
        self.index = {c: i for i, c in enumerate(vocab)}
        self.ids = torch.tensor([self.index[c] for c in text], dtype=torch.long)  # (N,)
        span, cut = self.params.seq_len + 1, int(len(text) * (1 - HELD_OUT))
        train, held = starts[starts + span <= cut], starts[(starts >= cut) & (starts + span <= len(text))]
        if not (len(train) and len(held)):  # too short to set a tenth aside: validation reads training windows
            train = held = starts
        self.starts = torch.from_numpy(train.astype(np.int64))  # offsets a training window may start at
        self.held_starts = torch.from_numpy(held.astype(np.int64))  # and a held-out one (never overlapping)
        self._steps = torch.arange(span)

    def offsets(self, batch_size: int, generator: torch.Generator, held_out: bool = False) -> Tensor:
        """(B,) corpus offsets of a batch's windows: batch() with the same generator state reads these."""
        pool = self.held_starts if held_out else self.starts
        return pool[torch.randint(0, len(pool), (batch_size,), generator=generator)]

    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return self._windows(self.offsets(batch_size, generator))

    def held_out(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return self._windows(self.offsets(batch_size, generator, held_out=True))

    def _windows(self, offsets: Tensor) -> tuple[Tensor, Tensor]:
        w = self.ids[offsets.unsqueeze(1) + self._steps]  # (B, T + 1)
        return w[:, :-1], w[:, 1:]

    def metric(self, output: Tensor, y: Tensor) -> float:
        """Bits per character: the cross-entropy in base 2."""
        out = output.detach()
        return float(F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))) / math.log(2)

    def metric_from_loss(self, loss: float) -> float:
        return loss / math.log(2)  # the loss is that cross-entropy in nats

    # -- text in and out ----------------------------------------------------------------------------------
    def encode(self, text: str) -> Tensor:
        """text -> (len,) ids; a character outside the vocabulary raises ValueError naming it."""
        missing = [c for c in text if c not in self.index]
        if missing:
            raise ValueError(f"character {missing[0]!r} is not in this task's vocabulary of {len(self.index)}")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.input_vocab[int(i)] for i in ids)

    def sample_text(self, length: int = 200, generator: torch.Generator | None = None) -> str:
        """A stretch of the corpus to prime generation with: from a window start (the first one if no generator)."""
        start = int(self.offsets(1, generator)[0]) if generator is not None else int(self.starts[0])
        return self.text[start:start + length]

    def describe_input(self, x: Tensor) -> list[str]:
        return [VISIBLE.get(c, c) for c in self.decode(x)]

    def describe_output(self, y: Tensor) -> list[str]:
        return [VISIBLE.get(self.output_vocab[int(i)], self.output_vocab[int(i)]) for i in y.reshape(-1)]


@dataclass
class CodeParams(TaskParams):
    seq_len: int = 100  # characters per window: a few lines, enough to open and close brackets
    corpus_seed: int = 0  # which generated corpus; the same seed gives the same text everywhere


class CodeLM(_CharLM):
    """Next-character prediction on ~300 KB of generated code over a fixed 65-character vocabulary.

    Every window starts at a line start, so features(x) is exact from x alone: the bracket depth before a
    line start follows from its indentation (code_corpus.start_depth), and no string or comment is open.
    """

    info = TaskInfo(
        name="code_lm", sequence_type="many-to-many-sync", inputs="tokens", outputs="tokens",
        metric="bits per char",
        teaches="Predicting code character by character forces units that track quotes, bracket depth and "
                "line position, which you can find and watch.",
        family="language model", higher_is_better=False)
    Params = CodeParams
    defaults = TrainDefaults(arch="lstm", hidden_size=128, steps=600, batch_size=32, lr=5e-3)
    limits = {"seq_len": (2, 2000), "corpus_seed": (0, 2 ** 31 - 1)}
    corpus_size = 300_000  # characters: a few hundred KB, generated in a fraction of a second

    def __init__(self, **params):
        super().__init__(**params)
        text = code_corpus(self.params.corpus_seed, self.corpus_size)
        line_starts = np.flatnonzero(np.frombuffer(text.encode("ascii"), np.uint8) == ord("\n")) + 1
        starts = np.concatenate([[0], line_starts])
        self.use_text(text, list(CODE_VOCAB), starts[starts + self.params.seq_len + 1 <= len(text)])

    def features(self, x: Tensor) -> dict[str, np.ndarray]:
        """"inside quotes", "bracket depth", "position in line" per character of x (T,), exact when x starts
        at a line start of this corpus (every batch window does); see code_corpus.features_of_text."""
        text = self.decode(x)
        return features_of_text(text, start_depth(text.split("\n", 1)[0]))


@dataclass
class TextParams(TaskParams):
    seq_len: int = 64  # characters per window
    text: str = DEFAULT_TEXT  # the user's text (through load_text's checks); a built-in paragraph by default


class TextLM(_CharLM):
    """Next-character prediction on any text; its vocabulary is the text's own characters, sorted."""

    info = TaskInfo(
        name="text_lm", sequence_type="many-to-many-sync", inputs="tokens", outputs="tokens",
        metric="bits per char",
        teaches="Any text you bring becomes a training set: the model learns its spelling, then its words, "
                "and you can watch which units care about what.",
        family="language model", higher_is_better=False)
    Params = TextParams
    # sized for the built-in 1.8 KB text, which a bigger or longer run memorises: held-out bits per char bottom
    # out near 3.2 around step 150 (unigram entropy 4.2), then climb while the training loss keeps falling
    defaults = TrainDefaults(arch="lstm", hidden_size=64, steps=150, batch_size=32, lr=3e-3)
    limits = {"seq_len": (2, 2000)}

    def __init__(self, **params):
        super().__init__(**params)
        text = self.params.text = load_text(self.params.text)
        T = self.params.seq_len
        if T + 1 > len(text):
            raise ValueError(f"seq_len {T} is too long for a text of {len(text)} characters; "
                             f"use at most {len(text) - 1}")
        self.use_text(text, sorted(set(text)), np.arange(len(text) - T))

    def describe(self) -> dict:
        """As Task.describe, with the text summarised (it may be 2 MB) and the vocabulary spelled out."""
        d = super().describe()
        d["params"]["text"] = f"{len(self.text)} characters"
        d["vocabulary"] = "".join(self.input_vocab)
        return d
