"""Maps a plain torch.nn state_dict onto an RNNModel, inferring the architecture from shapes; not file reading.

What it reads: nn.RNN, nn.LSTM or nn.GRU (1 to 4 layers, batch_first or not), optionally after an
nn.Embedding and before one nn.Linear head, under any module prefix. The rules, in order:
  - leading "module." (DataParallel) and "_orig_mod." (torch.compile) are dropped from every key;
  - keys ending weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} and sharing the text before it
    ("lstm.", "encoder.lstm.", "" for a bare nn.LSTM) form a stack. With several stacks (an encoder and a
    decoder) the first in the file is read and the others are listed as unmatched;
  - weight_hh_l0 of shape (G*H, H) names the cell: G = 4 LSTM, 3 GRU, 1 Elman RNN (tanh unless told relu);
  - a bidirectional stack (`*_reverse` weights on every layer) is read with both directions: layer k+1 and the
    head read [h→_t, h←_t], 2H wide, as torch.nn's;
  - a projected LSTM (proj_size P, `weight_hr_l{k}` (P, H)) is read as the LSTM of hidden size H it equals
    (`_unproject`): its state is m_t = o_t ⊙ tanh(c_t), the vector W_hr projects, and every matrix that read
    the P-wide h_t = W_hr m_t reads m_t through W_hr (W_hh W_hr, the next layer's W_ih W_hr, the head's W W_hr;
    with no head, W_hr itself becomes the head, so the outputs are the file's h_t);
  - the embedding and the head around the stack are found by heads.py's rules.
Every key not taken is listed in unmatched_keys; notes say which keys became what.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import Tensor

from rnnviz.build import build_model
from rnnviz.cells import get_spec
from rnnviz.checkpoints.heads import embedding_and_head, tied
from rnnviz.checkpoints.loaded import Loaded
from rnnviz.checkpoints.reading import MAX_FILE_BYTES
from rnnviz.models import ModelConfig
from rnnviz.stack import MAX_HIDDEN, MAX_LAYERS

STACK_KEY = re.compile(r"^(?P<prefix>(?:.*\.)?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
                       r"_l(?P<layer>\d+)(?P<reverse>_reverse)?$")
CELL_KEY = re.compile(r"^(?P<prefix>(?:.*\.)?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh)$")
CELLS = {4: ("lstm", "nn.LSTM"), 3: ("gru", "nn.GRU"), 1: ("rnn", "nn.RNN")}
REVERSE = "_reverse"  # torch.nn's suffix on a bidirectional layer's backward weights


def import_state_dict(sd: Mapping, name: str, nonlinearity: str | None = None, notes: list[str] | None = None,
                      known: Mapping[str, str] | None = None, arch: str | None = None) -> Loaded:
    """An RNNModel (CPU, eval mode) holding the weights of a torch.nn state_dict; see the module docstring.
    nonlinearity: what the user said an nn.RNN used (None: not said); known: what the file itself says, as
    {weight_hh_l0 key: "tanh" or "relu"} read from a pickled nn.RNN. arch: the cell the file says it is when the
    shapes cannot tell (a GRU whose reset gate comes before W_hn: "gru_reset_before")."""
    notes = list(notes or [])
    keys = _normalise(sd)  # normalised key -> original key
    stacks = _stacks(keys)
    if not stacks:
        stacks = _cells_as_stack(keys, sd, notes)
    if not stacks:
        raise _no_stack(keys, name)
    prefix = next(iter(stacks))
    if len(stacks) > 1:
        notes.append(f"found {len(stacks)} recurrent stacks ({', '.join(p or '(top level)' for p in stacks)}); "
                     f"read the first, {prefix or '(top level)'}, and listed the others as unmatched")
    num_layers, bias, both = _check_stack(stacks[prefix], prefix)
    w = {kind_layer: _tensor(sd[keys[k]], keys[k]) for kind_layer, k in stacks[prefix].items()}
    said = (known or {}).get(keys[stacks[prefix][("weight_hh", 0)]])
    w_hr = _unproject(w, prefix, num_layers, notes)  # the top layer's projection (P, H), or None
    found, H, D = _shapes(w, prefix, num_layers, bias, nonlinearity, said, notes, both)
    if arch is not None and get_spec(arch).family != get_spec(found).family:
        raise ValueError(f"{name} says its cell is {arch}, but its weights have the shapes of a {found}")
    arch = arch or found
    emb, head = embedding_and_head(sd, keys, stacks, prefix, D, (2 * H if both else H) if w_hr is None
                                    else w_hr.shape[0], notes)
    state = {f"rnn.{kind.removesuffix(REVERSE)}_l{k}{REVERSE if kind.endswith(REVERSE) else ''}": t
             for (kind, k), t in w.items()}
    if emb is not None:
        state["embedding.weight"] = _tensor(sd[keys[emb]], keys[emb])
    if head is not None:
        state["head.weight"] = _tensor(sd[keys[head[0]]], keys[head[0]])
        state["head.bias"] = (_tensor(sd[keys[head[1]]], keys[head[1]]) if head[1] is not None
                              else torch.zeros(state["head.weight"].shape[0]))  # nn.Linear(bias=False)
    if w_hr is not None:  # the head read h_t = W_hr m_t; with none, W_hr is the head: outputs are the file's h_t
        state["head.weight"] = _through(state["head.weight"], w_hr) if head is not None else w_hr
        state.setdefault("head.bias", torch.zeros(w_hr.shape[0]))
    rows = {k: t.shape[0] for k, t in state.items()}
    cfg = ModelConfig(arch=arch, input_size=1 if emb else D, vocab_size=rows.get("embedding.weight", 0),
                      embed_size=D if emb else ModelConfig.embed_size, hidden_size=H, num_layers=num_layers,
                      output_size=rows.get("head.weight", 0), bias=bias, bidirectional=both).validate()
    notes.insert(0, _describe(prefix, cfg, emb, head, keys))
    with torch.random.fork_rng(devices=[]):  # building draws random weights; the caller's RNG stays as it was
        model = build_model(cfg, device="cpu")
    model.load_state_dict(state, strict=True)
    if emb is not None and head is not None and w_hr is None and tied(sd[keys[emb]], sd[keys[head[0]]]):
        model.head.weight = model.embedding.weight  # tied in the file: tied here, so it is one matrix, counted once
        notes.append(f"{keys[head[0]]} is tied to {keys[emb]} (one matrix), as in the file")
    used = {keys[k] for k in [*stacks[prefix].values(), emb, *(head or ())] if k is not None}
    unmatched = [str(k) for k in sd if k not in used]
    return Loaded(model.eval(), cfg, "state_dict", unmatched_keys=unmatched, notes=notes)


def _normalise(sd: Mapping) -> dict[str, str]:
    out: dict[str, str] = {}
    for k in sd:
        if isinstance(k, str):
            n = k
            while n.startswith(("module.", "_orig_mod.")):
                n = n.split(".", 1)[1]
            out.setdefault(n, k)
    return out


def _stacks(keys: dict[str, str]) -> dict[str, dict[tuple[str, int], str]]:
    """prefix -> {(kind, layer): key}, in file order; `_reverse` kinds carry the suffix in their name."""
    stacks: dict[str, dict[tuple[str, int], str]] = {}
    for k in keys:
        m = STACK_KEY.match(k)
        if m:
            kind = m["kind"] + (m["reverse"] or "")
            stacks.setdefault(m["prefix"], {})[(kind, int(m["layer"]))] = k
    return stacks


def _cells_as_stack(keys: dict[str, str], sd: Mapping, notes: list[str]) -> dict[str, dict[tuple[str, int], str]]:
    """nn.LSTMCell/GRUCell/RNNCell modules stepped as stacked layers (pytorch/examples' time_sequence_prediction:
    lstm1, lstm2; or cells.0, cells.1), as one stack under the made-up prefix "cells.": layer k is the k-th cell in
    file order, and each must read the one before (weight_ih of shape (G*H, H)). Adds the stack's keys to `keys`."""
    groups: dict[str, dict[str, str]] = {}
    for k in keys:
        m = CELL_KEY.match(k)
        if m:
            groups.setdefault(m["prefix"], {})[m["kind"]] = k
    cells = [p for p, g in groups.items() if "weight_ih" in g and "weight_hh" in g]
    if not cells:
        return {}
    hh = [sd[keys[groups[p]["weight_hh"]]] for p in cells]
    ih = [sd[keys[groups[p]["weight_ih"]]] for p in cells]
    shapes = {tuple(t.shape) if isinstance(t, Tensor) else None for t in hh}
    H = hh[0].shape[-1] if isinstance(hh[0], Tensor) and hh[0].dim() == 2 else 0
    chained = len(shapes) == 1 and H > 0 and all(isinstance(t, Tensor) and t.dim() == 2 and t.shape[1] == H
                                                  for t in ih[1:])
    names = ", ".join(p.rstrip(".") or "(top level)" for p in cells)
    if not chained:
        raise ValueError(f"found {len(cells)} recurrent cells ({names}) that are not stacked layers of one size, "
                         "each reading the one before; rnnviz reads cells used that way (like nn.LSTM's layers)")
    stack = {}
    for k, p in enumerate(cells):
        for kind, key in groups[p].items():
            keys[f"cells.{kind}_l{k}"] = keys.pop(key)
            stack[(kind, k)] = f"cells.{kind}_l{k}"
    notes.append(f"read the cells {names} as layers 0 to {len(cells) - 1} of one stack, in the file's order"
                 if len(cells) > 1 else f"read the cell {names} as a one-layer stack")
    return {"cells.": stack}


