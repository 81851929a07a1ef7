"""Browser benchmark, run by hand (not a test): a real `streamlit run app.py` and Debian's Chromium measure
  1. the time from clicking Train to the first update of the page (Step > 0, then the loss chart drawn); goal < 2 s;
  2. the server's memory (server + forkserver + training workers, from /proc) with N sessions training at once,
     and how fast its health endpoint answers meanwhile.

    python bench/browser.py [--repeats 5] [--sessions 8]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from harness import (chart_points, launch_browser, new_page, open_app, process_tree, pss_bytes,  # noqa: E402
                     rss_bytes, start_server, step, stop_server, wait_for)

QUICK = "/train?task=parity&arch=gru&hidden=16&steps=20000&seed={seed}"
MiB = 2**20


def first_update(browser, server, seed: int) -> tuple[float, float]:
    """Seconds from the Train click to Step > 0, and to the loss chart having points; then stops the run."""
    page = new_page(browser)
    try:
        open_app(page, server, QUICK.format(seed=seed))
        button = page.get_by_role("button", name="Train", exact=True)
        settle(page)  # as a user clicks: once the page is drawn (a click before is held until the browser is free)
        t0 = time.monotonic()
        button.click()
        wait_for(lambda: (step(page) or 0) > 0, 60, interval=0.02, what="Step > 0")
        t_step = time.monotonic() - t0
        wait_for(lambda: any(n for n, _ in chart_points(page, "live.loss") or []), 60, interval=0.02,
                 what="the loss chart")
        t_chart = time.monotonic() - t0
        page.get_by_role("button", name="Stop training", exact=True).click()
        page.get_by_role("button", name="Download checkpoint", exact=True).wait_for(timeout=60_000)
        return t_step, t_chart
    finally:
        page.context.close()


def settle(page) -> None:
    """Waits until the page's charts are drawn and the browser has painted twice since: its main thread is free.
    Right after the page's script ends, a new browser still compiles plotly.js and draws the charts (up to ~1 s);
    Playwright's click waits for the page to answer, so timing from a click made then measured the drawing too."""
    page.wait_for_function("""() => [...document.querySelectorAll(".rnnviz-chart, [data-testid='stPlotlyChart']")]
        .every(c => c.querySelector('.main-svg'))""", timeout=60_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")


def memory(server_pid: int) -> dict:
    pids = process_tree(server_pid)
    return {"processes": len(pids), "server_rss": rss_bytes(server_pid), "rss": sum(map(rss_bytes, pids)),
            "pss": sum(map(pss_bytes, pids))}


def health_latencies(url: str, stop: threading.Event, out: list) -> None:
    while not stop.is_set():
        t = time.monotonic()
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as r:
                r.read()
            out.append(time.monotonic() - t)
        except OSError:
            out.append(5.0)
        stop.wait(max(0.0, 0.25 - (time.monotonic() - t)))


def many_sessions(browser, server, n: int, seconds: float) -> tuple[dict, dict, list, int]:
    """n sessions click Train together; samples memory for `seconds`. Returns (idle, peak, health, training)."""
    pages = []
    for i in range(n):
        pages.append(new_page(browser, {"width": 1280, "height": 900}, timeout=60))
    try:
        for i, page in enumerate(pages):
            page.goto(server.url + QUICK.format(seed=100 + i).replace("steps=20000", "steps=5000"))
        for page in pages:
            open_app(page, server, page.url.removeprefix(server.url))
        idle = memory(server.proc.pid)
        stop, health = threading.Event(), []
        poller = threading.Thread(target=health_latencies, args=(server.url, stop, health), daemon=True)
        poller.start()
        for page in pages:
            page.get_by_role("button", name="Train", exact=True).click()
        peak, end = dict(idle), time.monotonic() + seconds
        while time.monotonic() < end:
            now = memory(server.proc.pid)
            peak = {k: max(peak[k], now[k]) for k in peak}
            time.sleep(0.5)
        training = sum(1 for page in pages if (step(page) or 0) > 0)
        stop.set()
        poller.join()
        for page in pages:
            stop_button = page.get_by_role("button", name="Stop training", exact=True)
            if stop_button.is_enabled():
                stop_button.click()
        return idle, peak, health, training
    finally:
        for page in pages:
            page.context.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="Train clicks timed one after another")
    ap.add_argument("--sessions", type=int, default=8, help="sessions training at once for the memory figure")
    ap.add_argument("--seconds", type=float, default=30.0, help="how long to sample memory under load")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="rnnviz-bench-"))
    server = start_server(base / "runs", base / "streamlit.log")
    try:
        with sync_playwright() as p:
            browser = launch_browser(p)
            page = new_page(browser)
            open_app(page, server, "/")  # app.py runs once (see the deep-link note in tests/e2e/conftest.py)
            page.context.close()
            times = [first_update(browser, server, seed) for seed in range(args.repeats)]
            idle, peak, health, training = many_sessions(browser, server, args.sessions, args.seconds)
            browser.close()
    finally:
        stop_server(server)

    steps, charts = zip(*times)
    later_s, later_c = steps[1:] or steps, charts[1:] or charts
    health.sort()
    n = args.sessions
    rows = [
        ("Train click -> Step > 0, first click", f"{steps[0]:.2f} s"),
        ("Train click -> loss chart drawn, first click", f"{charts[0]:.2f} s"),
        (f"Train click -> Step > 0, median of {len(later_s)} later clicks", f"{statistics.median(later_s):.2f} s"),
        (f"Train click -> loss chart drawn, median of {len(later_c)} later clicks",
         f"{statistics.median(later_c):.2f} s"),
        ("  every click, chart drawn after", " ".join(f"{c:.2f}" for c in charts) + " s"),
        ("server process RSS, idle", f"{idle['server_rss'] / MiB:.0f} MiB"),
        (f"process tree RSS sum, idle ({idle['processes']} processes)", f"{idle['rss'] / MiB:.0f} MiB"),
        (f"process tree RSS sum, peak with {n} sessions training", f"{peak['rss'] / MiB:.0f} MiB"),
        ("process tree PSS sum, peak (shared pages counted once)", f"{peak['pss'] / MiB:.0f} MiB"),
        ("server process RSS, peak", f"{peak['server_rss'] / MiB:.0f} MiB"),
        ("processes in the tree, peak", str(peak["processes"])),
        (f"sessions showing Step > 0 after {args.seconds:.0f} s (others queued)", f"{training} of {n}"),
    ]
    if health:
        p90 = health[int(0.9 * (len(health) - 1))]
        rows.append(("health endpoint under load: median / p90 / max",
                     f"{health[len(health) // 2]:.3f} / {p90:.3f} / {health[-1]:.2f} s"))
    print("\nrnnviz browser benchmark (one 2-core machine: server, workers and Chromium together)")
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:{width}s}  {value}")


if __name__ == "__main__":
    main()
