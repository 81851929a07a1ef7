"""`rnnviz inspect PATH [--vocab FILE] [--json]`: what a checkpoint holds, from rnnviz or any torch.nn RNN."""
from __future__ import annotations

import json
from pathlib import Path

from rnnviz.cells import get_spec
from rnnviz.checkpoints import Loaded, load_checkpoint, summarize


def register(sub) -> None:
    p = sub.add_parser("inspect", help="summarise a checkpoint (rnnviz, .pt/.pth state_dict or .safetensors)")
    p.add_argument("path", help="the checkpoint file")
    add_loading_options(p)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(run=run)


def add_loading_options(p) -> None:
    """Flags inspect and trace share: how to read a file whose weights do not say everything."""
    p.add_argument("--vocab", metavar="FILE", help="the vocabulary: a JSON list or map, a text file of one token per "
                   "line (read in order), or the training text (its sorted distinct characters, noted)")
    p.add_argument("--nonlinearity", choices=("tanh", "relu"), default=None,
                   help="for nn.RNN weights, which cannot tell (default: what a pickled nn.RNN says, else tanh, noted)")


def load(args) -> Loaded:
    """load_checkpoint with the --vocab file read (the same calls the app makes)."""
    vocab_file = None
    if args.vocab:
        path = Path(args.vocab)
        if not path.is_file():
            raise ValueError(f"there is no vocabulary file at {path}; check the path")
        vocab_file = (path.read_bytes(), path.name)
    return load_checkpoint(args.path, vocab_file=vocab_file, nonlinearity=args.nonlinearity)


def run(args) -> int:
    loaded = load(args)
    summary = summarize(loaded)
    if args.json:
        print(json.dumps(summary))
        return 0
    for line in describe(loaded, summary):
        print(line)
    return 0


def describe(loaded: Loaded, s: dict) -> list[str]:
    cfg = loaded.config
    source = {"rnnviz": "rnnviz checkpoint", "state_dict": "plain state_dict (imported)",
              "whole model": "whole pickled model (imported without running it)",
              "torchscript": "TorchScript archive (its weights; its code not run)", "keras": "Keras model (imported)",
              "onnx": "ONNX model (imported)", "npz": "NumPy arrays (imported)"}.get(s["source"], s["source"])
    lines = [f"source        {source}",
             f"architecture  {s['arch']}, {s['num_layers']} layer(s), input {s['input_size']}, "
             f"hidden {s['hidden_size']}" + (", encoder-decoder" if cfg.seq2seq else "")
             + (", bidirectional (each layer also reads the sequence from its end)" if cfg.bidirectional else "")]
    if cfg.tokens:
        known = "known" if loaded.vocab else "not known: pass --vocab to feed text"
        lines.append(f"inputs        token ids 0..{cfg.vocab_size - 1} (vocabulary {known})")
    else:
        lines.append(f"inputs        vectors of {cfg.input_size} features")
    width = cfg.hidden_size * (2 if cfg.bidirectional else 1)
    lines.append(f"head          {width} -> {cfg.output_size}" if cfg.output_size else
                 "head          none: outputs are the last layer's hidden states")
    lines.append(f"parameters    {s['num_parameters']:,}")
    stacks = ["encoder", "decoder"] if cfg.seq2seq else ["layer →", "layer ←"] if cfg.bidirectional else ["layer"]
    spec = get_spec(cfg.arch)
    for i, layer in enumerate(s["layers"]):
        label = f"{stacks[i // cfg.num_layers]} {i % cfg.num_layers}"
        if layer["spectral_radius"] is None:
            lines.append(f"{label:<13} no W_hh: a diagonal recurrence, {spec.equation(spec.state_symbol)}")
            continue
        lines.append(f"{label:<13} spectral radius {layer['spectral_radius']:.3f}, "
                     f"largest singular value {layer['max_singular_value']:.3f}")
    if loaded.task:
        lines.append(f"task          {loaded.task.get('name', '?')} {json.dumps(loaded.task.get('params', {}))}")
    if loaded.history:
        last = loaded.history[-1]
        shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items()
                          if k in ("loss", "metric", "val_loss", "val_metric") and isinstance(v, (int, float)))
        lines.append(f"history       {len(loaded.history)} entries; at step {last.get('step', '?')}: {shown or '-'}")
    if loaded.traces:
        lines.append(f"traces        {len(loaded.traces)} saved during training")
    if s["unmatched_keys"]:
        lines.append(f"unmatched     {', '.join(s['unmatched_keys'])}")
    lines += [f"note          {n}" for n in loaded.notes]
    return lines
