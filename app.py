"""rnnviz in the browser: page setup, navigation and the shared sidebar; nothing else."""
if __name__ != "__mp_main__":  # a training worker re-runs the server's __main__ (this file) as __mp_main__; skip it
    import streamlit as st

    from rnnviz.ui import downloads, pages_index, widgets

    st.set_page_config(page_title="rnnviz", page_icon=":material/autorenew:", layout="wide")
    downloads.install()  # exports in live views survive their redraws
    page = st.navigation(pages_index.sections(), position="sidebar", expanded=True)
    widgets.sidebar()
    page.run()
