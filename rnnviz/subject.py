"""Subject: what the views look at, whether it trains live or came from a checkpoint: a model with its task,
vocabularies, probe traces over training and metric history. Not streamlit, not plotting.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnviz.models import ModelConfig
from rnnviz.run import RunRecord, RunSpec, spec_of
from rnnviz.sampling import encode, join_tokens, split_text
from rnnviz.trace import Trace, probe, record_io

DEFAULT_STEPS = 48  # length of the made-up probe input for a model that came without a task


@dataclass
class Subject:
    """A model and the RunRecord it came with (empty for an imported state_dict), as the views see them."""

    label: str
    model: nn.Module  # on the CPU, eval mode
    task: object | None  # a rnnviz.tasks.Task, when known
    vocab: list[str] | None = None
    output_vocab: list[str] | None = None
    record: RunRecord = field(default_factory=RunRecord)  # history, probe traces (oldest first), gradient map
    train_config: dict | None = None  # the TrainConfig it was trained with, when known
    source: str = "checkpoint"  # "run", "checkpoint", "demo" or "lesson"
    notes: list[str] = field(default_factory=list)
    spec: RunSpec | None = None  # the RunSpec it was trained from, when known
    vocab_note: str | None = None  # how the vocabulary's order was assumed, shown on every page that uses it

    traces = property(lambda self: self.record.traces)
    history = property(lambda self: self.record.history)
    grad_heat = property(lambda self: self.record.grad_heat)

    @property
    def cfg(self) -> ModelConfig:
        return self.model.cfg

    @property
    def one_hot(self) -> bool:
        """Whether the model reads one-hot vectors over its vocabulary (no embedding, one feature per token)."""
        return not self.cfg.tokens and bool(self.vocab) and len(self.vocab) == self.cfg.input_size

    def input_ids(self, trace: Trace, sample: int) -> list[int] | None:
        """One traced sample's input as token ids (one-hot rows read back to ids); None for vector inputs."""
        x = trace.inputs[sample]
        if x.dim() == 1:
            return [int(i) for i in x]
        if self.one_hot and x.shape[-1] == len(self.vocab):
            return [int(i) for i in x.argmax(-1)]
        return None

    @property
    def latest(self) -> Trace:
        if not self.traces:
            self.traces.append(self.probe())
        return self.traces[-1]

    def probe_batch(self, samples: int = 4) -> tuple[Tensor, Tensor | None]:
        """Input for a new probe (one the user asks for, or the first of a model without traces): the trainer's
        own probe batch when the training setup is known, else the task's seeded held-out batch, else a made-up
        input. Labels never come from here: they come from the trace that was drawn (traced_batch)."""
        if self.task is not None:
            tc = self.spec.to_dict() if self.spec is not None else (self.train_config or {})
            try:  # a file's settings, bounded as TrainConfig bounds them: a crafted file cannot ask for a huge batch
                seed = int(tc.get("seed", 0))
                n = min(max(int(tc.get("eval_batch", 64)), 1), 8192)
                k = min(max(int(tc.get("probe_samples", samples)) if tc else samples, 1), 64)
            except (TypeError, ValueError):
                seed, n, k = 0, 64, samples
            x, y = self.task.held_out(n, torch.Generator().manual_seed(seed + 10_000))  # as Trainer.__init__
            return x[:k], y[:k]
        cfg = self.cfg
        if cfg.tokens:
            if self.vocab:
                return torch.tensor([encode(_sample_text(self.vocab), self.vocab)]), None
            return (torch.arange(DEFAULT_STEPS) % cfg.vocab_size).unsqueeze(0), None
        if self.one_hot:  # a model fed one-hot vectors over its vocabulary (PyTorch's names tutorial, min-char-rnn)
            ids = torch.tensor([encode(_sample_text(self.vocab), self.vocab)])
            return torch.nn.functional.one_hot(ids, len(self.vocab)).float(), None
        return torch.randn(1, DEFAULT_STEPS, cfg.input_size, generator=torch.Generator().manual_seed(0)), None

    def probe(self, x: Tensor | None = None, y: Tensor | None = None, model: nn.Module | None = None) -> Trace:
        """A fresh trace of `x` (default: the probe batch) through `model` (default: this subject's)."""
        if x is None:
            x, y = self.probe_batch()
        model = model or self.model
        loss_fn = self.task.loss if (self.task is not None and y is not None) else None
        if self.cfg.seq2seq and y is None:
            raise ValueError("an encoder-decoder needs a target sequence to trace")
        return probe(model, x, y, loss_fn, vocab=self.vocab, output_vocab=self.output_vocab)

    def traced_batch(self, trace: Trace | None = None) -> tuple[Tensor, Tensor | None]:
        """The inputs and targets `trace` (default: the latest) was computed on: what its labels describe."""
        trace = trace or self.latest
        if "input" not in trace:
            raise ValueError("this trace does not record its inputs; probe the model again")
        return trace.inputs, trace.targets

    def input_labels(self, trace: Trace, sample: int) -> list[str]:
        """Axis labels for one traced sample's input steps, read from the trace's own input."""
        x = trace.inputs[sample]
        if self.task is not None:
            return self.task.describe_input(x)
        vocab = trace.meta.get("input_vocab") or self.vocab
        ids = self.input_ids(trace, sample)
        if vocab and ids is not None:
            return [vocab[i] if 0 <= i < len(vocab) else str(i) for i in ids]
        return [str(int(v)) if v.dim() == 0 else f"t{t}" for t, v in enumerate(x)]

    def target_labels(self, trace: Trace, sample: int) -> list[str] | None:
        """Labels for one traced sample's targets (the decoder's steps), from the trace's own targets."""
        y = trace.targets
        if y is None:
            return None
        if self.task is not None:
            return self.task.describe_output(y[sample])
        vocab = trace.meta.get("output_vocab")
        return [vocab[int(i)] if vocab and 0 <= int(i) < len(vocab) else str(int(i)) for i in y[sample].reshape(-1)]


def _sample_text(vocab: list[str]) -> str:
    """Some text in the model's own units: an English phrase if it can spell (or say) one, else the vocabulary."""
    for phrase in ("the quick brown fox jumps over the lazy dog. ", "hello world. ", "abc "):
        pieces = split_text(phrase * 4, vocab)
        if all(p in vocab for p in pieces):
            return join_tokens(pieces[:DEFAULT_STEPS], vocab)
    return join_tokens([vocab[i % len(vocab)] for i in range(DEFAULT_STEPS)], vocab)


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
    subject = Subject(label, loaded.model.eval(), task, loaded.vocab, out_vocab, RunRecord.from_checkpoint(loaded),
                      loaded.train_config, source, list(loaded.notes), spec_of(loaded), loaded.vocab_note)
    backfill_inputs(subject)
    return subject


def backfill_inputs(subject: Subject) -> None:
    """Traces saved before they recorded their inputs (rnnviz < 0.2) get the batch the trainer really probed,
    regenerated from its recipe (seed + 10_000, eval_batch, probe_samples), checked against the trace's shape."""
    old = [t for t in subject.traces if "input" not in t]
    if old and (subject.task is None or not (subject.train_config or subject.spec)):
        subject.record.traces = [t for t in subject.traces if "input" in t]  # unlabelled: never drawn
        return
    if not old:
        return
    x, y = subject.probe_batch()
    for t in old:
        if t.samples == x.shape[0] and t.steps == (y.shape[1] if subject.cfg.seq2seq else x.shape[1]):
            record_io(t, x, y, subject.vocab, subject.output_vocab)
    subject.record.traces = [t for t in subject.traces if "input" in t]  # a trace that did not fit is dropped
