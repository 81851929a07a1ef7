"""Streamlit glue: session state, the worker pool, shared widgets. The only package code that imports streamlit
(worker.py and jobs.py do not, so a training process never loads it)."""
