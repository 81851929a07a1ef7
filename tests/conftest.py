"""Shared test setup: CPU only, deterministic, two threads (CI's machine), one per worker under pytest-xdist."""
import os
import shutil
import tempfile

os.environ.setdefault("RNNVIZ_DEVICE", "cpu")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads: idle threads sleep, not spin

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)  # two workers: one core each
BACKGROUND_NICE = 5  # the non-browser worker's priority under pytest-xdist (pytest_runtest_setup)


def pytest_configure(config):
    """In the process that starts the run (pytest-xdist's controller, or pytest alone): a folder its workers share,
    where one of them leaves the lesson runs' outcomes for the others (tests/test_lesson_claims.py)."""
    if not hasattr(config, "workerinput") and "RNNVIZ_TEST_SHARED" not in os.environ:
        os.environ["RNNVIZ_TEST_SHARED"] = config._rnnviz_shared = tempfile.mkdtemp(prefix="rnnviz-tests-")


def pytest_unconfigure(config):
    shared = getattr(config, "_rnnviz_shared", None)
    if shared:
        shutil.rmtree(shared, ignore_errors=True)
        os.environ.pop("RNNVIZ_TEST_SHARED", None)


def pytest_sessionfinish(session):
    """A worker that trains the lesson runs for the others stays until they are done (its tests may end first)."""
    import sys

    claims = sys.modules.get("test_lesson_claims")
    if claims is not None:
        claims.finish_background()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _scan_components_once() -> None:
    """Every new AppTest scans the metadata of every installed package for Streamlit components (0.4 s each, in
    Streamlit 1.67: a real server does it once, at startup); the installed packages do not change during a test
    run, so the first scan's answer serves the rest. Tests only: the app is untouched."""
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    if getattr(scan, "_rnnviz_once", False):
        return
    found: dict = {}

    def once(max_workers=None):
        if "manifests" not in found:
            found["manifests"] = scan(max_workers)
        return list(found["manifests"])

    once._rnnviz_once = True
    manifest_scanner.scan_component_manifests = once


_scan_components_once()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(session, config, items):
    """The lesson-claims tests go last: their training runs start in the background with the first test that
    is not a browser test (pytest_runtest_setup), and by the time those tests run, the runs are done. Under
    pytest-xdist they join the browser tests' group (tests/e2e/conftest.py), after them: that worker ends its
    last browser test about when the other ends the rest, and then reads the runs' outcomes without waiting, where
    the other worker, busy all along, would wait for the runs it shares its core with."""
    claims = [item for item in items if item.nodeid.startswith("tests/test_lesson_claims.py")]
    items[:] = [item for item in items if item not in claims] + claims
    for item in claims:
        item.add_marker(pytest.mark.xdist_group("browser"))
    config._lesson_claims = bool(claims) and not config.option.collectonly


def pytest_runtest_setup(item):
    """The browser tests run first (tests/e2e sorts first) and need the machine's timing to themselves; the
    rest of the suite mostly keeps one core, so the lesson runs start with it, at the lowest CPU priority.
    Under pytest-xdist the worker that runs the rest lowers its own priority too (BACKGROUND_NICE) when its first
    such test starts: the browser tests' worker, with its server and Chromium, is the longer of the two, and it
    gets the cores first whenever both want them (the other worker's tests wait on nothing but the CPU)."""
    if os.environ.get("PYTEST_XDIST_WORKER") and not item.config.__dict__.get("_reniced") and \
            not item.nodeid.startswith(("tests/e2e/", "tests/test_lesson_claims.py")):
        item.config._reniced = True
        os.nice(BACKGROUND_NICE)
    if getattr(item.config, "_lesson_claims", False) and not item.nodeid.startswith("tests/e2e/"):
        item.config._lesson_claims = False
        import test_lesson_claims

        test_lesson_claims.start_in_background()
