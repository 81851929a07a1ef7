"""Checkpoints: open your own PyTorch weights (or a demo, or one of your runs) and look inside."""
import streamlit as st

from rnnviz.ui import checkpoint_panel, state
from rnnviz.ui.safe import plain

st.title("Checkpoints")
st.markdown("Bring the file your code saved, whatever its name: `torch.save` of a `state_dict` or of the whole "
            "model (`.pt`, `.pth`, `.net`, `.ckpt`), a TorchScript archive, `.safetensors`, Keras (`.keras`, `.h5`), "
            "ONNX, or min-char-rnn's `.npz`, from a model built on `RNN`, `LSTM` or `GRU` layers or cells (1 to 4 "
            "layers, with or without an embedding and a linear head), or an rnnviz checkpoint. Nothing in the file "
            "runs. Whatever you open here becomes what every page shows.")
checkpoint_panel.upload()
subject = state.current_subject()
st.subheader(plain(subject.label))
checkpoint_panel.summary(subject)
st.header("Weights")
checkpoint_panel.weights(subject)
st.header("Run your own input")
checkpoint_panel.try_input(subject)
