"""Margins estimated before plotly draws a figure (rnnviz/plots/margins.py), against plotly's own drawing.

tests/data/plotly_margins.json holds five view figures at both theme sizes as plotly.js drew them in Chromium
with margins of 10 px (what each figure needs after plotly's automargin grew them: the reference) and the
parts of each figure the estimate reads. The browser tests check every page's and lesson's charts were drawn
at the margins given (harness.assert_drawn_once); these check the estimate against the reference offline,
and the rules it is built from against plotly's."""
import json
from pathlib import Path

import plotly.graph_objects as go
import pytest

from rnnviz.plots import margins
from rnnviz.plots.theme import NORMAL, PRESENTATION, style

CASES = json.loads((Path(__file__).parent / "data" / "plotly_margins.json").read_text(encoding="utf-8"))
WASTE = 25  # px: at most this much more than plotly needs, on any side


@pytest.mark.parametrize("case", CASES, ids=[f"{c['figure']}-{'present' if c['presentation'] else 'normal'}"
                                             for c in CASES])
def test_the_estimate_leaves_plotly_no_reason_to_grow_the_margins_and_wastes_little(case):
    got = margins.estimate(case["layout"], case["data"])
    for side in "lrb":
        need = case["plotly_margins"][side]
        assert need <= got[side] <= need + WASTE, (side, got[side], need)


def test_automatic_ticks_follow_plotly_s_rule():
    """4 to 10 ticks (one per 40 px up an axis, 80 px along one) at 1, 2 or 5 times a power of ten, as plotly
    chose them in the reference figures: the saturation plot's y axis (0 to 1 padded, 284 px) and the PCA's
    x axis (−3.4 to 4.3 across 1300 px)."""
    assert margins.nice_ticks(-0.05, 1.05, 284, vertical=True) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert margins.nice_ticks(-3.4, 4.3, 1300, vertical=False) == pytest.approx(list(range(-3, 5)))
    assert margins.nice_ticks(0, 0.026, 300, vertical=True) == pytest.approx([0, 0.005, 0.01, 0.015, 0.02, 0.025])
    many = margins.nice_ticks(0, 1000, 5000, vertical=True)
    assert 5 <= len(many) <= 11, "plotly draws at most ten intervals however long the axis"


def test_tick_labels_are_written_as_plotly_writes_them():
    assert margins.number_label(-0.5, 0.5) == "−0.5"  # plotly's minus sign, not a hyphen
    assert margins.number_label(0.015000000000000001, 0.005) == "0.015"
    assert margins.number_label(-1e-17, 0.2) == "0"  # no "−0" at a rounding error below zero
    assert margins.number_label(1750.0, 250) == "1750"
    assert margins.number_label(0.5, 0.1, ".0%") == "50%"
    assert margins.number_label(0.25, 0.05, "~g") == "0.25"


def test_text_width_counts_what_is_drawn():
    unit = margins.text_width("unit 126", 13)
    assert unit == pytest.approx(3.558 * 13 * margins.WIDER_FONTS)  # Arial's advance widths, in em
    assert margins.text_width("h<sub>t</sub>", 13) == pytest.approx(margins.text_width("ht", 13))  # tags not drawn
    assert margins.text_width("a&lt;b", 13) == pytest.approx(margins.text_width("a<b", 13))  # one character shown
    assert margins.text_width("short<br>a longer line", 13) == pytest.approx(margins.text_width("a longer line", 13))
    assert margins.text_width("abc", 20, mono=True) == pytest.approx(3 * 0.62 * 20 * margins.WIDER_FONTS)


def test_style_gives_each_side_what_its_labels_legend_and_colour_bar_need():
    def figure():
        fig = go.Figure()
        for k in range(3):
            fig.add_scatter(x=[0, 1, 2], y=[0.1, 0.5, 0.9], name=f"a rather long legend entry {k}")
        fig.update_layout(yaxis_title="value", xaxis_title="time step t")
        return fig

    for theme in (NORMAL, PRESENTATION):
        plain = style(figure(), theme).layout.margin
        wide_labels = figure()
        wide_labels.update_yaxes(tickvals=[0.1, 0.5], ticktext=["a very long category label", "b"])
        wider = style(wide_labels, theme).layout.margin
        label = margins.text_width("a very long category label", theme.tick_size)
        assert wider.l - plain.l == pytest.approx(label - margins.text_width("0.8", theme.tick_size), abs=1.5)
        legend = margins.text_width("a rather long legend entry 0", theme.legend_size)
        assert plain.r >= legend + 46 + 10, "the legend (its entries, symbol and pads) must fit right of the plot"
        assert plain.b >= 1.35 * theme.tick_size + 15 + 0.82 * theme.axis_title_size
        heat = style(go.Figure(go.Heatmap(z=[[0, 1], [2, 3]], colorbar={"title": {"text": "a long colour bar title"}})),
                     theme).layout.margin
        assert heat.r >= margins.text_width("a long colour bar title", theme.axis_title_size) + 30


