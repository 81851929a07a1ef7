"""The Train page's live panel: a polling fragment that redraws a run's progress and charts, and the
controls that act on the run (a fragment of their own, so they act at once). Not the form (train_form.py).
"""
from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from rnnviz.jobs import ACTIVE, RunState
from rnnviz.run import progress_text
from rnnviz.ui import state, widgets
from rnnviz.ui.safe import plain

POLL_SECONDS = 1.0
VIEW_ONLY = ("**Watching.** This run belongs to the browser that started it: only it can pause or stop it. To "
             "train it yourself or vary it, copy its settings into your form, then press Train.")
CHART_SHARE = 0.4  # of the server's Python core: the most that rebuilding live charts, all sessions together, may take
DIVERGED = ("Training diverged: {msg}. This is what **exploding gradients** look like: a product of many "
            "Jacobians with norm above 1 grows geometrically until the numbers overflow. The weights kept are the "
            "last good ones. Turn on **Clip gradient norm** (1.0 is a good start) or lower the learning rate, and "
            "train again.")


def controls(run: RunState) -> None:
    """Pause, Resume, Stop training and the downloads: outside the polling panel, so a click acts at once, in a
    light fragment of their own that follows the run's status each second while it trains.

    Nothing here or in the panel reruns the whole page when the status changes: a full rerun while fragments
    poll blanks the page now and then under load (Streamlit 1.67's frontend throws "Bad delta path index" and
    unmounts the app; tests/e2e/test_load.py caught it, whether the rerun came from st.rerun or a click)."""
    st.fragment(_controls, run_every=POLL_SECONDS if run.status in ACTIVE else None)(run.id)
    in_control = state.pool().claim(run.id, state.session_token()) and run.status in ACTIVE
    if not in_control:  # outside the fragment: the form above must redraw
        c1, c2 = st.columns(2)
        c1.button("Copy its settings into my form", key="live.copy", on_click=_copy, args=(run.id,),
                  help="The form above takes this run's settings; change what you like and press Train for a run "
                       "of your own, trained from scratch.")
        c2.button("Continue from its weights", key="live.continue", on_click=_copy, args=(run.id, True),
                  help="The form above takes this run's settings, and Train starts from its latest saved weights "
                       "(saved every few seconds while it trains) with a fresh optimizer.")
    note = st.session_state.pop("live.copied", None)
    if note:
        st.caption(note)


def _copy(run_id: str, weights: bool = False) -> None:
    """The copy buttons: fill the Train form with the run's settings (its RunSpec) and, with `weights`, have Train
    start from the run's latest save (train_form.START_FROM)."""
    from rnnviz.ui import train_form

    run = state.pool().get(run_id)
    if run is None:
        return
    try:
        train_form.fill(run.spec.to_dict())
    except ValueError as e:
        st.session_state["live.copied"] = f"Its settings could not be copied ({plain(e, 200)})."
        return
    st.session_state.pop(train_form.START_FROM, None)
    if weights:
        st.session_state[train_form.START_FROM] = run_id
        st.session_state["live.copied"] = (f"The form above now holds the settings of {plain(run.label)}, and Train "
                                           "starts from its latest weights.")
        return
    st.session_state["live.copied"] = (f"The form above now holds the settings of {plain(run.label)}: press Train "
                                       "to train your own copy.")


