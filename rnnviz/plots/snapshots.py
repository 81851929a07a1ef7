"""Snapshots over training: any trace figure for the i-th probe trace, so a page can put a slider on a run's
history (Trainer keeps its traces oldest first, each with meta["train_step"]). No animation frames: one
figure per position keeps each redraw small and every builder's own hover and styling.
"""
from __future__ import annotations

from typing import Callable

import plotly.graph_objects as go

from rnnviz.trace import Trace


def snapshot_steps(traces: list[Trace]) -> list[int | None]:
    """The training step of each snapshot (None where a trace did not record one), for slider labels."""
    return [t.meta.get("train_step") for t in traces]


def snapshot_figure(traces: list[Trace], index: int, builder: Callable[..., go.Figure], **kwargs) -> go.Figure:
    """builder(traces[index], **kwargs) (e.g. plots.state_heatmap, plots.saturation_figure via a lambda), its
    title marked with the snapshot's position and training step."""
    if not traces:
        raise ValueError("there are no snapshots yet; train until the first probe")
    if not -len(traces) <= index < len(traces):
        raise ValueError(f"snapshot {index} is out of range; use 0 to {len(traces) - 1}")
    index %= len(traces)
    fig = builder(traces[index], **kwargs)
    step = traces[index].meta.get("train_step")
    title = fig.layout.title.text or ""
    known = step is None or "training step" in title  # most builders already name the step
    mark = f"snapshot {index + 1} of {len(traces)}" + ("" if known else f", training step {step}")
    fig.update_layout(title_text=f"{title} · {mark}")
    return fig
