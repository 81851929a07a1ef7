"""Checkpoints: rnnviz's format round-trips exactly; torch.nn state_dicts import under every common naming and
wrapper and then compute what torch computes; every bad file is one clean ValueError; nothing is unpickled."""
import io
import json
import os
import pickle
import random
import warnings

import pytest
import safetensors.torch
import torch
from torch import nn

from rnnviz.build import build_model
from rnnviz.checkpoints import (MAX_FILE_BYTES, MAX_HISTORY, MAX_TRACES, checkpoint_bytes, load_checkpoint,
                                load_vocab, save_checkpoint, summarize)
from rnnviz.checkpoints import native
from rnnviz.models import ModelConfig
from rnnviz.trace import probe

N, T, D, H, O, V = 3, 4, 5, 6, 3, 7
MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Net(nn.Module):
    """[nn.Embedding] -> nn.RNN/LSTM/GRU under attribute `attr` -> [nn.Linear]: what people train."""

    def __init__(self, kind="lstm", layers=2, attr="rnn", emb=True, head=True, bias=True, nonlinearity="tanh",
                 embed=D, hidden=H):
        super().__init__()
        self.attr, self.emb = attr, emb
        if emb:
            self.embedding = nn.Embedding(V, embed)
        kw = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
        setattr(self, attr, MODULES[kind](embed, hidden, layers, bias=bias, batch_first=True, **kw))
        self.fc = nn.Linear(hidden, O) if head else None

    def inputs(self):
        return torch.randint(0, V, (N, T)) if self.emb else torch.randn(N, T, self.rnn_module.input_size)

    @property
    def rnn_module(self):
        return getattr(self, self.attr)

    def forward(self, x):
        out, state = self.rnn_module(self.embedding(x) if self.emb else x)
        h_n = state[0] if isinstance(state, tuple) else state
        return out, h_n, (self.fc(out) if self.fc is not None else out)


class Holder(nn.Module):
    def __init__(self, name, inner):
        super().__init__()
        setattr(self, name, inner)


def assert_same_computation(loaded, net):
    """The imported model's traced hidden states, final states and outputs equal torch's own within 1e-5."""
    x = net.inputs()
    out, h_n, y = net(x)
    tr = probe(loaded.model, x, jacobian=False)
    torch.testing.assert_close(tr["h"][-1], out, atol=1e-5, rtol=0)
    torch.testing.assert_close(tr["h"][:, :, -1], h_n, atol=1e-5, rtol=0)
    torch.testing.assert_close(tr["output"], y, atol=1e-5, rtol=0)
    torch.testing.assert_close(loaded.model(x)[0], y, atol=1e-5, rtol=0)


def save(obj, tmp_path, fmt="pt"):
    path = tmp_path / f"m.{fmt}"
    if fmt == "pt":
        torch.save(obj, path)
    else:
        safetensors.torch.save_file({k: v.detach().clone() for k, v in obj.items()}, path)  # unties shared weights
    return path


# --- importing torch.nn state_dicts -------------------------------------------------------------------------

def _plain():
    net = Net(emb=False, head=False)
    return net, net.rnn.state_dict()


def _attr(name):
    def make():
        net = Net(attr=name)
        return net, net.state_dict()
    return make


def _nested():
    net = Net(attr="lstm")
    enc = Holder("encoder", Holder("lstm", net.lstm))
    sd = {**enc.state_dict(), "embedding.weight": net.embedding.weight, "fc.weight": net.fc.weight,
          "fc.bias": net.fc.bias}
    return net, sd


def _model_prefix():
    net = Net()
    return net, Holder("model", net).state_dict()


def _wrapped(kind):
    def make():
        net = Net()
        opt = torch.optim.Adam(net.parameters())
        sd = net.state_dict()
        return net, ({"state_dict": sd} if kind == "state_dict" else
                     {"model": sd, "optimizer": opt.state_dict(), "epoch": 3})
    return make


