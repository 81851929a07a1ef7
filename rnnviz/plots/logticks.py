"""A log axis's tick labels at full size (style() applies it to every figure; builders that know their range call
log_ticks). Plotly labels a log axis's in-between ticks at 3/4 of the tick font (10 px in the normal theme, below
the projector minimum in the presentation one), and over a narrow range labels every tick, crowded."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

MAX_LOG_LABELS = 8  # decades labelled on a wide log axis at presentation size before the labels touch


def log_ticks_full_size(fig: go.Figure) -> None:
    """Plotly labels a log axis's in-between ticks (the 2 and 5 of 1, 2, 5, 10) at 3/4 of the tick font, below
    the presentation minimum. Over a wide range, only powers of ten are labelled, every dtick-th decade with
    dtick the smallest integer that keeps MAX_LOG_LABELS labels; over a narrow one, a number format labels the
    ticks at full size: every one within half a decade, else 1, 2 and 5 of each decade. The span is the axis's
    own range when a builder set it, else the data's."""
    spans: dict[str, list[float]] = {}
    for trace in fig.data:
        for letter in "xy":
            values = getattr(trace, letter, None)
            if values is None or isinstance(values, str):
                continue
            try:
                v = np.asarray(values, dtype=float).ravel()
            except (TypeError, ValueError):  # categories, dates, None gaps
                continue
            v = v[np.isfinite(v) & (v > 0)]
            if v.size:
                ref = getattr(trace, f"{letter}axis", None) or letter
                spans.setdefault(ref, []).extend([float(v.min()), float(v.max())])

    def fix(axis, name: str) -> None:
        if axis.type != "log" or axis.dtick is not None or axis.tickformat or axis.tickvals is not None:
            return
        ref = name.replace("axis", "")  # "yaxis2" -> "y2"
        lo_hi = spans.get(ref)
        decades = np.log10(max(lo_hi) / min(lo_hi)) if lo_hi else 0.0
        if axis.range is not None and None not in axis.range:  # a log axis's range is in decades already
            decades = abs(float(axis.range[1]) - float(axis.range[0]))
        if decades >= 1.5:
            axis.update(dtick=max(1, int(np.ceil(decades / MAX_LOG_LABELS - 1e-9))))
        elif decades >= 0.5:  # every tick labelled (1 to 9 in each decade) would overlap: 1, 2 and 5 only
            axis.update(dtick="D2", tickformat="~g")
        elif lo_hi:  # plotly labelled 0.023, 0.024, … 0.032 at 22 px: a few round numbers (log_ticks)
            axis.update(**log_ticks(lo_hi))
        else:
            axis.update(tickformat="~g")

    for name in [k for k in fig.layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        fix(fig.layout[name], name)


def _round_step(at_least: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least `at_least` (> 0)."""
    k = 10.0 ** np.floor(np.log10(at_least))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= at_least * (1 - 1e-9))


def log_ticks(values) -> dict:
    """A log axis's ticks over the positive values given, labelled at full size: 1, 2 and 5 of each decade in
    range (every power of ten alone over more than two decades), at least the two ends (two significant digits)
    when fewer fall inside. Plotly's own either labels one power of ten on a 25× spread or crowds 0.05 against
    0.06 (its in-between labels, smaller still, are what log_ticks_full_size avoids)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return {}
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo * (1 + 1e-6):  # one value (a run's first point): one label, no range to divide
        return {"tickmode": "array", "tickvals": [lo], "ticktext": [np.format_float_positional(float(f"{lo:.3g}"), trim="-")]}
    mantissas = (1,) if np.log10(hi / lo) > 2 else (1, 2, 5)
    ticks = [m * 10.0 ** k for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
             for m in mantissas if lo <= m * 10.0 ** k <= hi]
    if len(ticks) < 3:  # a narrow range (0.023 to 0.032): evenly spaced round numbers, as a linear axis has
        step = _round_step((hi - lo) / 5)
        ticks = [k * step for k in range(int(np.ceil(lo / step - 1e-9)), int(np.floor(hi / step + 1e-9)) + 1)]
        ticks = [float(f"{t:.6g}") for t in ticks]
    if len(ticks) < 2:  # the ends alone: one of 1, 2, 5 beside an end would touch it (0.05 by 0.048)
        ticks = sorted({float(f"{lo:.2g}"), float(f"{hi:.2g}")})
    text = [np.format_float_positional(t, trim="-") for t in ticks]  # 0.00001, not 1e-05
    return {"tickmode": "array", "tickvals": ticks, "ticktext": text}
