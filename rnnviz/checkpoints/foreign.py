"""Other frameworks' files as torch.nn state_dicts, so one importer (importer.py) infers every architecture.

Each reader returns a Foreign: weights under torch.nn's names (`embedding.weight`, `rnn.weight_ih_l0`, ...,
`dense0.weight`), with the gates reordered into torch's order, plus notes and what the file says about the
nonlinearity. Nothing is deserialised as an object and no code in a file runs:
  - NumPy .npz: np.load(allow_pickle=False). karpathy's min-char-rnn names (Wxh, Whh, Why, bh, by: a tanh RNN
    fed one-hot characters) are mapped; other arrays are taken as torch names. A `chars`/`vocab` string array
    is the vocabulary.
  - Keras (.keras zip, legacy .h5, Keras 3 .weights.h5): the JSON config is read as data and the arrays with
    h5py. Layers: InputLayer, Embedding, SimpleRNN, LSTM, GRU, Dense (also as TimeDistributed(Dense)), and the
    layers that do nothing at inference (Dropout, ...). Any other layer (Lambda, which holds code; custom classes) is refused.
    Gate orders: Keras LSTM i,f,c,o is torch's i,f,g,o; Keras GRU z,r,h becomes torch's r,z,n; a GRU with
    reset_after=False is rnnviz's gru_reset_before (the reset gate before W_hn), with its one bias on the input side.
  - ONNX: the protobuf is parsed by the onnx package; RNN, LSTM and GRU nodes (ONNX gates i,o,f,c and z,r,h,
    reordered; a GRU with linear_before_reset=0, ONNX's default, is gru_reset_before), a Gather from a 2-D
    initializer before them (the embedding), MatMul/Gemm (+ Add) after them (the head). Weights stored in
    external files are refused.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from rnnviz.checkpoints.reading import MAX_FILE_BYTES, first_line, parse_json
from rnnviz.stack import MAX_LAYERS

MAX_VALUES = MAX_FILE_BYTES // 4  # float32 values any one array may claim


@dataclass
class Foreign:
    state_dict: dict[str, Tensor]
    notes: list[str] = field(default_factory=list)
    nonlinearity: dict[str, str] = field(default_factory=dict)  # "rnn.weight_hh_l0" -> "tanh"/"relu", when said
    vocab: list[str] | None = None
    vocab_key: str | None = None
    arch: str | None = None  # when the weights' shapes cannot tell: "gru_reset_before"


def zip_kind(data: bytes) -> str | None:
    """"npz" or "keras" for a zip archive that is one, else None (a torch.save archive, or anything else)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
    except Exception:  # a damaged archive: torch.save's checks say so
        return None
    if "config.json" in names and "model.weights.h5" in names:
        return "keras"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    return None


def _array(a, where: str) -> Tensor:
    """A float32 tensor from an array, refusing what is not plain numbers or claims absurd sizes."""
    shape = tuple(int(d) for d in getattr(a, "shape", ()))
    if math.prod(shape) > MAX_VALUES:
        raise ValueError(f"{where} claims {math.prod(shape):,} values, more than a file within the size limit can "
                         "hold; the file is damaged or crafted")
    if getattr(a, "dtype", np.dtype("f4")).kind not in "fiu":  # before an h5py dataset is read
        raise ValueError(f"{where} holds {a.dtype} values, not numbers")
    a = np.asarray(a[()] if hasattr(a, "id") else a)  # an h5py dataset is read here, its size checked above
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{where} holds {a.dtype} values, not numbers")
    return torch.from_numpy(np.array(a, dtype=np.float32, order="C", copy=True))


