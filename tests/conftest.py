"""Shared fixtures: tiny, fast configurations on generated data."""

from __future__ import annotations

import os
import tempfile

# isort: off
from snas.threads import choose_wait_policy

# `make test-fast` runs the suite on pytest-xdist workers, which share the cores: there idle
# OpenMP threads (of the CLI subprocesses the tests start) sleep instead of spinning.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
choose_wait_policy()  # before torch loads OpenMP: a busy CI machine makes spinning threads collapse
import pytest  # noqa: E402
import torch  # noqa: E402

# isort: on

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
# The analysis remembers what it read of each trial folder in the user's cache folder
# (harness.analysis.trial_cache): the tests keep theirs apart, one folder per test process.
os.environ.setdefault("SNAS_STUDY_CACHE", tempfile.mkdtemp(prefix="snas-study-cache-"))
# Ray Train's controller polls its workers every 2 s; the data-parallel tests' epochs last
# a second or two, so each report, finish and restart waited on that poll (a Ctrl-C and
# resume test: 118 s at 2 s, 107 s at 0.25 s).  Set in the environment, it reaches the CLI
# subprocesses the tests start, and Train hands it to its controller.
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.25")
# One intra-op thread in the test process: the networks here are tiny, and a second thread's
# barrier waits made a 90-step tiny search 3.2x slower (41.7 s vs 12.9 s on 2 cores).  Trials
# and CLI subprocesses choose their own threads, as in real use.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_intra_op_thread():
    """Back to one thread before every test: a command run in-process (``main([...])``)
    sizes torch's threads to the machine, as it should for a user."""
    torch.set_num_threads(1)


@pytest.fixture
def tiny_settings():
    from search_helpers import tiny_search_settings

    return tiny_search_settings



SLOW_FILES_LONGEST_FIRST = (
    "test_faults.py", "test_tune_e2e.py", "test_data_parallel.py", "test_data_parallel_faults.py",
    "test_pbt_faults.py", "test_console.py", "test_optuna_search.py", "test_node_loss.py", "test_pbt.py",
    "test_compilation.py", "test_search.py", "test_tracking.py", "test_cli_workers.py",
)
"""The test files whose Ray studies cost most, longest first (a fresh-clone CI run of
2026-12-06: test_faults.py 310 s down to test_cli_workers.py 40 s).  `make test-slow` hands
whole files to its two workers in collection order (``--dist loadfile --no-loadscope-reorder``;
xdist's default order, most tests first, ran the one-test PBT Ctrl-C file alone at the end
while the other worker idled); longest first, the two finish close together."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The costliest files' tests first (:data:`SLOW_FILES_LONGEST_FIRST`), each file's in its own
    order, the rest as collected."""
    rank = {name: position for position, name in enumerate(SLOW_FILES_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
