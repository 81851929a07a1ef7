"""Reads what torch.save and torch.jit.save wrote (a state_dict, a whole model, a TorchScript archive) without
running anything in the file; not what the weights mean (importer.py).

A pickle names the classes and functions it needs (GLOBAL) and unpickling calls them: that is how a file runs
code. rnnviz unpickles only with torch's weights-only unpickler, which builds tensors and plain containers and
refuses every other name unless it is allow-listed. rnnviz allow-lists, per file:
  - every class the file names (its own `__main__.RNNModel`, torch's `torch.nn.modules.rnn.LSTM`, TorchScript's
    `__torch__.…` classes, `argparse.Namespace`) as a fresh, inert stand-in: a class of ours with no behaviour
    that only keeps the state the file gives it. The real class is never imported, looked up or called, so a
    module's own `__setstate__` or `__reduce__` cannot run. From the stand-ins' state come the weights
    (`_parameters`, `_buffers`, `_modules` of a pickled nn.Module; plain tensor attributes of a TorchScript
    module) and plain attributes such as an nn.RNN's `nonlinearity`;
  - NumPy values (`numpy…scalar`, `_reconstruct`, `dtype`) as inert placeholders, so a checkpoint holding a
    NumPy accuracy still opens (the value is dropped);
  - TorchScript's list helpers (`torch.jit._pickle.build_tensorlist`, `restore_type_tag`, …) as functions of
    ours that return their argument. The archive's code (`code/`, `constants.pkl`) is never read.
Everything else a file asks for is refused with one sentence naming it: functions (`posix.system`, `io.open`,
`builtins.eval`), and any name under modules only an attack would use (os, sys, subprocess, builtins, …).
"""
from __future__ import annotations

import io
import pickle
import pickletools
import re
import threading
import warnings
import zipfile
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING  # Python 2 names in protocol-2 pickles, as torch maps them
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch._weights_only_unpickler as weights_only
from torch import Tensor, serialization

from rnnviz.checkpoints.reading import SAVE_HINT, first_line

UNSAFE_ROOTS = frozenset({
    "os", "posix", "nt", "sys", "subprocess", "builtins", "__builtin__", "importlib", "runpy", "shutil", "socket",
    "ctypes", "pickle", "_pickle", "marshal", "code", "codeop", "pty", "webbrowser", "multiprocessing", "signal",
    "types", "functools", "operator", "inspect", "threading", "asyncio", "urllib", "http", "requests", "platform",
})
NUMPY_NAMES = re.compile(r"^numpy(\._core|\.core)?(\.multiarray)?\.(scalar|_reconstruct|dtype|ndarray)$")
JIT_HELPERS = re.compile(r"^torch\.jit\._pickle\.(restore_type_tag|build_(tensor|int|double|bool)list)$")
MAX_GLOBALS = 256  # distinct names one file may ask for; a model has a few dozen classes at most
MAX_RETRIES = 8  # loads after the first: for names the static scan missed (STACK_GLOBAL built from the memo)
MAX_DEPTH = 64  # nesting of modules and containers walked; deeper is crafted
MAX_VISITS = 200_000  # containers walked in all: a pickle's memo can share one list so a 2 KB file is 2^60 deep
_LOCK = threading.Lock()  # torch's allow-list is one set for the whole process: one unpickling at a time


class StandIn:
    """An inert object in place of a class the file names: it accepts any arguments and keeps its state."""

    __slots__ = ("rnnviz_state",)

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        object.__setattr__(self, "rnnviz_state", {})
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], (dict, type(None))):
            state = state[0] or {}  # (dict, slots) from a class with __slots__
        object.__setattr__(self, "rnnviz_state", state if isinstance(state, dict) else {})


class NumpyValue(StandIn):
    """A NumPy scalar, array or dtype, dropped."""

    __slots__ = ()


def _keep(value, *args):
    """TorchScript's list builders and type tags, which return their first argument."""
    return value


@dataclass
class Unpickled:
    obj: object  # what the file holds, with every module replaced by a flat {name: tensor} dict
    classes: list[str] = field(default_factory=list)  # class names read as stand-ins, in the order first needed
    nonlinearity: dict[str, str] = field(default_factory=dict)  # "rnn.weight_hh_l0" -> "relu", from an nn.RNN(Cell)
    torchscript: bool = False
    numpy: bool = False
    attributes: dict | None = None  # the top-level module's plain attributes (rnn_type, nhid, chars, ...), if a module
    visits: int = 0  # objects walked so far (bounded by MAX_VISITS)


