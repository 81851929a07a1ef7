"""The worker pool: starts training processes under a machine-wide cap, queues the rest, collects what
they post into RunStates, stops workers whose page has gone, and keeps autosaves within a disk budget.

Not streamlit: one pool per server process (rnnviz/ui/state.py holds it in st.cache_resource, like a
connection pool); pages read RunStates under the pool's lock and never talk to a process themselves.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from rnnviz.jobs.worker import PAUSE, RUN, STOP, run_worker, unpack_trace
from rnnviz.run import ACTIVE, RunRecord, RunSpec


def _seconds(name: str, default: float) -> float:
    """A duration the environment may set (a positive number of seconds), else `default`."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


HEARTBEAT_TIMEOUT = 90.0  # seconds without a poll from its owner before a worker is stopped: survives a reconnect
# a queued run whose page has not polled for this long is dropped before it starts (RNNVIZ_QUEUE_ABANDONED_SECONDS:
# the browser tests shorten it to see a closed page's run dropped)
QUEUE_ABANDONED = _seconds("RNNVIZ_QUEUE_ABANDONED_SECONDS", 20.0)
MAX_RUNS_IN_MEMORY = 64  # finished runs beyond this are dropped from memory (their autosave stays on disk)
MAX_TRACES_PER_RUN = 12  # probe snapshots a run keeps in server memory (thinned evenly, newest kept)
RUNS_DIR_BYTES = 512 * 2**20  # autosaves on disk; the oldest are pruned beyond this


@dataclass
class RunState:
    """A run as the server holds it: its resolved RunSpec and the RunRecord the worker streams into, plus
    what only the server knows (owner, process, autosave path)."""

    id: str
    owner: str  # the browser that started it (rnnviz.ui.state.session_token); only it may pause, resume or stop
    spec: RunSpec  # resolved
    record: RunRecord = field(default_factory=lambda: RunRecord("queued", max_traces=MAX_TRACES_PER_RUN))
    state_dict: dict | None = None  # the latest weights (numpy), for the views' model replica
    saved: str | None = None  # autosave path
    created: float = field(default_factory=time.time)
    heartbeat: float = field(default_factory=time.monotonic)  # the owner's page polling it
    version: int = 0  # bumps on every change, so pages can skip redrawing what has not changed
    proc: object = None
    outbox: object = None
    control: object = None

    # the record's parts, read by pages under the pool's lock
    history = property(lambda self: self.record.history)
    traces = property(lambda self: self.record.traces)
    grad_heat = property(lambda self: self.record.grad_heat)
    step = property(lambda self: self.record.step)
    latest_trace = property(lambda self: self.record.latest_trace)
    status = property(lambda self: self.record.status, lambda self, v: setattr(self.record, "status", v))
    message = property(lambda self: self.record.message, lambda self, v: setattr(self.record, "message", v))

    @property
    def label(self) -> str:
        return self.spec.label or self.spec.default_label()


