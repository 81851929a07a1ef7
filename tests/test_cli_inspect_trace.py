"""`rnnviz inspect` and `rnnviz trace`: end to end in subprocesses (exit codes, stdout, one-line errors, no
traceback) and in-process through rnnviz.cli.main for every bad input; traced numbers checked against torch."""
import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.build import build_model
from rnnviz.checkpoints import MAX_FILE_BYTES, load_checkpoint, save_checkpoint
from rnnviz.cli import main
from rnnviz.models import ModelConfig
from rnnviz.tasks import get_task

T, D, H, O, V = 4, 5, 6, 3, 7
ROOT = Path(__file__).resolve().parents[1]
TRACE_KEYS = {"arch", "steps", "layers", "outputs", "grad_norms", "source", "sample", "samples", "task", "loss",
              "loss_fn", "inputs", "targets", "labels", "target_labels", "outputs_kind"}  # trace_cmd's docstring
SUMMARY_KEYS = {"source", "arch", "num_layers", "bidirectional", "input_size", "hidden_size", "vocab_size",
                "output_size", "num_parameters", "layers", "unmatched_keys", "vocab_known", "notes"}


class CharLSTM(nn.Module):
    def __init__(self, head=True, emb=True):
        super().__init__()
        self.embedding = nn.Embedding(V, D) if emb else None
        self.lstm = nn.LSTM(D, H, 2, batch_first=True)
        self.fc = nn.Linear(H, O) if head else None


class Evil:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    net, vectors = CharLSTM(), CharLSTM(head=False, emb=False)
    torch.save({"state_dict": net.state_dict()}, d / "char.pt")
    torch.save(vectors.state_dict(), d / "vectors.pth")
    (d / "vocab.txt").write_text("gfedcba")  # sorted distinct characters: a..g
    (d / "truncated.pt").write_bytes((d / "char.pt").read_bytes()[:2000])
    torch.save({"rnn.weight_hh_l0": torch.zeros(1, 1), "x": Evil(d / "pwned")}, d / "evil.pt")
    (d / "values.csv").write_text("a,b,c,d,e\n" + "\n".join(",".join(str(0.1 * (i + j)) for j in range(D))
                                                           for i in range(T)) + "\n")
    s2s = build_model(ModelConfig(arch="gru", vocab_size=V, embed_size=D, hidden_size=H, output_size=O, seq2seq=True),
                      "cpu")
    save_checkpoint(d / "s2s.safetensors", s2s)
    return d, net, vectors


def cli(*args) -> subprocess.CompletedProcess:
    """`python -m rnnviz ...` in a fresh interpreter, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RNNVIZ_DEVICE": "cpu"}
    return subprocess.run([sys.executable, "-m", "rnnviz", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def run_main(capsys, *args) -> tuple[int, str, str]:
    """The same main() in this process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's usage errors exit from inside parse_args
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs(files):
    """The subprocess runs, started together (each pays torch's import once; two cores run two at a time)."""
    d = files[0]
    commands = {
        "inspect json": ("inspect", d / "char.pt", "--json"),
        "trace json": ("trace", d / "char.pt", "--text", "badcafe", "--vocab", d / "vocab.txt", "--json"),
        "trace csv": ("trace", d / "vectors.pth", "--values", d / "values.csv", "--csv", d / "out"),
        "evil": ("inspect", d / "evil.pt", "--json"),
    }
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(commands, pool.map(lambda a: cli(*a), commands.values())))
    return done


def assert_clean_refusal(p, words):
    assert p.returncode == 2, p.stderr
    assert p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.startswith("error:") and p.stderr.count("\n") == 1 and words in p.stderr, p.stderr


def test_inspect_json_is_one_object_with_the_documented_keys(runs):
    p = runs["inspect json"]
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert set(s) == SUMMARY_KEYS
    assert (s["source"], s["arch"], s["num_layers"], s["input_size"], s["hidden_size"], s["vocab_size"],
            s["output_size"], s["unmatched_keys"]) == ("state_dict", "lstm", 2, D, H, V, O, [])
    assert len(s["layers"]) == 2
    assert all(set(layer) == {"spectral_radius", "max_singular_value"} for layer in s["layers"])


def test_inspect_text_is_readable(files, capsys):
    d = files[0]
    code, out, err = run_main(capsys, "inspect", d / "char.pt", "--vocab", d / "vocab.txt")
    assert code == 0, err
    assert "lstm, 2 layer(s), input 5, hidden 6" in out and "vocabulary known" in out and "note" in out


