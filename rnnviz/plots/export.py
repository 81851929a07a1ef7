"""The data behind any figure, as one long-form table for CSV: every trace's points, named. Not drawing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go


def figure_frame(fig: go.Figure) -> pd.DataFrame:
    """Rows (trace, x, y[, z]) for every point of every trace with data; a heat map gives one row per cell.
    Shapes drawn for decoration (lines, circles) are traces too and come along, labelled by name."""
    parts = []
    for i, t in enumerate(fig.data):
        name = t.name or f"{t.type} {i}"
        z = getattr(t, "z", None)
        if z is not None and np.ndim(z) == 2:
            z = np.asarray(z, dtype=float)
            xs = np.asarray(t.x) if t.x is not None else np.arange(z.shape[1])
            ys = np.asarray(t.y) if t.y is not None else np.arange(z.shape[0])
            yy, xx = np.meshgrid(np.arange(z.shape[0]), np.arange(z.shape[1]), indexing="ij")
            parts.append(pd.DataFrame({"trace": name, "x": xs[xx.ravel()], "y": ys[yy.ravel()], "z": z.ravel()}))
            continue
        x, y = getattr(t, "x", None), getattr(t, "y", None)
        if y is None and x is None:
            continue
        n = len(y) if y is not None else len(x)
        frame = {"trace": [name] * n, "x": list(x) if x is not None else list(range(n)),
                 "y": list(y) if y is not None else [None] * n}
        if z is not None and np.ndim(z) == 1:  # 3-D scatter
            frame["z"] = list(z)
        parts.append(pd.DataFrame(frame))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["trace", "x", "y"])
