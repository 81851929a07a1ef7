"""The rnnviz checkpoint format: one safetensors file, weights plus JSON metadata; not importing others' files.

Layout (format version 1):
    tensors   "model.<state_dict key>"   every parameter and buffer (an ESN's fixed reservoir too)
              "trace.<i>.<name>"         the i-th probe trace's tensors (float32, or bfloat16 when compact;
                                         the probe's own "input" and "target" always float32, ids exact)
    metadata  {"rnnviz": JSON}           {"format": "rnnviz", "version", "config" (ModelConfig.to_dict()),
                                          "task", "vocab", "train_config", "history", "extra",
                                          "trace_vocab" (the traces' input/output vocabularies, once),
                                          "traces": [{"arch", "dims", "meta"}]}
Bounds, so a file stays loadable (under MAX_FILE_BYTES): at most MAX_TRACES traces and MAX_TRACE_BYTES of
trace tensors, evenly spaced over training and always keeping the latest; at most MAX_HISTORY history
entries, evenly spaced, always keeping the latest. Under the bounds, loading gives back bit-identical
weights and equal metadata (JSON values: tuples come back as lists).
A file from a newer rnnviz is refused; older versions pass through MIGRATIONS (none yet: 1 is the first).
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import safetensors.torch
import torch
from torch import Tensor, nn

from rnnviz.build import build_model
from rnnviz.checkpoints.loaded import Loaded
from rnnviz.checkpoints.reading import MAX_FILE_BYTES, first_line, megabytes
from rnnviz.checkpoints.vocab import fit_vocab
from rnnviz.models import MAX_FEATURES, ModelConfig
from rnnviz.trace import Trace, base_name

FORMAT_VERSION = 1
META_KEY = "rnnviz"  # the safetensors metadata entry holding the JSON
MAX_TRACES = 32  # enough to scrub through training; each can be megabytes
MAX_TRACE_BYTES = 16 * 1024 * 1024  # all kept traces' tensors together
MAX_HISTORY = 10_000  # metric history entries
TRACE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}  # stored; always float32 once loaded
# float32 even when compact: a trace's own inputs and targets (ids must be exact), and a linear recurrence's decays
# (the exact Jacobian law multiplies them over the lag, so bfloat16's 0.004 steps near 1 would compound)
EXACT = ("input", "target", "decay")
VOCABS = ("input_vocab", "output_vocab")  # kept once in "trace_vocab", not in every trace's meta
MIGRATIONS: dict = {}  # version v -> function(meta) -> meta of version v + 1


def evenly(items: list, n: int) -> list:
    """At most n items, evenly spaced, first and last kept (the last alone if n == 1)."""
    if len(items) <= n:
        return list(items)
    if n <= 1:
        return items[-1:] if n == 1 else []
    picks = sorted({round(i * (len(items) - 1) / (n - 1)) for i in range(n)})
    return [items[i] for i in picks]


def bounded_traces(traces: list[Trace]) -> list[Trace]:
    """The traces a checkpoint keeps: evenly spaced, within MAX_TRACES and MAX_TRACE_BYTES."""
    for n in range(min(len(traces), MAX_TRACES), 0, -1):
        kept = evenly(traces, n)
        if sum(t.nbytes for t in kept) <= MAX_TRACE_BYTES:
            return kept
    return []


def checkpoint_bytes(model: nn.Module, *, task: dict | None = None, vocab: list[str] | None = None,
                     train_config: dict | None = None, history: list[dict] | None = None,
                     traces: list[Trace] | None = None, extra: dict | None = None,
                     trace_dtype: str = "float32") -> bytes:
    """The checkpoint file's bytes (for a browser download); see the module docstring for what it holds.
    trace_dtype "bfloat16" halves the traces' size (float32's range, 3 digits: enough to draw; demos use it)."""
    if trace_dtype not in TRACE_DTYPES:
        raise ValueError(f"trace dtype {trace_dtype!r} is not supported; use float32 or bfloat16")
    cfg = getattr(model, "cfg", None)
    if not isinstance(cfg, ModelConfig):
        raise ValueError("save_checkpoint needs an rnnviz model (RNNModel or Seq2Seq); for another torch model "
                         "save its weights with torch.save(model.state_dict(), 'model.pt')")
    tensors = {}
    for k, t in model.state_dict().items():
        t = t.detach().to("cpu").contiguous().clone()  # clone: safetensors refuses tensors sharing memory
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"weights contain NaN or inf values (in {k}); the run diverged: save a checkpoint "
                             "from before the divergence")
        tensors[f"model.{k}"] = t
    _check_parts(task=task, train_config=train_config, extra=extra, history=history, traces=traces)
    if vocab is not None:
        vocab = fit_vocab(vocab, cfg)
    kept = bounded_traces(list(traces or []))
    for i, tr in enumerate(kept):
        for name, t in tr.tensors.items():
            dtype = torch.float32 if base_name(name) in EXACT else TRACE_DTYPES[trace_dtype]
            tensors[f"trace.{i}.{name}"] = t.detach().to("cpu", dtype).contiguous().clone()
    shared = {k: kept[-1].meta[k] for k in VOCABS if kept and k in kept[-1].meta}
    meta = {"format": "rnnviz", "version": FORMAT_VERSION, "config": cfg.to_dict(), "task": task, "vocab": vocab,
            "train_config": train_config, "history": evenly(list(history or []), MAX_HISTORY), "extra": extra,
            "trace_vocab": shared,
            "traces": [{"arch": tr.arch, "dims": {n: list(tr.dims[n]) for n in tr.tensors},
                        "meta": {k: v for k, v in tr.meta.items() if not (k in shared and v == shared[k])}}
                       for tr in kept]}
    for part in ("task", "train_config", "history", "extra", "traces"):
        try:
            json.dumps(meta[part])
        except (TypeError, ValueError) as e:
            raise ValueError(f"the checkpoint's {part} is not JSON data ({first_line(e)}); pass plain dicts, lists, "
                             "strings and numbers") from None
    data = safetensors.torch.save(tensors, metadata={META_KEY: json.dumps(meta)})
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"the checkpoint would be {megabytes(len(data))}, over the limit of "
                         f"{megabytes(MAX_FILE_BYTES)} that loading allows; use a smaller model")
    return data


def _check_parts(task, train_config, extra, history, traces) -> None:
    """The shapes load_native insists on, checked when saving so that every saved file loads."""
    for part, value in (("task", task), ("train_config", train_config), ("extra", extra)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"the checkpoint's {part} must be a dict or None, not a {type(value).__name__}")
    if history is not None and (not isinstance(history, list) or not all(isinstance(h, dict) for h in history)):
        raise ValueError("the checkpoint's history must be a list of dicts, one per logged step")
    if traces is not None and (not isinstance(traces, list) or not all(isinstance(t, Trace) for t in traces)):
        raise ValueError("the checkpoint's traces must be a list of rnnviz.trace.Trace")


def save_checkpoint(path_or_file, model: nn.Module, *, task: dict | None = None, vocab: list[str] | None = None,
                    train_config: dict | None = None, history: list[dict] | None = None,
                    traces: list[Trace] | None = None, extra: dict | None = None,
                    trace_dtype: str = "float32") -> None:
    """Writes checkpoint_bytes(...) to a path (atomically: a reader never sees half a file) or a binary file."""
    data = checkpoint_bytes(model, task=task, vocab=vocab, train_config=train_config, history=history,
                            traces=traces, extra=extra, trace_dtype=trace_dtype)
    if hasattr(path_or_file, "write"):
        path_or_file.write(data)
        return
    path = Path(path_or_file)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as e:
        raise ValueError(f"cannot write {path} ({e.strerror or first_line(e)}); check that its folder exists and "
                         "is writable") from None


def load_native(tensors: dict[str, Tensor], text: str, name: str) -> Loaded:
    """A Loaded from an rnnviz checkpoint's tensors and metadata JSON; one sentence for anything wrong."""
    meta = _metadata(text, name)
    cfg = _config(meta.get("config"), name)
    weights = {k[len("model."):]: t for k, t in tensors.items() if k.startswith("model.")}
    model = _rebuild(cfg, weights, name)
    traces, used = _traces(meta.get("traces"), tensors, name, meta.get("trace_vocab"))
    vocab = meta.get("vocab")
    if vocab is not None:
        vocab = fit_vocab(vocab, cfg)
    parts = {p: meta.get(p) for p in ("task", "train_config", "extra")}
    for part, value in parts.items():
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{name} has a damaged {part} (a {type(value).__name__}, not a dict)")
    history = meta.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise ValueError(f"{name} has a damaged history (expected a list of dicts)")
    unmatched = [k for k in tensors if not k.startswith("model.") and k not in used]
    return Loaded(model, cfg, "rnnviz", vocab=vocab, history=history, traces=traces, unmatched_keys=unmatched,
                  format_version=meta["version"], **parts)