def test_trace_json_matches_torch(runs, files):
    _, net, _ = files
    p = runs["trace json"]
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) == TRACE_KEYS
    assert (out["arch"], out["steps"], len(out["layers"])) == ("lstm", 7, 2)
    ids = torch.tensor([["abcdefg".index(c) for c in "badcafe"]])
    assert (out["source"], out["sample"], out["samples"], out["task"]) == ("given", 0, 1, None)
    assert out["loss_fn"] == "default"
    assert out["inputs"] == ids[0].tolist() and out["labels"] == list("badcafe")
    assert out["targets"] is None and out["target_labels"] is None and out["outputs_kind"] == "logits"
    top, (h_n, c_n) = net.lstm(net.embedding(ids))
    close = lambda a, b: torch.testing.assert_close(torch.tensor(a), b, atol=1e-5, rtol=0)  # noqa: E731
    close(out["layers"][-1]["hidden"], top[0])
    for k in range(2):
        close(out["layers"][k]["hidden"][-1], h_n[k, 0])
        close(out["layers"][k]["cell"][-1], c_n[k, 0])
        assert set(out["layers"][k]["gates"]) == set("ifgo") and len(out["layers"][k]["gates"]["f"]) == 7
    logits = net.fc(top[0])
    close(out["outputs"], logits)
    last = logits[-1].detach().requires_grad_()  # L = CE(last logits, own argmax); dL/dh_T = W^T dL/dlogits
    F.cross_entropy(last[None], last.argmax()[None]).backward()
    close(out["grad_norms"][-1][-1], (net.fc.weight.T @ last.grad).norm())
    assert len(out["grad_norms"]) == 2 and all(len(g) == 7 for g in out["grad_norms"])


def test_trace_csv_writes_long_form_tables(runs, files):
    d = files[0]
    p = runs["trace csv"]
    assert p.returncode == 0, p.stderr
    names = {Path(line).name for line in p.stdout.split()}
    assert names == {"hidden.csv", "cell.csv", "gates.csv", "outputs.csv", "grad_norms.csv", "inputs.csv"}
    rows = list(csv.DictReader(open(d / "out" / "hidden.csv")))
    assert len(rows) == 2 * T * H and set(rows[0]) == {"step", "layer", "unit", "quantity", "value"}
    gates = {r["quantity"] for r in csv.DictReader(open(d / "out" / "gates.csv"))}
    assert gates == {"gate.i", "gate.f", "gate.g", "gate.o"}
    assert len(list(csv.DictReader(open(d / "out" / "grad_norms.csv")))) == 2 * T
    inputs = list(csv.DictReader(open(d / "out" / "inputs.csv")))
    assert len(inputs) == T * D
    assert [float(r["value"]) for r in inputs[:D]] == pytest.approx([0.1 * j for j in range(D)])  # step 0


def test_a_malicious_file_is_refused_and_never_runs(runs, files):
    assert_clean_refusal(runs["evil"], "will not unpickle")
    assert not (files[0] / "pwned").exists()




