"""The Train page's controls: each bounded to what trains live on two cores, with help text, bound to the
link (links.py), and turned into a run spec for the worker pool. Not the live charts (live.py).
"""
from __future__ import annotations

import json
import math

import streamlit as st

from rnnviz.cells import SPECS
from rnnviz.checkpoints.reading import parse_json
from rnnviz.init import SCHEMES
from rnnviz.run import ACTIVE, RunSpec
from rnnviz.ui import links, widgets
from rnnviz.ui.safe import plain

LIVE_MAX_STEPS = 20_000  # a live run's step cap: a worker never outlives its purpose
LIVE_MAX_HIDDEN = 256
HIDDEN = (8, 16, 32, 64, 128, 256)
LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
STEPS = (100, 200, 500, 1000, 2000, 3000, 5000, 10_000, 20_000)
CLIPS = (0.0, 0.1, 0.5, 1.0, 5.0, 10.0)
TBPTT = (0, 2, 5, 10, 20, 50)
BATCHES = (4, 8, 16, 32, 64, 128)
DEFAULT_TASK = "adding"
START_FROM = "train.start_from"  # a run id whose latest save Train starts from ("Continue from its weights")
K_TEXT_FILES = "train.textfile.n"  # how many times a setup has replaced the text uploader (its key's suffix)

SETUP_MB = 12  # the setup uploader's limit: its controls and a text_lm run's text (tasks.text.MAX_TEXT_BYTES, 2 MB,
# up to 6 bytes a character as JSON escapes), not the server's 400 MB for uploaders without a limit


@st.cache_resource
def task(name: str, seq_len: int | None = None):
    """A task instance, shared read-only (tasks hold no per-user state)."""
    from rnnviz.tasks import get_task

    return get_task(name, **({} if seq_len is None else {"seq_len": seq_len}))


def task_names() -> list[str]:
    from rnnviz.tasks import TASKS

    return list(TASKS)


def params(task_name: str) -> list[links.Param]:
    """Every control's URL parameter, with defaults from the chosen task's own training defaults."""
    d = task(task_name).defaults
    lo, hi = task(task_name).limits.get("seq_len", (1, 1000))
    seq = task(task_name).params.seq_len
    P = links.Param
    return [
        P("arch", "train.arch", d.arch, tuple(SPECS)), P("layers", "train.layers", d.num_layers, lo=1, hi=4),
        P("hidden", "train.hidden", _nearest(d.hidden_size, HIDDEN), HIDDEN),
        P("optimizer", "train.optimizer", "adam", ("adam", "sgd")), P("lr", "train.lr", _nearest(d.lr, LRS), LRS),
        P("clip", "train.clip", 0.0, CLIPS), P("tbptt", "train.tbptt", 0, TBPTT),
        P("init", "train.init", "default", tuple(SCHEMES)), P("radius", "train.radius", 1.0, lo=0.1, hi=3.0),
        P("seed", "train.seed", 0, lo=0, hi=10_000), P("steps", "train.steps", _nearest(d.steps, STEPS), STEPS),
        P("batch", "train.batch", _nearest(d.batch_size, BATCHES), BATCHES),
        P("seq_len", "train.seq_len", int(seq), lo=max(2, lo), hi=min(200, hi)),
        P("forget_bias", "train.forget_bias", 0.0, lo=-5.0, hi=5.0),
        P("l2", "train.l2", 0.0, lo=0.0, hi=0.1), P("pascanu", "train.pascanu", 0.0, lo=0.0, hi=10.0),
        P("attention", "train.attention", d.attention, ("none", "additive", "dot")),
    ]


def _nearest(value, options):
    return min(options, key=lambda o: abs(o - value))


def task_param() -> links.Param:
    return links.Param("task", "train.task", DEFAULT_TASK, tuple(task_names()))


def _on_task_change() -> None:
    """A new task brings its own defaults: forget the old task's settings, in the session and the link."""
    for p in params(DEFAULT_TASK):
        st.session_state.pop(p.key, None)
        st.session_state.get(links.KEPT, {}).pop(p.key, None)
        if p.name in st.query_params:
            del st.query_params[p.name]


