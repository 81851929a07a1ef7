"""Keras files (.keras zip, legacy .h5, Keras 3 .weights.h5) as torch.nn names, for the importer (see foreign.py).

The JSON config is read as data and the arrays with h5py; no Keras object is ever built. Layers: InputLayer,
Embedding, SimpleRNN, LSTM, GRU (also inside Bidirectional, merge_mode "concat": its backward layer becomes torch's
*_reverse weights), Dense (also as TimeDistributed(Dense)), and the layers that do nothing at inference (Dropout,
...). Any other layer (Lambda, which holds code; custom classes) is refused, as are HDF5 links to other files and
external or virtual datasets. Gate orders: Keras LSTM i,f,c,o is torch's i,f,g,o; Keras GRU z,r,h becomes
torch's r,z,n; a GRU with reset_after=False is rnnviz's gru_reset_before (the reset gate before W_hn), with its
one bias on the input side.
"""
from __future__ import annotations

import io
import re
import zipfile

import torch
from torch import Tensor

from rnnviz.checkpoints.foreign import Foreign, as_array, check_unpacked, gate_blocks
from rnnviz.checkpoints.reading import first_line, parse_json
from rnnviz.stack import MAX_LAYERS

NO_OP_LAYERS = {"InputLayer", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                "ActivityRegularization"}  # nothing at inference
RECURRENT = {"SimpleRNN": ("rnn", 1), "LSTM": ("lstm", 4), "GRU": ("gru", 3)}


def _h5(data: bytes, name: str):
    import h5py

    try:
        f = h5py.File(io.BytesIO(data), "r")
    except Exception as e:
        raise ValueError(f"{name} is a damaged HDF5 file ({first_line(e)})") from None
    links = []
    f.visititems_links(lambda path, link: links.append(path) if not isinstance(link, h5py.HardLink) else None)
    if links:
        raise ValueError(f"{name} links to other objects or files ({links[0]}); rnnviz reads only what is inside "
                         "the file: save the model again")
    bad = []
    f.visititems(lambda path, obj: bad.append(path)
                 if isinstance(obj, h5py.Dataset) and (obj.external or obj.is_virtual) else None)
    if bad:
        raise ValueError(f"{name} keeps {bad[0]} in other files (an external or virtual dataset); rnnviz reads only "
                         "what is inside the file")
    return f


def read_keras(data: bytes, name: str, kind: str) -> Foreign:
    """kind: "keras" (a .keras zip) or "hdf5" (a legacy .h5 model, or a .weights.h5 file)."""
    if kind == "keras":
        check_unpacked(data, name)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            config = parse_json(z.read("config.json"), name, "a Keras config")
            f = _h5(z.read("model.weights.h5"), name)
        layers = _config_layers(config, name)
        return _translate(layers, lambda layer: _keras3_vars(f, layer), name, [])
    f = _h5(data, name)
    if "model_config" in f.attrs:  # a legacy whole-model .h5
        raw = f.attrs["model_config"]
        config = parse_json(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw), name, "a Keras config")
        layers = _config_layers(config, name)
        return _translate(layers, lambda layer: _legacy_vars(f, layer["name"]), name, [])
    if "layers" in f:  # Keras 3 save_weights: no config, so layer kinds come from names and shapes
        layers = _guess_layers(f, name)
        notes = ["a .weights.h5 file has no config: read the layers by their names and shapes, with Keras's default "
                 "activations (tanh, sigmoid gates)"]
        return _translate(layers, lambda layer: _keras3_vars(f, layer), name, notes)
    if "layer_names" in f.attrs:  # Keras 2 save_weights
        raise ValueError(f"{name} holds Keras 2 weights without the model's config; save the whole model "
                         "(model.save('model.h5') or 'model.keras') so rnnviz knows each layer's kind")
    raise ValueError(f"{name} is an HDF5 file but not a Keras model or weights file")


