"""`rnnviz list [--json]`: the architectures and tasks rnnviz knows."""
from __future__ import annotations

import json

from rnnviz.cells import SPECS


def archs() -> list[dict]:
    """Each cell's spec as JSON: what it is, and what the views read from it (equations, gate meanings, W_hh,
    the step Jacobian's form as cells.TRANSITIONS names it; Mamba's block: its convolution's width, the residual)."""
    return [{"name": s.name, "family": s.family, "gates": list(s.gates), "blocks": list(s.blocks),
             "torch_equivalent": s.torch_equivalent, "summary": s.summary, "equations": list(s.equations),
             "gate_meanings": dict(s.gate_meanings), "has_w_hh": s.has_w_hh, "transition": s.transition,
             "memory_gate": s.memory_gate or None, "conv": s.conv, "residual_block": s.residual}
            for s in SPECS.values()]


def tasks() -> list[dict]:
    try:
        from rnnviz.tasks import list_tasks
    except ImportError:  # the task catalogue is optional for the core
        return []
    return list_tasks()


def register(sub) -> None:
    p = sub.add_parser("list", help="list architectures and tasks")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    data = {"archs": archs(), "tasks": tasks()}
    if args.json:
        print(json.dumps(data))
        return 0
    print("architectures:")
    for a in data["archs"]:
        gates = ",".join(a["gates"]) or "-"
        print(f"  {a['name']:<16} gates {gates:<7} {a['transition']:<8} torch {a['torch_equivalent'] or '-':<28} "
              f"{a['summary']}")
    print("tasks:")
    for t in data["tasks"]:
        print(f"  {t['name']:<14} {t['sequence_type']:<19} {t['metric']:<16} {t['teaches']}")
    return 0
