"""Turns a file or upload into tensors without running anything in it; not what the tensors mean (importer.py).

Formats are told apart by content, not by name: safetensors (an 8-byte header length, then a JSON header),
torch.save's zip archive, torch's legacy pickle, a NumPy .npz, HDF5 (Keras) or ONNX protobuf. Pickles are only
ever read by torch's weights-only unpickler with inert stand-ins for classes (pickled.py); a plain Python pickle
(not written by torch.save) is refused before any of it is read.
"""
from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import safetensors.torch
from torch import Tensor

MAX_FILE_BYTES = 200 * 1024 * 1024  # a file as read; what rnnviz keeps is bounded by the model's own limits (hidden
# size, layers, vocabulary), so a 53 MB word model whose recurrent part is 2.6 MB opens. The app's checkpoint
# uploader keeps to the same limit and says so (its "Limit 400MB per file" beside "up to 200 MB" contradicted it).
LEGACY_MAGIC = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")  # torch.serialization.MAGIC_NUMBER, pickled
WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "network", "module", "weights", "params")
SAVE_HINT = "save the weights instead with torch.save(model.state_dict(), 'model.pt')"
RECURRENT_KEY = re.compile(r"(?:^|\.)weight_hh_l\d+(?:_reverse)?$")


def first_line(e: BaseException, limit: int = 160) -> str:
    """An exception's message as one short line (library messages run to paragraphs)."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def parse_json(text: str | bytes, name: str, what: str = "JSON"):
    """json.loads for anything a user uploads: invalid or absurdly nested JSON (which makes the parser recurse
    past Python's limit) is one sentence naming the file, never a traceback."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{name} is nested too deeply to be {what}; give a flat list or object") from None
    except ValueError as e:
        where = f" at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise ValueError(f"{name} is not valid {what} ({getattr(e, 'msg', first_line(e))}{where})") from None


def megabytes(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MB"


def read_source(source, filename: str | None) -> tuple[bytes, str]:
    """(the bytes, a name for messages) from a path, bytes, or a binary file-like object; sizes checked."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), filename or "the upload"
    elif isinstance(source, (str, os.PathLike)):
        data, name = _read_path(Path(source)), filename or Path(source).name
    elif hasattr(source, "read"):
        data, name = source.read(MAX_FILE_BYTES + 1), filename or getattr(source, "name", None) or "the upload"
        if not isinstance(data, bytes):
            raise ValueError(f"{name} was opened as text; open checkpoints in binary mode ('rb')")
    else:
        raise ValueError(f"cannot read a checkpoint from a {type(source).__name__}; pass a path or the file's bytes")
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{name} is over rnnviz's limit of {megabytes(MAX_FILE_BYTES)} for a checkpoint file; "
                         "rnnviz traces models on a CPU: save only the recurrent part and its head")
    if not data:
        raise ValueError(f"{name} is empty; choose the checkpoint file itself")
    return data, name


def _read_path(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise ValueError(f"{path} is a folder; give the checkpoint file inside it")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{path.name} is {megabytes(size)}, over rnnviz's limit of {megabytes(MAX_FILE_BYTES)} "
                             "for a checkpoint file; rnnviz traces models on a CPU: save only the recurrent part "
                             "and its head")
        return path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"there is no file at {path}; check the path") from None
    except OSError as e:
        raise ValueError(f"cannot read {path} ({e.strerror or first_line(e)}); check the path and its permissions") \
            from None


def sniff(data: bytes) -> str:
    """"safetensors", "zip" (torch.save's default), "legacy" (torch.save before 1.6), "pickle" or "unknown"."""
    n = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if 2 <= n <= len(data) - 8 and data[8:9] == b"{":
        return "safetensors"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[:1] == b"\x80" and LEGACY_MAGIC in data[:32]:
        return "legacy"
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    return "unknown"


def unknown_format(data: bytes, name: str) -> ValueError:
    if name.lower().endswith(".safetensors"):
        return ValueError(f"{name} is not a valid safetensors file (its header length is wrong); the file is "
                          "damaged or truncated")
    hint = ("it is an HDF5 (Keras) file; " if data[:4] == b"\x89HDF" else
            "it is a NumPy array; " if data[:6] == b"\x93NUMPY" else "")
    return ValueError(f"{name} is not a checkpoint rnnviz can read: {hint}it reads safetensors, torch.save (.pt, "
                      ".pth: a state_dict, a whole model or TorchScript), Keras (.keras, .h5), ONNX and NumPy .npz "
                      "files, told by their content; check that this is the model's file itself")


def decode_safetensors(data: bytes, name: str) -> tuple[dict[str, Tensor], dict[str, str]]:
    """(tensors, header metadata) of a safetensors file; anything malformed is one sentence."""
    try:
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + n])
        tensors = safetensors.torch.load(data)
    except (Exception, RecursionError) as e:  # the parser's errors (SafetensorError, JSON, UTF-8, depth): damaged
        raise ValueError(f"{name} is a damaged or truncated safetensors file ({first_line(e)})") from e
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError(f"{name} has a damaged safetensors header: its metadata must map names to strings")
    return tensors, meta


def decode_torch(data: bytes, name: str, kind: str):
    """What a zip or legacy torch.save file (or a TorchScript archive) holds, read without running anything in
    it (pickled.py): an Unpickled whose .obj has every module flattened to its {name: tensor} weights."""
    from rnnviz.checkpoints.pickled import unpickle

    if kind == "pickle":
        raise ValueError(f"{name} is a plain Python pickle, which rnnviz will not unpickle because unpickling can run "
                         f"code; {SAVE_HINT}")
    torchscript = check_zip(data, name) if kind == "zip" else False
    return unpickle(data, name, kind, torchscript)


def check_zip(data: bytes, name: str) -> bool:
    """Whether an intact torch.save archive (CRCs checked) is TorchScript; anything else is refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            unpacked = sum(i.file_size for i in infos)
            damaged = None if unpacked > 2 * MAX_FILE_BYTES else z.testzip()
    except Exception as e:  # BadZipFile, struct errors, bad offsets: a damaged archive
        raise ValueError(f"{name} is a damaged or truncated torch.save file ({first_line(e)})") from e
    if unpacked > 2 * MAX_FILE_BYTES:
        raise ValueError(f"{name} unpacks to {megabytes(unpacked)}, over rnnviz's limit; {SAVE_HINT}")
    if not any(n.endswith("data.pkl") for n in names):
        raise ValueError(f"{name} is a zip archive but not a torch.save file; {SAVE_HINT}")
    if damaged is not None:
        raise ValueError(f"{name} is a damaged torch.save file ({damaged} fails its checksum); copy it again")
    return any("/code/" in n or n.endswith("constants.pkl") for n in names)


def find_state_dict(obj, name: str) -> tuple[Mapping, list[str]]:
    """The dict of named weights inside what torch.load returned, and notes on the wrapper it came in.

    Accepts a state_dict itself, or one nested (up to three levels) under a key like "state_dict" or
    "model" next to "optimizer", "epoch", ... (WRAPPERS are tried first, then any other dict value).
    """
    if isinstance(obj, Tensor):
        raise ValueError(f"{name} holds a single tensor, not a state_dict (a dict of named weights); {SAVE_HINT}")
    if not isinstance(obj, Mapping):
        raise ValueError(f"{name} holds a {type(obj).__name__}, not a state_dict (a dict of named weights); "
                         f"{SAVE_HINT}")
    if not obj:
        raise ValueError(f"{name} holds an empty dict: there are no weights in it; {SAVE_HINT}")
    found = _search(obj, [], 3)
    if found is None:
        return obj, []  # the importer says what is missing
    inner, path = found
    if not path:
        return inner, []
    where = "".join(f"[{p!r}]" for p in path)
    rest = [str(k) for k in obj if k != path[0]]
    note = f"read the weights under {where}" + (f"; ignored {', '.join(rest[:8])}" if rest else "")
    return inner, [note]


def _search(d: Mapping, path: list, depth: int):
    if any(isinstance(k, str) and RECURRENT_KEY.search(k) for k in d):
        return d, path
    if depth == 0:
        return None
    ordered = [k for k in WRAPPERS if k in d] + [k for k in d if k not in WRAPPERS]
    for k in ordered:
        if isinstance(d[k], Mapping):
            found = _search(d[k], path + [k], depth - 1)
            if found is not None:
                return found
    return None
