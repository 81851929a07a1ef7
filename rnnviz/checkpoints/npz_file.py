"""NumPy .npz files, read with np.load(allow_pickle=False): karpathy's min-char-rnn names (Wxh, Whh, Why, bh, by:
a tanh RNN fed one-hot characters) are mapped to torch.nn's; other arrays are taken as torch names. A `chars` or
`vocab` string array is the vocabulary.
"""
from __future__ import annotations

import io

import numpy as np
import torch

from rnnviz.checkpoints.foreign import Foreign, as_array, check_unpacked
from rnnviz.checkpoints.reading import first_line

MIN_CHAR_RNN = ("Wxh", "Whh", "Why", "bh", "by")


def read_npz(data: bytes, name: str) -> Foreign:
    check_unpacked(data, name)
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
        w = {k: as_array(arrays.pop(k), f"{name}[{k!r}]") for k in MIN_CHAR_RNN}
        H = w["Whh"].shape[0]
        out.state_dict = {"rnn.weight_ih_l0": w["Wxh"], "rnn.weight_hh_l0": w["Whh"],
                          "rnn.bias_ih_l0": w["bh"].reshape(-1), "rnn.bias_hh_l0": torch.zeros(H),
                          "fc.weight": w["Why"], "fc.bias": w["by"].reshape(-1)}
        out.nonlinearity["rnn.weight_hh_l0"] = "tanh"
        out.notes.append("read min-char-rnn arrays: h_t = tanh(Wxh x_t + Whh h_(t-1) + bh), y_t = Why h_t + by, "
                         "with x_t one-hot over the characters")
    out.state_dict.update({k: as_array(v, f"{name}[{k!r}]") for k, v in arrays.items() if v.dtype.kind in "fiu"})
    return out