def _no_stack(keys: dict[str, str], name: str) -> ValueError:
    return ValueError(f"found no recurrent weights (keys like weight_hh_l0) in {name}; rnnviz imports models "
                      "built on torch.nn.RNN, nn.LSTM or nn.GRU")


def _unproject(w: dict[tuple[str, int], Tensor], prefix: str, L: int, notes: list[str]) -> Tensor | None:
    """A projected LSTM (nn.LSTM(proj_size=P): h_t = W_hr m_t, m_t = o_t ⊙ tanh(c_t), weight_hh (4H, P)) as the
    plain LSTM of hidden size H it equals, in place in w: W_hh ← W_hh W_hr, and layer k+1's W_ih ← W_ih W_hr
    (W_hh h_{t−1} = (W_hh W_hr) m_{t−1}; from h_0 = 0, m_0 = 0 gives the same first step). Gates and c_t are the
    file's own; the state shown is m_t. Returns the top layer's W_hr (P, H), which the head (or, with none, the
    outputs) must read through; None for a model without projections."""
    hr = {k: w.pop(("weight_hr", k)) for k in range(L) if ("weight_hr", k) in w}
    if not hr:
        return None
    if sorted(hr) != list(range(L)):
        raise ValueError(f"{prefix}weight_hr is on layers {sorted(hr)} of {L}; an nn.LSTM with proj_size has one "
                         "per layer: the file is incomplete")
    for k, p in hr.items():
        hh = w[("weight_hh", k)]
        if p.dim() != 2 or hh.dim() != 2 or hh.shape[1] != p.shape[0] or hh.shape[0] != 4 * p.shape[1]:
            raise ValueError(f"{prefix}weight_hr_l{k} has shape {tuple(p.shape)} and {prefix}weight_hh_l{k} "
                             f"{tuple(hh.shape)}; an nn.LSTM with proj_size P stores (P, H) and (4H, P)")
        if p.shape[1] > MAX_HIDDEN:  # before W_hh W_hr, which would be (4H, H)
            raise ValueError(f"hidden size {p.shape[1]} (from {prefix}weight_hr_l{k}) is over rnnviz's limit of "
                             f"{MAX_HIDDEN}; rnnviz is for models small enough to trace on a CPU")
        w[("weight_hh", k)] = _through(hh, p)
        if k + 1 < L:
            w[("weight_ih", k + 1)] = _through(w[("weight_ih", k + 1)], p)
    P, H = hr[0].shape
    notes.append(f"{prefix or 'the model'} is an LSTM with projections (proj_size {P}, hidden size {H}): read as "
                 f"the LSTM of hidden size {H} it equals, whose state is m_t = o_t ⊙ tanh(c_t) before the "
                 f"projection h_t = W_hr m_t; every matrix that read h_t reads m_t through W_hr (W_hh W_hr, the "
                 "next layer's and the head's), so gates, cell states and outputs are the file's own")
    return hr[L - 1]


