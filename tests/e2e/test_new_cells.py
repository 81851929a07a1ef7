"""The recurrences that came back, in the browser as a class sees them: an LRU, an S6 and an mLSTM run opened on
Gradient flow (and Gates, where the cell has gates) in presentation mode at 1920x1080 show the figures their cell
calls for (the LRU's λ in the unit disk, S6's decays and step size Δ_t, the mLSTM's forget gate and stabiliser),
readable and drawn once, with no error.
(AppTest opens every view page on every new cell: tests/test_linear_cells.py, test_xlstm_cells.py.)"""
import pytest
from harness import assert_drawn_once, assert_presentable, open_app, screenshot, trained_run
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
# (arch, hidden, {page: the charts that show this cell's own record there}); an LRU has no gates (its Gates page
# shows the demo LSTM, as AppTest checks), S6's one is its step size Δ_t
CELLS = [("lru", 8, {"gradients": ["gradients.lambda"]}),
         ("s6", 8, {"gradients": ["gradients.decay"], "gates": ["gates.lines"]}),
         ("mlstm", 16, {"gradients": ["gradients.kept"], "gates": ["gates.m"]})]


@pytest.fixture(scope="module")
def runs(server):
    """One finished run per cell, 60 steps of the adding task (enough for probes; a second or two each)."""
    return {arch: trained_run(server, task="adding", arch=arch, hidden=hidden, steps=60, seq_len=20)
            for arch, hidden, _ in CELLS}


@pytest.mark.parametrize("arch, charts", [(arch, charts) for arch, _, charts in CELLS], ids=[c[0] for c in CELLS])
def test_a_new_cell_s_views_in_presentation_mode(tab, server, runs, arch, charts):
    page = tab
    for path, own in charts.items():
        open_app(page, server, f"/{path}?run={runs[arch]}&present=1")
        expect(page.locator(".rnnviz-chart .main-svg").first).to_be_visible(timeout=30_000)
        for key in own:
            expect(page.locator(f".st-key-{key.replace('.', '-')} .js-plotly-plot")).to_be_visible(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        errors = page.locator("[data-testid='stAlertContentError']")
        assert errors.count() == 0, f"/{path} on a {arch} run shows an error: {errors.first.inner_text()}"
        assert_presentable(page)
        assert_drawn_once(page)
        screenshot(page, f"{arch}-{path}-present")
