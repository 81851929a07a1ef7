"""Speed and memory of training and tracing, measured side by side with plain torch.nn in one process.

Not a test: machines are shared and noisy, so only ratios of interleaved runs mean anything. The torch
reference is what a user would write: nn.Embedding -> nn.RNN/LSTM/GRU -> nn.Linear, cross-entropy, Adam.
The rnnviz side is the real Trainer (fast path, probes at the default cadence, evaluation, divergence
guard) fed the same batches.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from rnnviz.build import build_model
from rnnviz.models import ModelConfig
from rnnviz.tasks import get_task
from rnnviz.trace import probe
from rnnviz.training import TrainConfig, Trainer

TORCH = {"rnn_tanh": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
# no torch.nn twin: measured against nn.LSTM (issue #13's targets: a training step within 2× of nn.LSTM's for a
# cell with a parallel form, within 4× for the sLSTM, sequential by design)
REFERENCE = {"mingru": "lstm", "minlstm": "lstm", "lru": "lstm", "s6": "lstm", "mamba": "lstm", "slstm": "lstm",
             "mlstm": "lstm"}
SCAN_LENGTHS = (64, 512, 2048)


@dataclass
class BenchConfig:
    batch: int = 32
    seq_len: int = 100
    hidden: int = 128
    embed: int = 32
    lr: float = 3e-3
    rounds: int = 5  # interleaved torch/rnnviz blocks; the median per-step time of each side is reported
    steps_per_round: int = 100  # one probe falls in each rnnviz block at the default cadence
    trace_repeats: int = 5
    memory_steps: int = 1000  # the trace-size measurement: T
    memory_hidden: int = 512  # and H


class TorchReference(nn.Module):
    def __init__(self, arch: str, vocab: int, cfg: BenchConfig):
        super().__init__()
        self.embedding = nn.Embedding(vocab, cfg.embed)
        self.rnn = TORCH[REFERENCE.get(arch, arch)](cfg.embed, cfg.hidden, batch_first=True)
        self.head = nn.Linear(cfg.hidden, vocab)

    def forward(self, x):
        return self.head(self.rnn(self.embedding(x))[0])


def _timed(fn, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1000


def bench_arch(arch: str, cfg: BenchConfig) -> dict:
    task = get_task("code_lm", seq_len=cfg.seq_len)
    vocab = len(task.input_vocab)
    gen = torch.Generator().manual_seed(0)
    batches = [task.batch(cfg.batch, gen) for _ in range(8)]
    torch.manual_seed(0)
    ref = TorchReference(arch, vocab, cfg)
    opt = torch.optim.Adam(ref.parameters(), cfg.lr, fused=True)  # as the Trainer's: the ratio is the cells' alone
    model_cfg = task.model_config(arch, cfg.hidden, 1, embed_size=cfg.embed)
    trainer = Trainer(task, model_cfg, TrainConfig(steps=10**6, batch_size=cfg.batch, lr=cfg.lr), device="cpu")
    i = [0]

    def torch_step():
        x, y = batches[i[0] % len(batches)]
        i[0] += 1
        opt.zero_grad()
        loss = nn.functional.cross_entropy(ref(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()

    def rnnviz_step():
        trainer.step(batches[i[0] % len(batches)])
        i[0] += 1

    for fn in (torch_step, rnnviz_step):
        _timed(fn, 5)  # warm-up
    t_ms, r_ms = [], []
    for _ in range(cfg.rounds):
        t_ms.append(_timed(torch_step, cfg.steps_per_round))
        r_ms.append(_timed(rnnviz_step, cfg.steps_per_round))
    torch_ms, rnnviz_ms = statistics.median(t_ms), statistics.median(r_ms)
    x, y = trainer.probe_batch
    trace_ms = statistics.median(
        [_timed(lambda: probe(trainer.model, x, y, task.loss), 1) for _ in range(cfg.trace_repeats)])
    return {"arch": arch, "torch": f"nn.{TORCH[REFERENCE.get(arch, arch)].__name__}", "torch_ms": round(torch_ms, 2),
            "rnnviz_ms": round(rnnviz_ms, 2),
            "ratio": round(rnnviz_ms / torch_ms, 3), "probe_every": trainer.cfg.probe_every,
            "trace_ms": round(trace_ms, 1), "trace_mb_t1000_h512": trace_megabytes(arch, cfg)}


def trace_megabytes(arch: str, cfg: BenchConfig) -> float:
    """Size of one full 4-sample trace at T=memory_steps, H=memory_hidden (what a probe keeps)."""
    m = build_model(ModelConfig(arch=arch, vocab_size=65, embed_size=cfg.embed, hidden_size=cfg.memory_hidden,
                                output_size=65), device="cpu", seed=0)
    x = torch.randint(0, 65, (4, cfg.memory_steps), generator=torch.Generator().manual_seed(0))
    return round(probe(m, x).nbytes / 2**20, 1)


def bench_scan(lengths=SCAN_LENGTHS, batch: int = 8, width: int = 64, rounds: int = 3) -> dict:
    """Forward + backward ms of one recurrent layer (input and state width `width`, loss = sum of outputs) at each
    length, interleaved and medians of `rounds`: minGRU and minLSTM as the associative scan training uses and as
    their own step loop, minGRU as the paper's log-space scan, the LRU and S6 (N = 4) as scans, the mLSTM's chunked
    parallel form and its loop, nn.GRU and nn.LSTM (torch's fused kernels); with minGRU's scan speed-up over its loop
    and over nn.GRU."""
    from rnnviz.linear_cells import coefficients
    from rnnviz.scan import log_scan
    from rnnviz.stack import Recurrent

    def log_space(rnn, x):
        w_ih, b_ih, _ = rnn.layer(0)
        log_a, b = coefficients(nn.functional.linear(x, w_ih, b_ih), rnn.spec, log=True)
        return log_scan(log_a, b, x.new_zeros(x.shape[0], width))

    torch.manual_seed(0)
    layers = {a: Recurrent(a, width, width) for a in ("mingru", "minlstm", "lru", "s6", "mlstm")}
    layers |= {"gru": nn.GRU(width, width, batch_first=True), "lstm": nn.LSTM(width, width, batch_first=True)}
    ways = {"minGRU scan": lambda x: layers["mingru"](x)[0],
            "minGRU loop": lambda x: layers["mingru"](x, scan=False)[0],
            "minGRU log-space scan": lambda x: log_space(layers["mingru"], x),
            "minLSTM scan": lambda x: layers["minlstm"](x)[0],
            "minLSTM loop": lambda x: layers["minlstm"](x, scan=False)[0],
            "LRU scan": lambda x: layers["lru"](x)[0], "S6 scan": lambda x: layers["s6"](x)[0],
            "mLSTM parallel": lambda x: layers["mlstm"](x)[0],
            "mLSTM loop": lambda x: layers["mlstm"](x, scan=False)[0],
            "nn.GRU": lambda x: layers["gru"](x)[0], "nn.LSTM": lambda x: layers["lstm"](x)[0]}
    rows = []
    for T in lengths:
        x = torch.randn(batch, T, width, requires_grad=True)
        n = max(1, 2048 // T)  # repeats per block: short sequences are timed over several calls
        times: dict[str, list[float]] = {w: [] for w in ways}
        for r in range(rounds + 1):  # the first round warms up and is dropped
            for name, fn in ways.items():
                ms = _timed(lambda: fn(x).sum().backward(), n)
                if r:
                    times[name].append(ms)
        ms = {w: round(statistics.median(v), 2) for w, v in times.items()}
        rows.append({"length": T, "ms": ms, "minGRU scan vs loop": round(ms["minGRU loop"] / ms["minGRU scan"], 1),
                     "minGRU scan vs nn.GRU": round(ms["nn.GRU"] / ms["minGRU scan"], 2)})
    return {"config": {"batch": batch, "width": width, "rounds": rounds, "threads": torch.get_num_threads()},
            "results": rows}


def run_bench(archs=("rnn_tanh", "lstm", "gru"), cfg: BenchConfig | None = None, **overrides) -> dict:
    cfg = replace(cfg or BenchConfig(), **overrides)
    return {"config": asdict(cfg) | {"vocab": len(get_task("code_lm").input_vocab), "optimizer": "adam",
                                     "threads": torch.get_num_threads()},
            "results": [bench_arch(a, cfg) for a in archs]}
