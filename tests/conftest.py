"""Shared test setup: CPU only, deterministic, two threads (CI's machine)."""
import os

os.environ.setdefault("RNNVIZ_DEVICE", "cpu")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
