"""Theme: the fonts, sizes and colourblind-safe palettes every figure uses, and style() to apply them; no builders.

Two variants. NORMAL suits a laptop screen; PRESENTATION a projector at 1920x1080 read from the back of a
lecture room: every text part at least PRESENTATION_MIN_FONT px, thicker lines and bigger markers, a pure
white background and black text. Palettes: viridis for magnitudes, RdBu reversed (blue negative, white 0,
red positive) for signed values, Okabe & Ito (2008) for gates and runs: all distinguishable under the common
colour-vision deficiencies. Colour is never the only cue: gate blocks also get a marker symbol and a dash,
runs beyond the seven colours a new dash. Plotly's layout font does not reach tick labels under Streamlit's
theme="streamlit", so style() sets every axis, colour bar, legend, hover label, annotation and text font.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from types import MappingProxyType

import plotly.graph_objects as go
import plotly.io as pio

from rnnviz.plots import margins
from rnnviz.plots.logticks import log_ticks_full_size

OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
# one colour per gate name, fixed, so an LSTM figure and a GRU figure never give a name two colours;
# "h" is the single block of a plain RNN's W_hh. f (vermillion) and o (reddish purple) are far apart: orange
# beside vermillion read as one colour in review. No yellow: faint on white.
GATE_COLORS = MappingProxyType({"i": "#0072B2", "f": "#D55E00", "g": "#009E73", "o": "#CC79A7",
                                "r": "#E69F00", "z": "#56B4E9", "n": "#000000", "h": "#000000"})
# a second cue besides colour, so blocks whose points or curves overlap stay apart
GATE_SYMBOLS = MappingProxyType({"i": "circle", "f": "square", "g": "diamond", "o": "triangle-up",
                                 "r": "circle", "z": "square", "n": "diamond", "h": "circle"})
GATE_DASHES = MappingProxyType({"i": "solid", "f": "dash", "g": "dot", "o": "dashdot",
                                "r": "solid", "z": "dash", "n": "dot", "h": "solid"})
# Okabe & Ito's colours without yellow (faint on white), then Tol's wine and olive: lesson 5's nine variants each get
# a colour of their own (with seven, the GRU was lstm_peephole's vermilion dotted, read as the baseline's dots)
RUN_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255", "#999933")
# units drawn on a page beside gate lines (the cell state c_t): none of the gates' colours, so lesson 4's "unit 83"
# in vermilion did not read as the forget gate f of the figure above it. Black, Tol's wine, olive and indigo, grey.
UNIT_COLORS = ("#000000", "#882255", "#999933", "#332288", "#888888")
# one dash per pass through RUN_COLORS: run 7 is blue dotted, not a second solid blue. Validation lines of
# loss curves take their own dashes, so "dashed = validation" holds in every pass
RUN_DASHES = ("solid", "dot", "longdash")
VALIDATION_DASHES = ("dash", "dashdot", "longdashdot")
MAGNITUDE_SCALE = "Viridis"  # norms, probabilities, gate openings: perceptually uniform, dark = small
SIGNED_SCALE = "RdBu_r"  # activations and gradients: white at zero (callers set zmid=0)
GRADIENT_SCALE = "Oranges"  # gradient flowing along graph edges, distinct from the nodes' viridis
MUTED = "#b0b0b0"  # what is switched off: greyed edges, reference lines
PRESENTATION_MIN_FONT = 20  # px; readable from ~10 m on a 3 m wide projection at 1920x1080


@dataclass(frozen=True)
class Theme:
    name: str = "normal"
    font_family: str = "Inter, 'Source Sans Pro', 'Helvetica Neue', Arial, sans-serif"
    font_size: int = 14  # body text and the fallback for anything unset
    title_size: int = 18
    axis_title_size: int = 15
    tick_size: int = 13
    legend_size: int = 13
    hover_size: int = 13
    annotation_size: int = 13  # annotations, subplot titles, text drawn on marks
    line_width: float = 2.0
    marker_size: float = 7.0
    text_color: str = "#262730"  # Streamlit's text colour, so charts sit quietly in the page
    background: str = "#ffffff"
    grid_color: str = "#e6e6e6"
    axis_line_color: str = "#9e9e9e"
    height: int = 430  # px; presentation figures are taller to fit the larger type
    max_height: int = 980  # px: no figure is taller than one 1080p screen (its toolbar and margins included)
    magnitude_scale: str = MAGNITUDE_SCALE
    signed_scale: str = SIGNED_SCALE
    subtitle_chars: int = 100  # a subtitle wraps at this many characters: plotly never wraps, it clips at the edge
    # (100 of 13 px fit a half-width chart at 1920 px; 90 of 22 px fit a full-width one on a 1280 px projector)
    axis_chars: int = 100  # monospace tick characters a full-width chart's x axis holds side by side: 100 of 13 px
    # (7.8 px each) fit a laptop's 1366 px screen; 72 of 22 px (13.2 px) fit the ~1000 px of a presentation plot

    @property
    def min_font(self) -> int:
        return min(self.font_size, self.title_size, self.axis_title_size, self.tick_size, self.legend_size,
                   self.hover_size, self.annotation_size)


NORMAL = Theme()
PRESENTATION = Theme(name="presentation", font_size=22, title_size=30, axis_title_size=26, tick_size=22,
                     legend_size=22, hover_size=22, annotation_size=22, line_width=4.0, marker_size=13.0,
                     text_color="#000000", grid_color="#c8c8c8", axis_line_color="#000000", height=640,
                     subtitle_chars=90, axis_chars=72)


def theme_for(presentation: bool) -> Theme:
    return PRESENTATION if presentation else NORMAL


def gate_color(gate: str) -> str:
    """The fixed colour of a gate (or W_hh block) name; grey for names outside i f g o r z n h."""
    return GATE_COLORS.get(gate, "#7f7f7f")


def gate_symbol(gate: str) -> str:
    return GATE_SYMBOLS.get(gate, "circle")


def gate_dash(gate: str) -> str:
    return GATE_DASHES.get(gate, "solid")


def run_color(i: int) -> str:
    """Colour of the i-th overlaid run (cycles after seven; run_dash tells the passes apart)."""
    return RUN_COLORS[i % len(RUN_COLORS)]


def run_dash(i: int, validation: bool = False) -> str:
    """Dash of the i-th overlaid run: changes with each pass through RUN_COLORS, so (colour, dash) is unique
    for the first 21 runs."""
    dashes = VALIDATION_DASHES if validation else RUN_DASHES
    return dashes[(i // len(RUN_COLORS)) % len(dashes)]


def run_line(i: int, width: float, validation: bool = False) -> dict:
    """A plotly line dict for the i-th overlaid run."""
    return {"color": run_color(i), "dash": run_dash(i, validation), "width": width}


def unit_line(i: int, width: float) -> dict:
    """A plotly line dict for the i-th unit of a figure shown beside gates: UNIT_COLORS, a new dash each pass."""
    return {"color": UNIT_COLORS[i % len(UNIT_COLORS)], "dash": RUN_DASHES[(i // len(UNIT_COLORS)) % len(RUN_DASHES)],
            "width": width}


def text_on(background: str) -> str:
    """Black or white text, whichever reads better on `background` ("#rrggbb" or "rgb(r, g, b)"), by relative
    luminance (sRGB weights, simplified: no gamma)."""
    if background.startswith("#"):
        r, g, b = (int(background[k:k + 2], 16) for k in (1, 3, 5))
    else:
        r, g, b = (float(v) for v in background[background.index("(") + 1:background.index(")")].split(",")[:3])
    return "#000000" if (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 > 0.45 else "#ffffff"


def _font(theme: Theme, size: int) -> dict:
    return {"family": theme.font_family, "size": size, "color": theme.text_color}


def _axis_update(axis: dict, theme: Theme, flat: bool = True) -> dict:
    """The update that styles one axis, given the axis as its plotly JSON (what the builder set)."""
    family = (axis.get("tickfont") or {}).get("family") or theme.font_family  # monospace token ticks keep theirs
    update = {"tickfont": {**_font(theme, theme.tick_size), "family": family},
              "title": {"font": _font(theme, theme.axis_title_size)},
              "gridcolor": theme.grid_color, "linecolor": theme.axis_line_color, "zerolinecolor": theme.grid_color,
              "showline": True}
    if flat:  # 3-D scene axes have no automargin
        update["automargin"] = True
    if axis.get("type") == "log" and axis.get("exponentformat") is None:
        update["exponentformat"] = "power"  # 10⁻⁶, not plotly's SI "1µ", which reads as a unit to a student
    return update


def _colorbar_update(theme: Theme) -> dict:
    """What styles a colour bar (of a trace, a marker or a coloraxis)."""
    return {"colorbar": {"tickfont": _font(theme, theme.tick_size),
                         "title": {"font": _font(theme, theme.axis_title_size)}}}


def _marker_scale(marker) -> bool:
    """Whether plotly draws a marker's colour bar: asked to, or (not told) because the builder gave it one."""
    if not hasattr(marker, "colorbar"):
        return False
    return bool(marker.showscale) if marker.showscale is not None else bool(marker.colorbar.to_plotly_json())


