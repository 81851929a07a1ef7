"""`python -m rnnviz list / train`: the JSON a script relies on, and one clear line for every mistake."""
import json
import subprocess
import sys

import pytest

from rnnviz.cli import main


def cli(*args):
    p = subprocess.run([sys.executable, "-m", "rnnviz", *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [a["name"] for a in data["archs"]]
    assert names == ["rnn_tanh", "rnn_relu", "lstm", "gru", "gru_reset_before", "lstm_peephole", "lstm_nig",
                     "lstm_nfg", "lstm_nog", "lstm_cifg", "lstm_niaf", "lstm_noaf", "esn", "mingru", "minlstm", "lru",
                     "s6", "mamba", "slstm", "mlstm"]
    lstm = data["archs"][2]
    assert lstm == lstm | {"family": "lstm", "gates": ["i", "f", "g", "o"], "torch_equivalent": "nn.LSTM"}
    arch = {a["name"]: a for a in data["archs"]}
    for name in ("mingru", "minlstm", "lru", "s6", "mamba", "mlstm"):  # linear: no W_hh, a diagonal Jacobian
        assert arch[name] == arch[name] | {"has_w_hh": False, "torch_equivalent": None}
        assert arch[name]["transition"] == ("rotation" if name == "lru" else "diagonal")
    assert arch["minlstm"]["gates"] == ["f", "i", "n"] and arch["minlstm"]["memory_gate"] == "f"
    assert arch["lru"] == arch["lru"] | {"family": "lru", "gates": [], "blocks": ["B", "D"]}
    assert arch["s6"] == arch["s6"] | {"family": "s6", "gates": ["dt"], "blocks": ["u", "z"], "conv": 0,
                                       "residual_block": False}
    assert arch["mamba"] == arch["s6"] | {"name": "mamba", "summary": arch["mamba"]["summary"],
                                          "equations": arch["mamba"]["equations"], "conv": 4, "residual_block": True}
    assert arch["slstm"] == arch["slstm"] | {"family": "slstm", "gates": ["i", "f", "g", "o"], "has_w_hh": True}
    assert arch["mlstm"] == arch["mlstm"] | {"family": "mlstm", "gates": ["i", "f", "o"],
                                             "blocks": ["q", "k", "v", "o", "i", "f"]}
    assert {"adding", "code_lm", "reverse"} <= {t["name"] for t in data["tasks"]}
    assert all(set(t) == {"name", "sequence_type", "teaches", "inputs", "outputs", "metric"} for t in data["tasks"])


def test_train_json_and_checkpoint(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    code = main(["train", "--task", "parity", "--arch", "gru", "--hidden", "8", "--steps", "30", "--seq-len", "6",
                 "--batch", "8", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert set(summary) == {"task", "arch", "steps", "loss", "val_loss", "metric_name", "val_metric", "diverged",
                            "seconds", "out"}
    assert summary["steps"] == 30 and summary["task"] == "parity" and summary["diverged"] is False
    assert "steps/s" in captured.err  # the progress line
    from rnnviz.checkpoints import load_checkpoint

    loaded = load_checkpoint(out)
    assert loaded.config.arch == "gru" and loaded.history[-1]["step"] == 30 and loaded.traces


def test_train_reports_divergence(capsys):
    code = main(["train", "--task", "adding", "--arch", "rnn_relu", "--init", "spectral", "--init-radius", "1.5",
                 "--optimizer", "sgd", "--lr", "0.01", "--steps", "40", "--seed", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out.strip().splitlines()[-1])["diverged"] is True
    assert "diverged: the loss became" in captured.err and "--clip" in captured.err


@pytest.mark.parametrize("args,message", [
    (["--task", "nope", "--arch", "lstm"], "unknown task 'nope'"),
    (["--task", "parity", "--arch", "transformer"], "unknown architecture 'transformer'"),
    (["--task", "parity", "--arch", "lstm", "--hidden", "100000"], "hidden size 100000"),
    (["--task", "parity", "--arch", "lstm", "--layers", "9"], "9 layers"),
    (["--task", "parity", "--arch", "lstm", "--lr", "-1"], "learning rate -1.0"),
    (["--task", "parity", "--arch", "lstm", "--seq-len", "0"], "seq_len 0"),
    (["--task", "parity", "--arch", "lstm", "--init", "xavier"], "unknown initialisation 'xavier'"),
    (["--task", "parity", "--arch", "lstm", "--steps", "abc"], "invalid int value: 'abc'"),
    (["--task", "reverse", "--arch", "gru", "--tbptt", "3"], "encoder-decoder"),
])
def test_train_errors_are_one_line(args, message, capsys):
    """In-process (main() is what `python -m rnnviz` calls; the subprocess path is checked once below)."""
    argv = ["train", *args] + ([] if "--steps" in args else ["--steps", "5"])
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors (a bad int) exit from inside parse_args
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], err
    assert "Traceback" not in err


def test_a_mistake_from_the_shell_is_one_line_and_exit_code_2():
    code, out, err = cli("train", "--task", "nope", "--arch", "lstm")
    assert code == 2 and err.strip().splitlines() == [err.strip()] and "unknown task 'nope'" in err
    assert "Traceback" not in err
