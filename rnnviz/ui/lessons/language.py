"""Lessons on language: a character model's intuition (7) and attention (8)."""
from __future__ import annotations

import streamlit as st

from rnnviz.lessons import Lesson
from rnnviz.ui import state, widgets
from rnnviz.ui.lessons import live_section, train_button


def char_rnn(lesson: Lesson) -> None:
    from rnnviz.analysis import layered, unit_correlations
    from rnnviz.plots.hidden import unit_finder_figure
    from rnnviz.plots.text import activation_html, generation_html
    from rnnviz.sampling import generate_text

    s = state.demo_subject("char-lstm")
    theme = widgets.theme()
    gen = generate_text(s.model, s.vocab, "def ", 400, 0.7, seed=1)
    st.subheader("What it writes")
    st.html(generation_html(gen, theme=theme))
    x, _ = s.probe_batch(1)
    tokens = s.describe_input(x[0])
    trace = s.probe(x)
    states = layered(trace, "h", 0, 0)
    table = unit_correlations(states, s.task.features(x[0]))
    st.subheader("Which units track quotes and brackets?")
    widgets.figure(unit_finder_figure(table, theme=theme), "lesson7.finder", table, name="unit finder")
    for feature in ("inside quotes", "bracket depth"):
        best = table[table.feature == feature].iloc[0]
        st.markdown(f"**Unit {int(best.unit)}** follows *{feature}* (correlation {best.correlation:+.2f}):")
        st.html(activation_html(tokens, states[:, int(best.unit)], theme=theme, unit=int(best.unit)))


def attention(lesson: Lesson) -> None:
    from rnnviz.plots.attention import attention_figure
    from rnnviz.plots.curves import loss_curves

    s = state.demo_subject("attention")
    x, y = s.probe_batch()
    trace = s.latest
    out = trace["output"][0].argmax(-1)
    fig = attention_figure(trace, 0, s.describe_input(x[0]), s.task.describe_output(out), theme=widgets.theme())
    widgets.figure(fig, "lesson8.map", name="attention map")
    train_button(lesson)

    def draw(mine):
        series = {r.label: list(r.history) for r in mine}
        widgets.figure(loss_curves(series, "accuracy", theme=widgets.theme()), "lesson8.race", name="attention race")

    live_section(lesson, draw)
