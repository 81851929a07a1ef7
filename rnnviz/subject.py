"""Subject: what the views look at, whether it trains live or came from a checkpoint: a model with its task,
vocabularies, probe traces over training and metric history. Not streamlit, not plotting.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnviz.models import ModelConfig
from rnnviz.sampling import encode
from rnnviz.trace import Trace, probe

DEFAULT_STEPS = 48  # length of the made-up probe input for a model that came without a task


@dataclass
class Subject:
    label: str
    model: nn.Module  # on the CPU, eval mode
    task: object | None  # a rnnviz.tasks.Task, when known
    vocab: list[str] | None = None
    output_vocab: list[str] | None = None
    traces: list[Trace] = field(default_factory=list)  # oldest first
    history: list[dict] = field(default_factory=list)
    grad_heat: list = field(default_factory=list)  # (step, ||dL/dh_t|| per t) per probe
    train_config: dict | None = None
    source: str = "checkpoint"  # "run", "checkpoint" or "demo"
    notes: list[str] = field(default_factory=list)

    @property
    def cfg(self) -> ModelConfig:
        return self.model.cfg

    @property
    def latest(self) -> Trace:
        if not self.traces:
            self.traces.append(self.probe())
        return self.traces[-1]

    def probe_batch(self, samples: int = 4) -> tuple[Tensor, Tensor | None]:
        """The task's held-out probe batch (seeded), or a made-up input for a model without a task."""
        if self.task is not None:
            x, y = self.task.held_out(64, torch.Generator().manual_seed(10_000))  # as the trainer's probe seed
            return x[:samples], y[:samples]
        cfg = self.cfg
        if cfg.tokens:
            if self.vocab:
                return torch.tensor([encode(_sample_text(self.vocab), self.vocab)]), None
            return (torch.arange(DEFAULT_STEPS) % cfg.vocab_size).unsqueeze(0), None
        return torch.randn(1, DEFAULT_STEPS, cfg.input_size, generator=torch.Generator().manual_seed(0)), None

    def probe(self, x: Tensor | None = None, y: Tensor | None = None, model: nn.Module | None = None) -> Trace:
        """A fresh trace of `x` (default: the probe batch) through `model` (default: this subject's)."""
        if x is None:
            x, y = self.probe_batch()
        model = model or self.model
        loss_fn = self.task.loss if (self.task is not None and y is not None) else None
        if self.cfg.seq2seq and y is None:
            raise ValueError("an encoder-decoder needs a target sequence to trace")
        return probe(model, x, y, loss_fn)

    def describe_input(self, x: Tensor) -> list[str]:
        """Axis labels for one sample's input steps."""
        if self.task is not None:
            return self.task.describe_input(x)
        if self.vocab:
            return [self.vocab[int(i)] for i in x]
        return [str(int(v)) if v.dim() == 0 else f"t{t}" for t, v in enumerate(x)]


def _sample_text(vocab: list[str]) -> str:
    """Some text in the model's own alphabet: an English phrase if it can spell one, else the vocabulary."""
    for phrase in ("the quick brown fox jumps over the lazy dog. ", "hello world. ", "abc "):
        if all(ch in vocab for ch in phrase):
            return (phrase * 4)[:DEFAULT_STEPS]
    return "".join(vocab[i % len(vocab)] for i in range(DEFAULT_STEPS))


def task_from_dict(d: dict | None):
    """Rebuilds a task from its describe() dict; None if absent or no longer known."""
    if not d or "name" not in d:
        return None
    from rnnviz.tasks import get_task

    try:
        return get_task(d["name"], **d.get("params", {}))
    except ValueError:
        return None


def from_checkpoint(loaded, label: str, source: str = "checkpoint") -> Subject:
    """A Subject from rnnviz.checkpoints.load_checkpoint's result."""
    task = task_from_dict(loaded.task)
    extra = getattr(loaded, "extra", None) or {}
    out_vocab = extra.get("output_vocab") or (task.output_vocab if task is not None else None)
    subject = Subject(label, loaded.model.eval(), task, loaded.vocab, out_vocab, list(loaded.traces),
                      list(loaded.history or []), list(extra.get("grad_heat") or []), loaded.train_config, source,
                      list(loaded.notes))
    return subject
