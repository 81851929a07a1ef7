"""Lesson 9, why recurrence came back: the linear recurrences (minGRU, the LRU, the mLSTM) against lesson 6's
longest lag."""
from __future__ import annotations

import streamlit as st

from rnnviz.lessons import LINEAR_ARCHS, LINEAR_LAG, RECALL_LEN, SELECT_ARCHS, Lesson
from rnnviz.ui import widgets
from rnnviz.ui.lessons import live_figure, live_section, untrained

REACH = {"rnn_tanh": "tanh RNN", **LINEAR_ARCHS}  # the cells whose gradient reach is drawn at initialisation


@st.cache_resource(show_spinner=False)
def scan_result(arch: str):
    """The untrained model's probe sequences computed step by step and as one scan, timed once per server."""
    from rnnviz.analysis.parallel import scan_vs_loop

    s = untrained("first_symbol", arch, 32, LINEAR_LAG)
    x, _ = s.traced_batch()
    return scan_vs_loop(s.model, x)


def came_back(lesson: Lesson) -> None:
    from rnnviz.plots.gradients import grad_compare, jacobian_figure
    from rnnviz.plots.parallel import scan_figure

    theme = widgets.theme()
    cold = {name: untrained("first_symbol", arch, 32, LINEAR_LAG) for arch, name in REACH.items()}
    steps = next(iter(cold.values())).latest.steps  # the first symbol, then LINEAR_LAG distractors
    widgets.figure(grad_compare({n: s.latest for n, s in cold.items()}, theme=theme,
                                title="How far back the gradient reaches at initialisation",
                                subtitle=f"Untrained, the same {steps}-step input (its first symbol, then "
                                f"{LINEAR_LAG} distractors). The LRU's λ fill the unit "
                                "disk, its largest near the rim, and the mLSTM's forget gates start at 0.95 to 0.998: "
                                "both carry it back to the first symbol. The minGRU's decays start near 0.5, and its "
                                "gradient fades like the tanh RNN's."),
                   "lesson9.reach", name="reach at initialisation")
    lru = cold["LRU"]
    widgets.figure(jacobian_figure(lru.latest, None, theme=theme), "lesson9.jacobian", name="LRU Jacobian")
    st.caption("No W_hh: each step multiplies the gradient by the decays, here the LRU's |λ|, so their product is the "
               "whole law, drawn beside what autograd measures.")
    s = cold["minGRU"]
    widgets.figure(scan_figure(scan_result("mingru"), tokens=s.input_labels(s.latest, 0), theme=theme),
                   "lesson9.scan", name="scan and loop")

    def draw(mine):
        from rnnviz.analysis.memory import head_for_step, input_gate_by_token, kept_across
        from rnnviz.lesson_claims import final
        from rnnviz.plots.lessons import variant_scores
        from rnnviz.plots.spectra import input_gate_figure, lambda_figure, write_share_figure

        ended = [r for r in mine if r.status == "finished" and r.latest_trace is not None]
        done = [r for r in ended if r.spec.arch in LINEAR_ARCHS]
        recall = [r for r in ended if r.spec.arch in SELECT_ARCHS]
        if done:
            acc: dict[str, list[float]] = {}
            kept: dict[str, list[float]] = {}
            for r in done:
                acc.setdefault(LINEAR_ARCHS[r.spec.arch], []).append(final(r.record))
                kept.setdefault(LINEAR_ARCHS[r.spec.arch], []).append(max(kept_across(r.latest_trace), 1e-12))
            chance = lambda: (done[0].spec.baseline() or (None, None))[1]  # noqa: E731 (only when rebuilt)
            live_figure(done, lambda: variant_scores(acc, "accuracy", chance(), theme=widgets.theme(),
                                                     title=f"Accuracy at lag {LINEAR_LAG} after 400 steps"),
                        "lesson9.accuracy", name="accuracy")
            live_figure(done, lambda: variant_scores(
                kept, "kept", None, theme=widgets.theme(), log=True, title="What survives the lag",
                axis=f"share of step 0's write the best unit holds after {LINEAR_LAG} steps",
                note="The share is the product of the unit's decays; the mLSTM's are its forget gates σ(f̃)."),
                "lesson9.kept", name="kept across the lag")
        if recall:
            scores: dict[str, list[float]] = {}
            for r in recall:
                scores.setdefault(SELECT_ARCHS[r.spec.arch], []).append(final(r.record))
            live_figure(recall, lambda: variant_scores(
                scores, "accuracy", (recall[0].spec.baseline() or (None, None))[1], theme=widgets.theme(),
                title=f"Induction heads: the symbol after '>', {RECALL_LEN} steps, 300 training steps"),
                "lesson9.recall", name="induction heads")
        first = {r.spec.arch: r for r in mine if r.spec.seed == min(x.spec.seed for x in mine) and r.history}
        if "lru" in first and first["lru"].record.traces:
            run = first["lru"]
            live_figure([run], lambda: lambda_figure(list(run.record.traces), theme=widgets.theme()),
                        "lesson9.lambda", name="LRU lambda")
        if "mlstm" in first and first["mlstm"].latest_trace is not None:
            run = first["mlstm"]
            trace = run.latest_trace
            tokens = [cold["mLSTM"].input_labels(trace, b) for b in range(trace.inputs.shape[0])]  # its own probe
            head = head_for_step(trace, 0)
            live_figure([run], lambda: input_gate_figure(input_gate_by_token(trace, tokens, head), head,
                                                         theme=widgets.theme()), "lesson9.gate",
                        name="mLSTM input gate")
            live_figure([run], lambda: write_share_figure(trace, head, [f"starts with {t[0]}" for t in tokens],
                                                          theme=widgets.theme()), "lesson9.writes", name="mLSTM writes")

    live_section(lesson, draw)
