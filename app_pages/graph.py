"""The unrolled computation graph: the same weights at every step, values forward and gradients backward."""
import streamlit as st

from rnnviz.plots.graph import unrolled_figure
from rnnviz.ui import pickers, state, widgets

st.title("The unrolled computation graph")
st.markdown("Unrolling a recurrent network through time gives an ordinary deep network with one layer per "
            "step, whose layers **share the same weights** W_xh, W_hh, W_hy. Node colour is the value; edge "
            "width and colour are the gradient flowing back through it (backpropagation through time).")
subject = state.current_subject()
if not subject.model.spec.has_w_hh:
    spec = subject.model.spec
    st.caption(f"{spec.name} has no W_hh: h_(t−1) reaches h_t only through {spec.carry}, each unit scaled on its own "
               f"({spec.equation('h')}), so training computes every step at once as a scan.")
if subject.cfg.bidirectional:
    st.caption("A bidirectional network: each layer runs a second recurrence from the end of the sequence back to "
               "its start (h←, drawn a little to the right, its edges joining t+1 to t with its own W^(←)), and "
               "the layer above and the output read both directions at each step.")
trace = subject.latest
T = trace.steps if not subject.cfg.seq2seq else int(trace["enc.h"].shape[2])
seq_type = subject.task.info.sequence_type if subject.task is not None else "many-to-many-sync"
c1, c2 = st.columns(2)
steps = c1.slider("Steps shown", 1, min(48, T), min(12, T), key="graph.steps",
                  help="Long sequences: show a window of steps.")
start = c2.slider("First step", 0, max(0, T - steps), max(0, T - steps), key="graph.start") if T > steps else 0
b1, b2, b3 = st.columns([1, 1, 4])
if b1.button("One BPTT step", key="graph.bptt", help="Walk the gradient back one time step per click."):
    st.session_state["graph.k"] = st.session_state.get("graph.k", 0) + 1  # the first click walks one step back
if b2.button("Show all", key="graph.all"):
    st.session_state.pop("graph.k", None)
k = st.session_state.get("graph.k")
if k is not None:
    b3.caption(f"The gradient has travelled back {k} step(s) from the end.")
look = st.number_input("Look closer at step", 0, T - 1, T - 1, key="graph.focus")
l1, l2 = st.columns(2)
l1.page_link("app_pages/hidden.py", label=f"Hidden states at step {look} →", query_params=pickers.link_params(step=look))
l2.page_link("app_pages/gates.py", label=f"Gates at step {look} →", query_params=pickers.link_params(step=look))


_, sample = pickers.layer_sample(subject, "graph", by_layer=False)  # every layer is drawn


def draw(sample: int):
    s = state.current_subject()
    tr = s.latest
    sample = min(sample, tr.samples - 1)
    y = tr.targets
    out_tokens = pickers.output_labels(s, None if y is None else y[sample], int(tr["output"].shape[1]))
    fig = unrolled_figure(tr, seq_type, sample, start, steps, k, tokens=s.input_labels(tr, sample),
                          output_tokens=out_tokens, theme=widgets.theme())
    widgets.figure(fig, "graph.fig", tr.frame("grad.h" if not s.cfg.seq2seq else "dec.grad.h", sample=sample),
                   name="unrolled graph")


pickers.live(draw, sample)

if subject.model.spec.parallel and not subject.cfg.seq2seq:  # a linear recurrence: h_t for every t at once
    from rnnviz.analysis.parallel import scan_vs_loop
    from rnnviz.plots.parallel import scan_figure

    st.header("Step by step, or all at once")
    st.markdown(f"{subject.model.spec.name}'s h_t is linear in h_(t−1), and what multiplies it is known from the "
                "inputs before any step runs, so every h_t can be computed at once as a parallel scan instead of a loop "
                "(rnnviz trains it that way). Both ways, on the traced sequence:")
    x, _ = subject.traced_batch()
    probe_key = (subject.label, subject.latest.meta.get("train_step"))  # timed once per probe, not on every rerun
    if st.session_state.get("graph.scan.key") != probe_key:
        st.session_state["graph.scan"], st.session_state["graph.scan.key"] = scan_vs_loop(subject.model, x), probe_key
    result = st.session_state["graph.scan"]
    row = min(sample, x.shape[0] - 1)
    widgets.figure(scan_figure(result, row, tokens=subject.input_labels(subject.latest, row), theme=widgets.theme()),
                   "graph.scan", name="scan against loop")

