"""Checkpoints: save and load rnnviz's own format, import plain torch.nn weights, safely; not training or UI.

    save_checkpoint(path_or_file, model, *, task, vocab, train_config, history, traces, extra)  -> None
    checkpoint_bytes(model, ...) -> bytes                      the same file, for a browser download
    load_checkpoint(source, *, filename, vocab, nonlinearity) -> Loaded
    load_vocab(data, filename) -> list[str]
    summarize(loaded) -> dict                                  what `python -m rnnviz inspect --json` prints

Limits, each refused with one sentence: files up to MAX_FILE_BYTES (200 MB), hidden size up to MAX_HIDDEN
(1024), up to MAX_LAYERS (4) layers, vocabularies and heads up to MAX_VOCAB (100,000), vector inputs up to
models.MAX_FEATURES (4096). A saved checkpoint keeps at most MAX_TRACES (32) traces within MAX_TRACE_BYTES
(16 MB) and MAX_HISTORY (10,000) history entries. Nothing in a file is ever executed: see reading.py.
"""
from __future__ import annotations

import os

from rnnviz.checkpoints.foreign import zip_kind
from rnnviz.checkpoints.keras_file import read_keras
from rnnviz.checkpoints.npz_file import read_npz
from rnnviz.checkpoints.onnx_file import looks_like_onnx, read_onnx
from rnnviz.checkpoints.importer import import_state_dict
from rnnviz.checkpoints.loaded import Loaded, summarize
from rnnviz.checkpoints.pickled import pickle_notes
from rnnviz.checkpoints.native import (FORMAT_VERSION, MAX_HISTORY, MAX_TRACE_BYTES, MAX_TRACES, META_KEY,
                                       checkpoint_bytes, load_native, save_checkpoint)
from rnnviz.checkpoints.reading import (MAX_FILE_BYTES, decode_safetensors, decode_torch, find_state_dict,
                                        first_line, read_source, sniff, unknown_format)
from rnnviz.checkpoints.vocab import fit_vocab, load_vocab, stored_vocab, vocab_choices
from rnnviz.models import MAX_VOCAB
from rnnviz.stack import MAX_HIDDEN, MAX_LAYERS

__all__ = ["FORMAT_VERSION", "MAX_FILE_BYTES", "MAX_HIDDEN", "MAX_HISTORY", "MAX_LAYERS", "MAX_TRACES",
           "MAX_TRACE_BYTES", "MAX_VOCAB", "Loaded", "checkpoint_bytes", "load_checkpoint", "load_vocab",
           "save_checkpoint", "summarize", "vocab_choices"]


