"""The Overview page's body: what rnnviz shows, the subject on screen now, and where to go next."""
from __future__ import annotations

import streamlit as st

from rnnviz.models import num_parameters
from rnnviz.ui import pickers, state, widgets
from rnnviz.ui.pages_index import PAGES
from rnnviz.ui.safe import plain



def draw() -> None:
    st.markdown("Train small recurrent networks live and look inside them: the unrolled computation graph, "
                "gradients through time, hidden states, gates and attention. Every page works on your own run, "
                "on a checkpoint you bring, or on the bundled demo shown until then.")
    subject = state.current_subject()
    cfg = subject.cfg
    st.subheader(f"Showing: {plain(subject.label)}")
    cols = st.columns(4)
    cols[0].metric("Cell", cfg.arch)
    cols[1].metric("Layers × units", f"{cfg.num_layers} × {cfg.hidden_size}")
    cols[2].metric("Parameters", f"{num_parameters(subject.model):,}")
    cols[3].metric("Trained steps", subject.history[-1]["step"] if subject.history else "—")
    if subject.task is not None:
        st.caption(f"Task **{subject.task.info.name}** ({subject.task.info.sequence_type}): {subject.task.info.teaches}")
    _figure(subject)
    st.subheader("Where to look")
    for section in ("Train", "Look inside", "Checkpoints"):  # the navigation's own list, not a second copy
        for file, title, _path, _icon, what in PAGES[section]:
            st.page_link(f"app_pages/{file}", label=f"**{title}**: {what}")


def _figure(subject) -> None:
    from rnnviz.plots.gradients import grad_curve

    trace = subject.latest
    tokens = subject.input_labels(trace, 0)
    widgets.figure(grad_curve(trace, sample=0, tokens=tokens, theme=widgets.theme(),
                              per_step_loss=pickers.per_step_loss(subject)), "home.grad", trace.frame("grad.h", sample=0),
                   name="gradient through time")
