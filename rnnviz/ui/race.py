"""The gradient race on the Gradient flow page: this session's runs (the user picks which) as side-by-side
||dL/dh_t|| maps on one colour scale, and their newest curves overlaid, redrawn while any of them trains."""
from __future__ import annotations

import streamlit as st

from rnnviz.jobs import ACTIVE
from rnnviz.ui import state, widgets
from rnnviz.ui.pickers import LIVE_SECONDS
from rnnviz.ui.safe import plain

MAX_PANELS = 4  # side-by-side maps that stay readable at 1920 px


def section(k1: int | None) -> None:
    """The race's picker (outside the fragment: a widget rebuilt every redraw would drop the user's pick) and
    its live figures."""
    runs = [r for r in state.my_runs() if r.grad_heat]
    if len(runs) < 2:
        return
    st.header("The gradient race")
    labels = {r.id: r.label for r in runs}
    newest = max(runs, key=lambda r: r.created)
    default = [r.id for r in runs if r.spec.task == newest.spec.task][-MAX_PANELS:]
    picked = st.multiselect("Runs in the race", list(labels), default=default, format_func=labels.get,
                            max_selections=MAX_PANELS, key="gradients.race",
                            help="Your runs with at least one probe; train RNN, LSTM and GRU on one task to race them.")
    if len(picked) < 1:
        st.caption("Pick at least one run.")
        return
    active = any(r.status in ACTIVE for r in runs if r.id in picked)
    st.fragment(_draw, run_every=LIVE_SECONDS if active else None)(tuple(picked), k1)


def _draw(picked: tuple[str, ...], k1: int | None) -> None:
    from rnnviz.plots.gradients import grad_compare, grad_race_figure

    p = state.pool()
    runs = [r for r in (p.get(i) for i in picked) if r is not None]
    for r in runs:
        widgets.heartbeat(r.id)
    with p.lock:
        heats = {r.label: list(r.grad_heat) for r in runs}
        latest = {r.label: r.latest_trace for r in runs if r.latest_trace is not None}
    tasks = {r.spec.task for r in runs}
    if len(tasks) > 1:
        st.caption(f"These runs are on different tasks ({plain(', '.join(sorted(tasks)))}): compare shapes, not "
                   "time steps.")
    widgets.figure(grad_race_figure(heats, theme=widgets.theme()), "gradients.race.maps", name="gradient race")
    if len(latest) > 1:
        widgets.figure(grad_compare(latest, k1=k1, theme=widgets.theme(), title="Their newest probes, overlaid",
                                    legend="run"), "gradients.compare", name="runs compared")
