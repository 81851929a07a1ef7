"""The checkpoints people actually have, each written by its own framework's writer and compared with that
framework's own forward pass: whole pickled models (the attribute names of pytorch/examples, spro/char-rnn and
the Udacity notebook), TorchScript archives, nn.LSTMCell stacks, min-char-rnn .npz, Keras and ONNX files.
Every file disguised as one of them that asks for code is refused, and the code never runs. Vocabularies keep
their order, word vocabularies work end to end, and uploaded models draw every view page."""
import io
import os
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from rnnviz.build import build_model
from rnnviz.checkpoints import Loaded, load_checkpoint, summarize, vocab_choices
from rnnviz.models import ModelConfig
from rnnviz.checkpoints.inputs import from_text
from rnnviz.sampling import encode, generate_text, split_text
from rnnviz.subject import from_checkpoint
from rnnviz.trace import probe
from rnnviz.ui.chart import figures

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 runs on torch here; set before keras is imported
V, D, H, T, N = 7, 5, 6, 9, 3


def saved(obj, **kw) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def close(a, b, what: str, atol: float = 1e-5) -> None:
    a, b = (np.asarray(t.detach() if isinstance(t, torch.Tensor) else t, dtype=np.float64) for t in (a, b))
    assert a.shape == b.shape, f"{what}: shapes {a.shape} vs {b.shape}"
    assert np.abs(a - b).max() <= atol, f"{what} differ by {np.abs(a - b).max():.2e}"


def same_as(loaded, x, hidden, probs, atol=1e-5) -> None:
    """The imported model's traced hidden states (last layer) and output probabilities equal the source's."""
    tr = probe(loaded.model, x, jacobian=False)
    close(tr["h"][-1], hidden, "hidden states", atol)
    close(torch.softmax(tr["output"], -1), probs, "output probabilities", atol)


# --- whole pickled models -------------------------------------------------------------------------------------

class RNNModel(nn.Module):
    """pytorch/examples word_language_model/model.py: encoder, rnn, decoder, optionally tied; torch.save(model)."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, tie_weights=False):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ("LSTM", "GRU"):
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=0.5)
        else:
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity={"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type])
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        self.rnn_type, self.nhid, self.nlayers, self.ntoken = rnn_type, nhid, nlayers, ntoken

    def forward(self, x):  # x: (T, N), as the example feeds it
        out, _ = self.rnn(self.encoder(x))
        return out, self.decoder(out)


class CharRNN(nn.Module):
    """The Udacity char-rnn notebook: lstm, fc, and the vocabulary as attributes (chars, int2char, char2int)."""

    def __init__(self, tokens, n_hidden=H, n_layers=2):
        super().__init__()
        self.chars = tokens
        self.int2char = dict(enumerate(self.chars))
        self.char2int = {ch: ii for ii, ch in self.int2char.items()}
        self.lstm = nn.LSTM(len(self.chars), n_hidden, n_layers, batch_first=True)
        self.fc = nn.Linear(n_hidden, len(self.chars))

    def forward(self, x):  # one-hot input, as the notebook's one_hot_encode
        out, _ = self.lstm(x)
        return out, self.fc(out)


class Touches:
    """A class whose own code writes a file when unpickled: proves a stand-in never runs a file's class."""

    def __init__(self, path):
        self.path = str(path)

    def __setstate__(self, state):
        open(state["path"], "w").close()


class Shell:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


def probs_of(logits):
    return torch.softmax(logits, -1).detach()


@pytest.mark.parametrize("rnn_type", ["LSTM", "RNN_RELU", "GRU"])
def test_a_whole_word_language_model_opens_without_running_its_class(rnn_type, tmp_path):
    torch.manual_seed(0)
    model = RNNModel(rnn_type, V, D if rnn_type != "LSTM" else H, H, 2, tie_weights=rnn_type == "LSTM").eval()
    model.witness = Touches(tmp_path / "ran")  # the file holds a class whose __setstate__ would write a file
    loaded = load_checkpoint(saved(model), filename="model.pt")
    assert not (tmp_path / "ran").exists(), "a class in the file ran its own code"
    x = torch.randint(0, V, (T, N))
    out, logits = model(x)
    same_as(loaded, x.T, out.transpose(0, 1), probs_of(logits).transpose(0, 1))
    notes = " ".join(loaded.notes)
    assert summarize(loaded)["source"] == "whole model"
    assert "RNNModel" in notes and "inert stand-ins" in notes and f"rnn_type='{rnn_type}'" in notes
    if rnn_type == "RNN_RELU":
        assert loaded.config.arch == "rnn_relu" and "as the file says" in notes  # known, not assumed
    if rnn_type == "LSTM":  # tied: one matrix, counted once, as torch counts the source model
        assert loaded.model.head.weight is loaded.model.embedding.weight
        assert summarize(loaded)["num_parameters"] == sum(p.numel() for p in model.parameters())