def _check_unpacked(data: bytes, name: str) -> None:
    """Refuses a zip archive that unpacks to more than twice the file limit (a zip bomb) before it is read."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        unpacked = sum(i.file_size for i in z.infolist())
    if unpacked > 2 * MAX_FILE_BYTES:
        raise ValueError(f"{name} unpacks to {unpacked / 2 ** 20:.0f} MB, over rnnviz's limit; the file is damaged "
                         "or crafted")


def _blocks(t: Tensor, order: list[int], dim: int = 0) -> Tensor:
    """The gate blocks of `t` along `dim` taken in `order` (blocks of equal size)."""
    parts = t.chunk(len(order), dim)
    return torch.cat([parts[i] for i in order], dim)


# --- NumPy .npz -------------------------------------------------------------------------------------------

MIN_CHAR_RNN = ("Wxh", "Whh", "Why", "bh", "by")


def read_npz(data: bytes, name: str) -> Foreign:
    _check_unpacked(data, name)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as e:
        if "pickle" in str(e):  # object arrays need pickle, which is never allowed
            raise ValueError(f"{name} holds Python objects (pickled arrays), which rnnviz will not unpickle; save "
                             "plain number arrays with np.savez") from None
        raise ValueError(f"{name} is a damaged .npz file ({first_line(e)})") from None
    except Exception as e:
        raise ValueError(f"{name} is a damaged .npz file ({first_line(e)})") from None
    out = Foreign({})
    for key in ("chars", "vocab", "itos", "tokens", "ix_to_char"):
        if key in arrays and arrays[key].dtype.kind == "U":
            a = arrays.pop(key)
            out.vocab = list(str(a[()])) if a.ndim == 0 else [str(c) for c in a.ravel()]  # "abcd" or ["a", ...]
            out.vocab_key = key
            break
    if all(k in arrays for k in MIN_CHAR_RNN):
        w = {k: _array(arrays.pop(k), f"{name}[{k!r}]") for k in MIN_CHAR_RNN}
        H = w["Whh"].shape[0]
        out.state_dict = {"rnn.weight_ih_l0": w["Wxh"], "rnn.weight_hh_l0": w["Whh"],
                          "rnn.bias_ih_l0": w["bh"].reshape(-1), "rnn.bias_hh_l0": torch.zeros(H),
                          "fc.weight": w["Why"], "fc.bias": w["by"].reshape(-1)}
        out.nonlinearity["rnn.weight_hh_l0"] = "tanh"
        out.notes.append("read min-char-rnn arrays: h_t = tanh(Wxh x_t + Whh h_(t-1) + bh), y_t = Why h_t + by, "
                         "with x_t one-hot over the characters")
    out.state_dict.update({k: _array(v, f"{name}[{k!r}]") for k, v in arrays.items() if v.dtype.kind in "fiu"})
    return out


# --- Keras ------------------------------------------------------------------------------------------------

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
    f.visititems(lambda path, obj: bad.append(path) if isinstance(obj, h5py.Dataset) and (obj.external or obj.is_virtual)
                 else None)
    if bad:
        raise ValueError(f"{name} keeps {bad[0]} in other files (an external or virtual dataset); rnnviz reads only "
                         "what is inside the file")
    return f


def read_keras(data: bytes, name: str, kind: str) -> Foreign:
    """kind: "keras" (a .keras zip) or "hdf5" (a legacy .h5 model, or a .weights.h5 file)."""
    if kind == "keras":
        _check_unpacked(data, name)
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
        if cls == "Bidirectional":
            raise ValueError(f"{name} has a Bidirectional layer, which rnnviz does not read yet; it shows one "
                             "direction per layer: inspect a model trained without Bidirectional")
        if cls not in RECURRENT and cls not in ("Embedding", "Dense", "Activation"):
            raise ValueError(f"{name} has a {cls} layer ({cfg.get('name')}), which rnnviz cannot map onto its model "
                             "(Embedding, SimpleRNN, LSTM or GRU layers, Dense heads)")
        out.append({"class": cls, "name": str(cfg.get("name")), "config": cfg, "path": path,
                    "masked": bool(masked)})
    return out


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
    return [_array(a, f"{layer['name']}'s weights") for a in found]


def _recurrent(out: Foreign, k: int, layer: dict, found: list, name: str) -> None:
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
        kernel, recurrent = _blocks(kernel, order, 1), _blocks(recurrent, order, 1)
        if not reset_after:  # Cho et al.'s GRU: r_t resets h_{t−1} before the recurrent matrix reads it
            out.arch = "gru_reset_before"
            if rest:
                rest = [_blocks(rest[0].reshape(-1), order), torch.zeros(3 * H)]  # one bias, on the input side
        elif rest:
            b = rest[0].reshape(2, 3 * H)
            rest = [_blocks(b[0], order), _blocks(b[1], order)]
    elif rest:
        rest = [rest[0].reshape(-1), torch.zeros(G * H)]  # Keras has one bias; torch adds two
    p = f"rnn.{{}}_l{k}"
    out.state_dict[p.format("weight_ih")] = kernel.T.contiguous()
    out.state_dict[p.format("weight_hh")] = recurrent.T.contiguous()
    if rest:
        out.state_dict[p.format("bias_ih")], out.state_dict[p.format("bias_hh")] = rest
    if family == "rnn" and "activation" in cfg:  # a .weights.h5 has no config: the importer notes its guess
        out.nonlinearity[p.format("weight_hh")] = act


# --- ONNX -------------------------------------------------------------------------------------------------

ONNX_ORDER = {"LSTM": (4, [0, 2, 3, 1]), "GRU": (3, [1, 0, 2]), "RNN": (1, [0])}  # ONNX iofc / zrh -> torch
ONNX_DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}


def looks_like_onnx(data: bytes, name: str) -> bool:
    """An .onnx name, or content that parses as an ONNX ModelProto (field 1, ir_version, first) with a graph."""
    if name.lower().endswith(".onnx"):
        return True
    if data[:1] != b"\x08":
        return False
    import onnx

    try:
        model = onnx.load_model_from_string(data)
    except Exception:
        return False
    return 0 < model.ir_version < 100 and len(model.graph.node) > 0


def read_onnx(data: bytes, name: str) -> Foreign:
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load_model_from_string(data)  # never reads external data files
    except Exception as e:
        raise ValueError(f"{name} is not a valid ONNX model ({first_line(e)})") from None
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    consts = {n.output[0]: a.t for n in graph.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"}

    def weight(input_name: str, what: str) -> Tensor | None:
        t = inits.get(input_name) or consts.get(input_name)
        if t is None:
            return None
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ValueError(f"{name} keeps {what} in an external data file; export with the weights inside the .onnx")
        n = math.prod(t.dims)
        if n > MAX_VALUES:
            raise ValueError(f"{name}'s {what} ({input_name}) claims {n:,} values, more than a file within the size "
                             "limit can hold; the file is damaged or crafted")
        try:
            return _array(numpy_helper.to_array(t), f"{name}'s {what}")
        except ValueError:
            raise
        except Exception as e:
            raise ValueError(f"{name}'s {what} ({input_name}) is damaged ({first_line(e)})") from None

    nodes = list(graph.node)
    rec = [i for i, n in enumerate(nodes) if n.op_type in ONNX_ORDER]
    if not rec:
        ops = sorted({n.op_type for n in nodes})
        raise ValueError(f"{name} is an ONNX model without RNN, LSTM or GRU operators (it has {', '.join(ops[:8])}); "
                         "rnnviz reads recurrent layers exported as those")
    kinds = {nodes[i].op_type for i in rec}
    if len(kinds) > 1:
        raise ValueError(f"{name} mixes {' and '.join(sorted(kinds))} layers; rnnviz's models use one cell type")
    if len(rec) > MAX_LAYERS:  # before any weight is read: many nodes may share one big initializer
        raise ValueError(f"{name} has {len(rec)} recurrent nodes, over rnnviz's limit of {MAX_LAYERS} layers")
    between = [n.op_type for n in nodes[rec[0]:rec[-1]] if n.op_type in ("MatMul", "Gemm", "Conv", "Add", "Mul")]
    if between:
        raise ValueError(f"{name} computes {between[0]} between its recurrent layers; rnnviz reads a plain stack")
    out = Foreign({})
    for k, i in enumerate(rec):
        _onnx_recurrent(out, k, nodes[i], weight, name)
    if len(set(out.nonlinearity.values())) > 1:
        raise ValueError(f"{name}'s RNN nodes use different activations; rnnviz's models use one in every layer")
    for n in nodes[:rec[0]]:
        if n.op_type == "Gather" and n.input and (table := weight(n.input[0], "embedding")) is not None:
            if table.dim() == 2:
                out.state_dict["embedding.weight"] = table
                break
    dense = 0
    for n in nodes[rec[-1] + 1:]:
        w = b = None
        if n.op_type == "MatMul" and len(n.input) == 2:
            w = weight(n.input[1], "head weights")
            w = w.T if w is not None and w.dim() == 2 else None
        elif n.op_type == "Gemm" and len(n.input) >= 2:
            w = weight(n.input[1], "head weights")
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA", 0):
                raise ValueError(f"{name}'s head (Gemm {n.name}) scales or transposes its input; rnnviz reads a plain "
                                 "linear head")
            if w is not None and w.dim() == 2 and not attrs.get("transB", 0):
                w = w.T
            b = weight(n.input[2], "head bias") if len(n.input) > 2 else None
        elif n.op_type == "Add" and dense and f"dense{dense - 1}.bias" not in out.state_dict:
            b = next((t for t in (weight(x, "head bias") for x in n.input) if t is not None and t.dim() == 1), None)
            if b is not None:
                out.state_dict[f"dense{dense - 1}.bias"] = b
            continue
        if w is not None and w.dim() == 2:
            out.state_dict[f"dense{dense}.weight"] = w.contiguous()
            if b is not None:
                out.state_dict[f"dense{dense}.bias"] = b.reshape(-1)
            dense += 1
    for k in range(dense):  # a MatMul without an Add has no bias
        out.state_dict.setdefault(f"dense{k}.bias", torch.zeros(out.state_dict[f"dense{k}.weight"].shape[0]))
    if out.arch == "gru_reset_before":
        out.notes.append("its GRU has linear_before_reset=0: read as gru_reset_before, the reset gate applied to "
                         "h_(t-1) before W_hn as Cho et al. (2014) wrote it (torch's GRU applies it after)")
    producer = f" by {model.producer_name}" if model.producer_name else ""
    out.notes.append(f"read the ONNX graph{producer}: {len(rec)} {nodes[rec[0]].op_type} node(s)"
                     + (", a Gather as the embedding" if "embedding.weight" in out.state_dict else "")
                     + (f", {dense} MatMul/Gemm as the head" if dense else ""))
    return out


def _onnx_recurrent(out: Foreign, k: int, node, weight, name: str) -> None:
    import onnx

    op = node.op_type
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    attrs = {a: (v.decode() if isinstance(v, bytes) else [x.decode() if isinstance(x, bytes) else x for x in v]
                 if isinstance(v, list) else v) for a, v in attrs.items()}
    where = f"{name}'s {op} node {node.name or k}"
    if attrs.get("direction", "forward") != "forward":
        raise ValueError(f"{where} runs {attrs['direction']}; rnnviz reads forward layers (one direction per layer)")
    if attrs.get("clip") is not None:
        raise ValueError(f"{where} clips its cell inputs (clip), which torch.nn and rnnviz do not")
    if attrs.get("input_forget"):
        raise ValueError(f"{where} couples its input and forget gates (input_forget=1), which rnnviz reads only as its "
                         "own cifg variant; export without it")
    acts = attrs.get("activations") or ONNX_DEFAULT_ACTS[op]
    if op == "GRU" and not attrs.get("linear_before_reset", 0):
        out.arch = "gru_reset_before"  # ONNX's default: the reset gate before the recurrent matrix, as Cho et al.
    if op != "RNN" and list(acts) != ONNX_DEFAULT_ACTS[op]:
        raise ValueError(f"{where} uses activations {list(acts)}; rnnviz reads {op} with {ONNX_DEFAULT_ACTS[op]}")
    if op == "RNN" and list(acts) not in (["Tanh"], ["Relu"]):
        raise ValueError(f"{where} uses activation {list(acts)}; rnnviz reads an RNN with Tanh or Relu")
    if len(node.input) > 7 and node.input[7]:
        raise ValueError(f"{where} has peephole weights; rnnviz reads LSTMs without them")
    G, order = ONNX_ORDER[op]
    W, R = weight(node.input[1], "input weights"), weight(node.input[2], "recurrent weights")
    if W is None or R is None or W.dim() != 3 or R.dim() != 3 or W.shape[0] != 1:
        raise ValueError(f"{where} does not keep its weights as initializers of shape (1, G*H, ·); rnnviz reads "
                         "weights stored in the file")
    p = f"rnn.{{}}_l{k}"
    out.state_dict[p.format("weight_ih")] = _blocks(W[0], order)
    out.state_dict[p.format("weight_hh")] = _blocks(R[0], order)
    B = weight(node.input[3], "biases") if len(node.input) > 3 and node.input[3] else None
    if B is not None:
        wb, rb = B.reshape(2, -1)
        out.state_dict[p.format("bias_ih")] = _blocks(wb, order)
        out.state_dict[p.format("bias_hh")] = _blocks(rb, order)
    if op == "RNN":
        out.nonlinearity[p.format("weight_hh")] = acts[0].lower()
