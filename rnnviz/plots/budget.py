"""How much data a figure may send to the browser, and the decimation that keeps it there; not a builder.

Every heavy array goes out as float32 numpy (plotly serialises it as a typed array, a third of a list's
size). A heatmap keeps at most HEATMAP_MAX_CELLS cells: beyond that, neighbouring rows and columns are
averaged in blocks, so a 1000-step x 512-unit trace becomes 500 x 256 and stays fluid. A line keeps at most
LINE_MAX_POINTS points: consecutive points are averaged ("mean", for loss curves) or reduced to each
bucket's min and max ("minmax", for gradient norms, whose spikes are the point).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

HEATMAP_MAX_CELLS = 200_000  # ~0.8 MB of float32: redraws in well under a second, even live
LINE_MAX_POINTS = 1000  # per line; more than a chart's width in pixels at 1920x1080
SCATTER_MAX_POINTS = 1_500  # SVG markers, each an element styled one by one: about 0.06 ms a marker per draw, and a
# chart is drawn twice (5,000 let c against h draw 4,267, half of the Gates page's drawing); beyond, an even stride
HOVER_TEXT_MAX_CELLS = 65_536  # heatmap cells that may carry a hover string (~0.8 MB of JSON); beyond, numbers only


class Grid(NamedTuple):
    z: np.ndarray  # (R', C') float32 block means
    rows: np.ndarray  # (R',) the mean original row index of each block
    cols: np.ndarray  # (C',) the mean original column index of each block
    row_factor: int  # rows averaged per block (1: untouched)
    col_factor: int


def f32(a) -> np.ndarray:
    """Any tensor or array as a contiguous float32 numpy array on the CPU."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def stride_index(n: int, max_points: int = SCATTER_MAX_POINTS) -> np.ndarray:
    """Indices of an even stride through n points that keeps at most max_points of them."""
    return np.arange(0, n, max(1, math.ceil(n / max_points)))


def grid_factors(rows: int, cols: int, max_cells: int = HEATMAP_MAX_CELLS) -> tuple[int, int]:
    """Smallest block sizes (rows, cols) with ceil(R/fr) * ceil(C/fc) <= max_cells, shrinking the longer
    side first so a short axis (a few layers, a few gates) keeps its full resolution."""
    if max_cells < 1:
        raise ValueError(f"a cell budget of {max_cells} is too small; use at least 1")
    fr = fc = 1
    while math.ceil(rows / fr) * math.ceil(cols / fc) > max_cells:
        if math.ceil(rows / fr) >= math.ceil(cols / fc):
            fr += 1
        else:
            fc += 1
    return fr, fc


def _block_mean(a: np.ndarray, f: int, axis: int) -> np.ndarray:
    """Means of consecutive blocks of f along `axis`; the last block may be shorter. NaN are skipped."""
    if f == 1:
        return a
    n = a.shape[axis]
    starts = np.arange(0, n, f)
    valid = ~np.isnan(a)
    sums = np.add.reduceat(np.where(valid, a, 0.0), starts, axis=axis)
    counts = np.add.reduceat(valid.astype(np.float64), starts, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def decimate_grid(z, max_cells: int = HEATMAP_MAX_CELLS) -> Grid:
    """z (R, C) -> block means within `max_cells`, with each block's mean original index for the axes."""
    z = np.asarray(f32(z), dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"a heatmap needs a 2-D array; got shape {z.shape}")
    R, C = z.shape
    fr, fc = grid_factors(R, C, max_cells)
    out = _block_mean(_block_mean(z, fr, 0), fc, 1)
    rows = _block_mean(np.arange(R, dtype=np.float64), fr, 0)
    cols = _block_mean(np.arange(C, dtype=np.float64), fc, 0)
    return Grid(f32(out), f32(rows), f32(cols), fr, fc)


def decimate_line(x, y, max_points: int = LINE_MAX_POINTS, how: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """(x, y) -> at most `max_points` points. "mean": each bucket's mean x and y; "minmax": each bucket's
    lowest and highest y at their own x, in order, so spikes survive. NaN y are dropped first."""
    if how not in ("mean", "minmax"):
        raise ValueError(f"unknown decimation {how!r}; choose mean or minmax")
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x has {x.size} points but y has {y.size}; give one y per x")
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    if x.size <= max_points:
        return f32(x), f32(y)
    buckets = math.ceil(x.size / (max_points if how == "mean" else max(max_points // 2, 1)))
    starts = np.arange(0, x.size, buckets)
    if how == "mean":
        counts = np.diff(np.append(starts, x.size))
        return f32(np.add.reduceat(x, starts) / counts), f32(np.add.reduceat(y, starts) / counts)
    idx = []
    for s in starts:
        seg = y[s:s + buckets]
        lo, hi = s + int(np.argmin(seg)), s + int(np.argmax(seg))
        idx.extend(sorted({lo, hi}))
    idx = np.asarray(idx)
    return f32(x[idx]), f32(y[idx])
