"""The Train journey in a real browser: train, watch Step and the loss chart move, pause, resume, pause and stop
0.2 s later (the Stop must win), and download the checkpoint as a safetensors file."""
import json
import re
import struct
import time

import pytest
from harness import chart_points, open_app, run_id, screenshot, script_state, showing, step, wait_for
from playwright.sync_api import expect

from rnnviz.ui.state import DOUBLE_CLICK_SECONDS

pytestmark = pytest.mark.e2e
RUNS = 15  # the Pause -> Stop tries (each a run of its own)
QUICK = "/train?task=parity&arch=gru&hidden=16&steps=20000"  # seconds per hundred steps; stopped by the test


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def last_step_drawn(page) -> float:
    """The last training step on the loss chart's first line (its x values are steps)."""
    traces = chart_points(page, "live.loss") or [[0, 0]]
    return traces[0][1] or 0


def steps_after(page, seconds: float) -> tuple[int, int]:
    first = step(page) or 0
    time.sleep(seconds)
    return first, step(page) or 0


def test_train_pause_resume_stop_download(page, server, tmp_path):
    open_app(page, server, QUICK)
    button(page, "Train").click()

    first = wait_for(lambda: step(page), 60, what="the Step metric to pass 0")
    loss = wait_for(lambda: chart_points(page, "live.loss"), 30, what="the loss chart")
    wait_for(lambda: (step(page) or 0) > first, 30, what="Step to keep rising")
    wait_for(lambda: last_step_drawn(page) > loss[0][1], 30, what="the loss chart to redraw with later steps")
    assert showing(page).startswith("gru h16 on parity (seed 0)"), showing(page)  # the sidebar follows the run
    screenshot(page, "train-running")

    button(page, "Pause").click()
    expect(button(page, "Resume")).to_be_enabled(timeout=30_000)
    expect(page.get_by_text("paused · step", exact=False)).to_be_visible(timeout=30_000)
    held, later = steps_after(page, 2.5)  # the panel redraws every second
    assert held == later > 0, f"Step moved while paused: {held} -> {later}"

    button(page, "Resume").click()
    wait_for(lambda: (step(page) or 0) > held, 30, what="Step to rise after Resume")

    button(page, "Pause").click()  # issue #15: a Stop 0.2 s after a Pause was lost in 15 of 39 tries (the pool's
    page.wait_for_timeout(200)     # own test checks that Stop is final whatever lands after it)
    button(page, "Stop training").click()
    download = button(page, "Download checkpoint")
    expect(download).to_be_visible(timeout=60_000)
    expect(page.get_by_text("stopped · step", exact=False)).to_be_visible(timeout=30_000)  # the panel has caught up
    # the progress bar's text can reach the browser a moment before the Step metric of the same redraw (seen once
    # under load: 976 then 997); the metric must settle on the stopped step, then stay
    final = int(re.search(r"stopped · step (\d+)", page.locator("[data-testid='stMain']").inner_text()).group(1))
    wait_for(lambda: step(page) == final, 10, what=f"the Step metric to show the stopped step {final}")
    stopped, after = steps_after(page, 2.0)
    assert stopped == after == final, f"Step moved after Stop training: {final}, {stopped}, {after}"
    assert "paused · step" not in page.locator("[data-testid='stMain']").inner_text(), "the Stop after Pause was lost"

    with page.expect_download(timeout=30_000) as info:
        download.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    data = path.read_bytes()
    assert path.suffix == ".safetensors"
    (n,) = struct.unpack("<Q", data[:8])  # safetensors: little-endian header length, then a JSON header
    assert data[8:9] == b"{" and 8 + n <= len(data), data[:32]
    header = json.loads(data[8:8 + n])
    assert any(k.startswith("model.") or "weight" in k for k in header), list(header)[:10]

    sidebar = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']")
    sidebar.click()
    page.get_by_role("option", name="Demo: GRU on the adding problem").click()
    expect(page.get_by_text("Press", exact=False).filter(has_text="to start a run")).to_be_visible(timeout=30_000)
    assert "run=" not in page.url  # the user's pick in "Showing" wins over the run


