"""Every page through Streamlit's AppTest (no browser): it runs cold without an exception and draws a chart;
the Train page trains a run until its Step metric moves. Pages come from rnnviz.ui.pages_index.PAGES, so a new
page is covered when it is listed. The worker pool is one st.cache_resource for the whole process: the module
fixture points it at a temporary folder and shuts it down (stopping and joining its workers) at the end."""
import json
import os
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
NO_CHART_COLD = {"train"}  # the Train page has nothing to plot until a run exists


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
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.switch_page(f"app_pages/{file}").run()
    return at


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, "\n".join(e.value + "\n" + "\n".join(e.stack_trace) for e in at.exception)


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
    if path in NO_CHART_COLD:
        assert at.button(key="train.go").label == "Train"
        return
    charts = at.get("plotly_chart")
    assert charts, f"/{path} drew no chart on a cold start"
    assert all(json.loads(c.proto.spec)["data"] for c in charts), f"/{path} drew an empty chart"


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
    assert at.get("plotly_chart"), "a training run drew no chart"
    at.button(key="live.stop").click().run()
    while not [b for b in at.get("download_button") if b.proto.label == "Download checkpoint"]:
        assert time.monotonic() < deadline, "the stopped run never offered its checkpoint"
        time.sleep(0.25)
        at.run()
    assert_no_exception(at)