def unpickle(data: bytes, name: str, kind: str, torchscript: bool = False) -> Unpickled:
    """The object inside a zip or legacy torch.save file (or a TorchScript archive's data.pkl); see the module
    docstring. Every problem is a ValueError with one sentence."""
    allowed = weights_only._get_allowed_globals()
    names: dict[str, object] = {}
    for full in _scan_globals(data, kind):  # one static pass over the opcodes, so the file is loaded once
        if full not in allowed and full not in names:
            names[full] = _stand_in(full, name)
            if len(names) > MAX_GLOBALS:
                raise ValueError(f"{name} names over {MAX_GLOBALS} classes; it is not a model rnnviz can read")
    for attempt in range(MAX_RETRIES + 1):
        try:
            with _LOCK, warnings.catch_warnings(), serialization.safe_globals([(v, k) for k, v in names.items()]):
                warnings.simplefilter("ignore")  # torch's advice to use weights_only=False is not for our users
                obj = _load(data, torchscript)
            break
        except pickle.UnpicklingError as e:
            found = re.search(r"GLOBAL ([\w.]+)", str(e))
            if kind == "legacy" and "persistent_load of storage" in str(e):
                raise ValueError(f"{name} is a whole model saved by torch before 1.6, whose format embeds the model's "
                                 "source code; rnnviz will not read that: load it where it was made and "
                                 f"{SAVE_HINT[0].lower()}{SAVE_HINT[1:]}") from None
            if not found or found.group(1) in names or attempt == MAX_RETRIES:
                reason = re.search(r"WeightsUnpickler error:(.*?)(?:Check the documentation|$)", str(e), re.S)
                raise ValueError(f"{name} is a damaged torch.save file "
                                 f"({first_line(reason.group(1) if reason else e)})") from None
            names[found.group(1)] = _stand_in(found.group(1), name)
        except RecursionError:
            raise ValueError(f"{name} is nested too deeply to be a model; the file is damaged or crafted") from None
        except ValueError:
            raise
        except Exception as e:  # the zip reader and unpickler raise many kinds; all mean the file is unreadable
            raise ValueError(f"{name} is a damaged or truncated torch.save file ({first_line(e)})") from e
    out = Unpickled(None, torchscript=torchscript,
                    classes=[k for k, v in names.items() if isinstance(v, type) and not issubclass(v, NumpyValue)],
                    numpy=any(isinstance(v, type) and issubclass(v, NumpyValue) for v in names.values()))
    try:
        out.obj = _plain(obj, out, 0)
        root = _state(obj)
        if root is not None and _is_module(root):
            out.attributes = {k: v for k, v in out.obj.items() if k != "state_dict"}
    except RecursionError:
        raise ValueError(f"{name} is nested too deeply, or shares its objects too often, to be a model; the file "
                         "is damaged or crafted") from None
    except Exception as e:  # a stand-in's state of the wrong shape (a list where a module keeps a dict)
        raise ValueError(f"{name} holds a model whose parts are not laid out as torch lays them out "
                         f"({first_line(e)}); the file is damaged or crafted") from None
    return out


def _scan_globals(data: bytes, kind: str) -> list[str]:
    """The names a pickle asks for (GLOBAL, and STACK_GLOBAL from the two strings pushed before it), read from
    its opcodes without running it: data.pkl of a zip archive, or the legacy format's leading pickles. A name
    missed here (STACK_GLOBAL fed from the memo) is still refused by the unpickler, then added and retried."""
    try:
        if kind == "zip":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                member = next(n for n in z.namelist() if n.endswith("data.pkl"))
                streams = [io.BytesIO(z.read(member))]
        else:
            stream = io.BytesIO(data)
            streams = [stream] * 4  # magic number, protocol, system info, then the object itself
        found, strings = [], []
        for stream in streams:
            for op, arg, _ in pickletools.genops(stream):
                if op.name == "GLOBAL":  # "module name", with Python 2's names mapped as torch maps them
                    module, _, attr = str(arg).partition(" ")
                    if (module, attr) in NAME_MAPPING:
                        module, attr = NAME_MAPPING[(module, attr)]
                    found.append(f"{IMPORT_MAPPING.get(module, module)}.{attr}")
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(f"{strings[-2]}.{strings[-1]}")
                elif isinstance(arg, str) and "UNICODE" in op.name:
                    strings.append(arg)
        return list(dict.fromkeys(found))
    except Exception:  # a damaged pickle: the load that follows says so in its own words
        return []


def _load(data: bytes, torchscript: bool):
    if not torchscript:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    # torch.load hands TorchScript to torch.jit.load, which compiles the archive's code; read only data.pkl
    with serialization._open_zipfile_reader(io.BytesIO(data)) as z:
        return serialization._load(z, "cpu", weights_only)


def _stand_in(full: str, name: str):
    """What to put in place of the global `full`, or a ValueError naming it."""
    root, _, last = full.rpartition(".")
    if JIT_HELPERS.match(full):
        return _keep
    if NUMPY_NAMES.match(full):
        return type("NumpyValue", (NumpyValue,), {"__slots__": ()})
    if full.split(".")[0] in UNSAFE_ROOTS or not last[:1].isupper():
        what = "a function" if not last[:1].isupper() else "a system class"
        raise ValueError(f"{name} asks to call {full} ({what}, not a model's class or weights), which rnnviz will "
                         f"not unpickle because unpickling it would run code; {SAVE_HINT}")
    return type(last, (StandIn,), {"__slots__": (), "__qualname__": last, "__module__": "rnnviz.standin." + root})