def _controls(run_id: str) -> None:
    p = state.pool()
    run = p.get(run_id)
    if run is None:
        return
    pause, resume, active = _buttons(run.status)
    me = state.session_token()
    owner = p.claim(run_id, me)  # the owner's session (or the owner has gone and this session took over)
    c = st.columns([1, 1, 1.3, 2, 3] if owner else [3.3, 2, 3])
    setup, checkpoint = (c[4], c[3]) if owner else (c[2], c[1])
    if owner:
        c[0].button("Pause", disabled=not pause, key="live.pause", on_click=p.pause, args=(run_id, me),
                    help="Hold training; nothing is lost.")
        c[1].button("Resume", disabled=not resume, key="live.resume", on_click=p.resume, args=(run_id, me))
        c[2].button("Stop training", disabled=not active, key="live.stop", on_click=p.stop, args=(run_id, me),
                    help="End the run; it keeps its weights, history and probes, and becomes a checkpoint.")
    else:
        c[0].caption(VIEW_ONLY)
    # The downloads' data is given as it is, not as a callable: a callable's file is registered anew, under a new
    # id, each time this fragment redraws (each second while it polls), and a click landing on the old button
    # meanwhile found nothing ("Deferred file not found"); the same bytes keep the same id across redraws.
    setup_json = json.dumps({k: v for k, v in run.spec.to_dict().items() if k != "start_from"}, indent=1)  # no path
    setup.download_button("Run setup (JSON)", data=setup_json,
                          file_name="rnnviz-run-setup.json", mime="application/json", on_click="ignore",
                          key="live.setup", help="Load it with 'Load a setup' above to train this run again.")
    if not active and run.saved and Path(run.saved).is_file():
        saved = Path(run.saved).stat()
        checkpoint.download_button("Download checkpoint", data=_file_bytes(run.saved, saved.st_mtime_ns, saved.st_size),
                                   file_name=f"rnnviz-{run.spec.arch}-{run.spec.task}.safetensors",
                                   mime="application/octet-stream", on_click="ignore", key="live.download",
                                   help="Weights, configuration, history and probe traces; open it on the "
                                        "Checkpoints page.")


@functools.lru_cache(maxsize=4)
def _file_bytes(path: str, mtime_ns: int, size: int) -> bytes:
    """A finished run's checkpoint, read once per version of the file (not at every redraw of the controls)."""
    return Path(path).read_bytes()


def overlay_runs(run: RunState) -> dict[str, list[dict]]:
    """This session's runs on the same task (a race: RNN vs LSTM vs GRU on one seed), label -> history."""
    p = state.pool()
    with p.lock:
        return {r.label: list(r.history) for r in state.my_runs() if r.spec.task == run.spec.task}


def panel(run: RunState) -> None:
    """The run's progress and live charts, redrawn each second while it trains (and after, until the page next
    reruns: the panel then shows the finished run)."""
    st.fragment(_panel, run_every=POLL_SECONDS if run.status in ACTIVE else None)(run.id)


def _panel(run_id: str) -> None:
    p = state.pool()
    run = p.get(run_id)
    if run is None:
        st.warning("This run is no longer on the server; start a new one.")
        return
    overlay = st.toggle("Overlay my other runs on this task", key="train.overlay",
                        help="Train an RNN, an LSTM and a GRU on the same seed and race them.")
    widgets.heartbeat(run_id)
    _await_first_step(run)
    with p.lock:
        status, history, heat, message = run.status, list(run.history), list(run.grad_heat), run.message
        total = run.spec.steps
    _progress(run_id, status, history, total, message)
    _charts(run, history, heat, overlay)


def _await_first_step(run: RunState, patience: float = 2.5) -> None:
    """A run just started shows its first step the moment it arrives (~0.6 s after the click), not at the next
    poll: this session's script thread waits a little; the server and other sessions are not held up. Only while
    the worker starts: the page run that Train started must end soon. Under load, Pause and Stop clicked while
    that run still drew were dropped when another full page run (Train again) replaced it before it ended
    (seen in the websocket: the clicks were sent, their callbacks never ran; Streamlit 1.67); waiting on to the
    first row (tried twice: README, "Browser benchmark") widened that window enough to lose clicks."""
    end = time.monotonic() + patience
    while run.status == "starting" and not run.history and time.monotonic() < end:
        time.sleep(0.05)


def _buttons(status: str) -> tuple[bool, bool, bool]:
    """What controls() enables for a status: Pause, Resume, and Stop (its opposite: the download)."""
    return status in ("running", "starting"), status == "paused", status in ACTIVE