def _data_parallel():
    net = Net(kind="gru")
    return net, nn.DataParallel(net).state_dict()


def _word_language_model():
    """pytorch/examples' word_language_model: encoder = nn.Embedding, rnn, decoder = nn.Linear tied to it."""
    net = Net(embed=H)
    net.fc = nn.Linear(H, V)
    net.fc.weight = net.embedding.weight
    sd = {"encoder.weight": net.embedding.weight, **Holder("rnn", net.rnn).state_dict(),
          "decoder.weight": net.fc.weight, "decoder.bias": net.fc.bias}
    return net, sd


SCHEMES = {"plain": _plain, "rnn.": _attr("rnn"), "lstm.": _attr("lstm"), "encoder.lstm.": _nested,
           "model.": _model_prefix, "{state_dict}": _wrapped("state_dict"),
           "{model,optimizer,epoch}": _wrapped("model"),
           "module.": _data_parallel, "encoder/rnn/decoder": _word_language_model}


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_imports_each_naming_scheme_and_wrapper(scheme, fmt, tmp_path):
    net, obj = SCHEMES[scheme]()
    if fmt == "safetensors" and scheme.startswith("{"):
        pytest.skip("safetensors holds flat tensors only, no wrappers")
    loaded = load_checkpoint(save(obj, tmp_path, fmt))
    assert loaded.source == "state_dict" and loaded.unmatched_keys == []
    assert loaded.config.num_layers == 2 and loaded.config.hidden_size == H
    assert_same_computation(loaded, net)


