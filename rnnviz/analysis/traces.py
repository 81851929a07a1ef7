"""Reading a Trace safely: which recurrent stack, layer, sample and unit a view means, as numpy; nothing derived.

Every analysis function and figure goes through these, so a bad choice (layer 3 of a 2-layer model, a trace
without gates) fails with one sentence naming the value and the fix, not with an IndexError from torch.
Stacks are named by trace prefix: "" for a plain model, "enc." and "dec." for an encoder-decoder, "bwd." for a
bidirectional stack's backward direction (its steps in the order it reads: last token first). Also
visible(): a token as figures show it (Plotly renders labels as HTML, so "<" must be escaped).
"""
from __future__ import annotations

import html

import numpy as np

from rnnviz.trace import Trace

SIGMOID_GATES = ("i", "f", "o", "r", "z")  # gates whose values lie in [0, 1]; g and n are tanh (or linear)
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍", "": "∅"}  # whitespace a student can see on an axis


def visible(token) -> str:
    """A token as an axis, node or hover label shows it: whitespace made visible, markup escaped."""
    token = str(token)
    return html.escape(VISIBLE.get(token, token), quote=False)  # plotly reads <, > and &, shows &quot; literally


def prefixes(trace: Trace) -> list[str]:
    return list(trace.meta.get("prefixes") or [""])


def resolve_prefix(trace: Trace, prefix: str | None = None) -> str:
    """None -> the first stack (the encoder of an encoder-decoder); "enc" and "enc." both name the encoder."""
    names = prefixes(trace)
    if prefix is None:
        return names[0]
    if prefix and not prefix.endswith("."):
        prefix += "."
    if prefix not in names:
        shown = ", ".join(repr(p) for p in names)
        raise ValueError(f"this trace has no recurrent stack {prefix!r}; choose one of {shown}")
    return prefix


def stack_label(prefix: str) -> str:
    """Words for a prefix, for titles: "", "encoder ", "decoder ", "backward " (a bidirectional stack's)."""
    return {"enc.": "encoder ", "dec.": "decoder ", "bwd.": "backward "}.get(prefix, "")


def check_index(what: str, value: int, size: int) -> int:
    """value in [-size, size) -> its non-negative form, else a ValueError naming the range."""
    if not -size <= value < size:
        raise ValueError(f"{what} {value} is out of range; use 0 to {size - 1} (there are {size})")
    return value % size


def tensor(trace: Trace, name: str, prefix: str = "") -> np.ndarray:
    """trace[prefix + name] as float32 numpy, with a plain message when it was not recorded."""
    full = prefix + name
    if full not in trace:
        raise ValueError(f"this trace has no {full!r} (the {trace.arch} cell does not record it, or the trace "
                         f"was thinned); choose one of {', '.join(sorted(trace.tensors))}")
    return trace[full].numpy()


def layered(trace: Trace, name: str, layer: int = 0, sample: int = 0, prefix: str | None = None) -> np.ndarray:
    """One (step, unit) matrix of a (layer, sample, step, unit) tensor such as h, c, gate.f, grad.h."""
    p = resolve_prefix(trace, prefix)
    t = tensor(trace, name, p)
    layer = check_index("layer", layer, t.shape[0])
    sample = check_index("sample", sample, t.shape[1])
    return t[layer, sample]


def gates(trace: Trace, prefix: str | None = None) -> list[str]:
    """The gate names this trace recorded for a stack, in the cell's order (LSTM i f g o, GRU r z n)."""
    p = resolve_prefix(trace, prefix)
    return [g for g in trace.meta.get("gates", []) if f"{p}gate.{g}" in trace]


def num_layers(trace: Trace, prefix: str = "") -> int:
    return int(tensor(trace, "h", prefix).shape[0])


def train_step_label(trace: Trace) -> str:
    step = trace.meta.get("train_step")
    return "" if step is None else f" (training step {step})"