def test_a_training_checkpoint_with_its_arguments_and_numpy_scores_opens():
    import argparse

    net = RNNModel("GRU", V, D, H, 1)
    data = saved({"model": net.state_dict(), "args": argparse.Namespace(lr=0.1, data="wikitext-2"),
                  "best_val": np.float64(4.2), "tags": {"a", "b"}, "epoch": 3})
    loaded = load_checkpoint(data, filename="checkpoint.pth.tar")
    assert loaded.config.arch == "gru" and loaded.source == "state_dict"
    notes = " ".join(loaded.notes)
    assert "argparse.Namespace" in notes and "ignored NumPy values" in notes


def test_a_whole_model_in_torch_before_1_6_format_is_refused_because_it_embeds_source_code():
    with pytest.raises(ValueError, match="before 1.6.*source code.*state_dict"):
        load_checkpoint(saved(RNNModel("GRU", V, D, H, 1), _use_new_zipfile_serialization=False), filename="old.pt")
    legacy_weights = saved({"model": RNNModel("GRU", V, D, H, 1).state_dict()}, _use_new_zipfile_serialization=False)
    assert load_checkpoint(legacy_weights).config.arch == "gru"


def test_a_pickled_model_keeps_its_vocabulary_attributes():
    torch.manual_seed(1)
    tokens = tuple("hel o")  # tuple(set(text)) in the notebook: an order no sort reproduces
    net = CharRNN(tokens).eval()
    loaded = load_checkpoint(saved(net), filename="rnn_20_epoch.net")
    assert loaded.vocab == list(tokens) and not loaded.config.tokens  # one-hot input, with its vocabulary
    x = from_text("hello", loaded.config, loaded.vocab)
    out, logits = net(x)
    same_as(loaded, x, out, probs_of(logits))
    # the notebook's own checkpoint: {'n_hidden', 'n_layers', 'state_dict', 'tokens': net.chars}
    ck = load_checkpoint(saved({"n_hidden": H, "n_layers": 2, "state_dict": net.state_dict(), "tokens": net.chars}))
    assert ck.vocab == list(tokens) and any("'tokens'" in n for n in ck.notes)


class Spawns:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        import subprocess
        return subprocess.Popen, (["touch", self.path],)


@pytest.mark.parametrize("how", ["__reduce__ to os.system", "__reduce__ to subprocess.Popen", "a function as a value"])
def test_a_payload_inside_a_whole_model_is_refused_and_never_runs(how, tmp_path):
    model = RNNModel("GRU", V, D, H, 1)
    marker = tmp_path / "pwned"
    model.extra = {"__reduce__ to os.system": Shell(marker), "__reduce__ to subprocess.Popen": Spawns(marker),
                   "a function as a value": {"step": 3, "fn": os.system}}[how]
    words = r"subprocess\.Popen \(a system class" if "Popen" in how else r"posix\.system \(a function"
    with pytest.raises(ValueError, match=f"asks to call {words}.*will not unpickle") as e:
        load_checkpoint(saved(model), filename="model.pt")
    assert not marker.exists() and "\n" not in str(e.value)


def test_a_pickle_that_shares_one_object_exponentially_is_refused_quickly():
    """A 2 KB file whose memo makes a list 2^60 leaves deep: walking it naively would never end."""
    nested = [torch.zeros(1)]
    for _ in range(60):
        nested = [nested, nested]
    data = saved({"model": RNNModel("GRU", V, D, H, 1).state_dict(), "history": nested})
    assert len(data) < 100_000
    with pytest.raises(ValueError, match="shares its objects too often"):
        load_checkpoint(data, filename="bomb.pt")


def test_an_attribute_named_state_dict_does_not_replace_the_weights():
    model = RNNModel("GRU", V, D, H, 1)
    model.__dict__["state_dict"] = ["weight_ih", "weight_hh"]  # a plain attribute of that name, as a file could hold
    assert load_checkpoint(saved(model)).config.arch == "gru"


