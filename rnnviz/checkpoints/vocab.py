"""Vocabularies a user brings for a checkpoint, and whether one fits a model; not tokenising text (inputs.py).

A vocabulary is a list of token strings whose position is the token id. Nothing is ever silently reordered:
  - JSON: a list of strings (id = position), a {token: id} map or an {id: token} map, ids 0..V-1;
  - a text file of one token per line, all distinct (a word list, `itos.txt`): read in the file's order;
  - any other text is a training text, and the vocabulary is derived from it as its distinct characters in
    code-point order, `sorted(set(text))` (char-rnn and most tutorials). That order is an assumption, so it
    comes with a sentence saying so, which the app shows on every page (Subject.vocab_note).
When a file can be read both ways (a list of names, one per line, is also a training text), the reading that
fits the model is taken: vocab_choices lists them, best first, and load_checkpoint tries each.
Inside a checkpoint, a vocabulary is found under a key whose name suggests one (vocab, chars, tokens, itos,
stoi, char2int, int2char, word2idx, ...) as a list, a tuple, a {token: id} or an {id: token} map.
"""
from __future__ import annotations

import json

from rnnviz.checkpoints.reading import parse_json
from rnnviz.models import MAX_VOCAB, ModelConfig


def load_vocab(data: bytes | str, filename: str | None = None) -> list[str]:
    """The first reading of vocab_choices: a vocabulary from a file's bytes (or its decoded text)."""
    return vocab_choices(data, filename)[0][0]


def vocab_choices(data: bytes | str, filename: str | None = None) -> list[tuple[list[str], str | None]]:
    """The readings of a vocabulary file, best first, each (tokens, a sentence when rnnviz assumed the order)."""
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
        return [(_from_json(_parse_json(data, name), name), None)]
    if data.lstrip()[:1] in ("[", "{"):
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            parsed = None  # text that merely starts with a bracket (or brackets nested past the parser's depth)
        if isinstance(parsed, (list, dict)):
            return [(_from_json(parsed, name), None)]
    choices = []
    lines = data.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) >= 2 and len(set(lines)) == len(lines) and all(_token_line(t) for t in lines):
        check_tokens(lines, name)
        choices.append((lines, None))
    chars = sorted(set(data))
    if len(chars) > MAX_VOCAB:
        raise ValueError(f"{name} has {len(chars)} distinct characters, over the limit of {MAX_VOCAB}")
    shown = "".join(chars).replace("\n", "\\n").replace(" ", "␣")  # a space shown, or "5 characters: ehlo"
    note = (f"the vocabulary was derived from {name} as its {len(chars)} distinct characters in code-point order "
            f"(sorted(set(text)): {shown[:40]}{'…' if len(shown) > 40 else ''}); if the model was trained with "
            "another order its outputs are mislabelled: give a JSON list of tokens in the model's order")
    choices.append((chars, note))
    return choices


def _token_line(line: str) -> bool:
    """A line that can be one token of a one-per-line vocabulary: a word or symbol, or a lone space."""
    return line == " " or (line != "" and not any(c.isspace() for c in line))


def _parse_json(text: str, name: str):
    try:
        return parse_json(text, name)
    except ValueError as e:
        raise ValueError(f"{e}; give a JSON list of tokens") from None


def _from_json(parsed, name: str) -> list[str]:
    if isinstance(parsed, dict) and parsed and all(isinstance(v, str) for v in parsed.values()):
        try:  # {id: token}, as an itos / int2char saved to JSON (whose keys are strings)
            parsed = {v: int(k) for k, v in parsed.items()}
        except ValueError:
            raise ValueError(f"{name} maps keys to strings, but its keys are not ids 0..{len(parsed) - 1}; give a "
                             "JSON list of tokens in id order instead") from None
        if len(parsed) != len(set(parsed)):
            raise ValueError(f"{name} gives one token to several ids; each token needs one id")
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


VOCAB_WORDS = ("vocab", "itos", "stoi", "char", "word", "token", "idx", "ix", "int2", "2int", "dictionary")


def stored_vocab(obj) -> tuple[str, list[str]] | None:
    """(key, vocabulary) saved next to the weights, as in torch.save({"model": ..., "chars": chars}) or as a
    pickled model's attributes (self.int2char): a list or tuple of strings, a {token: id} map or an {id: token}
    map under a key whose name suggests one, at the top level or one dict down ({"args": {...}, "vocab": ...})."""
    if not isinstance(obj, dict):
        return None
    for d, where in [(obj, "")] + [(v, f"{k}.") for k, v in obj.items() if isinstance(v, dict) and isinstance(k, str)]:
        for key, value in d.items():
            if isinstance(key, str) and any(w in key.lower() for w in VOCAB_WORDS):
                tokens = _as_tokens(value)
                if tokens is not None:
                    return where + key, tokens
    return None


def _as_tokens(value) -> list[str] | None:
    """Token strings by id from a list, tuple or map; None if it is not one."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(t, str) for t in value):
        return list(value) if len(set(value)) == len(value) else None
    if isinstance(value, dict) and value:
        if all(isinstance(k, int) and not isinstance(k, bool) for k in value):
            value = {v: k for k, v in value.items()} if all(isinstance(v, str) for v in value.values()) else {}
        ids = list(value.values())
        if (all(isinstance(k, str) for k in value) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
                and sorted(ids) == list(range(len(value)))):
            return sorted(value, key=value.get)
    return None
