"""Issue #15 in a real browser: crafted links and files get one plain sentence each (no traceback, no server path,
nothing from the link drawn as a link or an image), and the Train form keeps what the user set while they visit
other pages. The AppTests in tests/test_links.py check the same on the script; these check what Chromium shows."""
from urllib.parse import quote

import pytest
from harness import go, open_app, wait_for
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
BAIT = "**Your session expired.** [Log in again](http://phish.example/login) ![x](http://phish.example/x.png)"


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def assert_plain(page, server) -> None:
    """No traceback or exception box, no server path, and nothing a link carried became a link or an image."""
    assert page.locator("[data-testid='stException']").count() == 0
    text = page.locator("[data-testid='stApp']").inner_text()
    assert "Traceback" not in text and str(server.runs_dir) not in text and "site-packages" not in text
    assert page.locator("a[href*='phish']").count() == 0, "a value from the link became a clickable link"
    assert page.locator("img[src*='phish']").count() == 0, "a value from the link became an image"


def test_markdown_in_a_link_is_shown_as_plain_text(tab, server):
    open_app(tab, server, f"/train?task={quote(BAIT)}&forget_bias=nan")
    notes = tab.locator("[data-testid='stAlertContentWarning']")
    expect(notes).to_have_count(2)  # the task and the forget gate bias, each in one sentence
    said = " ".join(notes.all_inner_texts())
    assert "Log in again" in said and "**Your" in said, said  # the user's text, shown as it was typed
    assert "finite" in said, said
    assert_plain(tab, server)


@pytest.mark.parametrize("run", ["x" * 300, quote("../../etc/passwd", safe="")], ids=["300 characters", "a path"])
def test_a_crafted_run_link_is_one_sentence_and_the_demo_shows(tab, server, run):
    open_app(tab, server, f"/graph?run={run}")
    note = tab.get_by_text("not one rnnviz made", exact=False)
    expect(note).to_be_visible()
    expect(tab.locator(".rnnviz-chart .main-svg").first).to_be_visible(timeout=30_000)
    assert "etc/passwd" not in main_text(tab)
    assert_plain(tab, server)


def test_a_deeply_nested_setup_file_is_one_sentence(tab, server):
    open_app(tab, server, "/train")
    uploader = tab.locator("[data-testid='stFileUploader']").filter(has_text="Load a setup")
    from rnnviz.ui.train_form import SETUP_MB

    expect(uploader).to_contain_text(f"{SETUP_MB}MB per file")  # not the server's 400 MB beside Checkpoints' 200
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    uploader.locator("input[type='file']").set_input_files(
        {"name": "setup.json", "mimeType": "application/json", "buffer": deep})
    expect(tab.get_by_text("nested too deeply", exact=False)).to_be_visible(timeout=30_000)
    assert_plain(tab, server)


def test_the_form_keeps_its_settings_across_pages(tab, server):
    open_app(tab, server, "/train?task=parity&arch=gru&hidden=8&steps=100")
    seed = tab.locator("[data-testid='stNumberInput']").filter(has_text="Seed").locator("input")
    seed.fill("5")
    seed.press("Enter")
    wait_for(lambda: "seed=5" in tab.evaluate("() => location.href"), 30, what="the seed in the link")
    go(tab, "Unrolled graph")
    go(tab, "Train")
    expect(seed).to_have_value("5", timeout=30_000)
    task = tab.locator("[data-testid='stSelectbox']").filter(has_text="Task").locator("input")
    assert task.input_value().startswith("parity"), task.input_value()
