"""A real `streamlit run app.py` on a free port and Debian's Chromium, with the few page helpers the browser
tests and bench/browser.py share. Not a test file: no assertions about the app live here.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"  # Debian's; `playwright install` cannot download browsers on CI
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1920, "height": 1080}  # a projector
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
QUEUED = re.compile(r"position (\d+) in the queue")


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    runs_dir: Path
    log: Path
    first_visit: dict | None = None  # what the first page opened on it showed (conftest.py)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.is_file() else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def start_server(runs_dir: Path, log: Path, env: dict | None = None, timeout: float = 90.0,
                 root: Path = ROOT) -> Server:
    """Starts the app in its own process group (so its forkserver and training workers can be ended with it);
    `root`: another checkout of the project to serve (bench/cold_pages.py --against)."""
    port = free_port()
    runs_dir.mkdir(parents=True, exist_ok=True)
    full_env = os.environ | {"RNNVIZ_RUNS_DIR": str(runs_dir), "OMP_WAIT_POLICY": "PASSIVE",
                             "PYTHONUNBUFFERED": "1"} | (env or {})
    cmd = [sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(proc, port, runs_dir, log)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{server.log_text()[-3000:]}")
        if health(server.url, timeout=2.0):
            return server
        time.sleep(0.25)
    stop_server(server)
    raise RuntimeError(f"streamlit did not answer on port {port} within {timeout:.0f} s:\n{server.log_text()[-3000:]}")


def stop_server(server: Server) -> None:
    """SIGTERM to the whole group (server, forkserver, workers), then SIGKILL whatever is left."""
    try:
        os.killpg(server.proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(server.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.proc.wait(timeout=5)


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants, from /proc (psutil is not a dependency)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proc_bytes(pid: int, file: str, field: str) -> int:
    """A kB field of /proc/<pid>/<file> in bytes (0 for a process gone): ("status", "VmRSS:") is the resident
    set; ("smaps_rollup", "Pss:") counts pages shared between processes (torch, preloaded by the forkserver) once."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    return proc_bytes(pid, "status", "VmRSS:")


def pss_bytes(pid: int) -> int:
    return proc_bytes(pid, "smaps_rollup", "Pss:")


def launch_browser(playwright):
    if not Path(CHROMIUM).is_file():
        raise FileNotFoundError(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with "
                                "`sudo apt-get install -y chromium` (bash scripts/test.sh does so on a fresh machine).")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def new_page(browser, viewport: dict | None = None, timeout: float = 30.0):
    context = browser.new_context(viewport=viewport or VIEWPORT, accept_downloads=True)
    context.set_default_timeout(timeout * 1000)
    return watch(context.new_page())


def watch(page):
    """Records the page's uncaught JavaScript errors in page.js_errors. Streamlit's frontend unmounts the whole
    app on one (an empty page), so every browser test fails on any (conftest.py)."""
    page.js_errors = []
    page.on("pageerror", lambda e: page.js_errors.append(f"{e}\n{(getattr(e, 'stack', '') or '')[:600]}"))
    return page


# -- reading a Streamlit page --------------------------------------------------------------------------------
def script_state(page) -> str | None:
    return page.locator("[data-testid='stApp']").get_attribute("data-test-script-state")


def wait_idle(page, timeout: float = 60.0, calm: float = 0.4) -> None:
    """Waits until the script has run and nothing (script, fragment, spinner) has been running for `calm` s."""
    page.wait_for_selector(CONNECTED, timeout=timeout * 1000)
    end, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < end:
        state = script_state(page)
        busy = state in (None, "initial", "running", "rerunRequested") or \
            page.locator("[data-testid='stSpinner']").count() > 0
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= calm:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the page was still running after {timeout:.0f} s (script state {script_state(page)})")


def open_app(page, server: Server, path: str, timeout: float = 60.0) -> None:
    page.goto(f"{server.url}/{path.lstrip('/')}")
    wait_idle(page, timeout)


def metric(page, label: str) -> str | None:
    """The displayed value of the st.metric labelled exactly `label`, or None when there is none."""
    return page.evaluate("""label => {
        for (const m of document.querySelectorAll("[data-testid='stMetric']")) {
            const l = m.querySelector("[data-testid='stMetricLabel']");
            const v = m.querySelector("[data-testid='stMetricValue']");
            if (l && v && l.innerText.trim() === label) return v.innerText.trim();
        }
        return null;
    }""", label)


def step(page) -> int | None:
    text = metric(page, "Step")
    return int(text.replace(",", "")) if text and text.replace(",", "").isdigit() else None


