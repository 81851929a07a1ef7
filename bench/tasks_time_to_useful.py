"""How long each task's TrainDefaults take to reach a useful metric on this machine. A benchmark, never a test.

Trains every task (or those named) with its defaults through rnnviz.training.Trainer as the app does
(evaluation every 25 steps and a probe trace every 100 included), or with a bare Adam loop (--plain),
and prints: task, arch, steps, wall seconds, CPU seconds (all threads; a check when the machine is shared),
final validation metric, and whether it met USEFUL below.
The last row is a control: the adding problem with a tanh RNN, which should NOT be useful.

    python bench/tasks_time_to_useful.py [--tasks adding copy_memory] [--archs lstm mingru] [--seed 1]
                                         [--threads 2] [--plain]

--archs trains every named task with each architecture (its defaults otherwise unchanged), side by side.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.build import build_model  # noqa: E402
from rnnviz.tasks import TASKS, Task, get_task  # noqa: E402

USEFUL = {  # validation metric a run must reach (>= when higher is better, else <=); chance in the comment
    "circle": 0.95,  # accuracy; chance 0.5
    "sine_gen": 0.05,  # mse; predicting 0 scores 0.5
    "pattern_gen": 0.95,  # accuracy; chance 1/n_symbols
    "parity": 0.95,  # accuracy; chance 0.5
    "majority": 0.9,  # accuracy; chance 0.5
    "sentiment": 0.95,  # accuracy; chance 0.5
    "bracket_depth": 0.95,  # accuracy; always-the-mode ~0.3
    "reverse": 0.9,  # token accuracy; chance 1/9
    "sort_digits": 0.9,  # token accuracy; chance 1/11
    "spell_numbers": 0.9,  # token accuracy; chance 1/31
    "adding": 0.05,  # mse; the mean predictor scores 0.167
    "copy_memory": 0.9,  # recall accuracy; chance 1/8
    "selective_copy": 0.9,  # recall accuracy; chance 1/8
    "induction_heads": 0.9,  # accuracy; chance 1/8
    "latching": 0.95,  # accuracy; chance 0.5
    "first_symbol": 0.95,  # accuracy at lag 20; chance 0.25
    "noisy_sine": 0.03,  # mse; repeating the last reading scores 0.087, the best linear fit on 8 readings 0.048
    "sines": 0.01,  # mse; repeating the last value scores 0.046 (a linear fit on 8 values: 1e-4, sums of sines are AR)
    "code_lm": 2.5,  # bits per char; uniform over 65 is 6.0, unigram about 4.5
    "text_lm": 3.5,  # bits per char on held-out text; uniform over the default text's 35 characters is 5.1 and
    #                  its letter frequencies alone (unigram) 4.2: below 3.5 it has learned spelling beyond them
}


def met(task: Task, value: float) -> bool:
    return value >= USEFUL[task.info.name] if task.info.higher_is_better else value <= USEFUL[task.info.name]


def train_with_trainer(task: Task, arch: str, seed: int) -> float:
    from rnnviz.training import TrainConfig, Trainer

    d = task.defaults
    trainer = Trainer(task, task.model_config(arch), TrainConfig(steps=d.steps, batch_size=d.batch_size, lr=d.lr,
                                                                 seed=seed))
    for _ in trainer.reports():
        pass
    return trainer.evaluate()[1]


def train_plain(task: Task, arch: str, seed: int) -> float:
    """A bare Adam loop with the Trainer's seeding: model seed, data seed + 1, validation seed + 10000."""
    d, cfg = task.defaults, task.model_config(arch)
    model = build_model(cfg, device="cpu", seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=d.lr)
    gen = torch.Generator().manual_seed(seed + 1)
    run = (lambda x, y: model(x, y)[0]) if cfg.seq2seq else (lambda x, y: model(x)[0])
    for _ in range(d.steps):
        x, y = task.batch(d.batch_size, gen)
        loss = task.loss(run(x, y), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = task.batch(256, torch.Generator().manual_seed(seed + 10_000))
    model.eval()
    with torch.no_grad():
        return task.metric(run(x, y), y)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="*", default=list(TASKS), help="task names (default: all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--archs", nargs="*", default=None, help="architectures to train each task with "
                   "(default: the task's own)")
    p.add_argument("--plain", action="store_true", help="a bare Adam loop instead of rnnviz.training")
    p.add_argument("--no-control", action="store_true", help="skip the adding/rnn_tanh control row")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    train = train_plain if args.plain else train_with_trainer
    runs = [(name, a) for name in args.tasks for a in (args.archs or [None])]
    runs += [] if args.no_control else [("adding", "rnn_tanh")]
    print(f"{'task':<15} {'arch':<9} {'steps':>6} {'seconds':>8} {'cpu s':>6} {'metric':<16} {'value':>8} {'useful':>7}"
          "  useful if")
    for name, arch in runs:
        task = get_task(name)
        arch = arch or task.defaults.arch
        start, cpu = time.perf_counter(), time.process_time()
        value = train(task, arch, args.seed)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        sign = ">=" if task.info.higher_is_better else "<="
        print(f"{name:<15} {arch:<9} {task.defaults.steps:>6} {seconds:>8.1f} {cpu:>6.1f} {task.info.metric:<16} {value:>8.4f} "
              f"{'yes' if met(task, value) else 'no':>7}  {sign} {USEFUL[name]:g}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