def _style_trace(trace, theme: Theme) -> None:
    update = {}
    if hasattr(trace, "colorbar") and trace.showscale is not False:
        update.update(_colorbar_update(theme))
    marker = getattr(trace, "marker", None)
    if marker is not None and _marker_scale(marker):
        update["marker"] = _colorbar_update(theme)
    if hasattr(trace, "textfont") and ("text" in (getattr(trace, "mode", None) or "")
                                       or getattr(trace, "texttemplate", None) or trace.type == "bar"):
        update["textfont"] = {"size": max(theme.annotation_size, (trace.textfont.size or 0)),
                              "family": theme.font_family}
    if update:
        trace.update(update)


def _merged(base: dict, update: dict) -> dict:
    """`base` with `update` merged in as plotly's update() merges: dicts key by key, anything else replaced."""
    out = dict(base)
    for key, value in update.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _plotly_white(fig: go.Figure) -> None:
    """Gives `fig` plotly's "plotly_white" template as plotly gives a new figure its default template: unvalidated
    (the template is plotly's own). Validating it took a fifth of a second a figure on a slow machine."""
    layout = fig.layout
    validate = layout._validate
    layout._validate = False
    try:
        layout.template = pio.templates["plotly_white"]
    finally:
        layout._validate = validate


def _margin_view(trace) -> dict:
    """What margins.estimate reads of a trace, without copying it (to_plotly_json deep-copies every array)."""
    view = {"type": trace.type}
    for name in ("x", "y", "z", "zmin", "zmax", "name", "showlegend", "showscale", "xaxis", "yaxis", "coloraxis"):
        value = getattr(trace, name, None) if name in trace else None
        if value is not None:
            view[name] = value
    if "colorbar" in trace and trace.showscale is not False:
        view["colorbar"] = trace.colorbar.to_plotly_json()
    marker = getattr(trace, "marker", None) if "marker" in trace else None
    if marker is not None and _marker_scale(marker):
        view["marker"] = {"showscale": True, "colorbar": marker.colorbar.to_plotly_json(), "color": marker.color,
                          "cmin": marker.cmin, "cmax": marker.cmax, "coloraxis": marker.coloraxis}
    return view