def controls() -> dict:
    """Draws the controls and returns their values by URL name."""
    tp = task_param()
    links.seed([tp])
    names = task_names()
    st.selectbox("Task", names, key=tp.key, on_change=_on_task_change,
                 format_func=lambda n: f"{n} ({task(n).info.sequence_type})",
                 help="What the network must learn; each task makes one idea visible.")
    name = st.session_state[tp.key]
    st.caption(task(name).info.teaches)
    if name == "text_lm":
        _user_text()
    ps = params(name)
    links.seed(ps)
    by = {p.name: p for p in ps}
    c1, c2, c3 = st.columns(3)
    seq2seq = task(name).info.sequence_type == "many-to-many-async"  # attention reads the state: not LRU, S6, mLSTM
    archs = [a for a, spec in SPECS.items() if not (seq2seq and spec.reads_out)]
    if st.session_state.get(by["arch"].key) not in archs:  # e.g. ?task=reverse&arch=s6 in a link
        st.session_state[by["arch"].key] = task(name).defaults.arch
    c1.selectbox("Architecture", archs, key=by["arch"].key, help="The recurrent cell (see `rnnviz list`)." +
                 (" An encoder-decoder's attention reads its decoder's state, so the LRU, S6 and the mLSTM, whose "
                  "output is read from their state, are not offered." if seq2seq else ""))
    cell = SPECS[st.session_state[by["arch"].key]]
    sizes = tuple(h for h in HIDDEN if not cell.head_blocks or h % cell.state_per_unit == 0)  # whole mLSTM heads
    asked = st.session_state.get(by["hidden"].key)
    if asked not in sizes:  # e.g. ?arch=mlstm&hidden=8 in a link, or 8 left from another cell
        st.session_state[by["hidden"].key] = _nearest(asked or sizes[0], sizes)
    c2.select_slider("Hidden units", sizes, key=by["hidden"].key, help="Units per layer; more learn more, slower." + (
        f" This cell's heads are {cell.state_per_unit} units wide." if len(sizes) < len(HIDDEN) else ""))
    c3.slider("Layers", 1, 4, key=by["layers"].key, help="Stacked recurrent layers.")
    c1.select_slider("Learning rate", LRS, key=by["lr"].key, format_func=lambda v: f"{v:g}",
                     help="Step size of the optimiser. Too large diverges, too small crawls.")
    c2.select_slider("Clip gradient norm", CLIPS, key=by["clip"].key, format_func=lambda v: "off" if v == 0 else f"{v:g}",
                     help="Rescale the gradient when its norm exceeds this: the cure for exploding gradients.")
    c3.select_slider("Truncated BPTT window", TBPTT, key=by["tbptt"].key,
                     format_func=lambda v: "full" if v == 0 else str(v),
                     help="Backpropagate at most this many steps: cheaper, but blind to longer dependencies.")
    shaped = SPECS[st.session_state[by["arch"].key]].has_w_hh  # the schemes shape W_hh; minGRU has none
    if not shaped:
        st.session_state[by["init"].key] = "default"
    c1.selectbox("Initialisation", list(SCHEMES), key=by["init"].key, disabled=not shaped,
                 help=" · ".join(f"{k}: {v}" for k, v in SCHEMES.items()) if shaped else
                 "This cell has no W_hh for a scheme to shape: its weights start as torch's default, or as its "
                 "paper's (LRU, S6, mLSTM).")
    c2.number_input("Seed", 0, 10_000, key=by["seed"].key, help="Same seed, same data and weights: fair comparisons.")
    c3.select_slider("Steps", STEPS, key=by["steps"].key, help="Optimiser steps before the run finishes.")
    if st.session_state[by["init"].key] == "spectral":
        st.slider("Spectral radius of W_hh", 0.1, 3.0, step=0.1, key=by["radius"].key,
                  help="Below 1 gradients vanish geometrically; above 1 they can explode.")
    if widgets.show_advanced():
        with st.expander("Advanced settings"):
            _advanced(by, name)
    values = {p.name: links.value(p) for p in [tp, *ps]}
    links.write_back([tp, *ps])
    return values


