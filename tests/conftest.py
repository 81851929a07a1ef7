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
