"""Fuzzing the loader: valid checkpoints with bytes flipped, overwritten, inserted, deleted or cut off must each end
as a clean load or one ValueError (never another exception, a traceback's worth of text, or a hang)."""
import functools
import io
import json
import signal
import warnings

import numpy as np

import pytest
import safetensors.torch
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from rnnviz.build import build_model
from rnnviz.checkpoints import Loaded, checkpoint_bytes, load_checkpoint
from rnnviz.models import ModelConfig
from rnnviz.trace import probe

SECONDS = 20  # per example; a load of these tiny files takes milliseconds


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(7, 5)
        self.lstm = nn.LSTM(5, 6, 2, batch_first=True)
        self.fc = nn.Linear(6, 3)


@functools.lru_cache(maxsize=None)
def valid(kind: str) -> bytes:
    """A small valid file of each kind the loader reads (built once; bytes are immutable)."""
    torch.manual_seed(0)
    sd = Net().state_dict()
    buf = io.BytesIO()
    if kind == "pt":
        torch.save({"model": sd, "epoch": 3, "chars": list("abcdefg")}, buf)
    elif kind == "pt legacy":
        torch.save(sd, buf, _use_new_zipfile_serialization=False)
    elif kind == "safetensors":
        return safetensors.torch.save(dict(sd))
    elif kind == "whole model":
        torch.save(Net(), buf)  # read through inert stand-ins
    elif kind == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(torch.jit.script(nn.LSTM(3, 4)), buf)
    elif kind == "npz":
        rng = np.random.default_rng(0)
        np.savez(buf, Wxh=rng.normal(size=(6, 4)), Whh=rng.normal(size=(6, 6)), Why=rng.normal(size=(4, 6)),
                 bh=np.zeros((6, 1)), by=np.zeros((4, 1)), chars=np.array(list("abcd")))
    elif kind == "onnx":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(nn.GRU(3, 4, batch_first=True), (torch.zeros(1, 2, 3),), buf, dynamo=False)
    elif kind in ("keras", "h5"):
        return keras_bytes(kind)
    else:
        model = build_model(ModelConfig(arch="gru", vocab_size=7, embed_size=5, hidden_size=6, output_size=3), "cpu")
        trace = probe(model, torch.randint(0, 7, (1, 3)), jacobian=False).select(["h", "output"])
        return checkpoint_bytes(model, vocab=list("abcdefg"), task={"name": "copy"}, traces=[trace],
                                history=[{"step": 1, "loss": 0.5}])
    return buf.getvalue()


def keras_bytes(kind: str) -> bytes:
    import os
    import tempfile

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(7, 5),
                              keras.layers.GRU(4, return_sequences=True), keras.layers.Dense(7)])
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = os.path.join(d, "m." + kind)
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


FORMATS = ["pt", "pt legacy", "safetensors", "rnnviz", "whole model", "torchscript", "npz", "onnx", "keras", "h5"]
position = st.one_of(st.integers(0, 64), st.integers(0, 400), st.integers(0, 1 << 30))  # headers matter most
edit = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]), position,
                 st.binary(min_size=1, max_size=9))


def mutate(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for op, pos, payload in edits:
        i = pos % (len(b) + 1)
        if op == "flip" and i < len(b):
            b[i] ^= payload[0] or 1
        elif op == "set":
            b[i:i + len(payload)] = payload
        elif op == "insert":
            b[i:i] = payload
        elif op == "delete":
            del b[i:i + len(payload)]
        elif op == "truncate":
            del b[i:]
    return bytes(b)


class Hang(BaseException):
    """Not an Exception, so no handler in the loader can turn it into a ValueError."""


def _alarm(signum, frame):
    raise Hang(f"a load took over {SECONDS} s")


@pytest.mark.parametrize("kind", FORMATS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(edit, min_size=1, max_size=4))
def test_mutated_files_load_cleanly_or_are_refused_in_one_sentence(kind, edits):
    data = mutate(valid(kind), edits)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        loaded = load_checkpoint(data, filename="fuzz")  # no extension: the content decides, as for an upload
    except ValueError as e:
        assert "\n" not in str(e) and 0 < len(str(e)) < 500, str(e)
    else:
        assert isinstance(loaded, Loaded) and not loaded.model.training
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kind", FORMATS)
def test_the_unmutated_files_load(kind):
    assert isinstance(load_checkpoint(valid(kind)), Loaded)


json_value = st.recursive(st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats() | st.text(max_size=4),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                       max_size=3), max_leaves=5)


def json_paths(value, path=()):
    """Every place in a JSON value, as a path of keys and indices."""
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        yield from json_paths(v, path + (k,))


@functools.lru_cache(maxsize=None)
def rnnviz_parts() -> tuple[dict, str]:
    data = valid("rnnviz")
    n = int.from_bytes(data[:8], "little")
    return safetensors.torch.load(data), json.loads(data[8:8 + n])["__metadata__"]["rnnviz"]


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_edited_rnnviz_metadata_loads_cleanly_or_is_refused_in_one_sentence(data):
    """Valid JSON with wrong values (a type, a size, a missing part) anywhere in an rnnviz checkpoint's metadata."""
    tensors, text = rnnviz_parts()
    meta = json.loads(text)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(json_paths(meta))[1:]))
        parent = meta
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = data.draw(json_value)
    blob = safetensors.torch.save(tensors, metadata={"rnnviz": json.dumps(meta)})
    try:
        loaded = load_checkpoint(blob)
    except ValueError as e:
        assert "\n" not in str(e) and 0 < len(str(e)) < 500, str(e)
    else:
        assert isinstance(loaded, Loaded)
