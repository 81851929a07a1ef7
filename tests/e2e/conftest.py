"""Browser-test fixtures: one streamlit server and one Chromium for the whole session, a fresh browser
context (a new Streamlit session, 1920x1080) per test, and a check that the server logged no traceback.
"""
from __future__ import annotations

import pytest
from harness import Server, launch_browser, new_page, start_server, stop_server


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (its hook would run first otherwise)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (scripts/test.sh runs two workers) every browser test that uses the shared server goes to
    the same worker, in order, with one server and one Chromium, while the other worker runs the rest of the suite.
    test_restart.py starts and kills servers of its own, so it may run on either worker."""
    for item in items:
        if item.nodeid.startswith("tests/e2e/"):
            own = item.nodeid.startswith("tests/e2e/test_restart.py")
            item.add_marker(pytest.mark.xdist_group("restart" if own else "browser"))


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_driver):
    try:
        b = launch_browser(playwright_driver)
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)  # a missing browser is a broken setup, never a silent skip
    yield b
    b.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory, browser) -> Server:
    """The app, started once. Its first visit is a deep link, as a teacher's link often is a class's first
    visit to a freshly started server: what that visit showed is kept for test_pages.py to check."""
    from harness import new_page, open_app

    base = tmp_path_factory.mktemp("e2e-server")
    s = start_server(base / "runs", base / "streamlit.log")
    page = new_page(browser)
    try:
        open_app(page, s, "/graph")
        sidebar = page.locator("[data-testid='stSidebar']")
        s.first_visit = {"showing": sidebar.get_by_text("Showing", exact=True).count(),
                         "title": sidebar.get_by_text("Unrolled graph", exact=True).count(),
                         "errors": list(page.js_errors)}
    finally:
        page.context.close()
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def shared_context(browser):
    """One browser context for a module's cold-page tests: each test opens its own tab, so each is still a new
    Streamlit session (one per connection), but the app's scripts load from the context's cache, as a user's
    second tab would: the page, not the bundle download, is what these tests time and check."""
    from harness import VIEWPORT

    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def tab(shared_context):
    from harness import watch

    p = watch(shared_context.new_page())
    yield p
    errors = p.js_errors
    p.close()
    assert not errors, f"the page threw in the browser (the app goes blank):\n{errors[0]}"


@pytest.fixture
def page(browser):
    p = new_page(browser)
    yield p
    errors = p.js_errors
    p.context.close()
    assert not errors, f"the page threw in the browser (the app goes blank):\n{errors[0]}"


@pytest.fixture(autouse=True)
def _no_server_traceback(request):
    """Fails a browser test whose actions made the server log a traceback (an error the page may hide), or
    streamlit calls from outside a script run (a training worker that ran app code)."""
    if "server" not in request.fixturenames:
        yield
        return
    s: Server = request.getfixturevalue("server")
    before = len(s.log_text())
    yield
    new = s.log_text()[before:]
    assert "Traceback" not in new, f"the server logged a traceback during this test:\n{new[-4000:]}"
    assert "missing ScriptRunContext" not in new, f"streamlit ran outside a script run (a worker?):\n{new[-2000:]}"
