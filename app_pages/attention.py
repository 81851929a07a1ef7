"""Attention: where an encoder-decoder looks in the input while it writes each output token."""
import streamlit as st

from rnnviz.plots.attention import attention_figure
from rnnviz.ui import pickers, state, widgets
from rnnviz.ui.safe import plain

st.title("Attention")
st.markdown("Each row is one output step of the decoder; each column one input token. Bright cells are where "
            "the decoder looked (the weights in a row sum to 1). Reversing a string draws an anti-diagonal.")
subject = pickers.attentive(state.current_subject())
_, sample = pickers.layer_sample(subject, "attention", by_layer=False)  # attention reads the top layer


def draw(sample: int):
    s = pickers.attentive(state.current_subject(), quiet=True)
    trace, _, sample, src = pickers.view(s, "attention", "enc.", 0, sample)  # the traced sequence's own tokens
    y = trace.targets
    out = trace["output"][sample].argmax(-1)
    tgt = s.task.describe_output(out) if s.task is not None else [str(int(t)) for t in out]
    copies = s.task.copies(trace.inputs[sample]) if s.task is not None else None
    fig = attention_figure(trace, sample, src, tgt, copies, theme=widgets.theme())
    widgets.figure(fig, "attention.map", trace.frame("attention", sample=sample), name="attention")
    if y is not None and s.task is not None:
        truth = "".join(s.task.describe_output(y[sample]))
        st.markdown(f"Input **{plain(''.join(src))}** → model wrote **{plain(''.join(tgt))}** "
                    f"(target **{plain(truth)}**)")  # tokens may come from an uploaded vocabulary: text only


pickers.live(draw, sample)
