"""What other frameworks' readers share: a file read as torch.nn's names (Foreign), and the checks every array
and archive passes before it is held. The readers themselves: npz_file.py (NumPy), keras_file.py (Keras) and
onnx_file.py (ONNX). Each returns a Foreign, so one importer (importer.py) infers every architecture.

Each reader puts the weights under torch.nn's names (`embedding.weight`, `rnn.weight_ih_l0`, ..., `dense0.weight`),
with the gates reordered into torch's order, plus notes and what the file says about the nonlinearity. Nothing
is deserialised as an object and no code in a file runs.
"""
from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from rnnviz.checkpoints.reading import MAX_FILE_BYTES

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


def as_array(a, where: str) -> Tensor:
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


def check_unpacked(data: bytes, name: str) -> None:
    """Refuses a zip archive that unpacks to more than twice the file limit (a zip bomb) before it is read."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        unpacked = sum(i.file_size for i in z.infolist())
    if unpacked > 2 * MAX_FILE_BYTES:
        raise ValueError(f"{name} unpacks to {unpacked / 2 ** 20:.0f} MB, over rnnviz's limit; the file is damaged "
                         "or crafted")


def gate_blocks(t: Tensor, order: list[int], dim: int = 0) -> Tensor:
    """The gate blocks of `t` along `dim` taken in `order` (blocks of equal size)."""
    parts = t.chunk(len(order), dim)
    return torch.cat([parts[i] for i in order], dim)