def load_checkpoint(source: str | os.PathLike | bytes, *, filename: str | None = None,
                    vocab: list[str] | None = None, nonlinearity: str | None = None,
                    vocab_file: tuple[bytes | str, str | None] | None = None) -> Loaded:
    """Any checkpoint rnnviz can read, as a model on the CPU in eval mode, with what the file says about it.

    source: a path, the file's bytes (an upload; `filename` names it in messages) or a binary file object.
    vocab_file: (the bytes, the file name) of a vocabulary file, read as vocab.py says: of its readings the
    first that fits the model is taken, and one whose order rnnviz assumed becomes loaded.vocab_note.
    The format is told by content, never by name: an rnnviz checkpoint; a state_dict in .safetensors or
    torch.save form (plain, or wrapped as {"state_dict": ...} / {"model": ..., "optimizer": ...}); a whole
    pickled model or a TorchScript archive (pickled.py: read without running it); NumPy .npz, Keras
    (.keras, .h5, .weights.h5) or ONNX (npz_file.py, keras_file.py, onnx_file.py). vocab (token strings by id)
    overrides the file's; a torch.save file's own (a list or map under a key like "vocab", "chars" or "stoi"
    next to the weights) is used when it fits. nonlinearity ("tanh" or "relu") is for nn.RNN weights, which
    cannot tell: None reads what a pickled nn.RNN says, else assumes tanh and notes it.
    Every problem a file can have is a ValueError with one sentence; nothing in the file is executed.
    """
    if nonlinearity not in (None, "tanh", "relu"):
        raise ValueError(f"nonlinearity {nonlinearity!r} is not one an nn.RNN has; use 'tanh' or 'relu'")
    data, name = read_source(source, filename)
    kind = sniff(data)
    if kind == "zip":
        kind = zip_kind(data) or kind
    elif data[:8] == b"\x89HDF\r\n\x1a\n":
        kind = "hdf5"
    elif kind == "unknown" and looks_like_onnx(data, name):
        kind = "onnx"
    if kind in ("npz", "keras", "hdf5", "onnx"):
        got = _read_foreign(data, name, kind)
        loaded = import_state_dict(got.state_dict, name, nonlinearity, got.notes, got.nonlinearity, got.arch)
        loaded.source = {"npz": "npz", "onnx": "onnx"}.get(kind, "keras")
        if vocab is None and vocab_file is None and got.vocab is not None:
            _adopt_stored_vocab(loaded, {got.vocab_key: got.vocab})
    elif kind == "safetensors":
        tensors, meta = decode_safetensors(data, name)
        if META_KEY in meta:
            loaded = load_native(tensors, meta[META_KEY], name)
        else:
            loaded = import_state_dict(tensors, name, nonlinearity)
    elif kind in ("zip", "legacy", "pickle"):
        got = decode_torch(data, name, kind)
        whole = got.attributes is not None  # a pickled module, flattened to {"state_dict": ..., its attributes}
        state_dict, notes = (got.obj["state_dict"], []) if whole else find_state_dict(got.obj, name)
        loaded = import_state_dict(state_dict, name, nonlinearity, pickle_notes(got) + notes, got.nonlinearity)
        loaded.source = "torchscript" if got.torchscript else "whole model" if whole else "state_dict"
        if vocab is None and vocab_file is None:
            _adopt_stored_vocab(loaded, got.obj)
    else:
        raise unknown_format(data, name)
    if vocab is not None:
        loaded.vocab = fit_vocab(vocab, loaded.config)
    elif vocab_file is not None:
        loaded.vocab, loaded.vocab_note = _fit_choices(vocab_choices(*vocab_file), loaded.config)
        if loaded.vocab_note:
            loaded.notes.append(loaded.vocab_note)
    if loaded.vocab is not None and not loaded.config.tokens:
        loaded.notes.append("the model has no embedding: text is fed as one-hot vectors over the vocabulary")
    return loaded


FOREIGN = {"npz": "NumPy .npz", "keras": "Keras .keras", "hdf5": "HDF5 (Keras)", "onnx": "ONNX"}


def _read_foreign(data: bytes, name: str, kind: str):
    """The reader for `kind` (npz_file, keras_file, onnx_file). The zip, HDF5 and protobuf libraries underneath
    raise many kinds of error on a damaged file (BadZipFile, OSError, KeyError, DecodeError, ...): each becomes
    one sentence."""
    try:
        if kind == "npz":
            return read_npz(data, name)
        return read_onnx(data, name) if kind == "onnx" else read_keras(data, name, kind)
    except ValueError:
        raise
    except RecursionError:
        raise ValueError(f"{name} is nested too deeply to be a {FOREIGN[kind]} model; the file is damaged") from None
    except Exception as e:
        raise ValueError(f"{name} is a damaged {FOREIGN[kind]} file ({first_line(e)})") from None


def _fit_choices(choices, cfg) -> tuple[list[str], str | None]:
    """The first reading of a vocabulary file that fits the model; the first reading's refusal if none does."""
    first = None
    for tokens, note in choices:
        try:
            return fit_vocab(tokens, cfg), note
        except ValueError as e:
            first = first or e
    raise first


def _adopt_stored_vocab(loaded: Loaded, obj) -> None:
    """Uses a vocabulary saved next to the weights ({"model": ..., "chars": [...]}) when it fits the model."""
    found = stored_vocab(obj)
    if found is None:
        return
    key, vocab = found
    try:
        loaded.vocab = fit_vocab(vocab, loaded.config)
        loaded.notes.append(f"used the vocabulary saved under {key!r} ({len(vocab)} tokens)")
    except ValueError as e:
        loaded.notes.append(f"ignored the vocabulary saved under {key!r}: {e}")
