"""Streamlit glue: session state, shared widgets, pickers, the Train form and live panel, lessons. The only package
code that imports streamlit (rnnviz/jobs does not, so a training process never loads it)."""
