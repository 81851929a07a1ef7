"""Reproduces the README's claims with the commands it shows (a benchmark script, never a test):
the adding problem (LSTM vs tanh RNN), geometric vanishing at spectral radius 0.5, and clipping curing a
relu RNN at radius 1.5. Prints each command and what it returned."""
import json
import subprocess
import sys

import torch

from rnnviz.tasks import get_task
from rnnviz.training import TrainConfig, Trainer

ADDING = "python -m rnnviz train --task adding --arch {arch} --seq-len 50 --steps 3000 --seed 1 --json"
CLIP = ("python -m rnnviz train --task adding --arch rnn_relu --init spectral --radius 1.5 --optimizer sgd "
        "--lr 0.01 --steps 300 --seed 1 --json{clip}")


def run(cmd: str) -> dict:
    print(f"$ {cmd}", flush=True)
    out = subprocess.run(cmd.split(), capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    result = json.loads(out)
    print("  ", {k: result[k] for k in ("steps", "val_loss", "val_metric", "diverged", "seconds")}, flush=True)
    return result


def vanishing() -> None:
    t = get_task("adding", seq_len=50)
    tr = Trainer(t, t.model_config("rnn_tanh", 64), TrainConfig(init="spectral", init_radius=0.5), device="cpu")
    g = tr.probe()["grad.h"][0].norm(dim=-1).mean(0)  # (T,)
    ratio = (g[:-1] / g[1:])[:40]
    print("tanh RNN, ρ(W_hh) = 0.5: ||dL/dh_t|| / ||dL/dh_{t+1}|| over the first 40 steps: "
          f"median {float(ratio.median()):.3f}, max {float(ratio.max()):.3f}; ||dL/dh_0|| / ||dL/dh_49|| = "
          f"{float(g[0] / g[-1]):.2e}")


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    lstm, rnn = run(ADDING.format(arch="lstm")), run(ADDING.format(arch="rnn_tanh"))
    print(f"adding, length 50: LSTM val MSE {lstm['val_loss']:.4f} (< 0.05), tanh RNN {rnn['val_loss']:.4f} (> 0.1); "
          "predicting the mean scores about 0.167")
    vanishing()
    wild, tame = run(CLIP.format(clip="")), run(CLIP.format(clip=" --clip 1.0"))
    print(f"relu RNN at radius 1.5: without clipping diverged={wild['diverged']} after {wild['steps']} steps; "
          f"with --clip 1.0 diverged={tame['diverged']}, val MSE {tame['val_loss']:.4f}")
