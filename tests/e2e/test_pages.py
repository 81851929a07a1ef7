"""Every page in a real browser, cold (a new session, no runs) and in presentation mode, as a teacher's link
opens it on a projector: it draws a chart, shows no exception, keeps every text at 24 px or more with none cut
off and every figure within one 1080p screen, and is screenshotted at 1920x1080; on Checkpoints a bad upload is
refused in one sentence; a deep link works on a fresh server."""
import random

import pytest
from harness import assert_presentable, open_app, pages, screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
PAGES = pages()
NO_CHART_COLD = {"train"}  # the Train page has nothing to plot until a run exists
# Every lesson is opened cold in presentation mode by test_lessons.py, with these checks and more.
COLD = [p for _, _, p in PAGES if not p.startswith("lesson-")]


def assert_no_error(page) -> None:
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert "Traceback" not in page.locator("[data-testid='stApp']").inner_text()


def test_pages_are_discovered():
    paths = {path for _, _, path in PAGES}
    assert {"", "train", "graph", "gradients", "hidden", "gates", "attention", "generate", "checkpoints"} <= paths


@pytest.mark.parametrize("path", COLD, ids=[p or "overview" for p in COLD])
def test_page_loads_cold(tab, server, path):
    page = tab
    open_app(page, server, f"{path}?present=1")
    if path in NO_CHART_COLD:
        expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible()
    else:
        expect(page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first).to_be_visible(timeout=30_000)
    assert_no_error(page)
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, f"a cold /{path} shows an error: {errors.first.inner_text()}"
    assert_presentable(page)
    screenshot(page, f"page-{path or 'overview'}-present")
    if path == "checkpoints":  # the page a bad file is brought to, already open: saves a cold load
        bad_checkpoint_upload_is_one_sentence(page)


def bad_checkpoint_upload_is_one_sentence(page) -> None:
    """On the open Checkpoints page: a file of junk bytes is refused in one sentence naming it."""
    uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="A checkpoint")
    junk = random.Random(0).randbytes(4096)
    uploader.locator("input[type='file']").set_input_files(
        {"name": "bad.pt", "mimeType": "application/octet-stream", "buffer": junk})
    error = page.locator("[data-testid='stAlertContentError']")
    expect(error).to_have_count(1, timeout=30_000)
    wait_idle(page)
    expect(error).to_have_count(1)
    text = error.inner_text().strip()
    assert "bad.pt" in text and "\n" not in text and len(text) < 300, text
    assert_no_error(page)
    screenshot(page, "checkpoints-bad-upload")


# A teacher's link is often a class's first visit to a freshly started server: it must open the page itself,
# with the app's sidebar (Streamlit runs a bare pages/ folder as a v1 app until st.navigation has run, hence
# app_pages/). The session's server makes that visit first of all (conftest.py), so no second server is needed.
def test_deep_link_on_a_fresh_server(server):
    first = server.first_visit
    assert first["showing"] == 1, "a deep link on a fresh server lacks app.py's shared sidebar"
    assert first["title"] == 1, "a deep link on a fresh server lists files, not page titles"
    assert not first["errors"], first["errors"][0]
