"""A run's link is view-only for everyone but the browser that started it (issue #15): in a lecture the URL is
on the projector. A second browser sees the run live with one sentence where the controls would be; it cannot
pause or stop it; the owner's controls keep working."""
import pytest
from harness import new_page, open_app, run_id, step, wait_for
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
LONG = "/train?task=parity&arch=gru&hidden=8&steps=20000"


def test_a_shared_link_watches_without_controls(page, server, browser):
    open_app(page, server, LONG)
    page.get_by_role("button", name="Train", exact=True).click()
    rid = wait_for(lambda: run_id(page), 30, what="the run's id in the link")
    wait_for(lambda: step(page), 60, what="the owner's Step to pass 0")
    student = new_page(browser)
    try:
        open_app(student, server, f"/train?run={rid}")
        expect(student.get_by_text("This run belongs to the browser that started it", exact=False)).to_be_visible()
        for name in ("Pause", "Resume", "Stop training"):
            assert student.get_by_role("button", name=name, exact=True).count() == 0, f"the watcher sees {name}"
        seen = wait_for(lambda: step(student), 30, what="the watcher's Step")
        wait_for(lambda: (step(student) or 0) > seen, 30, what="the watcher to see the run go on live")
        page.get_by_role("button", name="Pause", exact=True).click()  # the owner still has control
        expect(page.get_by_text("paused · step", exact=False)).to_be_visible(timeout=30_000)
        expect(student.get_by_text("paused · step", exact=False)).to_be_visible(timeout=30_000)
        assert student.get_by_role("button", name="Resume", exact=True).count() == 0
    finally:
        student.context.close()
        page.get_by_role("button", name="Stop training", exact=True).click()
        expect(page.get_by_role("button", name="Download checkpoint", exact=True)).to_be_visible(timeout=60_000)
