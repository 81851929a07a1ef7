"""Gates: when a gated cell's gates open and close, the cell state they protect, and how saturated they run."""
import streamlit as st

from rnnviz.analysis.equations import all_equations, gate_glossary, to_html
from rnnviz.analysis.traces import SIGMOID_GATES
from rnnviz.plots.gates import (cell_state_figure, cell_vs_hidden, gate_heatmaps, gate_lines, saturation_figure,
                                stabiliser_figure)
from rnnviz.ui import pickers, state, widgets
from rnnviz.ui.safe import plain

st.title("Gates")
subject = pickers.gated(state.current_subject())
spec = subject.model.spec
if set(SIGMOID_GATES) & set(spec.gates):
    st.markdown(f"**{plain(subject.label)}** ({to_html(spec.summary)}). A gate near 1 lets information through, "
                "near 0 blocks it. Karpathy et al. (2015) found many LSTM and GRU gates spend most of their time "
                "saturated: fully open or fully shut.", unsafe_allow_html=True)  # the label escaped, the rest ours
else:  # S6: what decides how much it keeps is a step size, not a gate
    st.markdown(f"**{plain(subject.label)}** ({to_html(spec.summary)}). Its one gate, SiLU(z<sub>t</sub>), scales "
                "what it outputs, not what it keeps: how much of h it keeps each step is set by its step size "
                "Δ<sub>t</sub>, read from the input: a large step forgets h and takes in the input, a small one keeps "
                "h.", unsafe_allow_html=True)
st.markdown("<br>".join(gate_glossary(spec)), unsafe_allow_html=True)  # the spec's own text, no user input
if spec.equations:
    with st.expander(f"The {spec.name} step, line by line"):
        st.markdown("<br>".join(all_equations(spec)), unsafe_allow_html=True)
prefix = pickers.stack(subject, "gates")
units = st.multiselect("Units to follow", list(range(subject.cfg.hidden_size)), default=[0, 1, 2][:subject.cfg.hidden_size],
                       key="gates.units", help="Each chosen unit's gate activations over the sequence.")
layer, sample = pickers.layer_sample(subject, "gates")  # outside the fragment, as pickers.layer_sample asks


def draw(layer: int, sample: int):
    s = pickers.gated(state.current_subject(), quiet=True)
    trace, layer, sample, tokens = pickers.view(s, "gates", prefix, layer, sample)
    theme = widgets.theme()
    p = prefix
    marked = lambda fig: pickers.mark_step(fig, p, trace.steps)  # noqa: E731  (?step=t, where this direction read t)
    widgets.figure(marked(gate_lines(trace, units or [0], layer, sample, p, tokens, theme)), "gates.lines",
                   trace.frames([n for n in trace.tensors if n.startswith(prefix + "gate.")], sample), name="gates")
    widgets.figure(marked(gate_heatmaps(trace, layer, sample, p, tokens, theme)), "gates.heat", name="gate heatmaps")
    if s.model.spec.has_cell:
        left, right = widgets.side_by_side(2)
        with left:
            widgets.figure(marked(cell_state_figure(trace, units or None, layer, sample, p, tokens, theme,
                                                    share=widgets.side_by_side_share(2))),
                           "gates.cell", trace.frame(prefix + "c", sample), name="cell state")
        with right:
            widgets.figure(cell_vs_hidden(trace, layer, sample, p, theme), "gates.cvh", name="c against h")
    if prefix + "m" in trace:  # xLSTM's exponential gates and their stabiliser
        widgets.figure(marked(stabiliser_figure(trace, layer, sample, p, tokens, theme)), "gates.m",
                       trace.frame(prefix + "m", sample), name="stabiliser")
    if not set(SIGMOID_GATES) & set(s.model.spec.gates):  # S6's Δ_t is a step size, not a gate in [0, 1]
        st.caption(f"{s.model.spec.name} has no sigmoid gates, so there is no saturation to count.")
        return
    others = [r for r in state.my_runs() if r.latest_trace is not None
              and set(SIGMOID_GATES) & set(r.latest_trace.meta["gates"])]
    traces, labels = [trace], [s.label]
    traces += [r.latest_trace for r in others if r.label != s.label]
    labels += [r.label for r in others if r.label != s.label]
    widgets.figure(saturation_figure(traces, labels, layer=layer, theme=theme), "gates.saturation",
                   name="gate saturation")


pickers.live(draw, layer, sample)
