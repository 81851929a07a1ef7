"""What loading a checkpoint gives back (Loaded), and its one-object summary; not how it was read.

`summarize` is exactly `python -m rnnviz inspect --json`. Its "input_size" is the recurrent stack's input
width (torch.nn.LSTM's input_size): the embedding width for token models, the features per step otherwise.
"layers" lists one entry per recurrent layer; an encoder-decoder lists the encoder's then the decoder's, a
bidirectional model ("bidirectional": true) its forward direction's layers then its backward direction's. A cell
without W_hh (minGRU, minLSTM) has no spectrum: its entries' values are None.
"num_parameters" counts tied weights (a head sharing the embedding's matrix) once. "notes" are the sentences the
app shows: guesses (an nn.RNN assumed tanh), what was ignored, where the vocabulary came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from rnnviz.init import layer_spectra
from rnnviz.model_stacks import recurrent_stacks
from rnnviz.models import ModelConfig, num_parameters
from rnnviz.trace import Trace


@dataclass
class Loaded:
    model: nn.Module  # RNNModel or Seq2Seq, on the CPU, in eval mode
    config: ModelConfig
    source: str  # "rnnviz" (written by save_checkpoint); imported: "state_dict", "whole model" (torch.save(model)),
    # "torchscript", "keras", "onnx" or "npz"
    vocab: list[str] | None = None  # token strings by id, if known
    vocab_note: str | None = None  # one sentence when rnnviz assumed the vocabulary's order (derived from a text)
    task: dict | None = None  # the task's name and parameters (rnnviz checkpoints)
    train_config: dict | None = None
    history: list[dict] = field(default_factory=list)  # metric history, one dict per logged step
    traces: list[Trace] = field(default_factory=list)  # probes taken during training, oldest first
    unmatched_keys: list[str] = field(default_factory=list)  # keys in the file that no part of the model took
    notes: list[str] = field(default_factory=list)  # what the user should know: guesses, what was ignored
    extra: dict | None = None  # anything else the writer stored (rnnviz checkpoints)
    format_version: int | None = None  # rnnviz format version; None for imported weights


def summarize(loaded: Loaded) -> dict:
    """The architecture in one JSON-able dict (see the module docstring for the meaning of each key)."""
    cfg = loaded.config
    layers = [{"spectral_radius": s["spectral_radius"], "max_singular_value": s["max_singular_value"]}
              if rnn.spec.has_w_hh else {"spectral_radius": None, "max_singular_value": None}
              for rnn in recurrent_stacks(loaded.model).values()
              for s in (layer_spectra(rnn) if rnn.spec.has_w_hh else [None] * rnn.num_layers)]
    return {
        "source": loaded.source,
        "arch": cfg.arch,
        "num_layers": cfg.num_layers,
        "bidirectional": cfg.bidirectional,
        "input_size": cfg.cell_input_size,
        "hidden_size": cfg.hidden_size,
        "vocab_size": cfg.vocab_size or None,
        "output_size": cfg.output_size or None,
        "num_parameters": num_parameters(loaded.model),
        "layers": layers,
        "unmatched_keys": list(loaded.unmatched_keys),
        "vocab_known": loaded.vocab is not None,
        "notes": list(loaded.notes),
    }
