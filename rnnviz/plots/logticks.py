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
    dtick the smallest integer that keeps MAX_LOG_LABELS labels; over 0.5 to 1.5 decades, 1, 2 and 5 of each
    decade, in a number format at full size; within half a decade, log_ticks's few round numbers. The span is the
    axis's own range when a builder set it, else the data's. A figure without a log axis reads no data (style()
    runs on every live chart each second)."""
    logs = [k for k, a in fig.layout.to_plotly_json().items() if k.startswith(("xaxis", "yaxis"))
            and isinstance(a, dict) and a.get("type") == "log"]
    if not logs:
        return
    wanted = {k.replace("axis", "") for k in logs}  # "yaxis2" -> "y2"
    spans: dict[str, list[float]] = {}
    for trace in fig.data:
        for letter in "xy":
            ref = getattr(trace, f"{letter}axis", None) or letter
            if ref not in wanted:
                continue
            values = getattr(trace, letter, None)
            if values is None or isinstance(values, str):
                continue
            try:
                v = np.asarray(values, dtype=float).ravel()
            except (TypeError, ValueError):  # categories, dates, None gaps
                continue
            v = v[np.isfinite(v) & (v > 0)]
            if v.size:
                spans.setdefault(ref, []).extend([float(v.min()), float(v.max())])

    def fix(axis, name: str) -> None:
        if axis.type != "log" or axis.dtick is not None or axis.tickformat or axis.tickvals is not None:
            return
        ref = name.replace("axis", "")  # "yaxis2" -> "y2"
        lo_hi = spans.get(ref)
        decades = np.log10(max(lo_hi) / min(lo_hi)) if lo_hi else 0.0
        if axis.range is not None and None not in axis.range:  # a log axis's range is in decades already
            decades = abs(float(axis.range[1]) - float(axis.range[0]))
            lo_hi = [10.0 ** float(e) for e in axis.range]  # ticks within the range a builder set, not the data's
        if decades >= 1.5:
            axis.update(dtick=max(1, int(np.ceil(decades / MAX_LOG_LABELS - 1e-9))))
        elif decades >= 0.5:  # every tick labelled (1 to 9 in each decade) would overlap: 1, 2 and 5 only
            axis.update(dtick="D2", tickformat="~g")
        elif lo_hi:  # plotly labelled 0.023, 0.024, … 0.032 at 22 px: a few round numbers (log_ticks)
            axis.update(**log_ticks(lo_hi))
        else:
            axis.update(tickformat="~g")

    for name in logs:
        fix(fig.layout[name], name)


def _round_step(at_least: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least `at_least` (> 0)."""
    k = 10.0 ** np.floor(np.log10(at_least))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= at_least * (1 - 1e-9))


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _label(t: float) -> str:
    """0.002 or 1500 as written; beyond that, 3×10⁻¹² or 10⁻⁵, as plotly writes powers (never 1e-05)."""
    if 1e-4 <= t < 1e5:
        return np.format_float_positional(t, trim="-")
    mantissa, exponent = f"{t:.2g}".split("e")
    return ("" if mantissa == "1" else mantissa + "×") + "10" + str(int(exponent)).translate(_SUPERSCRIPT)


def log_ticks(values) -> dict:
    """A log axis's ticks over the positive values given, labelled at full size: every power of ten over more
    than two decades, else 1, 2 and 5 of each decade in range; evenly spaced round numbers, as a linear axis has,
    within one decade when those give fewer than three; at least the two ends. Plotly's own either labels one
    power of ten on a 25× spread or crowds 0.05 against 0.06 (its in-between labels, smaller still, are what
    log_ticks_full_size avoids)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return {}
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo * (1 + 1e-4):  # one value (a run's first point): one label, no range to divide
        return {"tickmode": "array", "tickvals": [lo], "ticktext": [_label(float(f"{lo:.3g}"))]}
    decades = float(np.log10(hi / lo))
    ticks: list[float] = []
    for mantissas in (((1,), (1, 2, 5)) if decades > 2 else ((1, 2, 5),)):
        ticks = [float(f"{m}e{k}") for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
                 for m in mantissas if lo <= m * 10.0 ** k <= hi]
        if len(ticks) >= 3:
            break
    if len(ticks) < 3 and decades < 1:  # a narrow range (0.023 to 0.032): round numbers, as a linear axis has
        step = _round_step((hi - lo) / 5)
        first, last = int(np.ceil(lo / step - 1e-9)), int(np.floor(hi / step + 1e-9))
        ticks = [float(f"{k * step:.6g}") for k in range(first, last + 1)]
    if len(ticks) < 2:  # the ends alone: one of 1, 2, 5 beside an end would touch it (0.05 by 0.048)
        ticks = [float(f"{lo:.2g}"), float(f"{hi:.2g}")]
    ticks = sorted(set(ticks))
    return {"tickmode": "array", "tickvals": ticks, "ticktext": [_label(t) for t in ticks]}