def test_a_torchscript_archive_gives_its_weights_without_compiling_its_code():
    torch.manual_seed(2)
    net = nn.Sequential()  # a scripted module with embedding, GRU and head, as people export them
    net.emb, net.gru, net.out = nn.Embedding(V, D), nn.GRU(D, H, 2, batch_first=True), nn.Linear(H, V)

    class Scripted(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.gru, self.out = net.emb, net.gru, net.out

        def forward(self, x):
            h, _ = self.gru(self.emb(x))
            return h, self.out(h)

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated, yet people still bring it
        torch.jit.save(torch.jit.script(Scripted().eval()), buf)
    loaded = load_checkpoint(buf.getvalue(), filename="model.ts")
    x = torch.randint(0, V, (N, T))
    h, logits = Scripted().eval()(x)
    same_as(loaded, x, h, probs_of(logits))
    assert any("neither compiled nor run" in n for n in loaded.notes) and loaded.source == "torchscript"


class Sequence(nn.Module):
    """pytorch/examples time_sequence_prediction: two nn.LSTMCell stepped by hand, then a linear head."""

    def __init__(self):
        super().__init__()
        self.lstm1, self.lstm2, self.linear = nn.LSTMCell(1, H), nn.LSTMCell(H, H), nn.Linear(H, 1)

    def forward(self, x):
        h, c, h2, c2 = (torch.zeros(x.size(0), H) for _ in range(4))
        hs, ys = [], []
        for x_t in x.split(1, dim=1):
            h, c = self.lstm1(x_t, (h, c))
            h2, c2 = self.lstm2(h, (h2, c2))
            hs.append(h2)
            ys.append(self.linear(h2))
        return torch.stack(hs, 1), torch.cat(ys, 1)


def test_a_stack_of_lstm_cells_is_read_as_layers():
    torch.manual_seed(3)
    net = Sequence()
    loaded = load_checkpoint(saved(net.state_dict()))
    assert (loaded.config.arch, loaded.config.num_layers) == ("lstm", 2)
    x = torch.randn(N, T)
    hs, ys = net(x)
    tr = probe(loaded.model, x.unsqueeze(-1), jacobian=False)
    close(tr["h"][-1], hs.detach(), "hidden states")
    close(tr["output"].squeeze(-1), ys.detach(), "outputs")
    cell = nn.RNNCell(D, H, nonlinearity="relu")
    assert load_checkpoint(saved(cell)).config.arch == "rnn_relu"  # a pickled cell says which nonlinearity


class Tagger(nn.Module):
    """A bidirectional tagger (NER, part-of-speech): embedding, a bidirectional nn.LSTM/GRU/RNN, a head reading both
    directions at every step."""

    def __init__(self, kind: str, layers: int):
        super().__init__()
        self.embedding = nn.Embedding(V, D)
        self.rnn = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[kind](D, H, layers, batch_first=True,
                                                                         bidirectional=True)
        self.fc = nn.Linear(2 * H, V)

    def forward(self, x):
        out, h_n = self.rnn(self.embedding(x))
        return out, (h_n[0] if isinstance(h_n, tuple) else h_n), self.fc(out)


@pytest.mark.parametrize("kind,layers", [("LSTM", 2), ("GRU", 1), ("RNN", 2)])
@pytest.mark.parametrize("fmt", ["state_dict", "whole model"])
def test_a_bidirectional_model_is_read_with_both_directions(fmt, kind, layers):
    """Both directions are read: the forward direction's states are torch's first H outputs, the backward one's,
    recorded in the order it reads (step s is position T−1−s), its last H, flipped; every layer's final states
    are torch's h_n, and the output probabilities torch's own."""
    torch.manual_seed(6)
    net = Tagger(kind, layers).eval()
    loaded = load_checkpoint(saved(net if fmt == "whole model" else net.state_dict()), filename="tagger.pt")
    assert loaded.config.bidirectional and loaded.config.num_layers == layers and loaded.unmatched_keys == []
    assert summarize(loaded)["bidirectional"] and len(summarize(loaded)["layers"]) == 2 * layers
    x = torch.randint(0, V, (N, T))
    out, h_n, logits = net(x)
    tr = probe(loaded.model, x)
    assert tr.meta["prefixes"] == ["", "bwd."]
    close(tr["h"][-1], out[..., :H], "forward hidden states")
    close(tr["bwd.h"][-1].flip(1), out[..., H:], "backward hidden states, by position")
    for k in range(layers):
        close(tr["h"][k][:, -1], h_n[2 * k], f"layer {k}'s forward final state")
        close(tr["bwd.h"][k][:, -1], h_n[2 * k + 1], f"layer {k}'s backward final state (at position 0)")
    close(torch.softmax(tr["output"], -1), probs_of(logits), "output probabilities")


def test_the_backward_direction_is_the_reverse_weights_reading_the_flipped_sequence():
    """Layer 0's backward direction is a one-way RNN with the *_reverse weights reading x_{T−1}..x_0: its states,
    gates and Jacobian norms ||∂h←_0/∂h←_t|| (against lag, in the order it reads) equal that RNN's own trace."""
    torch.manual_seed(8)
    bi = nn.GRU(D, H, batch_first=True, bidirectional=True)
    one = nn.GRU(D, H, batch_first=True)
    one.load_state_dict({k.removesuffix("_reverse"): v for k, v in bi.state_dict().items() if k.endswith("_reverse")})
    x = torch.randn(N, T, D)
    both = probe(load_checkpoint(saved(bi.state_dict())).model, x)
    alone = probe(load_checkpoint(saved(one.state_dict())).model, x.flip(1))
    for name in ("h", "gate.r", "gate.z", "gate.n", "jacobian"):
        close(both["bwd." + name], alone[name], name)


class Projected(nn.Module):
    """An embedding, nn.LSTM(proj_size=P) and a head reading the P-wide projected states (speech and language
    models use proj_size to shrink what each step passes on)."""

    def __init__(self, head: bool, P: int = 3):
        super().__init__()
        self.embedding = nn.Embedding(V, D)
        self.lstm = nn.LSTM(D, H, 2, batch_first=True, proj_size=P)
        self.fc = nn.Linear(P, V) if head else None

    def forward(self, x):
        out = self.lstm(self.embedding(x))[0]
        return out if self.fc is None else self.fc(out)


@pytest.mark.parametrize("head", [True, False], ids=["head", "no head"])
@pytest.mark.parametrize("fmt", ["state_dict", "whole model"])
def test_a_projected_lstm_is_read_as_the_lstm_it_equals(fmt, head):
    """nn.LSTM(proj_size=P): h_t = W_hr m_t with m_t = o_t ⊙ tanh(c_t), and the gates read h_{t−1}. Read as the
    plain LSTM of hidden size H whose state is m_t (W_hh W_hr, the next layer's W_ih W_hr, the head's W W_hr):
    every layer's cell states, its states projected by the file's W_hr, and the outputs equal torch's own, step by
    step. Without a head the outputs are the file's projected states."""
    torch.manual_seed(7)
    net = Projected(head).eval()
    loaded = load_checkpoint(saved(net if fmt == "whole model" else net.state_dict()), filename="m.pt")
    assert (loaded.config.arch, loaded.config.hidden_size, loaded.config.num_layers) == ("lstm", H, 2)
    assert any("proj_size 3" in n and "m_t = o_t ⊙ tanh(c_t)" in n for n in loaded.notes)
    x = torch.randint(0, V, (N, T))
    e, state, hs, cs = net.embedding(x), None, [], []
    for t in range(T):  # torch's own LSTM one step at a time: every layer's (h_t, c_t)
        _, state = net.lstm(e[:, t:t + 1], state)
        hs.append(state[0])
        cs.append(state[1])
    hs, cs = torch.stack(hs, 2), torch.stack(cs, 2)  # (layer, sample, step, ·)
    tr = probe(loaded.model, x, jacobian=False)
    close(tr["c"], cs, "cell states")
    for k in range(2):
        close(tr["h"][k] @ getattr(net.lstm, f"weight_hr_l{k}").T, hs[k], f"layer {k}'s projected states")
    if head:
        close(torch.softmax(tr["output"], -1), probs_of(net(x)), "output probabilities")
    else:
        close(tr["output"], net(x), "outputs: the projected states")
        assert loaded.config.output_size == 3


def test_min_char_rnn_weights_match_its_numpy_loop():
    rng = np.random.default_rng(0)
    chars = list("ab c")
    Wxh, Whh, Why = rng.normal(size=(H, 4)), rng.normal(size=(H, H)) * 0.5, rng.normal(size=(4, H))
    bh, by = rng.normal(size=(H, 1)), rng.normal(size=(4, 1))
    buf = io.BytesIO()
    np.savez(buf, Wxh=Wxh, Whh=Whh, Why=Why, bh=bh, by=by, chars=np.array(chars))
    loaded = load_checkpoint(buf.getvalue(), filename="char-rnn.npz")
    assert loaded.vocab == chars and loaded.config.arch == "rnn_tanh"
    h, hs, ps = np.zeros((H, 1)), [], []
    for ch in "abc a":  # min-char-rnn.py's forward pass, written out
        x = np.zeros((4, 1))
        x[chars.index(ch)] = 1
        h = np.tanh(Wxh @ x + Whh @ h + bh)
        y = Why @ h + by
        hs.append(h.ravel())
        ps.append((np.exp(y) / np.exp(y).sum()).ravel())
    same_as(loaded, from_text("abc a", loaded.config, loaded.vocab), np.array([hs]), np.array([ps]))


# --- Keras ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.mark.parametrize("layer,kw", [("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
                                      ("SimpleRNN", {"activation": "relu"})])