def _progress(run_id, status, history, total, message) -> None:
    step = history[-1]["step"] if history else 0
    rate = history[-1]["steps_per_sec"] if history else 0.0
    if status == "queued":
        pos = state.pool().queue_position(run_id)
        st.info(f"Waiting for a free worker: position {pos} in the queue. Other runs are using every core.")
    elif status == "diverged":
        st.error(DIVERGED.format(msg=message or "the loss became nan"))
    elif status == "failed":
        st.error(f"Training failed: {plain(message)}")
    elif status == "stopped" and message:
        st.info(f"This run was {plain(message)}.")
    said = progress_text(status, step, total, message if status == "diverged" else None)  # others' are above
    st.progress(min(1.0, step / max(total, 1)), text=said)
    m = st.columns(4)
    m[0].metric("Step", step)
    m[1].metric("Steps/s", f"{rate:.1f}")
    eta = (total - step) / rate if rate > 0 and status in ("running", "starting") else None
    m[2].metric("ETA", f"{eta:.0f} s" if eta is not None else "—")
    last_val = next((h for h in reversed(history) if h.get("val_loss") is not None), None)
    m[3].metric("Validation loss", f"{last_val['val_loss']:.4g}" if last_val else "—")


def _charts(run: RunState, history: list[dict], heat: list, overlay: bool) -> None:
    if not history:  # queued or starting: the curve builders refuse an empty history
        st.caption("The loss and gradient charts appear with the first training steps.")
        return
    loss, gradnorm, heatmap = _figures(run, history, heat, overlay)
    widgets.figure(*loss)
    left, right = widgets.side_by_side()  # stacked full width in presentation mode: titles would be cut off
    with left:
        widgets.figure(*gradnorm)
    with right:
        if heatmap:
            widgets.figure(*heatmap)
        else:
            st.caption("The map of ||dL/dh_t|| over training appears with the first probe.")


def _figures(run: RunState, history: list[dict], heat: list, overlay: bool) -> tuple:
    """The three live figures, rebuilt when the run has changed but no more often than the server can afford:
    building them costs ~0.3 s of the server's one Python core, and every watched run's panel polls each second."""
    cache = st.session_state.setdefault("live.figures", {})
    view, hit, now = (overlay, widgets.presenting()), cache.get(run.id), time.monotonic()
    if hit and hit["view"] == view and (hit["version"] == run.version or now - hit["at"] < hit["every"]):
        return hit["figures"]
    began = time.perf_counter()
    figures = _build(run, history, heat, overlay)
    every = max(POLL_SECONDS, _watched() * (time.perf_counter() - began) / CHART_SHARE)
    cache[run.id] = {"view": view, "version": run.version, "at": now, "every": every, "figures": figures}
    return figures


def _build(run: RunState, history: list[dict], heat: list, overlay: bool) -> tuple:
    """(figure, key, data, name) for widgets.figure: loss curves, gradient norm, and the dL/dh heat (or None)."""
    from rnnviz.plots.curves import grad_norm_figure, loss_curves
    from rnnviz.plots.gradients import grad_heat_figure

    theme, task = widgets.theme(), run.spec.task
    series = overlay_runs(run) if overlay else {run.label: history}
    frame = pd.DataFrame(history)
    clip = run.spec.clip or None
    loss = loss_curves(series, metric_name=_metric(run), theme=theme, baseline=run.spec.baseline())
    loss.layout.title.text += f" to step {history[-1]['step']:,}"  # rebuilt within the server's budget: it can
    return ((loss, "live.loss", frame, f"loss {task}"),  # lag the Step above by a second or more, and says so
            (grad_norm_figure(series, clip_norm=clip, theme=theme), "live.gradnorm", frame, f"gradient norm {task}"),
            (grad_heat_figure(heat, theme=theme), "live.heat", _heat_frame(heat), f"dL-dh heat {task}") if heat
            else None)


def _watched() -> int:
    """Runs whose panel polled in the last few seconds, across all sessions: they share the chart budget."""
    p, now = state.pool(), time.monotonic()
    with p.lock:
        return max(1, sum(1 for r in p.runs.values() if now - r.heartbeat < 3 * POLL_SECONDS))


def _metric(run: RunState) -> str:
    from rnnviz.ui.train_form import task

    return task(run.spec.task).info.metric


def _heat_frame(heat: list) -> pd.DataFrame:
    rows = [(s, t, v) for s, vals in heat for t, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["train_step", "time_step", "grad_norm"])
