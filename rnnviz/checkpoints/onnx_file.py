"""ONNX files as torch.nn names, for the importer (see foreign.py).

The protobuf is parsed by the onnx package (no runtime). RNN, LSTM and GRU nodes are read with their gates
reordered (ONNX i,o,f,c and z,r,h), a bidirectional node's second direction as torch's *_reverse weights; a GRU
with linear_before_reset=0, ONNX's default, is gru_reset_before. A Gather from a 2-D initializer before them is the
embedding, MatMul/Gemm (+ Add) after them the head. Weights in external files, and tensors claiming more values
than a file can hold, are refused before anything is read.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from rnnviz.checkpoints.foreign import MAX_VALUES, Foreign, as_array, gate_blocks
from rnnviz.checkpoints.reading import first_line
from rnnviz.stack import MAX_LAYERS

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
            return as_array(numpy_helper.to_array(t), f"{name}'s {what}")
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
    direction = attrs.get("direction", "forward")
    if direction not in ("forward", "bidirectional"):
        raise ValueError(f"{where} runs {direction} only; rnnviz reads forward and bidirectional layers: export the "
                         "model with the sequence flipped instead")
    dirs = 2 if direction == "bidirectional" else 1
    if attrs.get("clip") is not None:
        raise ValueError(f"{where} clips its cell inputs (clip), which torch.nn and rnnviz do not")
    if attrs.get("input_forget"):
        raise ValueError(f"{where} couples its input and forget gates (input_forget=1), which rnnviz reads only as its "
                         "own cifg variant; export without it")
    acts = list(attrs.get("activations") or ONNX_DEFAULT_ACTS[op] * dirs)  # each direction's, one after the other
    if dirs == 2:
        if acts[:len(acts) // 2] != acts[len(acts) // 2:]:
            raise ValueError(f"{where}'s two directions use different activations {acts}; rnnviz's use one")
        acts = acts[:len(acts) // 2]
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
    if W is None or R is None or W.dim() != 3 or R.dim() != 3 or W.shape[0] != dirs or R.shape[0] != dirs:
        raise ValueError(f"{where} does not keep its weights as initializers of shape ({dirs}, G*H, ·), one per "
                         "direction; rnnviz reads weights stored in the file")
    B = weight(node.input[3], "biases") if len(node.input) > 3 and node.input[3] else None
    if B is not None and B.numel() != dirs * 2 * R.shape[1]:
        raise ValueError(f"{where}'s biases hold {B.numel()} values; expected {dirs} × 2 × {R.shape[1]}")
    for d in range(dirs):  # ONNX keeps the directions side by side, forward first: torch's *_reverse is the second
        p = f"rnn.{{}}_l{k}" + ("_reverse" if d else "")
        out.state_dict[p.format("weight_ih")] = gate_blocks(W[d], order)
        out.state_dict[p.format("weight_hh")] = gate_blocks(R[d], order)
        if B is not None:
            wb, rb = B.reshape(dirs, 2, -1)[d]
            out.state_dict[p.format("bias_ih")] = gate_blocks(wb, order)
            out.state_dict[p.format("bias_hh")] = gate_blocks(rb, order)
    if op == "RNN":
        out.nonlinearity[f"rnn.weight_hh_l{k}"] = acts[0].lower()
