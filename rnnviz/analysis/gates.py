"""Gate statistics: how often each unit's gates are shut or wide open (saturation), comparable across
architectures, as in Karpathy, Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent
Networks", figure 3. Not figures.

A gate value below `low` (0.1) is left-saturated (shut), above `high` (0.9) right-saturated (open). Only
sigmoid gates count (LSTM i, f, o; GRU r, z): g and n are tanh candidates, not gates in [0, 1], and xLSTM's
exponential input gate exp(ĩ − m) is 1 wherever it set the stabiliser, which is not being wide open.
Fractions are over every recorded step of every probe sample.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from rnnviz.analysis.traces import SIGMOID_GATES, check_index, gates, resolve_prefix, tensor
from rnnviz.cells import get_spec
from rnnviz.trace import Trace

LOW, HIGH = 0.1, 0.9


def saturation(trace: Trace, layer: int = 0, prefix: str | None = None, low: float = LOW,
               high: float = HIGH) -> pd.DataFrame:
    """Rows (gate, unit, frac_low, frac_high): the fraction of steps each unit's gate is < low and > high."""
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"saturation thresholds low={low}, high={high} must satisfy 0 <= low < high <= 1")
    p = resolve_prefix(trace, prefix)
    exponential = ("i",) if get_spec(trace.arch).family in ("slstm", "mlstm") else ()
    names = [g for g in gates(trace, p) if g in SIGMOID_GATES and g not in exponential]
    if not names:
        raise ValueError(f"a {trace.arch} cell has no sigmoid gates to saturate; choose an LSTM or a GRU")
    frames = []
    for g in names:
        t = tensor(trace, f"gate.{g}", p)
        v = t[check_index("layer", layer, t.shape[0])].reshape(-1, t.shape[-1])  # (samples*steps, H)
        frames.append(pd.DataFrame({"gate": g, "unit": np.arange(v.shape[1]),
                                    "frac_low": (v < low).mean(0), "frac_high": (v > high).mean(0)}))
    return pd.concat(frames, ignore_index=True)


def saturation_many(traces: list[Trace], labels: list[str] | None = None, layer: int = 0,
                    prefix: str | None = None) -> pd.DataFrame:
    """saturation() of several traces (e.g. LSTM and GRU on one task) with a "label" column (default: arch)."""
    labels = labels or [t.arch for t in traces]
    if len(labels) != len(traces):
        raise ValueError(f"{len(labels)} labels were given for {len(traces)} traces; give one label per trace")
    return pd.concat([saturation(t, layer, prefix).assign(label=lab) for t, lab in zip(traces, labels)],
                     ignore_index=True)
