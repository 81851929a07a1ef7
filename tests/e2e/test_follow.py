"""A training run seen by its owner and by a watcher (issues #14 and #15). The owner moves between pages with the
sidebar, as a student would: Gradient flow, Hidden states and Gates show the newest probe and the training step
they say they show rises with the run, never falling back by itself; a snapshot the owner slides back to stays
put; the run stays in the link, and a refresh of any page brings back the same page, run and control. A second
browser holding the link watches the same run live, with one sentence where the controls would be: it cannot
pause or stop it, while the owner still can, and it can copy the run's settings into its own form to train a
variation."""
import re

import pytest
from harness import go, new_page, open_app, run_id, screenshot, showing, step, wait_for
from playwright.sync_api import expect

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


def refresh(page, title: str, rid: str, label: str) -> None:
    """Reloads the page, as a student presses F5: the same page comes back showing the same run."""
    page.reload()
    expect(page.locator("h1").first).to_be_visible(timeout=60_000)
    wait_for(lambda: run_id(page) == rid, 30, what=f"the run in {title}'s link after a refresh")
    wait_for(lambda: showing(page) == label, 30, what=f"{title} to show the run after a refresh")


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def watch_live(browser, server, rid: str):
    """A second browser opening the run's link while it trains: it sees the run go on live, without its controls."""
    watcher = new_page(browser)
    try:
        watcher.goto(f"{server.url}/train?run={rid}")  # a live page is seldom idle (its panel polls): no wait_idle
        expect(watcher.locator("h1").first).to_be_visible(timeout=60_000)
        expect(watcher.get_by_text("This run belongs to the browser that started it", exact=False)).to_be_visible()
        for name in ("Pause", "Resume", "Stop training"):
            assert button(watcher, name).count() == 0, f"the watcher sees {name}"
        seen = wait_for(lambda: step(watcher), 30, what="the watcher's Step")
        wait_for(lambda: (step(watcher) or 0) > seen, 30, what="the watcher to see the run go on live")
    except BaseException:
        watcher.context.close()
        raise
    return watcher


def test_a_run_followed_by_its_owner_and_watched_through_its_link(page, server, browser):
    open_app(page, server, LONG)
    button(page, "Train").click()
    rid = wait_for(lambda: run_id(page), 30, what="the run's id in the link")
    watcher = watch_live(browser, server, rid)
    watcher.context.close()  # a live page draws every second: closed while the owner tours, opened again below
    try:
        label = showing(page)
        for title in ("Gradient flow", "Hidden states", "Gates"):
            go(page, title)
            assert run_id(page) == rid, f"{title} left the run out of the link"
            first = wait_for(lambda: shown_step(page), 60, what=f"{title}'s training snapshot")
            later = wait_for(lambda: (s := shown_step(page)) and s > first and s, 60,
                             what=f"{title} to show a later training step than {first}")
            assert shown_step(page) >= later, f"{title} fell back to an earlier step by itself"
        # a refresh brings the page back following (one live page: the link restores the run the same way on
        # each, and Checkpoints and Train are refreshed below; refreshing all three cost 15 s of the suite)
        refresh(page, "Gates", rid, label)
        wait_for(lambda: (shown_step(page) or 0) >= later, 60, what="Gates to follow the run after a refresh")
        # the step line comes before the figures after a refresh (plotly.js loads first): the picture shows them
        wait_for(lambda: page.locator(".st-key-gates-lines .scatterlayer .trace").count() > 0, 30,
                 what="the Gates lines drawn after the refresh")  # not any two SVG layers: one chart has three
        screenshot(page, "gates-following-training")
        page.get_by_text("Follow training", exact=True).click()  # the owner stops following...
        slider = page.locator("[data-testid='stSlider']").filter(has_text="Training snapshot").get_by_role("slider")
        slider.focus()
        page.keyboard.press("Home")  # ...and goes back to the first probe
        wait_for(lambda: (shown_step(page) or 10**9) < later, 30, what="the slider to show an earlier probe")
        pinned = shown_step(page)
        page.wait_for_timeout(2500)  # new probes arrive meanwhile (the view redraws every 2 s)
        assert shown_step(page) == pinned, "a snapshot the user chose moved by itself"

        for title in ("Unrolled graph", "Attention", "Generate", "Checkpoints"):  # the other view pages
            go(page, title)
            assert run_id(page) == rid, f"{title} left the run out of the link"
        refresh(page, "Checkpoints", rid, label)  # one page that does not follow: a refresh brings its run back too
        go(page, "Train")
        refresh(page, "Train", rid, label)  # a refresh keeps the owner in control (the browser owns the run)
        watcher = watch_live(browser, server, rid)  # the second browser, holding the link again
        button(page, "Pause").click()
        expect(page.get_by_text("paused · step", exact=False)).to_be_visible(timeout=30_000)
        expect(watcher.get_by_text("paused · step", exact=False)).to_be_visible(timeout=30_000)
        assert button(watcher, "Resume").count() == 0
        button(watcher, "Copy its settings into my form").click()  # to vary it, the watcher takes its settings
        expect(watcher.get_by_text("now holds the settings of", exact=False)).to_be_visible(timeout=30_000)
        href = lambda: watcher.evaluate("() => location.href")  # noqa: E731
        wait_for(lambda: all(f"{k}={v}" in href() for k, v in (("hidden", "16"), ("task", "parity"))),
                 30, what="the watcher's form (and link) to hold the run's settings")
        assert button(watcher, "Pause").count() == 0, "copying the settings gave the watcher control of the run"
    finally:
        watcher.context.close()
        if button(page, "Stop training").count() == 0:
            go(page, "Train")
        button(page, "Stop training").click()
        expect(button(page, "Download checkpoint")).to_be_visible(timeout=60_000)