def _config_layers(config, name: str) -> list[dict]:
    """[{"class": ..., "name": ..., "config": {...}}] in the model's order, from a Keras model config."""
    if not isinstance(config, dict):
        raise ValueError(f"{name} has a Keras config that is not an object")
    inner = config.get("config") if isinstance(config.get("config"), dict) else config
    raw = inner.get("layers")
    if not isinstance(raw, list):
        raise ValueError(f"{name} is a Keras {config.get('class_name', 'model')} without a list of layers; rnnviz "
                         "reads Sequential and functional models")
    out, used, masked = [], {}, []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
            raise ValueError(f"{name} has a damaged Keras config (a layer without its settings)")
        cls = str(item.get("class_name"))
        cfg = item["config"]
        path = _snake(cls)  # Keras 3 stores a layer's arrays under its class name, counted: lstm, lstm_1, ...
        used[path] = used.get(path, -1) + 1
        path += f"_{used[path]}" if used[path] else ""
        if cls in NO_OP_LAYERS:
            continue
        if cls == "Masking":
            masked.append(str(cfg.get("name")))
            continue
        if cls == "Lambda":
            raise ValueError(f"{name} has a Lambda layer ({cfg.get('name')}), which holds Python code; rnnviz will not "
                             "run it: rebuild the model without it")
        inner = cfg.get("layer") if isinstance(cfg.get("layer"), dict) else {}
        if cls == "TimeDistributed" and inner.get("class_name") == "Dense" and isinstance(inner.get("config"), dict):
            cls, cfg = "Dense", {**inner["config"], "name": cfg.get("name")}  # the same Dense at every step
        both = cls == "Bidirectional"
        if both:  # Bidirectional(LSTM(...)): the wrapped layer, forward, and its go_backwards copy
            cls, cfg = _bidirectional(cfg, inner, name)
        if cls not in RECURRENT and cls not in ("Embedding", "Dense", "Activation"):
            raise ValueError(f"{name} has a {cls} layer ({cfg.get('name')}), which rnnviz cannot map onto its model "
                             "(Embedding, SimpleRNN, LSTM or GRU layers, Dense heads)")
        out.append({"class": cls, "name": str(cfg.get("name")), "config": cfg, "path": path,
                    "masked": bool(masked), "bidirectional": both})
    return out


def _bidirectional(cfg: dict, inner: dict, name: str) -> tuple[str, dict]:
    """The class and settings of a Bidirectional wrapper's recurrent layer, after refusing what rnnviz cannot show:
    a merge other than concatenation, or a backward layer unlike the forward one."""
    cls, inner_cfg = inner.get("class_name"), inner.get("config")
    if cls not in RECURRENT or not isinstance(inner_cfg, dict):
        raise ValueError(f"{name} has a Bidirectional wrapper around a {cls} layer; rnnviz reads SimpleRNN, LSTM or "
                         "GRU there")
    if cfg.get("merge_mode", "concat") != "concat":
        raise ValueError(f"{name}'s Bidirectional layer {cfg.get('name')} merges its directions by "
                         f"{cfg.get('merge_mode')}; rnnviz reads merge_mode='concat' ([h→, h←], as torch.nn)")
    back = cfg.get("backward_layer")
    if isinstance(back, dict):
        b = back.get("config") if isinstance(back.get("config"), dict) else {}
        same = ("units", "activation", "recurrent_activation", "use_bias", "reset_after")
        if back.get("class_name") != cls or any(b.get(k) != inner_cfg.get(k) for k in same):
            raise ValueError(f"{name}'s Bidirectional layer {cfg.get('name')} has a backward layer unlike its forward "
                             "one; rnnviz reads two directions of the same cell and size")
    if inner_cfg.get("go_backwards"):
        raise ValueError(f"{name}'s Bidirectional layer {cfg.get('name')} wraps a layer that already reads "
                         "backwards (go_backwards); rnnviz reads a forward layer wrapped")
    return cls, {**inner_cfg, "name": cfg.get("name")}


def _snake(cls: str) -> str:
    """keras.src.utils.naming.to_snake_case: SimpleRNN -> simple_rnn, LSTM -> lstm."""
    cls = re.sub(r"\W+", "", cls)
    cls = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", cls)
    return re.sub("([a-z])([A-Z])", r"\1_\2", cls).lower()


def _guess_layers(f, name: str) -> list[dict]:
    kinds = {"embedding": "Embedding", "simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU", "dense": "Dense",
             "time_distributed": "Dense"}
    rank = {"Embedding": 0, "SimpleRNN": 1, "LSTM": 1, "GRU": 1, "Dense": 2}
    found = []
    for key in f["layers"]:
        base = re.sub(r"_\d+$", "", key)
        if not _keras3_vars(f, {"path": key}):
            continue  # an input layer, a dropout: nothing to read
        if base not in kinds:
            raise ValueError(f"{name} has a layer {key!r} whose kind rnnviz cannot tell without the model's config; "
                             "save the whole model (model.save('model.keras'))")
        number = int(m.group(1)) if (m := re.search(r"_(\d+)$", key)) else 0
        found.append((rank[kinds[base]], number, {"class": kinds[base], "name": key, "config": {}, "path": key}))
    return [layer for *_, layer in sorted(found, key=lambda t: (t[0], t[1]))]


