"""rnnviz.plots: each builder on tiny traces draws the right traces, axes and values; the presentation theme
reaches every text-bearing part; heavy arrays stay float32 and within budget; no builder needs streamlit."""
import html
import re
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from rnnviz import analysis as A
from rnnviz import plots as P
from rnnviz.build import build_model
from rnnviz.models import ModelConfig
from rnnviz.plots.budget import SCATTER_MAX_POINTS, decimate_grid, decimate_line, grid_factors
from rnnviz.plots.theme import GATE_COLORS, NORMAL, PRESENTATION, PRESENTATION_MIN_FONT
from rnnviz.sampling import Generated
from rnnviz.trace import LAYERED, Trace, probe

V, H, B, T = 7, 6, 3, 5
TOKENS = list("ab<d ")


def token_model(arch="lstm", layers=1, **kw):
    return build_model(ModelConfig(arch=arch, vocab_size=V, hidden_size=H, output_size=V, num_layers=layers, **kw))


@pytest.fixture(scope="module")
def lstm_trace():
    torch.manual_seed(0)
    return probe(token_model("lstm", layers=2), torch.randint(0, V, (B, T)))


@pytest.fixture(scope="module")
def s2s_trace():
    torch.manual_seed(0)
    m = build_model(ModelConfig(arch="gru", vocab_size=V, hidden_size=H, output_size=5, seq2seq=True,
                                attention="dot"))
    return probe(m, torch.randint(0, V, (2, 6)), torch.randint(0, 5, (2, 4)))


def gen():
    return Generated("ab", list("c<d"), [0.5, 0.9, 0.2],
                     [[("c", 0.5), ("x", 0.3)], [("<", 0.9), ("c", 0.05)], [("d", 0.2), ("e", 0.19)]])


def history(n=3000):
    return [{"step": s, "loss": 1 / s, "metric": 1 - 1 / s, "grad_norm": float(s % 97 + 1), "clipped": s % 500 == 0,
             "val_loss": 1 / s if s % 25 == 0 else None, "val_metric": None} for s in range(1, n + 1)]


def text_sizes(fig: go.Figure) -> dict[str, float | None]:
    """Every font size a reader sees: layout, title, subtitle, each axis (ticks and title; a 3-D scene's when a
    trace is drawn in it), legend, hover, annotations, colour bars (a shared colour axis's when one is set or
    used), text on marks."""
    L = fig.layout
    sizes = {"layout": L.font.size, "title": L.title.font.size, "legend": L.legend.font.size,
             "hover": L.hoverlabel.font.size}
    if L.title.subtitle.text:
        sizes["subtitle"] = L.title.subtitle.font.size
    axes = []
    fig.for_each_xaxis(axes.append)
    fig.for_each_yaxis(axes.append)
    for name in sorted({t.scene or "scene" for t in fig.data if "scene" in t}):  # the 3-D scenes drawn
        axes.extend([L[name].xaxis, L[name].yaxis, L[name].zaxis])
    for i, a in enumerate(axes):
        sizes[f"axis{i} ticks"], sizes[f"axis{i} title"] = a.tickfont.size, a.title.font.size
    for i, a in enumerate(L.annotations):
        sizes[f"annotation{i}"] = a.font.size
    referenced = [t.coloraxis for t in fig.data if "coloraxis" in t] + \
        [t.marker.coloraxis for t in fig.data if "marker" in t and "coloraxis" in t.marker]
    for name in {k for k in L.to_plotly_json() if k.startswith("coloraxis")} | {r for r in referenced if r}:
        sizes[f"{name} ticks"] = L[name].colorbar.tickfont.size
    for i, t in enumerate(fig.data):
        holders = [t] + ([t.marker] if getattr(t, "marker", None) is not None else [])
        for h in holders:
            shows = getattr(h, "showscale", None)
            if hasattr(h, "colorbar") and (shows or (shows is None and h is t and t.type == "heatmap")):
                sizes[f"trace{i} colorbar"] = h.colorbar.tickfont.size
                sizes[f"trace{i} colorbar title"] = h.colorbar.title.font.size
        if "text" in (getattr(t, "mode", None) or "") or getattr(t, "texttemplate", None):
            sizes[f"trace{i} text"] = t.textfont.size
    return sizes


# -- theme ------------------------------------------------------------------------------------------------
def presentation_figures(lstm_trace, s2s_trace):
    yield P.unrolled_figure(lstm_trace, "many-to-many-sync", tokens=TOKENS, bptt_step=1, theme=PRESENTATION)
    yield P.state_heatmap(lstm_trace, tokens=TOKENS, theme=PRESENTATION)
    yield P.gate_heatmaps(lstm_trace, theme=PRESENTATION)
    yield P.saturation_figure([lstm_trace, lstm_trace], ["a", "b"], theme=PRESENTATION)
    yield P.pca_figure(lstm_trace, dims=3, tokens=TOKENS, theme=PRESENTATION)
    yield P.topk_figure(gen(), theme=PRESENTATION)
    yield P.loss_curves({"rnn": history(50), "lstm": history(60)}, theme=PRESENTATION)
    yield P.connectivity_figure([1, 2, 3, 4, 5], [0], theme=PRESENTATION)
    yield P.attention_figure(s2s_trace, theme=PRESENTATION)
    yield P.cell_vs_hidden(lstm_trace, theme=PRESENTATION)
    yield from every_other_builder(lstm_trace)


def every_other_builder(tr):
    """The rest of what the app draws, so no figure escapes the presentation check."""
    from rnnviz.plots.lessons import accuracy_vs_lag, gates_at_step
    from rnnviz.plots.weights import weight_blocks

    T = tr.steps
    w = torch.randn(4 * tr.meta["hidden_size"], tr.meta["hidden_size"])
    yield P.grad_curve(tr, tokens=TOKENS, theme=PRESENTATION)
    yield P.jacobian_figure(tr, 0.9, theme=PRESENTATION)
    yield P.grad_heat_figure([(1, [0.1] * T), (10, [1.0] * T)], theme=PRESENTATION)
    yield P.eigenvalue_figure(w, list("ifgo"), theme=PRESENTATION)
    yield P.singular_value_figure(w, list("ifgo"), theme=PRESENTATION)
    yield P.grad_compare({"a": tr, "b": tr}, k1=2, theme=PRESENTATION)
    yield P.gate_lines(tr, units=[0, 1], tokens=TOKENS, theme=PRESENTATION)
    yield P.cell_state_figure(tr, tokens=TOKENS, theme=PRESENTATION)
    yield P.grad_norm_figure({"rnn": history(50)}, clip_norm=1.0, theme=PRESENTATION)
    yield weight_blocks(w, list("ifgo"), theme=PRESENTATION)
    yield gates_at_step(tr, 1, [0, 1], theme=PRESENTATION)
    yield accuracy_vs_lag({"lstm": [(5, 1.0), (20, 0.8)]}, chance=0.5, theme=PRESENTATION)
    from rnnviz.plots.lessons import weight_share_figure

    yield weight_share_figure(tr, tokens=TOKENS, theme=PRESENTATION)
    states = A.layered(tr, "h")
    yield P.unit_finder_figure(A.unit_correlations(states, {"t": np.arange(T, dtype=float)}), f"the {T} steps",
                               theme=PRESENTATION)


def test_presentation_fonts_reach_every_text_part(lstm_trace, s2s_trace):
    assert PRESENTATION.min_font >= PRESENTATION_MIN_FONT
    for fig in presentation_figures(lstm_trace, s2s_trace):
        sizes = text_sizes(fig)
        small = {k: v for k, v in sizes.items() if v is None or v < PRESENTATION_MIN_FONT}
        assert not small, f"{fig.layout.title.text}: {small}"
        assert fig.layout.paper_bgcolor == "#ffffff" and fig.layout.font.color == "#000000"


def test_normal_theme_sets_tick_fonts_explicitly(lstm_trace):
    fig = P.gate_lines(lstm_trace, units=[0, 1])
    sizes = text_sizes(fig)
    assert all(v is not None for k, v in sizes.items() if "axis" in k)


def test_subtitles_wrap_between_words_keep_authored_breaks_and_reflow_when_restyled():
    from rnnviz.plots.theme import SOFT_BREAK, style, wrap

    tagged = '<span style="color: red">a b</span> ' + "word " * 30 + "end<br>second line"
    lines = re.split(r"<br ?>", wrap(tagged, 40))
    assert lines[0].startswith('<span style="color: red">a b</span>') and lines[-1] == "second line"
    assert all(len(re.sub(r"<[^>]+>", "", x)) <= 40 for x in lines)
    assert wrap('<span style="color: red">aaaa bbbb</span> cccc', 10) == (
        '<span style="color: red">aaaa bbbb</span>' + SOFT_BREAK + "cccc")  # never inside a tag
    assert wrap("&lt;b&gt; " * 9, 12).count(SOFT_BREAK) == 2  # an escaped "<b>" is three characters on screen
    assert wrap("|λ| > 0.9 " * 8, 30).count(SOFT_BREAK) >= 2  # a bare ">" is text, not the end of a tag
    fig = style(go.Figure(), subtitle="word " * 40)
    normal = fig.layout.title.subtitle.text.split(SOFT_BREAK)
    wide = style(fig, PRESENTATION).layout.title.subtitle.text.split(SOFT_BREAK)  # reflowed, not broken twice
    assert len(normal) == 2 and len(wide) == 3 and min(map(len, wide[:-1])) > 80
    assert style(fig, subtitle="").layout.title.subtitle.text == ""  # an empty subtitle clears it


def test_presentation_thickens_lines(lstm_trace):
    thin, thick = P.grad_curve(lstm_trace), P.grad_curve(lstm_trace, theme=PRESENTATION)
    assert thick.data[0].line.width > thin.data[0].line.width
    assert thick.data[0].marker.size > thin.data[0].marker.size