class WorkerPool:
    def __init__(self, max_workers: int | None = None, runs_dir: str | Path | None = None,
                 threads_per_worker: int = 1):
        self.max_workers = max_workers or max(1, os.cpu_count() or 1)
        self.threads = threads_per_worker
        self.runs_dir = Path(runs_dir or os.environ.get("RNNVIZ_RUNS_DIR", ".rnnviz-runs"))
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.runs: dict[str, RunState] = {}
        self.waiting: deque[str] = deque()
        self.ctx = mp.get_context("forkserver")
        # torch._dynamo: torch.optim imports it on a first optimizer (~1.2 s); preloaded, each run starts at once
        self.ctx.set_forkserver_preload(["torch", "torch._dynamo", "pandas", "rnnviz.training", "rnnviz.tasks",
                                         "rnnviz.checkpoints"])
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._collect_forever, name="rnnviz-collector", daemon=True)
        self._thread.start()

    # -- what pages call ----------------------------------------------------------------------------------
    def submit(self, owner: str, spec: RunSpec) -> str:
        """Queues a run of `spec` (resolved here: ValueError, one sentence, if it cannot train)."""
        spec = spec.resolved()
        run_id = secrets.token_urlsafe(12)  # unguessable: the id in a URL is the key to the run
        with self.lock:
            self.runs[run_id] = RunState(run_id, owner, spec)
            self.waiting.append(run_id)
            self._start_waiting()
        return run_id

    def get(self, run_id: str | None) -> RunState | None:
        with self.lock:
            return self.runs.get(run_id) if run_id else None

    def owned_by(self, owner: str) -> list[RunState]:
        with self.lock:
            return [r for r in self.runs.values() if r.owner == owner]

    def claim(self, run_id: str, session: str) -> bool:
        """Whether `session` may pause, resume and stop the run: only its owner, while it trains. Someone who opened
        its link watches it and can copy its settings; once the run has ended, whoever opens it holds it (there is
        nothing left to control, and its downloads are everyone's)."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is None:
                return False
            if run.owner != session and run.status not in ACTIVE:
                run.owner = session
            return run.owner == session

    def add_finished(self, run: RunState) -> None:
        with self.lock:
            self.runs[run.id] = run

    def heartbeat(self, run_id: str, session: str | None = None) -> None:
        """The owner's page is watching the run, so its worker keeps training (None: code that owns the pool).
        Watchers' polls do not count: a run whose owner has left stops, rather than hold a worker that nobody
        may stop."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is not None and (session is None or session == run.owner):
                run.heartbeat = time.monotonic()

    def queue_position(self, run_id: str) -> int | None:
        with self.lock:
            return list(self.waiting).index(run_id) + 1 if run_id in self.waiting else None

    def pause(self, run_id: str, session: str | None = None) -> None:
        """Pause, resume and stop act for the run's owner only when a session is given (the app always gives
        one; None is for code that owns the pool, such as tests and the CLI)."""
        if self._may(run_id, session):
            self._signal(run_id, PAUSE)

    def resume(self, run_id: str, session: str | None = None) -> None:
        if self._may(run_id, session):
            self._signal(run_id, RUN)

    def stop(self, run_id: str, session: str | None = None) -> None:
        if not self._may(run_id, session):
            return
        with self.lock:
            run = self.runs.get(run_id)
            if run and run.status == "queued":
                self.waiting.remove(run_id)
                run.status, run.version = "stopped", run.version + 1
                return
        self._signal(run_id, STOP)

    def active_count(self) -> int:
        with self.lock:
            return sum(1 for r in self.runs.values() if r.status in ("starting", "running", "paused"))

    def shutdown(self) -> None:
        self._closed.set()
        with self.lock:
            for run in self.runs.values():
                if run.control is not None:
                    run.control.value = STOP
            procs = [r.proc for r in self.runs.values() if r.proc is not None]
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        self._thread.join(timeout=2)

    # -- the collector thread -----------------------------------------------------------------------------
    def _may(self, run_id: str, session: str | None) -> bool:
        with self.lock:
            run = self.runs.get(run_id)
            return run is not None and (session is None or run.owner == session)

    def _signal(self, run_id: str, flag: int) -> None:
        """Pause, Resume and Stop apply in the order they arrive, except that Stop is final: a Pause or Resume
        landing after it (two quick clicks merged into one page run) cannot undo it."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is not None and run.control is not None and run.status in ACTIVE and run.control.value != STOP:
                run.control.value = flag

    def _start_waiting(self) -> None:
        while self.waiting and self.active_count() < self.max_workers:
            run = self.runs[self.waiting.popleft()]
            if time.monotonic() - run.heartbeat > QUEUE_ABANDONED:  # its page is gone: do not train for nobody
                run.status, run.message = "stopped", "its page was closed before a worker was free"
                run.version += 1
                continue
            run.outbox, run.control = self.ctx.Queue(), self.ctx.Value("i", RUN)
            run.saved = str(self.runs_dir / f"{run.id}.safetensors")
            run.proc = self.ctx.Process(target=run_worker, args=(run.spec.to_dict(), run.outbox, run.control,
                                                                 run.saved, self.threads, os.getpid()), daemon=True)
            run.status, run.heartbeat = "starting", time.monotonic()
            run.proc.start()

    def _collect_forever(self) -> None:
        try:  # start the fork server (~3 s of imports) now, while the first visitor reads the page, not on Train
            from multiprocessing import forkserver
            forkserver.ensure_running()
        except Exception as e:  # the first run then starts it, a few seconds slower
            print(f"rnnviz collector: could not start the fork server early: {type(e).__name__}: {e}")
        while not self._closed.wait(0.05):
            try:
                self._collect_once()
            except Exception as e:  # the collector must outlive any one bad message
                print(f"rnnviz collector: {type(e).__name__}: {e}")

    def _collect_once(self) -> None:
        with self.lock:
            live = [r for r in self.runs.values() if r.proc is not None and r.status in ACTIVE]
        for run in live:
            self._drain(run)
            with self.lock:
                gone = time.monotonic() - run.heartbeat > HEARTBEAT_TIMEOUT
                if gone and run.control is not None and run.control.value != STOP:  # its owner's page is gone
                    run.control.value = STOP
                    run.message = f"stopped: the browser that started it left ({HEARTBEAT_TIMEOUT:.0f} s unseen)"
                if run.status in ACTIVE and not run.proc.is_alive() and run.outbox.empty():
                    run.status, run.message = "failed", run.message or "the training process ended unexpectedly"
                    run.version += 1
        with self.lock:
            self._start_waiting()
            self._forget_old()

    def _drain(self, run: RunState) -> None:
        for _ in range(200):
            try:
                kind, payload = run.outbox.get_nowait()
            except Exception:  # queue.Empty, or a worker that died mid-message
                return
            with self.lock:
                self._apply(run, kind, payload)
                run.version += 1

    def _apply(self, run: RunState, kind: str, payload) -> None:
        if kind == "rows":
            run.history.extend(payload)
        elif kind == "trace":
            run.record.add_trace(unpack_trace(payload["trace"]), payload["grad_heat"])
            run.state_dict = payload["state"]
        elif kind in ("running", "paused"):
            run.status = kind
        elif kind == "failed":
            run.status, run.message = "failed", payload
        elif kind == "done":
            run.status, run.message = payload["status"], payload["diverged"] or run.message  # or why it was stopped
            run.proc.join(timeout=1)
            prune_runs_dir(self.runs_dir, keep={r.saved for r in self.runs.values() if r.status in ACTIVE})

    def _forget_old(self) -> None:
        done = [r for r in self.runs.values() if r.status not in ACTIVE]
        for run in sorted(done, key=lambda r: r.created)[:max(0, len(done) - MAX_RUNS_IN_MEMORY)]:
            del self.runs[run.id]


def prune_runs_dir(runs_dir: Path, keep: set, budget: int = RUNS_DIR_BYTES) -> list[Path]:
    """Deletes the oldest autosaves until the folder fits `budget` bytes; never one in `keep`."""
    files = sorted(runs_dir.glob("*.safetensors"), key=lambda p: p.stat().st_mtime)
    total, removed = sum(p.stat().st_size for p in files), []
    for p in files:
        if total <= budget:
            break
        if str(p) in keep:
            continue
        total -= p.stat().st_size
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed
