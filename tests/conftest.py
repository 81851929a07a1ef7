"""Shared test setup: CPU only, deterministic, two threads (CI's machine), one per worker under pytest-xdist."""
import os
import shutil
import tempfile

os.environ.setdefault("RNNVIZ_DEVICE", "cpu")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads: idle threads sleep, not spin

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)  # two workers: one core each


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
    rest of the suite mostly keeps one core, so the lesson runs start with it, at the lowest CPU priority."""
    if getattr(item.config, "_lesson_claims", False) and not item.nodeid.startswith("tests/e2e/"):
        item.config._lesson_claims = False
        import test_lesson_claims

        test_lesson_claims.start_in_background()
