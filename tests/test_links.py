"""Shareable links: a link reproduces the Train page's setup, a changed control updates the link, and a bad
value falls back to the default with a visible note, never an error page."""
import pytest
from streamlit.testing.v1 import AppTest

APP = str(__import__("pathlib").Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_RUNS_DIR", str(tmp_path))
    monkeypatch.chdir(__file__.rsplit("/tests/", 1)[0])
    at = AppTest.from_file(APP, default_timeout=60)
    return at


def open_train(at, **params):
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("app_pages/train.py")
    at.run()
    assert not at.exception, at.exception
    return at


def widget(at, key):
    return next(w for w in at.main if getattr(w, "key", None) == key)


def test_link_reproduces_the_setup(app):
    at = open_train(app, task="adding", arch="gru", hidden="32", seed="3", lr="0.01", clip="1")
    assert at.selectbox(key="train.task").value == "adding"
    assert at.selectbox(key="train.arch").value == "gru"
    assert at.select_slider(key="train.hidden").value == 32
    assert at.number_input(key="train.seed").value == 3
    assert at.select_slider(key="train.lr").value == 0.01
    assert at.select_slider(key="train.clip").value == 1.0
    assert not at.warning


def test_the_mlstm_is_offered_whole_heads_only(app):
    """The mLSTM's heads are 16 units wide: a link asking for 8 gets 16, and 8 is not on the slider."""
    at = open_train(app, task="first_symbol", arch="mlstm", hidden="8")
    slider = at.select_slider(key="train.hidden")
    assert slider.value == 16 and 8 not in slider.options and "16" in [str(o) for o in slider.options]
    at.selectbox(key="train.arch").set_value("gru").run()
    assert "8" in [str(o) for o in at.select_slider(key="train.hidden").options]


def test_changing_a_control_updates_the_link(app):
    at = open_train(app, task="parity")
    at.selectbox(key="train.arch").set_value("rnn_tanh").run()
    assert at.query_params["arch"] == ["rnn_tanh"] or at.query_params["arch"] == "rnn_tanh"
    at.number_input(key="train.seed").set_value(7).run()
    assert "7" in str(at.query_params["seed"])
    at.selectbox(key="train.arch").set_value("lstm").run()  # back to the task's default: the link drops it
    assert "arch" not in at.query_params


@pytest.mark.parametrize("bad", [{"arch": "transformer"}, {"hidden": "100000"}, {"seed": "minus one"},
                                 {"lr": "fast"}, {"present": "maybe"}])
def test_invalid_link_values_fall_back_with_a_note(app, bad):
    at = open_train(app, task="adding", **bad)
    name = next(iter(bad))
    assert any(f"{name}=" in w.value and "ignored" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.selectbox(key="train.task").value == "adding"  # the good part of the link still applies


def test_unknown_task_falls_back(app):
    at = open_train(app, task="chess")
    assert at.selectbox(key="train.task").value == "adding"
    assert any("task=chess" in w.value for w in at.warning)


def test_presentation_mode_from_the_link(app):
    app.query_params["present"] = "1"
    app.run()  # app.py: the sidebar reads the link
    assert app.toggle(key="rnnviz.present").value is True
    assert "present" in app.query_params


def test_presentation_mode_hides_advanced_controls(app):
    at = open_train(app)
    assert any(e.label == "Advanced settings" for e in at.main.expander)
    at.session_state["rnnviz.present"] = True
    at.run()
    assert not any(e.label == "Advanced settings" for e in at.main.expander)


def test_a_link_cannot_put_markdown_links_or_images_into_the_page(app):
    """Issue #15: ?task=**bold** [link](http://…) was echoed as a clickable link inside the app's own note."""
    bait = "**Your session expired.** [Log in again](http://phish.example/login) ![x](http://phish.example/x.png)"
    at = open_train(app, task=bait, forget_bias="nan")
    notes = [w.value for w in at.warning]
    assert len(notes) == 2, notes  # both bad values are named
    said = " ".join(notes)
    for markup in ("**Your", "[Log in again](", "![x](", "http://"):
        assert markup not in said, f"{markup!r} reached the page as markup: {said}"
    assert "phish" in said and "Log in again" in said  # still shown, as plain text
    assert at.selectbox(key="train.task").value == "adding"


def test_nan_and_infinite_numbers_in_a_link_fall_back_to_the_default(app):
    at = open_train(app, task="adding", arch="lstm", forget_bias="nan", radius="inf", init="spectral")
    assert len(at.warning) == 2 and all("finite" in w.value for w in at.warning)
    assert at.slider(key="train.radius").value == 1.0


@pytest.mark.parametrize("run", ["x" * 300, "../../etc/passwd", "a" * 7, "%00"])
def test_a_crafted_run_id_gets_one_sentence(app, run):
    app.query_params["run"] = run
    at = app.switch_page("app_pages/graph.py").run()  # as the link opens it: one run, on that page
    assert not at.exception, at.exception
    said = " ".join(m.value for m in list(at.info) + list(at.warning))
    assert "not one rnnviz made" in said or "expired" in said, said
    assert "/" not in said.replace("rnnviz", "")  # no server path
    assert not at.error


def test_deeply_nested_json_is_one_sentence_not_a_recursion_error():
    from rnnviz.checkpoints import load_vocab
    from rnnviz.checkpoints.reading import parse_json

    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_json(deep, "setup.json", "a setup")
    with pytest.raises(ValueError, match="nested too deeply"):
        load_vocab(deep.encode(), "vocab.json")


def test_the_form_keeps_the_user_s_settings_across_pages(app):
    """Issue #15: after visiting another page, Train started something else than what the form had shown."""
    at = open_train(app, task="adding")
    at.select_slider(key="train.hidden").set_value(16)
    at.number_input(key="train.seed").set_value(7)
    at.run()
    at.query_params.clear()  # the sidebar's navigation drops the link
    at.switch_page("app_pages/graph.py").run()
    at.query_params.clear()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception
    assert at.select_slider(key="train.hidden").value == 16 and at.number_input(key="train.seed").value == 7


def test_train_reads_the_form_as_it_is_at_the_click(app):
    """Issue #15: a seed typed just before clicking Train (no Enter) was ignored: the button's arguments came from
    the previous page run. The callback now reads the form when it runs."""
    at = open_train(app, task="parity", arch="gru", hidden="8", steps="100")
    at.number_input(key="train.seed").set_value(5)  # the new value arrives with the click, in one page run
    at.button(key="train.go").click().run()
    assert not at.exception, at.exception
    from rnnviz.ui import state

    run = state.pool().get(at.query_params["run"][0] if isinstance(at.query_params["run"], list)
                           else at.query_params["run"])
    try:
        assert run.spec.seed == 5 and run.spec.hidden == 8
    finally:
        state.pool().shutdown()  # stops and joins the worker; the next test gets a fresh pool
        state.pool.clear()


@pytest.mark.parametrize("value", ["9" * 5000, "1e400", "-1e400"])
def test_absurd_numbers_in_a_link_are_named_in_words(app, value):
    at = open_train(app, task="adding", seed=value)
    said = " ".join(w.value for w in at.warning)
    assert "seed" in said and "sys." not in said and "set_int_max_str_digits" not in said, said
    assert at.number_input(key="train.seed").value == 0


def test_a_run_s_setup_download_loads_back():
    """The Run setup (JSON) button downloads a run's RunSpec: loading it must reproduce the controls, including
    the settings a resolved spec leaves as None (no forget bias, no attention for a step-by-step task)."""
    from rnnviz.run import RunSpec
    from rnnviz.ui import train_form

    data = RunSpec(task="adding", arch="lstm", hidden=32, seed=4).resolved().to_dict()
    assert data["forget_bias"] is None and data["attention"] is None
    params = {p.name: p for p in train_form.params("adding")}
    parsed = {n: params[n].parse(params[n].show(v) if not isinstance(v, str) else v)
              for n, v in data.items() if n in params and v is not None}
    assert parsed["hidden"] == 32 and parsed["seed"] == 4 and parsed["arch"] == "lstm"


def _filled_text_script():
    import streamlit as st

    from rnnviz.run import RunSpec
    from rnnviz.ui import train_form

    if "filled" not in st.session_state:  # as "Copy its settings" and "Load a setup" do, before the form is drawn
        st.session_state.filled = True
        train_form.fill(RunSpec(task="text_lm", text=("to be or not to be\n" * 8).strip(), hidden=16).to_dict())
    train_form._user_text()
    st.code(repr(train_form.user_text()))
    st.code(train_form._with_text({"task": "text_lm"}).get("text", "no text"))


def test_a_text_lm_setup_brings_its_text_into_the_form():
    """Copying a text_lm run's settings (or loading its setup) must bring the text it learned, not the default."""
    at = AppTest.from_function(_filled_text_script, default_timeout=60).run()
    assert not at.exception, at.exception
    text = ("to be or not to be\n" * 8).strip()
    assert at.text_area(key="train.text").value == text
    assert at.code[0].value == repr(text)
    assert at.code[1].value == text  # the downloaded setup carries it too


def test_remembered_settings_that_no_longer_fit_fall_back(app):
    """A sequence length kept from one task must not crash the Train page of a task with a shorter limit."""
    at = open_train(app, task="reverse")
    at.query_params.clear()
    at.switch_page("app_pages/graph.py").run()  # the Train page's widgets are forgotten meanwhile
    kept = dict(at.session_state["rnnviz.kept"])
    at.session_state["rnnviz.kept"] = {**kept, "train.seq_len": 150, "train.hidden": 999}  # left by another task
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert at.session_state["train.task"] == "reverse"
    assert at.session_state["train.seq_len"] <= 50 and at.session_state["train.hidden"] != 999


def test_the_owner_of_a_run_is_the_browser_across_page_loads_and_never_another_browser():
    """Issue #15: ownership by Streamlit session was lost on a refresh (hence a takeover rule that also handed the
    run to whoever held its link). The XSRF cookie's token, unmasked, names the browser: its mask changes at each
    page load (tornado's "2|mask|masked token|time"), the token does not."""
    from rnnviz.ui.state import browser_id

    def cookie(token: bytes, mask: bytes) -> str:
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(token))
        return f"2|{mask.hex()}|{masked.hex()}|1795865214"

    token, other = bytes(range(16)), bytes(range(1, 17))
    first, reload = browser_id(cookie(token, b"\x3e\xc8\x58\x67")), browser_id(cookie(token, b"\x67\x8b\x07\x61"))
    assert first and first == reload
    assert browser_id(cookie(other, b"\x3e\xc8\x58\x67")) != first
    assert browser_id("2|678b0761|2c17c18c69b7a5b406919ed24bc5ccd0|1795865214") == \
        browser_id("2|3ec85867|75549e8a30f4fab25fd2c1d4128693d6|1795865214")  # two loads of one real browser
    for bad in (None, "", "1|abc", "2|zz|00|1", "2|0102|0304|1", "2|01020304||1"):
        assert browser_id(bad) is None


def test_a_setup_s_text_replaces_an_attached_text_file(app):
    """Issue #15: with a text file attached, loading a setup (or copying a run) that brings its own text left the
    file attached, and Train learned the file, not the text the form had just been given."""
    import json

    at = open_train(app, task="text_lm")
    at.file_uploader[0].set_value(("mine.txt", ("the file's own text\n" * 8).encode(), "text/plain")).run()
    assert at.text_area(key="train.text").disabled  # the attached file is what Train would learn
    text = ("to be or not to be\n" * 8).strip()
    setup = json.dumps({"task": "text_lm", "hidden": 16, "text": text}).encode()
    at.file_uploader[1].set_value(("setup.json", setup, "application/json")).run()
    assert not at.exception, at.exception
    assert at.text_area(key="train.text").value == text and not at.text_area(key="train.text").disabled
    assert not at.file_uploader[0].value, "the old file is still attached"