def chart_points(page, key: str) -> list[list] | None:
    """[[number of x values, last x], ...] per trace of the plotly chart drawn with `key`, or None.
    Streamlit sends arrays as {"dtype", "bdata"} (base64 typed arrays); both forms are read."""
    css = ".st-key-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)
    return page.evaluate("""css => {
        const gd = document.querySelector(css + " .js-plotly-plot");
        if (!gd || !gd.data) return null;
        const kinds = {f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
                       u2: Uint16Array, i4: Int32Array, u4: Uint32Array};
        const values = a => {
            if (!a) return [];
            if (a.bdata === undefined) return a;
            const bytes = Uint8Array.from(atob(a.bdata), c => c.charCodeAt(0));
            return new (kinds[a.dtype] || Float64Array)(bytes.buffer);
        };
        return gd.data.map(t => {
            const x = values(t.x), n = x.length;
            return [n, n ? Number(x[n - 1]) : null];
        });
    }""", css)


def queue_position(page) -> int | None:
    text = page.evaluate("() => (document.querySelector(\"[data-testid='stMain']\") || {}).innerText || ''")
    m = QUEUED.search(text)
    return int(m.group(1)) if m else None


def showing(page) -> str:
    """The label of what the sidebar's "Showing" selector has selected."""
    return page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox'] input").input_value()


def run_id(page) -> str | None:
    """The run id in the page's link. Read from the page itself: Playwright's page.url is only brought up to date
    when a call reaches the browser, so a loop polling page.url alone can wait forever."""
    m = re.search(r"[?&]run=([A-Za-z0-9_-]+)", page.evaluate("() => location.href"))
    return m.group(1) if m else None


def screenshot(page, name: str) -> Path:
    """A full-page PNG: Streamlit scrolls inside stMain, so the viewport is stretched to its content first."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size or VIEWPORT
    try:  # charts draw one at a time: the page's height is known once the last has drawn (a live one redraws on)
        page.wait_for_function("() => [...document.querySelectorAll('.rnnviz-chart')].every(d => d.dataset.draws)",
                               timeout=15_000)
    except PlaywrightTimeout:
        pass  # a chart that cannot draw is for the test's own checks to name; the picture is taken as it is
    height = page.evaluate("() => { const m = document.querySelector(\"[data-testid='stMain']\");"
                           " return m ? m.scrollHeight : document.documentElement.scrollHeight; }")
    page.mouse.move(size["width"] - 5, 5)  # no hover tooltip in the picture
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 12_000))})
    try:
        page.wait_for_timeout(400)  # plotly resizes to the new frame
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


def trained_run(server: Server, **spec) -> str:
    """The id of a finished run of RunSpec(**spec), trained here as a training worker trains it and saved in the
    server's runs folder as the worker saves it: the link ?run=<id> opens it as a refresh or a shared link does.
    (Training through the Train page took half a minute of the browser tests on a busy machine; test_train.py and
    test_follow.py do that.)"""
    import secrets

    from rnnviz.run import RunSpec
    from rnnviz.training import Trainer

    trainer = Trainer.from_spec(RunSpec(**spec))
    while not trainer.done:
        trainer.step()
    rid = secrets.token_urlsafe(12)  # as WorkerPool.submit names a run
    trainer.save(server.runs_dir / f"{rid}.safetensors")
    return rid


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Polls `predicate` until it returns something truthy; returns it, or raises TimeoutError naming `what`."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def go(page, title: str) -> None:
    """The sidebar's navigation, as a user moves between pages (the same session, not a new one). Waits for the
    page to be the one asked for, not for it to fall idle: a page that follows a training run redraws every
    2 s, and on a busy machine it may never be idle for long; what each check needs, it waits for itself."""
    path = {t: p for _, t, p in pages()}[title]
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title, exact=True).click()
    wait_for(lambda: page.evaluate("() => location.pathname").rstrip("/") == (f"/{path}" if path else ""), 30,
             what=f"the {title} page to open")
    page.locator("h1").first.wait_for(timeout=60_000)


def pages() -> list[tuple[str, str, str]]:
    """(file, title, url path) of every page the app's navigation has, from rnnviz.ui.pages_index.PAGES."""
    from rnnviz.ui.pages_index import PAGES

    out = []
    for entries in PAGES.values():
        for file, title, path, *_ in entries:
            if (ROOT / "app_pages" / file).is_file():
                out.append((file, title, path))
    return out


