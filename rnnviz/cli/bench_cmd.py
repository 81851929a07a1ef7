"""`rnnviz bench [--json] [--scan]`: training and tracing speed against plain torch.nn, side by side; or the linear
recurrences' parallel scan against their loop (rnnviz/benchmark.py)."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure speed against torch.nn (ratios; a benchmark, not a test)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--archs", default="rnn_tanh,lstm,gru", help="comma-separated architectures")
    p.add_argument("--rounds", type=int, default=5, help="interleaved measurement rounds")
    p.add_argument("--scan", action="store_true",
                   help="instead: minGRU/minLSTM's parallel scan against their step loop and nn.GRU/nn.LSTM, "
                        "forward+backward at lengths 64, 512, 2048")
    p.set_defaults(run=run)


def run(args) -> int:
    from rnnviz.benchmark import REFERENCE, TORCH, run_bench

    archs = [a.strip() for a in args.archs.split(",") if a.strip()]
    bad = [a for a in archs if a not in TORCH and a not in REFERENCE]
    if bad:
        raise ValueError(f"bench compares against torch.nn, so --archs takes {', '.join([*TORCH, *REFERENCE])}; "
                         f"got {bad[0]!r}")
    if not 1 <= args.rounds <= 100:
        raise ValueError(f"--rounds {args.rounds} is out of range; use 1 to 100")
    if args.scan:
        return _scan(args)
    data = run_bench(archs, rounds=args.rounds)
    if args.json:
        print(json.dumps(data))
        return 0
    c = data["config"]
    print(f"batch {c['batch']}, length {c['seq_len']}, hidden {c['hidden']}, embedding {c['embed']}, "
          f"vocabulary {c['vocab']}, Adam, {c['threads']} threads")
    print(f"{'arch':<9} {'torch':>8} {'torch ms':>9} {'rnnviz ms':>10} {'ratio':>6} {'probe every':>12} "
          f"{'trace ms':>9} {'trace MB (T=1000, H=512)':>25}")
    for r in data["results"]:
        print(f"{r['arch']:<9} {r['torch']:>8} {r['torch_ms']:>9} {r['rnnviz_ms']:>10} {r['ratio']:>6} "
              f"{r['probe_every']:>12} {r['trace_ms']:>9} {r['trace_mb_t1000_h512']:>25}")
    return 0


def _scan(args) -> int:
    from rnnviz.benchmark import bench_scan

    data = bench_scan(rounds=args.rounds)
    if args.json:
        print(json.dumps(data))
        return 0
    c = data["config"]
    print(f"one layer, forward + backward, batch {c['batch']}, width {c['width']}, {c['threads']} threads, "
          f"median of {c['rounds']} interleaved rounds (ms)")
    ways = list(data["results"][0]["ms"])
    print(f"{'length':>6} " + " ".join(f"{w:>{max(9, len(w))}}" for w in ways) + "  scan vs loop  scan vs nn.GRU")
    for r in data["results"]:
        print(f"{r['length']:>6} " + " ".join(f"{r['ms'][w]:>{max(9, len(w))}}" for w in ways)
              + f"  {r['minGRU scan vs loop']:>11}×  {r['minGRU scan vs nn.GRU']:>12}×")
    return 0
