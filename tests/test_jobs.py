"""The worker pool: processes train under a cap, report back, pause, resume, stop, queue, time out, prune."""
import dataclasses
import time

import pytest

from rnnviz.jobs import pool as jobs
from rnnviz.jobs import WorkerPool, prune_runs_dir
from rnnviz.run import RunSpec


def tiny_spec(steps=400, **knobs):
    return RunSpec(**{"task": "parity", "seq_len": 6, "arch": "gru", "hidden": 8, "steps": steps, "batch": 8,
                      "probe_every": 20, "eval_every": 10, "eval_batch": 16, **knobs})


def wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def pool(tmp_path):
    p = WorkerPool(max_workers=1, runs_dir=tmp_path)
    yield p
    p.shutdown()


def test_run_reports_steps_traces_and_saves(pool):
    run_id = pool.submit("me", tiny_spec(steps=60))
    run = pool.get(run_id)
    assert wait_for(lambda: run.status == "finished"), run.status
    assert run.step == 60 and [h["step"] for h in run.history] == list(range(1, 61))
    assert run.traces and run.state_dict and run.grad_heat
    assert run.saved and open(run.saved, "rb").read(8)  # the autosave exists
    assert pool.owned_by("me") == [run] and pool.owned_by("someone else") == []


def test_pause_resume_stop(pool):
    run = pool.get(pool.submit("me", tiny_spec(steps=100_000)))
    assert wait_for(lambda: run.step > 5)
    pool.pause(run.id)
    assert wait_for(lambda: run.status == "paused")
    time.sleep(0.3)
    held = run.step
    time.sleep(0.5)
    assert run.step == held  # paused means no steps
    pool.resume(run.id)
    assert wait_for(lambda: run.step > held + 5)
    pool.stop(run.id)
    assert wait_for(lambda: run.status == "stopped")
    assert wait_for(lambda: not run.proc.is_alive(), timeout=30)


def test_cap_queues_the_rest(pool):
    first = pool.get(pool.submit("a", tiny_spec(steps=100_000)))
    second = pool.get(pool.submit("b", tiny_spec(steps=30)))
    assert wait_for(lambda: first.status == "running")
    assert second.status == "queued" and pool.queue_position(second.id) == 1
    pool.stop(first.id)
    assert wait_for(lambda: second.status == "finished")
    assert pool.queue_position(second.id) is None


def test_abandoned_worker_stops(pool, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT_TIMEOUT", 2.0)
    run = pool.get(pool.submit("me", tiny_spec(steps=100_000)))
    assert wait_for(lambda: run.status == "stopped", timeout=60)  # nobody polled: it stopped by itself
    assert wait_for(lambda: not run.proc.is_alive(), timeout=30), "the worker said stopped but kept running"
    assert run.step < 100_000  # (its last message comes just before it exits: on a busy machine, a moment before)


def test_bad_spec_is_refused_with_a_sentence_before_it_queues(pool):
    with pytest.raises(ValueError, match="learning rate -1.0"):
        pool.submit("me", tiny_spec(lr=-1.0))
    assert not pool.runs


def test_a_spec_that_fails_in_the_worker_reaches_the_page(pool):
    broken = jobs.RunState("x", "me", dataclasses.replace(tiny_spec(), task="no_such_task"))
    with pool.lock:
        pool.runs["x"] = broken
        pool.waiting.append("x")
        pool._start_waiting()
    assert wait_for(lambda: broken.status == "failed")
    assert "no_such_task" in broken.message


def test_divergence_reaches_the_page(pool):
    spec = tiny_spec(steps=2000, lr=10.0, optimizer="sgd", init="spectral", radius=3.0, arch="rnn_relu")
    run = pool.get(pool.submit("me", spec))
    assert wait_for(lambda: run.status not in jobs.ACTIVE)
    assert run.status == "diverged" and "step" in run.message


def test_prune_keeps_the_budget_and_active_runs(tmp_path):
    files = []
    for i in range(5):
        f = tmp_path / f"r{i}.safetensors"
        f.write_bytes(b"x" * 100)
        files.append(f)
        time.sleep(0.01)
    removed = prune_runs_dir(tmp_path, keep={str(files[0])}, budget=250)
    assert files[0].exists() and files[4].exists()  # kept: the active one, and the newest that fit
    assert removed == files[1:4]
    assert sum(f.stat().st_size for f in tmp_path.glob("*.safetensors")) <= 250


def test_stop_is_final_whatever_lands_after_it(pool):
    """Issue #15: Pause, then Stop, then a late Resume (quick clicks merged): the run stops and stays stopped."""
    for late in (pool.resume, pool.pause):
        run = pool.get(pool.submit("me", tiny_spec(steps=100_000)))
        assert wait_for(lambda: run.step > 2)
        pool.pause(run.id)
        pool.stop(run.id)
        late(run.id)
        assert wait_for(lambda: run.status == "stopped"), run.status
        assert wait_for(lambda: not run.proc.is_alive(), timeout=30)


def test_a_queued_run_whose_page_is_gone_never_starts(pool, monkeypatch):
    monkeypatch.setattr(jobs, "QUEUE_ABANDONED", 1.0)
    first = pool.get(pool.submit("a", tiny_spec(steps=100_000)))
    gone = pool.get(pool.submit("b", tiny_spec(steps=30)))
    assert wait_for(lambda: first.status == "running")
    time.sleep(1.5)  # nobody polls "b" meanwhile: its browser was closed
    pool.heartbeat(first.id)
    pool.stop(first.id)
    assert wait_for(lambda: gone.status == "stopped"), gone.status
    assert gone.proc is None and "closed" in gone.message


def test_only_the_owner_controls_a_run_and_watchers_do_not_keep_it_alive(pool, monkeypatch):
    """Issue #15: a run's link, on the projector, gave control to whoever opened it; now only the browser that
    started it controls it (a refresh keeps the same owner name: rnnviz.ui.state.session_token), and a run whose
    owner has left stops even while others watch, instead of holding a worker nobody may stop."""
    run = pool.get(pool.submit("owner", tiny_spec(steps=100_000)))
    assert wait_for(lambda: run.step > 2)
    assert not pool.claim(run.id, "student") and pool.claim(run.id, "owner")
    pool.stop(run.id, "student")
    pool.pause(run.id, "student")
    time.sleep(0.5)
    assert run.status == "running" and run.control.value == jobs.RUN
    monkeypatch.setattr(jobs, "HEARTBEAT_TIMEOUT", 1.0)
    end = time.monotonic() + 30
    while run.status != "stopped" and time.monotonic() < end:  # the class watches; the owner's page is gone
        pool.heartbeat(run.id, "student")
        assert not pool.claim(run.id, "student") or run.status == "stopped", "a watcher took control"
        time.sleep(0.1)
    assert run.status == "stopped" and "the browser that started it left" in run.message
    assert pool.claim(run.id, "student")  # an ended run: nothing to control, and whoever opens it holds it