def test_keras_files_match_keras(keras, layer, kw, tmp_path):
    keras.utils.set_random_seed(0)
    L = getattr(keras.layers, layer)
    inp = keras.Input((None,), dtype="int32")
    h = L(H, return_sequences=True, **kw)(L(H, return_sequences=True, **kw)(keras.layers.Embedding(V, D)(inp)))
    model = keras.Model(inp, [keras.layers.Dense(V, activation="softmax")(h), h])
    for w in model.weights:  # biases too: Keras starts them at zero, which would hide a misplaced gate
        w.assign(np.random.default_rng(1).normal(size=w.shape).astype("float32") * 0.5)
    x = np.random.default_rng(2).integers(0, V, (N, T))
    probs, hidden = (t.detach().cpu().numpy() for t in model(x))
    for name, write in [("m.keras", model.save), ("m.h5", model.save), ("m.weights.h5", model.save_weights)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras calls .h5 legacy; people still have them
            write(tmp_path / name)
        loaded = load_checkpoint(tmp_path / name)
        if layer == "SimpleRNN" and name == "m.weights.h5":  # no config: relu cannot be known, and says so
            assert loaded.config.arch == "rnn_tanh" and any("assumed tanh" in n for n in loaded.notes)
            continue
        same_as(loaded, torch.tensor(x), hidden, probs)
        assert loaded.source == "keras"
        assert (loaded.config.arch == "gru_reset_before") == (kw.get("reset_after") is False)


@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
def test_keras_bidirectional_layers_match_keras(keras, layer, tmp_path):
    """Two Bidirectional(LSTM/GRU) layers, merge_mode concat, saved as .keras and legacy .h5: read with both
    directions; the top layer's [h→_t, h←_t] and the output probabilities equal Keras's own."""
    keras.utils.set_random_seed(0)
    L = getattr(keras.layers, layer)
    inp = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(V, D)(inp)
    for _ in range(2):
        h = keras.layers.Bidirectional(L(H, return_sequences=True))(h)
    model = keras.Model(inp, [keras.layers.Dense(V, activation="softmax")(h), h])
    for w in model.weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape).astype("float32") * 0.5)
    x = np.random.default_rng(2).integers(0, V, (N, T))
    probs, hidden = (t.detach().cpu().numpy() for t in model(x))
    for name in ("m.keras", "m.h5"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(tmp_path / name)
        loaded = load_checkpoint(tmp_path / name)
        assert loaded.config.bidirectional and loaded.config.num_layers == 2, name
        tr = probe(loaded.model, torch.tensor(x), jacobian=False)
        close(tr["h"][-1], hidden[..., :H], f"{name}: forward hidden states")
        close(tr["bwd.h"][-1].flip(1), hidden[..., H:], f"{name}: backward hidden states, by position")
        close(torch.softmax(tr["output"], -1), probs, f"{name}: output probabilities")
    summed = keras.layers.Bidirectional(L(H, return_sequences=True), merge_mode="sum")(
        keras.layers.Embedding(V, D)(inp))
    keras.Model(inp, summed).save(tmp_path / "sum.keras")
    with pytest.raises(ValueError, match="merges its directions by sum"):
        load_checkpoint(tmp_path / "sum.keras")


def test_a_keras_sequential_course_model_matches_keras(keras, tmp_path):
    """The shape of a Keras course's character model: Sequential, Embedding, LSTM, Dropout, and the head as
    TimeDistributed(Dense(softmax)), in each of Keras's file formats."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(V, D),
                              keras.layers.LSTM(H, return_sequences=True), keras.layers.Dropout(0.2),
                              keras.layers.TimeDistributed(keras.layers.Dense(V, activation="softmax"))])
    for w in model.weights:
        w.assign(np.random.default_rng(3).normal(size=w.shape).astype("float32") * 0.5)
    x = np.random.default_rng(4).integers(0, V, (N, T))
    probs = model(x).detach().cpu().numpy()
    for name in ("course.keras", "course.h5", "course.weights.h5"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (model.save_weights if name.endswith(".weights.h5") else model.save)(tmp_path / name)
        loaded = load_checkpoint(tmp_path / name)
        close(torch.softmax(probe(loaded.model, torch.tensor(x), jacobian=False)["output"], -1), probs, name)


def test_hdf5_links_and_virtual_datasets_are_refused(keras, tmp_path):
    import h5py

    inp = keras.Input((None, 2))
    keras.Model(inp, keras.layers.LSTM(3)(inp)).save(tmp_path / "m.h5")
    with open(tmp_path / "m.h5", "rb") as f:
        clean = f.read()
    for i, how in enumerate(("external link", "virtual dataset")):
        path = tmp_path / f"evil{i}.h5"
        path.write_bytes(clean)
        with h5py.File(path, "a") as f:
            if how == "external link":
                f["model_weights/evil"] = h5py.ExternalLink("/etc/passwd", "/")
            else:
                layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
                layout[:] = h5py.VirtualSource("/etc/other.h5", "data", shape=(4,))
                f.create_virtual_dataset("model_weights/evil", layout)
        with pytest.raises(ValueError, match="links to other objects or files|external or virtual dataset"):
            load_checkpoint(path)


def test_a_zip_that_unpacks_past_the_limit_is_refused_before_it_is_read(monkeypatch):
    from rnnviz.checkpoints import foreign

    monkeypatch.setattr(foreign, "MAX_FILE_BYTES", 4000)  # a small limit stands in for 400 MB of zeros
    buf = io.BytesIO()
    np.savez_compressed(buf, Whh=np.zeros((100, 100)))  # 80 KB unpacked, a few hundred bytes packed
    with pytest.raises(ValueError, match="unpacks to"):
        load_checkpoint(buf.getvalue(), filename="bomb.npz")


def test_keras_files_that_need_code_or_another_cell_are_refused(keras, tmp_path):
    inp = keras.Input((None, 2))
    lam = keras.Model(inp, keras.layers.LSTM(3)(keras.layers.Lambda(lambda t: t * 2)(inp)))
    lam.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="Lambda layer.*holds Python code"):
        load_checkpoint(tmp_path / "lambda.keras")


# --- ONNX -----------------------------------------------------------------------------------------------------

class Exported(nn.Module):
    def __init__(self, kind, **kw):
        super().__init__()
        self.emb, self.rnn, self.fc = nn.Embedding(V, D), getattr(nn, kind)(D, H, 2, batch_first=True, **kw), \
            nn.Linear(H * (1 + kw.get("bidirectional", False)), V)

    def forward(self, x):
        h = self.rnn(self.emb(x))[0]
        return self.fc(h), h


def onnx_bytes(module: nn.Module, x) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), buf, dynamo=False, input_names=["x"], output_names=["y", "h"])
    return buf.getvalue()


@pytest.mark.parametrize("kind,kw", [("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "relu"})])
def test_onnx_models_match_onnx_runtime(kind, kw):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(4)
    x = torch.randint(0, V, (N, T))
    data = onnx_bytes(Exported(kind, **kw).eval(), x)
    logits, hidden = ort.InferenceSession(data).run(None, {"x": x.numpy()})
    loaded = load_checkpoint(data, filename="model")  # told by content, not by the name
    assert loaded.source == "onnx"
    same_as(loaded, x, hidden, torch.softmax(torch.tensor(logits), -1))
    assert loaded.config.arch == {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn_relu"}[kind]


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_bidirectional_onnx_model_matches_onnx_runtime(kind):
    """torch.onnx.export's bidirectional layers (direction="bidirectional", each weight (2, G*H, ·)): both
    directions read, the top layer's states and the output probabilities equal onnxruntime's."""
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(5)
    x = torch.randint(0, V, (N, T))
    data = onnx_bytes(Exported(kind, bidirectional=True).eval(), x)
    logits, hidden = ort.InferenceSession(data).run(None, {"x": x.numpy()})
    loaded = load_checkpoint(data, filename="bi.onnx")
    assert loaded.config.bidirectional and loaded.config.num_layers == 2
    tr = probe(loaded.model, x, jacobian=False)
    close(tr["h"][-1], hidden[..., :H], "forward hidden states")
    close(tr["bwd.h"][-1].flip(1), hidden[..., H:], "backward hidden states, by position")
    close(torch.softmax(tr["output"], -1), torch.softmax(torch.tensor(logits), -1), "output probabilities")


def test_an_onnx_gru_with_the_reset_gate_before_its_matrix_matches_onnx_runtime():
    """ONNX's GRU default (linear_before_reset=0) is Cho et al.'s GRU: read as gru_reset_before, not as torch's."""
    import onnx

    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(7)
    x = torch.randint(0, V, (N, T))
    model = onnx.load_model_from_string(onnx_bytes(Exported("GRU").eval(), x))
    for node in model.graph.node:
        if node.op_type == "GRU":
            for a in node.attribute:
                if a.name == "linear_before_reset":
                    a.i = 0
    data = model.SerializeToString()
    logits, hidden = ort.InferenceSession(data).run(None, {"x": x.numpy()})
    loaded = load_checkpoint(data, filename="cho.onnx")
    assert loaded.config.arch == "gru_reset_before"
    same_as(loaded, x, hidden, torch.softmax(torch.tensor(logits), -1))


def test_onnx_files_it_cannot_show_are_refused_in_one_sentence():
    import onnx
    from onnx import TensorProto, helper

    x = torch.randint(0, V, (1, T))
    bi = onnx_bytes(Exported("GRU", bidirectional=False).eval(), x)
    model = onnx.load_model_from_string(bi)
    gru = next(n for n in model.graph.node if n.op_type == "GRU")
    gru.attribute.append(helper.make_attribute("direction", "reverse"))
    with pytest.raises(ValueError, match="runs reverse only"):
        load_checkpoint(model.SerializeToString(), filename="reverse.onnx")
    gru.attribute[-1].s = b"bidirectional"  # a bidirectional node must keep both directions' weights
    with pytest.raises(ValueError, match=r"initializers of shape \(2, G\*H"):
        load_checkpoint(model.SerializeToString(), filename="bi.onnx")
    huge = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[1, 4 * 100_000, 100_000])  # claims 160 GB
    node = helper.make_node("LSTM", ["x", "W", "W"], ["y"], hidden_size=100_000)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [huge])
    with pytest.raises(ValueError, match="claims 40,000,000,000 values") as e:
        load_checkpoint(helper.make_model(graph).SerializeToString(), filename="huge.onnx")
    assert "\n" not in str(e.value)
    model = onnx.load_model_from_string(bi)
    del model.graph.node[:]
    model.graph.node.extend(onnx.load_model_from_string(onnx_bytes(Exported("GRU").eval(), x)).graph.node)
    w = next(t for t in model.graph.initializer if t.name.startswith("onnx::GRU"))
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value="/etc/passwd")
    with pytest.raises(ValueError, match="external data file"):
        load_checkpoint(model.SerializeToString(), filename="external.onnx")


