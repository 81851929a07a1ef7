"""Views follow training (issue #14): while a run trains, Gradient flow, Hidden states and Gates show its newest
probe, and the training step they say they show rises with the run; it never falls back to step 1 by itself.
A snapshot the user slides back to stays put while new probes arrive."""
import re

import pytest
from harness import open_app, run_id, screenshot, wait_for, wait_idle

pytestmark = pytest.mark.e2e
LONG = "/train?task=parity&arch=lstm&hidden=16&steps=20000"  # probes every 100 steps; stopped by the test


def shown_step(page) -> int | None:
    """The training step the page says its figures show: while following, its "newest probe" line; else the
    "Training snapshot" slider's value."""
    text = page.evaluate("""() => {
        const main = document.querySelector("[data-testid='stMain']");
        const m = main ? main.innerText.match(/newest probe: training step (\\d+)/) : null;
        if (m) return m[0];
        for (const s of document.querySelectorAll("[data-testid='stSlider']"))
            if (s.innerText.includes("Training snapshot")) {
                const v = s.querySelector("[data-testid='stSliderThumbValue']");
                return v ? v.innerText : s.innerText;
            }
        return null;
    }""")
    m = re.search(r"step (\d+)", text or "")
    return int(m.group(1)) if m else None


def test_views_follow_a_training_run(page, server):
    open_app(page, server, LONG)
    page.get_by_role("button", name="Train", exact=True).click()
    rid = wait_for(lambda: run_id(page), 30, what="the run's id in the link")
    try:
        for path in ("gradients", "hidden", "gates"):
            page.goto(f"{server.url}/{path}?run={rid}")
            wait_idle(page, calm=0.3)
            first = wait_for(lambda: shown_step(page), 60, what=f"/{path}'s training snapshot")
            later = wait_for(lambda: (s := shown_step(page)) and s > first and s, 60,
                             what=f"/{path} to show a later training step than {first}")
            assert shown_step(page) >= later, f"/{path} fell back to an earlier step by itself"
        screenshot(page, "gates-following-training")
        page.get_by_text("Follow training", exact=True).click()  # the user stops following...
        slider = page.locator("[data-testid='stSlider']").filter(has_text="Training snapshot").get_by_role("slider")
        slider.focus()
        page.keyboard.press("Home")  # ...and goes back to the first probe
        wait_for(lambda: (shown_step(page) or 10**9) < later, 30, what="the slider to show an earlier probe")
        pinned = shown_step(page)
        page.wait_for_timeout(2500)  # new probes arrive meanwhile (the view redraws every 2 s)
        assert shown_step(page) == pinned, "a snapshot the user chose moved by itself"
    finally:
        page.goto(f"{server.url}/train?run={rid}")
        wait_idle(page, calm=0.3)
        page.get_by_role("button", name="Stop training", exact=True).click()
