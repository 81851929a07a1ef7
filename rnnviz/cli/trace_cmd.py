"""`rnnviz trace PATH [--text S | --tokens 3,1,4 | --values F.csv] [--sample K] [--json | --csv DIR]`: traced states.

Not the probe itself (rnnviz/trace.py): this picks what to trace and prints it. Without an input option it
replays the run's own probe batch: the inputs and targets its latest probe trace recorded (for older files,
the batch the trainer probed, regenerated), all samples together through the saved weights, with the task's
loss (Subject.probe); the states are the saved model's, not those of the step the trainer probed at. With
--text, --tokens or --values it traces that one sequence with the default loss (cross-entropy of the last output
against its own argmax with a head, 0.5 ||h_T||² of the last layer without). Weights imported from torch.nn
keep no probe batch: give an input option. An encoder-decoder is traced only from its probe batch, whose
targets its decoder reads (teacher forcing). Without --json or --csv a per-step table is printed.

--json prints one object describing sample K (--sample, default 0) of what was traced:
    arch, steps                the architecture; the number of output steps T
    source                     "probe" (the run's own probe batch) or "given" (--text, --tokens, --values)
    sample, samples            K, and how many samples were traced together (L is the loss over all of them)
    task                       the task's name, or null when the file does not say
    loss, loss_fn              L, and "task" (the task's loss on the targets) or "default" (above)
    inputs                     x[K] as the model takes it: S token ids (ints) or S vectors of floats
    targets                    y[K] as the loss took it (ids, -100 for padding, or floats), null when given
    labels                     S strings: each token's vocabulary string, else the app's axis label for that step
    target_labels              one string per target position (vocabulary strings, null for padding), or null
    layers[l]                  hidden (T, H), cell (T, H) or null, gates {g: (T, H)} of layer l
    grad_norms[l][t]           ||dL/dh_t|| of layer l, the total derivative through time
    outputs, outputs_kind      (T, O) outputs, and "logits" (a head read as classes or tokens) or "values"
                               (a regression head, or the top layer's h without a head)
An encoder-decoder has, in place of layers and grad_norms, encoder and decoder, each {steps, layers, grad_norms},
and attention (T, S) (null without attention); outputs are the decoder's. A bidirectional model's layers and
grad_norms are its forward direction's, and backward {steps, layers, grad_norms} its backward direction's, by
position like everything here (row t is h←_t, which read x_{T−1} down to x_t), with each layer's hidden H wide.
Recompute the states from the report: `model(torch.tensor([inputs]))`, or
`model(torch.tensor([inputs]), torch.tensor([targets]))` for an encoder-decoder.
--csv writes the same quantities of sample K as long-form tables (step, layer, unit, quantity, value), one file
each, with an encoder_ or decoder_ prefix for an encoder-decoder's stacks (backward_ for a bidirectional model's
backward direction, by position), and inputs.csv / targets.csv with labels.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from rnnviz.checkpoints import Loaded
from rnnviz.checkpoints.inputs import from_csv, from_ids, from_text, parse_tokens
from rnnviz.checkpoints.reading import MAX_FILE_BYTES
from rnnviz.cli.inspect_cmd import add_loading_options, load
from rnnviz.subject import Subject, from_checkpoint
from rnnviz.trace import Trace, in_position_order, probe

STACKS = {"": None, "enc.": "encoder", "dec.": "decoder", "bwd.": "backward"}  # trace prefix -> its name in JSON, CSV


def register(sub) -> None:
    p = sub.add_parser("trace", help="run a checkpoint's probe batch, or one sequence, and export what happened inside")
    p.add_argument("path", help="the checkpoint file")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--text", help="text, encoded with the vocabulary")
    given.add_argument("--tokens", help="token ids separated by commas, like 3,1,4")
    given.add_argument("--values", metavar="FILE.csv", help="numeric CSV: one row per step, one column per feature")
    p.add_argument("--sample", type=int, default=0, metavar="K", help="which traced sample to report (default 0)")
    add_loading_options(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object on stdout")
    out.add_argument("--csv", metavar="DIR", help="write long-form CSV tables into DIR")
    p.set_defaults(run=run)


def model_input(args, loaded: Loaded) -> torch.Tensor:
    cfg = loaded.config
    if args.text is not None:
        return from_text(args.text, cfg, loaded.vocab)
    if args.tokens is not None:
        return from_ids(parse_tokens(args.tokens), cfg, loaded.vocab)
    path = Path(args.values)
    if not path.is_file():
        raise ValueError(f"there is no CSV file at {path}; check the path")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} is too large for one sequence; give at most a few thousand rows")
    return from_csv(path.read_bytes(), cfg, path.name)


def trace_given(subject: Subject, x: torch.Tensor) -> Trace:
    """One given sequence, default loss (it has no targets); no Jacobians, which a long text would make slow."""
    if subject.cfg.seq2seq:
        raise ValueError("trace feeds a given sequence only to a model with one recurrent stack; an encoder-decoder "
                         "also needs its targets: leave out --text/--tokens/--values to trace its own probe batch")
    return probe(subject.model, x, jacobian=False, vocab=subject.vocab, output_vocab=subject.output_vocab)


def trace_probe_batch(subject: Subject) -> Trace:
    """The run's own probe batch (its latest trace's inputs and targets) through the saved model."""
    latest = subject.traces[-1] if subject.traces else None  # not subject.latest: that would make up an input
    if latest is not None and "input" in latest:
        x, y = subject.traced_batch(latest)
    elif subject.task is not None:
        x, y = subject.probe_batch()  # the trainer's recipe, for a run saved without traces
    elif subject.cfg.seq2seq:
        raise ValueError("this encoder-decoder holds no probe batch to replay and cannot run without targets; "
                         "trace one saved by `python -m rnnviz train --out`, which keeps its probe traces")
    else:
        option = "--tokens 3,1,4 (or --text with --vocab)" if subject.cfg.tokens else "--values FILE.csv"
        raise ValueError(f"this checkpoint holds no probe batch to replay (runs saved by `rnnviz train` keep one); "
                         f"give the sequence to trace with {option}")
    return subject.probe(x, y)


def outputs_kind(subject: Subject) -> str:
    cfg = subject.cfg
    if not cfg.output_size:
        return "values"
    if subject.task is not None and not cfg.seq2seq:
        return "values" if subject.task.info.outputs == "vectors" else "logits"
    return "logits"  # an unknown head is read as classes, as the default loss reads it


def token_strings(ids: torch.Tensor, vocab: list[str]) -> list[str | None]:
    return [vocab[i] if 0 <= i < len(vocab) else None for i in ids.reshape(-1).tolist()]


def input_labels(subject: Subject, trace: Trace, k: int) -> list[str]:
    """Each input step's token string where a vocabulary names it (one-hot rows of --text included)."""
    x, vocab = trace.inputs[k], trace.meta.get("input_vocab")
    if vocab and x.dim() == 1:
        return token_strings(x, vocab)
    if vocab and x.shape[-1] == len(vocab) and bool(((x == 0) | (x == 1)).all() and (x.sum(-1) == 1).all()):
        return token_strings(x.argmax(-1), vocab)
    return subject.input_labels(trace, k)