def test_gate_colours_agree_between_lstm_and_gru(lstm_trace):
    gru = probe(token_model("gru"), torch.randint(0, V, (B, T)))
    for tr, gates in ((lstm_trace, "ifgo"), (gru, "rzn")):
        fig = P.gate_lines(tr, units=[1])
        assert {t.legendgroup: t.line.color for t in fig.data} == {g: GATE_COLORS[g] for g in gates}


def test_gate_notes_name_only_the_cell_s_own_candidates(lstm_trace):
    gru = probe(token_model("gru"), torch.randint(0, V, (B, T)))
    for tr, own, other in ((lstm_trace, "(g)", "n"), (gru, "(n)", "g")):
        note = P.gate_lines(tr, units=[1]).layout.title.subtitle.text
        assert f"Candidates {own} live in [−1, 1]" in note and f"{other})" not in note, note


def test_gate_lines_show_a_gate_s_whole_range_and_name_the_exponential_one(lstm_trace):
    """Zoomed to 0.5 to 1, an mLSTM output gate at 0.55 sat at the bottom looking shut, under a note calling every
    gate a sigmoid in [0, 1]; its input gate is exponential (drawn divided by exp(m_t)). Gates now get 0 to 1 (−1 to
    1 beside a bounded candidate); S6's step size Δ_t gets one log range for every unit, so units compare."""
    x = torch.randint(0, V, (1, T))
    mlstm = build_model(ModelConfig(arch="mlstm", vocab_size=V, hidden_size=16, output_size=V))
    s6 = build_model(ModelConfig(arch="s6", vocab_size=V, hidden_size=H, output_size=V))
    lstm, m, dt = (P.gate_lines(t, units=[0, 1]) for t in (lstm_trace, probe(mlstm, x), probe(s6, x)))
    assert tuple(lstm.layout.yaxis.range) == (-1.05, 1.05) and tuple(lstm.layout.yaxis2.range) == (-1.05, 1.05)
    assert tuple(m.layout.yaxis.range) == (-0.05, 1.05)
    heat = P.gate_heatmaps(lstm_trace).layout.title.subtitle.text.replace("<br >", " ")  # g's dark is ±1, not shut
    assert "Gates: bright, open (1); dark, shut (0). Candidate g: red positive, blue negative, white 0." in heat
    assert lstm.layout.title.text.startswith("Gates and candidate of lstm") and m.layout.title.text.startswith(
        "Gates of mlstm")  # an LSTM's g is drawn among them and is no gate
    note = m.layout.title.subtitle.text.replace("<br >", " ")
    assert "Sigmoid gates (f, o) live in [0, 1]" in note and "exponential input gate i is drawn divided by" in note
    assert dt.layout.yaxis.range is None and dt.layout.yaxis2.matches == "y" and dt.layout.yaxis.type == "log"
    drawn = np.concatenate([np.asarray(t.y) for t in dt.data])  # powers of ten alone left one label, "10⁻²"
    ticks = dt.layout.yaxis.tickvals
    assert len(ticks) >= 2 and drawn.min() <= ticks[0] * 1.01 and ticks[-1] <= drawn.max() * 1.01, (ticks, drawn)
    values = np.concatenate([np.asarray(t.y) for t in m.data])
    assert values.min() >= -0.05 and values.max() <= 1.05  # the fixed range holds every value drawn


def test_log_ticks_label_a_narrow_log_axis_at_full_size_and_never_touch():
    from rnnviz.plots.logticks import log_ticks

    assert log_ticks([0.002, 0.05])["ticktext"] == ["0.002", "0.005", "0.01", "0.02", "0.05"]  # 25×: 1, 2 and 5
    assert log_ticks([1e-5, 0.5, 1.0])["ticktext"] == ["10⁻⁵", "0.0001", "0.001", "0.01", "0.1", "1"]  # decades
    assert log_ticks([0.0015, 0.99])["ticktext"][:3] == ["0.002", "0.005", "0.01"]  # 2.8 decades, two powers inside
    assert log_ticks([3e-12, 5e-12])["ticktext"][0] == "3×10⁻¹²" and log_ticks([5e-6, 6e-6])["ticktext"][0] == "5×10⁻⁶"
    assert log_ticks([0.023, 0.032])["ticktext"] == ["0.024", "0.026", "0.028", "0.03", "0.032"]  # not ten labels
    for narrow in ([0.0123, 0.0124], [0.25, 0.2500005], [1.0, 1.000002], [4e-6, 6e-6]):
        labels = log_ticks(narrow)["ticktext"]
        assert 1 <= len(labels) == len(set(labels)) <= 6, labels  # distinct labels, however narrow the range
    assert log_ticks([0.0, -1.0, np.nan]) == {}
    assert log_ticks([0.25, 0.25])["ticktext"] == ["0.25"]  # a run's first point: it raised on the Train page


# -- budgets ----------------------------------------------------------------------------------------------
def test_grid_decimation_keeps_the_budget_and_the_mean():
    z = np.random.default_rng(0).normal(size=(1000, 512)).astype(np.float32)
    g = decimate_grid(z)
    assert g.z.size <= P.HEATMAP_MAX_CELLS and g.z.dtype == np.float32
    assert (g.row_factor, g.col_factor) == (2, 2) and g.z.shape == (500, 256)
    assert g.z.mean() == pytest.approx(z.mean(dtype=np.float64), abs=1e-6)
    assert g.z[0, 0] == pytest.approx(z[:2, :2].mean(), rel=1e-5)
    np.testing.assert_allclose(g.rows[:2], [0.5, 2.5], rtol=1e-6)
    small = decimate_grid(z[:10, :10])
    np.testing.assert_array_equal(small.z, z[:10, :10])


def test_grid_factors_shrink_the_long_side_first():
    assert grid_factors(4, 100_000, 200_000) == (1, 2)
    fr, fc = grid_factors(1001, 513, 1000)
    assert np.ceil(1001 / fr) * np.ceil(513 / fc) <= 1000
    ragged = decimate_grid(np.array([[1.0, np.nan, 3.0]]), max_cells=2)
    np.testing.assert_allclose(ragged.z, [[1.0, 3.0]], rtol=1e-6)


def test_line_decimation():
    x = np.arange(10_000, dtype=float)
    y = np.ones_like(x)
    y[7777] = 50.0  # a spike
    mx, my = decimate_line(x, y, 1000, "mean")
    assert mx.size <= 1000 and my.mean() == pytest.approx(y.mean(), rel=1e-3)
    sx, sy = decimate_line(x, y, 1000, "minmax")
    assert sx.size <= 1000 and sy.max() == 50.0 and 7777 in sx
    assert np.all(np.diff(sx) > 0)


# -- hidden states ----------------------------------------------------------------------------------------
def test_state_heatmap_is_the_trace_transposed_and_sorted(lstm_trace):
    h = lstm_trace["h"][1, 2].numpy()  # (T, H)
    fig = P.state_heatmap(lstm_trace, layer=1, sample=2, order="variance", tokens=TOKENS)
    perm = np.argsort(-h.var(0), kind="stable")
    hm = fig.data[0]
    np.testing.assert_allclose(hm.z, h[:, perm].T, rtol=1e-6)
    assert hm.z.dtype == np.float32 and hm.zmid == 0
    assert list(hm.y) == [f"unit {u}" for u in perm]
    assert list(fig.layout.xaxis.ticktext) == ["a", "b", "&lt;", "d", "␣"]
    assert "variable" in fig.layout.yaxis.title.text


def test_a_long_wide_trace_is_decimated_within_budget():
    h = torch.randn(1, 1, 1000, 512)
    tr = Trace("rnn_tanh", {"h": h}, {"h": LAYERED}, {"prefixes": [""], "gates": []})
    hm = P.state_heatmap(tr).data[0]
    assert hm.z.size <= P.HEATMAP_MAX_CELLS and hm.z.dtype == np.float32 and hm.x.dtype == np.float32
    assert hm.y[0].startswith("units 0…1")


def test_relu_states_use_the_magnitude_palette():
    tr = Trace("rnn_relu", {"h": torch.rand(1, 1, 4, 3)}, {"h": LAYERED}, {"prefixes": [""]})
    assert P.state_heatmap(tr).data[0].zmid is None


def test_pca_figure_plots_the_analysis_coordinates(lstm_trace):
    fig = P.pca_figure(lstm_trace, layer=0, sample=1, tokens=TOKENS)
    res = A.pca(lstm_trace["h"][0, 1].numpy(), 2)
    np.testing.assert_allclose(fig.data[0].x, res.coords[:, 0], rtol=1e-5, atol=1e-6)
    assert f"{res.ratio[0]:.0%}" in fig.layout.xaxis.title.text
    assert list(fig.data[0].text) == ["a", "b", "&lt;", "d", "␣"]
    assert isinstance(P.pca_figure(lstm_trace, dims=3).data[0], go.Scatter3d)


def test_unit_finder_figure_puts_the_strongest_on_top():
    df = A.unit_correlations(np.random.default_rng(0).normal(size=(30, 4)), {"f": np.arange(30.0)})
    fig = P.unit_finder_figure(df, "the 30 steps of sample 0", top=3)
    assert fig.data[0].y[-1] == f"f · unit {df.iloc[0]['unit']}"
    assert "Measured over the 30 steps of sample 0." in fig.layout.title.subtitle.text  # which text


def test_coloured_text_says_what_its_colours_mean_and_breaks_lines_between_words():
    """A unit's strip under the generated text (red: unsure) had no legend for its own red (positive); lines broke
    inside words, reading like a line break the model wrote. The finder's bars are vermillion: "orange"."""
    text = P.activation_html(list("ab cd"), [-0.5, 0.0, 0.1, 0.2, 0.25], unit=7)
    legend = text.split("<span", 1)[0]
    assert "unit 7: blue −0.5" in legend and "red +0.5 (white: 0)" in legend
    assert "word-break:normal" in text and "overflow-wrap:anywhere" in text and "break-all" not in text
    assert "> </span><wbr>" in text  # a plain space, after which a line may break
    shown = P.activation_html(["a", "␣", "b", "↵", "c"], [0.1] * 5)  # the labels the views show
    assert "␣</span><wbr>" in shown and "↵</span><br>" in shown
    df = A.unit_correlations(np.random.default_rng(0).normal(size=(30, 2)), {"f": np.arange(30.0)})
    assert "orange: rises with it" in P.unit_finder_figure(df, "30 steps").layout.title.subtitle.text.replace(
        "<br >", " ")


