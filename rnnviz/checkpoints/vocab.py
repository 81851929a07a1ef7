"""Vocabularies a user brings for a checkpoint, and whether one fits a model; not tokenising text (inputs.py).

A vocabulary is a list of token strings whose position is the token id. From a file it is either JSON (a list
of strings, or a {token: id} map with ids 0..V-1) or plain text, whose distinct characters sorted by code
point form it: that is `sorted(set(text))`, how char-rnn and most tutorials build theirs, so the training
text itself is a valid vocabulary file. Newlines count as characters.
"""
from __future__ import annotations

import json

from rnnviz.checkpoints.reading import parse_json
from rnnviz.models import MAX_VOCAB, ModelConfig


def load_vocab(data: bytes | str, filename: str | None = None) -> list[str]:
    """A vocabulary from a file's bytes (or its already decoded text); JSON when the name ends in .json or
    (without a name) the text parses as a JSON list or map, else the sorted distinct characters."""
    name = filename or "the vocabulary"
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"{name} is not UTF-8 text; give a JSON list of tokens or a text file") from None
    if not isinstance(data, str):
        raise ValueError(f"a vocabulary is bytes or text, not a {type(data).__name__}")
    if not data:
        raise ValueError(f"{name} is empty; give a JSON list of tokens or a text file")
    if filename is not None and filename.lower().endswith(".json"):
        return _from_json(_parse_json(data, name), name)
    if filename is None and data.lstrip()[:1] in ("[", "{"):
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            parsed = None  # text that merely starts with a bracket (or brackets nested past the parser's depth)
        if isinstance(parsed, (list, dict)):
            return _from_json(parsed, name)
    vocab = sorted(set(data))
    if len(vocab) > MAX_VOCAB:
        raise ValueError(f"{name} has {len(vocab)} distinct characters, over the limit of {MAX_VOCAB}")
    return vocab


def _parse_json(text: str, name: str):
    try:
        return parse_json(text, name)
    except ValueError as e:
        raise ValueError(f"{e}; give a JSON list of tokens") from None


def _from_json(parsed, name: str) -> list[str]:
    if isinstance(parsed, dict):  # {token: id}, as a tokenizer's stoi / word_index
        ids = [v for v in parsed.values() if isinstance(v, int) and not isinstance(v, bool)]
        if len(ids) != len(parsed) or sorted(ids) != list(range(len(ids))):
            raise ValueError(f"{name} maps tokens to ids, but its ids are not 0..{len(parsed) - 1} each once; "
                             "give a JSON list of tokens in id order instead")
        parsed = sorted(parsed, key=parsed.get)
    if not isinstance(parsed, list) or not all(isinstance(t, str) for t in parsed):
        raise ValueError(f"{name} must be a JSON list of token strings (id = position)")
    check_tokens(parsed, name)
    return list(parsed)


def check_tokens(vocab: list[str], name: str = "the vocabulary") -> None:
    if not vocab:
        raise ValueError(f"{name} has no tokens; give at least one")
    if len(vocab) > MAX_VOCAB:
        raise ValueError(f"{name} has {len(vocab)} tokens, over the limit of {MAX_VOCAB}")
    seen: set[str] = set()
    for t in vocab:
        if t in seen:
            raise ValueError(f"{name} lists the token {t!r} twice; each token needs one id")
        seen.add(t)


def fit_vocab(vocab, cfg: ModelConfig) -> list[str]:
    """The vocabulary if it fits the model: one entry per embedding row, or per input feature (one-hot)."""
    if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab):
        raise ValueError("a vocabulary must be a list of token strings (id = position)")
    check_tokens(vocab)
    size = cfg.vocab_size if cfg.tokens else cfg.input_size
    if len(vocab) != size:
        what = (f"the model's embedding has {size} rows" if cfg.tokens else
                f"the model reads {size} features per step (one-hot would need {size} tokens)")
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but {what}; supply the vocabulary the model was "
                         "trained with (a text file's newlines count as a character)")
    return list(vocab)


VOCAB_WORDS = ("vocab", "itos", "stoi", "char", "word", "token", "idx", "ix")  # names people save vocabularies under


def stored_vocab(obj) -> tuple[str, list[str]] | None:
    """(key, vocabulary) saved next to the weights, as in torch.save({"model": ..., "chars": chars}): a list of
    strings, a {token: id} map or an {id: token} map under a top-level key whose name suggests one."""
    if not isinstance(obj, dict):
        return None
    for key, value in obj.items():
        if not isinstance(key, str) or not any(w in key.lower() for w in VOCAB_WORDS):
            continue
        if isinstance(value, dict) and value and all(isinstance(k, int) for k in value):
            value = {v: k for k, v in value.items()}  # {id: token} -> {token: id}
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            ids = value.values()
            if all(isinstance(i, int) for i in ids) and sorted(ids) == list(range(len(value))):
                return key, sorted(value, key=value.get)
        if isinstance(value, list) and value and all(isinstance(t, str) for t in value):
            return key, list(value)
    return None
