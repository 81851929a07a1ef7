"""The trainer: one report per optimiser step, a probe trace every k steps; knows nothing of any UI.

Not the model, the task or the probe (models.py, tasks/, trace.py): this file wires them together with
the textbook cures for exploding and vanishing gradients (clipping, truncated BPTT, L2, the Pascanu
regulariser, initialisation) and a divergence guard that turns NaN or inf into a lesson, not a crash.
A caller drives it: `for report in trainer.reports(): ...`, or `trainer.step()` one at a time; pause(),
resume() and stop() act between steps.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Iterator

import torch
from torch import Tensor

from rnnviz.bptt import check_tbptt, tbptt_backward
from rnnviz.build import build_model
from rnnviz.init import InitConfig, apply_init
from rnnviz.model_stacks import recurrent_stacks, stack_of
from rnnviz.models import ModelConfig
from rnnviz.penalties import pascanu_penalty
from rnnviz.run import RunRecord, RunSpec
from rnnviz.tasks import Task
from rnnviz.trace import Trace, probe

MAX_STEPS = 1_000_000
COMPACT_HISTORY = 400  # history entries a compact checkpoint keeps (plus every evaluation)


@dataclass
class TrainConfig:
    steps: int = 1000  # optimiser steps
    batch_size: int = 32  # small batches keep each step in tens of milliseconds
    lr: float = 3e-3
    optimizer: str = "adam"  # "adam" or "sgd"
    momentum: float = 0.9  # sgd only
    clip_norm: float = 0.0  # > 0: rescale the gradient when its total norm exceeds this (Pascanu et al. 2013)
    clip_value: float = 0.0  # > 0: clamp every gradient entry to ±this
    tbptt: int = 0  # k1 > 0: truncated BPTT, one gradient window every k1 steps
    tbptt_back: int = 0  # k2: how far back each window's gradient reaches (0 means k1); a multiple of k1
    l2: float = 0.0  # L2 penalty (l2/2)·||W||² on weight matrices, as gradient l2·W
    pascanu: float = 0.0  # weight of the vanishing-gradient regulariser Ω (penalties.py); trains on the slow path
    init: str = "default"  # a scheme of rnnviz.init.SCHEMES
    init_radius: float = 1.0  # "spectral" init: W_hh blocks' spectral radius
    init_gain: float = 1.0  # "orthogonal" / "identity" init: scale of W_hh
    forget_bias: float | None = None  # LSTM family: total forget-gate bias at init
    seed: int = 0
    probe_every: int = 100  # one instrumented trace per this many steps: ~5% of training time at the bench size
    probe_samples: int = 4  # sequences in the probe batch
    eval_every: int = 50  # held-out evaluation cadence: each costs a few training steps' time
    eval_batch: int = 128  # enough sequences for a steady validation curve
    max_traces: int = 24  # probe snapshots kept in memory and checkpoints (thinned evenly beyond this)

    def validate(self) -> "TrainConfig":
        checks = [("steps", 1, MAX_STEPS), ("batch_size", 1, 4096), ("probe_every", 1, MAX_STEPS),
                  ("probe_samples", 1, 64), ("eval_every", 1, MAX_STEPS), ("eval_batch", 1, 8192),
                  ("tbptt", 0, 10_000), ("tbptt_back", 0, 10_000), ("max_traces", 1, 1000)]
        for name, lo, hi in checks:
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise ValueError(f"{name.replace('_', ' ')} {v} is out of range; use {lo} to {hi}")
        if not 0 < self.lr <= 10:
            raise ValueError(f"learning rate {self.lr} is out of range; use a value in (0, 10]")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose adam or sgd")
        for name in ("clip_norm", "clip_value", "l2", "pascanu"):
            if getattr(self, name) < 0 or not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name.replace('_', ' ')} {getattr(self, name)} must be a finite number >= 0")
        InitConfig(self.init, self.init_radius, self.init_gain, self.forget_bias).validate()
        return self


@dataclass
class StepReport:
    step: int  # optimiser steps completed
    loss: float
    metric: float
    grad_norm: float  # total norm before clipping
    clipped: bool
    steps_per_sec: float
    grad_norms: dict[str, float] = field(default_factory=dict)  # per parameter, before clipping
    penalty: float | None = None  # Ω when the Pascanu regulariser is on
    val_loss: float | None = None
    val_metric: float | None = None
    trace: Trace | None = None
    diverged: str | None = None  # why the run stopped, when the loss or gradient became NaN or inf


NO_DECAY = ("rnn.A_log", "encoder.A_log", "decoder.A_log")  # S6's A: Mamba keeps it out of weight decay


class Trainer:
    """One training run: model, optimiser, fixed validation and probe batches, and its RunRecord (history,
    probe traces, gradient map, status)."""

    def __init__(self, task: Task, model_cfg: ModelConfig, cfg: TrainConfig, device=None, spec: RunSpec | None = None):
        self.task, self.model_cfg, self.cfg = task, model_cfg.validate(), cfg.validate()
        self.spec = spec  # the RunSpec it came from, when it came from one (saved with the checkpoint)
        self.model = build_model(model_cfg, device=device, seed=cfg.seed)
        self.device = next(self.model.parameters()).device
        gen = torch.Generator().manual_seed(cfg.seed)
        if cfg.init != "default" or cfg.forget_bias is not None:
            for rnn in recurrent_stacks(self.model).values():
                if rnn.spec.family != "esn":
                    apply_init(rnn, InitConfig(cfg.init, cfg.init_radius, cfg.init_gain, cfg.forget_bias), gen)
        if cfg.tbptt:
            check_tbptt(self.model, cfg.tbptt, cfg.tbptt_back)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.names = [n for n, p in self.model.named_parameters() if p.requires_grad]
        # one fused kernel for every parameter (Adam) or one pass per operation (SGD): torch's default on a CPU is
        # a loop over the parameters in Python, 0.57 ms a step for a 32-unit LSTM against fused Adam's 0.10 ms
        self.opt = (torch.optim.Adam(self.params, cfg.lr, fused=True) if cfg.optimizer == "adam"
                    else torch.optim.SGD(self.params, cfg.lr, momentum=cfg.momentum, foreach=True))
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.val = self._to(task.held_out(cfg.eval_batch, torch.Generator().manual_seed(cfg.seed + 10_000)))
        self.probe_batch = tuple(t[:cfg.probe_samples] for t in self.val)
        self.good = [p.detach().clone() for p in self.params]  # last weights that gave a finite loss and gradient
        self.record = RunRecord(max_traces=cfg.max_traces)
        self.step_count = 0
        self._rate, self._last = 0.0, None

    @classmethod
    def from_spec(cls, spec: RunSpec, device=None) -> "Trainer":
        """The trainer a RunSpec describes (resolved here: task defaults, attention rule, validation)."""
        spec = spec.resolved()
        task, model_cfg, cfg = spec.build()
        trainer = cls(task, model_cfg, cfg, device, spec)
        if spec.start_from is not None:  # in place: the optimizer already holds these parameters
            from rnnviz.run import starting_weights

            trainer.model.load_state_dict(starting_weights(spec.start_from, model_cfg))
        return trainer

    # the record's parts, under the names callers have always used
    history = property(lambda self: self.record.history)
    traces = property(lambda self: self.record.traces)
    grad_heat = property(lambda self: self.record.grad_heat)
    status = property(lambda self: self.record.status, lambda self, v: setattr(self.record, "status", v))
    diverged = property(lambda self: self.record.message if self.record.status == "diverged" else None)

    # -- driving ------------------------------------------------------------------------------------------
    def reports(self) -> Iterator[StepReport]:
        """Steps until done, stopped, paused or diverged; call again after resume()."""
        self.status = "running" if self.status in ("ready", "paused") else self.status
        while self.status == "running":
            yield self.step()

    def pause(self) -> None:
        if self.status == "running":
            self.status = "paused"

    def resume(self) -> None:
        if self.status == "paused":
            self.status = "running"

    def stop(self) -> None:
        if self.status in ("ready", "running", "paused"):
            self.status = "stopped"

    @property
    def done(self) -> bool:
        return self.status in ("stopped", "finished", "diverged")

    # -- one step -----------------------------------------------------------------------------------------
    def step(self, batch: tuple[Tensor, Tensor] | None = None) -> StepReport:
        """One optimiser step on `batch` (or the task's next batch), evaluation and probe when due."""
        if self.done:
            raise ValueError(f"this run is {self.status}; start a new run to train further")
        x, y = self._to(batch if batch is not None else self.task.batch(self.cfg.batch_size, self.gen))
        self.model.train()
        self.opt.zero_grad(set_to_none=True)
        loss, penalty, output = self._backward(x, y)
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        norms = torch.stack(torch._foreach_norm(grads)) if grads else torch.zeros(1)
        total = float(norms.norm())
        reason = _divergence(float(loss), total)
        if reason:
            return self._diverge(reason, float(loss), total)
        clipped = self._clip(grads, total)
        if self.cfg.l2:
            torch._foreach_add_(grads, [p.detach() if p.dim() > 1 and not n.startswith(NO_DECAY) else torch.zeros_like(p)
                                        for n, p in zip(self.names, self.params)], alpha=self.cfg.l2)
        torch._foreach_copy_(self.good, [p.detach() for p in self.params])
        self.opt.step()
        self.step_count += 1
        metric = self.task.metric_from_loss(float(loss))
        if metric is None:
            metric = self.task.metric(output, y)
        report = StepReport(self.step_count, float(loss), metric, total, clipped, self._tick(),
                            dict(zip(self.names, norms.tolist())), penalty)
        self._evaluate_and_probe(report)
        self.history.append(_row(report))
        if self.step_count >= self.cfg.steps:
            self.status = "finished"
        return report

    def _backward(self, x, y) -> tuple[Tensor, float | None, Tensor]:
        """Loss, penalty and outputs for this batch, gradients accumulated into .grad."""
        cfg, task = self.cfg, self.task
        if cfg.tbptt:
            last_only = task.info.sequence_type in ("many-to-one", "one-to-one")
            loss, out = tbptt_backward(self.model, x, y, task.loss, cfg.tbptt, cfg.tbptt_back, last_only)
            return loss, None, out
        if cfg.pascanu:
            out, _, tapes, _ = self.model.forward_traced(x, y)
            loss = task.loss(out, y)
            omega = sum(pascanu_penalty(stack_of(self.model, p), tape, loss) for p, tape in tapes.items())
            (loss + cfg.pascanu * omega).backward()
            return loss.detach(), float(omega.detach()), out.detach()
        out = self.model(x, y)[0]
        loss = task.loss(out, y)
        loss.backward()
        return loss.detach(), None, out.detach()

    def _clip(self, grads: list[Tensor], total: float) -> bool:
        clipped = False
        if self.cfg.clip_norm and total > self.cfg.clip_norm:
            torch._foreach_mul_(grads, self.cfg.clip_norm / (total + 1e-6))  # as torch.nn.utils.clip_grad_norm_
            clipped = True
        if self.cfg.clip_value:
            v = self.cfg.clip_value
            clipped |= any(float(g.abs().max()) > v for g in grads if g.numel())
            for g in grads:
                g.clamp_(-v, v)
        return clipped

    def _diverge(self, reason: str, loss: float, total: float) -> StepReport:
        with torch.no_grad():
            torch._foreach_copy_(self.params, self.good)
        self.status, self.record.message = "diverged", f"{reason} at step {self.step_count + 1}"
        report = StepReport(self.step_count, loss, float("nan"), total, False, self._tick(), diverged=self.diverged)
        self.history.append(_row(report))
        return report

    def _evaluate_and_probe(self, report: StepReport) -> None:
        s = self.step_count
        if s % self.cfg.eval_every == 0 or s == 1 or s >= self.cfg.steps:
            report.val_loss, report.val_metric = self.evaluate()
        if s % self.cfg.probe_every == 0 or s == 1 or s >= self.cfg.steps:
            report.trace = self.probe()

    # -- measuring ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Loss and metric on the held-out batch (eval mode)."""
        was = self.model.training
        self.model.eval()
        x, y = self.val
        out = self.model(x, y)[0]
        self.model.train(was)
        return float(self.task.loss(out, y)), self.task.metric(out, y)

    def probe(self) -> Trace:
        """A full trace of the probe batch now; kept (thinned) in self.traces and summarised in grad_heat."""
        x, y = self.probe_batch
        trace = probe(self.model, x, y, self.task.loss, train_step=self.step_count, vocab=self.task.input_vocab,
                      output_vocab=self.task.output_vocab)
        top = trace.meta["prefixes"][-1]
        self.record.add_trace(trace, (self.step_count, trace[top + "grad.h"][-1].norm(dim=-1).mean(0).tolist()))
        return trace

    def summary(self) -> dict:
        last = next((h for h in reversed(self.history) if h.get("val_loss") is not None), {})
        return {"task": self.task.info.name, "arch": self.model_cfg.arch, "steps": self.step_count,
                "loss": self.history[-1]["loss"] if self.history else None, "val_loss": last.get("val_loss"),
                "metric_name": self.task.info.metric, "val_metric": last.get("val_metric"),
                "diverged": self.diverged is not None, "status": self.status}

    def save(self, path, compact: bool = False) -> None:
        """This run as an rnnviz checkpoint: weights, configs, task, vocabulary, history and probe traces
        (compact: traces stored as bfloat16 and the history thinned, for small files such as the demos)."""
        from rnnviz.checkpoints import save_checkpoint  # the format is checkpoints.py's business

        history = thin_history(self.history, COMPACT_HISTORY) if compact else self.history
        save_checkpoint(path, self.model, task=self.task.describe(), vocab=self.task.input_vocab,
                        train_config=dataclasses.asdict(self.cfg), history=history, traces=self.traces,
                        extra={"output_vocab": self.task.output_vocab, **self.record.extra(),
                               "spec": self.spec.to_dict() if self.spec is not None else None},
                        trace_dtype="bfloat16" if compact else "float32")

    def config_dict(self) -> dict:
        return {"model": self.model_cfg.to_dict(), "train": dataclasses.asdict(self.cfg),
                "task": self.task.describe()}

    def _to(self, batch):
        return tuple(t.to(self.device) for t in batch)

    def _tick(self) -> float:
        now = time.perf_counter()
        if self._last is not None:
            rate = 1.0 / max(now - self._last, 1e-9)
            self._rate = rate if self._rate == 0 else 0.9 * self._rate + 0.1 * rate
        self._last = now
        return self._rate


def _divergence(loss: float, grad_norm: float) -> str | None:
    if not math.isfinite(loss):
        return f"the loss became {loss}"
    if not math.isfinite(grad_norm):
        return f"the gradient norm became {grad_norm} (exploding gradients)"
    return None


def _row(r: StepReport) -> dict:
    """One history entry: 6 significant digits (plenty to plot, a third of the bytes), unset values left out."""
    row = {"step": r.step, "loss": r.loss, "metric": r.metric, "grad_norm": r.grad_norm, "clipped": r.clipped,
           "val_loss": r.val_loss, "val_metric": r.val_metric, "penalty": r.penalty,
           "steps_per_sec": r.steps_per_sec}
    return {k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in row.items() if v is not None}


def thin_history(history: list[dict], n: int) -> list[dict]:
    """At most about n entries: every evaluation kept, the rest evenly spaced, the last always kept."""
    if len(history) <= n:
        return list(history)
    stride = max(1, len(history) // n)
    return [h for i, h in enumerate(history) if i % stride == 0 or "val_loss" in h or i == len(history) - 1]