def _user_text() -> None:
    """The text a text_lm run learns: pasted, or a UTF-8 file (checked by tasks.load_text)."""
    from rnnviz.tasks.text import DEFAULT_TEXT, MAX_TEXT_BYTES

    f = st.file_uploader("Your text: a UTF-8 .txt file", type=["txt", "md", "py", "csv"], key=_text_file_key(),
                         max_upload_size=math.ceil(MAX_TEXT_BYTES / 2 ** 20),  # the widget then says the same limit
                         help=f"Up to {MAX_TEXT_BYTES / 1e6:g} MB; the model learns to predict its next character.")
    st.text_area("…or paste text", DEFAULT_TEXT, height=150, key="train.text", disabled=f is not None)


def _text_file_key() -> str:
    """The text uploader's key. A setup or a copied run that brings its own text moves it to a new key, which
    empties it: a file still attached from before would otherwise be trained on instead of that text."""
    return f"train.textfile.{st.session_state.get(K_TEXT_FILES, 0)}"


def user_text() -> str:
    """The chosen text, checked; ValueError (one sentence) if it is not usable."""
    from rnnviz.tasks import load_text

    f = st.session_state.get(_text_file_key())
    return load_text(f.getvalue() if f is not None else st.session_state.get("train.text", ""))


def _advanced(by: dict, name: str) -> None:
    a1, a2, a3 = st.columns(3)
    a1.selectbox("Optimizer", ["adam", "sgd"], key=by["optimizer"].key, help="Adam adapts step sizes; SGD uses momentum 0.9.")
    a2.select_slider("Batch size", BATCHES, key=by["batch"].key, help="Sequences per step.")
    p = by["seq_len"]
    a3.slider("Sequence length / lag", int(p.lo), int(p.hi), key=p.key, help="Longer means longer dependencies.")
    a1.slider("Forget-gate bias (LSTM)", -5.0, 5.0, step=0.5, key=by["forget_bias"].key,
              help="Positive values start the forget gate open, so memory is kept by default (0: torch's init).")
    a2.select_slider("L2 penalty", [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1], key=by["l2"].key, format_func=lambda v: f"{v:g}")
    a3.select_slider("Pascanu regulariser", [0.0, 0.1, 1.0, 2.0, 5.0, 10.0], key=by["pascanu"].key,
                     help="Asks each step to preserve the error signal's norm (Pascanu et al. 2013); slower steps.")
    if task(name).info.sequence_type == "many-to-many-async":
        a1.selectbox("Attention", ["none", "additive", "dot"], key=by["attention"].key,
                     help="Additive: Bahdanau et al. 2015; dot: Luong et al. 2015.")


def values() -> dict:
    """Every control's value by URL name, read from the session at call time: a button callback gets what the
    form shows when it is clicked, not what it showed at the last render (a typed seed, not yet sent by Enter,
    arrives with the click)."""
    tp = task_param()
    return {p.name: links.value(p) for p in [tp, *params(links.value(tp))]}


def spec(values: dict) -> RunSpec:
    """The run the controls describe (URL names are RunSpec's field names); ValueError (one sentence) if it is
    too large to train live. Task defaults and the other checks come with RunSpec.resolved()."""
    if values["hidden"] > LIVE_MAX_HIDDEN:
        raise ValueError(f"hidden size {values['hidden']} is too large to train live; use at most {LIVE_MAX_HIDDEN}")
    knobs = {k: v for k, v in values.items() if k in RunSpec.__dataclass_fields__}
    knobs.update(steps=min(values["steps"], LIVE_MAX_STEPS), seed=int(values["seed"]),
                 forget_bias=values["forget_bias"] or None,  # 0 on the slider: torch's own initialisation
                 text=user_text() if values["task"] == "text_lm" else None)
    source = starting_run()
    if source is not None:  # its save, named here on the server (a link or a setup file never names a path)
        knobs.update(start_from=source.saved or "", label=f"{source.label} · continued")  # "": not saved yet
    return RunSpec(**knobs)  # resolved (and checked) once, by state.start_run


def starting_run():
    """The run whose weights Train starts from ("Continue from its weights"), or None."""
    from rnnviz.ui import state

    run_id = st.session_state.get(START_FROM)
    return state.pool().get(run_id) if run_id else None


