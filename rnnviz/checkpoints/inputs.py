"""One input sequence (batch of one) for a loaded checkpoint, from text, token ids or a CSV of vectors.

Not tokenisation in general: text is split into characters when every vocabulary entry is one character,
else on whitespace (word vocabularies). A model without an embedding whose vocabulary has one token per
input feature is fed one-hot vectors. Sequences are bounded by MAX_STEPS, since a trace keeps every step.
"""
from __future__ import annotations

import csv
import io
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnviz.models import ModelConfig
from rnnviz.sampling import char_level, split_text

MAX_STEPS = 2000  # a trace keeps every unit at every step; longer is slow to probe and unreadable


def _check_length(T: int) -> None:
    if T == 0:
        raise ValueError("the input sequence is empty; give at least one step")
    if T > MAX_STEPS:
        raise ValueError(f"the input has {T} steps, over the limit of {MAX_STEPS} for one trace; shorten it")


def from_ids(ids: list[int], cfg: ModelConfig, vocab: list[str] | None) -> Tensor:
    """(1, T) ids for a token model, or (1, T, V) one-hot vectors for a vector model with a vocabulary."""
    _check_length(len(ids))
    size = cfg.vocab_size if cfg.tokens else (len(vocab) if vocab is not None else 0)
    if not size:
        raise ValueError(f"this model reads vectors of {cfg.input_size} features, not token ids; give "
                         f"--values FILE.csv (one row per step, {cfg.input_size} columns)")
    bad = next((i for i in ids if not 0 <= i < size), None)
    if bad is not None:
        raise ValueError(f"token id {bad} is out of range; this model's ids are 0 to {size - 1}")
    x = torch.tensor([ids], dtype=torch.long)
    return x if cfg.tokens else F.one_hot(x, size).float()


def parse_tokens(text: str) -> list[int]:
    """"3,1,4" -> [3, 1, 4]."""
    try:
        return [int(p) for p in text.replace(" ", "").split(",") if p != ""]
    except ValueError:
        raise ValueError(f"--tokens takes integer ids separated by commas, like 3,1,4; got {text!r}") from None


def from_text(text: str, cfg: ModelConfig, vocab: list[str] | None) -> Tensor:
    if vocab is None:
        raise ValueError("text needs a vocabulary, and this checkpoint has none; give --vocab FILE (a JSON list "
                         "or a text file of the training characters)")
    chars = char_level(vocab)
    pieces = split_text(text, vocab)
    index = {t: i for i, t in enumerate(vocab)}
    for p in pieces:
        if p not in index:
            raise ValueError(f"the {'character' if chars else 'word'} {p!r} is not in the vocabulary "
                             f"({len(vocab)} tokens); use only tokens from it")
    return from_ids([index[p] for p in pieces], cfg, vocab)


def from_csv(data: bytes | str, cfg: ModelConfig, name: str = "the CSV") -> Tensor:
    """(1, T, D) from a numeric CSV with one row per step and D = the model's input features; header optional."""
    if cfg.tokens:
        raise ValueError(f"this model reads token ids (a vocabulary of {cfg.vocab_size}); give --tokens 3,1,4 "
                         "or --text instead of values")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"{name} is not UTF-8 text; give a numeric CSV") from None
    rows = [r for r in csv.reader(io.StringIO(data)) if any(c.strip() for c in r)]
    if rows and not _numeric(rows[0]):
        rows = rows[1:]  # a header
    D = cfg.input_size
    values = []
    for i, row in enumerate(rows, 1):
        if len(row) != D:
            raise ValueError(f"row {i} of {name} has {len(row)} values; the model reads {D} features per step")
        for j, cell in enumerate(row, 1):
            v = _number(cell)
            if v is None or not math.isfinite(v):
                raise ValueError(f"row {i}, column {j} of {name} is {cell.strip()!r}, not a finite number")
        values.append([float(c) for c in row])
    _check_length(len(values))
    return torch.tensor([values], dtype=torch.float32)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _numeric(row: list[str]) -> bool:
    return all(_number(c) is not None for c in row)