def _metadata(text: str, name: str) -> dict:
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{name} has damaged rnnviz metadata ({first_line(e)})") from None
    version = meta.get("version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or meta.get("format") != "rnnviz":
        raise ValueError(f"{name} has damaged rnnviz metadata (no format version)")
    if version > FORMAT_VERSION:
        raise ValueError(f"{name} was written by a newer rnnviz (format version {version}; this one reads up to "
                         f"{FORMAT_VERSION}); upgrade rnnviz to open it")
    while version < FORMAT_VERSION:
        if version not in MIGRATIONS:
            raise ValueError(f"{name} uses rnnviz format version {version}, which this rnnviz cannot read; "
                             "load it with the rnnviz that wrote it and save it again")
        meta = MIGRATIONS[version](meta)
        version = meta["version"]
    return meta


KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _config(d, name: str) -> ModelConfig:
    """ModelConfig.from_dict, after checking each value's type and the widths validate() leaves open (the file
    may have been edited, and the meta-device twin in _rebuild still needs sizes torch can represent)."""
    if not isinstance(d, dict):
        raise ValueError(f"{name} has damaged rnnviz metadata (no model config)")
    for f in dataclasses.fields(ModelConfig):
        if f.name not in d:
            continue
        v, kind = d[f.name], type(f.default)
        ok = (isinstance(v, bool) if kind is bool else isinstance(v, str) if kind is str else
              isinstance(v, (int, float)) and not isinstance(v, bool) and (kind is float or isinstance(v, int)))
        if not ok:
            raise ValueError(f"{name} has a damaged model config: {f.name} is {_short(v)}, not {KINDS[kind]}")
    for width in ("embed_size", "input_proj"):
        if not 0 <= d.get(width, 0) <= MAX_FEATURES:
            raise ValueError(f"{name} has a damaged model config: {width} {d[width]} is out of range; use 0 to "
                             f"{MAX_FEATURES}")
    return ModelConfig.from_dict(d)


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _rebuild(cfg: ModelConfig, weights: dict[str, Tensor], name: str) -> nn.Module:
    """The model `cfg` describes, holding `weights`; shapes are compared on a meta-device twin first, so a
    config that claims a huge model allocates nothing."""
    shape_cfg = dataclasses.replace(cfg, arch="rnn_tanh") if cfg.arch == "esn" else cfg  # same shapes, no eigvals
    with torch.device("meta"):
        expected = {k: tuple(t.shape) for k, t in build_model(shape_cfg, device="meta").state_dict().items()}
    missing = [k for k in expected if k not in weights]
    if missing:
        raise ValueError(f"{name} lacks the weight {missing[0]} that its config needs; the file is damaged")
    extra = [k for k in weights if k not in expected]
    if extra:
        raise ValueError(f"{name} has a weight {extra[0]} that its config has no place for; the file is damaged")
    for k, shape in expected.items():
        t = weights[k]
        if tuple(t.shape) != shape:
            raise ValueError(f"{name}: model.{k} has shape {tuple(t.shape)} but the config needs {shape}; the file "
                             "is damaged")
        if not t.is_floating_point():
            raise ValueError(f"{name}: model.{k} holds {t.dtype} values; expected floating-point weights")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"weights contain NaN or inf values (in model.{k}); the file is damaged")
    with torch.random.fork_rng(devices=[]):  # building draws random weights; the caller's RNG stays as it was
        model = build_model(cfg, device="cpu")
    model.load_state_dict(weights, strict=True)
    return model.eval()