def target_labels(subject: Subject, trace: Trace, k: int) -> list[str | None] | None:
    y, vocab = trace.targets, trace.meta.get("output_vocab")
    if y is None:
        return None
    if vocab and trace.meta.get("targets") == "ids":
        return token_strings(y[k], vocab)
    return subject.target_labels(trace, k)


def io_json(subject: Subject, trace: Trace, k: int, source: str) -> dict:
    """What was traced, for sample k: enough to run it again (the keys above the states in the docstring)."""
    y = trace.targets
    return {"source": source, "sample": k, "samples": trace.samples,
            "task": subject.task.info.name if subject.task is not None else None, "loss": trace.meta["loss"],
            "loss_fn": "task" if subject.task is not None and y is not None else "default",
            "inputs": trace.inputs[k].tolist(), "targets": y[k].tolist() if y is not None else None,
            "labels": input_labels(subject, trace, k), "target_labels": target_labels(subject, trace, k),
            "outputs_kind": outputs_kind(subject)}


def stack_json(trace: Trace, prefix: str, k: int) -> dict:
    h = trace[prefix + "h"][:, k]  # (L, T, H)
    gates = [g for g in trace.meta["gates"] if f"{prefix}gate.{g}" in trace]
    layers = [{"hidden": h[i].tolist(),
               "cell": trace[prefix + "c"][i, k].tolist() if prefix + "c" in trace else None,
               "gates": {g: trace[f"{prefix}gate.{g}"][i, k].tolist() for g in gates}} for i in range(h.shape[0])]
    return {"steps": int(h.shape[1]), "layers": layers, "grad_norms": grad_norms(trace, prefix, k).tolist()}


def trace_json(trace: Trace, k: int = 0) -> dict:
    """The states of sample k, as the module docstring lays them out (io_json adds what was traced)."""
    out = {"arch": trace.arch, "steps": trace.steps, "outputs": trace["output"][k].tolist()}
    for prefix in trace.meta["prefixes"]:
        stack = stack_json(trace, prefix, k)
        if STACKS[prefix] is None:
            out.update(layers=stack["layers"], grad_norms=stack["grad_norms"])
        else:
            out[STACKS[prefix]] = stack
    if "enc." in trace.meta["prefixes"]:
        out["attention"] = trace["attention"][k].tolist() if "attention" in trace else None
    return out


def grad_norms(trace: Trace, prefix: str = "", k: int = 0) -> torch.Tensor:
    return trace[prefix + "grad.h"][:, k].norm(dim=-1)  # (L, T)


