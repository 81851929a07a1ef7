"""Hidden states as data: unit orderings for heatmaps, a PCA of the trajectory, and the unit finder that
ranks units by correlation with per-step ground truth. Numpy only (no scipy); not figures.

Every function takes one (T, H) matrix: steps by units, e.g. analysis.traces.layered(trace, "h").
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

ORDERS = ("index", "variance", "pc1", "cluster")


class PCA(NamedTuple):
    coords: np.ndarray  # (T, k) the trajectory in the first k principal directions
    ratio: np.ndarray  # (k,) fraction of the total variance along each
    components: np.ndarray  # (k, H) the directions, unit norm
    mean: np.ndarray  # (H,) subtracted before projecting


def _matrix(states) -> np.ndarray:
    a = np.asarray(states, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"expected a (steps, units) matrix; got shape {a.shape}")
    return a


def pca(states, k: int = 2) -> PCA:
    """Principal components of the rows of states (T, H) by SVD of the centred matrix; fewer than k
    directions exist when T or H is small, and the missing ones are zeros."""
    a = _matrix(states)
    if k < 1:
        raise ValueError(f"PCA needs at least 1 component; got {k}")
    mean = a.mean(0)
    u, s, vt = np.linalg.svd(a - mean, full_matrices=False)
    total = float((s ** 2).sum())
    n = min(k, s.size)
    coords, comps, ratio = np.zeros((a.shape[0], k)), np.zeros((k, a.shape[1])), np.zeros(k)
    coords[:, :n], comps[:n] = u[:, :n] * s[:n], vt[:n]
    ratio[:n] = s[:n] ** 2 / total if total > 0 else 0.0
    return PCA(coords.astype(np.float32), ratio.astype(np.float32), comps.astype(np.float32),
               mean.astype(np.float32))


def correlation_matrix(states) -> np.ndarray:
    """(H, H) Pearson correlation between units over time; a constant unit correlates 0 with everything."""
    z = _standardise(_matrix(states))
    return z.T @ z / z.shape[0]


def _standardise(a: np.ndarray) -> np.ndarray:
    """Columns to zero mean and unit variance; constant columns become 0 (so their correlations are 0)."""
    c = a - a.mean(0)
    sd = c.std(0)
    return np.divide(c, sd, out=np.zeros_like(c), where=sd > 1e-12)


def cluster_order(states) -> np.ndarray:
    """Units in the leaf order of average-linkage agglomerative clustering on distance 1 - corr, so units
    that rise and fall together sit side by side. O(H^3) numpy: under a second at H = 1024."""
    d = 1.0 - correlation_matrix(states)
    n = d.shape[0]
    np.fill_diagonal(d, np.inf)
    members = [[i] for i in range(n)]
    size = np.ones(n)
    for _ in range(n - 1):
        a, b = divmod(int(np.argmin(d)), n)
        a, b = min(a, b), max(a, b)
        merged = (size[a] * d[a] + size[b] * d[b]) / (size[a] + size[b])  # average linkage
        d[a], d[:, a] = merged, merged
        d[a, a] = np.inf
        d[b], d[:, b] = np.inf, np.inf
        members[a], members[b] = members[a] + members[b], []
        size[a] += size[b]
    return np.asarray(next(m for m in members if m), dtype=np.int64)


def unit_order(states, by: str = "index") -> np.ndarray:
    """A permutation of the units of states (T, H): "index" as stored, "variance" most variable first,
    "pc1" by loading on the leading principal component, "cluster" by cluster_order."""
    a = _matrix(states)
    if by == "index":
        return np.arange(a.shape[1])
    if by == "variance":
        return np.argsort(-a.var(0), kind="stable")
    if by == "pc1":
        return np.argsort(pca(a, 1).components[0], kind="stable")
    if by == "cluster":
        return cluster_order(a)
    raise ValueError(f"unknown unit order {by!r}; choose one of {', '.join(ORDERS)}")


def unit_correlations(states, features: dict[str, np.ndarray], top: int | None = None) -> pd.DataFrame:
    """The unit finder: Pearson correlation of every unit of states (T, H) with every feature (T,) over time,
    as rows (feature, unit, correlation), strongest |correlation| first; `top` keeps that many per feature."""
    a = _matrix(states)
    if not features:
        raise ValueError("no features to correlate with; give at least one per-step feature or 0/1 pattern")
    za, rows = _standardise(a), []
    for name, values in features.items():
        f = np.asarray(values, dtype=np.float64).ravel()
        if f.size != a.shape[0]:
            raise ValueError(f"feature {name!r} has {f.size} values for {a.shape[0]} steps; give one per step")
        r = za.T @ _standardise(f[:, None])[:, 0] / a.shape[0]  # (H,)
        frame = pd.DataFrame({"feature": name, "unit": np.arange(a.shape[1]), "correlation": r})
        frame = frame.reindex(frame["correlation"].abs().sort_values(ascending=False, kind="stable").index)
        rows.append(frame.head(top) if top else frame)
    out = pd.concat(rows, ignore_index=True)
    order = out["correlation"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)


def token_pattern(tokens: list[str], selected) -> np.ndarray:
    """A 0/1 feature: 1 at the steps whose token is in `selected` (e.g. the vowels, or the closing brackets)."""
    chosen = set(selected)
    return np.asarray([1.0 if t in chosen else 0.0 for t in tokens])
