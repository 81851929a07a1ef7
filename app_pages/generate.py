"""Generate: a character model writes; see how sure it was of each character and what else it considered."""
import streamlit as st

from rnnviz.plots.attention import topk_figure
from rnnviz.plots.text import generation_html
from rnnviz.sampling import generate_text
from rnnviz.ui import pickers, state, widgets
from rnnviz.ui.safe import plain

st.title("Generate text")
subject = pickers.writer(state.current_subject())
st.markdown("The model reads the priming text, then samples one character at a time from its predicted "
            "distribution. **Temperature** below 1 sharpens it (safer, repetitive); above 1 flattens it (wilder). "
            "Temperature 0 always takes the most likely character.")
c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
prime = c1.text_input("Priming text", pickers.default_prime(subject), key="generate.prime", max_chars=500)
temperature = c2.slider("Temperature", 0.0, 2.0, 0.8, 0.1, key="generate.temperature")
length = c3.slider("Characters", 20, 1000, 300, 20, key="generate.length")
seed = c4.number_input("Seed", 0, 10_000, 0, key="generate.seed")
try:
    gen = generate_text(subject.model, subject.vocab, prime, length, temperature, top_k=5, seed=int(seed))
except ValueError as e:
    st.error(plain(e))
    st.stop()
st.html(generation_html(gen, theme=widgets.theme()))
start = st.slider("Show the top-5 alternatives from character", 0, max(0, len(gen.chars) - 1), 0,
                  key="generate.start")
widgets.figure(topk_figure(gen, start=start, steps=40, theme=widgets.theme()), "generate.topk", name="top-k")