# --- vocabularies ---------------------------------------------------------------------------------------------

def test_a_vocabulary_file_keeps_its_order_and_a_derived_one_says_so():
    assert vocab_choices(b"the\ncat\nsat\n", "itos.txt")[0] == (["the", "cat", "sat"], None)
    (chars, note), = vocab_choices(b"hello world\nhello\n", "input.txt")  # a training text: derived, and noted
    assert chars == sorted(set("hello world\nhello\n")) and "code-point order" in note
    assert "\\n␣dehlorw)" in note  # the newline and the space shown, not left invisible
    assert vocab_choices(b'{"0": "z", "1": "a"}', "int2char.json")[0][0] == ["z", "a"]  # {id: token} as JSON


def test_the_reading_that_fits_the_model_is_taken(tmp_path):
    net = RNNModel("GRU", V, D, H, 1)
    path = tmp_path / "m.pt"
    torch.save(net.state_dict(), path)
    names = b"anna\nbob\neve\n"  # 3 distinct lines (not 7 tokens), 7 distinct characters (a n b o e v newline)
    loaded = load_checkpoint(path, vocab_file=(names, "names.txt"))
    assert loaded.vocab == sorted(set(names.decode())) and "code-point order" in loaded.vocab_note
    assert from_checkpoint(loaded, "m.pt").vocab_note == loaded.vocab_note  # what the sidebar shows
    words = b"the\ncat\nsat\non\na\nmat\n.\n"
    loaded = load_checkpoint(path, vocab_file=(words, "vocab.txt"))
    assert loaded.vocab == ["the", "cat", "sat", "on", "a", "mat", "."] and loaded.vocab_note is None


