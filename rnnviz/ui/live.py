"""The Train page's live panel: a polling fragment that redraws a run's progress and charts, and the
controls that act on the run (outside the fragment, so they act at once). Not the form (train_form.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from rnnviz.ui import state, widgets
from rnnviz.ui.jobs import ACTIVE, RunState

POLL_SECONDS = 1.0
DIVERGED = ("Training diverged: {msg}. This is what **exploding gradients** look like: a product of many "
            "Jacobians with norm above 1 grows geometrically until the numbers overflow. The weights kept are the "
            "last good ones. Turn on **Clip gradient norm** (1.0 is a good start) or lower the learning rate, and "
            "train again.")


def controls(run: RunState) -> None:
    """Pause, Resume, Stop training and the checkpoint download; drawn outside the polling fragment."""
    p = state.pool()
    c = st.columns([1, 1, 1.3, 2, 3])
    active = run.status in ACTIVE
    if c[0].button("Pause", disabled=run.status not in ("running", "starting"), key="live.pause",
                   help="Hold training; nothing is lost."):
        p.pause(run.id)
    if c[1].button("Resume", disabled=run.status != "paused", key="live.resume"):
        p.resume(run.id)
    if c[2].button("Stop training", disabled=not active, key="live.stop",
                   help="End the run; it keeps its weights, history and probes, and becomes a checkpoint."):
        p.stop(run.id)
    c[4].download_button("Run setup (JSON)", data=lambda: json.dumps(run.spec.get("form") or run.spec, indent=1),
                         file_name="rnnviz-run-setup.json", mime="application/json", on_click="ignore",
                         key="live.setup", help="Load it with 'Load a setup' above to train this run again.")
    if not active and run.saved and Path(run.saved).is_file():
        c[3].download_button("Download checkpoint", data=lambda: Path(run.saved).read_bytes(),
                             file_name=f"rnnviz-{run.spec['model']['arch']}-{run.spec['task']}.safetensors",
                             mime="application/octet-stream", on_click="ignore", key="live.download",
                             help="Weights, configuration, history and probe traces; open it on the Checkpoints page.")


def overlay_runs(run: RunState) -> dict[str, list[dict]]:
    """This session's runs on the same task (a race: RNN vs LSTM vs GRU on one seed), label -> history."""
    p = state.pool()
    with p.lock:
        return {r.label: list(r.history) for r in state.my_runs() if r.spec["task"] == run.spec["task"]}


@st.fragment(run_every=POLL_SECONDS)
def panel(run_id: str, overlay: bool) -> None:
    """Redraws the run's progress every second; when its status changes, reruns the page to update its buttons."""
    p = state.pool()
    run = p.get(run_id)
    if run is None:
        st.warning("This run is no longer on the server; start a new one.")
        return
    widgets.heartbeat(run_id)
    with p.lock:
        status, history, heat, message = run.status, list(run.history), list(run.grad_heat), run.message
        total = run.spec["train"]["steps"]
    _progress(run_id, status, history, total, message)
    _charts(run, history, heat, overlay)
    seen = st.session_state.setdefault("live.seen", {})
    if run_id in seen and seen[run_id] != status:  # Pause/Resume/Stop/Download, outside, depend on the status
        seen[run_id] = status
        st.rerun(scope="app")
    seen[run_id] = status


def _progress(run_id, status, history, total, message) -> None:
    step = history[-1]["step"] if history else 0
    rate = history[-1]["steps_per_sec"] if history else 0.0
    if status == "queued":
        pos = state.pool().queue_position(run_id)
        st.info(f"Waiting for a free worker: position {pos} in the queue. Other runs are using every core.")
    elif status == "diverged":
        st.error(DIVERGED.format(msg=message or "the loss became nan"))
    elif status == "failed":
        st.error(f"Training failed: {message}")
    st.progress(min(1.0, step / max(total, 1)), text=f"{status} · step {step} of {total}")
    m = st.columns(4)
    m[0].metric("Step", step)
    m[1].metric("Steps/s", f"{rate:.1f}")
    eta = (total - step) / rate if rate > 0 and status in ("running", "starting") else None
    m[2].metric("ETA", f"{eta:.0f} s" if eta is not None else "—")
    last_val = next((h for h in reversed(history) if h.get("val_loss") is not None), None)
    m[3].metric("Validation loss", f"{last_val['val_loss']:.4g}" if last_val else "—")


def _charts(run: RunState, history: list[dict], heat: list, overlay: bool) -> None:
    from rnnviz.plots.curves import grad_norm_figure, loss_curves
    from rnnviz.plots.gradients import grad_heat_figure

    if not history:  # queued or starting: the curve builders refuse an empty history
        st.caption("The loss and gradient charts appear with the first training steps.")
        return
    theme = widgets.theme()
    task = run.spec["task"]
    series = overlay_runs(run) if overlay else {run.label: history}
    frame = pd.DataFrame(history)
    widgets.figure(loss_curves(series, metric_name=_metric(run), theme=theme), "live.loss", frame,
                   name=f"loss {task}")
    left, right = st.columns(2)
    with left:
        clip = run.spec["train"].get("clip_norm") or None
        widgets.figure(grad_norm_figure(series, clip_norm=clip, theme=theme), "live.gradnorm", frame,
                       name=f"gradient norm {task}")
    with right:
        if heat:
            widgets.figure(grad_heat_figure(heat, theme=theme), "live.heat", _heat_frame(heat),
                           name=f"dL-dh heat {task}")
        else:
            st.caption("The map of ||dL/dh_t|| over training appears with the first probe.")


def _metric(run: RunState) -> str:
    from rnnviz.ui.train_form import task

    return task(run.spec["task"]).info.metric


def _heat_frame(heat: list) -> pd.DataFrame:
    rows = [(s, t, v) for s, vals in heat for t, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["train_step", "time_step", "grad_norm"])