def _keras3_vars(f, layer: dict) -> list:
    group = f.get(f"layers/{layer['path']}")
    if group is None:
        return []
    if "forward_layer" in group and "backward_layer" in group:  # Bidirectional: the forward's, then the backward's
        return [a for d in ("forward_layer", "backward_layer") for a in _cell_vars(group[d])]
    return _cell_vars(group)


def _cell_vars(group) -> list:
    holder = group["cell"] if "cell" in group else group["layer"] if "layer" in group else group  # RNN / wrapper
    v = holder.get("vars")
    return [v[str(i)] for i in range(len(v))] if v is not None else []


def _legacy_vars(f, layer_name: str) -> list:
    group = f.get(f"model_weights/{layer_name}")
    if group is None:
        return []
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
    return [group[n] for n in names]


def _translate(layers: list[dict], arrays, name: str, notes: list[str]) -> Foreign:
    """Keras layers (with their arrays) as torch.nn names; one recurrent stack of one kind and size."""
    out = Foreign({}, list(notes))
    rec = [layer for layer in layers if layer["class"] in RECURRENT]
    if not rec:
        raise ValueError(f"{name} is a Keras model without SimpleRNN, LSTM or GRU layers")
    kinds = {layer["class"] for layer in rec}
    if len(kinds) > 1:
        raise ValueError(f"{name} stacks {' and '.join(sorted(kinds))} layers; rnnviz's models use one cell type in "
                         "every layer")
    if len(rec) > MAX_LAYERS:  # before any array is read: many layers may point at one big array
        raise ValueError(f"{name} has {len(rec)} recurrent layers, over rnnviz's limit of {MAX_LAYERS}")
    acts = {layer["config"].get("activation", "tanh") for layer in rec}
    if len(acts) > 1:
        raise ValueError(f"{name}'s recurrent layers use different activations ({', '.join(sorted(acts))}); "
                         "rnnviz's models use one in every layer")
    if len({layer.get("bidirectional", False) for layer in rec}) > 1:
        raise ValueError(f"{name} has Bidirectional and one-way recurrent layers in one stack; rnnviz reads every "
                         "layer one way or every layer both ways")
    first, last = layers.index(rec[0]), layers.index(rec[-1])
    if any(layer["class"] not in RECURRENT for layer in layers[first:last + 1]):
        raise ValueError(f"{name} has other layers between its recurrent layers; rnnviz reads a plain stack")
    for layer in layers[:first]:
        if layer["class"] != "Embedding":
            raise ValueError(f"{name} has a {layer['class']} layer before its recurrent layers; rnnviz reads an "
                             "Embedding (or nothing) there")
        (table,) = _vars(arrays(layer), layer, name, 1)
        out.state_dict["embedding.weight"] = table
        if layer["config"].get("mask_zero"):
            out.notes.append(f"{layer['name']} masks id 0 (mask_zero); rnnviz traces every step, id 0 included")
    if rec[0].get("masked"):
        out.notes.append("the model has a Masking layer: Keras skips masked steps, rnnviz traces every step, so "
                         "feed sequences without padding")
    for k, layer in enumerate(rec):
        _recurrent(out, k, layer, arrays(layer), name)
    if not rec[-1]["config"].get("return_sequences", True):
        out.notes.append(f"{rec[-1]['name']} returns only its last step (return_sequences=False); rnnviz shows the "
                         "head's output at every step")
    roles = [f"{layer['name']} as the embedding" for layer in layers[:first]]
    roles += [f"{layer['name']} as layer {k}" for k, layer in enumerate(rec)]
    roles += [f"{layer['name']} as dense{k}" for k, layer in enumerate(x for x in layers[last + 1:]
                                                                       if x["class"] == "Dense")]
    out.notes.insert(0, "read the Keras layers " + ", ".join(roles))
    if out.arch == "gru_reset_before":
        out.notes.append("its GRU has reset_after=False: read as gru_reset_before, the reset gate applied to h_(t-1) "
                         "before W_hn as Cho et al. (2014) wrote it (torch's GRU applies it after)")
    dense = 0
    for layer in layers[last + 1:]:
        act = layer["config"].get("activation", "linear")
        if layer["class"] == "Dense":
            w = _vars(arrays(layer), layer, name, 2 if layer["config"].get("use_bias", True) else 1)
            out.state_dict[f"dense{dense}.weight"] = w[0].T.contiguous()
            out.state_dict[f"dense{dense}.bias"] = w[1] if len(w) > 1 else torch.zeros(w[0].shape[1])
            dense += 1
        if act not in ("linear", "softmax", None):
            out.notes.append(f"{layer['name']} applies {act}; rnnviz's head is linear, so outputs are before it")
    return out


