"""A run as one noun: RunSpec (what to train, every knob under one name) and RunRecord (what came out).

Not the training loop (training.py), not the process pool (rnnviz/jobs), not the UI. The Train form, the
command line, the lessons' presets and the training worker all build a RunSpec and call `resolved()` and
`build()`; nothing else applies task defaults or the encoder-decoder's attention rule. One name per knob, from
the link's query string (`?hidden=32`) to the command line (`--hidden 32`) to the field read here, as
TensorFlow Playground's state.ts does. The trainer writes a RunRecord; checkpoints save and load it whole; the
worker pool streams it; the views' Subject wraps it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

ACTIVE = ("queued", "starting", "running", "paused")  # statuses of a run that may still train
STATUSES = ("ready", *ACTIVE, "stopped", "finished", "diverged", "failed")


@dataclass(frozen=True)
class RunSpec:
    """Every setting of one run. None means "the task's own default" until resolved()."""

    task: str = "adding"  # a name from rnnviz.tasks.TASKS
    arch: str | None = None  # a name from rnnviz.cells.SPECS
    hidden: int | None = None  # units per layer
    layers: int | None = None  # 1 to 4
    attention: str | None = None  # encoder-decoder tasks only: none, additive, dot; ignored elsewhere
    seq_len: int | None = None  # sequence length or lag
    text: str | None = None  # text_lm only: the text to learn (checked by tasks.load_text)
    steps: int | None = None  # optimiser steps
    batch: int | None = None  # sequences per step
    lr: float | None = None  # learning rate
    optimizer: str = "adam"  # adam or sgd (momentum 0.9)
    clip: float = 0.0  # > 0: clip the gradient's total norm to this
    clip_value: float = 0.0  # > 0: clamp each gradient entry to ±this
    tbptt: int = 0  # truncated BPTT window k1 (0: full BPTT)
    tbptt_back: int = 0  # TBPTT reach k2, a multiple of k1 (0: k1)
    init: str = "default"  # a scheme of rnnviz.init.SCHEMES
    radius: float = 1.0  # "spectral" init: W_hh's spectral radius
    gain: float = 1.0  # "orthogonal" / "identity" init: W_hh's scale
    forget_bias: float | None = None  # LSTM family with a forget gate: its total bias at init (None: torch's)
    l2: float = 0.0  # L2 penalty on weight matrices
    pascanu: float = 0.0  # weight of the vanishing-gradient regulariser
    seed: int = 0  # same seed, same data and weights
    probe_every: int | None = None  # steps between probe traces (None: ~50 probes, every 10 to 100 steps)
    probe_samples: int = 4  # sequences each probe traces
    eval_every: int = 50  # steps between held-out evaluations
    eval_batch: int = 128  # held-out sequences (the probe's are its first probe_samples)
    max_traces: int = 24  # probe snapshots kept (thinned evenly beyond this, newest kept)
    start_from: str | None = None  # a checkpoint file whose weights the model starts from (the app: a run's own
    #                                save, named by the server, never by a link); the optimizer starts afresh
    label: str = ""  # how the run is named on screen ("" : made from the settings)
    lesson: str | None = None  # the lesson page that started it, if any

    # -- resolving ----------------------------------------------------------------------------------------
    def make_task(self):
        from rnnviz.tasks import get_task, load_text

        params = {} if self.seq_len is None else {"seq_len": self.seq_len}
        if self.task == "text_lm" and self.text is not None:
            params["text"] = load_text(self.text.encode("utf-8"))
        return get_task(self.task, **params)

    def baseline(self) -> tuple[float, float] | None:
        """The task's (loss, metric) when the input is ignored (Task.baseline), or None where it cannot be had."""
        try:
            return self.make_task().baseline()
        except (ValueError, RuntimeError):
            return None

    def resolved(self) -> "RunSpec":
        """This spec with every default filled in from the task, checked: ValueError (one sentence) if it
        cannot train. Resolving a resolved spec changes nothing."""
        task = self.make_task()
        d, seq2seq = task.defaults, task.info.sequence_type == "many-to-many-async"
        arch = self.arch or d.arch
        from rnnviz.cells import get_spec

        has_forget = "f" in get_spec(arch).blocks
        if self.init != "default" and not get_spec(arch).has_w_hh:
            raise ValueError(f"{arch} has no W_hh matrix for the {self.init!r} initialisation to shape; "
                             "use init default")
        steps = self.steps or d.steps
        spec = dataclasses.replace(
            self, arch=arch, hidden=self.hidden or d.hidden_size, layers=self.layers or d.num_layers,
            attention=(self.attention or d.attention) if seq2seq else None, seq_len=int(task.params.seq_len),
            steps=steps, batch=self.batch or d.batch_size, lr=self.lr or d.lr,
            forget_bias=self.forget_bias if has_forget else None,
            probe_every=self.probe_every or max(10, min(100, steps // 50)))
        spec = dataclasses.replace(spec, label=spec.label or spec.default_label())
        _, model, _ = spec.build(task)  # validates the model and training configs
        if spec.start_from is not None:
            starting_weights(spec.start_from, model)  # checked before the run queues, not in its worker
        return spec

    def build(self, task=None):
        """(task, ModelConfig, TrainConfig) of a resolved spec; ValueError if the combination cannot train."""
        from rnnviz.training import TrainConfig

        task = task or self.make_task()
        extra = {"attention": self.attention} if task.info.sequence_type == "many-to-many-async" else {}
        model = task.model_config(self.arch, self.hidden, self.layers, **extra)
        train = TrainConfig(steps=self.steps, batch_size=self.batch, lr=self.lr, optimizer=self.optimizer,
                            clip_norm=self.clip, clip_value=self.clip_value, tbptt=self.tbptt,
                            tbptt_back=self.tbptt_back, init=self.init, init_radius=self.radius, init_gain=self.gain,
                            forget_bias=self.forget_bias, l2=self.l2, pascanu=self.pascanu, seed=self.seed,
                            probe_every=self.probe_every, probe_samples=self.probe_samples,
                            eval_every=self.eval_every, eval_batch=self.eval_batch,
                            max_traces=self.max_traces).validate()
        if train.tbptt and model.seq2seq:
            raise ValueError("truncated BPTT needs a step-by-step model; set the window to full (0) for "
                             "encoder-decoder tasks")
        return task, model, train

    def default_label(self) -> str:
        return f"{self.arch} h{self.hidden} on {self.task} (seed {self.seed})"

    # -- plain data -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        if not isinstance(d, dict):
            raise ValueError("a run spec must be a JSON object of settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown run setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return cls(**d)


def starting_weights(path: str, model_cfg) -> dict:
    """The state dict in the checkpoint at `path`, checked to fit a model built from `model_cfg` (same names and
    shapes); ValueError (one sentence) if there is no such file or it does not fit."""
    from pathlib import Path

    import torch

    from rnnviz.build import build_model
    from rnnviz.checkpoints import load_checkpoint

    if not Path(path).is_file():
        raise ValueError("the run to start from has no saved weights yet; wait for its first save (a few seconds)")
    weights = load_checkpoint(path).model.state_dict()
    with torch.random.fork_rng(devices=[]):  # the shapes only: nobody's random stream moves
        own = build_model(model_cfg, device="cpu").state_dict()
    for name, tensor in own.items():
        theirs = weights.get(name)
        if theirs is None or theirs.shape != tensor.shape:
            got = "missing" if theirs is None else f"of shape {tuple(theirs.shape)}"
            raise ValueError(f"the weights to start from do not fit this network ({name} is {got}, this network's "
                             f"is {tuple(tensor.shape)}): keep the task, architecture, width and layers to continue "
                             "a run")
    return {name: weights[name] for name in own}


@dataclass
class RunRecord:
    """What a run produced, written by the trainer, streamed by the worker pool, saved whole in checkpoints.

    Retention (one rule, everywhere): the newest probe is kept whole, older ones as snapshots (Trace.snapshot);
    beyond max_traces every other one is dropped, always keeping the newest."""

    status: str = "ready"  # one of STATUSES
    history: list[dict] = field(default_factory=list)  # one dict of scalars per step
    traces: list = field(default_factory=list)  # rnnviz.trace.Trace, oldest first
    grad_heat: list = field(default_factory=list)  # (step, ||dL/dh_t|| per t of the top layer) per probe
    message: str | None = None  # why it diverged or failed, or how it ended
    max_traces: int = 24

    @property
    def step(self) -> int:
        return self.history[-1]["step"] if self.history else 0

    @property
    def latest_trace(self):
        return self.traces[-1] if self.traces else None

    def add_trace(self, trace, heat_row=None) -> None:
        """Keeps a new probe under the retention rule, with its row of the gradient-through-time map."""
        if heat_row is not None:
            self.grad_heat.append(heat_row)
        if self.traces:
            self.traces[-1] = self.traces[-1].snapshot()
        self.traces.append(trace)
        if len(self.traces) > self.max_traces:
            self.traces = self.traces[::-2][::-1]

    def extra(self) -> dict:
        """What a checkpoint stores beside history and traces."""
        return {"grad_heat": self.grad_heat, "status": self.status, "diverged": self.message}

    @classmethod
    def from_checkpoint(cls, loaded, max_traces: int = 24) -> "RunRecord":
        """The record a checkpoint saved. One autosaved mid-run trains no more once loaded: it says so."""
        extra = loaded.extra or {}
        status = extra.get("status") if extra.get("status") in STATUSES else "finished"
        record = cls(status, list(loaded.history or []), list(loaded.traces), list(extra.get("grad_heat") or []),
                     extra.get("diverged"), max(max_traces, len(loaded.traces)))
        if status in ACTIVE:  # saved while training: its server stopped before the run ended
            record.status = "stopped"
            record.message = (f"stopped at step {record.step} by a server restart (its last autosave); "
                              "train it again to go on")
        return record


def progress_text(status: str, step: int, total: int, message: str | None = None) -> str:
    """A run's progress in words. A diverged run names the step that diverged and the last one its kept weights
    come from: "step 3 of 300 (the loss became nan at step 4)" read as two different steps."""
    if status == "diverged":
        return f"diverged ({message or 'the loss became nan'}); the weights kept are those after step {step} of {total}"
    return f"{status} · step {step} of {total}" + (f" ({message})" if message else "")


def spec_of(loaded) -> RunSpec | None:
    """The RunSpec a checkpoint was trained from: recorded whole since rnnviz 0.2, rebuilt from its task,
    model and training configs for older rnnviz files; None for weights imported from elsewhere."""
    d = (loaded.extra or {}).get("spec")
    try:
        if d:
            return RunSpec.from_dict(d)
        task, cfg, tc = loaded.task or {}, loaded.config, loaded.train_config
        if not task.get("name") or not isinstance(tc, dict):
            return None
        params = task.get("params") or {}
        return RunSpec(task=task["name"], arch=cfg.arch, hidden=cfg.hidden_size, layers=cfg.num_layers,
                       attention=cfg.attention if cfg.seq2seq else None, seq_len=params.get("seq_len"),
                       text=params.get("text"), steps=tc.get("steps"), batch=tc.get("batch_size"), lr=tc.get("lr"),
                       optimizer=tc.get("optimizer", "adam"), clip=tc.get("clip_norm", 0.0),
                       clip_value=tc.get("clip_value", 0.0), tbptt=tc.get("tbptt", 0),
                       tbptt_back=tc.get("tbptt_back", 0), init=tc.get("init", "default"),
                       radius=tc.get("init_radius", 1.0), gain=tc.get("init_gain", 1.0),
                       forget_bias=tc.get("forget_bias"), l2=tc.get("l2", 0.0), pascanu=tc.get("pascanu", 0.0),
                       seed=tc.get("seed", 0), probe_every=tc.get("probe_every"),
                       probe_samples=tc.get("probe_samples", 4), eval_every=tc.get("eval_every", 50),
                       eval_batch=tc.get("eval_batch", 128), max_traces=tc.get("max_traces", 24))
    except (ValueError, TypeError):
        return None
