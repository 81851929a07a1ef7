"""`rnnviz train`: train a model on a task headless, with a progress line on stderr and a checkpoint."""
from __future__ import annotations

import json
import sys
import time

from rnnviz.training import TrainConfig, Trainer


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model on a task")
    p.add_argument("--task", required=True, help="a task name (see `list`)")
    p.add_argument("--arch", required=True, help="an architecture name (see `list`)")
    p.add_argument("--hidden", type=int, help="hidden units per layer (default: the task's)")
    p.add_argument("--layers", type=int, help="stacked layers, 1 to 4 (default: the task's)")
    p.add_argument("--steps", type=int, help="optimiser steps (default: the task's)")
    p.add_argument("--batch", type=int, help="sequences per step (default: the task's)")
    p.add_argument("--seq-len", type=int, help="sequence length or lag, where the task has one")
    p.add_argument("--lr", type=float, help="learning rate (default: the task's)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    p.add_argument("--clip", type=float, default=0.0, help="clip the gradient's total norm to this (0: off)")
    p.add_argument("--clip-value", type=float, default=0.0, help="clamp each gradient entry to ±this (0: off)")
    p.add_argument("--tbptt", type=int, default=0, help="truncated BPTT window k1 (0: full BPTT)")
    p.add_argument("--tbptt-back", type=int, default=0, help="TBPTT reach k2, a multiple of k1 (0: k1)")
    p.add_argument("--init", default="default", help="default, orthogonal, identity or spectral")
    p.add_argument("--init-radius", type=float, default=1.0, help="spectral radius for --init spectral")
    p.add_argument("--forget-bias", type=float, help="LSTM forget-gate bias at init")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty on weight matrices")
    p.add_argument("--pascanu", type=float, default=0.0, help="weight of the Pascanu vanishing-gradient regulariser")
    p.add_argument("--attention", choices=["none", "additive", "dot"], help="encoder-decoder tasks only")
    p.add_argument("--text", help="a UTF-8 text file for the text_lm task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--probe-every", type=int, default=TrainConfig.probe_every, help="steps between probe traces")
    p.add_argument("--probe-samples", type=int, default=TrainConfig.probe_samples, help="sequences in each probe")
    p.add_argument("--max-traces", type=int, default=TrainConfig.max_traces, help="probe snapshots kept")
    p.add_argument("--compact", action="store_true", help="store traces as bfloat16 in the checkpoint (half size)")
    p.add_argument("--out", help="write a checkpoint (.safetensors) here")
    p.add_argument("--json", action="store_true", help="print a summary object as the last stdout line")
    p.set_defaults(run=run)


def make_trainer(args) -> Trainer:
    from rnnviz.tasks import get_task, load_text

    params = {}
    if args.seq_len is not None:
        params["seq_len"] = args.seq_len
    if args.text:
        with open(args.text, "rb") as f:
            params["text"] = load_text(f.read())
    task = get_task(args.task, **params)
    d = task.defaults
    extra = {"attention": args.attention} if args.attention and task.info.sequence_type == "many-to-many-async" else {}
    model_cfg = task.model_config(args.arch, args.hidden, args.layers, **extra)
    cfg = TrainConfig(steps=args.steps or d.steps, batch_size=args.batch or d.batch_size, lr=args.lr or d.lr,
                      optimizer=args.optimizer, clip_norm=args.clip, clip_value=args.clip_value, tbptt=args.tbptt,
                      tbptt_back=args.tbptt_back, init=args.init, init_radius=args.init_radius,
                      forget_bias=args.forget_bias, l2=args.l2, pascanu=args.pascanu, seed=args.seed,
                      probe_every=args.probe_every, probe_samples=args.probe_samples, max_traces=args.max_traces)
    return Trainer(task, model_cfg, cfg)


def progress(trainer: Trainer, report, last_val) -> str:
    n, total = trainer.step_count, trainer.cfg.steps
    bar = "#" * int(20 * n / total)
    val = f" val {last_val:.4g}" if last_val is not None else ""
    return f"\r[{bar:<20}] {n}/{total} loss {report.loss:.4g}{val} {report.steps_per_sec:.1f} steps/s"


def run(args) -> int:
    trainer = make_trainer(args)
    start, shown, last_val = time.perf_counter(), 0.0, None
    for report in trainer.reports():
        last_val = report.val_loss if report.val_loss is not None else last_val
        now = time.perf_counter()
        if now - shown > 0.2 or trainer.done:
            print(progress(trainer, report, last_val), end="", file=sys.stderr, flush=True)
            shown = now
    print(file=sys.stderr)
    if trainer.diverged:
        print(f"diverged: {trainer.diverged}; the weights are the last good ones. Exploding gradients: "
              "try --clip 1.0 or a smaller --lr.", file=sys.stderr)
    seconds = time.perf_counter() - start
    if args.out:
        trainer.save(args.out, compact=args.compact)
    summary = trainer.summary()
    summary.pop("status")
    summary.update(seconds=round(seconds, 2), out=args.out)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['task']} {summary['arch']}: {summary['steps']} steps in {seconds:.1f}s, "
              f"val loss {summary['val_loss']:.4g}, val {summary['metric_name']} {summary['val_metric']:.4g}"
              + (f", saved {args.out}" if args.out else ""))
    return 0
