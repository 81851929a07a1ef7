"""`rnnviz bench [--json]`: training and tracing speed against plain torch.nn, side by side (rnnviz/benchmark.py)."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure speed against torch.nn (ratios; a benchmark, not a test)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--archs", default="rnn_tanh,lstm,gru", help="comma-separated architectures")
    p.add_argument("--rounds", type=int, default=5, help="interleaved measurement rounds")
    p.set_defaults(run=run)


def run(args) -> int:
    from rnnviz.benchmark import run_bench

    archs = [a.strip() for a in args.archs.split(",") if a.strip()]
    bad = [a for a in archs if a not in ("rnn_tanh", "lstm", "gru")]
    if bad:
        raise ValueError(f"bench compares against torch.nn, so --archs takes rnn_tanh, lstm, gru; got {bad[0]!r}")
    if not 1 <= args.rounds <= 100:
        raise ValueError(f"--rounds {args.rounds} is out of range; use 1 to 100")
    data = run_bench(archs, rounds=args.rounds)
    if args.json:
        print(json.dumps(data))
        return 0
    c = data["config"]
    print(f"batch {c['batch']}, length {c['seq_len']}, hidden {c['hidden']}, embedding {c['embed']}, "
          f"vocabulary {c['vocab']}, Adam, {c['threads']} threads")
    print(f"{'arch':<9} {'torch ms':>9} {'rnnviz ms':>10} {'ratio':>6} {'probe every':>12} {'trace ms':>9} "
          f"{'trace MB (T=1000, H=512)':>25}")
    for r in data["results"]:
        print(f"{r['arch']:<9} {r['torch_ms']:>9} {r['rnnviz_ms']:>10} {r['ratio']:>6} {r['probe_every']:>12} "
              f"{r['trace_ms']:>9} {r['trace_mb_t1000_h512']:>25}")
    return 0
