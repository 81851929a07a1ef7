"""Cold pages, run by hand (not a test): how long each page takes to show its first figure when a new visitor
opens it, as a student clicking a shared link would. A real `streamlit run app.py` and Debian's Chromium on the
same machine, on a server that has already served one page (its modules imported). Each visit is a new
Streamlit session, opened two ways: by a new visitor (a fresh browser context: nothing cached, so Streamlit's
scripts and plotly.js are fetched and compiled first) and in a new tab of a browser that has opened the app
before (its files cached, as for a student opening a second link). Goal (issue #14): every page's first figure
within 2 s, presentation mode too.

    python bench/cold_pages.py [--repeats 3] [--pages gates,checkpoints] [--profile] [--against REV]

Prints, per page and mode: the median seconds to the page's title, to the first chart drawn (its SVG in the
page), and to the last chart drawn, and how many charts the page has. With --profile, also where a visit spends
its time: when the server's last large message arrived, the browser's long tasks (plotly.js compiling and
charts drawing) and their total. With --against REV (a git commit), a second server runs that commit's code from
a temporary worktree and every visit alternates between the two, side by side: each row then also gives the
reference's all-figures time and the ratio (below 1: this checkout is faster).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from harness import launch_browser, new_page, pages, start_server, stop_server, wait_idle, watch  # noqa: E402

# a chart: rnnviz's own element (rnnviz.ui.chart), or Streamlit's in a commit before it (--against)
CHART = ".rnnviz-chart, [data-testid='stPlotlyChart']"
DRAWN = ".rnnviz-chart .main-svg, [data-testid='stPlotlyChart'] .main-svg"
ALL_DRAWN = "([chart, n]) => [...document.querySelectorAll(chart)].filter(c => c.querySelector('.main-svg')).length >= n"
TIMES = """window.__times = {}; new MutationObserver(() => {  // when the title, the first and the last chart appeared
    const t = window.__times, now = performance.now();
    if (t.title === undefined && document.querySelector("h1")) t.title = now;
    const drawn = document.querySelectorAll(".rnnviz-chart .main-svg, [data-testid='stPlotlyChart'] .main-svg").length;
    if (drawn && t.first === undefined) t.first = now;
    if (drawn > (t.drawn || 0)) { t.drawn = drawn; t.last = now; }
}).observe(document, {subtree: true, childList: true});"""
LONG_TASKS = """window.__long = []; new PerformanceObserver(list => { for (const e of list.getEntries())
    window.__long.push([Math.round(e.startTime), Math.round(e.duration)]); }).observe({entryTypes: ['longtask']});"""


def visit(browser, url: str, profile: bool, returning=None) -> dict:
    """One cold visit: seconds from navigation to the title, the first drawn chart and every chart drawn. A new
    context for a new visitor; a new tab of `returning` (a context that has opened the app) otherwise."""
    page = watch(returning.new_page()) if returning is not None else new_page(browser)
    frames: list[tuple[float, int]] = []
    try:
        if profile:
            page.add_init_script(LONG_TASKS)
            page.on("websocket", lambda ws: ws.on("framereceived",
                                                  lambda f: frames.append((time.monotonic(), len(f or b"")))))
        page.add_init_script(TIMES)
        t0 = time.monotonic()
        page.goto(url)
        page.locator("h1").first.wait_for(timeout=120_000)
        try:  # the script can end before a busy renderer has put its charts in the page
            page.locator(CHART).first.wait_for(timeout=30_000)
        except PlaywrightTimeout:  # a page with no chart
            pass
        wait_idle(page, timeout=120, calm=1.5)  # a page may run twice (a link seeds its settings)
        n = page.locator(CHART).count()
        page.wait_for_function(ALL_DRAWN, arg=[CHART, n], timeout=120_000)
        times = page.evaluate("window.__times")  # ms since navigation began, from the browser's own clock
        title, first, last = times.get("title", 0) / 1000, times.get("first"), times.get("last", 0) / 1000
        first = None if first is None else first / 1000
        out = {"title": title, "first": first, "last": last, "charts": n}
        if profile:
            long = page.evaluate("window.__long")
            big = [round(t - t0, 2) for t, size in frames if size > 10_000]
            out |= {"last_big_message": big[-1] if big else None, "long_tasks_ms": sum(d for _, d in long),
                    "longest_ms": max((d for _, d in long), default=0)}
        return out
    finally:
        (page.close if returning is not None else page.context.close)()


def row(path: str, mode: str, who: str, runs: list[dict], profile: bool) -> str:
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    first = "none" if runs[0]["first"] is None else f"{med('first'):.2f}"
    line = (f"/{path:<21} {mode:<13} {who:<10} {med('title'):>8.2f} {first:>15} {med('last'):>14.2f} "
            f"{runs[0]['charts']:>6}")
    if profile:
        mid = sorted(runs, key=lambda r: r["last"])[len(runs) // 2]
        line += (f"  server done {mid['last_big_message']} s, long tasks {mid['long_tasks_ms']} ms "
                 f"(longest {mid['longest_ms']} ms)")
    return line


def reference_checkout(rev: str, where: Path) -> Path:
    """A worktree of commit `rev` at `where` (removed by the caller with `git worktree remove`)."""
    subprocess.run(["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT, check=True,
                   capture_output=True)
    return where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pages", default="", help="comma-separated url paths (default: every page)")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--against", metavar="REV", help="a git commit to time side by side with this checkout")
    args = ap.parse_args()
    paths = [p for _, _, p in pages()]
    if args.pages:
        paths = [p for p in args.pages.split(",") if p]
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        roots = [ROOT] + ([reference_checkout(args.against, Path(tmp) / "reference")] if args.against else [])
        servers = []
        try:
            for k, root in enumerate(roots):
                servers.append(start_server(Path(tmp) / f"runs{k}", Path(tmp) / f"server{k}.log", root=root))
            with sync_playwright() as p:
                browser = launch_browser(p)
                returning = []
                for server in servers:
                    visit(browser, f"{server.url}/", False)  # the server imports its modules once, as in use
                    returning.append(new_page(browser).context)  # a browser that has opened the app: files cached
                    visit(browser, f"{server.url}/gates", False, returning[-1])
                print(f"{'page':<22} {'mode':<13} {'visitor':<10} {'title s':>8} {'first figure s':>15} "
                      f"{'all figures s':>14} {'charts':>6}" + (f" {'reference s':>12} {'ratio':>6}" if args.against
                                                               else "")
                      + ("  profile (median visit)" if args.profile else ""))
                for path in paths:
                    for mode, query in (("normal", ""), ("presentation", "?present=1")):
                        for who in ("new", "returning"):
                            runs: list[list[dict]] = [[] for _ in servers]
                            for _ in range(args.repeats):  # the two servers in turn, visit by visit
                                for k, server in enumerate(servers):
                                    ctx = returning[k] if who == "returning" else None
                                    runs[k].append(visit(browser, f"{server.url}/{path}{query}", args.profile, ctx))
                            line = row(path, mode, who, runs[0], args.profile)
                            if args.against:
                                mine, ref = (statistics.median(r["last"] for r in rs) for rs in runs)
                                head, _, tail = line.partition("  server done")
                                line = f"{head} {ref:>12.2f} {mine / ref:>6.2f}" + (f"  server done{tail}" if tail
                                                                                     else "")
                            print(line, flush=True)
                browser.close()
        finally:
            for server in servers:
                stop_server(server)
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(roots[1])], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