def test_a_character_vocabulary_with_special_tokens_stays_character_level():
    vocab = ["<unk>", "<eos>", "a", "b", " "]
    assert encode("ab a<eos>", vocab) == [2, 3, 4, 2, 1]
    assert split_text("the cat", ["the", "cat"]) == ["the", "cat"]


def test_a_word_model_reads_and_writes_words():
    torch.manual_seed(5)
    words = ["the", "cat", "sat", "on", "a", "mat", "."]
    net = RNNModel("LSTM", V, D, H, 1).eval()
    loaded = load_checkpoint(saved({"model": net.state_dict(), "vocab": words}))
    assert encode("the cat sat", words) == [0, 1, 2]
    x = from_text("the cat sat on a mat .", loaded.config, loaded.vocab)
    out, logits = net(x.T)
    same_as(loaded, x, out.transpose(0, 1), probs_of(logits).transpose(0, 1))
    gen = generate_text(loaded.model, words, "the cat", length=5, seed=0)
    assert gen.text.split()[:2] == ["the", "cat"] and len(gen.text.split()) == 7  # words, spaced
    subject = from_checkpoint(loaded, "words.pt")
    trace = subject.latest
    assert set(subject.input_labels(trace, 0)) <= set(words)


def test_the_53_mb_word_model_of_the_example_opens(tmp_path):
    """word_language_model at its README sizes on WikiText-2: 33,278 words, 200 units, 2 layers: a 53 MB file whose
    recurrent part is 2.6 MB. The file limit counts what rnnviz reads, not the embedding's size."""
    model = RNNModel("LSTM", 33_278, 200, 200, 2)
    path = tmp_path / "model.pt"
    torch.save(model, path)
    assert path.stat().st_size > 50 * 2 ** 20
    loaded = load_checkpoint(path)
    assert (loaded.config.vocab_size, loaded.config.hidden_size, loaded.config.output_size) == (33_278, 200, 33_278)