def _through(weight: Tensor, w_hr: Tensor) -> Tensor:
    """weight @ w_hr, in float64 then float32: a matrix that read h = W_hr m, made to read m."""
    if weight.dim() != 2 or weight.shape[1] != w_hr.shape[0]:
        raise ValueError(f"a weight of shape {tuple(weight.shape)} reads the projected state, which is "
                         f"{w_hr.shape[0]} wide; the shapes disagree")
    return (weight.double() @ w_hr.double()).float()


def _check_stack(group: dict[tuple[str, int], str], prefix: str) -> tuple[int, bool, bool]:
    """(number of layers, has biases, bidirectional) after refusing what rnnviz cannot represent."""
    both = any(kind.endswith(REVERSE) for kind, _ in group)
    if both and any(kind.startswith("weight_hr") for kind, _ in group):
        raise ValueError(f"{prefix or 'the model'} is a bidirectional LSTM with projections (proj_size), which "
                         "rnnviz does not read; save it with proj_size=0, or one direction at a time")
    layers = sorted({k for _, k in group})
    if layers != list(range(len(layers))):
        raise ValueError(f"the recurrent weights under {prefix or 'the top level'} have layers {layers}; expected "
                         f"0 to {len(layers) - 1} with none missing")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"{len(layers)} layers is over rnnviz's limit of {MAX_LAYERS}")
    if not any(kind == "weight_hh" for kind, _ in group):  # rnnviz's minGRU, minLSTM, LRU, S6, mamba, bare
        raise ValueError(f"the recurrent weights under {prefix or 'the top level'} have no weight_hh (W_hh), so "
                         "their cell cannot be told from their shapes; a cell without one (rnnviz's minGRU, minLSTM, "
                         "LRU, S6 or Mamba block) opens from rnnviz's own .safetensors checkpoint, which names it")
    has_bias = ("bias_ih", 0) in group or ("bias_hh", 0) in group
    needed = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if has_bias else ())
    for k in layers:
        for kind in [n + sfx for n in needed for sfx in ("", REVERSE)[:1 + both]]:
            if (kind, k) not in group:
                raise ValueError(f"layer {k} lacks {prefix}{kind.removesuffix(REVERSE)}_l{k}"
                                 f"{REVERSE if kind.endswith(REVERSE) else ''}; the file is incomplete")
        if not has_bias and any((b + sfx, k) in group for b in ("bias_ih", "bias_hh") for sfx in ("", REVERSE)):
            raise ValueError(f"{prefix}bias_ih_l0 is missing while layer {k} has biases; the file is incomplete")
    return len(layers), has_bias, both