def test_activation_html_escapes_and_colours_each_character():
    html = P.activation_html(["<", "&", "a", "\n", "b"], [-1.0, 0.0, 1.0, 0.5, 0.2])
    assert html.count("<span") == 5 and "&lt;" in html and "&amp;" in html and "<br>" in html
    assert "<script" not in P.activation_html(["<script>"], [1.0])
    assert "rgb(5, 48, 97)" in html and "rgb(103, 0, 31)" in html  # the palette's ends at ∓vmax
    with pytest.raises(ValueError, match="one per character"):
        P.activation_html(["a"], [1.0, 2.0])
    assert "</span><span" in html and "</span> <span" not in html  # characters sit side by side
    numbers = P.activation_html(["0.64", "0.06●", "1.00"], [0.1, 0.2, 0.3])  # a numeric task's inputs
    assert numbers.count("</span> <span") == 2 and "word-break:normal" in numbers, "numbers must not run together"


def test_generation_html_and_topk():
    g = gen()
    html = P.generation_html(g)
    assert html.count("<span") == len(g.prime) + len(g.chars) and "&lt;" in html
    fig = P.topk_figure(g)
    np.testing.assert_allclose(fig.data[0].z, [[0.5, 0.9, 0.2], [0.3, 0.05, 0.19]], rtol=1e-6)
    assert list(fig.layout.xaxis.ticktext) == ["c", "&lt;", "d"]


# -- gradients ----------------------------------------------------------------------------------------------
def test_grad_curve_is_the_norm_over_units_on_a_log_axis(lstm_trace):
    fig = P.grad_curve(lstm_trace)
    assert fig.layout.yaxis.type == "log" and len(fig.data) == 2
    expected = lstm_trace["grad.h"].double().norm(dim=-1).mean(1).numpy()
    for k in range(2):
        np.testing.assert_allclose(fig.data[k].y, expected[k], rtol=1e-5)
    one = P.grad_curve(lstm_trace, sample=0)
    np.testing.assert_allclose(one.data[1].y, lstm_trace["grad.h"][1, 0].norm(dim=-1).numpy(), rtol=1e-5)


def test_jacobian_figure_draws_rho_to_the_lag(lstm_trace):
    rho = 0.7
    fig = P.jacobian_figure(lstm_trace, rho, layer=1, gated=False)  # the caller may ask for the line
    measured, line = fig.data
    assert fig.layout.yaxis.type == "log" and "ρ = 0.7" in line.name
    method = lstm_trace.meta["jacobian"][""]  # said in a sentence of its own, not "… on average. (exact)"
    said = fig.layout.title.subtitle.text.replace("<br >", " ")
    assert ("The norms are exact, by autograd." if method == "exact" else f"The norms are an {method}.") in said
    anchor = float(lstm_trace["jacobian"][1, -1])
    np.testing.assert_allclose(line.y, anchor * rho ** np.asarray(line.x, dtype=float), rtol=1e-5)
    np.testing.assert_allclose(measured.y, lstm_trace["jacobian"][1].numpy()[::-1], rtol=1e-6)


def test_jacobian_rho_line_only_for_vanilla_cells_and_the_measured_rate_is_named(lstm_trace):
    rnn = probe(token_model("rnn_tanh"), torch.randint(0, V, (B, T)))
    vanilla = P.jacobian_figure(rnn, 0.9)
    assert len(vanilla.data) == 2 and "ρ = 0.9" in vanilla.data[1].name
    gated = P.jacobian_figure(lstm_trace, 0.9, layer=1)  # an LSTM: inferred from trace.arch
    assert len(gated.data) == 1 and not any("ρ<sup>lag</sup>" in (t.name or "") for t in gated.data)
    norm = lstm_trace["jacobian"][1].double().numpy()[::-1]  # by lag 0..T-1
    rate = np.exp(np.mean(np.log(norm[1:] / norm[:-1])))  # geometric mean of successive ratios
    assert f"measured: ×{rate:.3g} per step on average" in gated.data[0].name  # from first to last lag
    assert f"×{rate:.3g} per step" in gated.layout.title.subtitle.text
    assert gated.layout.showlegend  # the rate is read in the legend, even with a single line
    assert len(P.jacobian_figure(rnn, 0.9, gated=True).data) == 1


def test_jacobian_y_range_comes_from_the_measurement_not_the_prediction():
    rnn = probe(token_model("rnn_tanh"), torch.randint(0, V, (B, T)))
    fig = P.jacobian_figure(rnn, 50.0)  # a prediction that explodes by 50^4
    measured, line = fig.data
    lo, hi = fig.layout.yaxis.range
    assert 10 ** lo <= np.nanmin(measured.y) and np.nanmax(measured.y) <= 10 ** hi
    assert np.nanmax(line.y) > 10 ** hi  # the ρ line leaves the frame; it did not stretch it
    assert hi - np.log10(np.nanmax(measured.y)) <= 0.5


def test_grad_compare_overlays_and_shades_tbptt_windows(lstm_trace):
    fig = P.grad_compare({"clipped": lstm_trace, "curve": np.array([1.0, 0.0, 2.0, 3.0, 4.0, 5.0, 6.0])}, k1=2)
    assert [t.name for t in fig.data] == ["clipped", "curve"]
    assert np.isnan(fig.data[1].y[1])  # zero cannot sit on a log axis
    assert len(fig.layout.shapes) == 2  # windows [0,2) and [4,6) of the 7 steps
    assert fig.layout.shapes[1].x0 == 3.5


def test_before_after_uses_the_same_probe(lstm_trace):
    m = token_model("rnn_tanh")
    before, after = A.probe_pair(m, lambda mm: A.scaled_recurrent(mm, 2.0), torch.randint(0, V, (2, T)))
    fig = P.before_after(before, after, "W_hh × 2")
    assert [t.name for t in fig.data] == ["before", "after: W_hh × 2"]
    assert fig.layout.legend.title.text == "the network"  # one network, edited: not two "runs"
    assert not np.allclose(fig.data[0].y, fig.data[1].y)


def test_grad_heat_figure_is_log10_of_the_norms():
    fig = P.grad_heat_figure([(1, [0.1, 1.0, 10.0]), (101, [0.01, 0.0, 1.0])], normalize=False)
    np.testing.assert_allclose(fig.data[0].z, [[-1, 0, 1], [-2, np.nan, 0]], rtol=1e-6)  # float32 log10: a few ulps
    np.testing.assert_array_equal(fig.data[0].y, [0, 1])  # one equal row per probe...
    assert list(fig.layout.yaxis.ticktext) == ["1", "101"]  # ...labelled with its training step
    np.testing.assert_array_equal(np.asarray(fig.data[0].customdata)[:, 0, 0], [1, 101])


def test_grad_heat_rows_are_normalised_so_their_shape_compares_across_training():
    heat = [(1, [0.1, 1.0, 10.0]), (500, [1e-4, 1e-3, 1e-2])]  # the same reach, the loss 1000x lower
    fig = P.grad_heat_figure(heat)
    hm = fig.data[0]
    np.testing.assert_allclose(hm.z, [[-2, -1, 0], [-2, -1, 0]], atol=1e-6)  # one shape, one colour
    assert hm.zmax == 0 and "row max" in hm.colorbar.title.text
    raw = np.asarray(hm.customdata)[..., 1]  # the raw norms stay in the hover
    np.testing.assert_allclose(raw, [[0.1, 1.0, 10.0], [1e-4, 1e-3, 1e-2]], rtol=1e-5)
    assert "%{customdata[1]" in hm.hovertemplate
    assert "normalised" in fig.layout.title.subtitle.text


def test_gradient_race_puts_runs_side_by_side_on_one_colour_scale():
    from rnnviz.plots.gradients import grad_race_figure

    rnn = [(1, [1e-6, 1e-3, 1.0]), (50, [1e-8, 1e-4, 1.0])]  # vanishing: dark on the left
    gru = [(1, [0.5, 0.8, 1.0])]  # reaches back
    fig = grad_race_figure({"tanh RNN": rnn, "GRU": gru, "not probed yet": []})
    assert [t.name for t in fig.data] == ["tanh RNN", "GRU"] and {t.coloraxis for t in fig.data} == {"coloraxis"}
    np.testing.assert_allclose(fig.data[0].z, [[-6, -3, 0], [-8, -4, 0]], atol=1e-5)
    np.testing.assert_allclose(fig.data[1].z, [np.log10([0.5, 0.8, 1.0])], atol=1e-5)
    assert fig.layout.coloraxis.cmin == pytest.approx(-8, abs=1e-4) and fig.layout.coloraxis.cmax == 0
    assert [a.text for a in fig.layout.annotations][:2] == ["tanh RNN", "GRU"]
    with pytest.raises(ValueError, match="probed"):
        grad_race_figure({"a": []})