# --- the app, with uploaded models ----------------------------------------------------------------------------

def test_the_view_pages_draw_an_uploaded_word_model_a_one_hot_model_and_a_reset_before_gru():
    """The first two once raised tracebacks (words re-split into characters; one-hot rows read as ids). The one-hot
    model's vocabulary is derived from a training text, so the sidebar says on each page which order was assumed.
    A GRU with its reset gate before W_hn (what Keras's reset_after=False and ONNX files bring) draws the pages
    that depend on the cell. Together they cover every view page. (The 53 MB word model opens in the browser test;
    its views differ from the word model's only in the head's width.)"""
    from streamlit.testing.v1 import AppTest

    from test_app import APP, VIEWS, assert_no_exception, pages
    from rnnviz.ui.state import K_CURRENT, K_UPLOADS

    words = ["the", "cat", "sat", "on", "a", "mat", "."]
    word = load_checkpoint(saved(RNNModel("LSTM", V, D, H, 1)), filename="model.net",
                           vocab_file=("\n".join(words).encode(), "vocab.txt"))
    one_hot = load_checkpoint(saved(CharRNN(tuple("hel o"))), filename="rnn.net",
                              vocab_file=(b"hello hello", "input.txt"))  # a training text: its order is assumed
    assert one_hot.vocab == list(" ehlo") and one_hot.vocab_note
    files = dict((p, f) for f, p in pages())
    cho = Loaded(build_model(ModelConfig(arch="gru_reset_before", vocab_size=V, embed_size=D, hidden_size=H,
                                         output_size=V), "cpu").eval(), None, "keras", vocab=words)
    cho.config = cho.model.cfg
    # Each model on the pages its kind could break: words (typed input, generation, labels), one-hot rows read back
    # as characters (every page that labels steps), and the cell's own equations, gates and dL/dW_hh shares.
    cases = [("model.net", word, ["hidden", "generate", "checkpoints", "graph"]),
             ("rnn.net", one_hot, ["graph", "gradients", "hidden", "gates", "checkpoints"]),
             ("cho.keras", cho, ["graph", "gradients", "gates"])]
    assert {p for _, _, ps in cases for p in ps} == set(VIEWS) - {"attention"}  # none has attention: its demo shows
    for name, loaded, pages_ in cases:
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state[K_UPLOADS] = {name: from_checkpoint(loaded, name)}
        at.session_state[K_CURRENT] = f"upload:{name}"
        for path in pages_:
            at.switch_page(f"app_pages/{files[path]}").run()
            assert_no_exception(at)
            assert not at.error, f"/{path} for {name}: {at.error[0].value}"
            assert at.sidebar.selectbox[0].value == f"upload:{name}", f"/{path} stopped showing {name}"
            said = any("code-point order" in c.value.replace("\\", "") for c in at.sidebar.caption)  # unescaped
            assert said == (name == "rnn.net"), f"/{path}: the sentence on the assumed vocabulary order is wrong"


