"""The app's pages, grouped as the sidebar shows them, each with a stable URL path (listed in the README)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from rnnviz.lessons import LESSONS

ROOT = Path(__file__).resolve().parents[2]
PAGES = {  # section -> [(file in app_pages/, title, url path, icon, what the Overview says of it)]
    "": [("home.py", "Overview", "", ":material/home:", "")],
    "Train": [("train.py", "Train", "train", ":material/model_training:",
               "Train any cell live, from RNN to xLSTM; watch loss and gradients.")],
    "Look inside": [
        ("graph.py", "Unrolled graph", "graph", ":material/account_tree:",
         "The same weights at every time step, and the gradient flowing back."),
        ("gradients.py", "Gradient flow", "gradients", ":material/trending_down:",
         "Why gradients vanish or explode, and what cures it."),
        ("hidden.py", "Hidden states", "hidden", ":material/grid_on:",
         "What each unit does, step by step; find the quote-tracking cell."),
        ("gates.py", "Gates", "gates", ":material/tune:",
         "Gates opening and closing (S6: its step size), and how saturated."),
        ("attention.py", "Attention", "attention", ":material/center_focus_strong:",
         "Where an encoder-decoder looks while it writes."),
        ("generate.py", "Generate", "generate", ":material/edit_note:",
         "Let a character model write, with each character's probability.")],
    "Checkpoints": [("checkpoints.py", "Checkpoints", "checkpoints", ":material/save:",
                     "Open a PyTorch, Keras or ONNX file your code saved and look inside it.")],
    "Lessons": [(f"lesson_{x.number}.py", f"{x.number}. {x.title}", x.slug, ":material/school:", "") for x in LESSONS],
}


def sections() -> dict[str, list]:
    """st.Page objects for every page file that exists, by section."""
    out: dict[str, list] = {}
    for section, pages in PAGES.items():
        for file, title, path, icon, _what in pages:
            if (ROOT / "app_pages" / file).is_file():
                out.setdefault(section, []).append(
                    st.Page(str(ROOT / "app_pages" / file), title=title, icon=icon, url_path=path or None, default=not path))
    return out
