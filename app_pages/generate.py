"""Generate: a character (or word) model writes; see how sure it was of each token and what else it considered."""
import streamlit as st

from rnnviz.plots.attention import topk_figure
from rnnviz.plots.text import generation_html
from rnnviz.sampling import char_level, generate_text
from rnnviz.ui import pickers, state, widgets
from rnnviz.ui.safe import plain

st.title("Generate text")
subject = pickers.writer(state.current_subject())
unit = "character" if char_level(subject.vocab) else "word"  # a word model (an uploaded checkpoint) writes words
st.markdown(f"The model reads the priming text, then samples one {unit} at a time from its predicted "
            "distribution. **Temperature** below 1 sharpens it (safer, repetitive); above 1 flattens it (wilder). "
            f"Temperature 0 always takes the most likely {unit}.")
c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
prime = c1.text_input("Priming text", pickers.default_prime(subject), key=f"generate.prime.{subject.label}",
                      max_chars=500)  # per model: one model's prime may hold words another's vocabulary lacks
temperature = c2.slider("Temperature", 0.0, 2.0, 0.8, 0.1, key="generate.temperature")
length = c3.slider(f"{unit.capitalize()}s", 20, 1000, 300, 20, key="generate.length")
seed = c4.number_input("Seed", 0, 10_000, 0, key="generate.seed")
try:
    gen = generate_text(subject.model, subject.vocab, prime, length, temperature, top_k=5, seed=int(seed))
except ValueError as e:
    st.error(plain(e))
    st.stop()
st.html(generation_html(gen, theme=widgets.theme()))
start = st.slider(f"Show the top-5 alternatives from {unit}", 0, max(0, len(gen.chars) - 1), 0,
                  key="generate.start")
widgets.figure(topk_figure(gen, start=start, steps=40, theme=widgets.theme()), "generate.topk", name="top-k")
