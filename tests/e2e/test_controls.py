"""A page updates as one: on Gradient flow and Hidden states, moving the Layer or Probe sequence slider redraws
the live figures and every section below them in the same interaction (they used to keep the old layer or
sequence until something else reran the page)."""
import json

import pytest
from harness import assert_drawn_once, open_app, screenshot, wait_for, wait_idle

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
    """A finished run in the server's runs folder, trained here as a training worker trains it and saved as the
    worker saves it; the link ?run=<id> opens it as a refresh or a shared link does. (Training it through the Train
    page took half a minute of the browser tests on a busy machine; test_train.py and test_follow.py do that.)"""
    import secrets

    from rnnviz.run import RunSpec
    from rnnviz.training import Trainer

    trainer = Trainer.from_spec(RunSpec(**TWO_LAYERS))
    while not trainer.done:
        trainer.step()
    rid = secrets.token_urlsafe(12)  # as WorkerPool.submit names a run
    trainer.save(server.runs_dir / f"{rid}.safetensors")
    return rid


def test_gradient_flow_sections_follow_layer_and_sequence(page, server, two_layer_run):
    open_app(page, server, f"/gradients?run={two_layer_run}")
    below = ("gradients.connectivity", "whatif.fig")
    before = {k: wait_for(lambda k=k: figure_data(page, k), 30, what=k) for k in ("gradients.curve", *below)}
    slide(page, "Probe sequence")
    # the script has ended (slide waits for it); a loaded browser may still be drawing the charts below, one by one
    redrawn = lambda k, old: wait_for(lambda: (d := figure_data(page, k)) != old and d, 20,  # noqa: E731
                                      what=f"{k} to be redrawn")
    after = {}
    for k in before:
        try:
            after[k] = redrawn(k, before[k])
        except TimeoutError:
            raise AssertionError(f"{k} still shows the first probe sequence after the slider moved") from None
    jac = figure_data(page, "gradients.jacobian")
    slide(page, "Layer")
    for k, old, what in (("whatif.fig", after["whatif.fig"], "the what-if panel"),
                         ("gradients.jacobian", jac, "the Jacobian figure")):
        try:
            redrawn(k, old)
        except TimeoutError:
            raise AssertionError(f"{what} kept layer 0") from None
    assert json.loads(page.evaluate("() => JSON.stringify(location.search)")).count("layer=1") == 1
    assert_drawn_once(page)  # at the normal theme's sizes (the cold pages check presentation mode)
    screenshot(page, "gradients-layer-1-sequence-1")


def test_hidden_state_sections_follow_layer_and_sequence(page, server, two_layer_run):
    open_app(page, server, f"/hidden?run={two_layer_run}")
    heat = wait_for(lambda: figure_data(page, "hidden.heat"), 30, what="the hidden-state heat map")
    text = wait_for(lambda: html_block(page, "title=\"t = 0 "), 30, what="the text read through one unit")
    slide(page, "Probe sequence")
    try:  # drawn by the browser after the script ends: a loaded one takes its time
        wait_for(lambda: figure_data(page, "hidden.heat") != heat, 20, what="the heat map to be redrawn")
    except TimeoutError:
        raise AssertionError("the heat map kept the first sequence") from None
    moved = html_block(page, "title=\"t = 0 ")
    assert moved != text, "the text read through one unit kept the first sequence"
    slide(page, "Layer")
    assert html_block(page, "title=\"t = 0 ") != moved, "the text read through one unit kept layer 0"
    assert_drawn_once(page)
