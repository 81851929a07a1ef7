"""A page updates as one: on Gradient flow and Hidden states, moving the Layer or Probe sequence slider redraws
the live figures and every section below them in the same interaction (they used to keep the old layer or
sequence until something else reran the page)."""
import json

import pytest
from harness import assert_drawn_once, open_app, screenshot, trained_run, wait_for, wait_idle

pytestmark = pytest.mark.e2e
TWO_LAYERS = {"task": "adding", "arch": "gru", "hidden": 8, "layers": 2, "steps": 100, "seq_len": 20}


def figure_data(page, key: str) -> str | None:
    """The plotly chart drawn with `key`, as the browser holds it (its traces' data), or None."""
    return page.evaluate("""css => {
        const gd = document.querySelector(css + " .js-plotly-plot");
        return gd && gd.data ? JSON.stringify(gd.data.map(t => [t.x, t.y, t.z, t.customdata, t.hovertext])) : null;
    }""", ".st-key-" + key.replace(".", "-"))


def html_block(page, contains: str) -> str:
    """The inner HTML of the st.html block whose markup contains `contains`."""
    return page.evaluate("""text => {
        for (const el of document.querySelectorAll("[data-testid='stHtml'], [data-testid='stMarkdownContainer']"))
            if (el.innerHTML.includes(text)) return el.innerHTML;
        return "";
    }""", contains)


def slide(page, label: str) -> None:
    """One step right on the slider labelled `label`, as a keyboard user does."""
    slider = page.locator("[data-testid='stSlider']").filter(has_text=label)
    slider.get_by_role("slider").focus()
    page.keyboard.press("ArrowRight")
    wait_idle(page)


@pytest.fixture(scope="module")
def two_layer_run(server):
    return trained_run(server, **TWO_LAYERS)


def assert_redrawn(page, key: str, old: str, message: str) -> None:
    """The chart `key` comes to differ from `old`. The script has ended when this is asked (slide waits for it), but
    a loaded browser draws a page's charts one by one after that: it gets 20 s."""
    try:
        wait_for(lambda: figure_data(page, key) != old, 20, what=f"{key} to be redrawn")
    except TimeoutError:
        raise AssertionError(message) from None


def test_gradient_flow_sections_follow_layer_and_sequence(page, server, two_layer_run):
    open_app(page, server, f"/gradients?run={two_layer_run}")
    below = ("gradients.connectivity", "whatif.fig")
    before = {k: wait_for(lambda k=k: figure_data(page, k), 30, what=k) for k in ("gradients.curve", *below)}
    slide(page, "Probe sequence")
    for k in before:
        assert_redrawn(page, k, before[k], f"{k} still shows the first probe sequence after the slider moved")
    after = {k: figure_data(page, k) for k in before}
    jac = figure_data(page, "gradients.jacobian")
    slide(page, "Layer")
    assert_redrawn(page, "whatif.fig", after["whatif.fig"], "the what-if panel kept layer 0")
    assert_redrawn(page, "gradients.jacobian", jac, "the Jacobian figure kept layer 0")
    assert json.loads(page.evaluate("() => JSON.stringify(location.search)")).count("layer=1") == 1
    assert_drawn_once(page)  # at the normal theme's sizes (the cold pages check presentation mode)
    screenshot(page, "gradients-layer-1-sequence-1")


def test_hidden_state_sections_follow_layer_and_sequence(page, server, two_layer_run):
    open_app(page, server, f"/hidden?run={two_layer_run}")
    heat = wait_for(lambda: figure_data(page, "hidden.heat"), 30, what="the hidden-state heat map")
    text = wait_for(lambda: html_block(page, "title=\"t = 0 "), 30, what="the text read through one unit")
    slide(page, "Probe sequence")
    assert_redrawn(page, "hidden.heat", heat, "the heat map kept the first sequence")
    moved = html_block(page, "title=\"t = 0 ")
    assert moved != text, "the text read through one unit kept the first sequence"
    slide(page, "Layer")
    assert html_block(page, "title=\"t = 0 ") != moved, "the text read through one unit kept layer 0"
    assert_drawn_once(page)
