"""Lessons on what flows through time: vanishing and exploding gradients (3), LSTM variants (5), long-term
dependencies (6)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from rnnviz.lessons import VARIANTS, Lesson
from rnnviz.analysis import grad_norms
from rnnviz.plots.gradients import grad_compare
from rnnviz.ui import state, widgets
from rnnviz.ui.lessons import live_figure, live_section, untrained

TRUNCATE = 10  # the truncated-BPTT window drawn beside the cures
CURES = {  # label -> untrained(...) arguments (arch, init, radius, forget bias), on the adding problem, length 50
    "tanh RNN (default init)": ("rnn_tanh", "default", 1.0, None),
    "tanh RNN, orthogonal W<sub>hh</sub>": ("rnn_tanh", "orthogonal", 1.0, None),
    "relu RNN, identity W<sub>hh</sub> (IRNN)": ("rnn_relu", "identity", 1.0, None),
    "echo state network (ρ = 0.9)": ("esn", "default", 1.0, None),
    "LSTM, default init (f ≈ 0.5)": ("lstm", "default", 1.0, None),
    "LSTM, forget bias 3 (f ≈ 0.95)": ("lstm", "default", 1.0, 3.0),
}


def vanishing(lesson: Lesson) -> None:
    from rnnviz.plots.curves import grad_norm_figure, loss_curves

    theme = widgets.theme()
    radii = {f"tanh RNN, ρ(W<sub>hh</sub>) = {r}": untrained("adding", "rnn_tanh", 64, 50, "spectral", r).latest
             for r in (0.5, 1.0, 1.5)}
    widgets.figure(grad_compare(radii, theme=theme, title="W<sub>hh</sub>'s spectral radius sets the slope",
                                subtitle="||dL/dh<sub>t</sub>|| at initialisation, same input: small ρ vanishes, "
                                "large ρ keeps or grows the signal."), "lesson3.radii", name="radius")
    cures = {label: untrained("adding", arch, 64, 50, init, r, forget_bias=fb).latest
             for label, (arch, init, r, fb) in CURES.items()}
    full = grad_norms(cures["tanh RNN (default init)"])[-1]
    cut = np.where(np.arange(full.size) >= full.size - TRUNCATE, full, np.nan)  # many-to-one: the last window's
    # gradients are full BPTT's, and nothing is computed before it
    widgets.figure(grad_compare({**cures, f"tanh RNN, truncated BPTT ({TRUNCATE} steps)": cut}, theme=theme,
                                title="The cures at initialisation, side by side",
                                subtitle=f"Truncated BPTT does not cure vanishing: its curve stops dead {TRUNCATE} "
                                "steps back, where no gradient is computed at all."), "lesson3.cures", name="cures")
    trained = {state.demo_subject(d).label: state.demo_subject(d).latest for d in ("rnn-adding", "gru-adding")}
    widgets.figure(grad_compare(trained, theme=theme, title="After training on the adding problem",
                                subtitle="The GRU learned to carry the gradient back to the first steps, where the "
                                "numbers to add can be; the tanh RNN did not."), "lesson3.trained", name="trained")
    st.subheader("Watch it explode, then clip it")

    def draw(mine):
        series = {r.label: list(r.history) for r in mine}
        live_figure(mine, lambda: grad_norm_figure(series, clip_norm=1.0, theme=widgets.theme()),
                    "lesson3.gradnorm", name="gradient norms")
        baseline = mine[0].spec.baseline()  # the diverged run's 10⁴ would squash the clipped run onto this line
        live_figure(mine, lambda: loss_curves(series, "mse", log_loss=True, theme=widgets.theme(), baseline=baseline,
                                              ceiling=30 * baseline[0]), "lesson3.loss", name="loss")
        for r in mine:
            if r.status == "diverged":
                st.warning(f"{r.label}: diverged ({r.message}), as expected. The gradient norm shot up by orders of "
                           "magnitude in a few steps; clipping caps each update's size, so the clipped run stays "
                           "finite and keeps training.", icon=":material/bolt:")

    live_section(lesson, draw)


def variants(lesson: Lesson) -> None:
    import pandas as pd

    from rnnviz.cells import SPECS
    from rnnviz.models import num_parameters
    from rnnviz.plots.gates import saturation_figure

    first = lesson.presets[0]  # the networks and the task the live runs below train: code_lm, hidden 32
    untrained_ = {a: untrained(first.task, a, first.hidden, first.seq_len) for a in VARIANTS}
    rows = [{"variant": a, "what changes": SPECS[a].summary, "gates": ", ".join(SPECS[a].gates),
             "parameters": num_parameters(s.model)} for a, s in untrained_.items()]
    st.table(pd.DataFrame(rows).set_index("variant"))  # a plain table: grows with the page's font on a projector
    traces = {a: s.latest for a, s in untrained_.items()}
    steps = next(iter(traces.values())).steps
    curves = np.stack([grad_norms(t, "grad.h")[-1] for t in traces.values()])  # (variants, T)
    spread = float(np.max(curves.max(0) / curves.min(0)))  # the widest gap between variants at any step
    fall = float(np.max(curves[:, -1] / curves[:, 0]))  # the most any variant's falls from the last step to the first
    widgets.figure(grad_compare(traces, theme=widgets.theme(), title="How far back each variant's gradient reaches",
                                subtitle=f"Untrained, the same {steps} characters of code: none vanishes "
                                f"(none falls more than {max(fall, 1.0):.1f}× from the last step to the first), and "
                                f"they stay within {spread:.1f}× of one another at every step. The differences come "
                                "with training: the scores appear below once the runs end."),
                   "lesson5.reach", name="variants reach")

    def draw(mine):
        from rnnviz.lesson_claims import final
        from rnnviz.plots.lessons import variant_scores

        done = [r for r in mine if r.status == "finished"]
        if done:
            scores: dict[str, list[float]] = {}
            for r in done:
                scores.setdefault(r.spec.arch, []).append(final(r.record))
            def scores_figure():  # built only when a run has moved on: the baseline builds the code corpus
                baseline = done[0].spec.baseline()
                return variant_scores(scores, "bits per char", baseline and baseline[1], higher_is_better=False,
                                      theme=widgets.theme())

            live_figure(done, scores_figure, "lesson5.scores", name="variant scores")
        first = [r for r in done if r.spec.seed == min(x.spec.seed for x in mine) and r.latest_trace is not None]
        if first:
            live_figure(first, lambda: saturation_figure([r.latest_trace for r in first], [r.spec.arch for r in first],
                                                         theme=widgets.theme()),
                        "lesson5.saturation", name="saturation")

    live_section(lesson, draw)


def long_term(lesson: Lesson) -> None:
    from rnnviz.analysis import input_connectivity
    from rnnviz.plots.connectivity import connectivity_figure
    from rnnviz.plots.lessons import accuracy_vs_lag

    cols = widgets.side_by_side(2)
    for col, demo in zip(cols, ("rnn-adding", "gru-adding")):
        s = state.demo_subject(demo)
        x, y = s.traced_batch()  # the demo's own probe: the sequence its other figures show
        values = input_connectivity(s.model, x, y)
        with col:
            who = "tanh RNN" if s.cfg.arch == "rnn_tanh" else s.cfg.arch.upper()
            widgets.figure(connectivity_figure(values, s.task.dependency(x[0]), log=True, theme=widgets.theme(),
                                               title=f"{who}: how much the last output depends on each input"),
                           f"lesson6.{demo}", name=f"connectivity {demo}")
            st.caption(f"{s.label}. Like the first symbol in the runs below, the adding problem hides its answer far "
                       "back: the two marked inputs are the numbers to add, up to 50 steps before the output.")

    def draw(mine):
        from rnnviz.lesson_claims import final
        from rnnviz.lessons import LAG_ARCHS

        results: dict[str, list] = {}
        for r in mine:
            if r.status == "finished":
                name = LAG_ARCHS.get(r.spec.arch, r.spec.arch)
                results.setdefault(name, []).append((r.spec.seq_len, final(r.record)))
        if results:
            chance = lambda: (mine[0].spec.baseline() or (None, None))[1]  # noqa: E731 (only when rebuilt)
            live_figure(mine, lambda: accuracy_vs_lag(results, chance=chance(), theme=widgets.theme()),
                        "lesson6.lag", name="accuracy against lag")

    live_section(lesson, draw)
