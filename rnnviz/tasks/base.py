"""What every task is: metadata, a seeded batch generator, its loss and metric, and the model it needs.

Not a catalogue (the families live in sibling modules, the registry in __init__) and not training.
Shapes by sequence type (B batch, T steps, O outputs):
    one-to-one         x (B, 1, D)              y (B,) class ids
    one-to-many        x (B, T, D) input at t=0 y (B, T, O) values or (B, T) ids
    many-to-one        x (B, T) ids / (B,T,D)   y (B,) ids or (B, O) values: only the last output counts
    many-to-many-sync  x (B, T) / (B, T, D)     y (B, T) ids or (B, T, O) values
    many-to-many-async x (B, S) ids             y (B, T') ids, -100 where padded (encoder-decoder)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.models import ModelConfig

SEQUENCE_TYPES = ("one-to-one", "one-to-many", "many-to-one", "many-to-many-sync", "many-to-many-async")
PAD = -100
_BASELINES: dict[tuple, tuple[float, float]] = {}  # Task.baseline() by task and parameters (a language model: ~1 s)


@dataclass(frozen=True)
class TaskInfo:
    name: str
    sequence_type: str  # one of SEQUENCE_TYPES
    inputs: str  # "tokens" or "vectors"
    outputs: str  # "tokens" (ids), "classes" (ids, one label) or "vectors"
    metric: str  # what metric() returns: "accuracy", "sequence accuracy", "mse", "bits per char", ...
    teaches: str  # one sentence: the idea this task makes visible
    family: str  # "baseline", "generation", "classification", "tagging", "seq2seq", "long-term", "time series",
    #              "language model"
    higher_is_better: bool = True


@dataclass
class TrainDefaults:
    """A setting that trains this task to a useful metric in under 30 s on two CPU cores (selective_copy, which
    needs two layers of Mamba's block, takes about a minute; the README's table has every task's time)."""

    arch: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-3
    attention: str = "none"


@dataclass
class TaskParams:
    """Every task's parameters derive from this; seq_len is the sequence length (or lag) knob."""

    seq_len: int = 20


class Task:
    info: ClassVar[TaskInfo]
    Params: ClassVar[type] = TaskParams
    defaults: ClassVar[TrainDefaults] = TrainDefaults()
    limits: ClassVar[dict[str, tuple[float, float]]] = {"seq_len": (1, 1000)}  # param -> (min, max) allowed

    input_vocab: list[str] | None = None  # token strings for ids, when inputs are tokens
    output_vocab: list[str] | None = None  # token strings for output ids, when outputs are tokens/classes
    input_size: int = 1  # vector features per step, when inputs are vectors
    output_size: int = 1  # classes, output tokens or output values

    def __init__(self, **params):
        known = {f.name for f in dataclasses.fields(self.Params)}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"task {self.info.name!r} has no parameter {sorted(unknown)[0]!r}; "
                             f"it takes {', '.join(sorted(known))}")
        self.params = self.Params(**params)
        for name, (lo, hi) in self.limits.items():
            value = getattr(self.params, name)
            _check_number(self.info.name, name, value, type(getattr(self.Params(), name)))
            if not lo <= value <= hi:
                raise ValueError(f"{name} {value} is out of range for {self.info.name}; use {lo:g} to {hi:g}")

    # -- what the model must look like -------------------------------------------------------------------
    def model_config(self, arch: str | None = None, hidden_size: int | None = None, num_layers: int | None = None,
                     **overrides) -> ModelConfig:
        d = self.defaults
        tokens = self.info.inputs == "tokens"
        cfg = ModelConfig(
            arch=arch or d.arch, hidden_size=hidden_size or d.hidden_size, num_layers=num_layers or d.num_layers,
            vocab_size=len(self.input_vocab) if tokens else 0, input_size=1 if tokens else self.input_size,
            output_size=self.output_size, seq2seq=self.info.sequence_type == "many-to-many-async",
            attention=d.attention if self.info.sequence_type == "many-to-many-async" else "none")
        return dataclasses.replace(cfg, **overrides).validate()

    @property
    def lag(self) -> int | None:
        """The dependency lag the task needs (steps between cause and effect), where one exists."""
        return None

    # -- data ---------------------------------------------------------------------------------------------
    def batch(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """A deterministic batch: the same generator state gives the same (x, y)."""
        raise NotImplementedError

    def held_out(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Validation and probe sequences that training never reads. A generated task's fresh random samples
        are that already; a task with a finite corpus overrides this with windows from a part set aside."""
        return self.batch(batch_size, generator)

    # -- loss and metric, by sequence type and output kind ------------------------------------------------
    def relevant(self, output: Tensor) -> Tensor:
        """The outputs the loss reads: the last step for many-to-one and one-to-one, else all."""
        return output[:, -1] if self.info.sequence_type in ("many-to-one", "one-to-one") else output

    def loss(self, output: Tensor, y: Tensor) -> Tensor:
        out = self.relevant(output)
        if self.info.outputs == "vectors":
            return F.mse_loss(out, y.view_as(out))
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=PAD)

    def metric(self, output: Tensor, y: Tensor) -> float:
        """Accuracy over counted positions for ids; MSE for vectors (override for anything else)."""
        out = self.relevant(output.detach())
        if self.info.outputs == "vectors":
            return float(F.mse_loss(out, y.view_as(out)))
        keep = y != PAD
        return float(((out.argmax(-1) == y) & keep).sum() / keep.sum().clamp_min(1))

    def metric_from_loss(self, loss: float) -> float | None:
        """The metric when it follows from the batch's loss alone (the trainer then skips recomputing it on
        every step); None when it needs the outputs."""
        return None

    def baseline(self, n: int = 1024, seed: int = 7) -> tuple[float, float]:
        """(loss, metric) of the best predictor that never reads the input: at each output position the
        targets' own distribution (ids: log-frequencies as logits) or mean (values), measured on n held-out
        sequences. Chance accuracy for balanced classes, 1/6 MSE for the adding problem, k ln n / (T + 2k) for
        copy memory, the unigram entropy for a language model: a model has learned something only below
        (or, for accuracy, above) this line. An accuracy is scored on a second, independent sample 16n long: scored
        on the sample it was fitted to, the predictor favours whichever class happened to be commonest there (0.26
        for four equally likely classes, 0.55 for parity's two), and the line would sit above chance."""
        key = (self.info.name, n, seed, tuple(sorted(dataclasses.asdict(self.params).items())))
        if key in _BASELINES:
            return _BASELINES[key]
        _, y = self.held_out(n, torch.Generator().manual_seed(seed))
        last_only = self.info.sequence_type in ("many-to-one", "one-to-one")
        if self.info.outputs == "vectors":
            out = y.float().mean(0, keepdim=True).expand_as(y)
            out = out.reshape(n, 1, -1) if last_only else out
        else:
            keep = (y != PAD).unsqueeze(-1)
            counts = (F.one_hot(y.clamp_min(0), self.output_size) * keep).sum(0).float()  # ([T,] C)
            logits = (counts / counts.sum(-1, keepdim=True).clamp_min(1)).clamp_min(1e-9).log()
            out = logits.expand(*y.shape, self.output_size)
            out = out.unsqueeze(1) if last_only else out
        loss = float(self.loss(out, y))
        metric = self.metric_from_loss(loss)
        if metric is None and self.info.outputs != "vectors":  # the fitted predictor on sequences it never saw
            _, unseen = self.held_out(16 * n, torch.Generator().manual_seed(seed + 1))
            if unseen.shape[1:] == y.shape[1:]:  # padded outputs as long as the fitted ones (else: the fitted ones)
                y, out = unseen, logits.expand(*unseen.shape, self.output_size)
                out = out.unsqueeze(1) if last_only else out
        result = loss, float(self.metric(out, y) if metric is None else metric)
        if len(_BASELINES) > 256:
            _BASELINES.clear()
        _BASELINES[key] = result
        return result

    # -- what the views need ------------------------------------------------------------------------------
    def describe_input(self, x: Tensor) -> list[str]:
        """Labels for one sample's input steps (x without the batch axis), for figure axes."""
        if self.input_vocab is not None:
            return [self.input_vocab[int(i)] for i in x]
        return [f"{float(v[0]):.2f}" if v.numel() == 1 else f"t{t}" for t, v in enumerate(x)]

    def describe_output(self, y: Tensor) -> list[str]:
        if self.output_vocab is not None:
            return [self.output_vocab[int(i)] if int(i) >= 0 else "·" for i in y.reshape(-1)]
        return [f"{float(v):.2f}" for v in y.reshape(-1)]

    def features(self, x: Tensor) -> dict[str, np.ndarray]:
        """Per-step ground-truth features of one sample's input (e.g. inside quotes), for the unit finder."""
        return {}

    def dependency(self, x: Tensor) -> list[int] | None:
        """Input steps the final output truly depends on (synthetic tasks), for the connectivity view."""
        return None

    def copies(self, x: Tensor) -> list[list[int]] | None:
        """An encoder-decoder task that copies tokens: per decoder step, the source positions holding the token it
        must write (several for a repeated digit, none for the end token), for the attention map; else None."""
        return None

    def describe(self) -> dict:
        i = self.info
        return {"name": i.name, "sequence_type": i.sequence_type, "teaches": i.teaches, "inputs": i.inputs,
                "outputs": i.outputs, "metric": i.metric, "family": i.family, "lag": self.lag,
                "params": dataclasses.asdict(self.params), "defaults": dataclasses.asdict(self.defaults)}


def _check_number(task: str, name: str, value, kind: type) -> None:
    """A parameter whose default is an int must be a whole number; a float one any real number."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if kind is int and not whole:
        raise ValueError(f"{name} {value!r} must be a whole number for {task}")
    if kind is float and not (whole or isinstance(value, float)):
        raise ValueError(f"{name} {value!r} must be a number for {task}")
