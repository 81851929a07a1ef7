"""The load test: 3 browser sessions start training at once (more than the worker cap, so one queues); every one's Step
rises (or it shows its queue position), the server keeps answering (every health poll answered, 90% within 5 s: what
a user would notice as a hung page, with the headroom a busy CI machine needs, since the test's own browsers share
the two cores; bench/browser.py measures the real latencies), every page ends showing its own run's checkpoint
without going blank, and no session sees another's run."""
import threading
import time
import urllib.request

import pytest
from harness import CONNECTED, new_page, queue_position, run_id, screenshot, step, wait_for, wait_idle
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SESSIONS = 3  # more than the server's worker cap (2): one run queues (bench/browser.py measures 8 sessions)
HEALTH_EVERY, HEALTH_OK, HEALTH_SHARE, HEALTH_TIMEOUT = 0.25, 5.0, 0.9, 30.0


def tiny(seed: int) -> str:  # the seed tells the sessions' runs apart by label: "gru h8 on parity (seed 3)"
    return f"/train?task=parity&arch=gru&hidden=8&steps=100&seed={seed}"


class HealthPoller(threading.Thread):
    """Polls /_stcore/health every 0.25 s, recording each answer's latency (None for no answer)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.latencies, self.done = f"{url}/_stcore/health", [], threading.Event()

    def run(self):
        while not self.done.is_set():
            t = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=HEALTH_TIMEOUT) as r:
                    ok = r.status == 200 and r.read().strip() == b"ok"
            except OSError:
                ok = False
            self.latencies.append(time.monotonic() - t if ok else None)
            self.done.wait(max(0.0, HEALTH_EVERY - (time.monotonic() - t)))


def options_listed(page) -> list[str]:
    """The entries of the sidebar's "Showing" selector (opened, read, closed; retried, as a live page redraws)."""
    selector = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']")
    for _ in range(10):
        try:
            selector.click()
        except PlaywrightError:  # mid-rerun, the last run's selector can still stand beside the new one: two
            page.wait_for_timeout(300)
            continue
        options = page.get_by_role("option")
        try:
            expect(options.first).to_be_visible(timeout=3_000)
            texts = [o.inner_text() for o in options.all()]
        except AssertionError:
            texts = []
        page.keyboard.press("Escape")
        if texts:
            return texts
    raise AssertionError("the sidebar's Showing selector did not open")


def test_sessions_train_at_once(browser, server):
    pages, crashed = [], []
    for i in range(SESSIONS):
        pages.append(new_page(browser, {"width": 1280, "height": 900}, timeout=60))
        pages[-1].on("crash", lambda _, i=i: crashed.append(i))
    try:
        for i, page in enumerate(pages):
            page.goto(server.url + tiny(i))
        for page in pages:
            page.wait_for_selector(CONNECTED)
            wait_idle(page, timeout=120)

        poller = HealthPoller(server.url)
        poller.start()
        start = time.monotonic()
        for page in pages:
            page.get_by_role("button", name="Train", exact=True).click()

        steps = [[] for _ in pages]
        queued = [set() for _ in pages]

        def blank() -> list[str]:  # a page whose frontend threw has unmounted the app: fail at once, saying why
            return [f"session {i}: {page.js_errors[0]}" for i, page in enumerate(pages) if page.js_errors]

        def look() -> bool:
            assert not blank(), "a page threw in the browser (the app went blank):\n" + "\n".join(blank())
            for i, page in enumerate(pages):
                s, q = step(page), queue_position(page)
                if s is not None:
                    steps[i].append(s)
                if q is not None:
                    queued[i].add(q)
            return all(any(s > 0 for s in seen) for seen in steps)

        def summary() -> str:
            lines = [f"session {i}: steps seen {seen[:3]}..{seen[-2:]}, queue positions {sorted(q)}"
                     for i, (seen, q) in enumerate(zip(steps, queued))]
            return "\n".join([f"crashed tabs: {crashed}"] * bool(crashed) + lines)

        try:
            wait_for(look, 150, interval=0.5, what="every session's Step to pass 0")
            # enough polls to judge, however fast the sessions started (polls answered slowly come fewer a second)
            wait_for(lambda: len(poller.latencies) >= 10, 2 * HEALTH_TIMEOUT, what="ten health polls")
        except TimeoutError as e:
            for i, page in enumerate(pages):
                screenshot(page, f"load-session-{i}")
            pytest.fail(f"{e}\n{summary()}", pytrace=False)
        finally:
            poller.done.set()
            poller.join(timeout=10)
        elapsed = time.monotonic() - start
        report = summary()

        for i, seen in enumerate(steps):  # Step rose (from 0 or nothing to more), or the queue said where it was
            assert max(seen) > 0 or queued[i], f"session {i} never trained nor showed a queue position\n{report}"
        failed = sum(t is None for t in poller.latencies)
        assert not failed, f"{failed} health polls got no answer within {HEALTH_TIMEOUT:.0f} s: the server hung"
        lat = sorted(poller.latencies)
        fast = sum(t <= HEALTH_OK for t in lat) / max(1, len(lat))
        print(f"\n{SESSIONS} sessions trained in {elapsed:.1f} s; health polls {len(lat)}, "
              f"{fast:.0%} within {HEALTH_OK} s, median {lat[len(lat) // 2]:.3f} s, max {lat[-1]:.2f} s\n{report}")
        assert len(lat) >= 10, "too few health polls to judge"
        assert fast >= HEALTH_SHARE, f"only {fast:.0%} of health polls answered within {HEALTH_OK} s: {lat[-10:]}"

        ids = [wait_for(lambda p=page: run_id(p), 30, what="the run id in the URL") for page in pages]

        def offered() -> bool:  # every run ends, and its page reruns by itself to offer the checkpoint
            assert not blank(), "a page threw in the browser (the app went blank):\n" + "\n".join(blank())
            return all(p.get_by_role("button", name="Download checkpoint", exact=True).count() for p in pages)

        wait_for(offered, 120, interval=0.5, what="every page to offer its run's checkpoint")
        assert len(set(ids)) == SESSIONS, f"run ids are not all different: {ids}"
        for i, page in enumerate(pages):
            text = page.locator("[data-testid='stApp']").inner_text() + page.content()
            others = [j for j in range(SESSIONS) if j != i]
            assert not [ids[j] for j in others if ids[j] in text], f"session {i} shows another session's run id"
            assert not [j for j in others if f"(seed {j})" in text], f"session {i} shows another session's run"
            mine = [o for o in options_listed(page) if " on parity " in o]
            assert len(mine) == 1 and f"(seed {i})" in mine[0], f"session {i} lists runs {mine}"
            assert page.locator("[data-testid='stException']").count() == 0
    finally:
        for page in pages:
            page.context.close()
