"""Every page in a real browser, cold (a new session, no runs) and in presentation mode, as a teacher's link
opens it on a projector: it draws a chart, shows no exception, keeps every text at 24 px or more with none cut
off and every figure within one 1080p screen, and is screenshotted at 1920x1080; on Checkpoints a bad upload is
refused in one sentence and the files people bring (a whole pickled word model, a one-hot model with a text
vocabulary, a 53 MB word model) open and draw every view page; a deep link works on a fresh server."""
import io
import random

import pytest
import torch
from harness import assert_drawn_once, assert_presentable, go, open_app, pages, screenshot, showing, wait_for, wait_idle
from playwright.sync_api import expect
from torch import nn

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
def test_page_loads_cold(tab, server, path, tmp_path):
    page = tab
    open_app(page, server, f"{path}?present=1")
    if path in NO_CHART_COLD:
        expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible()
    else:
        expect(page.locator(".rnnviz-chart .main-svg").first).to_be_visible(timeout=30_000)
    # rnnviz's chart element draws a figure once (Streamlit's drew each twice), and a page run that sends the same
    # figure again draws nothing (a link's settings can run a page twice)
    count = "() => [...document.querySelectorAll('.rnnviz-chart')].map(d => d.dataset.draws)"
    if path not in NO_CHART_COLD:  # charts draw one at a time: a busy browser may still be at the last one
        draws = wait_for(lambda: (d := page.evaluate(count)) and None not in d and d, 30, what="every chart drawn")
        assert set(draws) == {"1"}, f"/{path}: chart draws {draws}"
    assert_no_error(page)
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, f"a cold /{path} shows an error: {errors.first.inner_text()}"
    assert_presentable(page)
    assert_drawn_once(page)
    screenshot(page, f"page-{path or 'overview'}-present")
    if path == "checkpoints":  # the page files are brought to, already open: saves a cold load
        bad_checkpoint_upload_is_one_sentence(page)
        the_checkpoints_people_bring_open(page, tmp_path)


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


class WordModel(nn.Module):
    """pytorch/examples' word_language_model (encoder, rnn, decoder), pickled whole: the file names this class."""

    def __init__(self, ntoken: int, ninp: int = 8, nhid: int = 8):
        super().__init__()
        self.encoder, self.rnn = nn.Embedding(ntoken, ninp), nn.LSTM(ninp, nhid, 2)
        self.decoder = nn.Linear(nhid, ntoken)
        self.rnn_type = "LSTM"


class OneHotRNN(nn.Module):
    """PyTorch's "classifying names" tutorial style: nn.RNN fed one-hot rows, no embedding; saved as a state_dict."""

    def __init__(self, n_chars: int, hidden: int = 8):
        super().__init__()
        self.rnn, self.fc = nn.RNN(n_chars, hidden), nn.Linear(hidden, n_chars)


VIEW_PAGES = ("Unrolled graph", "Gradient flow", "Hidden states", "Gates", "Attention", "Generate")


def every_view_page_shows(page, name: str, sentence: str | None = None, titles=None) -> None:
    """The open upload on every view page (or those `titles`), moved to with the sidebar as a user does: each draws
    a chart, with no error box or traceback, still showing the upload (and, given `sentence`, saying it in the
    sidebar); then back to Checkpoints."""
    for title in titles or VIEW_PAGES:
        go(page, title)
        expect(page.locator(".rnnviz-chart .main-svg").first).to_be_visible(timeout=30_000)
        wait_idle(page)
        assert showing(page) == f"Upload: {name}", f"{title} stopped showing {name}"
        assert_no_error(page)
        errors = page.locator("[data-testid='stAlertContentError']")
        assert errors.count() == 0, f"{title} for {name}: {errors.first.inner_text()}"
        if sentence:
            expect(page.locator("[data-testid='stSidebar']").get_by_text(sentence, exact=False)).to_be_visible()
    go(page, "Checkpoints")
    wait_idle(page)