def test_every_view_page_draws_both_directions_of_an_uploaded_bidirectional_tagger():
    """A two-layer bidirectional LSTM (a tagger's) on every view page, forward and then backward: no error, the
    backward direction's time axis labelled with the traced tokens in the order it read them (last first), the
    Graph drawing both rows of h with their own W^(→) and W^(←), and Generate saying why it cannot write."""
    from streamlit.testing.v1 import AppTest

    from test_app import APP, VIEWS, assert_no_exception, pages
    from rnnviz.ui.pickers import BACKWARD_NOTE
    from rnnviz.ui.state import K_CURRENT, K_UPLOADS

    import json

    torch.manual_seed(4)
    net = Tagger("LSTM", 2).eval()
    words = ["the", "cat", "sat", "on", "a", "mat", "."]
    loaded = load_checkpoint(saved(net), filename="tagger.pt", vocab_file=("\n".join(words).encode(), "vocab.txt"))
    assert loaded.config.bidirectional
    files = dict((p, f) for f, p in pages())
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[K_UPLOADS] = {"tagger.pt": from_checkpoint(loaded, "tagger.pt")}
    at.session_state[K_CURRENT] = "upload:tagger.pt"
    for path in [v for v in VIEWS if v != "attention"]:
        at.switch_page(f"app_pages/{files[path]}").run()
        assert_no_exception(at)
        assert not at.error, f"/{path}: {at.error[0].value}"
        if path == "generate":
            assert any("cannot write text" in i.value for i in at.info), "Generate did not say why"
            continue
        if path == "graph":
            spec = figures(at)[0]
            text = json.dumps(spec, ensure_ascii=False)
            assert "backward h←" in text and "(←" in text and "(→" in text, "the graph lacks the backward rows"
            assert not [s for s in at.slider if s.label == "Layer"], "a Layer slider on a page that draws every layer"
        if path not in ("hidden", "gates", "gradients"):
            continue
        radio = next(r for r in at.radio if r.label == "Direction")
        radio.set_value("bwd.").run()
        assert_no_exception(at)
        assert not at.error, f"/{path}, backward: {at.error[0].value}"
        assert any(BACKWARD_NOTE in c.value for c in at.caption), f"/{path} did not say how the backward axis runs"
        titles = " ".join(f["layout"].get("title", {}).get("text", "") for f in figures(at))
        assert "Backward" in titles, f"/{path}: no figure says it shows the backward direction"
        trace = at.session_state[K_UPLOADS]["tagger.pt"].latest
        layout = figures(at)[0]["layout"]
        want = [words[i] for i in trace.inputs[0].tolist()][::-1]
        shown = {t: w for k, axis in layout.items() if k.startswith("xaxis")  # the labelled (bottom) panel's
                 for t, w in zip(axis.get("tickvals", []), axis.get("ticktext", []))}
        # 48 words do not fit side by side: the axis numbers the steps in reading order, the hover names each word
        assert shown and all(w == str(int(t)) for t, w in shown.items()), f"/{path}: backward axis {shown}"
        data = figures(at)[0]["data"][0]
        hover = np.asarray(data["customdata"], dtype=object).reshape(-1, len(want))[0]
        assert [h.strip(" “”") for h in hover] == want, f"/{path}: backward hover {list(hover)[:6]}, not {want[:6]}"
        radio.set_value("").run()


def test_a_new_upload_under_an_old_name_forgets_what_was_typed_for_the_old_one():
    """Typed input and the priming text are kept per model name; a new file uploaded under the same name drops
    them (the old text may hold tokens the new vocabulary lacks), and only them."""
    from rnnviz.ui.checkpoint_panel import forget_per_model

    session = {"ckpt.input.m.pt": "the cat", "generate.prime.m.pt": "the", "ckpt.input.x.m.pt": "keep",
               "generate.prime.other.pt": "keep", "ckpt.file": "keep"}
    forget_per_model(session, "m.pt")
    assert session == {"ckpt.input.x.m.pt": "keep", "generate.prime.other.pt": "keep", "ckpt.file": "keep"}
