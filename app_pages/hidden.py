"""Hidden states: what each unit does at each step, which units track what, and the path h_t takes."""
import streamlit as st

from rnnviz.analysis import layered, token_pattern, unit_correlations
from rnnviz.model_stacks import BACKWARD
from rnnviz.plots.hidden import pca_figure, state_heatmap, unit_finder_figure
from rnnviz.plots.text import activation_html
from rnnviz.ui import pickers, state, widgets

st.title("Hidden states")
st.markdown("Each row is one unit of h_t, each column one time step. Units that switch with the input, "
            "or hold a value for many steps, are where the network keeps its memory.")
subject = state.current_subject()
prefix = pickers.stack(subject, "hidden")
c1, c2, c3 = st.columns(3)
order = c1.selectbox("Order units by", ["index", "variance", "pc1", "cluster"], key="hidden.order",
                     help="variance: busiest first; pc1: along the main direction of change; cluster: similar units together.")
stored = subject.model.spec.rescaled_cell  # the sLSTM keeps c_t divided by e^(m_t), its stabiliser
quantity = c2.selectbox("Show", ["h", "c"] if subject.model.spec.has_cell else ["h"], key="hidden.quantity",
                        format_func={"h": "hidden state h_t",
                                     "c": "stored cell state c_t e^(−m_t)" if stored else "cell state c_t"}.get)
dims = c3.radio("Trajectory", [2, 3], horizontal=True, key="hidden.dims", format_func=lambda d: f"{d}-D PCA")
layer, sample = pickers.layer_sample(subject, "hidden")


def draw(layer: int, sample: int):
    s = state.current_subject()
    trace, layer, sample, tokens = pickers.view(s, "hidden", prefix, layer, sample)
    theme = widgets.theme()
    widgets.figure(pickers.mark_step(state_heatmap(trace, quantity, layer, sample, prefix, order, tokens, theme),
                                     prefix, trace.steps),
                   "hidden.heat", trace.frame(prefix + quantity, sample=sample), name="hidden states")
    widgets.figure(pca_figure(trace, layer, sample, prefix, dims, tokens, theme=theme), "hidden.pca",
                   name="state trajectory")


pickers.live(draw, layer, sample)

st.header("Read the text through one unit")
trace = subject.latest
states = layered(trace, quantity, layer, sample, prefix)  # (T, H)
tokens = pickers.tokens(subject, trace, sample, prefix)
if prefix == BACKWARD:  # the text reads best in its own order: each token shaded by the state that read it
    states, tokens = states[::-1], tokens[::-1]
features = subject.task.features(trace.inputs[sample]) if subject.task is not None and not prefix else {}
chars = st.multiselect("Find units that fire on these characters", sorted(set(tokens)), key="hidden.pattern",
                        help="Builds a 0/1 pattern over the text; the finder ranks units by correlation with it.")
if chars:
    features = {"chosen characters": token_pattern(tokens, chars)}
if features:
    table = unit_correlations(states, features)
    step = trace.meta.get("train_step")
    over = (f"the {len(tokens)} steps of sample {sample}, layer {layer}" +
            (f", at training step {step:,}" if step is not None else "") + " (the text below)")
    widgets.figure(unit_finder_figure(table, over, theme=widgets.theme()), "hidden.finder", table, name="unit finder")
    best = int(table.iloc[0]["unit"])
else:
    st.caption("This task has no ground-truth features; pick characters above to build a pattern.")
    best = 0
unit = st.number_input("Unit", 0, states.shape[1] - 1, best, key="hidden.unit",
                       help="Each character is shaded by this unit's activation: blue negative, red positive.")
st.html(activation_html(tokens, states[:, unit], theme=widgets.theme(), unit=unit))