def test_eigenvalue_points_are_the_blocks_eigenvalues_with_the_unit_circle():
    m = token_model("lstm")
    w = A.recurrent_weights(m)
    fig = P.eigenvalue_figure(w, m.spec.blocks)
    circle = fig.data[-1]  # drawn last: on top of the points
    assert circle.name.startswith("unit circle")
    np.testing.assert_allclose(np.hypot(circle.x, circle.y), 1.0, atol=1e-6)
    assert circle.line.width >= 3 and sum(int(circle.line.color[k:k + 2], 16) for k in (1, 3, 5)) < 3 * 80
    assert all(t.marker.opacity < 1 for t in fig.data[:-1])
    assert len({t.marker.symbol for t in fig.data[:-1]}) == 4  # a second cue besides colour
    for j, (g, tr) in enumerate(zip("ifgo", fig.data[:-1])):
        ev = torch.linalg.eigvals(w[j * H:(j + 1) * H].double()).numpy()
        got = np.asarray(tr.x) + 1j * np.asarray(tr.y)
        np.testing.assert_allclose(np.sort_complex(got), np.sort_complex(ev), atol=1e-5)
        assert tr.marker.color == GATE_COLORS[g]
    assert fig.layout.yaxis.scaleanchor == "x"
    # the circle's rule is the tanh RNN's: over an LSTM's blocks it was said as if it decided vanishing
    assert "the circle decides vanishing only for a tanh RNN" in fig.layout.title.subtitle.text
    rnn = token_model("rnn_tanh")
    assert "outside: it grows (explode)" in P.eigenvalue_figure(A.recurrent_weights(rnn), rnn.spec.blocks
                                                                 ).layout.title.subtitle.text
    sv = P.singular_value_figure(w, m.spec.blocks)
    np.testing.assert_allclose(sv.data[0].y, torch.linalg.svdvals(w[:H].double()).numpy(), rtol=1e-5)
    # each block says what it is: "r block" was defined nowhere on the GRU's Gradient flow page
    gru = token_model("gru")
    names = [t.name for t in P.eigenvalue_figure(A.recurrent_weights(gru), gru.spec.blocks).data[:-1]]
    assert [n.split(":")[0] for n in names] == ["reset gate r block", "update gate z block", "candidate n block"]
    assert [t.name.split(":")[0] for t in sv.data if "σ" in t.name][0] == "input gate i block"


def test_connectivity_marks_the_true_dependency():
    fig = P.connectivity_figure([0.1, 0.0, 0.5, 0.2], dependency=[0, 2], tokens=list("wxyz"))
    other, dep, star = fig.data
    np.testing.assert_array_equal(dep.x, [0, 2]) and np.testing.assert_array_equal(dep.y, [0.1, 0.5])
    np.testing.assert_array_equal(other.x, [1, 3])
    np.testing.assert_array_equal(star.x, [0, 2])
    assert dep.marker.color != other.marker.color and len(fig.layout.shapes) == 2
    assert tuple(fig.layout.xaxis.range) == (-0.6, 3.6)  # the axis ran to about 57 for 50 bars
    # the star stands clear of the tallest bar: 1.08× of it, on a log axis, covered the neighbouring bars' tops
    values = [10.0 ** -k for k in range(6)][::-1]
    log = P.connectivity_figure(values, dependency=[4], log=True)
    star = next(t for t in log.data if t.name == "true dependency")
    assert np.log10(star.y[0]) - np.log10(max(values)) >= 0.1 * 5 - 1e-6  # a tenth of the axis's decades above
    assert star.y[0] > 1.5 * 0.5 and next(t for t in fig.data if t.name == "true dependency").y[0] > 0.5
    with pytest.raises(ValueError, match="outside the 4 input steps"):
        P.connectivity_figure([1, 2, 3, 4], dependency=[4])


# -- gates --------------------------------------------------------------------------------------------------
def test_saturation_figure_plots_hand_counted_fractions():
    gi = torch.tensor([0.05, 0.5, 0.95, 0.99]).view(1, 1, 4, 1)
    tr = Trace("gru", {"gate.r": gi, "gate.z": 1 - gi, "h": torch.zeros(1, 1, 4, 1)}, {k: LAYERED for k in
               ("gate.r", "gate.z", "h")}, {"prefixes": [""], "gates": ["r", "z", "n"]})
    fig = P.saturation_figure([tr], ["GRU"])
    points = {t.name: (t.x[0], t.y[0]) for t in fig.data if t.mode == "markers"}
    assert points == {"reset gate r": (0.25, 0.5), "update gate z": (0.5, 0.25)}
    frame = fig.data[0]
    assert list(frame.x[:5]) == [0, 1, 1, 0, 0] and list(frame.x[-2:]) == [0, 1] and list(frame.y[-2:]) == [1, 0]


def test_gate_heatmaps_one_per_gate(lstm_trace):
    fig = P.gate_heatmaps(lstm_trace, layer=1, sample=1)
    assert [t.name for t in fig.data] == list("ifgo")
    np.testing.assert_allclose(fig.data[1].z, lstm_trace["gate.f"][1, 1].numpy().T, rtol=1e-6)
    assert fig.data[2].coloraxis == "coloraxis2" and fig.data[1].coloraxis == "coloraxis"
    with pytest.raises(ValueError, match="no gates"):
        P.gate_heatmaps(probe(token_model("rnn_tanh"), torch.randint(0, V, (1, T))))


