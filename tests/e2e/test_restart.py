"""Issue #15: runs survive a server restart with their true status and leave no process behind, and a queued run
whose browser was closed is dropped before it starts. These tests start servers of their own (the shared one
must stay up): a server stopped with SIGTERM (as a service manager stops it) and one killed with SIGKILL (a
crash, an out-of-memory kill), each mid-run; a new server on the same runs folder then opens the run's link (after
SIGKILL the test reads the autosave that link would open, to save a third server start)."""
import os
import signal
import time
from pathlib import Path

import pytest
from harness import new_page, open_app, queue_position, run_id, start_server, step, stop_server, wait_for
from playwright.sync_api import expect

from rnnviz.checkpoints import load_checkpoint
from rnnviz.run import RunRecord

pytestmark = pytest.mark.e2e
LONG = "/train?task=parity&arch=lstm&hidden=16&steps=20000&seed={seed}"  # stopped by the test or by the kill
QUEUE_ABANDONED = 3.0  # seconds: the test servers drop a queued run this soon after its page stops polling
AUTOSAVE = 3.0  # rnnviz.jobs.worker.AUTOSAVE_SECONDS


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def group_processes(pgid: int) -> list[int]:
    """Live (not zombie) processes in a process group: the server started its own, and every process it made
    (the fork server and the training workers) belongs to it unless it left on purpose."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, pgrp, ...
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


def train(browser, server, seed: int):
    """A new browser session that starts a long run; returns its page and the run's id once it trains."""
    page = new_page(browser)
    open_app(page, server, LONG.format(seed=seed))
    button(page, "Train").click()
    rid = wait_for(lambda: run_id(page), 30, what="the run's id in the link")
    wait_for(lambda: step(page), 60, what="the run to train")
    return page, rid


def stop_mid_run(server, page, rid: str, sig: int) -> int:
    """Lets the run train past one more autosave, stops the server with `sig` and waits until every process it
    made has ended. Returns the step the page showed before the autosave that must survive."""
    saved = server.runs_dir / f"{rid}.safetensors"
    seen = wait_for(lambda: step(page), 30, what="the Step metric")
    shown_at = time.time()
    wait_for(lambda: saved.is_file() and saved.stat().st_mtime > shown_at + 0.1, 3 * AUTOSAVE,
             what="an autosave after the step the page showed")
    os.kill(server.proc.pid, sig)
    server.proc.wait(timeout=60)
    try:  # an orphaned worker would train on for nobody and rewrite its autosave
        wait_for(lambda: not group_processes(server.proc.pid), 30, what=f"the server's processes to end ({sig!r})")
    except TimeoutError:
        raise AssertionError(f"processes left behind after {sig!r}: {group_processes(server.proc.pid)}") from None
    close(page)
    return seen


def close(page) -> None:
    errors = page.js_errors
    page.context.close()
    assert not errors, f"the page threw in the browser (the app goes blank):\n{errors[0]}"


def no_traceback(server) -> None:
    log = server.log_text()
    assert "Traceback" not in log, f"the server logged a traceback:\n{log[-4000:]}"


def reopened(browser, server, rid: str):
    page = new_page(browser)
    open_app(page, server, f"/train?run={rid}")
    return page


def restored_step(page) -> int:
    """N in "This run was stopped at step N…", the sentence a restored run gives instead of a bare "ready"."""
    note = page.get_by_text("This run was stopped at step", exact=False)
    expect(note).to_be_visible(timeout=30_000)
    text = note.inner_text()
    assert "server" in text, f"the restored run does not say a server stop ended it: {text!r}"
    return int(text.split("stopped at step ")[1].split()[0].rstrip(":"))


def test_restarts_keep_runs_with_their_true_status_and_closed_pages_free_the_queue(browser, tmp_path):
    runs = tmp_path / "runs"
    env = {"RNNVIZ_QUEUE_ABANDONED_SECONDS": str(QUEUE_ABANDONED), "RNNVIZ_WORKERS": "1"}  # one run fills the pool
    first = start_server(runs, tmp_path / "first.log", env)
    pages = []
    try:
        owner, busy = train(browser, first, seed=1)
        late = new_page(browser)
        pages += [owner, late]
        open_app(late, first, "/train?task=parity&arch=gru&hidden=8&steps=50&seed=3")
        button(late, "Train").click()
        wait_for(lambda: queue_position(late), 30, what="the second run to queue")
        queued = run_id(late)
        late.context.close()  # the student closes the tab while the run waits for a worker
        time.sleep(QUEUE_ABANDONED + 1.5)
        button(owner, "Stop training").click()  # the worker is free: the closed page's run must not take it
        expect(button(owner, "Download checkpoint")).to_be_visible(timeout=60_000)
        watcher = reopened(browser, first, queued)
        pages.append(watcher)
        expect(watcher.get_by_text("its page was closed before a worker was free", exact=False)).to_be_visible(
            timeout=30_000)
        assert not (runs / f"{queued}.safetensors").exists(), "the closed page's run trained (it has an autosave)"
        close(watcher)

        ended = step(owner)
        button(owner, "Train").click()  # a new run, to be cut short by the server's stop
        rid = wait_for(lambda: (r := run_id(owner)) != busy and r, 30, what="the new run's id in the link")
        expect(button(owner, "Pause")).to_be_enabled(timeout=60_000)
        wait_for(lambda: (s := step(owner)) and s != ended, 30, what="the new run's Step")
        seen = stop_mid_run(first, owner, rid, signal.SIGTERM)
    finally:
        for p in pages:
            if not p.is_closed():
                p.context.close()
        stop_server(first)

    second = start_server(runs, tmp_path / "second.log", env)
    try:
        back = reopened(browser, second, rid)
        at = restored_step(back)
        assert at >= seen, f"after SIGTERM the run came back at step {at}, before the step {seen} shown earlier"
        held = wait_for(lambda: step(back), 30, what="the restored run's Step")  # drawn after the sentence, at times
        time.sleep(1.5)
        assert step(back) == held and restored_step(back) == at, "the restored run trains again"
        for name in ("Pause", "Resume", "Stop training"):  # whoever opens it now holds it, as a finished run
            if button(back, name).count():
                expect(button(back, name)).to_be_disabled()
        open_app(back, second, LONG.format(seed=2))  # the same tab trains a new run, to be cut short by a kill
        button(back, "Train").click()
        rid2 = wait_for(lambda: (r := run_id(back)) != rid and r, 30, what="the new run's id in the link")
        expect(button(back, "Pause")).to_be_enabled(timeout=60_000)
        wait_for(lambda: (s := step(back)) and s != at, 30, what="the new run's Step")
        seen2 = stop_mid_run(second, back, rid2, signal.SIGKILL)
    finally:
        stop_server(second)
    # the page that shows a restored run was checked above; here the file it would read
    record = RunRecord.from_checkpoint(load_checkpoint(runs / f"{rid2}.safetensors"))
    assert record.status == "stopped" and record.step >= seen2, (record.status, record.step, seen2)
    assert "server" in (record.message or ""), record.message
    for server in (first, second):
        no_traceback(server)
