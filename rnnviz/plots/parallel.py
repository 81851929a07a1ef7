"""The step loop and the parallel scan drawn over each other: the same h_t, and how long each took."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.analysis.parallel import LONG, ScanVsLoop
from rnnviz.plots.axes import check_tokens, time_axis
from rnnviz.plots.budget import f32
from rnnviz.plots.theme import NORMAL, Theme, run_color, style


def scan_figure(result: ScanVsLoop, sample: int = 0, units: tuple[int, ...] = (0, 1, 2),
                tokens: list[str] | None = None, theme: Theme = NORMAL) -> go.Figure:
    """Chosen output units of one sequence over t: the loop as lines, the scan as markers on them."""
    loop, scan = result.loop[sample].numpy(), result.scan[sample].numpy()  # (T, H)
    T, H = loop.shape
    units = [u for u in units if 0 <= u < H] or [0]
    tokens = check_tokens(tokens, T)
    t = np.arange(T, dtype=np.float32)
    fig = go.Figure()
    for i, u in enumerate(units):
        fig.add_trace(go.Scatter(x=t, y=f32(loop[:, u]), mode="lines", name=f"unit {u}, step by step",
                                 line={"width": theme.line_width, "color": run_color(i)}))
        fig.add_trace(go.Scatter(x=t, y=f32(scan[:, u]), mode="markers", name=f"unit {u}, one scan",
                                 marker={"size": theme.marker_size + 3, "color": run_color(i), "symbol": "circle-open",
                                         "line": {"width": 2}}))
    fig.update_xaxes(**time_axis(tokens, theme=theme))
    fig.update_yaxes(title_text="output y<sub>t</sub> of the top layer")
    r = result
    title = f"Step by step and as one scan: the same outputs (largest difference {r.max_difference:.1g})"
    return style(fig, theme, title,
                 f"Forward here: {T} steps {r.loop_ms:.2g} ms as a loop, {r.scan_ms:.2g} ms as a scan; {LONG} steps "
                 f"{r.long_loop_ms:.3g} ms against {r.long_scan_ms:.3g} ms ({r.long_loop_ms / r.long_scan_ms:.1f}×).")