def test_cell_state_and_c_against_h(lstm_trace):
    fig = P.cell_state_figure(lstm_trace, units=[3])
    np.testing.assert_allclose(fig.data[0].y, lstm_trace["c"][0, 0, :, 3].numpy())
    # its units take none of the gates' colours: lesson 4 drew "unit 83" in the forget gate's vermilion below f
    units = P.cell_state_figure(lstm_trace, units=list(range(H)))
    colours = [t.line.color for t in units.data]
    assert not set(colours) & {GATE_COLORS[g] for g in "ifgo"}, colours
    assert len({(t.line.color, t.line.dash) for t in units.data}) == H  # and no two units alike
    cvh = P.cell_vs_hidden(lstm_trace, layer=1)
    np.testing.assert_allclose(cvh.data[0].x, lstm_trace["c"][1, 0].numpy().ravel())
    np.testing.assert_allclose(cvh.data[1].y, np.tanh(cvh.data[1].x), atol=1e-6)
    assert "drawn" not in cvh.layout.title.subtitle.text  # all of them
    assert cvh.layout.title.text.startswith("h<sub>t</sub> against c<sub>t</sub>")  # y against x: h is up
    long = probe(token_model("lstm"), torch.randint(0, V, (1, 1200)))  # H · 1200 pairs: thinned, and it says so
    thin = P.cell_vs_hidden(long)
    n = long["c"][0, 0].numel()
    k = -(-n // SCATTER_MAX_POINTS)
    np.testing.assert_allclose(thin.data[0].x, long["c"][0, 0].numpy().ravel()[::k])
    said = thin.layout.title.subtitle.text.replace("<br >", " ")
    assert f"One pair in {k} drawn ({-(-n // k):,} of {n:,})" in said and k > 1


def test_snapshots_pick_the_ith_trace(lstm_trace):
    traces = [lstm_trace.select(["h", "grad.h"]) for _ in range(3)]
    for i, t in enumerate(traces):
        t.meta["train_step"] = 100 * i
    assert P.snapshot_steps(traces) == [0, 100, 200]
    fig = P.snapshot_figure(traces, 1, P.state_heatmap, layer=1)
    assert "snapshot 2 of 3" in fig.layout.title.text and "training step 100" in fig.layout.title.text
    with pytest.raises(ValueError, match="snapshot 3 is out of range"):
        P.snapshot_figure(traces, 3, P.state_heatmap)


# -- attention and the graph ----------------------------------------------------------------------------------
def test_attention_rows_sum_to_one_with_tokens_on_both_axes(s2s_trace):
    fig = P.attention_figure(s2s_trace, sample=1, source_tokens=list("abcdef"), target_tokens=list("wxyz"))
    z = fig.data[0].z
    np.testing.assert_allclose(z.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(z, s2s_trace["attention"][1].numpy())
    assert list(fig.layout.xaxis.ticktext) == list("abcdef") and list(fig.layout.yaxis.ticktext) == list("wxyz")
    # the output tokens run down the y axis, a line each: 14 fit a normal figure's height, 12 a projected one's
    torch.manual_seed(0)
    m = build_model(ModelConfig(arch="gru", vocab_size=V, hidden_size=H, output_size=5, seq2seq=True, attention="dot"))
    long = probe(m, torch.randint(0, V, (1, 6)), torch.randint(0, 5, (1, 13)))
    target = list("abcdefghijklm")
    assert list(P.attention_figure(long, target_tokens=target).layout.yaxis.ticktext) == target
    shown = P.attention_figure(long, target_tokens=target, theme=PRESENTATION).layout.yaxis
    assert list(shown.ticktext) == [str(int(v)) for v in shown.tickvals] and len(shown.tickvals) <= 12
    with pytest.raises(ValueError, match="no attention"):
        P.attention_figure(probe(token_model(), torch.randint(0, V, (1, T))))


def test_unrolled_figure_draws_every_node_and_greys_unreached_edges(lstm_trace):
    fig = P.unrolled_figure(lstm_trace, "many-to-many-sync", tokens=TOKENS, bptt_step=1)
    states = next(t for t in fig.data if t.name == "states")
    cells = next(t for t in fig.data if t.name == "cell states")
    assert len(states.x) == len(cells.x) == 2 * T  # h and c, two layers each
    assert [t for t in fig.data if t.name == "x"][0].text == tuple(["a", "b", "&lt;", "d", "␣"])
    assert any(t.name == "not reached yet" and t.line.dash == "dot" for t in fig.data)
    assert any(t.name == "backward pass has reached ▶" for t in fig.data)
    # h and c on scales of their own: a tanh h (norm at most sqrt(H)) drew all dark beside an LSTM's c of 80
    assert states.marker.colorbar.title.text == "norm ||h||" and cells.marker.colorbar.title.text == "norm ||c||"
    assert states.marker.coloraxis is None and cells.marker.coloraxis is None  # each trace its own scale
    h_norms = lstm_trace["h"][:, 0].norm(dim=-1).flatten().numpy()
    c_norms = lstm_trace["c"][:, 0].norm(dim=-1).flatten().numpy()
    np.testing.assert_allclose(np.sort(states.marker.color), np.sort(h_norms), rtol=1e-5)
    np.testing.assert_allclose(np.sort(cells.marker.color), np.sort(c_norms), rtol=1e-5)
    bars = sorted((t.marker.colorbar.y, t.marker.colorbar.len) for t in fig.data if t.marker.showscale)
    assert len(bars) == 3 and all(b[0] + b[1] / 2 <= a[0] - a[1] / 2 + 1e-9 for b, a in zip(bars, bars[1:]))
    # each bar labelled at its ends (plotly's own ticks crowded a third of the height); a norm's scale starts at 0:
    # from the smallest drawn, 0.414 against 0.441 read as dark against bright
    bar = states.marker.colorbar
    assert states.marker.cmin == 0 and states.marker.cmax == pytest.approx(h_norms.max(), rel=1e-5)
    assert list(bar.tickvals) == [0, pytest.approx(h_norms.max(), rel=1e-5)]
    assert list(bar.ticktext) == ["0", f"{h_norms.max():.3g}"]
    assert fig.layout.title.text == "Unrolled lstm (many-to-many-sync), sample 0 · backward pass 1 step back"  # all
    part = P.unrolled_figure(lstm_trace, "many-to-many-sync", start=1, steps=2)  # a window says which steps it is
    assert part.layout.title.text.endswith(f"sample 0 · steps 1–2 of 0–{T - 1}")
    assert sorted({x for x in next(t for t in part.data if t.name == "x").x}) == [1, 2]
    lit = P.unrolled_figure(lstm_trace, "many-to-one")
    assert not any(t.name == "not reached yet" for t in lit.data)
    plain = P.unrolled_figure(probe(token_model("rnn_tanh"), torch.randint(0, V, (B, T))), "many-to-one")
    assert next(t for t in plain.data if t.name == "states").marker.colorbar.title.text == "norm ||h||"  # no c
    one = P.unrolled_figure(probe(token_model("rnn_tanh"), torch.randint(0, V, (B, 1))), "one-to-one")
    node = next(t for t in one.data if t.name == "states")  # one node: 0 and its value ("0.65848", "0.6584795")
    assert list(node.marker.colorbar.ticktext) == ["0", f"{float(node.marker.color[0]):.3g}"]
    assert len([t for t in lit.data if t.name == "y"][0].x) == 1


def test_unrolled_graph_writes_no_name_or_label_where_a_node_or_edge_covers_it(lstm_trace, s2s_trace):
    """A vertical edge's matrix name is written right of the edge: one a node of the next column sits on (h to y
    passes the c row, whose nodes sit 0.3 of a step left of their h) was hidden behind it (seen on the Graph
    page: W_hy under the c nodes). A label too long for its node goes below an input and above anything else
    (below an output, "outside" crossed the edge into it), never inside ("&lt;end&gt;" overflowed its circle)."""
    fig = P.unrolled_figure(lstm_trace, "many-to-many-sync", tokens=TOKENS)
    nodes = [(x, y) for t in fig.data if t.name in ("states", "cell states", "x", "y", "L_t", "L")
             for x, y in zip(t.x, t.y)]
    edges = next(t for t in fig.data if t.name == "edges")
    beside = [(x, y, w) for x, y, w, pos in zip(edges.x, edges.y, edges.text, edges.textposition)
              if w and pos == "middle right"]
    assert {"W<sub>hy</sub>", "W<sub>xh</sub><sup>(1)</sup>"} <= {w for *_, w in beside}, beside  # past c
    for x, y, w in beside:  # the name runs about one step to the right of its point
        covered = [(nx, ny) for nx, ny in nodes if 0 <= nx - x < 1.0 and abs(ny - y) < 0.3]
        assert not covered, f"{w} at ({x:.2f}, {y:.2f}) lies under the nodes at {covered}"
    s2s = P.unrolled_figure(s2s_trace, "many-to-many-async", steps=20, output_tokens=["a", "b", "c", "<end>"])
    one = P.unrolled_figure(probe(token_model("rnn_tanh"), torch.randint(0, V, (B, 1))), "many-to-one",
                            output_tokens=["outside"])
    for f in (fig, s2s, one):
        for t in (t for t in f.data if t.name in ("x", "y", "L_t", "L")):
            for label, pos in zip(t.text, t.textposition):
                if len(html.unescape(label)) > 2:
                    assert pos != "middle center" and pos.startswith("bottom") == (t.name == "x"), (t.name, label, pos)
    assert any(len(html.unescape(x)) > 2 for x in next(t for t in s2s.data if t.name == "y").text)  # "<end>"
    assert next(t for t in one.data if t.name == "y").text == ("outside",)
    assert "output y<sub>t</sub> (target)" in one.layout.yaxis.ticktext  # what the y nodes show: not a prediction
    assert "output y<sub>t</sub>" in fig.layout.yaxis.ticktext  # no labels written, no "(target)"
    said = one.layout.title.subtitle.text.replace("<br >", " ")  # one step: it said W_hh is shared by every step
    assert "nothing recurs, so no W<sub>hh</sub> arrow" in said and "shared by every step" not in said
    names = [w for w in next(t for t in s2s.data if t.name == "edges").text if w]  # "W_hh (enc)" on every edge
    assert len(names) == len(set(names)) >= 4, names  # ran into each other at projector size: each named once


def test_no_figure_text_nests_a_sub_or_superscript():
    """A superscript inside a superscript is drawn at about half the font (10 px on a projector): the mLSTM's
    decay subtitle wrote e^(m_(t−1) − m_t) so, the sLSTM's stored cell state e^(−m_t). exp(…) reads at full
    size."""
    from rnnviz.plots.spectra import decay_figure

    nested = re.compile(r"<su[bp]>(?:(?!</su[bp]>).)*<su[bp]>")
    x = torch.randint(0, V, (1, T))
    mlstm = build_model(ModelConfig(arch="mlstm", vocab_size=V, hidden_size=16, output_size=V))
    figs = [decay_figure(probe(mlstm, x)), P.state_heatmap(probe(token_model("slstm"), x), "c")]
    texts = [f.layout.title.text + f.layout.title.subtitle.text for f in figs]
    assert "exp(m<sub>t−1</sub> − m<sub>t</sub>)" in texts[0] and "exp(−m<sub>t</sub>)" in texts[1]
    assert not [t for t in texts if nested.search(t)], texts


def test_attention_marks_the_copied_tokens_and_counts_where_rows_peak(s2s_trace):
    """The squares sit on the cells each step must copy; the subtitle's counts are the rows whose weight peaks on
    that cell, on the next column, or elsewhere, counted here with a loop."""
    alpha = s2s_trace["attention"][0].numpy()  # (4, 6)
    copies = [[5], [4, 1], [3], []]
    fig = P.attention_figure(s2s_trace, 0, copies=copies)
    squares = next(t for t in fig.data if t.name == "the token it must copy")
    assert list(squares.x) == [5, 4, 1, 3] and list(squares.y) == [0, 1, 1, 2]
    on = after = 0
    for t in range(3):
        peak = int(alpha[t].argmax())
        on += peak in copies[t]
        after += peak not in copies[t] and peak - 1 in copies[t]
    text = fig.layout.title.subtitle.text.replace("<br >", " ").replace("\u00a0", " ")
    assert f"The weight peaks on it in {on} of 3 rows, on the token just after it in {after}" in text, text
    assert ("elsewhere in" in text) == (on + after < 3)


def test_unrolled_encoder_decoder_draws_attention_arcs(s2s_trace):
    fig = P.unrolled_figure(s2s_trace, "many-to-many-async", steps=20)
    arcs = [t for t in fig.data if t.name == "attention α"]
    assert arcs and all(t.line.color == "#CC79A7" for t in arcs)


# -- training curves ------------------------------------------------------------------------------------------
def test_loss_curves_overlay_runs_within_the_point_budget():
    fig = P.loss_curves({"rnn": history(), "lstm": history(100)}, metric_name="accuracy")
    names = [t.name for t in fig.data]
    assert names.count("rnn train") == 2 and "lstm validation" in names
    assert all(len(t.x) <= P.LINE_MAX_POINTS for t in fig.data)
    val = next(t for t in fig.data if t.name == "lstm validation")
    np.testing.assert_array_equal(val.x, [25, 50, 75, 100])
    assert "metric" not in names and fig.layout.yaxis2.title.text == "accuracy"
    with pytest.raises(ValueError, match="no training history"):
        P.loss_curves([])


def test_a_run_that_has_just_started_is_left_out_until_it_has_a_step():
    fig = P.loss_curves({"rnn": history(50), "gru": []}, metric_name="mae", log_loss=True)
    assert {t.name.split()[0] for t in fig.data} == {"rnn"}
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"  # an error spans decades too
    assert P.loss_curves(history(50), metric_name="accuracy", log_loss=True).layout.yaxis2.type == "linear"
    with pytest.raises(ValueError, match="no training history"):
        P.grad_norm_figure({"rnn": [], "gru": []})


def test_a_metric_that_is_the_loss_gets_one_panel_not_two_copies():
    fig = P.loss_curves(history(50), metric_name="mse")
    assert "yaxis2" not in fig.layout and {t.xaxis for t in fig.data} == {"x"}
    assert len(P.loss_curves(history(50), metric_name="accuracy").layout.annotations) >= 2


def test_plotly_labels_show_quotes_as_quotes():
    from rnnviz.analysis.traces import visible

    assert visible('"') == '"' and visible("<") == "&lt;" and visible("&") == "&amp;"


def test_grad_norm_figure_marks_clipping_on_a_log_axis():
    fig = P.grad_norm_figure(history(), clip_norm=50)
    line, clipped = fig.data
    assert fig.layout.yaxis.type == "log" and len(line.x) <= P.LINE_MAX_POINTS
    np.testing.assert_array_equal(clipped.x, [500, 1000, 1500, 2000, 2500, 3000])
    assert line.y.max() == 97.0  # the largest spike survives decimation
    assert fig.layout.shapes[0].y0 == 50
    assert clipped.name == "✕ where clipping fired"  # a run named "…, clipped at 1" read "clipped at 1 clipped"
    named = P.grad_norm_figure({"rnn, clipped at 1": history()}).data[1].name
    assert named == "rnn, clipped at 1: ✕ where clipping fired"
    off = P.grad_norm_figure([{**h, "clipped": False} for h in history()])  # the subtitle said ✕ with clipping off
    assert "✕" not in off.layout.title.subtitle.text and "clipping is off" in off.layout.title.subtitle.text
    assert "✕ marks" in fig.layout.title.subtitle.text


def test_heavy_arrays_are_float32(lstm_trace):
    for fig in (P.state_heatmap(lstm_trace), P.grad_curve(lstm_trace), P.gate_heatmaps(lstm_trace)):
        for t in fig.data:
            for key in ("x", "y", "z"):
                v = getattr(t, key, None)
                if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                    assert v.dtype == np.float32, (t.type, key)


def test_plots_and_analysis_never_import_streamlit_or_training():
    code = ("import sys, rnnviz.plots, rnnviz.analysis; bad = [m for m in sys.modules if m.split('.')[0] == "
            "'streamlit' or m.startswith(('rnnviz.training', 'rnnviz.ui'))]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_weight_blocks_split_by_gate():
    from rnnviz.plots.weights import weight_blocks

    w = torch.randn(4 * 6, 5)
    fig = weight_blocks(w, list("ifgo"), "W_ih")
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 4
    for j, t in enumerate(heat):
        np.testing.assert_allclose(np.asarray(t.z), w[j * 6:(j + 1) * 6].numpy(), rtol=1e-6)
        assert t.zmid == 0.0 and t.zmin == -t.zmax
    with pytest.raises(ValueError, match="does not split"):
        weight_blocks(torch.randn(7, 5), list("ifgo"))
    assert fig.layout.title.text == "W<sub>ih</sub>, split by gate block"
    one = weight_blocks(torch.randn(6, 6), ["h"])  # a tanh RNN: one block, no gates, no panel title repeating it
    assert one.layout.title.text == "W<sub>hh</sub>" and not one.layout.annotations
    assert "blocks" not in one.layout.title.subtitle.text
    ys = list(fig.select_yaxes())  # the blocks' rows are the same units: labelled once (they ran into the block left)
    assert ys[0].showticklabels is not False and all(a.showticklabels is False and a.matches == "y" for a in ys[1:])
    uneven = weight_blocks(torch.randn(10, 5), ["i", "f", "v"], rows=[2, 2, 6])  # the mLSTM's: each keeps its own
    assert all(a.showticklabels is not False and a.matches is None for a in uneven.select_yaxes())


def test_lesson_figures():
    from rnnviz.plots.lessons import accuracy_vs_lag, gates_at_step, weight_share_figure
    from rnnviz.trace import weight_grad_share

    m = build_model(ModelConfig(arch="lstm", input_size=3, hidden_size=5, output_size=2))
    tr = probe(m, torch.randn(2, 6, 3), torch.randn(2, 6, 2), lambda o, y: (o - y).pow(2).mean())
    fig = weight_share_figure(tr)
    shares = weight_grad_share(tr, 0)
    np.testing.assert_allclose(np.asarray(fig.data[0].y), shares.flatten(1).norm(dim=1).numpy(), rtol=1e-5)
    said = fig.layout.title.subtitle.text.replace("<br >", " ")  # the bars' sum is not the sum's norm, and says so
    assert f"The bars add up to {float(shares.flatten(1).norm(dim=1).sum()):.3g}, more than their sum's" in said
    assert f"||dL/dW<sub>hh</sub>|| = {float(shares.sum(0).norm()):.3g}" in said
    assert not fig.layout.annotations  # lesson 2's corner note read as a value on the bars' axis
    g = gates_at_step(tr, 3, [0, 4])
    assert [t.name.split()[-1] for t in g.data] == ["i", "f", "g", "o"]
    np.testing.assert_allclose(np.asarray(g.data[1].y), tr["gate.f"][0, 0, 3, [0, 4]].numpy(), rtol=1e-6)
    a = accuracy_vs_lag({"lstm": [(20, 0.9), (5, 1.0), (20, 0.5)], "gru": [(5, 1.0), (20, 1.0)]}, chance=0.25)
    dots, mean = a.data[0], a.data[1]  # every seed's dot, and the line through their means
    assert sorted(dots.y) == [0.5, 0.9, 1.0] and mean.name == "lstm"
    np.testing.assert_allclose(mean.y, [1.0, 0.7])
    assert mean.x[0] < 5 < a.data[3].x[0], "two architectures at one lag are drawn side by side, not on top"
    assert any("chance: 0.25" in (x.text or "") for x in a.layout.annotations)


def test_variant_scores_sort_best_first_with_every_seed_and_the_baseline():
    from rnnviz.plots.lessons import variant_scores

    fig = variant_scores({"lstm": [2.5, 2.7], "lstm_nfg": [3.1, 3.0], "gru": [2.3, 2.4]}, "bits per char", 4.4,
                         higher_is_better=False)
    means, dots = fig.data
    assert list(means.y) == ["gru", "lstm", "lstm_nfg"]  # lower bits per char is better: best on top
    np.testing.assert_allclose(means.x, [2.35, 2.6, 3.05])
    assert len(dots.x) == 6 and "input ignored: 4.4" in fig.layout.annotations[0].text
    assert fig.layout.annotations[0].xanchor == "right"  # the line is at the right: its label runs left, inside
    chance = variant_scores({"S6 in Mamba's block": [1.0, 0.99], "S6 alone": [0.3, 0.15]}, "accuracy", 0.138)
    (note,) = [a for a in chance.layout.annotations if "input ignored" in a.text]
    assert (note.x, note.xanchor) == (0.138, "left")  # near the axis: it runs right, off the names on the axis


def test_loss_curves_draw_the_input_ignored_baseline_on_each_panel():
    """The score of ignoring the input: a grey dotted line across each panel's steps, named with its value in the
    legend. It was labelled beside the line at the curves' end, on a white backing that washed out a run staying
    at the line (lesson 3's clipped relu RNN)."""
    from rnnviz.plots.curves import loss_curves
    from rnnviz.plots.theme import MUTED

    rows = [{"step": s, "loss": 1 / s, "metric": 0.5, "val_loss": 1 / s, "val_metric": 0.6} for s in range(1, 20)]
    fig = loss_curves(rows, "accuracy", baseline=(0.69, 0.25))
    lines = [t for t in fig.data if t.name.startswith("input ignored")]
    assert [(t.name, t.yaxis, tuple(t.y), tuple(t.x)) for t in lines] == [
        ("input ignored (loss): 0.69", "y", (0.69, 0.69), (1, 19)), ("input ignored (accuracy): 0.25", "y2",
                                                                     (0.25, 0.25), (1, 19))]
    assert all(t.line.dash == "dot" and t.line.color == MUTED and t.showlegend is not False for t in lines)
    assert not any("input ignored" in a.text for a in fig.layout.annotations)  # nothing drawn over the curves
    log = loss_curves(rows, "mse", log_loss=True, baseline=(1 / 6, 1 / 6))  # one panel, log axis
    assert [t.name for t in log.data if "input ignored" in t.name] == ["input ignored: 0.167"]
    assert not [t for t in loss_curves(rows, "accuracy").data if "input ignored" in t.name]
    # validation every 25 steps, dotted: the dashes between checks are no measurements, and the subtitle says so
    sparse = [{**r, "val_loss": r["val_loss"] if r["step"] % 5 == 0 else None} for r in rows]
    said = loss_curves(sparse, "accuracy").layout.title.subtitle.text.replace("<br >", " ")
    assert "Validation is checked every 5 steps (the dots); the dashes only join them." in said
    # lesson 3's two runs, one clipped, start 0.23 and 0.80 apart: their first check follows one (clipped) update
    first = [{**r, "val_loss": r["val_loss"] if r["step"] % 5 == 0 or r["step"] == 1 else None} for r in rows]
    said = loss_curves(first, "accuracy").layout.title.subtitle.text.replace("<br >", " ")
    assert "Validation is checked after the first step's update, then every 5 steps (the dots)" in said
    # a diverged run's 10⁴ squashed lesson 3's clipped run onto the line: a ceiling keeps the band readable
    wild = {"clipped": rows, "diverged": [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 2e4}]}
    capped = loss_curves(wild, "mse", log_loss=True, baseline=(1 / 6, 1 / 6), ceiling=5.0)
    lo, hi = capped.layout.yaxis.range
    assert hi == pytest.approx(np.log10(5.0)) and lo <= np.log10(1 / 19) and "Loss above 5 runs off the top" in \
        capped.layout.title.subtitle.text.replace("<br >", " ")
    assert loss_curves(rows, "mse", log_loss=True, ceiling=5.0).layout.yaxis.range is None  # nothing above it


def test_figure_frame_holds_every_point():
    from rnnviz.plots.export import figure_frame

    fig = go.Figure([go.Scatter(x=[0, 1, 2], y=[3.0, 4.0, 5.0], name="loss"),
                     go.Heatmap(z=np.arange(6.0).reshape(2, 3), x=[10, 11, 12], y=["a", "b"], name="h")])
    df = figure_frame(fig)
    line = df[df.trace == "loss"]
    assert list(line.x) == [0, 1, 2] and list(line.y) == [3.0, 4.0, 5.0]
    heat = df[df.trace == "h"]
    assert len(heat) == 6
    assert heat[(heat.x == 12) & (heat.y == "b")].z.item() == 5.0


# -- design review: what a reader sees ------------------------------------------------------------------------
CODE = "while (node == col)"


def rgb(color: str) -> np.ndarray:
    """ "#rrggbb" or "rgb(r, g, b)" as three numbers."""
    if color.startswith("#"):
        return np.array([int(color[k:k + 2], 16) for k in (1, 3, 5)], float)
    return np.array([float(v) for v in color[color.index("(") + 1:-1].split(",")[:3]])


def luminance(color: str) -> float:
    return float(rgb(color) @ [0.2126, 0.7152, 0.0722])


def test_token_axes_label_every_character_up_to_80_steps_upright_and_monospaced():
    from rnnviz.plots.axes import MONOSPACE

    fig = P.connectivity_figure(np.ones(len(CODE)), tokens=list(CODE))
    ax = fig.layout.xaxis
    assert "".join(ax.ticktext).replace("␣", " ") == CODE  # not "w i e ( o e"
    assert ax.tickangle == 0 and ax.tickfont.family == MONOSPACE  # style() kept the builder's font
    torch.manual_seed(0)
    tr = probe(token_model("lstm"), torch.randint(0, V, (1, 80)))
    text = [TOKENS[i % 5] for i in range(80)]
    for fig in (P.grad_curve(tr, tokens=text), P.cell_state_figure(tr, tokens=text), P.gate_lines(tr, tokens=text),
                P.state_heatmap(tr, tokens=text), P.gate_heatmaps(tr, tokens=text)):
        axis = fig.layout.xaxis4 if "Every gate" in fig.layout.title.text else fig.layout.xaxis
        assert len(axis.ticktext) == 80 and axis.tickangle == 0, fig.layout.title.text


def test_text_too_long_to_label_in_full_gets_step_numbers_and_hover_keeps_every_token():
    """Issue #14: a 100-character probe labelled every second character read "'taanke hsaan" for "'it again keep this
    again'". Text that does not fit is not thinned into words it does not have: the axis shows step numbers."""
    from rnnviz.plots.axes import token_ticks

    torch.manual_seed(0)
    tr = probe(token_model("lstm"), torch.randint(0, V, (1, 120)))
    text = [CODE[i % len(CODE)] for i in range(120)]
    for theme in (NORMAL, PRESENTATION):
        fig = P.grad_curve(tr, tokens=text, theme=theme)
        vals, labels = np.asarray(fig.layout.xaxis.tickvals), list(fig.layout.xaxis.ticktext)
        assert labels == [str(int(v)) for v in vals] and vals[0] == 0  # step numbers at their own steps
        assert np.all(np.diff(vals) == 10)  # 0, 10, 20: round numbers, evenly spaced
        assert sum(len(t) + 1 for t in labels) <= theme.axis_chars  # they fit side by side
        hover = [str(c) for c in fig.data[0].customdata]
        assert len(hover) == 120 and all(t.strip(" “”").replace("␣", " ") == c for t, c in zip(hover, text))
        assert "%{customdata}" in fig.data[0].hovertemplate
    heat = P.state_heatmap(tr, tokens=text).data[0]
    assert np.asarray(heat.customdata).shape == (6, 120) and "%{customdata}" in heat.hovertemplate
    assert token_ticks(["hello"] * 16)["ticktext"] == ["hello"] * 16  # 16 words of 5 letters fit: every word
    assert token_ticks(["hello"] * 40)["ticktext"][:3] == ["0", "2", "4"]  # 40 do not (5 letters and a space)
    fits = list("it again keep this again")  # 24 characters: every one, whatever the theme
    for theme, share in ((NORMAL, 1.0), (PRESENTATION, 1.0), (NORMAL, 0.5)):
        assert token_ticks(fits, theme=theme, share=share)["ticktext"] == [c.replace(" ", "␣") for c in fits]
    # 80 characters fit a full-width axis at 13 px, not at presentation size, nor in half the width
    eighty = list(CODE * 5)[:80]
    assert len(token_ticks(eighty)["ticktext"]) == 80
    assert token_ticks(eighty, theme=PRESENTATION)["ticktext"][:3] == ["0", "5", "10"]
    assert token_ticks(eighty, share=0.5)["ticktext"][:3] == ["0", "10", "20"]


def test_gate_blocks_f_and_o_are_clearly_different_colours():
    assert np.linalg.norm(rgb(GATE_COLORS["f"]) - rgb(GATE_COLORS["o"])) > 100  # vermillion vs orange was 67
    lstm, gru = [GATE_COLORS[g] for g in "ifgo"], [GATE_COLORS[g] for g in "rzn"]
    assert len(set(lstm)) == 4 and len(set(gru)) == 3 and not set(lstm) & set(gru)


def test_singular_value_curves_differ_in_symbol_and_dash_and_the_note_fits_the_cell():
    w = torch.randn(4 * H, H)
    fig = P.singular_value_figure(w, list("ifgo"))
    assert len({t.marker.symbol for t in fig.data}) == 4 and len({t.line.dash for t in fig.data}) == 4
    assert "tanh RNN" not in fig.layout.title.subtitle.text
    assert "tanh RNN" in P.singular_value_figure(w[:H], ["h"]).layout.title.subtitle.text


def test_weight_colour_scale_is_clipped_at_the_99th_percentile():
    from rnnviz.plots.weights import weight_blocks

    w = torch.randn(4 * 20, 20)
    w[0, 0], w[30, 5] = 100.0, -80.0  # two outliers must not wash the map out
    fig = weight_blocks(w, list("ifgo"))
    hm = fig.data[-1]
    assert hm.zmax == pytest.approx(np.percentile(np.abs(w.numpy()), 99), rel=1e-5) and hm.zmax < 10
    assert hm.zmin == -hm.zmax and hm.zmid == 0
    assert "clipped at the 99th percentile" in fig.layout.title.subtitle.text
    assert fig.data[0].z[0, 0] == 100.0  # the hover still shows the real weight


def test_generation_html_colours_unsure_characters_strongly_and_sure_ones_white():
    import re

    g = Generated("", list("ab"), [0.99, 0.2], [[("a", 0.99)], [("b", 0.2)]])
    html = P.generation_html(g)
    styles = re.findall(r'<span title="step \d[^"]*" style="background:([^;]+);color:([^;]+);', html)
    (sure_bg, sure_fg), (unsure_bg, unsure_fg) = styles
    assert luminance(sure_bg) > 240 and luminance(sure_bg) > luminance(unsure_bg) + 80
    assert sure_fg == "#000000"  # dark text on the near-white background
    assert (unsure_fg == "#ffffff") == (luminance(unsure_bg) < 0.45 * 255)  # contrast on the strong colour
    assert "strong colour: the model was unsure" in html
    assert "strong colour" not in P.generation_html(g, legend=False)


def test_topk_letters_contrast_with_their_cells():
    fig = P.topk_figure(gen())
    heat, letters = fig.data
    assert not heat.texttemplate  # the letters are their own layer, coloured per cell
    colour = {(int(x), int(y)): c for x, y, c in zip(letters.x, letters.y, letters.textfont.color)}
    assert colour[(1, 1)] == "#000000"  # p = 0.9: bright yellow cell, black letter
    assert colour[(1, 2)] == "#ffffff"  # p = 0.05: dark purple cell, white letter
    assert [t for x, y, t in zip(letters.x, letters.y, letters.text) if (x, y) == (1, 1)] == ["&lt;"]
    assert letters.hoverinfo == "skip"


def test_connectivity_without_a_dependency_says_so_in_the_subtitle_and_takes_a_title():
    fig = P.connectivity_figure([1.0, 2.0, 3.0], theme=PRESENTATION, title="tanh RNN")
    assert not fig.layout.annotations and fig.layout.title.text == "tanh RNN"
    assert "no true dependency" in fig.layout.title.subtitle.text and "★" not in fig.layout.title.subtitle.text
    marked = P.connectivity_figure([1.0, 2.0, 3.0], dependency=[1])
    assert "★" in marked.layout.title.subtitle.text and marked.layout.title.text.startswith("How much")


def test_the_gradient_norm_chart_says_before_clipping_only_when_there_is_clipping():
    from rnnviz.plots.curves import grad_norm_figure

    rows = [{"step": s, "grad_norm": 2.0, "clipped": s % 2 == 0} for s in range(1, 11)]
    off = grad_norm_figure([{**r, "clipped": False} for r in rows]).layout.title.subtitle.text.replace("<br >", " ")
    assert "before clipping" not in off and "(clipping is off)" in off, off
    on = grad_norm_figure(rows, clip_norm=1.0).layout.title.subtitle.text.replace("<br >", " ")
    assert on.startswith("Measured before clipping.") and "threshold 1" in on, on


def test_the_singular_values_say_whether_this_matrix_meets_the_guarantee():
    """"σ_max < 1 guarantees vanishing" over a matrix whose σ_max was 1.03; and an orthogonal W_hh's 0.99999994
    was written "1 < 1"."""
    from rnnviz.plots.spectra import singular_value_figure

    def said(w):
        return singular_value_figure(w, ["h"]).layout.title.subtitle.text.replace("<br >", " ")

    q = torch.nn.init.orthogonal_(torch.empty(8, 8))
    assert "Here σ<sub>max</sub> = 0.5 < 1: gradients vanish." in said(0.5 * q)
    assert "not below 1: no guarantee either way." in said(q) and "1 < 1" not in said(q)
    assert "= 1.5, not below 1" in said(1.5 * q)


def test_connectivity_says_what_its_bars_show():
    """Lesson 6's tanh RNN: its bars fade from the last step back and the ★ bar is among the small ones, under a
    subtitle that said only what tall bars would mean. It now reads the bars."""
    fading = np.geomspace(1e-4, 1, 20)  # the last steps tallest
    said = P.connectivity_figure(fading, dependency=[0], log=True).layout.title.subtitle.text.replace("<br >", " ")
    assert "Here the ★ bar is 127× below the other steps' median: it barely reacts to it" in said, said
    assert re.search(r"Its last 2 other bars stand [0-9.,]+× above the earlier ones: what it reads fades", said)
    learnt = np.full(20, 0.01)
    learnt[[3, 7]] = [0.5, 0.2]
    said = P.connectivity_figure(learnt, dependency=[3, 7]).layout.title.subtitle.text.replace("<br >", " ")
    assert "Here every ★ bar stands 20× or more above the other steps' median: it singles them out." in said, said
    assert "fades with distance" not in said
    flat = np.full(50, 0.05)
    flat[[-1, 10]] = [0.18, 0.5]  # the GRU of lesson 6: one tall last step over flat bars is no fading
    assert "fades" not in P.connectivity_figure(flat, dependency=[10]).layout.title.subtitle.text
    gone = np.geomspace(1e-9, 1, 50)
    said = P.connectivity_figure(gone, dependency=[0], log=True).layout.title.subtitle.text.replace("<br >", " ")
    assert re.search(r"the ★ bar is [0-9,]+× below", said) and "e+" not in said, said  # 31,623×, not 3.16e+04×
    gone[0] = 0.0  # a dependency the output does not react to at all (it divided by zero)
    assert "the ★ bar is 0" in P.connectivity_figure(gone, dependency=[0]).layout.title.subtitle.text


def test_many_runs_stay_distinguishable_beyond_the_palette():
    runs = {f"run {i}": np.linspace(1, 0.1 * (i + 1), 5) for i in range(9)}
    lines = [(t.line.color, t.line.dash) for t in P.grad_compare(runs).data]
    assert len(set(lines)) == 9
    fig = P.loss_curves({f"run {i}": history(30) for i in range(9)})
    left = [(t.line.color, t.line.dash) for t in fig.data if t.xaxis == "x"]
    assert len(left) == 18 and len(set(left)) == 18  # train and validation of nine runs, no two alike
    train_dashes = {t.line.dash for t in fig.data if t.name.endswith("train")}
    val_dashes = {t.line.dash for t in fig.data if t.name.endswith("validation")}
    assert not train_dashes & val_dashes  # dashed still means validation


@pytest.mark.parametrize("decades, dtick", [(4, 1), (8, 1), (12, 2), (16, 2), (20, 3)])
def test_presentation_labels_at_most_eight_decades(decades, dtick):
    from rnnviz.plots.theme import style

    fig = go.Figure(go.Scatter(x=[0, 1], y=[10.0 ** -decades, 1.0]))
    fig.update_yaxes(type="log")
    assert style(fig, PRESENTATION).layout.yaxis.dtick == dtick


@pytest.mark.parametrize("curve, per_step, says", [
    (np.geomspace(1e-6, 1, 50), False, "falls "),  # vanishing: 1e-6 at t=0 up to 1 at the end
    (np.geomspace(1e3, 1, 50), False, "grows"),
    (np.r_[np.full(49, 0.5), 0.001], True, "stays within 10×"),  # flat, then the last step's own loss only
    (np.r_[np.full(49, 0.5), 0.001], False, "stays within 10×"),  # one odd step does not sway the medians
])
def test_the_gradient_curve_says_what_its_numbers_show(curve, per_step, says):
    from rnnviz.plots.gradients import reach_sentence

    text = reach_sentence(curve, per_step_loss=per_step)
    assert says in text
    assert ("the last steps have the fewest after them, the very last only its own" in text) == per_step


def test_the_gradient_curve_names_the_steps_its_ratio_compares():
    """"It falls 2,346×" was read off the axis as 3,200× (end point against end point): the sentence says which
    steps it compares, and the ratio is theirs."""
    from rnnviz.plots.gradients import reach_sentence

    curve = np.geomspace(1e-4, 1, 20)
    curve[[0, 1, 18, 19]] = [1e-4, 3e-4, 0.5, 1.0]
    text = reach_sentence(curve)
    assert "falls 3,750× toward the first steps (its median over t = 18–19 against t = 0–1)" in text, text
    assert "(t = 8 against t = 0)" in reach_sentence(np.geomspace(1e-3, 1, 9))  # a tenth of 9 steps: one each
    skipped = reach_sentence(np.r_[np.nan, np.geomspace(1e-3, 1, 19)])  # a step without a value is not counted
    assert "against t = 1)" in skipped, skipped


def test_the_gradient_curve_says_which_layer_its_sentence_is_about(lstm_trace):
    """Two layers drawn, one sentence ("It falls 2,346×") computed from the top layer alone: it says so."""
    from rnnviz.plots.gradients import reach_sentence

    two = P.grad_curve(lstm_trace).layout.title.subtitle.text.replace("<br >", " ")
    top = A.grad_norms(lstm_trace, "grad.h")[-1]
    assert two == reach_sentence(top, curve="In layer 1, the top one, it").replace("<br >", " ")
    one = P.grad_curve(probe(token_model("gru"), torch.randint(0, V, (B, T)))).layout.title.subtitle.text
    assert one.startswith("It ")


def test_value_axes_show_step_numbers_and_every_marked_step():
    """Issue #14: the adding task's axes showed every fourth input value, so its ● markers were often skipped."""
    from rnnviz.plots.axes import token_ticks

    tokens = [f"0.{i:02d}" + ("●" if i in (7, 31) else "") for i in range(50)]
    ticks = token_ticks(tokens)
    shown = dict(zip(ticks["tickvals"], ticks["ticktext"]))
    assert shown[7.0] == "7●" and shown[31.0] == "31●"
    assert all(t.rstrip("●").isdigit() and int(t.rstrip("●")) == v for v, t in shown.items())
    assert 10 <= len(shown) <= 25  # readable spacing, not 50 crowded labels
    tight = [int(v) for v in token_ticks(tokens, max_ticks=100)["tickvals"]]  # every 2nd step labelled
    assert {28, 34} <= set(tight) and not {30, 32} & set(tight), tight  # "30 31●" would touch; "28 31●" does not
    assert token_ticks(list("0110"))["ticktext"] == list("0110")  # bits are content, not measurements


def test_no_figure_is_taller_than_one_screen(lstm_trace):
    from rnnviz.plots.theme import style

    fig = P.gate_heatmaps(lstm_trace, theme=PRESENTATION)  # four gates, one panel each
    assert fig.layout.height <= PRESENTATION.max_height < 1080
    assert style(go.Figure(layout={"height": 3000})).layout.height <= 1000


def test_style_reaches_scenes_and_colour_axes_only_traces_name_and_keeps_what_the_builder_set():
    """style() sets the layout once, whole: parts only a trace names (a 3-D scene, a shared colour axis) are styled
    too, and what the builder set (an axis title's text, an annotation's weight, a log axis) is kept."""
    from rnnviz.plots.theme import style

    fig = go.Figure([go.Scatter3d(x=[0, 1], y=[0, 1], z=[0, 1], scene="scene2"),
                     go.Scatter(x=[1, 10], y=[1, 2], marker={"color": [1, 2], "coloraxis": "coloraxis3"})])
    fig.update_layout(xaxis={"title": {"text": "step"}, "type": "log"},
                      annotations=[{"text": "a", "font": {"weight": "bold", "size": 40}, "showarrow": False}])
    style(fig, PRESENTATION)
    L = fig.layout
    assert L.scene2.zaxis.tickfont.size == PRESENTATION.tick_size
    assert L.scene2.xaxis.title.font.size == PRESENTATION.axis_title_size
    assert L.coloraxis3.colorbar.tickfont.size == PRESENTATION.tick_size
    assert L.xaxis.title.text == "step" and L.xaxis.title.font.size == PRESENTATION.axis_title_size
    assert L.xaxis.exponentformat == "power" and L.xaxis.automargin is True
    a = L.annotations[0]
    assert a.font.weight == "bold" and a.font.size == 40 and a.font.color == PRESENTATION.text_color
    assert L.template.layout.plot_bgcolor == "white"  # plotly_white, given without revalidating it


def test_log_axes_at_presentation_size_label_few_enough_ticks_not_to_overlap():
    """A log axis spanning 1.4 decades (singular values 0.037 to 1) once labelled all eighteen of 0.03, 0.04, ...,
    0.1, 0.2, ..., 1 at full size, on top of each other; now 1, 2 and 5 of each decade. Narrower spans label a few
    round numbers (every tick, 0.023, 0.024, … 0.032, crowded), wider ones powers of ten."""
    from rnnviz.plots.theme import style

    def axis_for(lo, hi):
        fig = go.Figure(go.Scatter(x=[1, 2], y=[lo, hi]))
        fig.update_yaxes(type="log")
        return style(fig, PRESENTATION).layout.yaxis

    mid, narrow, wide = axis_for(0.037, 1.03), axis_for(0.4, 1.0), axis_for(1e-6, 1.0)
    assert (mid.dtick, mid.tickformat) == ("D2", "~g")
    assert narrow.dtick is None and list(narrow.ticktext) == ["0.4", "0.6", "0.8", "1"]  # round numbers, not ten
    assert wide.dtick == 1 and wide.tickformat is None
    assert mid.tickfont.size == PRESENTATION.tick_size


def test_a_time_axis_says_input_token_only_when_its_ticks_are_the_tokens(lstm_trace):
    from rnnviz.plots.axes import time_axis

    assert time_axis(list("abc"))["title_text"] == "time step t (input token)"
    assert time_axis(None) == {"title_text": "time step t"}
    numbers = time_axis(["0.25", "0.5●", "0.75"])  # the adding problem's values: step numbers on the axis
    assert numbers["title_text"] == "time step t (●: a marked number)" and numbers["ticktext"] == ["0", "1●", "2"]
    assert time_axis(["0.25", "0.5", "0.75"])["title_text"] == "time step t"  # no ● drawn: nothing to explain
    crowded = time_axis(list("abcdefghij") * 30)  # 300 characters do not fit: step numbers, and the title says so
    assert crowded["title_text"] == "time step t" and "a" not in crowded["ticktext"]
    tokens = ["1", "0", "1", "1", "0"][:T]  # parity's bits are tokens, not step numbers: the title must say which
    for fig in (P.gate_lines(lstm_trace, units=[0], tokens=tokens), P.grad_curve(lstm_trace, tokens=tokens)):
        axis = next(a for a in fig.select_xaxes() if a.title.text)  # the bottom one of a stack of panels
        assert axis.title.text == "time step t (input token)" and list(axis.ticktext) == tokens


def test_a_less_than_sign_is_text_when_a_subtitle_wraps():
    """"σ_max < 1 guarantees … Here σ<sub>max" read as one long tag (no ">" before the <sub>'s), so the subtitle
    was never wrapped and ran past the Checkpoints page's chart, cut at "σmax = 1.03, n". Plotly draws the "<"."""
    from rnnviz.plots.theme import SOFT_BREAK

    fig = P.singular_value_figure(torch.randn(8, 8), ["h"])
    lines = fig.layout.title.subtitle.text.split(SOFT_BREAK)
    shown = [len(re.sub(r"</?[a-z]+>", "", line)) for line in lines]
    assert len(lines) > 1 and max(shown) <= NORMAL.subtitle_chars, lines
    assert "σ<sub>max</sub> < 1 guarantees" in lines[0]
