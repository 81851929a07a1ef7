"""Every page through Streamlit's AppTest (no browser): it runs cold without an exception and draws a chart;
the Train page trains a run until its Step metric moves. Pages come from rnnviz.ui.pages_index.PAGES, so a new
page is covered when it is listed. The worker pool is one st.cache_resource for the whole process: the module
fixture points it at a temporary folder and shuts it down (stopping and joining its workers) at the end."""
import base64
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnnviz.ui.chart import figures

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
HOME_TITLE = "rnnviz: see inside recurrent networks"


def pages() -> list[tuple[str, str]]:
    """(file in app_pages/, url path) of every page the navigation lists."""
    from rnnviz.ui.pages_index import PAGES

    return [(file, path) for entries in PAGES.values() for file, _title, path, *_ in entries
            if (ROOT / "app_pages" / file).is_file()]


@pytest.fixture(scope="module", autouse=True)
def worker_pool(tmp_path_factory):
    from rnnviz.ui import state

    before = os.environ.get("RNNVIZ_RUNS_DIR")
    os.environ["RNNVIZ_RUNS_DIR"] = str(tmp_path_factory.mktemp("runs"))
    state.pool.clear()  # a pool made earlier in this process would write elsewhere
    threads = torch.get_num_threads()
    yield
    state.pool().shutdown()  # stops and joins the workers: torch threads alive at exit can abort the interpreter
    state.pool.clear()
    torch.set_num_threads(threads)  # pool() set one thread for the server's own torch work
    if before is None:
        os.environ.pop("RNNVIZ_RUNS_DIR", None)
    else:
        os.environ["RNNVIZ_RUNS_DIR"] = before


