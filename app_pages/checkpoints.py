"""Checkpoints: open your own PyTorch weights (or a demo, or one of your runs) and look inside."""
import streamlit as st

from rnnviz.ui import checkpoint_panel, state
from rnnviz.ui.safe import plain

st.title("Checkpoints")
st.markdown("Bring a `.pt`/`.pth` file saved with `torch.save(model.state_dict(), ...)` from a model built on "
            "`nn.RNN`, `nn.LSTM` or `nn.GRU` (any module names, 1 to 4 layers, with or without an embedding and a "
            "linear head), or an rnnviz checkpoint. Whatever you open here becomes what every page shows.")
checkpoint_panel.upload()
subject = state.current_subject()
st.subheader(plain(subject.label))
checkpoint_panel.summary(subject)
st.header("Weights")
checkpoint_panel.weights(subject)
st.header("Run your own input")
checkpoint_panel.try_input(subject)
