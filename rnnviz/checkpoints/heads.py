"""The embedding and the linear head around a state_dict's recurrent stack (importer.py finds the stack).

  - the embedding is a bias-less 2-D `weight` of shape (V, input size), preferably named *emb*;
  - the head is a 2-D `weight` of shape (O, H) with its bias, preferably named fc/head/out/linear/decoder/...;
    a head followed by another layer (an MLP) is not read, since rnnviz's head is one linear layer. With
    several stacks a head is taken only from the read stack's parent module (encoder.fc for encoder.lstm).
Keys under another stack's parent module (decoder.* while reading encoder.lstm) are never taken. Notes say why
a candidate was not read.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from torch import Tensor

HEAD_WORDS = ("fc", "head", "out", "linear", "decoder", "classifier", "proj", "readout", "dense", "logit")


def embedding_and_head(sd: Mapping, keys: dict[str, str], stacks: dict, prefix: str, D: int, H: int,
                        notes: list[str]) -> tuple[str | None, tuple[str, str | None] | None]:
    """(embedding weight key, (head weight key, head bias key)) among keys outside the stacks, each maybe None."""
    own = _parent(prefix)
    others = {_parent(p) for p in stacks if p != prefix} - {own, ""}
    pool = _pool(sd, keys, set(stacks[prefix].values()), {p + "." for p in others})
    emb = _embedding(pool, D, sd, keys, notes)
    head_pool = pool if len(stacks) == 1 else {k: t for k, t in pool.items() if own and k.startswith(own + ".")}
    return emb, _head(head_pool, pool, H, emb, sd, keys, notes)


def tied(a: Tensor, b: Tensor) -> bool:
    """Whether two weights in the file are one tensor (tied): the same storage, offset and shape."""
    return (a.shape == b.shape and a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
            and a.storage_offset() == b.storage_offset())


def _parent(prefix: str) -> str:
    """The module holding a stack: "encoder" for "encoder.lstm.", "" for "lstm." or ""."""
    return prefix.rpartition(".")[0].rpartition(".")[0]


def _pool(sd: Mapping, keys: dict[str, str], taken: set[str], excluded: set[str]) -> dict[str, Tensor]:
    """Every 2-D floating `weight` outside the read stack and other stacks' modules: embedding/head candidates."""
    pool = {}
    for k, orig in keys.items():
        t = sd[orig]
        if (k in taken or not (k == "weight" or k.endswith(".weight")) or any(k.startswith(p) for p in excluded)
                or not isinstance(t, Tensor) or t.dim() != 2 or not t.is_floating_point()):
            continue
        pool[k] = t
    return pool


def _bias_of(k: str, rows: int, sd: Mapping, keys: dict[str, str]) -> str | None:
    """The `bias` key next to weight key k, if it holds a (rows,) tensor."""
    b = k[: -len("weight")] + "bias"
    t = sd[keys[b]] if b in keys else None
    return b if isinstance(t, Tensor) and tuple(t.shape) == (rows,) else None


def _headish(k: str) -> bool:
    parts = re.split(r"[._]", k.lower())
    return any(p.rstrip("0123456789") in HEAD_WORDS for p in parts)


def _embedding(pool: dict[str, Tensor], D: int, sd: Mapping, keys: dict, notes: list[str]) -> str | None:
    cands = [k for k, t in pool.items() if t.shape[1] == D and _bias_of(k, t.shape[0], sd, keys) is None]
    named = [k for k in cands if "emb" in k.lower()]
    plain = [k for k in cands if k not in named and not _headish(k)]
    if named:
        return named[0]
    if len(plain) == 1:
        return plain[0]
    if plain:
        notes.append(f"could not tell which of {', '.join(plain)} is the embedding, so read none: feed vectors")
    return None


def _head(pool: dict[str, Tensor], everything: dict[str, Tensor], H: int, emb: str | None, sd: Mapping,
          keys: dict, notes: list[str]) -> tuple[str, str | None] | None:
    """(weight key, bias key or None) of a single linear head reading h, or None."""
    cands = [k for k, t in pool.items() if k != emb and t.shape[1] == H and "emb" not in k.lower()]
    named = [k for k in cands if _headish(k)]
    pick = named[0] if named else (cands[0] if len(cands) == 1 else None)
    if pick is None:
        if cands:
            notes.append(f"could not tell which of {', '.join(cands)} is the head, so read none: outputs are "
                         "hidden states")
        return None
    out = everything[pick].shape[0]
    after = [k for k, t in everything.items() if k not in (pick, emb) and t.shape[1] == out]
    if after:
        notes.append(f"{pick} is followed by {after[0]} (a head of several layers); rnnviz's head is one linear "
                     "layer, so read none: outputs are hidden states")
        return None
    bias = _bias_of(pick, out, sd, keys)
    if bias is None:
        notes.append(f"the head {pick} has no bias; read it with a zero bias")
    return pick, bias
