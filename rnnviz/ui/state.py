"""What a browser session remembers (its runs, uploads, current selection, presentation mode), the one
worker pool per server, and how a selection becomes the Subject every view draws. Not widgets, not pages.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import time
from pathlib import Path

import streamlit as st
import torch

from rnnviz.build import build_model
from rnnviz.jobs import RunState, WorkerPool
from rnnviz.run import RunRecord, spec_of
from rnnviz.subject import Subject, from_checkpoint

ROOT = Path(__file__).resolve().parents[2]
DEMOS = {  # name -> (file, label): made by the train commands in the README, shown on a cold start
    "char-lstm": ("demos/char_lstm_code.safetensors", "Demo: character LSTM on generated code"),
    "gru-adding": ("demos/gru_adding.safetensors", "Demo: GRU on the adding problem"),
    "rnn-adding": ("demos/rnn_adding.safetensors", "Demo: tanh RNN on the adding problem"),
    "attention": ("demos/gru_reverse_attention.safetensors", "Demo: GRU encoder-decoder with attention, reversing"),
}
DEFAULT_DEMO = "char-lstm"
K_SESSION, K_RUNS, K_UPLOADS, K_CURRENT, K_REPLICAS = ("rnnviz.session", "rnnviz.runs", "rnnviz.uploads",
                                                       "rnnviz.current", "rnnviz.replicas")
RUN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # what WorkerPool.submit makes (16 characters), with room to spare
DOUBLE_CLICK_SECONDS = 1.0
XSRF_COOKIE = "_streamlit_xsrf"  # set by Streamlit on every page load while XSRF protection is on (its default)
K_PICKS = "rnnviz.picks"  # counts picks made outside the sidebar selector; part of the selector's key


@st.cache_resource
def pool() -> WorkerPool:
    """One pool per server process: a shared resource like a connection pool (its state is behind a lock)."""
    torch.set_num_threads(1)  # the server's own torch work stays off the cores the workers train on
    return WorkerPool(max_workers=int(os.environ.get("RNNVIZ_WORKERS", 0)) or None)


@st.cache_resource
def demo_subject(name: str) -> Subject:
    """A bundled demo, loaded once and shared read-only (views copy before changing anything)."""
    from rnnviz.checkpoints import load_checkpoint

    path, label = DEMOS[name]
    return from_checkpoint(load_checkpoint(ROOT / path), label, source="demo")


def session_token() -> str:
    """Who owns the runs this session starts: this browser (the same across a refresh, a second tab and a link
    reopened in it, but never another browser's), else, without Streamlit's XSRF cookie, this session alone."""
    if K_SESSION not in st.session_state:
        st.session_state[K_SESSION] = browser_id(st.context.cookies.get(XSRF_COOKIE)) or secrets.token_hex(8)
    return st.session_state[K_SESSION]


def browser_id(cookie: str | None) -> str | None:
    """A name for the browser that sent Streamlit's XSRF cookie ("2|mask|masked token|time", as tornado writes it).
    The mask changes each time the page loads; the token, unmasked, stays the browser's own until the browser
    is closed. Only a hash of it is kept. None for a cookie of another form."""
    parts = (cookie or "").split("|")
    if len(parts) != 4 or parts[0] != "2":
        return None
    try:
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None
    if len(mask) != 4 or not masked:
        return None
    token = bytes(b ^ mask[i % 4] for i, b in enumerate(masked))
    return "browser-" + hashlib.sha256(token).hexdigest()[:24]


def my_runs() -> list[RunState]:
    p, ids = pool(), st.session_state.setdefault(K_RUNS, [])
    return [r for r in (p.get(i) for i in ids) if r is not None]


def add_run(run_id: str, select_it: bool = True) -> None:
    """Records a run as this session's (and makes it the current subject unless select_it is False)."""
    ids = st.session_state.setdefault(K_RUNS, [])
    if run_id not in ids:
        ids.append(run_id)
    if select_it:
        select(f"run:{run_id}")


def start_run(spec, select_it: bool = True) -> str:
    """Submits `spec` (a RunSpec) as this session's next run; ValueError (one sentence) if it cannot train. A run
    whose label this session already has is numbered ("… · run 2"), so runs with the same settings can be told
    apart. The same settings within a second of the last start are a double click: the run already started is
    returned, not a twin."""
    spec = spec.resolved()
    mine = my_runs()
    last = max(mine, key=lambda r: r.created, default=None)
    if last is not None and time.time() - last.created < DOUBLE_CLICK_SECONDS and \
            dataclasses.replace(last.spec, label=spec.label) == spec:
        return last.id
    same = sum(r.label == spec.label or r.label.startswith(f"{spec.label} · run ") for r in mine)
    if same:
        spec = dataclasses.replace(spec, label=f"{spec.label} · run {same + 1}")
    run_id = pool().submit(session_token(), spec)
    add_run(run_id, select_it)
    return run_id


def uploads() -> dict[str, Subject]:
    return st.session_state.setdefault(K_UPLOADS, {})


def select(key: str, by_selector: bool = False) -> None:
    """Makes `key` ("run:<id>", "demo:<name>" or "upload:<name>") the current subject of every view. A pick made
    anywhere but the sidebar's selector (Train, an upload, a link) renews the selector's identity so that it shows
    the pick: a keyed selectbox keeps its old value, and a browser's stale copy of it would undo the pick."""
    if not by_selector and st.session_state.get(K_CURRENT) != key:
        st.session_state[K_PICKS] = st.session_state.get(K_PICKS, 0) + 1
    st.session_state[K_CURRENT] = key
    if key.startswith("run:"):
        st.query_params["run"] = key[4:]
    elif "run" in st.query_params:
        del st.query_params["run"]


def current_key() -> str:
    """The current subject's key. A run's id is kept in the link on every page: the sidebar's navigation drops
    the query string, and a refresh without ?run= would lose the run."""
    restore_from_url()
    key = st.session_state.get(K_CURRENT, f"demo:{DEFAULT_DEMO}")
    if key.startswith("run:") and st.query_params.get("run") != key[4:]:
        st.query_params["run"] = key[4:]
    return key


def restore_from_url() -> None:
    """?run=<id> in the link: a refresh, a reconnect or a second tab takes the run back (from memory or disk)."""
    run_id = st.query_params.get("run")
    if not run_id or f"run:{run_id}" == st.session_state.get(K_CURRENT):
        return
    p = pool()
    if not RUN_ID.fullmatch(run_id):  # before any lookup: a crafted id never reaches the file system
        st.session_state["rnnviz.note"] = "That link's run id is not one rnnviz made (it is damaged); showing the demo."
        del st.query_params["run"]
        return
    run = p.get(run_id)
    if run is None:
        run = _run_from_disk(p, run_id)
    if run is None:
        st.session_state["rnnviz.note"] = "That run's link has expired (the run was pruned); showing the demo."
        del st.query_params["run"]
        return
    p.claim(run_id, session_token())  # control if this browser started it or it has ended; else it watches
    add_run(run_id)


def _run_from_disk(p: WorkerPool, run_id: str) -> RunState | None:
    from rnnviz.checkpoints import load_checkpoint

    path = p.runs_dir / f"{run_id}.safetensors"
    if not RUN_ID.fullmatch(run_id) or not path.is_file():
        return None
    try:
        loaded = load_checkpoint(path)
    except ValueError:
        return None
    spec = spec_of(loaded)
    if spec is None:
        return None
    run = RunState(run_id, session_token(), spec, RunRecord.from_checkpoint(loaded), saved=str(path))
    run.state_dict = {k: v.numpy() for k, v in loaded.model.state_dict().items()}
    p.add_finished(run)
    return run


def subject_for(key: str) -> Subject | None:
    kind, _, name = key.partition(":")
    if kind == "demo" and name in DEMOS:
        return demo_subject(name)
    if kind == "upload":
        return uploads().get(name)
    if kind == "run":
        run = pool().get(name)
        return run_subject(run) if run is not None else None
    return None


def current_subject() -> Subject:
    """The subject every view draws: the current selection, or the default demo on a cold start."""
    return subject_for(current_key()) or demo_subject(DEFAULT_DEMO)


def run_subject(run: RunState) -> Subject | None:
    """A live run as a Subject: a CPU replica of its latest weights (rebuilt when a new probe arrives)."""
    p = pool()
    with p.lock:
        state, n = run.state_dict, len(run.grad_heat)
        record = dataclasses.replace(run.record, history=list(run.history), traces=list(run.traces),
                                     grad_heat=list(run.grad_heat))  # a copy: the collector keeps writing
    if state is None:
        return None
    cache = st.session_state.setdefault(K_REPLICAS, {})
    hit = cache.get(run.id)
    if hit is None or hit[0] != n:
        task, model_cfg, train = run.spec.build()
        model = build_model(model_cfg, device="cpu")
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        subject = Subject(run.label, model.eval(), task, task.input_vocab, task.output_vocab, record,
                          dataclasses.asdict(train), "run", spec=run.spec)
        cache[run.id] = hit = (n, subject)
    subject = hit[1]
    subject.record = record
    return subject


def options() -> dict[str, str]:
    """Selector entries, key -> label: this session's runs, its uploads, then the demos. A run's label has no
    status: the sidebar is drawn only when the page reruns, so a status would go stale (the sidebar's polling
    training-status line says how far each run is)."""
    out = {f"run:{r.id}": r.label for r in my_runs()}
    out.update({f"upload:{n}": f"Upload: {n}" for n in uploads()})
    out.update({f"demo:{n}": label for n, (path, label) in DEMOS.items() if (ROOT / path).is_file()})
    return out