def open_page(file: str, **query) -> AppTest:
    """A new session on `file`. AppTest finds a page whose url_path differs from its file name (home.py is "",
    lesson_6.py is "lesson-long-term") only after a first run has registered the navigation; without it,
    switch_page silently stays on the default page."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    if dict(pages())[file] != file.removesuffix(".py"):
        at.run()
    if file != "home.py":
        at.switch_page(f"app_pages/{file}").run()
        assert at.title and at.title[0].value != HOME_TITLE, f"AppTest did not open {file}"
    return at


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, "\n".join(e.value + "\n" + "\n".join(e.stack_trace) for e in at.exception)


def views_of_untrained(arch: str, hidden: int, views: list[str], embed: int = 5):
    """Each view page in turn on an untrained `arch` model (vocabulary a..h) opened as an upload: yields
    (path, the AppTest after that page ran without exception or error, the page's chart titles joined)."""
    from rnnviz.build import build_model
    from rnnviz.checkpoints import Loaded
    from rnnviz.models import ModelConfig
    from rnnviz.subject import from_checkpoint
    from rnnviz.ui.state import K_CURRENT, K_UPLOADS

    files = dict((p, f) for f, p in pages())
    m = build_model(ModelConfig(arch=arch, vocab_size=8, embed_size=embed, hidden_size=hidden, output_size=8), "cpu")
    loaded = Loaded(m.eval(), m.cfg, "rnnviz", vocab=list("abcdefgh"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[K_UPLOADS] = {f"{arch}.safetensors": from_checkpoint(loaded, f"{arch}.safetensors")}
    at.session_state[K_CURRENT] = f"upload:{arch}.safetensors"
    for path in views:
        at.switch_page(f"app_pages/{files[path]}").run()
        assert_no_exception(at)
        assert not at.error, f"/{path} for {arch}: {at.error[0].value}"
        charts = figures(at)
        yield path, at, " ".join(c["layout"].get("title", {}).get("text", "") for c in charts)


def step(at: AppTest) -> int:
    values = [m.value for m in at.metric if m.label == "Step"]
    return int(values[0].replace(",", "")) if values else 0


def test_pages_are_listed():
    paths = {path for _, path in pages()}
    assert {"", "train", "graph", "gradients", "hidden", "gates", "attention", "generate", "checkpoints"} <= paths


@pytest.mark.parametrize("file", [f for f, _ in pages()], ids=[p or "overview" for _, p in pages()])
def test_page_runs_cold(file):
    at = open_page(file)
    assert_no_exception(at)
    path = dict(pages())[file]
    charts = figures(at)
    assert charts, f"/{path} drew no chart on a cold start"
    assert all(c["data"] for c in charts), f"/{path} drew an empty chart"


@pytest.mark.parametrize("task", [t for t in __import__("rnnviz.tasks", fromlist=["TASKS"]).TASKS if t != "text_lm"])
def test_train_page_previews_the_untrained_network_for_every_task(task):
    at = open_page("train.py", task=task, arch="gru")
    assert_no_exception(at)
    assert at.button(key="train.go").label == "Train" and not at.error
    spec = figures(at)[0]
    assert spec["data"] and "Unrolled" in spec["layout"]["title"]["text"]


def test_train_page_trains_and_stops():
    at = open_page("train.py", task="parity", arch="gru", hidden="8", steps="20000")
    at.button(key="train.go").click().run()
    assert_no_exception(at)
    deadline = time.monotonic() + 120
    while step(at) == 0:  # run_every never fires in AppTest: poll by rerunning
        assert time.monotonic() < deadline, "the Step metric stayed at 0 for 120 s"
        time.sleep(0.25)
        at.run()
        assert_no_exception(at)
    first = step(at)
    while step(at) <= first:
        assert time.monotonic() < deadline, f"the Step metric stuck at {first}"
        time.sleep(0.25)
        at.run()
    assert figures(at), "a training run drew no chart"
    loss = next(f for f in figures(at) if "Training" in json.dumps(f))
    drawn = max(x for t in loss["data"] for x in (t.get("x") or []) if isinstance(x, (int, float)))
    assert loss["layout"]["title"]["text"].endswith(f" to step {int(drawn):,}"), loss["layout"]["title"]
    # the chart is rebuilt within the server's budget and can lag the Step metric: its title says how far it goes
    at.button(key="live.stop").click().run()
    while not [b for b in at.get("download_button") if b.proto.label == "Download checkpoint"]:
        assert time.monotonic() < deadline, "the stopped run never offered its checkpoint"
        time.sleep(0.25)
        at.run()
    assert_no_exception(at)
    files = lambda: sorted((b.proto.url, b.proto.deferred_file_id) for b in at.get("download_button")  # noqa: E731
                           if b.proto.label in ("Download checkpoint", "Run setup (JSON)"))
    before = files()
    at.run()  # a redraw (the controls poll each second) keeps each file's id: a click in between still finds it
    assert files() == before and len(before) == 2, before


def test_a_run_is_continued_from_its_weights_or_copied_to_start_from_scratch():
    """Issue #15: someone holding a run could copy its settings, not its weights. "Continue from its weights" fills
    the form and has Train start from the run's save, saying so above the Train button; "Start from scratch
    instead" undoes that; a form changed to a network the weights do not fit gets one sentence."""
    from rnnviz.ui import state

    at = open_page("train.py", task="parity", arch="gru", hidden="8", steps="100")
    def finished():
        deadline = time.monotonic() + 120
        while not [b for b in at.get("download_button") if b.proto.label == "Download checkpoint"]:
            assert time.monotonic() < deadline, "the run never finished"
            time.sleep(0.25)
            at.run()

    at.button(key="train.go").click().run()
    finished()
    current = lambda: state.pool().get(at.session_state["rnnviz.current"].removeprefix("run:"))  # noqa: E731
    first = current()
    at.button(key="live.continue").click().run()
    assert_no_exception(at)
    assert any(f"continues {first.label}" in i.value.replace("*", "").replace("\\", "") for i in at.info), \
        [i.value for i in at.info]
    at.button(key="train.go").click().run()
    assert_no_exception(at)
    second = current()
    assert second.id != first.id and second.spec.start_from == first.saved and "continued" in second.label
    finished()
    assert second.status == "finished", (second.status, second.message)
    at.button(key="live.copy").click().run()  # copy alone: from scratch
    at.button(key="live.continue").click().run()
    at.button(key="train.from_scratch").click().run()
    assert not any("continues" in i.value for i in at.info)
    at.button(key="live.continue").click().run()
    at.select_slider(key="train.hidden").set_value(16).run()
    at.button(key="train.go").click().run()
    said = " ".join(e.value for e in at.error)
    assert "do not fit this network" in said, said


VIEWS = ["graph", "gradients", "hidden", "gates", "attention", "generate", "checkpoints"]


def finished_run(at: AppTest, deadline: float) -> str:
    """Reruns until the current run has finished (it offers its checkpoint); returns its id from the link."""
    while not [b for b in at.get("download_button") if b.proto.label == "Download checkpoint"]:
        assert time.monotonic() < deadline, "the run never finished"
        time.sleep(0.25)
        at.run()
        assert_no_exception(at)
    run = at.query_params["run"]
    return run[0] if isinstance(run, list) else run


def showing(at: AppTest) -> str:
    return at.sidebar.selectbox[0].value


@pytest.fixture(scope="module")
def trained():
    """One short LSTM run, trained to the end through the Train page: (its AppTest, its run id)."""
    at = open_page("train.py", task="parity", arch="lstm", hidden="8", steps="100")
    at.button(key="train.go").click().run()
    run_id = finished_run(at, time.monotonic() + 180)
    assert showing(at) == f"run:{run_id}"
    return at, run_id


@pytest.mark.parametrize("path", VIEWS)
def test_view_pages_show_the_run_after_training(trained, path):
    at, run_id = trained
    at.query_params.clear()  # as the sidebar's navigation does: every page puts ?run= back, so a refresh restores
    at.switch_page(f"app_pages/{dict((p, f) for f, p in pages())[path]}").run()
    assert_no_exception(at)
    assert showing(at) == f"run:{run_id}", f"/{path} stopped showing the user's run"
    run = at.query_params.get("run")
    assert (run[0] if isinstance(run, list) else run) == run_id, f"/{path} left the run out of its link"
    charts = figures(at)
    assert charts and all(c["data"] for c in charts), f"/{path} drew no chart for the run"
    if path == "gates":  # the run is an LSTM: its own gates, not a demo's, are drawn
        names = {t.get("name") for c in charts for t in c["data"]}
        assert {"i", "f", "o"} & names or any("forget" in str(n) for n in names), names


def test_gradient_race_shows_the_sessions_runs_side_by_side(trained):
    """A second run in the same session: Gradient flow races the two, one map per run on one colour scale."""
    at, first = trained
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="train.seed").set_value(7).run()
    at.button(key="train.go").click().run()
    second = finished_run(at, time.monotonic() + 180)
    assert second != first
    at.switch_page("app_pages/gradients.py").run()
    assert_no_exception(at)
    assert "The gradient race" in [h.value for h in at.header]
    assert at.multiselect(key="gradients.race").value == [first, second]
    race = [f for f in figures(at) if f["layout"].get("title", {}).get("text") == "The gradient race"]
    assert race and [t["name"] for t in race[0]["data"]] == [showing_label(at, first), showing_label(at, second)]
    at.switch_page("app_pages/train.py").run()  # the fixture's run is the current one again for later tests
    at.sidebar.selectbox[0].set_value(f"run:{first}").run()


def showing_label(at: AppTest, run_id: str) -> str:
    from rnnviz.ui import state

    return state.pool().get(run_id).label


def test_a_refresh_or_second_tab_restores_the_run_from_its_link(trained):
    _, run_id = trained
    at = open_page("train.py", run=run_id)  # a new session (a refresh, or the link pasted into another tab)
    assert_no_exception(at)
    assert showing(at) == f"run:{run_id}"
    assert step(at) == 100, "the restored run lost its progress"


def test_a_link_survives_a_server_restart(trained):
    """The run's autosave on disk brings it back when the server no longer has it in memory."""
    from rnnviz.ui import state

    _, run_id = trained
    saved = state.pool().runs_dir / f"{run_id}.safetensors"
    assert saved.is_file(), "a finished run was not autosaved"
    other = "f" * 32  # a run this process never trained: only its file exists
    (saved.parent / f"{other}.safetensors").write_bytes(saved.read_bytes())
    at = open_page("train.py", run=other)
    assert_no_exception(at)
    assert showing(at) == f"run:{other}"
    assert step(at) == 100


def test_an_expired_link_says_so_and_shows_the_demo():
    at = open_page("graph.py", run="0123456789abcdef" * 2)
    assert_no_exception(at)
    assert showing(at).startswith("demo:")
    assert any("expired" in m.value for m in list(at.info) + list(at.warning) + list(at.caption)), \
        "no note said the link had expired"



def test_lesson_5s_reach_figure_is_drawn_on_the_lessons_own_task_and_says_its_length():
    """The figure once said "40 steps" over a 24-step bracket_depth input while the lesson trained on code."""
    from rnnviz.lessons import LESSONS

    lesson = next(x for x in LESSONS if x.number == 5)
    at = open_page("lesson_5.py")
    assert_no_exception(at)
    specs = figures(at)
    reach = next(f for f in specs if "How far back" in str(f["layout"].get("title", {}).get("text", "")))
    subtitle = reach["layout"]["title"]["subtitle"]["text"].replace("<br >", " ")
    first = lesson.presets[0]
    assert first.task == "code_lm" and f"the same {first.seq_len} characters of code" in subtitle, subtitle  # not
    # its internal name "code_lm"
    # it said the nine "carry the gradient back about equally" over curves 2× apart: the numbers come from the curves
    ys = [np.frombuffer(base64.b64decode(t["y"]["bdata"]), dtype=t["y"]["dtype"]) for t in reach["data"]]
    curves = np.stack([np.asarray(y, dtype=np.float64) for y in ys])
    assert f"within {np.max(curves.max(0) / curves.min(0)):.1f}× of one another" in subtitle, subtitle


def test_lesson_9s_reach_figure_says_the_length_it_draws():
    """It said "the same 50-step input" over 51 steps (the first symbol, then 50 distractors)."""
    at = open_page("lesson_9.py")
    assert_no_exception(at)
    specs = figures(at)
    reach = next(f for f in specs if "How far back" in str(f["layout"].get("title", {}).get("text", "")))
    x = reach["data"][0]["x"]  # plotly's typed array: the time steps drawn
    assert len(base64.b64decode(x["bdata"])) // 4 == 51 and x["dtype"] == "f4"
    assert "the same 51-step input (its first symbol, then 50 distractors)" in reach["layout"]["title"]["subtitle"][
        "text"].replace("<br >", " ")


def test_a_second_click_on_a_lesson_is_judged_as_the_same_presets(monkeypatch):
    """Train twice: the runs are numbered "· run 2", and the lesson shows and judges the newest of each preset."""
    import types

    from rnnviz.lessons import BY_SLUG
    from rnnviz.ui import lessons as ui_lessons

    lesson = BY_SLUG["lesson-attention"]
    old = [types.SimpleNamespace(label=p.label, created=1.0, spec=p) for p in lesson.presets]
    new = [types.SimpleNamespace(label=f"{p.label} · run 2", created=2.0, spec=p) for p in lesson.presets]
    monkeypatch.setattr(ui_lessons, "runs", lambda _: old + new)
    assert ui_lessons.newest(lesson) == new
    assert [ui_lessons.preset_label(r) for r in new] == [p.label for p in lesson.presets]


def test_checkpoints_says_what_its_spectra_are_of():
    """A gated cell's W_hh is its gate blocks stacked: the table's spectral radius is the largest block's (the
    figures draw each block's) and its σ_max that of the whole matrix; a tanh RNN's one block is W_hh itself."""
    for arch, rho, sigma, weights in (
            ("lstm", "spectral radius (the largest gate block's)", "largest singular value (all of W_hh)",
             "W<sub>hh</sub>, split by gate block"),
            ("rnn_tanh", "spectral radius of W_hh", "largest singular value of W_hh", "W<sub>hh</sub> W<sub>ih</sub>")):
        (_, at, titles), = views_of_untrained(arch, 6, ["checkpoints"])
        table = next(d.value for d in at.table if "layer" in d.value.columns)
        about = next(d.value for d in at.table if "value" in d.value.columns)["value"]
        assert about["input"] == "tokens, vocabulary 8, embedded in 5 (W_ih's columns)", about["input"]  # 5, not 8
        assert [table.index.name, *table.columns] == ["stack", "layer", rho, sigma], arch
        assert (table[sigma].astype(float) >= table[rho].astype(float) - 1e-3).all(), arch  # σ_max bounds |λ|
        assert weights in titles and ("split by gate block" in titles) == (arch == "lstm"), titles


def test_an_uploader_states_the_limit_it_keeps():
    """The checkpoint uploader's label and the widget's own "Limit … per file" give the loader's limit (they said
    200 and 400 MB side by side); the text uploader's widget keeps to the text loader's 2 MB."""
    from rnnviz.checkpoints import MAX_FILE_BYTES
    from rnnviz.tasks.text import MAX_TEXT_BYTES

    ckpt, vocab = (next(u.proto for u in open_page("checkpoints.py").get("file_uploader") if word in u.proto.label)
                   for word in ("checkpoint", "Vocabulary"))
    assert ckpt.max_upload_size_mb * 2 ** 20 == MAX_FILE_BYTES and f"up to {ckpt.max_upload_size_mb} MB" in ckpt.label
    assert vocab.max_upload_size_mb == ckpt.max_upload_size_mb  # side by side they said 200 and 400 MB
    text = next(u.proto for u in open_page("train.py", task="text_lm").get("file_uploader") if "text" in u.proto.label)
    assert MAX_TEXT_BYTES <= text.max_upload_size_mb * 2 ** 20 < MAX_TEXT_BYTES + 2 ** 20, text.max_upload_size_mb
    setup = next(u.proto for u in open_page("train.py").get("file_uploader") if u.proto.label == "Load a setup")
    assert 6 * MAX_TEXT_BYTES <= setup.max_upload_size_mb * 2 ** 20 <= 16 * 2 ** 20  # its text, escaped; not 400 MB


def test_each_unit_finder_says_which_text_it_read():
    """Hidden states and lesson 7 rank the demo's units differently because they read different texts (the traced
    sample against 3,200 held-out characters); each finder's subtitle says which, from what it was given."""
    from rnnviz.ui.state import DEFAULT_DEMO, demo_subject

    step = demo_subject(DEFAULT_DEMO).latest.meta["train_step"]

    def subtitle(at):
        specs = [f["layout"]["title"] for f in figures(at)]
        return next(t["subtitle"]["text"] for t in specs if t["text"].startswith("Unit finder"))

    at = open_page("hidden.py")
    assert_no_exception(at)
    tokens = len(demo_subject(DEFAULT_DEMO).input_labels(demo_subject(DEFAULT_DEMO).latest, 0))
    assert f"Measured over the {tokens} steps of sample 0, layer 0, at training step {step:,}" in subtitle(at)
    at = open_page("lesson_7.py")
    assert_no_exception(at)
    assert "Measured over 3,200 characters it never trained on (8 windows of 400)" in subtitle(at)
    said = [m.value for m in at.markdown if m.value.startswith("**Unit ")]  # "follows (−0.54)" hid the sign
    assert len(said) == 2 and all(("inversely" in t) == ("(correlation −" in t) for t in said), said
    assert all("(correlation -" not in t for t in said), said  # a minus sign, not a hyphen


def test_lesson_8s_map_shows_what_its_text_says():
    """Lesson 8 said each row "puts its weight on the input column it copies"; the demo's rows mostly peak one
    column later (the one-way encoder's state there has read the token too). The text now says both, and every
    copying row of the demo's probe peaks on one of the two."""
    from rnnviz.lessons import BY_SLUG
    from rnnviz.ui.state import demo_subject

    assert "or on the one just after it" in " ".join(BY_SLUG["lesson-attention"].look_at)
    s = demo_subject("attention")
    alpha, x = s.latest["attention"], s.latest.inputs
    for b in range(len(x)):
        for t, where in enumerate(s.task.copies(x[b])):
            if where:
                peak = int(alpha[b, t].argmax())
                assert peak in where or peak - 1 in where, f"sample {b}, step {t}: peaks at {peak}, copies {where}"


def test_the_gates_page_does_not_call_s6_s_step_size_a_gate():
    """Over S6 the page began "A gate near 1 lets information through…" and ended "s6 has no sigmoid gates"."""
    (_, at, _), = views_of_untrained("s6", 8, ["gates"])
    text = " ".join(m.value for m in at.markdown)
    assert "how much of h it keeps each step is set by its step size Δ<sub>t</sub>" in text
    assert "A gate near 1" not in text
    # "It has no gates" was false: its output is gated by SiLU(z_t), as its own equations say
    assert "Its one gate, SiLU(z<sub>t</sub>), scales what it outputs" in text and "no gates" not in text
    from rnnviz.cells import get_spec

    assert any("⊙ SiLU(z_t)" in line for line in get_spec("s6").equations)
    (_, at, _), = views_of_untrained("lstm", 8, ["gates"])
    assert "A gate near 1 lets information through" in " ".join(m.value for m in at.markdown)


def test_lesson_text_writes_its_notation_as_sub_scripts():
    """Lesson 2 showed "h_{t-1}" with its braces (and no bias); the text is now HTML notation."""
    at = open_page("lesson_2.py")
    assert_no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "tanh(W<sub>hh</sub> h<sub>t−1</sub> + W<sub>xh</sub> x<sub>t</sub> + b)" in text
    assert "_{" not in text and "W_hh" not in text


def test_a_page_that_cannot_show_the_subject_names_the_demo_it_shows_instead():
    """It read "…, so this page shows demo: character lstm on generated code instead."."""
    (_, at, _), = views_of_untrained("rnn_tanh", 6, ["gates"])
    said = " ".join(i.value for i in at.info)
    assert "so this page shows the demo “character LSTM on generated code” instead." in said, said


def test_the_sidebar_names_a_run_whose_name_the_select_cuts():
    """The "Showing" select is an input: a long name is cut at its width ("Demo: character LSTM on gen"), and
    projected, at larger type, sooner. The whole name is then written below it."""
    from rnnviz.ui.safe import plain
    from rnnviz.ui.widgets import SELECT_CHARS, SELECT_CHARS_PRESENTING

    at = open_page("gates.py")
    shown = at.sidebar.selectbox[0].format_func(at.sidebar.selectbox[0].value)
    assert len(shown) > SELECT_CHARS, f"the bundled demo's name {shown!r} is short: this test needs a long one"
    assert plain(shown) in [c.value for c in at.sidebar.caption], [c.value for c in at.sidebar.caption]
    projected = open_page("gates.py", present="1")
    assert plain(shown) in [c.value for c in projected.sidebar.caption]
    assert SELECT_CHARS_PRESENTING < SELECT_CHARS  # larger type: fewer characters fit