def _annotation_font(font: dict, theme: Theme) -> dict:
    """An annotation's font at the theme's size or the builder's if larger, in the builder's colour if it set one."""
    return {**font, **_font(theme, max(theme.annotation_size, font.get("size") or 0)),
            "color": font.get("color") or theme.text_color}


_3D = frozenset({"scatter3d", "surface", "mesh3d", "cone", "streamtube", "volume", "isosurface"})


_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # as plotly reads a tag: "ρ < 1 … ρ > 1" is text, not one long tag
SOFT_BREAK = "<br >"  # a break wrap() made: plotly reads it as <br> (its own pattern is /<br(\s+.*)?>/i), and a
# second wrap (at presentation width) can tell it from an authored "<br>", which it keeps


def wrap(text: str, width: int) -> str:
    """Plotly HTML text broken into lines of at most `width` visible characters (tags not counted, never split) at
    spaces, joined with SOFT_BREAK; authored line breaks (<br>) are kept, earlier soft ones are redone."""
    paras = []
    for para in text.replace(SOFT_BREAK, " ").split("<br>"):
        lines, line, seen = [], [], 0
        kept = _TAG.sub(lambda m: m.group(0).replace(" ", "\0"), para)  # a tag's own spaces (<span style="a: b">)
        for word in (w.replace("\0", " ") for w in kept.split(" ")):
            n = len(html.unescape(_TAG.sub("", word)))  # "&lt;b&gt;" shows as three characters, "<b>" as none
            if line and seen + 1 + n > width:
                lines.append(" ".join(line))
                line, seen = [], 0
            seen += n + (1 if line else 0)
            line.append(word)
        lines.append(" ".join(line))
        paras.append(SOFT_BREAK.join(lines))
    return "<br>".join(paras)


