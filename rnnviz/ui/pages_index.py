"""The app's pages, grouped as the sidebar shows them, each with a stable URL path (listed in the README)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from rnnviz.lessons import LESSONS

ROOT = Path(__file__).resolve().parents[2]
PAGES = {  # section -> [(file in app_pages/, title, url path, icon)]
    "": [("home.py", "Overview", "", ":material/home:")],
    "Train": [("train.py", "Train", "train", ":material/model_training:")],
    "Look inside": [("graph.py", "Unrolled graph", "graph", ":material/account_tree:"), ("gradients.py", "Gradient flow", "gradients", ":material/trending_down:"),
                    ("hidden.py", "Hidden states", "hidden", ":material/grid_on:"), ("gates.py", "Gates", "gates", ":material/tune:"),
                    ("attention.py", "Attention", "attention", ":material/center_focus_strong:"), ("generate.py", "Generate", "generate", ":material/edit_note:")],
    "Checkpoints": [("checkpoints.py", "Checkpoints", "checkpoints", ":material/save:")],
    "Lessons": [(f"lesson_{x.number}.py", f"{x.number}. {x.title}", x.slug, ":material/school:") for x in LESSONS],
}


def sections() -> dict[str, list]:
    """st.Page objects for every page file that exists, by section."""
    out: dict[str, list] = {}
    for section, pages in PAGES.items():
        for file, title, path, icon in pages:
            if (ROOT / "app_pages" / file).is_file():
                out.setdefault(section, []).append(
                    st.Page(str(ROOT / "app_pages" / file), title=title, icon=icon, url_path=path or None, default=not path))
    return out