def reference_grad_norms(lstm: nn.LSTM, x):
    """||dL/dh_t|| per layer and step for L = 0.5 ||h_T||² of the top layer, from a loop of nn.LSTMCell."""
    cells = []
    for k in range(lstm.num_layers):
        cell = nn.LSTMCell(lstm.input_size if k == 0 else H, H)
        cell.load_state_dict({n: getattr(lstm, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
        cells.append(cell)
    h, c = [torch.zeros(1, H) for _ in cells], [torch.zeros(1, H) for _ in cells]
    hs = [[] for _ in cells]
    for t in range(x.shape[1]):
        inp = x[:, t]
        for k, cell in enumerate(cells):
            h[k], c[k] = cell(inp, (h[k], c[k]))
            h[k].retain_grad()
            hs[k].append(h[k])
            inp = h[k]
    (0.5 * h[-1].pow(2).sum()).backward()
    return torch.tensor([[float(ht.grad.norm()) for ht in layer] for layer in hs])


def test_trace_values_without_a_head_matches_torch_and_its_gradients(files, capsys):
    d, _, vectors = files
    code, out, err = run_main(capsys, "trace", d / "vectors.pth", "--values", d / "values.csv", "--json")
    assert code == 0, err
    result = json.loads(out)
    x = torch.tensor([[[0.1 * (i + j) for j in range(D)] for i in range(T)]])
    top, _ = vectors.lstm(x)
    torch.testing.assert_close(torch.tensor(result["outputs"]), top[0], atol=1e-5, rtol=0)  # no head: h of the top
    torch.testing.assert_close(torch.tensor(result["grad_norms"]), reference_grad_norms(vectors.lstm, x), atol=1e-5,
                               rtol=0)


def test_trace_text_one_hot_table_and_seq2seq_inspect(files, capsys, tmp_path):
    d = files[0]
    (tmp_path / "v.json").write_text(json.dumps(list("vwxyz")))  # 5 tokens for 5 input features: one-hot
    code, out, err = run_main(capsys, "trace", d / "vectors.pth", "--text", "zyx", "--vocab", tmp_path / "v.json")
    assert code == 0, err
    assert out.splitlines()[0].startswith("lstm, 3 steps") and len(out.splitlines()) == 2 + 3
    assert [line.split()[-1] for line in out.splitlines()[2:]] == ["z", "y", "x"]  # one-hot rows, labelled
    code, out, err = run_main(capsys, "inspect", d / "s2s.safetensors", "--json")
    assert code == 0, err
    s = json.loads(out)
    assert s["source"] == "rnnviz" and len(s["layers"]) == 2  # encoder's layer, then decoder's


def test_trace_gives_a_bidirectional_models_backward_direction_by_position(capsys, tmp_path):
    """JSON's `backward` holds the backward direction's states row by row at the input's positions (row t read
    x_{T−1} down to x_t): torch's last H outputs; `layers` the forward direction's, its first H."""
    torch.manual_seed(2)
    gru = nn.GRU(2, 3, 2, bidirectional=True, batch_first=True)
    torch.save(gru.state_dict(), tmp_path / "bidir.pt")
    (tmp_path / "x.csv").write_text("0.5,-1\n0.25,2\n-1.5,0\n1,1\n")
    code, out, err = run_main(capsys, "trace", tmp_path / "bidir.pt", "--values", tmp_path / "x.csv", "--json")
    assert code == 0, err
    s = json.loads(out)
    ref = gru(torch.tensor([[[0.5, -1], [0.25, 2], [-1.5, 0], [1, 1]]]))[0][0].detach()
    torch.testing.assert_close(torch.tensor(s["layers"][-1]["hidden"]), ref[:, :3], atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.tensor(s["backward"]["layers"][-1]["hidden"]), ref[:, 3:], atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.tensor(s["outputs"]), ref, atol=1e-5, rtol=0)  # no head: both directions
    code, out, err = run_main(capsys, "trace", tmp_path / "bidir.pt", "--values", tmp_path / "x.csv")
    assert code == 0 and "backward" in out, err


@pytest.fixture(scope="module")
def bad(files):
    d = files[0]
    write = {
        "empty.pt": b"", "random.bin": bytes(range(256)) * 8,
        "module.pt": {"model": CharLSTM(), "hook": os.getcwd},  # a function in a pickle: refused, never called
        "nan.pt": {**CharLSTM().state_dict(), "lstm.weight_hh_l0": torch.full((4 * H, H), float("nan"))},
        "shapes.pt": {**CharLSTM().state_dict(), "lstm.weight_hh_l1": torch.zeros(4 * H, H + 1)},
        "big_hidden.pt": nn.RNN(1, 1025).state_dict(),
        "linear.pt": nn.Linear(2, 3).state_dict(),
    }
    for name, obj in write.items():
        if isinstance(obj, bytes):
            (d / name).write_bytes(obj)
        else:
            torch.save(obj, d / name)
    with open(d / "huge.pt", "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs nothing, never read
    (d / "short.txt").write_text("abc")
    (d / "narrow.csv").write_text("1,2,3\n4,5,6\n")
    (d / "nan.csv").write_text("1,2,3,4,nan\n")
    return d


BAD_RUNS = {
    "empty file": (("inspect", "empty.pt"), "empty"),
    "truncated file": (("trace", "truncated.pt", "--tokens", "1,2"), "damaged or truncated"),
    "random bytes": (("inspect", "random.bin"), "not a checkpoint rnnviz can read"),
    "a function in a pickle": (("inspect", "module.pt"), "asks to call posix.getcwd"),
    "NaN weights": (("inspect", "nan.pt"), "NaN or inf"),
    "inconsistent shapes": (("inspect", "shapes.pt"), "shapes disagree"),
    "hidden too big": (("inspect", "big_hidden.pt"), "hidden size 1025"),
    "file too big": (("inspect", "huge.pt"), "over rnnviz's limit"),
    "no recurrent weights": (("inspect", "linear.pt", "--json"), "found no recurrent weights"),
    "missing file": (("inspect", "missing.pt"), "no file at"),
    "missing vocab": (("inspect", "char.pt", "--vocab", "missing.txt"), "no vocabulary file"),
    "vocab too short": (("inspect", "char.pt", "--vocab", "short.txt"), "vocabulary has 3 tokens"),
    "char not in vocab": (("trace", "char.pt", "--text", "abz", "--vocab", "vocab.txt"),
                          "'z' is not in the vocabulary"),
    "text without vocab": (("trace", "char.pt", "--text", "abc"), "needs a vocabulary"),
    "token out of range": (("trace", "char.pt", "--tokens", "1,9"), "token id 9 is out of range"),
    "tokens not ints": (("trace", "char.pt", "--tokens", "1,x"), "integer ids"),
    "no tokens": (("trace", "char.pt", "--tokens", ","), "empty"),
    "values for tokens": (("trace", "char.pt", "--values", "values.csv"), "reads token ids"),
    "tokens for vectors": (("trace", "vectors.pth", "--tokens", "1,2"), "reads vectors of 5 features"),
    "too few columns": (("trace", "vectors.pth", "--values", "narrow.csv"), "has 3 values"),
    "NaN in CSV": (("trace", "vectors.pth", "--values", "nan.csv"), "not a finite number"),
    "missing CSV": (("trace", "vectors.pth", "--values", "nope.csv"), "no CSV file"),
    "seq2seq": (("trace", "s2s.safetensors", "--tokens", "1,2"), "encoder-decoder"),
    "tokens, no probe batch": (("trace", "char.pt", "--json"), "give the sequence to trace with --tokens"),
    "vectors, no probe batch": (("trace", "vectors.pth"), "give the sequence to trace with --values"),
    "seq2seq, no probe batch": (("trace", "s2s.safetensors", "--json"), "encoder-decoder holds no probe batch"),
    "sample out of range": (("trace", "char.pt", "--tokens", "1,2", "--sample", "1"), "--sample 1 is out of range"),
    "two inputs given": (("trace", "char.pt", "--tokens", "1", "--text", "a"), "not allowed with argument"),
    "bad nonlinearity": (("inspect", "char.pt", "--nonlinearity", "sigmoid"), "invalid choice"),
}


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_every_bad_input_exits_2_with_one_line(case, bad, capsys):
    args, words = BAD_RUNS[case]
    args = [bad / a if a.endswith((".pt", ".pth", ".bin", ".txt", ".csv", ".safetensors")) else a for a in args]
    code, out, err = run_main(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("error:") and err.count("\n") == 1 and words in err, err


# -- a saved run's own probe batch: `trace RUN --json` without an input option ----------------------------------------
def close(a, b):
    torch.testing.assert_close(torch.as_tensor(a, dtype=torch.float32), b.detach().float(), atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny runs saved by the CLI's own train command: vectors (adding, 2 layers), tokens (code_lm), seq2seq."""
    d = tmp_path_factory.mktemp("runs")
    tiny = ["--steps", "5", "--hidden", "4", "--seed", "3"]
    for name, args in {"adding": ["--arch", "lstm", "--seq-len", "8", "--layers", "2"],
                       "code_lm": ["--arch", "lstm", "--seq-len", "8"],
                       "reverse": ["--arch", "gru", "--seq-len", "5"]}.items():
        assert main(["train", "--task", name, *args, *tiny, "--out", str(d / f"{name}.safetensors"), "--json"]) == 0
    return d


def traced_samples(capsys, path) -> list[dict]:
    """`trace PATH --json --sample K` for every sample of the probe batch."""
    reports, k = [], 0
    while not reports or k < reports[0]["samples"]:
        code, out, err = run_main(capsys, "trace", path, "--json", "--sample", k)
        assert code == 0, err
        reports.append(json.loads(out))
        k += 1
    return reports


def torch_layers(kind: str, rnn, x, state=None) -> tuple[list, list]:
    """Each layer of an rnnviz stack run as its own torch.nn.<kind> from the same weights: ([h (B, T, H)], [final])."""
    sd, seqs, finals = rnn.state_dict(), [], []
    for k in range(rnn.num_layers):
        w = {f"{n}_l0": sd[f"{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        net = getattr(nn, kind)(w["weight_ih_l0"].shape[1], w["weight_hh_l0"].shape[1], batch_first=True)
        net.load_state_dict(w)
        x, final = net(x, None if state is None else state[k:k + 1])
        seqs.append(x)
        finals.append(final)
    return seqs, finals


def test_trace_replays_the_runs_probe_batch_and_torch_recomputes_it(trained, capsys):
    path = trained / "adding.safetensors"
    loaded = load_checkpoint(path)
    reports = traced_samples(capsys, path)
    latest = loaded.traces[-1]
    assert len(reports) == latest.samples == 4
    x, y = torch.tensor([r["inputs"] for r in reports]), torch.tensor([r["targets"] for r in reports])
    assert torch.equal(x, latest.inputs) and torch.equal(y, latest.targets)  # float32 round-trips exactly
    first = reports[0]
    assert set(first) == TRACE_KEYS
    assert (first["source"], first["task"], first["loss_fn"]) == ("probe", "adding", "task")
    assert first["outputs_kind"] == "values" and len(first["labels"]) == 8 and "●" in "".join(first["labels"])
    model = loaded.model
    with torch.no_grad():
        seqs, finals = torch_layers("LSTM", model.rnn, x)
        outputs, _ = model(x)
        loss = get_task("adding", seq_len=8).loss(outputs, y)
    for k, r in enumerate(reports):
        assert r["sample"] == k and r["steps"] == 8 and len(r["layers"]) == 2
        for layer in range(2):
            close(r["layers"][layer]["hidden"], seqs[layer][k])
            close(r["layers"][layer]["cell"][-1], finals[layer][1][0, k])
        close(r["outputs"], outputs[k])
        assert r["loss"] == pytest.approx(float(loss), abs=1e-5)  # the task's MSE over all 4 samples, not one


def test_trace_of_a_token_run_reports_ids_and_the_vocabularys_strings(trained, capsys):
    path = trained / "code_lm.safetensors"
    loaded = load_checkpoint(path)
    reports = traced_samples(capsys, path)
    latest, vocab = loaded.traces[-1], loaded.vocab
    for k, r in enumerate(reports):
        assert all(type(i) is int for i in r["inputs"]) and r["inputs"] == latest.inputs[k].tolist()
        assert r["targets"] == latest.targets[k].tolist()
        assert r["labels"] == [vocab[i] for i in r["inputs"]] and r["target_labels"] == [vocab[i] for i in r["targets"]]
        assert (r["outputs_kind"], r["loss_fn"]) == ("logits", "task")
    x = torch.tensor([r["inputs"] for r in reports])
    with torch.no_grad():
        seqs, _ = torch_layers("LSTM", loaded.model.rnn, loaded.model.embedding(x))
        outputs, _ = loaded.model(x)
    for k, r in enumerate(reports):
        close(r["layers"][0]["hidden"], seqs[0][k])
        close(r["outputs"], outputs[k])


def test_trace_of_an_encoder_decoder_reports_both_stacks(trained, capsys):
    path = trained / "reverse.safetensors"
    loaded = load_checkpoint(path)
    reports = traced_samples(capsys, path)
    first = reports[0]
    assert {"encoder", "decoder", "attention"} <= set(first) and "layers" not in first
    assert first["labels"] == [chr(ord("a") + i) for i in first["inputs"]] and first["target_labels"][-1] == "<end>"
    x, y = torch.tensor([r["inputs"] for r in reports]), torch.tensor([r["targets"] for r in reports])
    assert torch.equal(x, loaded.traces[-1].inputs) and torch.equal(y, loaded.traces[-1].targets)
    model = loaded.model  # GRU, dot attention: the decoder reads only the previous target token
    with torch.no_grad():
        enc, enc_final = torch_layers("GRU", model.encoder, model.embedding(x))
        dec, _ = torch_layers("GRU", model.decoder, model.decoder_inputs(y), torch.cat(enc_final))
        outputs, _ = model(x, y)
    for k, r in enumerate(reports):
        assert (r["encoder"]["steps"], r["decoder"]["steps"], r["steps"]) == (5, 6, 6)
        close(r["encoder"]["layers"][0]["hidden"], enc[0][k])
        close(r["decoder"]["layers"][0]["hidden"], dec[0][k])
        close(r["outputs"], outputs[k])
        assert torch.tensor(r["attention"]).shape == (6, 5)
