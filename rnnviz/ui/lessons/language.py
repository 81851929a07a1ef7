"""Lessons on language: a character model's intuition (7) and attention (8)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from rnnviz.lessons import Lesson
from rnnviz.ui import state, widgets
from rnnviz.ui.lessons import live_figure, live_section

FINDER_SAMPLES, FINDER_CHARS = 8, 400  # the unit finder reads 3,200 characters: enough quotes and brackets


@st.cache_data(show_spinner=False)
def find_units(demo: str) -> tuple[pd.DataFrame, list[str], np.ndarray, list[str], np.ndarray]:
    """The unit finder on longer windows of the demo's corpus than its probe batch (100 characters often hold no
    quote at all): (the 4 best units per feature, the window with the most quoted characters as tokens, its h
    (T, H), the window with the deepest brackets, its h)."""
    from rnnviz.analysis import layered, unit_correlations
    from rnnviz.tasks import get_task

    s = state.demo_subject(demo)
    task = get_task(s.task.info.name, **{**vars(s.task.params), "seq_len": FINDER_CHARS})
    x, _ = task.held_out(FINDER_SAMPLES, torch.Generator().manual_seed(7))  # text it never trained on
    trace = s.probe(x)
    states = [layered(trace, "h", 0, i) for i in range(len(x))]
    features = [task.features(row) for row in x]
    table = unit_correlations(np.concatenate(states), {k: np.concatenate([f[k] for f in features])
                                                      for k in features[0]}, top=4)
    quoted = int(np.argmax([f["inside quotes"].sum() for f in features]))
    deep = int(np.argmax([f["bracket depth"].max() for f in features]))
    return (table, s.input_labels(trace, quoted), states[quoted], s.input_labels(trace, deep), states[deep])


def char_rnn(lesson: Lesson) -> None:
    from rnnviz.plots.hidden import unit_finder_figure
    from rnnviz.plots.text import activation_html, generation_html
    from rnnviz.sampling import generate_text

    s = state.demo_subject("char-lstm")
    theme = widgets.theme()
    gen = generate_text(s.model, s.vocab, "def ", 400, 0.7, seed=1)
    st.subheader("What it writes")
    st.html(generation_html(gen, theme=theme))
    table, quoted_tokens, quoted_h, deep_tokens, deep_h = find_units("char-lstm")
    st.subheader("Which units track quotes and brackets?")
    over = (f"{FINDER_SAMPLES * FINDER_CHARS:,} characters it never trained on ({FINDER_SAMPLES} windows of "
            f"{FINDER_CHARS})")
    widgets.figure(unit_finder_figure(table, over, theme=theme), "lesson7.finder", table, name="unit finder")
    for feature, tokens, h in (("inside quotes", quoted_tokens, quoted_h), ("bracket depth", deep_tokens, deep_h)):
        best = table[table.feature == feature].iloc[0]
        unit = int(best.unit)
        how = "follows" if best.correlation >= 0 else "follows, inversely,"  # "follows (−0.54)" hid the sign
        r = f"{best.correlation:+.2f}".replace("-", "−")
        st.markdown(f"**Unit {unit}** {how} *{feature}* (correlation {r} over "
                    f"{FINDER_SAMPLES * FINDER_CHARS:,} characters):")
        st.html(activation_html(tokens, h[:, unit], theme=theme, unit=unit))


def attention(lesson: Lesson) -> None:
    from rnnviz.plots.attention import attention_figure
    from rnnviz.plots.curves import loss_curves

    s = state.demo_subject("attention")
    trace = s.latest
    out = trace["output"][0].argmax(-1)
    fig = attention_figure(trace, 0, s.input_labels(trace, 0), s.task.describe_output(out),
                           s.task.copies(trace.inputs[0]), theme=widgets.theme())
    widgets.figure(fig, "lesson8.map", name="attention map")

    def draw(mine):
        series = {r.label: list(r.history) for r in mine}
        live_figure(mine, lambda: loss_curves(series, "accuracy", theme=widgets.theme(),
                                              baseline=mine[0].spec.baseline()), "lesson8.race", name="attention race")

    live_section(lesson, draw)
