"""Overview: what rnnviz is, and where to start."""
import streamlit as st

from rnnviz.ui import overview

st.title("rnnviz: see inside recurrent networks")
overview.draw()
