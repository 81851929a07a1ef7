"""Shared test setup: CPU only, deterministic, two threads (CI's machine)."""
import os

os.environ.setdefault("RNNVIZ_DEVICE", "cpu")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads: idle threads sleep, not spin

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def pytest_collection_modifyitems(session, config, items):
    """The lesson-claims tests go last, and their training runs start now, in the background at the lowest CPU
    priority (tests/test_lesson_claims.py): by the time those tests run, their runs are done."""
    claims = [item for item in items if item.nodeid.startswith("tests/test_lesson_claims.py")]
    if claims and not config.option.collectonly:
        items[:] = [item for item in items if item not in claims] + claims
        import test_lesson_claims

        test_lesson_claims.start_in_background()
