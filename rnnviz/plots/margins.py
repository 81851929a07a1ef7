"""The margins plotly would grow a figure to, estimated before it is drawn; not a builder.

Plotly draws a figure once at the margins it is given, measures its tick labels, axis titles, legend and colour
bars, and when they need more room ("automargin") draws the whole figure again, heat maps and all. A figure
given margins at least that large is drawn once. style() asks estimate() for them: the text each part shows is
known here (category and tick labels, titles, legend entries) or follows plotly's own rule (the numbers of an
automatic axis: 4 to 10 ticks at 1, 2 or 5 times a power of ten), and its width comes from Arial's advance
widths, which Helvetica and Liberation Sans share (the theme's font list falls back to them wherever its
first choices are missing). The constants were measured on plotly's own drawing in Chromium at both theme
sizes; every estimate leans large (a few pixels of white space), and plotly's automargin stays on, so a figure
the estimate misses is still drawn right, only twice, as every figure was before.
"""
from __future__ import annotations

import html
import math
import re

import numpy as np

# Arial's advance widths in thousandths of an em, for " " to "~" (Helvetica's and Liberation Sans's are the same)
_ARIAL = (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  # space to /
          556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015,  # 0 to @
          667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611,
          722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333,  # A to `
          556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278,
          556, 500, 722, 500, 500, 500, 334, 260, 334, 584)  # a to ~
_WIDER = {"−": 584, "×": 584, "·": 278, "…": 1000, "≤": 584, "≥": 584, "●": 800}
OTHER = 720  # Greek, subscript digits, symbols: from a fallback font, taken wide
MONO = 620  # a monospace font's every character (DejaVu Sans Mono 602, Menlo 602, Consolas 550)
TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # as plotly reads a tag: "σ < 1" is drawn, so it is counted
BREAK = re.compile(r"<br(?:\s[^>]*)?>", re.I)
NO_LEGEND = frozenset({"heatmap", "contour", "histogram2d", "histogram2dcontour", "image", "surface"})  # plotly's
# traces whose showlegend defaults to false
DEFAULT_LEGEND_X = 1.02  # plotly's: a legend or colour bar starts 2% of the plot's width right of it
WIDE_PLOT = 1250  # px: the plot area assumed when that 2% is turned into pixels (a full-width chart at 1920)
WIDER_FONTS = 1.04  # text widths are Arial's and 4%: Helvetica Neue, which Macs pick first, is that much wider
SLACK = 2  # px added to every side: plotly rounds its measures


def text_width(text: str, size: float, mono: bool = False) -> float:
    """Pixels the widest line of plotly text `text` takes at `size` px, WIDER_FONTS included: tags are not drawn
    (sub- and superscripts count full size, as plotly's measured boxes come out), an entity counts as the
    character it shows."""
    widest = 0.0
    for line in BREAK.split(str(text)):
        shown = html.unescape(TAG.sub("", line))
        if mono:
            em = MONO * len(shown)
        else:
            em = sum(_ARIAL[ord(c) - 32] if 32 <= ord(c) < 127 else _WIDER.get(c, OTHER) for c in shown)
        widest = max(widest, em * size / 1000)
    return widest * WIDER_FONTS


def lines(text) -> int:
    return len(BREAK.findall(str(text))) + 1 if text else 0