def _traces(entries, tensors: dict[str, Tensor], name: str, shared=None) -> tuple[list[Trace], set[str]]:
    if entries is None:
        return [], set()
    if not isinstance(entries, list):
        raise ValueError(f"{name} has damaged trace metadata (expected a list)")
    traces, used = [], set()
    for i, e in enumerate(entries):
        dims = e.get("dims") if isinstance(e, dict) else None
        if (not isinstance(dims, dict) or not isinstance(e.get("arch"), str) or not isinstance(e.get("meta"), dict)
                or not all(isinstance(d, list) and all(isinstance(x, str) for x in d) for d in dims.values())):
            raise ValueError(f"{name} has damaged metadata for trace {i}")
        named = {}
        for n, d in dims.items():
            t = tensors.get(f"trace.{i}.{n}")
            if t is None or t.dim() != len(d) or t.dtype not in TRACE_DTYPES.values():
                raise ValueError(f"{name}: trace {i}'s {n!r} is missing or has the wrong shape; the file is damaged")
            named[n] = t.float()
            used.add(f"trace.{i}.{n}")
        shared = shared if isinstance(shared, dict) else {}
        tmeta = {**{k: v for k, v in shared.items() if k in VOCABS and isinstance(v, list)}, **e["meta"]}
        traces.append(Trace(e["arch"], named, {n: tuple(d) for n, d in dims.items()}, tmeta))
    return traces, used
