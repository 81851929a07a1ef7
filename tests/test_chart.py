"""rnnviz's chart element (rnnviz/ui/chart.py): what it serves and what it sends, and Streamlit's own chart as the
fallback where it cannot serve plotly.js. The browser tests (tests/e2e) see it draw."""
from pathlib import Path

import plotly
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from rnnviz.ui import chart

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_it_serves_the_plotly_package_s_own_plotly_js():
    """The figures are written by this plotly; the copy served beside the app is its bundle, byte for byte, under
    a name that changes with its version (no stale copy in a browser's cache), and Streamlit serves the folder."""
    served = chart.STATIC / chart.NAME
    assert chart.available() and served.is_file()
    assert served.read_bytes() == chart.SOURCE.read_bytes()
    assert plotly.__version__ in chart.NAME and chart.STATIC == Path(APP).parent / "static"
    assert not [p for p in chart.STATIC.glob("plotly-*.min.js") if p.name != chart.NAME]  # old versions removed


def test_a_page_sends_each_figure_whole_and_keyed():
    """What the element receives is the figure itself: the same JSON st.plotly_chart would have sent."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    sent = [e for e in at.get("bidi_component")]
    assert sent and all(e.key for e in sent)
    figures = chart.figures(at)
    assert len(figures) == len(sent) and all(f["data"] and "layout" in f for f in figures)
    rebuilt = go.Figure(figures[0])  # plotly reads it back
    assert rebuilt.layout.title.text == figures[0]["layout"]["title"]["text"]


def test_without_plotly_js_to_serve_it_falls_back_to_streamlit_s_chart(monkeypatch):
    """A read-only checkout cannot copy plotly.js: every figure is then Streamlit's chart element, drawn as before."""
    monkeypatch.setattr(chart, "COPIED", False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.get("bidi_component") and at.get("plotly_chart")
    assert chart.figures(at) and all(f["data"] for f in chart.figures(at))


def test_a_failed_copy_is_reported_as_unavailable(monkeypatch, tmp_path):
    blocked = tmp_path / "static"
    blocked.write_text("a file where the folder would go")
    monkeypatch.setattr(chart, "STATIC", blocked)
    assert chart._static_copy() is False