def _tensor(value, key: str) -> Tensor:
    """A finite float32 copy of one weight, or one sentence on why it cannot be one."""
    if not isinstance(value, Tensor) or value.layout != torch.strided:
        raise ValueError(f"{key} holds a {type(value).__name__}, not a dense tensor of weights; the file is not a "
                         "state_dict rnnviz can read")
    stored = value.untyped_storage().nbytes() // max(value.element_size(), 1)
    if value.numel() > MAX_FILE_BYTES // 2 or value.numel() > stored:  # a view stretched by strides
        raise ValueError(f"{key} claims {value.numel():,} values, more than the file holds for it; the file is "
                         "damaged or crafted")
    if not value.is_floating_point():
        dtype = str(value.dtype).replace("torch.", "")
        raise ValueError(f"{key} holds {dtype} values; expected floating-point weights")
    t = value.detach().to("cpu", torch.float32).contiguous()
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"weights contain NaN or inf values (in {key}); the model diverged or the file is damaged: "
                         "save weights from before the divergence")
    return t


def _shapes(w: dict, prefix: str, L: int, bias: bool, nonlinearity: str | None, said: str | None,
            notes: list[str], both: bool = False) -> tuple[str, int, int]:
    """(arch, H, D) from weight_hh_l0's shape, after checking every layer's shapes (both directions' when
    `both`: each layer above the first then reads 2H) agree with it."""
    first = w[("weight_hh", 0)]
    rows, H = (first.shape if first.dim() == 2 else (0, 0))
    if H == 0 or rows % H or rows // H not in CELLS:
        raise ValueError(f"{prefix}weight_hh_l0 has shape {tuple(first.shape)}; torch.nn.RNN, GRU and LSTM store "
                         "(H, H), (3H, H) or (4H, H)")
    G = rows // H
    if H > MAX_HIDDEN:
        raise ValueError(f"hidden size {H} (from {prefix}weight_hh_l0) is over rnnviz's limit of {MAX_HIDDEN}; "
                         "rnnviz is for models small enough to trace on a CPU")
    w_ih0 = w[("weight_ih", 0)]
    D = w_ih0.shape[1] if w_ih0.dim() == 2 else 0
    family, module = CELLS[G]
    for k, sfx in [(k, sfx) for k in range(L) for sfx in ("", REVERSE)[:1 + both]]:
        expect = {"weight_ih": (G * H, D if k == 0 else H * (1 + both)), "weight_hh": (G * H, H)}
        if bias:
            expect.update(bias_ih=(G * H,), bias_hh=(G * H,))
        for kind, shape in expect.items():
            if tuple(w[(kind + sfx, k)].shape) != shape or 0 in shape:
                raise ValueError(f"{prefix}{kind}_l{k}{sfx} has shape {tuple(w[(kind + sfx, k)].shape)}; expected "
                                 f"{shape} for {module}{' (bidirectional)' if both else ''} with hidden size {H} "
                                 f"(from {prefix}weight_hh_l0): the shapes disagree")
    if family != "rnn":
        return family, H, D
    if said is not None:
        if nonlinearity is not None and nonlinearity != said:
            notes.append(f"read the RNN as {nonlinearity}, as asked, although the file says it used {said}")
            return f"rnn_{nonlinearity}", H, D
        notes.append(f"read the RNN as {said}, as the file says it used")
        return f"rnn_{said}", H, D
    if nonlinearity is not None:
        return f"rnn_{nonlinearity}", H, D
    notes.append("assumed tanh: an nn.RNN's weights cannot tell tanh from relu (if it used relu: the Checkpoints "
                 "page's \"relu RNN\" switch, --nonlinearity relu on the command line, nonlinearity='relu' in Python)")
    return "rnn_tanh", H, D


def _describe(prefix: str, cfg: ModelConfig, emb: str | None, head: tuple | None, keys: dict) -> str:
    both = "bidirectional " if cfg.bidirectional else ""
    parts = [f"read {prefix or 'the top-level '}* as a {cfg.num_layers}-layer {both}{cfg.arch} "
             f"({cfg.cell_input_size} -> {cfg.hidden_size})"]
    parts.append(f"{keys[emb]} as the embedding ({cfg.vocab_size} tokens)" if emb else "no embedding (vector inputs)")
    parts.append(f"{keys[head[0]]} as the head ({cfg.output_size} outputs)" if head else "no head")
    return ", ".join(parts)
