"""rnnviz's own chart element: a plotly figure drawn once, by plotly.js loaded once per page.

Streamlit 1.67's chart element drew every figure twice: once as it mounted, then again from a copy its own
effect made of the figure (stringified, its theme's colour placeholders replaced, parsed again), set with the
measured width as new state; new arrays are new data to `Plotly.react`, so plotly drew the copy from scratch
(counted in Chromium: two `plotly_afterplot` events a chart, no server message between them; README, "Cold
pages"). This element, a Streamlit custom component (v2: in the page, no iframe), draws a figure with one
`Plotly.react` into a div that lives as long as the element, so a live view's next figure updates the plot in
place, one chart at a time; a page run that sends the same figure again draws nothing. plotly.js is the copy the `plotly` package ships (the version its figures are written
for), served from the app's static folder and loaded once a page.

Not faster to a cold page's first figure (bench/cold_pages.py --against: ratio 0.91 to 1.17): compiling plotly.js
(4.8 MB, about 1.5 s on a slow 2-core machine) holds the page either way, and loading it earlier, from the
sidebar, only delayed the page's other elements behind that compile. What it saves is every second draw.

Interaction is plotly's own (hover, zoom, the PNG camera at projector size) plus a full-screen button in the
mode bar, as Streamlit's chart toolbar had.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import plotly
import streamlit as st

STATIC = Path(__file__).resolve().parents[2] / "static"  # next to app.py: Streamlit serves it at /app/static/
SOURCE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
NAME = f"plotly-{plotly.__version__}.min.js"  # a new plotly version is a new URL: no stale copy in a cache
CLASS = "rnnviz-chart"  # the div plotly draws in (tests and benchmarks find charts by it)

_JS = """
function loadPlotly(src) {  // one script element a page, shared by every chart (plotly.js sets window.Plotly)
  if (!window.__rnnvizPlotly) {
    window.__rnnvizPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const s = document.createElement("script");
      s.src = src; s.async = true;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { window.__rnnvizPlotly = null; reject(new Error("plotly.js did not load from " + src)); };
      document.head.appendChild(s);
    });
  }
  return window.__rnnvizPlotly;
}

const FULLSCREEN = {
  name: "fullscreen", title: "Full screen (Esc to leave)",
  icon: {width: 24, height: 24, path: "M3 3h7v2H5v5H3V3zm11 0h7v7h-2V5h-5V3zM3 14h2v5h5v2H3v-7zm16 5v-5h2v7h-7v-2h5z"},
  click: gd => (document.fullscreenElement ? document.exitFullscreen() : gd.requestFullscreen()),
};

// Streamlit calls this with each new figure for the same element (parentElement stays), and calls the function
// it returns once the element goes (or when a newer figure came before this one was set up)
export default function (component) {
  const { parentElement, data } = component;
  if (!data) return;
  let div = parentElement.querySelector("div.%(cls)s");
  if (!div) {
    div = document.createElement("div");
    div.className = "%(cls)s";
    div.style.background = "#ffffff";  // full screen: white around the figure, not black
    parentElement.appendChild(div);
    div.addEventListener("fullscreenchange", () => window.Plotly && window.Plotly.Plots.resize(div));
  }
  let live = true;
  const cleanup = () => {  // the element is gone: plotly's listeners (a window resize handler each) with it
    live = false;
    div.__shown = null;
    if (window.Plotly) window.Plotly.purge(div);
  };
  const shown = data.figure + JSON.stringify(data.config);
  if (div.__shown === shown) return cleanup;  // a page run that sent the same figure again: nothing to draw
  const fig = JSON.parse(data.figure);
  // plotly.js 3 adds a "Share chart" button that uploads the figure to Plotly Cloud: off
  const config = Object.assign({responsive: true, showSendToCloud: false, modeBarButtonsToAdd: [FULLSCREEN]},
                               data.config);
  // one chart at a time, each in a task of its own: the browser shows the first before drawing the next (drawn
  // all in one callback, a page's five charts appeared together after about a second of drawing)
  window.__rnnvizDraws = (window.__rnnvizDraws || Promise.resolve())
    .then(() => loadPlotly(data.src))
    .then(Plotly => new Promise(resolve => setTimeout(() => resolve(Plotly), 0)))
    .then(Plotly => live && Plotly.react(div, fig.data, fig.layout, config).then(() => {
      div.__shown = shown;
      div.dataset.draws = String(Number(div.dataset.draws || 0) + 1);  // tests count them
    }))
    .catch(err => { div.textContent = String(err); });
  return cleanup;
}
""" % {"cls": CLASS}


def _static_copy() -> bool:
    """plotly.js into the static folder, once per plotly version (a copy: Streamlit refuses a link out of it).
    False where it cannot be written (a read-only checkout): figures then go to Streamlit's own chart element."""
    target = STATIC / NAME
    try:
        if not (target.exists() and target.stat().st_size == SOURCE.stat().st_size):
            STATIC.mkdir(exist_ok=True)
            partial = STATIC / f"{NAME}.{os.getpid()}.partial"  # two servers starting at once each write their own
            shutil.copyfile(SOURCE, partial)
            partial.replace(target)
        for old in STATIC.glob("plotly-*.min.js"):
            if old.name != NAME:
                old.unlink(missing_ok=True)
    except OSError:
        return False
    return True


COPIED = _static_copy()
_component = st.components.v2.component("rnnviz_chart", js=_JS, isolate_styles=False)


def available() -> bool:
    """Whether this server can serve plotly.js to the element: copied, and static serving on (.streamlit's
    config.toml)."""
    return COPIED and bool(st.get_option("server.enableStaticServing"))


def _src() -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static/{NAME}" if base else f"/app/static/{NAME}"


def plotly_chart(fig, key: str, config: dict) -> None:
    """Draws `fig` full width (its layout's height), keyed so a redraw updates the same plot in place."""
    if not available():
        st.plotly_chart(fig, key=key, theme=None, width="stretch", config=config)
        return
    _component(key=key, data={"figure": fig.to_json(), "config": config, "src": _src()},
               width="stretch", height="content")


def figures(at) -> list[dict]:
    """Every figure an AppTest run drew, in page order, as plotly JSON (tests read charts through it)."""
    out = []
    for element in at.get("bidi_component"):
        proto = element.proto
        payload = proto.json if proto.WhichOneof("data") == "json" else proto.mixed.json
        data = json.loads(payload) if payload else {}
        if isinstance(data, dict) and "figure" in data:
            out.append(json.loads(data["figure"]))
    return out + [json.loads(e.proto.spec) for e in at.get("plotly_chart")]  # where the element is not available
