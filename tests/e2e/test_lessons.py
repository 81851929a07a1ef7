"""A teacher's links: each lesson opened from its URL in presentation mode on a projector-sized window
(1920x1080). It must draw its figures with every rendered label at least PRESENTATION_MIN_FONT px, show its text
large, and raise no error; the screenshots under test-artifacts/screenshots/ are for a person to look at. One
lesson (vanishing gradients) is also trained live from its button, as a class would see it."""
import pytest
from harness import assert_drawn_once, assert_presentable, open_app, pages, screenshot, wait_for
from playwright.sync_api import expect
from test_pages import assert_no_error

from rnnviz.lessons import BY_SLUG
from rnnviz.plots.theme import PRESENTATION_MIN_FONT

pytestmark = pytest.mark.e2e
LESSONS = [path for _, _, path in pages() if path.startswith("lesson-")]
BODY_MIN_FONT = 24  # px: the lesson's sentences on a projector

CHART_FONTS = """() => {  // the rendered size of every visible text in every plotly chart: [size, text]
    const out = [];
    for (const t of document.querySelectorAll(".js-plotly-plot .main-svg text")) {
        const text = (t.textContent || "").trim(), box = t.getBoundingClientRect();
        if (!text || box.width === 0 || getComputedStyle(t).display === "none") continue;
        out.push([parseFloat(getComputedStyle(t).fontSize), text.slice(0, 40)]);
    }
    return out;
}"""
BODY_FONT = """() => parseFloat(getComputedStyle(
    document.querySelector("[data-testid='stMain'] [data-testid='stMarkdownContainer'] p")).fontSize)"""


def open_presenting(page, server, path: str) -> None:
    open_app(page, server, f"/{path}?present=1")
    expect(page.locator(".rnnviz-chart .main-svg").first).to_be_visible(timeout=30_000)
    expect(page.locator("[data-testid='stSidebar'] label").filter(has_text="Presentation mode").locator("input")).to_be_checked()


@pytest.mark.parametrize("path", LESSONS)
def test_lesson_link_in_presentation_mode(tab, server, path):
    page = tab
    open_presenting(page, server, path)
    assert_no_error(page)
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    assert "present=1" in page.url, "the link lost presentation mode"
    fonts = page.evaluate(CHART_FONTS)
    assert len(fonts) > 10, "the lesson's charts show almost no text"
    small = [f for f in fonts if f[0] < PRESENTATION_MIN_FONT]
    assert not small, f"labels under {PRESENTATION_MIN_FONT} px on /{path}: {small[:8]}"
    assert page.evaluate(BODY_FONT) >= BODY_MIN_FONT
    assert_presentable(page)
    assert_drawn_once(page)
    screenshot(page, f"{path}-present")


def test_vanishing_gradients_lesson_trains_live(page, server):
    """Lesson 3's button trains its presets (relu RNN, spectral radius 1.5, without and with clipping): the
    unclipped run explodes and says so, the clipped one finishes, the button is enabled again, and the page
    lists the lesson's three claims, each shown by these runs."""
    open_presenting(page, server, "lesson-vanishing-gradients")
    train = page.get_by_role("button", name=BY_SLUG["lesson-vanishing-gradients"].train_label, exact=True)
    train.click()
    expect(train).to_be_disabled(timeout=30_000)
    text = lambda: page.locator("[data-testid='stMain']").inner_text()  # noqa: E731
    wait_for(lambda: "diverged" in text() and "finished" in text(), 120,
             what="the unclipped run to diverge and the clipped one to finish")
    expect(train).to_be_enabled(timeout=30_000)
    expect(page.get_by_text("What these runs showed")).to_be_visible(timeout=30_000)  # its claims, judged
    verdicts = text().split("What these runs showed", 1)[1]
    assert verdicts.count("✓") == 3 and "✗" not in verdicts, verdicts
    assert_no_error(page)
    screenshot(page, "lesson-vanishing-gradients-trained")