@pytest.mark.parametrize("layers", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_imports_each_cell_and_depth(kind, layers, tmp_path):
    net = Net(kind=kind, layers=layers)
    loaded = load_checkpoint(save(net.state_dict(), tmp_path, "pt" if layers % 2 else "safetensors"))
    s = summarize(loaded)
    assert (s["arch"], s["num_layers"], s["input_size"], s["hidden_size"], s["vocab_size"], s["output_size"]) == \
        ({"rnn": "rnn_tanh"}.get(kind, kind), layers, D, H, V, O)
    assert len(s["layers"]) == layers
    assert_same_computation(loaded, net)


def test_relu_rnn_is_read_as_told_and_tanh_is_the_noted_guess(tmp_path):
    net = Net(kind="rnn", nonlinearity="relu")
    path = save(net.state_dict(), tmp_path)
    assert any("tanh" in n and "relu" in n for n in load_checkpoint(path).notes)
    loaded = load_checkpoint(path, nonlinearity="relu")
    assert loaded.config.arch == "rnn_relu"
    assert_same_computation(loaded, net)


@pytest.mark.parametrize("variant", ["no bias", "vectors with head", "head without bias", "tied sizes"])
def test_imports_variants(variant, tmp_path):
    if variant == "no bias":
        net = Net(bias=False)
    elif variant == "vectors with head":
        net = Net(kind="gru", emb=False)
    elif variant == "head without bias":
        net = Net()
        net.fc = nn.Linear(H, O, bias=False)
    else:  # embedding (V, H) and head (V, H) have the same shape: only the bias tells them apart
        net = Net(embed=H)
        net.fc = nn.Linear(H, V)
    loaded = load_checkpoint(save(net.state_dict(), tmp_path))
    assert loaded.unmatched_keys == []
    assert_same_computation(loaded, net)


def test_unused_keys_are_listed_not_dropped(tmp_path):
    net = Net()
    sd = {**net.state_dict(), "norm.weight": torch.ones(H), "norm.bias": torch.zeros(H), "step": 7}
    loaded = load_checkpoint(save(sd, tmp_path))
    assert loaded.unmatched_keys == ["norm.weight", "norm.bias", "step"]
    assert summarize(loaded)["unmatched_keys"] == loaded.unmatched_keys


def test_a_head_of_several_layers_is_not_taken_for_a_linear_one(tmp_path):
    net = Net(head=False)
    sd = {**net.state_dict(), **Holder("fc1", nn.Linear(H, 8)).state_dict(),
          **Holder("fc2", nn.Linear(8, O)).state_dict()}
    loaded = load_checkpoint(save(sd, tmp_path))
    assert loaded.config.output_size == 0 and set(loaded.unmatched_keys) == {"fc1.weight", "fc1.bias", "fc2.weight",
                                                                             "fc2.bias"}
    assert_same_computation(loaded, net)


def test_encoder_decoder_reads_the_first_stack_and_lists_the_rest(tmp_path):
    enc = Net(attr="lstm", head=False)
    dec = Holder("lstm", nn.LSTM(D, H, 2, batch_first=True))
    dec.fc = nn.Linear(H, O)
    sd = {"embedding.weight": enc.embedding.weight, **Holder("encoder", Holder("lstm", enc.lstm)).state_dict(),
          **Holder("decoder", dec).state_dict()}
    loaded = load_checkpoint(save(sd, tmp_path))
    assert loaded.config.output_size == 0
    assert all(k.startswith("decoder.") for k in loaded.unmatched_keys) and len(loaded.unmatched_keys) == 10
    assert any("2 recurrent stacks" in n for n in loaded.notes)
    assert_same_computation(loaded, enc)


def test_format_is_told_by_content_and_bytes_load_like_paths(tmp_path):
    net = Net()
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    loaded = load_checkpoint(buf.getvalue(), filename="weights.safetensors")  # misnamed: content decides
    assert_same_computation(loaded, net)


def test_loading_leaves_the_callers_random_state_alone(tmp_path):
    path = save(Net().state_dict(), tmp_path)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    load_checkpoint(path)
    assert torch.equal(torch.rand(3), expected)


# --- rnnviz's own format -----------------------------------------------------------------------------------

CONFIGS = {
    "lstm tokens": ModelConfig(arch="lstm", vocab_size=V, embed_size=D, hidden_size=H, num_layers=2, output_size=O),
    "gru vectors": ModelConfig(arch="gru", input_size=D, hidden_size=H),
    "lstm_peephole": ModelConfig(arch="lstm_peephole", input_size=D, hidden_size=H, output_size=O),
    "esn": ModelConfig(arch="esn", input_size=D, hidden_size=H, output_size=O, leak_rate=0.5),
    "rnn_relu proj": ModelConfig(arch="rnn_relu", input_size=D, input_proj=4, hidden_size=H, output_size=O),
    "seq2seq additive": ModelConfig(arch="gru", vocab_size=V, embed_size=D, hidden_size=H, output_size=O,
                                    seq2seq=True, attention="additive"),
    "seq2seq dot": ModelConfig(arch="lstm", vocab_size=V, embed_size=D, hidden_size=H, num_layers=2,
                               output_size=O, seq2seq=True, attention="dot"),
    "bidirectional gru": ModelConfig(arch="gru", vocab_size=V, embed_size=D, hidden_size=H, num_layers=2,
                                     output_size=O, bidirectional=True),  # its traces keep bwd.* too
}


def make_run(cfg, n_traces=2):
    model = build_model(cfg, "cpu", seed=1)
    x = torch.randint(0, V, (2, T)) if cfg.tokens else torch.randn(2, T, D)
    y = torch.randint(0, O, (2, T)) if cfg.seq2seq else None
    traces = [probe(model, x, y, jacobian=False, train_step=i) for i in range(n_traces)]
    meta = dict(task={"name": "copy", "params": {"seq_len": 4}}, vocab=list("abcdefg") if cfg.tokens else None,
                train_config={"lr": 0.003, "steps": 10}, history=[{"step": i, "loss": 1.0 / (i + 1)} for i in range(5)],
                traces=traces, extra={"note": "test"})
    return model, meta


@pytest.mark.parametrize("name", list(CONFIGS))
def test_rnnviz_checkpoints_round_trip_exactly(name, tmp_path):
    model, meta = make_run(CONFIGS[name])
    save_checkpoint(tmp_path / "run.safetensors", model, **meta)
    loaded = load_checkpoint(tmp_path / "run.safetensors")
    assert loaded.source == "rnnviz" and loaded.config == model.cfg and loaded.unmatched_keys == []
    saved, back = model.state_dict(), loaded.model.state_dict()
    assert saved.keys() == back.keys() and all(torch.equal(saved[k], back[k]) for k in saved)
    assert (loaded.task, loaded.vocab, loaded.train_config, loaded.history, loaded.extra) == \
        (meta["task"], meta["vocab"], meta["train_config"], meta["history"], meta["extra"])
    assert len(loaded.traces) == len(meta["traces"])
    for a, b in zip(meta["traces"], loaded.traces):
        assert (a.arch, a.dims, a.meta) == (b.arch, b.dims, b.meta)
        assert a.tensors.keys() == b.tensors.keys() and all(torch.equal(a[k], b[k]) for k in a.tensors)
    assert not loaded.model.training and os.listdir(tmp_path) == ["run.safetensors"]


def test_checkpoint_bytes_and_file_objects(tmp_path):
    model, meta = make_run(CONFIGS["lstm tokens"], 0)
    data = checkpoint_bytes(model, vocab=meta["vocab"])
    buf = io.BytesIO()
    save_checkpoint(buf, model, vocab=meta["vocab"])
    assert buf.getvalue() == data
    loaded = load_checkpoint(data, filename="run.pt")  # named .pt, read as what it is
    assert loaded.source == "rnnviz" and loaded.vocab == meta["vocab"] and loaded.traces == []


def test_traces_and_history_are_bounded_evenly_keeping_the_latest(tmp_path):
    model, meta = make_run(CONFIGS["gru vectors"], 1)
    trace = meta["traces"][0]
    traces = [type(trace)(trace.arch, trace.tensors, trace.dims, {**trace.meta, "train_step": i}) for i in range(50)]
    history = [{"step": i} for i in range(MAX_HISTORY * 2 + 1)]
    loaded = load_checkpoint(checkpoint_bytes(model, traces=traces, history=history))
    steps = [t.meta["train_step"] for t in loaded.traces]
    assert len(steps) == MAX_TRACES and steps[0] == 0 and steps[-1] == 49 and steps == sorted(set(steps))
    assert len(loaded.history) == MAX_HISTORY and loaded.history[-1] == history[-1]


def test_trace_bytes_are_bounded(monkeypatch):
    model, meta = make_run(CONFIGS["gru vectors"], 4)
    monkeypatch.setattr(native, "MAX_TRACE_BYTES", meta["traces"][0].nbytes * 2)
    assert len(load_checkpoint(checkpoint_bytes(model, traces=meta["traces"])).traces) == 2


def resave(data: bytes, edit) -> bytes:
    """The checkpoint with its metadata JSON (and tensors) changed by edit(meta, tensors)."""
    tensors = safetensors.torch.load(data)
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(json.loads(data[8:8 + n])["__metadata__"]["rnnviz"])
    edit(meta, tensors)
    return safetensors.torch.save(tensors, metadata={"rnnviz": json.dumps(meta)})


REFUSED_METADATA = {
    "newer rnnviz": (lambda m, t: m.update(version=99), "newer rnnviz"),
    "older version": (lambda m, t: m.update(version=0), "cannot read"),
    "unknown setting": (lambda m, t: m["config"].update(colour="red"), "unknown model settings"),
    "wrong type": (lambda m, t: m["config"].update(hidden_size="6"), "hidden_size is '6', not a whole number"),
    "weights do not fit": (lambda m, t: m["config"].update(hidden_size=8), "shape"),
    "huge claim": (lambda m, t: m["config"].update(vocab_size=100_000, embed_size=4096), "shape"),  # 1.6 GB unbuilt
    "absurd width": (lambda m, t: m["config"].update(embed_size=2 ** 70), "embed_size .* out of range"),
    "missing weight": (lambda m, t: t.pop("model.rnn.weight_hh_l0"), "lacks"),
    "NaN weight": (lambda m, t: t["model.rnn.weight_hh_l0"].fill_(float("nan")), "NaN or inf"),
    "damaged trace": (lambda m, t: m["traces"][0]["dims"].update(h=["layer"]), "trace 0"),
    "damaged history": (lambda m, t: m.update(history={"a": 1}), "history"),
}


@pytest.mark.parametrize("case", list(REFUSED_METADATA))
def test_damaged_or_unknown_rnnviz_files_are_refused_clearly(case):
    model, meta = make_run(CONFIGS["lstm tokens"], 1)
    edit, words = REFUSED_METADATA[case]
    with pytest.raises(ValueError, match=words):
        load_checkpoint(resave(checkpoint_bytes(model, traces=meta["traces"]), edit))


def test_save_refuses_what_could_not_be_loaded_back(tmp_path):
    model = build_model(CONFIGS["gru vectors"], "cpu")
    with pytest.raises(ValueError, match="rnnviz model"):
        checkpoint_bytes(nn.LSTM(2, 3))
    with pytest.raises(ValueError, match="not JSON"):
        checkpoint_bytes(model, task={"f": print})
    with pytest.raises(ValueError, match="vocabulary has 2 tokens"):
        checkpoint_bytes(model, vocab=["a", "b"])
    with pytest.raises(ValueError, match="history must be a list of dicts"):
        checkpoint_bytes(model, history=[0.5, 0.4])
    with pytest.raises(ValueError, match="task must be a dict"):
        checkpoint_bytes(model, task="copy")
    with pytest.raises(ValueError, match="check that its folder exists"):
        save_checkpoint(tmp_path / "no" / "such" / "run.safetensors", model)
    with torch.no_grad():
        model.rnn.weight_hh_l0[0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        checkpoint_bytes(model)


# --- safety and bad input ----------------------------------------------------------------------------------

class CreatesFile:
    """Unpickling this with plain pickle creates a file: the payload of a malicious checkpoint."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


class RunsShell:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


def _torch_bytes(obj, **kw) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("how", ["torch.save", "torch.save legacy", "pickle.dumps"])
@pytest.mark.parametrize("payload", [CreatesFile, RunsShell])
def test_a_malicious_pickle_is_refused_and_never_runs(how, payload, tmp_path):
    marker, control = tmp_path / "pwned", tmp_path / "control"
    make = {"torch.save": lambda p: _torch_bytes({"rnn.weight_hh_l0": torch.zeros(1, 1), "x": p}),
            "torch.save legacy": lambda p: _torch_bytes({"x": p}, _use_new_zipfile_serialization=False),
            "pickle.dumps": lambda p: pickle.dumps({"x": p})}[how]
    pickle.loads(pickle.dumps(payload(control)))  # the payload is real: plain unpickling runs it
    assert control.exists()
    with pytest.raises(ValueError, match="will not unpickle"):
        load_checkpoint(make(payload(marker)), filename="evil.pt")
    assert not marker.exists()


def _sd(**changes):
    sd = dict(Net(layers=3).state_dict())
    for k, v in changes.items():
        if v is None:
            sd.pop(k)
        else:
            sd[k] = v
    return sd


BAD = {
    "empty file": (lambda: b"", "empty"),
    "random bytes": (lambda: random.Random(0).randbytes(2000),  # every format the loader takes, not torch's alone
                     "not a checkpoint rnnviz can read: it reads safetensors, torch.save .* Keras .* ONNX and NumPy"),
    "HDF5": (lambda: b"\x89HDF\r\n\x1a\n" + bytes(100), "damaged HDF5"),
    "truncated .pt": (lambda: _torch_bytes(Net().state_dict())[:3000], "damaged or truncated"),
    "truncated .safetensors": (lambda: safetensors.torch.save(dict(Net().state_dict()))[:1000], "damaged or truncated"),
    "NaN weights": (lambda: _torch_bytes(_sd(**{"rnn.weight_hh_l1": torch.full((4 * H, H), float("nan"))})),
                    r"NaN or inf values \(in rnn.weight_hh_l1\)"),
    "inf weights": (lambda: _torch_bytes(_sd(**{"fc.bias": torch.tensor([1.0, float("inf"), 0.0])})), "NaN or inf"),
    "inconsistent shapes": (lambda: _torch_bytes(_sd(**{"rnn.weight_hh_l2": torch.zeros(4 * H, H + 1)})),
                            "shapes disagree"),
    "not a cell shape": (lambda: _torch_bytes({"weight_ih_l0": torch.zeros(7, 2), "weight_hh_l0": torch.zeros(7, 3)}),
                         r"\(4H, H\)"),
    "hidden size too big": (lambda: _torch_bytes(nn.RNN(1, 1025).state_dict()), "hidden size 1025.*limit of 1024"),
    "vocabulary too big": (lambda: _torch_bytes({**nn.RNN(1, 2).state_dict(),
                                                 "embedding.weight": torch.zeros(100_001, 1)}),
                           "vocabulary size 100001"),
    "too many layers": (lambda: _torch_bytes(nn.GRU(1, 2, 5).state_dict()), "5 layers"),
    "missing key": (lambda: _torch_bytes(_sd(**{"rnn.weight_ih_l1": None})), "lacks rnn.weight_ih_l1"),
    "missing layer": (lambda: _torch_bytes({k: v for k, v in _sd().items() if "_l1" not in k}), r"layers \[0, 2\]"),
    "non-tensor weight": (lambda: _torch_bytes(_sd(**{"rnn.weight_hh_l0": [1.0, 2.0]})), "holds a list"),
    "integer weights": (lambda: _torch_bytes(_sd(**{"rnn.bias_hh_l0": torch.zeros(4 * H, dtype=torch.long)})), "int64"),
    "stretched view": (lambda: _torch_bytes(_sd(**{"rnn.weight_hh_l0": torch.zeros(1).expand(40_000, 40_000)})),
                       "claims 1,600,000,000 values"),
    "empty dict": (lambda: _torch_bytes({}), "empty dict"),
    "no recurrent weights": (lambda: _torch_bytes(nn.Linear(2, 3).state_dict()), "found no recurrent weights"),
    "a list": (lambda: _torch_bytes([torch.zeros(2)]), "holds a list"),
    "a single tensor": (lambda: _torch_bytes(torch.zeros(2)), "single tensor"),
    "plain pickle": (lambda: pickle.dumps({"rnn.weight_hh_l0": [[0.0]]}), "plain Python pickle"),
    "bidirectional without a backward weight": (
        lambda: _torch_bytes({k: v for k, v in nn.LSTM(2, 3, 2, bidirectional=True).state_dict().items()
                              if k != "weight_hh_l1_reverse"}), "layer 1 lacks weight_hh_l1_reverse"),
    "bidirectional with projections": (
        lambda: _torch_bytes(nn.LSTM(2, 4, bidirectional=True, proj_size=2).state_dict()),
        "bidirectional LSTM with projections"),
    "projection of the wrong shape": (lambda: _torch_bytes({**nn.LSTM(2, 4, proj_size=2).state_dict(),
                                                             "weight_hr_l0": torch.zeros(3, 4)}),
                                      r"weight_hr_l0 has shape \(3, 4\)"),
    "projection from a huge state": (lambda: _torch_bytes({"weight_ih_l0": torch.zeros(40_000, 1),
                                                           "weight_hh_l0": torch.zeros(40_000, 1),
                                                           "weight_hr_l0": torch.zeros(1, 10_000)}),
                                     "hidden size 10000"),
}


def _torch_bytes_jit() -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated, yet people still bring it
        torch.jit.save(torch.jit.script(nn.Linear(2, 2)), buf)
    return buf.getvalue()


@pytest.mark.parametrize("case", list(BAD))
def test_every_bad_input_is_one_clear_sentence(case):
    make, words = BAD[case]
    with pytest.raises(ValueError, match=words) as e:
        load_checkpoint(make(), filename="bad.pt")
    assert "\n" not in str(e.value) and len(str(e.value)) < 400


def test_bad_paths_and_sizes(tmp_path):
    with pytest.raises(ValueError, match="no file at"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="is a folder"):
        load_checkpoint(tmp_path)
    big = tmp_path / "big.pt"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk or memory used, and never read
    with pytest.raises(ValueError, match="over rnnviz's limit of 200.0 MB"):
        load_checkpoint(big)
    with pytest.raises(ValueError, match="nonlinearity"):
        load_checkpoint(b"x", nonlinearity="sigmoid")


# --- vocabularies ------------------------------------------------------------------------------------------

def test_load_vocab_reads_json_lists_maps_and_text():
    assert load_vocab(b'["a", "b", " "]', "v.json") == ["a", "b", " "]
    assert load_vocab('{"b": 1, "a": 0}') == ["a", "b"]
    assert load_vocab(b"hello world\n", "corpus.txt") == sorted(set("hello world\n"))
    assert load_vocab(b"[not json", "v.txt") == sorted(set("[not json"))


@pytest.mark.parametrize("data,name,words", [
    (b"\xff\xfe\x00", "v.txt", "UTF-8"), (b"", "v.txt", "empty"), (b"[1, 2]", "v.json", "list of token strings"),
    (b'["a", "a"]', "v.json", "twice"), (b"[oops", "v.json", "not valid JSON"), (b'{"a": 0, "b": 2}', None, "ids"),
])
def test_load_vocab_refuses_clearly(data, name, words):
    with pytest.raises(ValueError, match=words):
        load_vocab(data, name)


def test_a_vocabulary_must_fit_the_model(tmp_path):
    path = save(Net().state_dict(), tmp_path)
    assert load_checkpoint(path, vocab=list("abcdefg")).vocab == list("abcdefg")
    with pytest.raises(ValueError, match="vocabulary has 3 tokens but the model's embedding has 7 rows"):
        load_checkpoint(path, vocab=list("abc"))
    one_hot = load_checkpoint(save(Net(emb=False).state_dict(), tmp_path), vocab=list("abcde"))
    assert any("one-hot" in n for n in one_hot.notes)


def test_a_vocabulary_saved_next_to_the_weights_is_used_when_it_fits(tmp_path):
    net = Net()
    stoi = {c: i for i, c in enumerate("abcdefg")}
    assert load_checkpoint(save({"model": net.state_dict(), "chars": list("abcdefg")}, tmp_path)).vocab == list(stoi)
    assert load_checkpoint(save({"state_dict": net.state_dict(), "stoi": stoi}, tmp_path)).vocab == list(stoi)
    assert load_checkpoint(save({"model": net.state_dict(), "itos": dict(enumerate("abcdefg"))}, tmp_path)).vocab \
        == list(stoi)
    misfit = load_checkpoint(save({"model": net.state_dict(), "vocab": ["a", "b"]}, tmp_path))
    assert misfit.vocab is None and any("ignored the vocabulary saved under 'vocab'" in n for n in misfit.notes)
    assert load_checkpoint(save({"model": net.state_dict(), "chars": list("abcdefg")}, tmp_path),
                           vocab=list("gfedcba")).vocab == list("gfedcba")  # the user's vocabulary wins