def start_note() -> None:
    """Above the Train button, while Train would continue a run: says so, with a way back to a fresh start."""
    source = starting_run()
    if source is None:
        st.session_state.pop(START_FROM, None)
        return
    when = (f"saved every few seconds while it trains; it is at step {source.step} now" if source.status in ACTIVE
            else f"as it ended, at step {source.step}")
    st.info(f"Train continues **{plain(source.label)}** from its latest saved weights ({when}), with a fresh "
            "optimizer. Keep its task, architecture, width and layers.")
    st.button("Start from scratch instead", key="train.from_scratch", on_click=st.session_state.pop,
              args=(START_FROM, None))


def setup_io(values: dict) -> None:
    """Download this setup as JSON, or load one back: the controls then reproduce it."""
    c1, c2 = st.columns([1, 3])
    c1.download_button("Download setup (JSON)", data=lambda: json.dumps(_with_text(values), indent=1),
                       file_name="rnnviz-setup.json",
                       mime="application/json", on_click="ignore", key="train.setup.out",
                       help="Every control's value; load it here (or share the page's link) to reproduce this run.")
    c2.file_uploader("Load a setup", type=["json"], key="train.setup.in", on_change=_load_setup,
                     label_visibility="collapsed", help="A JSON file from 'Download setup'.",
                     max_upload_size=SETUP_MB)  # not the server's 400 MB: a setup is its controls and its text
    error = st.session_state.pop("train.setup.error", None)
    if error:
        st.error(error)


def _with_text(values: dict) -> dict:
    """The setup, with a text_lm run's text: without it, loading the setup back would train on the default text."""
    if values.get("task") != "text_lm":
        return values
    try:
        return {**values, "text": user_text()}
    except ValueError:  # the text is not usable yet: the form says so where it is typed
        return values


def _load_setup() -> None:
    """Callback (runs before the widgets are drawn, so it may set their values)."""
    f = st.session_state.get("train.setup.in")
    if f is None:
        return
    st.session_state.pop(START_FROM, None)  # a loaded setup trains from scratch
    try:
        data = parse_json(f.getvalue().decode("utf-8"), "that file", "a setup")
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        fill(data)
    except (ValueError, UnicodeDecodeError) as e:
        st.session_state["train.setup.error"] = (f"That setup file could not be used ({plain(e, 200)}); download one "
                                                 "from this page.")


def fill(data: dict) -> None:
    """Sets every control from a setup (URL names; a RunSpec's to_dict() is one): a callback's job, before the
    widgets are drawn. ValueError (one sentence) if a value does not fit its control; nothing changes then."""
    name = task_param().parse(str(data.get("task", DEFAULT_TASK)))
    parsed = {p.key: p.parse(p.show(data[p.name]) if not isinstance(data[p.name], str) else data[p.name])
              for p in params(name) if data.get(p.name) is not None}  # None: "the task's own" (a run's setup)
    text = data.get("text")
    if name == "text_lm" and text is not None:  # a text_lm run's own text, so Train repeats that run
        from rnnviz.tasks import load_text

        if not isinstance(text, str):
            raise ValueError("its text is not a string")
        text = load_text(text.encode("utf-8"))  # checked as a pasted text is: size, characters
    _on_task_change()
    st.session_state[task_param().key] = name
    st.session_state.update(parsed)
    st.session_state.setdefault(links.KEPT, {}).update(parsed)
    if name == "text_lm" and text is not None:
        st.session_state["train.text"] = text
        st.session_state[K_TEXT_FILES] = st.session_state.get(K_TEXT_FILES, 0) + 1


def preview(values: dict) -> None:
    """Before the first run: the chosen network unrolled on the chosen task, untrained (what Train will fit).
    It also has the browser load its plotting code before the Train click, not after it."""
    from rnnviz.ui.lessons import untrained
    from rnnviz.ui.lessons.basics import unrolled

    if values["task"] == "text_lm":  # needs the user's text; its graph is a character model's like code_lm's
        return
    t = task(values["task"])
    attention = values["attention"] if t.info.sequence_type == "many-to-many-async" else None
    shortest = int(t.limits.get("seq_len", (1, None))[0])  # a few steps read best; some tasks need more
    s = untrained(values["task"], values["arch"], 16, max(shortest, min(t.params.seq_len, 12)), attention=attention)
    st.markdown(f"**Your network before training**: {values['arch']} on `{values['task']}`, unrolled through time. "
                f"{t.info.teaches}")
    unrolled(s, t.info.sequence_type, "train.preview", steps=8)