def write_csvs(subject: Subject, trace: Trace, folder: Path, k: int = 0) -> list[Path]:
    """Long-form tables (step, layer, unit, quantity, value) of sample k, one file per quantity."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {"outputs": ["output"]} | ({"attention": ["attention"]} if "attention" in trace else {})
    for prefix in trace.meta["prefixes"]:
        name = f"{STACKS[prefix]}_" if STACKS[prefix] else ""
        tables[name + "hidden"] = [prefix + "h"]
        tables[name + "cell"] = [prefix + "c"] if prefix + "c" in trace else []
        tables[name + "gates"] = [f"{prefix}gate.{g}" for g in trace.meta["gates"] if f"{prefix}gate.{g}" in trace]
        norms = grad_norms(trace, prefix, k)
        L, T = norms.shape
        tables[name + "grad_norms"] = pd.DataFrame({"step": [t for _ in range(L) for t in range(T)],
                                                    "layer": [i for i in range(L) for _ in range(T)],
                                                    "quantity": "grad_norm", "value": norms.reshape(-1).numpy()})
    tables["inputs"] = io_frame(trace, "input", k, input_labels(subject, trace, k))
    if trace.targets is not None:
        tables["targets"] = io_frame(trace, "target", k, target_labels(subject, trace, k))
    written = []
    for file, table in tables.items():
        if isinstance(table, list):
            if not table:
                continue
            table = trace.frames(table, sample=k)
        written.append(folder / f"{file}.csv")
        table.to_csv(written[-1], index=False)
    return written


def io_frame(trace: Trace, name: str, k: int, labels: list | None) -> pd.DataFrame:
    """The traced input or target of sample k: one row per (step, unit), ids as ints, the step's label beside."""
    t, dims = trace[name][k], trace.dims[name]
    t = t.reshape(t.shape[0] if "step" in dims else 1, -1)  # (steps, units)
    S, U = t.shape
    values = t.round().long() if trace.meta.get(name + "s") in ("tokens", "ids") else t
    rows = {"step": [s for s in range(S) for _ in range(U)], "unit": [u for _ in range(S) for u in range(U)],
            "quantity": name, "value": values.reshape(-1).numpy()}
    if labels is not None:
        per_value = len(labels) == S * U  # ids and values are labelled one by one, vector steps once per step
        rows["label"] = labels if per_value else [labels[s] for s in range(S) for _ in range(U)]
    return pd.DataFrame(rows)


def run(args) -> int:
    loaded = load(args)
    subject = from_checkpoint(loaded, Path(args.path).name)
    given = any(v is not None for v in (args.text, args.tokens, args.values))
    trace = trace_given(subject, model_input(args, loaded)) if given else trace_probe_batch(subject)
    k = args.sample
    if not 0 <= k < trace.samples:
        raise ValueError(f"--sample {k} is out of range: {trace.samples} sample(s) were traced, numbered from 0")
    trace = in_position_order(trace)  # a backward direction's rows by position, like the inputs and labels
    if args.json:
        print(json.dumps(trace_json(trace, k) | io_json(subject, trace, k, "given" if given else "probe")))
    elif args.csv:
        for path in write_csvs(subject, trace, Path(args.csv), k):
            print(path)
    else:
        print_table(subject, trace, k)
    return 0


def print_table(subject: Subject, trace: Trace, k: int) -> None:
    """Per step: |h| and |dL/dh| of each layer, the output's argmax with a classifier head, and the step's label."""
    head = subject.cfg.output_size and outputs_kind(subject) == "logits"
    print(f"{trace.arch}, {trace.steps} steps, loss {trace.meta['loss']:.4g}, sample {k} of {trace.samples}")
    # a task's own display labels (␣ for a space), else the token strings; escaped, so a newline stays one row
    shown = subject.input_labels(trace, k) if subject.task is not None else input_labels(subject, trace, k)
    labels = {"": shown, "enc.": shown, "dec.": subject.target_labels(trace, k), "bwd.": shown}
    for prefix in trace.meta["prefixes"]:
        norms, h = grad_norms(trace, prefix, k), trace[prefix + "h"][:, k].norm(dim=-1)  # (L, T) each
        L, T = norms.shape
        cols = [f"|h| l{i}" for i in range(L)] + [f"|dL/dh| l{i}" for i in range(L)]
        out = trace["output"][k] if prefix in ("", "dec.") and head else None
        if STACKS[prefix]:
            print(STACKS[prefix])
        print("step  " + "  ".join(f"{c:>11}" for c in cols) + ("  output argmax" if out is not None else "")
              + "  label")
        for t in range(T):
            cells = [f"{float(v):>11.4g}" for v in list(h[:, t]) + list(norms[:, t])]
            tail = f"  {int(out[t].argmax()):>13}" if out is not None else ""
            label = labels[prefix][t] if labels[prefix] and t < len(labels[prefix]) else ""
            print(f"{t:>4}  " + "  ".join(cells) + tail + f"  {repr(label or '')[1:-1]}")