def test_a_seed_typed_then_train_clicked_trains_that_seed(page, server):
    """Issue #15: typing a seed and clicking Train without pressing Enter trained the previous seed."""
    open_app(page, server, "/train?task=parity&arch=gru&hidden=8&steps=100")
    seed = page.locator("[data-testid='stNumberInput']").filter(has_text="Seed").locator("input")
    seed.fill("7")  # no Enter, no blur: the click is what sends it
    button(page, "Train").click()
    shown = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox'] input")  # two while it swaps
    values = lambda: shown.evaluate_all("e => e.map(i => i.value)")  # noqa: E731
    wait_for(lambda: any(v.startswith("gru h8 on parity (seed 7)") for v in values()), 30,
             what="the new run to be the seed typed")
    expect(button(page, "Download checkpoint")).to_be_visible(timeout=60_000)


def settled(shown, seconds: float) -> str:
    """"stopped" once the panel says so within `seconds`; else "paused" or "running", whichever it says then."""
    end = time.monotonic() + seconds
    while True:
        text = shown()
        if "stopped · step" in text or time.monotonic() > end:
            return next((s for s in ("stopped", "paused") if f"{s} · step" in text), "running")
        time.sleep(0.1)


def test_stop_wins_over_a_pause_clicked_just_before_it_fifteen_times(page, server):
    """Issue #15: a Stop 0.2 s after a Pause was lost in 15 of 39 tries (the run kept training or stayed paused,
    holding a worker; at that rate, 15 tries without a loss has odds of 7e-4). Fifteen runs, each paused and
    stopped 0.2 s apart: each run's own checkpoint, written when its worker ends, says stopped (and a run whose Stop was lost would hold one of the two workers: the runs
    after it could not start). A run left paused fails at once. Under load Streamlit 1.67 now and then drops both
    clicks (the run trains on, never paused): those are clicked again and counted, at most 2 in 15. Each click is
    made while no page or fragment run is under way, as on a page a user sees standing still: a Train click (a full
    page run) landing on a fragment's run blanks the page in 1.67 ("Bad delta path index"), and a click made while
    the page run Train started still draws can be dropped when the next one replaces it; both are that Streamlit's
    (README, "Browser benchmark", and "Live parts of a page"), not the race this test is about."""
    from rnnviz.checkpoints import load_checkpoint

    open_app(page, server, "/train?task=parity&arch=gru&hidden=8&steps=20000")
    ids, lost = [], []
    shown = lambda: page.locator("[data-testid='stMain']").inner_text()  # noqa: E731
    idle = lambda: wait_for(lambda: script_state(page) == "notRunning", 60, interval=0.02,  # noqa: E731
                            what="the page's runs to end")  # clicks on a still page: see the docstring
    for i in range(RUNS):
        idle()
        button(page, "Train").click()
        ids.append(wait_for(lambda: (r := run_id(page)) not in ids and r, 30, what=f"run {i + 1}'s id in the link"))
        created = time.monotonic()  # the run exists once its id is in the link
        expect(button(page, "Pause")).to_be_enabled(timeout=60_000)
        idle()
        for _ in range(2):
            button(page, "Pause").click()
            page.wait_for_timeout(200)
            button(page, "Stop training").click()
            state = settled(shown, 8)
            assert state != "paused", f"run {i + 1}: the Stop 0.2 s after its Pause was lost (it stayed paused)"
            if state == "stopped":
                break
            # Neither click reached the server: under load Streamlit 1.67 drops a fragment button's click now and
            # then (README, "Browser benchmark"); not the race this test is about, so click both again, and count
            lost.append(i + 1)
        # Train again within DOUBLE_CLICK_SECONDS of the run's creation would be taken for a double click
        page.wait_for_timeout(max(0.0, DOUBLE_CLICK_SECONDS + 0.1 - (time.monotonic() - created)) * 1000)
    assert len(lost) <= 2, f"Pause and Stop both dropped for runs {lost} (more than 2 in {RUNS})"
    expect(page.get_by_text("stopped · step", exact=False)).to_be_visible(timeout=30_000)

    def status(path):
        try:
            return (load_checkpoint(path).extra or {}).get("status")
        except (OSError, ValueError):  # not written yet, or being written
            return None

    saved = [server.runs_dir / f"{r}.safetensors" for r in ids]
    wait_for(lambda: all(status(p) == "stopped" for p in saved), 60,
             what=f"all {RUNS} runs' checkpoints to say stopped")
