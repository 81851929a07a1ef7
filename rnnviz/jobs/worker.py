"""The training worker: a child process that runs one Trainer and posts what the dashboard draws.

Not streamlit (a worker never touches the UI) and not the pool (pool.py starts and watches workers).
Training holds the GIL, so each run gets its own process: the server keeps answering while every core
trains. Messages on `outbox` are plain picklable tuples; tensors travel as numpy arrays.
"""
from __future__ import annotations

import os
import time
import traceback

import numpy as np

RUN, PAUSE, STOP = 0, 1, 2  # values of the shared control flag, written by the server
FLUSH_SECONDS = 0.1  # batch history rows: one message per ~100 ms, not per step
AUTOSAVE_SECONDS = 3.0  # a server stopped mid-run loses at most this much training (and a new run is saved at once)


def pack_trace(trace) -> dict:
    return {"arch": trace.arch, "tensors": {k: v.numpy() for k, v in trace.tensors.items()},
            "dims": trace.dims, "meta": trace.meta}


def unpack_trace(d: dict):
    import torch

    from rnnviz.trace import Trace

    return Trace(d["arch"], {k: torch.from_numpy(np.asarray(v)) for k, v in d["tensors"].items()}, d["dims"], d["meta"])


def pack_state(model) -> dict:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def run_worker(spec: dict, outbox, control, save_path: str | None, threads: int = 1,
               server: int | None = None) -> None:
    """Process entry point. spec: a RunSpec as a plain dict (RunSpec.to_dict); server: the app server's pid, so
    that a worker whose server has died stops itself."""
    import torch

    torch.set_num_threads(threads)
    try:
        trainer = _make_trainer(spec)
    except Exception as e:  # a bad spec reaches the page as one sentence
        outbox.put(("failed", str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"))
        return
    outbox.put(("running", None))
    try:
        _loop(trainer, outbox, control, save_path, server)
    except Exception:
        outbox.put(("failed", "training stopped on an internal error:\n" + traceback.format_exc(limit=3)))


def _make_trainer(spec: dict):
    from rnnviz.run import RunSpec
    from rnnviz.training import Trainer

    return Trainer.from_spec(RunSpec.from_dict(spec), device="cpu")


def _loop(trainer, outbox, control, save_path, server: int | None = None) -> None:
    rows, last_flush, last_save, paused = [], time.monotonic(), float("-inf"), False
    trainer.status = "running"  # what an autosave records; a restored record then knows it was cut short
    while not trainer.done:
        flag = control.value
        if not _alive(server):  # nobody will read what we post; save honestly and end (a new server
            trainer.stop()         # loads the autosave, it never trains the run twice)
            outbox.cancel_join_thread()
            trainer.record.message = f"stopped at step {trainer.step_count}: the server it trained for stopped"
            break
        if flag == STOP:
            trainer.stop()
            break
        if flag == PAUSE:
            trainer.status = "paused"
            if not paused:
                outbox.put(("rows", rows))
                rows, paused = [], True
                outbox.put(("paused", None))
            time.sleep(0.05)
            continue
        if paused:
            paused, trainer.status = False, "running"
            outbox.put(("running", None))
        report = trainer.step()
        rows.append(trainer.history[-1])
        if report.trace is not None:
            outbox.put(("trace", {"trace": pack_trace(report.trace), "state": pack_state(trainer.model),
                                  "grad_heat": trainer.grad_heat[-1]}))
        now = time.monotonic()
        if now - last_flush > FLUSH_SECONDS:
            outbox.put(("rows", rows))
            rows, last_flush = [], now
        if save_path and now - last_save > AUTOSAVE_SECONDS:
            _save(trainer, save_path)
            last_save = now
    outbox.put(("rows", rows))
    if trainer.status == "stopped" or trainer.diverged:  # the final weights, for the views
        outbox.put(("trace", {"trace": pack_trace(trainer.probe()), "state": pack_state(trainer.model),
                              "grad_heat": trainer.grad_heat[-1]}))
    if save_path:
        _save(trainer, save_path)
    outbox.put(("done", {"status": trainer.status, "diverged": trainer.diverged, "saved": save_path}))


def _alive(pid: int | None) -> bool:
    """Whether the app's server process still runs (signal 0 checks without sending anything)."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _save(trainer, path: str) -> None:
    try:
        trainer.save(path)  # save_checkpoint writes atomically: a reader never sees half a file
    except ValueError as e:  # e.g. weights that could not be saved; training goes on, the page is told
        print(f"rnnviz worker: autosave skipped: {e}")