def test_a_margin_the_builder_set_is_kept_when_larger():
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    fig.update_layout(margin={"l": 300, "r": 5})
    got = style(fig, NORMAL).layout.margin
    assert got.l == 300
    assert got.r > 5, "a builder's margin smaller than the labels need grows, as plotly's automargin would"


def test_plotly_s_own_rules_for_what_shows_count():
    """A legend once two scatter traces are drawn, even when only one shows its entry (gate_lines' rows after the
    first); a marker colour bar once the builder gives it one, unasked (lambda_figure): both widen the right side.
    Two heat maps alone show no legend."""
    base = style(go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="a fairly long entry")), NORMAL).layout.margin.r
    one_entry = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], name="a fairly long entry")]
                          + [go.Scatter(x=[0, 1], y=[1, 0], name="a fairly long entry", showlegend=False)] * 2)
    assert style(one_entry, NORMAL).layout.margin.r >= margins.text_width("a fairly long entry", 13) + 46 + 10 > base
    dots = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="markers",
                                marker={"color": [0, 1], "colorbar": {"title": {"text": "training step"}}}))
    assert style(dots, NORMAL).layout.margin.r >= margins.text_width("training step", 15) + 30
    heat = go.Figure([go.Heatmap(z=[[0, 1]], name="a", showscale=False), go.Heatmap(z=[[0, 1]], name="b",
                                                                                     showscale=False)])
    assert style(heat, NORMAL).layout.margin.r < 40
    # a scatter trace with no points is invisible to plotly and counts toward no legend: a run that never clipped
    # left the gradient-norm chart's plot a third of its column, the rest kept for a legend never drawn
    empty = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], name="a fairly long entry"),
                       go.Scatter(x=[], y=[], name="another fairly long entry")])
    assert style(empty, NORMAL).layout.margin.r == base
    empty.data[1].update(x=[0], y=[1])
    assert style(empty, NORMAL).layout.margin.r > base


def test_a_log_axis_counts_only_what_it_can_draw():
    """Bars start at 0 and data can hold zeros; a log axis shows neither (connectivity's bars on a log scale)."""
    bars = go.Figure(go.Bar(x=[0, 1, 2], y=[1e-3, 0.0, 0.2]))
    bars.update_yaxes(type="log", title_text="||∂y/∂x||")
    assert style(bars, NORMAL).layout.margin.l > margins.text_width("10<sup>−3</sup>", 13)
    empty = go.Figure(go.Scatter(x=[0, 1], y=[0.0, 0.0]))
    empty.update_yaxes(type="log")
    assert style(empty, NORMAL).layout.margin.l >= 10


def test_a_second_y_axis_on_the_right_widens_the_right_side():
    """A twin axis (overlaying y, drawn on the right) pushes the right margin as the first pushes the left."""
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], name="loss"),
                     go.Scatter(x=[0, 1], y=[1000, 250000], name="tokens seen", yaxis="y2")])
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "title": {"text": "tokens seen"}},
                      showlegend=False)
    got = style(fig, NORMAL).layout.margin
    assert got.r >= margins.text_width("250000", 13) + 15 + 0.82 * 15


def test_a_builder_s_own_tick_values_are_the_labels_counted():
    """The gradient heat map labels its training steps at tickvals (1, 250, ..., 1750): those are what is drawn."""
    fig = go.Figure(go.Heatmap(z=[[0, 1], [1, 2]], y=[1, 2], showscale=False))
    fig.update_yaxes(tickvals=[1, 250, 12500], title_text="training step")
    got = margins.tick_labels(style(fig, NORMAL).layout.yaxis.to_plotly_json(), "y", [], 300)
    assert got == ["1", "250", "12500"]
