"""Widgets every page shares: the sidebar (current run, presentation mode), figures with their exports,
and presentation styling. Not page logic: pages call these and stay thin.
"""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from rnnviz.run import progress_text
from rnnviz.ui import chart, links, state
from rnnviz.ui.safe import plain

PRESENT = links.Param("present", "rnnviz.present", False)
# characters of a run's name the sidebar's "Showing" select holds at 1920×1080 ("Demo: character LSTM on gen…")
SELECT_CHARS, SELECT_CHARS_PRESENTING = 34, 26
STATUS_SECONDS = 1.0  # the sidebar's training line: as fresh as the live views beside it
PROJECTOR = {"format": "png", "width": 1920, "height": 1080, "scale": 1}  # the camera button's export size
PRESENTATION_CSS = """<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.25rem; }
[data-testid="stMetricValue"] { font-size: 3rem; }
[data-testid="stWidgetLabel"] p { font-size: 1.15rem; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p, [data-testid="stMultiSelectTagsContainer"] *,
[data-testid="stFileUploaderDropzoneInstructions"] *, [data-testid="stIconMaterial"], [data-testid="stMarkdownContainer"] code,
[data-testid="stTable"] *, [data-testid="stProgress"] p, [data-testid="stTooltipIcon"] * { font-size: 1.1rem !important; }
[data-testid="stCode"] code, [data-testid="stCode"] pre { font-size: 1.1rem !important; }
[data-testid="stAppViewContainer"] input, [data-testid="stAppViewContainer"] textarea,
[data-testid="stSelectbox"] div[value], [data-baseweb="select"] * { font-size: 1.1rem !important; }  /* widget values */
.katex { font-size: 28px !important; }  /* st.latex: its sub- and superscripts scale down from this */
[data-testid="stSidebar"] { min-width: 440px !important; }  /* most page names at 22 px fit on one line... */
[data-testid="stSidebarNavLink"] * { white-space: normal !important; text-overflow: clip !important; line-height: 1.3;
                                     overflow: visible !important; }  /* ...the longest wrap, never cut */
h1 { font-size: 3rem !important; } h2 { font-size: 2.3rem !important; } h3 { font-size: 1.8rem !important; }
[data-testid="stSlider"] > div[role="group"] { margin-top: 1.3rem; }  /* room between the title and the track... */
[data-testid="stSliderThumbValue"] { transform: translateY(-0.7rem); }  /* ...for the value: off both */
</style>"""


def presenting() -> bool:
    return bool(st.session_state.get(PRESENT.key, False))


def theme():
    """The figure theme for this session (presentation or normal)."""
    from rnnviz.plots.theme import theme_for

    return theme_for(presenting())


def sidebar() -> None:
    """The shared sidebar: what every view shows, and presentation mode. Called by app.py on every page."""
    links.seed([PRESENT])
    with st.sidebar:
        current = state.current_key()  # first: a ?run= link restores its run into this session's options
        opts = state.options()
        if current not in opts:
            current = next(iter(opts), current)
        if opts:  # the key changes with every pick made elsewhere, so the selector then starts at `current`
            choice = st.selectbox("Showing", list(opts), index=list(opts).index(current),
                                  format_func=lambda k: opts.get(k, k),
                                  key=f"rnnviz.selector.{st.session_state.get(state.K_PICKS, 0)}",
                                  help="The run or checkpoint every page draws. Your own runs appear here.")
            if choice != state.current_key():
                state.select(choice, by_selector=True)
            shown = opts.get(state.current_key(), "")
            if len(shown) > (SELECT_CHARS_PRESENTING if presenting() else SELECT_CHARS):  # the select cuts it
                st.caption(plain(shown))  # short, and cannot wrap (an input element): the whole name below it
            kind, _, name = state.current_key().partition(":")
            subject = state.uploads().get(name) if kind == "upload" else None  # only uploads come with a vocab file
            if subject is not None and subject.vocab_note:
                st.caption(f":material/warning: {plain(subject.vocab_note)}")
        _training_status()
        st.toggle("Presentation mode", key=PRESENT.key,
                  help="Large fonts, thick lines and high-contrast colours for a projector; hides advanced controls.")
    links.write_back([PRESENT])
    if presenting():
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
    note = st.session_state.pop("rnnviz.note", None)
    if note:
        st.info(note)


def _training_status() -> None:
    """On every page: this session's training runs and their steps, refreshed every second, as often as the
    pages' live views and the Train page's panel (at 3 s it said step 3,766 beside figures of step 4,200). Its
    polling is also the heartbeat that keeps a run alive while its owner reads a page that does not redraw."""
    from rnnviz.jobs import ACTIVE

    if not any(r.status in ACTIVE for r in state.my_runs()):
        return

    @st.fragment(run_every=STATUS_SECONDS)
    def status():
        runs = state.my_runs()
        active = [r for r in runs if r.status in ACTIVE]
        for r in active:
            heartbeat(r.id)
            st.caption(f":material/hourglass_top: {plain(r.label)}: {r.status}, step {r.step} of {r.spec.steps}")
        if not active and runs:  # how the last one ended, in its own words: a diverged run did not "finish"
            r = max(runs, key=lambda r: r.created)
            icon = {"finished": "check_circle", "stopped": "stop_circle"}.get(r.status, "error")
            said = (progress_text(r.status, r.step, r.spec.steps, r.message) if r.status == "diverged" else
                    f"{r.status} at step {r.step}" + (f" ({r.message})" if r.message and r.status != "finished"
                                                      else ""))
            st.caption(f":material/{icon}: {plain(r.label)}: {plain(said)}")

    status()


def figure(fig, key: str, data: pd.DataFrame | None = None, name: str | None = None) -> None:
    """A plotly figure with a PNG camera at projector size, and HTML and CSV downloads made only on click.
    The CSV is `data` when given (the trace's own numbers), else every point the figure draws."""
    from rnnviz.plots.export import figure_frame

    name = name or key
    stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "figure"
    chart.plotly_chart(fig, key, {"toImageButtonOptions": PROJECTOR | {"filename": stem}, "displaylogo": False})
    row = st.container(horizontal=True)  # buttons at their own width, even in a narrow column
    row.download_button("HTML", data=lambda: fig.to_html(include_plotlyjs=True, full_html=True),
                            file_name=f"{stem}.html", mime="text/html", key=f"{key}.html", on_click="ignore",
                            help="A self-contained interactive copy of this figure")
    row.download_button("CSV", data=lambda: (data if data is not None else figure_frame(fig)).to_csv(index=False),
                            file_name=f"{stem}.csv", mime="text/csv", key=f"{key}.csv", on_click="ignore",
                            help="The numbers behind this figure")


def side_by_side(n: int = 2) -> list:
    """n columns for figures that compare; stacked full width in presentation mode, where large fonts would
    squeeze a half-width plot to a sliver."""
    if presenting():
        return [st.container() for _ in range(n)]
    return st.columns(n)


def side_by_side_share(n: int = 2) -> float:
    """The part of the page's width a figure in side_by_side(n) gets (for builders that fit labels to it)."""
    return 1.0 if presenting() else 1.0 / n


def show_advanced() -> bool:
    """Advanced controls are not drawn in presentation mode; their values then come from the link (links.value)."""
    return not presenting()


def heartbeat(run_id: str | None) -> None:
    """Tells the pool this run still has a page watching it."""
    if run_id:
        state.pool().heartbeat(run_id, state.session_token())
