"""rnnviz in the browser: page setup, navigation and the shared sidebar; nothing else."""
import streamlit as st

from rnnviz.ui import pages_index, widgets

st.set_page_config(page_title="rnnviz", page_icon=":material/autorenew:", layout="wide")
page = st.navigation(pages_index.sections(), position="sidebar", expanded=True)
widgets.sidebar()
page.run()
