"""Shared fixtures: tiny, fast configurations on generated data."""

from __future__ import annotations

import os

# isort: off
from snas.threads import choose_wait_policy

# `make test-fast` runs the suite on pytest-xdist workers, which share the cores: there every
# worker gets its share of the intra-op threads, and idle threads sleep instead of spinning.
XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if XDIST_WORKERS > 1:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
choose_wait_policy()  # before torch loads OpenMP: a busy CI machine makes spinning threads collapse
import pytest  # noqa: E402
import torch  # noqa: E402

# isort: on

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
torch.set_num_threads(max(1, min(2, torch.get_num_threads()) // XDIST_WORKERS))


@pytest.fixture
def tiny_settings():
    from search_helpers import tiny_search_settings

    return tiny_search_settings


@pytest.fixture
def one_thread():
    """Run a test on one intra-op thread: tiny networks gain nothing from more, and on a
    busy machine the extra thread's spin-waits make an epoch up to ten times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
