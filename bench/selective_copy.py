"""Selective copying (Gu & Dao 2023) across cells at one budget, as the README's table reports it. A benchmark,
never a test: each run trains for a minute or more.

Every run goes through rnnviz.run.RunSpec and the Trainer, as the app trains it: task `selective_copy` at its
defaults (4 symbols scattered over 64 places, 8-symbol alphabet, chance 1/8), batch 32, Adam, the same steps and
learning rate for every cell, seeds as given. Runs go two at a time, one thread each (--workers), and print as they
end; a Markdown table follows. `--task induction_heads` measures the other recall that needs selection the same way
(the README's induction-heads table: `--steps 1000 --seeds 1 2 3`).

    python bench/selective_copy.py [--seeds 1 2] [--steps 2000] [--workers 2] [--runs mamba:32:2 lru:128:1]
                                   [--task induction_heads]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUNS = ("mamba:32:2", "s6:32:2", "s6:32:1", "lru:32:2", "lru:128:1", "gru:64:1", "lstm:64:1", "rnn_tanh:64:1")


def train(arch: str, hidden: int, layers: int, steps: int, lr: float, seed: int, task: str = "selective_copy") -> dict:
    import torch

    from rnnviz.run import RunSpec
    from rnnviz.training import Trainer

    torch.set_num_threads(1)
    spec = RunSpec(task=task, arch=arch, hidden=hidden, layers=layers, steps=steps, lr=lr, seed=seed,
                   probe_every=steps, max_traces=1)
    start = time.perf_counter()
    trainer = Trainer.from_spec(spec)
    for _ in trainer.reports():
        pass
    loss, metric = trainer.evaluate()
    state = trainer.model.rnn.state_size * layers
    return dict(arch=arch, hidden=hidden, layers=layers, seed=seed, state=state, steps=steps, lr=lr,
                metric=trainer.task.info.metric,
                seconds=time.perf_counter() - start, loss=loss, accuracy=metric)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="*", default=list(RUNS), help="arch:hidden:layers, e.g. mamba:32:2")
    p.add_argument("--seeds", nargs="*", type=int, default=[1])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--task", default="selective_copy", help="or induction_heads (another recall that needs selection)")
    args = p.parse_args(argv)
    jobs = [(a, int(h), int(n), args.steps, args.lr, s, args.task) for r in args.runs for a, h, n in [r.split(":")]
            for s in args.seeds]
    rows = []
    with mp.get_context("spawn").Pool(args.workers) as pool:
        for row in pool.imap_unordered(_star, jobs):
            rows.append(row)
            print(f"{row['arch']:<9} hidden {row['hidden']:>3} × {row['layers']} layers  state {row['state']:>4}  "
                  f"seed {row['seed']}  {row['metric']} {row['accuracy']:.3f}  loss {row['loss']:.4f}  "
                  f"{row['seconds']:.0f} s", flush=True)
    order = {r: i for i, r in enumerate(args.runs)}
    rows.sort(key=lambda r: (order[f"{r['arch']}:{r['hidden']}:{r['layers']}"], r["seed"]))
    print(f"\n| cell | hidden × layers | numbers in the state | steps, learning rate | {rows[0]['metric']} (seeds "
          f"{', '.join(map(str, args.seeds))}) | seconds (one thread) |\n|---|---|---|---|---|---|")
    for key in args.runs:
        mine = [r for r in rows if f"{r['arch']}:{r['hidden']}:{r['layers']}" == key]
        r = mine[0]
        accuracy = " / ".join(f"{m['accuracy']:.2f}" for m in mine)
        print(f"| `{r['arch']}` | {r['hidden']} × {r['layers']} | {r['state']} | {r['steps']}, {r['lr']:g} | "
              f"{accuracy} | {sum(m['seconds'] for m in mine) / len(mine):.0f} |")
    return 0


def _star(job):
    return train(*job)


if __name__ == "__main__":
    sys.exit(main())