PRESENTATION_MIN_TEXT = 24  # px: every text on a projected page, widget values and button labels included
PRESENTATION_AUDIT = """(minText) => {  // text under minText px, text cut off, figures taller than the screen,
    const small = [], clipped = [], tall = [], onTrack = [], beyond = [], crowded = [];  // slider values over
    // their track, chart text (titles, subtitles, labels) running past the chart's edge, where plotly cuts it off,
    // and an axis's tick labels running into each other (a long text labelled letter by letter at 22 px)
    const root = document.querySelector("[data-testid='stAppViewContainer']") || document.body;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    while (walker.nextNode()) {
        const node = walker.currentNode, el = node.parentElement, text = node.textContent.replace(/\u200b/g, "").trim();
        if (!el || !text || seen.has(el)) continue;
        seen.add(el);
        if (el.closest("svg, .js-plotly-plot, sub, sup, .msupsub, .katex .sizing, .katex-mathml, " +
                       "[data-testid='stSkipToContent'], " +
                       "[data-testid='stTooltipContent']"))
            continue;  // charts are checked by their own font sizes; sub- and superscripts are meant to be smaller
        const cs = getComputedStyle(el), box = el.getBoundingClientRect();
        if (!box.width || !box.height || cs.visibility === "hidden" || cs.display === "none") continue;
        if (parseFloat(cs.fontSize) < minText) small.push([parseFloat(cs.fontSize), text.slice(0, 40)]);
        for (let a = el, i = 0; a && i < 4; a = a.parentElement, i++) {  // the text's element, or one around it
            const as = getComputedStyle(a);  // that cuts it (a button's label: its Markdown container; a page
            // link's: the span three levels up)
            if (a.scrollWidth > a.clientWidth + 1 && (as.textOverflow === "ellipsis" || as.overflowX === "hidden")) {
                clipped.push(text.slice(0, 40));
                break;
            }
        }
    }
    const typed = "input:not([type='hidden']):not([type='file']):not([type='checkbox']):not([type='radio'])" +
                  ":not([type='range']), textarea";
    for (const el of root.querySelectorAll(typed)) {
        const cs = getComputedStyle(el), box = el.getBoundingClientRect();  // a widget's value is no text node
        if (!box.width || !box.height || cs.visibility === "hidden" || cs.opacity === "0") continue;
        if ((el.value || el.placeholder) && parseFloat(cs.fontSize) < minText)
            small.push([parseFloat(cs.fontSize), "value " + (el.value || el.placeholder).slice(0, 30)]);
    }
    for (const d of root.querySelectorAll("[data-testid='stDataFrame'], [data-testid='stDataEditor']"))
        small.push([null, "a data frame: its canvas text stays 14 px on a projector"]);  // st.table grows
    for (const c of document.querySelectorAll(".rnnviz-chart")) {
        const h = c.getBoundingClientRect().height;
        if (h > window.innerHeight) tall.push([Math.round(h), (c.querySelector(".gtitle") || {}).textContent]);
        const svg = c.querySelector(".main-svg");
        if (!svg) continue;
        const edge = svg.getBoundingClientRect();
        for (const t of svg.querySelectorAll("text")) {
            const b = t.getBoundingClientRect(), text = (t.textContent || "").trim();
            if (text && b.width && (b.right > edge.right + 1 || b.left < edge.left - 1))
                beyond.push([Math.round(Math.max(b.right - edge.right, edge.left - b.left)), text.slice(0, 40)]);
        }
        const sub = c.querySelector(".gtitle-subtitle"), sb = sub && sub.getBoundingClientRect();
        // a top tick, or a y axis's rotated title, running into the subtitle
        for (const t of sb ? c.querySelectorAll(".yaxislayer-above text, .g-ytitle text") : []) {
            const b = t.getBoundingClientRect();
            if (b.height && b.top < sb.bottom - 1 && b.bottom > sb.top && b.left < sb.right && b.right > sb.left)
                crowded.push([(c.querySelector(".gtitle") || {}).textContent, "subtitle", t.textContent]);
        }
        for (const cb of c.querySelectorAll(".colorbar")) {  // a colour bar's title and labels: none on another.
            // By the ink, not the box: a text's box has a fifth of its height empty above and below the letters
            // (plotly leaves 5 px between a bar and its title, and the top label's box reaches into the title's)
            const ink = t => { const b = t.getBoundingClientRect(), pad = 0.2 * b.height;
                               return {left: b.left, right: b.right, top: b.top + pad, bottom: b.bottom - pad}; };
            const texts = [...cb.querySelectorAll("text")]
                .filter(t => t.getBoundingClientRect().height && t.textContent.trim())
                .map(t => [ink(t), t.textContent]);
            for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
                const [a, s] = texts[i], [b, t] = texts[j];
                if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom && b.top < a.bottom)
                    crowded.push([(c.querySelector(".gtitle") || {}).textContent, s, t]);
            }
        }
        for (const layer of c.querySelectorAll(".xaxislayer-above, .yaxislayer-above")) {
            const across = layer.classList.contains("xaxislayer-above");  // labels side by side, else stacked
            const ticks = [...layer.querySelectorAll("text")].map(t => [t.getBoundingClientRect(), t.textContent])
                .filter(([b, s]) => b.width && s.trim())
                .sort((p, q) => across ? p[0].left - q[0].left : p[0].top - q[0].top);
            for (let i = 1; i < ticks.length; i++) {
                const [a, s] = ticks[i - 1], [b, t] = ticks[i];
                const gap = across ? b.left - a.right : b.top - a.bottom;  // in the same row (column) and overlapping
                const row = across ? Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top)
                                   : Math.min(a.right, b.right) - Math.max(a.left, b.left);
                if (gap < -1 && row > 2) {
                    crowded.push([(c.querySelector(".gtitle") || {}).textContent, s, t]);
                    break;
                }
            }
        }
    }
    for (const s of root.querySelectorAll("[data-testid='stSlider']")) {
        const value = s.querySelector("[data-testid='stSliderThumbValue']"), thumb = value && value.parentElement;
        if (!value || !thumb) continue;  // the value is drawn inside the thumb, above it
        const v = value.getBoundingClientRect(), t = thumb.getBoundingClientRect();
        if (v.height && v.bottom > t.top + 1) onTrack.push(value.innerText.trim());
        for (const above of s.querySelectorAll("[data-testid='stWidgetLabel'] p, [data-testid='stTooltipIcon']")) {
            const a = above.getBoundingClientRect();  // the value on its title ("Clip gradient norm" over "off")
            if (v.height && a.height && v.top < a.bottom - 1 && v.bottom > a.top + 1 && v.left < a.right - 1
                && v.right > a.left + 1) onTrack.push(`${value.innerText.trim()} on "${above.innerText || "(?)"}"`);
        }
    }
    return {small, clipped, tall, onTrack, beyond, crowded};
}"""