def _vars(found: list, layer: dict, name: str, n: int) -> list[Tensor]:
    if len(found) != n:
        raise ValueError(f"{name} has {len(found)} weight arrays for the {layer['class']} layer {layer['name']}; "
                         f"expected {n}: the file is incomplete")
    return [as_array(a, f"{layer['name']}'s weights") for a in found]


def _recurrent(out: Foreign, k: int, layer: dict, found: list, name: str) -> None:
    """Layer k's arrays as torch's names; a Bidirectional layer's second half (its backward layer) as *_reverse."""
    if not layer.get("bidirectional"):
        _direction(out, k, layer, found, name, "")
        return
    if len(found) % 2:
        raise ValueError(f"{name} has {len(found)} weight arrays for the Bidirectional layer {layer['name']}; "
                         "expected the same number for each direction: the file is incomplete")
    for d, sfx in enumerate(("", "_reverse")):
        _direction(out, k, layer, found[d * len(found) // 2:(d + 1) * len(found) // 2], name, sfx)


def _direction(out: Foreign, k: int, layer: dict, found: list, name: str, sfx: str) -> None:
    cls, cfg = layer["class"], layer["config"]
    family, G = RECURRENT[cls]
    act, gate = cfg.get("activation", "tanh"), cfg.get("recurrent_activation", "sigmoid")
    if family == "rnn" and act not in ("tanh", "relu"):
        raise ValueError(f"{layer['name']} uses activation {act!r}; rnnviz reads SimpleRNN with tanh or relu")
    if family != "rnn" and (act != "tanh" or gate != "sigmoid"):
        raise ValueError(f"{layer['name']} uses activation {act!r} and recurrent_activation {gate!r}; rnnviz reads "
                         f"{cls} with tanh and sigmoid, as torch.nn.{cls} computes")
    if cfg.get("go_backwards"):
        raise ValueError(f"{layer['name']} reads its input backwards (go_backwards); rnnviz reads forward layers")
    bias = cfg.get("use_bias", True)
    kernel, recurrent, *rest = _vars(found, layer, name, 3 if bias else 2)
    H = recurrent.shape[0]
    if family == "gru":
        reset_after = cfg.get("reset_after", rest[0].dim() == 2 if rest else True)
        order = [1, 0, 2]  # Keras z, r, h -> torch r, z, n
        kernel, recurrent = gate_blocks(kernel, order, 1), gate_blocks(recurrent, order, 1)
        if not reset_after:  # Cho et al.'s GRU: r_t resets h_{t−1} before the recurrent matrix reads it
            out.arch = "gru_reset_before"
            if rest:
                rest = [gate_blocks(rest[0].reshape(-1), order), torch.zeros(3 * H)]  # one bias, on the input side
        elif rest:
            b = rest[0].reshape(2, 3 * H)
            rest = [gate_blocks(b[0], order), gate_blocks(b[1], order)]
    elif rest:
        rest = [rest[0].reshape(-1), torch.zeros(G * H)]  # Keras has one bias; torch adds two
    p = f"rnn.{{}}_l{k}{sfx}"
    out.state_dict[p.format("weight_ih")] = kernel.T.contiguous()
    out.state_dict[p.format("weight_hh")] = recurrent.T.contiguous()
    if rest:
        out.state_dict[p.format("bias_ih")], out.state_dict[p.format("bias_hh")] = rest
    if family == "rnn" and "activation" in cfg and not sfx:  # a .weights.h5 has no config: the importer notes its
        out.nonlinearity[p.format("weight_hh")] = act  # guess
