"""Lessons on structure: sequence types (1), the vanilla RNN (2), the LSTM gate by gate (4)."""
from __future__ import annotations

import streamlit as st

from rnnviz.lessons import Lesson
from rnnviz.plots.graph import unrolled_figure
from rnnviz.ui import pickers, state, widgets
from rnnviz.ui.lessons import live_figure, live_section, untrained

TYPES = {  # sequence type -> (task, arch, sequence length, attention)
    "one-to-one": ("circle", "rnn_tanh", None, None),
    "one-to-many": ("sine_gen", "rnn_tanh", 6, None),
    "many-to-one": ("parity", "rnn_tanh", 6, None),
    "many-to-many-sync": ("bracket_depth", "rnn_tanh", 6, None),
    "many-to-many-async": ("reverse", "gru", 4, "additive"),
}


def unrolled(subject, seq_type: str, key: str, **kw) -> None:
    trace = subject.latest
    y = trace.targets
    out = pickers.output_labels(subject, None if y is None else y[0], int(trace["output"].shape[1]))
    fig = unrolled_figure(trace, seq_type, 0, tokens=subject.input_labels(trace, 0), output_tokens=out,
                          theme=widgets.theme(), **kw)
    widgets.figure(fig, key, name=f"unrolled {seq_type}")


def sequence_types(lesson: Lesson) -> None:
    tabs = st.tabs(list(TYPES))
    for tab, (seq_type, (task, arch, seq_len, attention)) in zip(tabs, TYPES.items()):
        with tab:
            s = untrained(task, arch, 16, seq_len, attention=attention)
            st.markdown(f"**Task `{task}`**: {s.task.info.teaches}")
            unrolled(s, seq_type, f"lesson1.{seq_type}")
            st.page_link("app_pages/train.py", label=f"Train {arch} on {task} →", query_params={"task": task, "arch": arch})


def vanilla_rnn(lesson: Lesson) -> None:
    from rnnviz.plots.lessons import weight_share_figure

    st.latex(r"h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t + b), \qquad y_t = W_{hy} h_t, \qquad "
             r"L = \sum_t L_t, \qquad \frac{\partial L}{\partial W_{hh}} = \sum_t \frac{\partial L}{\partial W_{hh}}\Big|_t")
    done = _finished(lesson)
    s = state.run_subject(done[-1]) if done else untrained("noisy_sine", "rnn_tanh", 16, 12)
    st.caption(f"Showing: {s.label}" + ("" if done else " (train it below to see a trained one)"))
    unrolled(s, "many-to-many-sync", "lesson2.graph", steps=8)
    widgets.figure(weight_share_figure(s.latest, 0, s.input_labels(s.latest, 0), widgets.theme()), "lesson2.shares",
                   name="weight gradient shares")

    def draw(mine):
        from rnnviz.plots.curves import loss_curves

        series = {r.label: list(r.history) for r in mine}
        live_figure(mine, lambda: loss_curves(series, "mse", theme=widgets.theme(), baseline=mine[0].spec.baseline()),
                    "lesson2.loss", name="loss")

    live_section(lesson, draw)


def lstm_gates(lesson: Lesson) -> None:
    from rnnviz.analysis import layered
    from rnnviz.plots.gates import cell_state_figure, gate_lines
    from rnnviz.plots.lessons import gates_at_step

    s = state.demo_subject("char-lstm")
    trace = s.latest
    tokens = s.input_labels(trace, 0)
    T = len(tokens)
    t = st.slider("Step through the sequence", 0, T - 1, min(20, T - 1), key="lesson4.t",
                  help="Move one character at a time and watch the gates respond.")
    shown = "".join(tokens[max(0, t - 30):t]) + f"[{tokens[t]}]" + "".join(tokens[t + 1:t + 10])
    st.code(shown.replace("↵", "⏎"), language=None)
    h = layered(trace, "h", 0, 0)
    units = [int(u) for u in abs(h).var(0).argsort()[::-1][:4]]  # the busiest units
    theme = widgets.theme()
    widgets.figure(gates_at_step(trace, t, units, theme=theme), "lesson4.bars", name="gates at step")
    fig = gate_lines(trace, units[:2], 0, 0, tokens=tokens, theme=theme)
    fig.add_vline(x=t, line_dash="dot", line_color="#000000")
    widgets.figure(fig, "lesson4.lines", name="gates over time")
    cell = cell_state_figure(trace, units, 0, 0, tokens=tokens, theme=theme)
    cell.add_vline(x=t, line_dash="dot", line_color="#000000")
    widgets.figure(cell, "lesson4.cell", name="cell state")


def _finished(lesson: Lesson):
    from rnnviz.ui.lessons import runs

    return [r for r in runs(lesson) if r.state_dict is not None]