GROWN_MARGINS = """() => [...document.querySelectorAll(".rnnviz-chart")]
    .filter(gd => gd._fullLayout && gd._fullLayout._size).map(gd => {
        const given = gd.layout.margin || {}, drawn = gd._fullLayout._size;
        const grown = ["l", "r", "t", "b"].filter(k => !(Math.abs((given[k] ?? -99) - drawn[k]) <= 1))
            .map(k => `${k} ${given[k]} -> ${Math.round(drawn[k])}`);
        const key = [...(gd.closest("[class*='st-key-']") || {classList: []}).classList]
            .find(c => c.startsWith("st-key-")) || "a chart";
        return grown.length ? `${key.replace("st-key-", "")}: ${grown.join(", ")}` : null;
    }).filter(x => x)"""


def assert_drawn_once(page) -> None:
    """Every chart on the page was drawn at the margins style() gave it: had plotly's automargin needed more
    room for a label, legend or colour bar, it would have grown them and drawn the whole figure a second time
    (rnnviz/plots/margins.py estimates them)."""
    grown = page.evaluate(GROWN_MARGINS)
    assert not grown, f"charts whose margins plotly grew, so drew twice (margins.estimate missed): {grown}"


def assert_presentable(page) -> None:
    """Presentation mode at the page's viewport: no text under PRESENTATION_MIN_TEXT px, none cut off (in a box or
    at a chart's edge), every figure within one screen height, no slider value drawn over its track or its title,
    no tick labels running into each other."""
    found = page.evaluate(PRESENTATION_AUDIT, PRESENTATION_MIN_TEXT)
    assert not found["small"], f"text under {PRESENTATION_MIN_TEXT} px on a projected page: {found['small'][:8]}"
    assert not found["clipped"], f"text cut off by its box: {found['clipped'][:8]}"
    assert not found["tall"], f"figures taller than the screen: {found['tall']}"
    assert not found["onTrack"], f"slider values drawn over their track or title: {found['onTrack'][:8]}"
    assert not found["beyond"], f"chart text cut off at the chart's edge (px past it, text): {found['beyond'][:8]}"
    assert not found["crowded"], f"labels running into each other (figure, labels): {found['crowded'][:8]}"
