"""`rnnviz trace PATH (--text S | --tokens 3,1,4 | --values F.csv) [--json | --csv DIR]`: one sequence, traced.

Runs probe() (default loss: cross-entropy of the last output against its own argmax with a head,
0.5 ||h_T||² of the last layer without) on a batch of one and exports hidden states, cells, gates, outputs
and ||dL/dh_t|| per layer and step. Encoder-decoders are refused: their two stacks and attention need the
app's seq2seq views. Without --json or --csv a per-step table is printed.
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
from rnnviz.trace import Trace, probe


def register(sub) -> None:
    p = sub.add_parser("trace", help="run one sequence through a checkpoint and export what happened inside")
    p.add_argument("path", help="the checkpoint file")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="text, encoded with the vocabulary")
    given.add_argument("--tokens", help="token ids separated by commas, like 3,1,4")
    given.add_argument("--values", metavar="FILE.csv", help="numeric CSV: one row per step, one column per feature")
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


def trace_sequence(loaded: Loaded, x: torch.Tensor) -> Trace:
    if loaded.config.seq2seq:
        raise ValueError("trace runs models with one recurrent stack; this checkpoint is an encoder-decoder, whose "
                         "encoder, decoder and attention the app's seq2seq views show (inspect works on it)")
    return probe(loaded.model, x, jacobian=False)


def trace_json(trace: Trace) -> dict:
    """The JSON layout of `rnnviz trace --json` (sample 0): per layer hidden (T, H), cell, gates; outputs (T, O);
    grad_norms[l][t] = ||dL/dh_t|| of layer l, the total derivative through time."""
    h = trace["h"][:, 0]  # (L, T, H)
    gates = [g for g in trace.meta["gates"] if f"gate.{g}" in trace]
    layers = [{"hidden": h[k].tolist(),
               "cell": trace["c"][k, 0].tolist() if "c" in trace else None,
               "gates": {g: trace[f"gate.{g}"][k, 0].tolist() for g in gates}} for k in range(h.shape[0])]
    return {"arch": trace.arch, "steps": int(h.shape[1]), "layers": layers, "outputs": trace["output"][0].tolist(),
            "grad_norms": grad_norms(trace).tolist()}


def grad_norms(trace: Trace) -> torch.Tensor:
    return trace["grad.h"][:, 0].norm(dim=-1)  # (L, T)


def write_csvs(trace: Trace, folder: Path) -> list[Path]:
    """Long-form tables (step, layer, unit, quantity, value), one file per quantity."""
    folder.mkdir(parents=True, exist_ok=True)
    gates = [f"gate.{g}" for g in trace.meta["gates"] if f"gate.{g}" in trace]
    tables = {"hidden": ["h"], "cell": ["c"] if "c" in trace else [], "gates": gates, "outputs": ["output"]}
    written = []
    for file, names in tables.items():
        if names:
            written.append(folder / f"{file}.csv")
            trace.frames(names, sample=0).to_csv(written[-1], index=False)
    norms = grad_norms(trace)
    L, T = norms.shape
    frame = pd.DataFrame({"step": [t for _ in range(L) for t in range(T)],
                          "layer": [k for k in range(L) for _ in range(T)],
                          "quantity": "grad_norm", "value": norms.reshape(-1).numpy()})
    written.append(folder / "grad_norms.csv")
    frame.to_csv(written[-1], index=False)
    return written


def run(args) -> int:
    loaded = load(args)
    trace = trace_sequence(loaded, model_input(args, loaded))
    if args.json:
        print(json.dumps(trace_json(trace)))
    elif args.csv:
        for path in write_csvs(trace, Path(args.csv)):
            print(path)
    else:
        print_table(trace, loaded)
    return 0


def print_table(trace: Trace, loaded: Loaded) -> None:
    norms, h = grad_norms(trace), trace["h"][:, 0].norm(dim=-1)  # (L, T) each
    out = trace["output"][0]
    L = norms.shape[0]
    heads = [f"|h| l{k}" for k in range(L)] + [f"|dL/dh| l{k}" for k in range(L)]
    print(f"{trace.arch}, {trace.steps} steps, loss {trace.meta['loss']:.4g}")
    print("step  " + "  ".join(f"{c:>11}" for c in heads) + ("  output argmax" if loaded.config.output_size else ""))
    for t in range(trace.steps):
        cells = [f"{float(v):>11.4g}" for v in list(h[:, t]) + list(norms[:, t])]
        tail = f"  {int(out[t].argmax()):>13}" if loaded.config.output_size else ""
        print(f"{t:>4}  " + "  ".join(cells) + tail)