def nice_ticks(lo: float, hi: float, length: float, vertical: bool) -> list[float]:
    """The values plotly labels on an automatic linear axis over [lo, hi] drawn `length` px long: as many as fit
    one per 40 px (vertical) or 80 px (horizontal), 4 to 10, at a step of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    count = min(max(length / (40 if vertical else 80), 4), 9) + 1
    rough = (hi - lo) / count
    base = 10 ** math.floor(math.log10(rough))
    step = base * next(m for m in (2, 5, 10) if m >= rough / base - 1e-9)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def number_label(value: float, step: float, tickformat: str | None = None) -> str:
    """A tick's text as plotly writes it: as many decimals as the step needs, a minus sign, or `tickformat`
    (d3's format, which Python's mini-language shares but for '~', trailing zeros trimmed)."""
    if tickformat:
        trim = "~" in tickformat
        try:
            text = format(value, tickformat.replace("~", ""))
        except (ValueError, TypeError):
            text = f"{value:g}"
        if trim and "." in text:
            text = re.sub(r"\.?0+(?=%|$)", "", text)
        return text.replace("-", "−")
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
    return ("−" + text.lstrip("-")) if text.startswith("-") and text.strip("-0.") else text.lstrip("-")


def _pointless(trace: dict) -> bool:
    """A scatter trace given x and y with no points: plotly sets it invisible, and it neither shows in a legend
    nor counts toward one (the gradient-norm chart's "✕ where clipping fired" of a run that never clipped kept a
    legend's width free at the right of a chart that drew none)."""
    if trace.get("type", "scatter") not in ("scatter", "scattergl"):
        return False
    return all(trace.get(k) is not None and not isinstance(trace[k], str) and len(trace[k]) == 0 for k in "xy")


def _numbers(values) -> np.ndarray | None:
    if values is None or isinstance(values, str):
        return None
    try:
        v = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    v = v[np.isfinite(v)]
    return v if v.size else None


def _labels(values) -> list[str] | None:
    """Category labels, when `values` are text."""
    if values is None or isinstance(values, str) or (isinstance(values, np.ndarray) and values.dtype.kind in "biuf"):
        return None  # numbers: not copied into objects on every redraw
    items = list(np.asarray(values, dtype=object).ravel())
    if items and all(isinstance(v, str) for v in items):
        return list(dict.fromkeys(items))
    return None


def tick_labels(axis: dict, letter: str, traces: list, length: float) -> list[str]:
    """Every label plotly may draw on `axis` (its layout as a dict): its ticktext, its categories, or the numbers
    of its range (the axis's own, else its traces' data, padded 5% as plotly pads markers)."""
    if axis.get("showticklabels") is False or axis.get("visible") is False:
        return []
    prefix, suffix = axis.get("tickprefix") or "", axis.get("ticksuffix") or ""
    if axis.get("ticktext") is not None:
        return [f"{prefix}{t}{suffix}" for t in axis["ticktext"]]
    given = _numbers(axis.get("tickvals")) if axis.get("type") != "log" else None
    if given is not None:  # the builder's own tick values, written as plotly writes numbers
        step = float(np.min(np.diff(np.sort(given)))) if given.size > 1 else abs(float(given[0])) or 1.0
        return [f"{prefix}{number_label(float(v), step, axis.get('tickformat'))}{suffix}" for v in given]
    numbers, categories = [], []
    for trace in traces:
        values = trace.get(letter)
        if values is None and trace.get("z") is not None:  # a heat map without x or y: its cells' indices
            shape = np.shape(trace["z"])
            n = shape[1 if letter == "x" else 0] if len(shape) == 2 else 0
            values = [-0.5, n - 0.5] if n else None
        cats = _labels(values)
        if cats is not None:
            categories.extend(cats)
            continue
        v = _numbers(values)
        if v is not None and axis.get("type") == "log":
            v = v[v > 0] if (v > 0).any() else None  # a log axis draws only what is above zero
        if v is not None:
            numbers.extend([float(v.min()), float(v.max())])
            if trace.get("type") == "bar":
                numbers.append(0.0)
    if categories or axis.get("type") == "category":
        return [f"{prefix}{c}{suffix}" for c in dict.fromkeys(categories)]
    rng = axis.get("range")
    if rng is not None and None not in rng:
        lo, hi = sorted(float(r) for r in rng)
    elif numbers:
        lo, hi = min(numbers), max(numbers)
    else:
        return []
    if axis.get("type") == "log":
        if rng is None or None in rng:
            drawn = [n for n in numbers if n > 0]  # a bar's base at 0 is not on a log axis
            if not drawn:
                return []
            lo, hi = math.log10(min(drawn)), math.log10(max(drawn))
        tickformat = axis.get("tickformat")
        if tickformat:  # a narrow log axis: numbers
            return [number_label(10 ** e, 10 ** e, tickformat) for e in (lo, hi)]
        labels = [_power(e) for e in range(math.floor(lo), math.ceil(hi) + 1)] + ["5"]
        if hi - lo < 2:  # within two decades plotly writes the numbers between: 0.003, 0.0035, 0.004
            labels += [_two_digits(10 ** e) for e in (lo, hi)]
        return labels
    if rng is None or None in rng:
        pad = 0.05 * (hi - lo) or 0.5
        lo, hi = lo - pad, hi + pad
    values = nice_ticks(lo, hi, length, letter == "y")
    step = values[1] - values[0] if len(values) > 1 else abs(values[0]) if values else 1.0
    return [f"{prefix}{number_label(v, step, axis.get('tickformat'))}{suffix}" for v in values]


def _two_digits(value: float) -> str:
    """A positive number as plotly writes a log axis's in-between tick: two significant digits, no exponent."""
    decimals = max(0, 1 - math.floor(math.log10(value)))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"


def _power(exponent: int) -> str:
    return {0: "1", 1: "10"}.get(exponent, "10<sup>" + str(exponent).replace("-", "−") + "</sup>")


def _domain(layout: dict, axis_name: str) -> tuple[float, float]:
    start, end = (layout.get(axis_name) or {}).get("domain", [0, 1])
    return float(start), float(end)


def _anchor_name(ref: str, letter: str) -> str:
    """'x2' -> 'xaxis2'; '' or 'x' -> 'xaxis'."""
    return f"{letter}axis{ref[1:]}" if ref and ref != letter else f"{letter}axis"


def _title(axis: dict) -> tuple[str, float, float]:
    title = axis.get("title") or {}
    if isinstance(title, str):
        title = {"text": title}
    return title.get("text") or "", float((title.get("font") or {}).get("size") or 15), \
        float(title.get("standoff") if title.get("standoff") is not None else 15)


def _axis_push(axis: dict, labels: list[str], vertical: bool) -> float:
    """Pixels an axis takes beside its plot: its tick labels, then its title (measured constants, both sizes)."""
    size = float((axis.get("tickfont") or {}).get("size") or 12)
    mono = "monospace" in str((axis.get("tickfont") or {}).get("family") or "")
    if vertical:  # labels side by side with the axis: their width and a pad
        depth = max((text_width(t, size, mono) for t in labels), default=0.0) + (0.25 * size + 2 if labels else 0)
    else:  # stacked under it: their height, more lines where a label has a break
        depth = (1.35 * size + 3) * max((lines(t) for t in labels), default=1) if labels else 0.0
    text, title_size, standoff = _title(axis)
    if text:
        depth += standoff + 8 + 0.82 * title_size + 1.3 * title_size * (lines(text) - 1)
    else:
        depth += 10
    return depth


def _trace_axes(trace: dict) -> tuple[str, str]:
    return _anchor_name(trace.get("xaxis") or "x", "x"), _anchor_name(trace.get("yaxis") or "y", "y")


def _colorbar_width(colorbar: dict, lo: float | None, hi: float | None, plot_height: float) -> float:
    """Pixels a vertical colour bar takes: its bar, pads and tick labels, or its title where that is wider."""
    size = float((colorbar.get("tickfont") or {}).get("size") or 12)
    labels = []
    if colorbar.get("ticktext") is not None:
        labels = [str(t) for t in colorbar["ticktext"]]
    elif lo is not None and hi is not None:
        values = nice_ticks(lo, hi, plot_height * float(colorbar.get("len") or 1), True)
        step = values[1] - values[0] if len(values) > 1 else 1.0
        labels = [number_label(v, step, colorbar.get("tickformat")) for v in values]
    thickness = float(colorbar.get("thickness") or 30)
    bar = thickness + 30 + max((text_width(t, size) for t in labels), default=0.0)
    title = colorbar.get("title") or {}
    title_size = float((title.get("font") or {}).get("size") or size)
    return max(bar, thickness + text_width(title.get("text") or "", title_size))


def _range(values, low, high) -> tuple[float | None, float | None]:
    """A colour scale's ends: cmin/zmin and cmax/zmax where set, else the data's."""
    v = _numbers(values)
    lo = float(low) if low is not None else (float(v.min()) if v is not None else None)
    hi = float(high) if high is not None else (float(v.max()) if v is not None else None)
    return lo, hi


def _colorbars(layout: dict, traces: list[dict]):
    """(colour bar, low, high) of every colour bar shown: a trace's, its markers', or a shared colour axis's."""
    shared: dict[str, list] = {}
    for trace in traces:
        if trace.get("coloraxis"):
            shared.setdefault(trace["coloraxis"], []).append(trace)
        elif trace.get("colorbar") is not None and trace.get("showscale") is not False:
            yield (trace["colorbar"], *_range(trace.get("z"), trace.get("zmin"), trace.get("zmax")))
        marker = trace.get("marker") or {}
        if marker.get("showscale") and not marker.get("coloraxis"):
            yield (marker.get("colorbar") or {}, *_range(marker.get("color"), marker.get("cmin"), marker.get("cmax")))
    for name, users in shared.items():
        axis = layout.get(name) or {}
        if axis.get("showscale") is False:
            continue
        values = np.concatenate([v for v in (_numbers(t.get("z")) for t in users) if v is not None] or [np.zeros(1)])
        yield (axis.get("colorbar") or {}, *_range(values, axis.get("cmin"), axis.get("cmax")))


def estimate(layout: dict, traces: list[dict]) -> dict[str, int]:
    """The left, right and bottom margins plotly's automargin would reach for a figure with `layout` (a styled
    layout as a dict) and `traces` (each a dict of the properties read here), rounded up, SLACK added."""
    height = float(layout.get("height") or 450)
    margin = layout.get("margin") or {}
    plot_height = max(height - float(margin.get("t") or 80) - 60, 100)
    need = {"l": 10.0, "r": 10.0, "b": 10.0}
    by_axis: dict[str, list[dict]] = {}
    for trace in traces:
        for name in _trace_axes(trace):
            by_axis.setdefault(name, []).append(trace)
    names = {k for k in layout if re.fullmatch(r"[xy]axis\d*", k)} | set(by_axis)
    for name in names:
        axis = layout.get(name) or {}
        letter = name[0]
        other = "y" if letter == "x" else "x"
        anchor = axis.get("anchor")
        side = axis.get("side") or ("left" if letter == "y" else "bottom")
        start, end = _domain(layout, _anchor_name(anchor or other, other))  # where the axis it sits on spans
        if anchor == "free":
            start = end = float(axis.get("position", 0.0))
        outer = start <= 0.01 if side in ("left", "bottom") else end >= 0.99  # on the figure's edge, not between
        # subplots (where their gap holds the labels)
        labels = tick_labels(axis, letter, by_axis.get(name, []), plot_height if letter == "y" else 1000.0)
        if letter == "x":
            tick_size = float((axis.get("tickfont") or {}).get("size") or 12)
            mono = "monospace" in str((axis.get("tickfont") or {}).get("family") or "")
            half = max((text_width(t, tick_size, mono) for t in labels), default=0.0) / 2 + 10
            need["l"], need["r"] = max(need["l"], half), max(need["r"], half)  # end labels overhang the plot
            if side == "bottom" and outer:
                need["b"] = max(need["b"], _axis_push(axis, labels, vertical=False))
        elif outer:
            key = "l" if side == "left" else "r"
            need[key] = max(need[key], _axis_push(axis, labels, vertical=True))
    legend = layout.get("legend") or {}
    # plotly's rule: a legend unless turned off, once two traces of a kind that has one are drawn (whether or not
    # each shows its entry), or when turned on; its entries are the traces that show theirs
    kinds = [t for t in traces if t.get("type", "scatter") not in NO_LEGEND and not _pointless(t)]
    shown = [t for t in kinds if t.get("showlegend") is not False and t.get("name")]
    if shown and (layout.get("showlegend") or (layout.get("showlegend") is not False and len(kinds) > 1)):
        x = float(legend.get("x", DEFAULT_LEGEND_X))
        if x >= 1 and legend.get("orientation") != "h":
            size = float((legend.get("font") or {}).get("size") or 12)
            names_w = max(text_width(t["name"], size) for t in shown) if shown else 0.0
            title_w = text_width(((legend.get("title") or {}).get("text")) or "", size)
            need["r"] = max(need["r"], max(names_w + 46, title_w + 10) + 10 + (x - 1) * WIDE_PLOT)
    for colorbar, lo, hi in _colorbars(layout, traces):
        x = float(colorbar.get("x", DEFAULT_LEGEND_X))
        if x >= 1 and colorbar.get("orientation") != "h":
            need["r"] = max(need["r"], _colorbar_width(colorbar, lo, hi, plot_height) + (x - 1) * WIDE_PLOT)
    return {k: int(math.ceil(v + SLACK)) for k, v in need.items()}