def whole(model: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(model, buf)
    return buf.getvalue()


def upload(page, label: str, name: str, data: bytes) -> None:
    uploader = page.locator("[data-testid='stFileUploader']").filter(has_text=label)
    uploader.locator("input[type='file']").set_input_files({"name": name, "mimeType": "application/octet-stream",
                                                            "buffer": data})


def opened(page, name: str) -> None:
    """The upload became the subject: the sidebar shows it and no error or traceback is on the page."""
    wait_for(lambda: page.evaluate("""name => [...document.querySelectorAll(
        "[data-testid='stSidebar'] input[aria-label='Showing']")].some(i => i.value === "Upload: " + name)""", name),
        90, what=f"the sidebar showing {name}")
    wait_idle(page)
    assert showing(page) == f"Upload: {name}"
    assert_no_error(page)
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, errors.first.inner_text()


def the_checkpoints_people_bring_open(page, tmp_path) -> None:
    """On the open Checkpoints page: a word model pickled whole (.net) with its word list, pytorch/examples' 53 MB
    word model and a one-hot model with its training text as the vocabulary each become what the app shows, and
    every view page draws the first word model with no error, and the pages that run the head the 53 MB one; for
    the one-hot model, Hidden states and Generate do and the sidebar says which order it assumed."""
    words = ["the", "cat", "sat", "on", "a", "mat", "."]
    upload(page, "Vocabulary", "words.txt", "\n".join(words).encode())
    wait_idle(page)  # each upload reruns the page (and reloads what is open): one at a time, as a user does
    upload(page, "A checkpoint", "word_lm.net", whole(WordModel(len(words))))
    opened(page, "word_lm.net")
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_text("inert stand-ins", exact=False)).to_be_visible()
    typed = page.get_by_label("Type an input (text)").input_value()
    assert set(typed.split()) <= set(words) and " " in typed, typed  # words, spaced: not characters run together
    every_view_page_shows(page, "word_lm.net")
    # the 53 MB model comes without a vocabulary: the uploaders were emptied when the page was left (Streamlit drops
    # a widget's value when it is not drawn), while the model they loaded stayed what the sidebar shows
    expect(page.get_by_role("button", name="Remove words.txt")).to_have_count(0)
    big = tmp_path / "wt2_lstm.pt"  # WikiText-2 at the example's README sizes: 53 MB, 2.6 MB of it recurrent
    torch.save(WordModel(33_278, 200, 200), big)
    assert big.stat().st_size > 50 * 2 ** 20
    page.locator("[data-testid='stFileUploader']").filter(has_text="A checkpoint").locator(
        "input[type='file']").set_input_files(big)
    opened(page, "wt2_lstm.pt")
    expect(main.get_by_text("tokens, vocabulary 33278", exact=False)).to_be_visible()
    # its views differ from the small word model's only in the head's width: the pages that run the head (a loss
    # over 33,278 words, sampling from them); the other four were just drawn for word_lm.net
    every_view_page_shows(page, "wt2_lstm.pt", titles=("Gradient flow", "Generate"))

    buf = io.BytesIO()
    torch.save(OneHotRNN(5).state_dict(), buf)
    upload(page, "A checkpoint", "names_rnn.pt", buf.getvalue())
    opened(page, "names_rnn.pt")
    upload(page, "Vocabulary", "input.txt", b"hello hello")  # a training text: " ehlo", in an order it assumes
    sentence = "in code-point order"
    expect(page.locator("[data-testid='stSidebar']").get_by_text(sentence, exact=False)).to_be_visible(timeout=30_000)
    wait_idle(page)
    assert showing(page) == "Upload: names_rnn.pt"
    # the pages that read its one-hot rows and write with its assumed order; AppTest opens every view page on it
    # (test_checkpoint_formats.py), so the browser need not repeat the other four
    every_view_page_shows(page, "names_rnn.pt", sentence, ("Hidden states", "Generate"))
    screenshot(page, "checkpoints-one-hot-with-a-training-text")
    upload(page, "Vocabulary", "later.txt", b"abc")  # back on the page, its checkpoint uploader empty: the file
    expect(page.get_by_text("later.txt was not read: a vocabulary is read with its checkpoint", exact=False)
           ).to_be_visible(timeout=30_000)  # would be dropped without a word
    assert showing(page) == "Upload: names_rnn.pt"