def _state(obj) -> dict | None:
    """A stand-in's state; None for anything else."""
    return obj.rnnviz_state if isinstance(obj, StandIn) and not isinstance(obj, NumpyValue) else None


def _visit(out: Unpickled, depth: int) -> None:
    out.visits += 1
    if depth > MAX_DEPTH or out.visits > MAX_VISITS:
        raise RecursionError


def _plain(obj, out: Unpickled, depth: int):
    """The same containers with every module (a stand-in with parameters) flattened to {name: tensor}."""
    _visit(out, depth)
    st = _state(obj)
    if st is not None:
        if _is_module(st):
            flat: dict[str, Tensor] = {}
            _flatten(st, "", flat, out, depth)
            attrs = {k: _plain(v, out, depth + 1) for k, v in st.items()
                     if isinstance(k, str) and not k.startswith("_") and k != "training" and _attribute(v)}
            return {**attrs, "state_dict": flat}  # the weights win over an attribute of that name
        return {k: _plain(v, out, depth + 1) for k, v in st.items() if isinstance(k, str)}
    if isinstance(obj, NumpyValue):
        return None
    if isinstance(obj, Mapping):
        return {k: _plain(v, out, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if all(isinstance(v, (str, int, float, bool, type(None))) for v in obj):
            return obj  # a vocabulary, a shape: nothing inside to walk
        return type(obj)(_plain(v, out, depth + 1) for v in obj) if type(obj) in (list, tuple) else list(obj)
    return obj


def _is_module(st: dict) -> bool:
    """An nn.Module's pickled __dict__, or a TorchScript module's attributes (tensors and sub-modules)."""
    if isinstance(st.get("_parameters"), Mapping) and isinstance(st.get("_modules"), Mapping):
        return True
    return "training" in st and any(isinstance(v, Tensor) or _state(v) is not None for v in st.values())


def _attribute(v) -> bool:
    """A plain value worth keeping next to the weights: numbers, strings, and containers of them (a vocabulary)."""
    if isinstance(v, (str, int, float, bool)):
        return True
    if isinstance(v, (list, tuple)):
        return len(v) <= 200_000 and all(isinstance(x, (str, int, float, bool)) for x in v)
    if isinstance(v, Mapping):
        return len(v) <= 200_000 and all(isinstance(k, (str, int)) and isinstance(x, (str, int))
                                         for k, x in v.items())
    return False


def _flatten(st: dict, prefix: str, flat: dict, out: Unpickled, depth: int) -> None:
    """Adds a module's weights under `prefix` as state_dict keys (`rnn.weight_hh_l0`), recursing into children."""
    _visit(out, depth)
    if isinstance(st.get("_parameters"), Mapping):  # an nn.Module's __dict__
        buffers = st.get("_buffers")
        tensors = {**st["_parameters"], **(buffers if isinstance(buffers, Mapping) else {})}
        children = st["_modules"]
    else:  # a TorchScript module: parameters and sub-modules are plain attributes
        tensors = {k: v for k, v in st.items() if isinstance(v, Tensor)}
        children = {k: v for k, v in st.items() if _state(v) is not None}
    for k, t in tensors.items():
        if isinstance(k, str) and isinstance(t, Tensor):
            flat[prefix + k] = t
    if st.get("nonlinearity") in ("tanh", "relu"):  # an nn.RNN or nn.RNNCell says which it used
        for k in ("weight_hh_l0", "weight_hh"):
            if k in tensors:
                out.nonlinearity[prefix + k] = st["nonlinearity"]
    for k, child in children.items():
        cs = _state(child)
        if isinstance(k, str) and cs is not None and _is_module(cs):
            _flatten(cs, f"{prefix}{k}.", flat, out, depth + 1)


def pickle_notes(got: Unpickled) -> list[str]:
    """What the user should know about how the file was read, one sentence each."""
    notes = []
    if got.torchscript:
        notes.append("read the TorchScript archive's weights from its data.pkl; its code was neither compiled nor run")
    users = [c for c in got.classes if not c.startswith(("torch.", "__torch__.torch."))]
    if got.classes and not got.torchscript:
        what = "a whole pickled model" if got.attributes is not None else "the file"
        notes.append(f"read {what} without running it: the classes it names ("
                     + ", ".join(users[:4] or got.classes[:4]) + ("…" if len(users) > 4 else "")
                     + ") were replaced by inert stand-ins, and only weights and plain values were read")
    if got.attributes:
        plain = [f"{k}={v!r}" for k, v in got.attributes.items() if isinstance(v, (str, int, float, bool))]
        if plain:
            notes.append("the model's attributes: " + ", ".join(plain[:8]) + (", …" if len(plain) > 8 else ""))
    if got.numpy:
        notes.append("ignored NumPy values stored in the file")
    return notes
