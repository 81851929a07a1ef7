"""`rnnviz train`: train a model on a task headless, with a progress line on stderr and a checkpoint."""
from __future__ import annotations

import json
import sys
import time

import dataclasses

from rnnviz.run import RunSpec
from rnnviz.training import Trainer


def register(sub) -> None:
    """Flags are RunSpec's fields (rnnviz/run.py), `_` written `-`: the same names as the app's links."""
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
    p.add_argument("--radius", "--init-radius", dest="radius", type=float, default=1.0,
                   help="spectral radius of W_hh for --init spectral")
    p.add_argument("--gain", type=float, default=1.0, help="scale of W_hh for --init orthogonal or identity")
    p.add_argument("--forget-bias", type=float, help="LSTM forget-gate bias at init")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty on weight matrices")
    p.add_argument("--pascanu", type=float, default=0.0, help="weight of the Pascanu vanishing-gradient regulariser")
    p.add_argument("--attention", choices=["none", "additive", "dot"], help="encoder-decoder tasks only")
    p.add_argument("--text", help="a UTF-8 text file for the text_lm task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start-from", metavar="FILE", help="a checkpoint of the same network (an rnnviz run's save): train "
                   "on from its weights, with a fresh optimizer")
    p.add_argument("--probe-every", type=int, help="steps between probe traces (default: ~50 probes per run)")
    p.add_argument("--probe-samples", type=int, default=RunSpec.probe_samples, help="sequences in each probe")
    p.add_argument("--max-traces", type=int, default=RunSpec.max_traces, help="probe snapshots kept")
    p.add_argument("--eval-every", type=int, default=RunSpec.eval_every, help="steps between held-out evaluations")
    p.add_argument("--eval-batch", type=int, default=RunSpec.eval_batch, help="held-out sequences evaluated")
    p.add_argument("--compact", action="store_true", help="store traces as bfloat16 in the checkpoint (half size)")
    p.add_argument("--out", help="write a checkpoint (.safetensors) here")
    p.add_argument("--json", action="store_true", help="print a summary object as the last stdout line")
    p.set_defaults(run=run)


def make_trainer(args) -> Trainer:
    knobs = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunSpec)
             if f.name not in ("text", "label", "lesson") and getattr(args, f.name, None) is not None}
    if args.text:
        from rnnviz.tasks import load_text

        with open(args.text, "rb") as f:
            knobs["text"] = load_text(f.read())  # one sentence if it is not UTF-8 or too long
    return Trainer.from_spec(RunSpec(**knobs))


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
