"""Every label on screen describes the sequence that was traced (issue #11): AppTest opens each view page and
the lessons on the adding demos and on a seed-3 run, reads the figures' data (tick labels, per-step hover text,
the ★ steps of the connectivity figure, the attention page's sentence) and compares them with the inputs stored
in the checkpoint's own probe trace, read straight from the file. The old bug regenerated a different batch
for labels; test_the_oracle_is_not_a_regenerated_batch shows these checks would catch it."""
import base64
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnnviz.analysis.traces import visible
from rnnviz.checkpoints import load_checkpoint
from rnnviz.subject import task_from_dict
from rnnviz.ui.chart import figures as chart_figures

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
DEMOS = {"gru-adding": ROOT / "demos/gru_adding.safetensors", "rnn-adding": ROOT / "demos/rnn_adding.safetensors"}


def traced_labels(path: Path, sample: int) -> tuple[list[str], list[int], object]:
    """(labels, the task's true dependency, the task) of one sample of the file's newest probe, read from the file."""
    loaded = load_checkpoint(path)
    task = task_from_dict(loaded.task)
    x = loaded.traces[-1].inputs[sample]
    return task.describe_input(x), task.dependency(x), task


def array(v):
    """A plotly JSON array: a list, or {"dtype", "bdata"} (plotly's base64 typed arrays)."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        return a.reshape([int(n) for n in str(shape).split(",")]) if shape else a
    return np.asarray(v, dtype=object)


def checked_labels(spec: dict, expected: list[str]) -> int:
    """Asserts every per-step hover label and token tick of a figure is expected[step]; returns how many it saw."""
    seen = 0
    want = [f"  “{visible(t)}”" for t in expected]
    for trace in spec["data"]:
        for hover in trace.get("hovertext") or []:  # the unrolled graph's input nodes: "…, t = 7</b><br>token 0.53●<br>"
            m = re.search(r"input x<sub>t</sub>, t = (\d+)</b><br>token (.*?)<br>", str(hover))
            if m:
                assert int(m[1]) < len(expected), f"graph node x@{m[1]}: {hover} ({len(expected)} steps traced)"
                assert m[2] == visible(expected[int(m[1])]), f"graph node x@{m[1]} reads {m[2]!r}"
                seen += 1
        c = array(trace.get("customdata", []))
        if c.dtype != object or not c.size or not all(isinstance(v, str) and "“" in v for v in c.ravel()):
            continue
        if c.ndim == 1:
            xs = array(trace["x"]).astype(float) if "x" in trace else np.arange(c.size)
            for x, label in zip(xs, c):
                assert label == want[int(x)], f"step {int(x)} is labelled {label!r}; the traced input is {want[int(x)]!r}"
                seen += 1
        else:
            for row in c:
                assert list(row) == want[:len(row)], "a heat map's hover labels are not the traced sequence's"
                seen += len(row)
    for name, axis in spec["layout"].items():
        if name.startswith("xaxis") and isinstance(axis, dict) and axis.get("tickmode") == "array":
            for v, text in zip(array(axis["tickvals"]).astype(float), axis["ticktext"]):
                if any(str(t).endswith("●") for t in axis["ticktext"]) and re.fullmatch(r"\d+●?", text):
                    # a value axis: step numbers, the steps the task marks with ● (the numbers to add) among them
                    assert int(text.rstrip("●")) == int(v), f"tick at step {int(v)} reads {text!r}"
                    assert text.endswith("●") == expected[int(v)].endswith("●"), \
                        f"step {int(v)} is {'' if text.endswith('●') else 'not '}marked, unlike the traced input"
                    seen += 1
    return seen


def open_page(file: str, current: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    if current.startswith("run:"):
        query["run"] = current[4:]  # as a user opens a run: its link
    else:
        at.session_state["rnnviz.current"] = current
    at.query_params.update(query)
    at.run()  # registers the navigation: only then does switch_page find a page by a url_path unlike its file name
    at.switch_page(f"app_pages/{file}").run()
    assert not at.exception, "\n".join(e.value for e in at.exception)
    return at


def figures(at: AppTest) -> list[dict]:
    return chart_figures(at)


@pytest.fixture(scope="module")
def seed3_run(tmp_path_factory):
    """An adding-task run with seed 3, trained to the end through the Train page: (subject key, its autosave)."""
    import os

    from rnnviz.ui import state

    os.environ["RNNVIZ_RUNS_DIR"] = str(tmp_path_factory.mktemp("runs"))
    state.pool.clear()
    threads = torch.get_num_threads()
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(task="adding", arch="gru", hidden="8", steps="100", seed="3")
    at.switch_page("app_pages/train.py").run()
    at.button(key="train.go").click().run()
    deadline = time.monotonic() + 180
    while not [b for b in at.get("download_button") if b.proto.label == "Download checkpoint"]:
        assert time.monotonic() < deadline, "the seed-3 run never finished"
        time.sleep(0.25)
        at.run()
    run = at.query_params["run"]
    run_id = run[0] if isinstance(run, list) else run
    yield f"run:{run_id}", state.pool().runs_dir / f"{run_id}.safetensors"
    state.pool().shutdown()
    state.pool.clear()
    torch.set_num_threads(threads)
    os.environ.pop("RNNVIZ_RUNS_DIR", None)


def subjects(seed3_run):
    return [(f"demo:{name}", path) for name, path in DEMOS.items()] + [seed3_run]


@pytest.mark.parametrize("page", ["graph.py", "gradients.py", "hidden.py", "gates.py", "home.py"])
def test_view_labels_are_the_traced_inputs(seed3_run, page):
    for current, path in subjects(seed3_run):
        if page == "gates.py" and "rnn" in current:
            continue  # a tanh RNN has no gates: the page shows the character demo instead (and says so)
        for sample in ((0, 1) if current.startswith("run:") else (1,)):
            if page == "home.py" and sample:
                continue  # the overview draws the first sequence only
            expected, _, _ = traced_labels(path, sample)
            at = open_page(page, current, sample=str(sample))
            seen = sum(checked_labels(f, expected) for f in figures(at))
            shown = 12 if page == "graph.py" else len(expected)  # the graph draws a window of 12 steps
            assert seen >= shown, f"{page} on {current}, sequence {sample}: only {seen} labels checked"
            if page != "graph.py":  # its time axes always show the two numbers to add
                ticks = [t for f in figures(at) for k, a in f["layout"].items() if k.startswith("xaxis")
                         and isinstance(a, dict) for t in a.get("ticktext") or []]
                assert sum(str(t).endswith("●") for t in ticks) >= 2, f"{page}: no ● on its time axes"


def test_connectivity_marks_the_traced_dependency(seed3_run):
    for current, path in subjects(seed3_run):
        expected, dependency, _ = traced_labels(path, 1)
        at = open_page("gradients.py", current, sample="1")
        conn = [f for f in figures(at) if "depends on each input" in json.dumps(f["layout"].get("title", ""))]
        assert conn, "the gradient page drew no connectivity figure"
        stars = [t for t in conn[0]["data"] if t.get("name") == "true dependency"]
        assert sorted(array(stars[0]["x"]).astype(int).tolist()) == sorted(dependency)
        assert [i for i, t in enumerate(expected) if t.endswith("●")] == sorted(dependency)


def test_lesson_6_marks_each_demo_s_own_numbers_to_add():
    at = open_page("lesson_6.py", "demo:char-lstm")
    conn = [f for f in figures(at) if "depends on the last" in json.dumps(f["layout"].get("title", ""))
            or "depends on each input" in json.dumps(f["layout"].get("title", ""))]
    assert len(conn) >= 2
    for fig, path in zip(conn, DEMOS.values()):  # tanh RNN first, then the GRU, as the lesson lays them out
        _, dependency, _ = traced_labels(path, 0)
        stars = [t for t in fig["data"] if t.get("name") == "true dependency"]
        assert sorted(array(stars[0]["x"]).astype(int).tolist()) == sorted(dependency)


def test_attention_page_writes_the_traced_source_and_target():
    from rnnviz.ui.safe import plain

    loaded = load_checkpoint(ROOT / "demos/gru_reverse_attention.safetensors")
    task, trace = task_from_dict(loaded.task), loaded.traces[-1]
    for sample in (0, 1):
        at = open_page("attention.py", "demo:attention", sample=str(sample))
        source = "".join(task.describe_input(trace.inputs[sample]))
        target = "".join(task.describe_output(trace.targets[sample]))
        said = " ".join(m.value for m in at.markdown)
        assert f"Input **{plain(source)}**" in said and f"(target **{plain(target)}**)" in said, said  # as text


def test_the_oracle_is_not_a_regenerated_batch(seed3_run):
    """The checks above can fail: a batch regenerated the old way (seed 10 000, not the run's seed + 10 000)
    labels the seed-3 run's steps differently."""
    _, path = seed3_run
    expected, _, task = traced_labels(path, 0)
    x_old, _ = task.held_out(64, torch.Generator().manual_seed(10_000))
    assert task.describe_input(x_old[0]) != expected