def style(fig: go.Figure, theme: Theme = NORMAL, title: str | None = None, subtitle: str | None = None) -> go.Figure:
    """Applies `theme` to every text-bearing part of `fig` (in place, and returns it). `title` and `subtitle`
    (one line saying what to notice) replace the figure's own when given. A height the builder set (scaled
    from theme.height) is kept; otherwise the figure gets theme.height.

    The layout is read once as JSON, merged with every change in plain dicts and set back whole: plotly's update()
    machinery, once per part, took about a tenth of a second a figure on a slow machine (most of a page's script
    time); this way takes a sixth of that for the same figure."""
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)  # plotly's default, given to every new figure; replaced below
    said = subtitle if subtitle is not None else layout.get("title", {}).get("subtitle", {}).get("text")
    if said is not None:
        said = wrap(said, theme.subtitle_chars)
    lines = len(re.findall(r"<br(?:\s[^>]*)?>", said)) + 1 if said else 0  # lines below the first: 1.25 of the size
    top = 20 + int(1.6 * theme.title_size) + (int(1.6 * theme.annotation_size) + int(1.25 * theme.annotation_size)
                                              * (lines - 1) if lines else 0)
    top += int(0.6 * theme.tick_size)  # a y tick at the plot's top edge stands half its height above it: clear of
    # the subtitle's last line (a heat map's "unit 0" touched it on a projector)
    annotations = layout.get("annotations", [])
    if any(a.get("yref") == "paper" and (a.get("y") or 0) >= 1 for a in annotations):  # subplot titles sit above
        top += int(1.6 * theme.annotation_size)
    margin = layout.get("margin", {})
    title_update = {"font": _font(theme, theme.title_size), "x": 0.01, "xanchor": "left", "yref": "container",
                    "y": 1.0, "yanchor": "top", "pad": {"t": 12},  # pinned to the top, whatever the margin below it
                    "subtitle": {"font": _font(theme, theme.annotation_size)}}
    if title is not None:
        title_update["text"] = title
    if said is not None:
        title_update["subtitle"]["text"] = said
    update = {
        "font": _font(theme, theme.font_size),
        "height": min(layout.get("height") or theme.height, theme.max_height), "title": title_update,
        "legend": {"font": _font(theme, theme.legend_size), "title": {"font": _font(theme, theme.legend_size)}},
        "hoverlabel": {"font": {"family": theme.font_family, "size": theme.hover_size}},
        "paper_bgcolor": theme.background, "plot_bgcolor": theme.background,
        "margin": {"t": max(top, margin.get("t") or 0)},  # l, r and b below, from what the figure shows
    }
    traces = fig.data
    for name in {"xaxis", "yaxis"} | {k for k in layout if k.startswith(("xaxis", "yaxis"))}:
        update[name] = _axis_update(layout.get(name, {}), theme)
    scenes = {k for k in layout if k.startswith("scene")} | {t.scene or "scene" for t in traces if t.type in _3D}
    for name in scenes:
        axes = layout.get(name, {})
        update[name] = {a: _axis_update(axes.get(a, {}), theme, flat=False) for a in ("xaxis", "yaxis", "zaxis")}
    used = [getattr(t, "coloraxis", None) for t in traces] + \
        [getattr(getattr(t, "marker", None), "coloraxis", None) for t in traces]
    coloraxes = {k for k in layout if k.startswith("coloraxis")} | {ref for ref in used if ref}
    for name in coloraxes:
        update[name] = _colorbar_update(theme)
    if annotations:
        update["annotations"] = [{**a, "font": _annotation_font(a.get("font", {}), theme)} for a in annotations]
    for trace in traces:  # first: their colour bars' fonts are part of the margins
        _style_trace(trace, theme)
    merged = _merged(layout, update)
    # as wide as plotly's automargin would make them, so the figure is drawn once, not again at its final margins
    wide = margins.estimate(merged, [_margin_view(t) for t in traces])
    merged["margin"].update({k: max(margin.get(k) or 0, wide[k]) for k in "lrb"})
    fig.layout = merged  # validated once, as a whole
    _plotly_white(fig)
    log_ticks_full_size(fig)  # in both themes: the in-between labels were 10 px in the normal one ("2" read as 2)
    return fig
