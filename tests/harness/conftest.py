"""Ray for the harness tests: one local instance per test session, started on first use."""

from __future__ import annotations

import logging
import shutil
import tempfile

import pytest


@pytest.fixture(scope="session")
def ray_local():
    import ray

    temp_dir = tempfile.mkdtemp(prefix="r", dir="/tmp")  # short: Ray's socket paths have a length limit
    # The dashboard serves the state API, which Ray Train's placement-group cleaner and the
    # data-parallel test's leak check (ray.util.state) need: see harness.cluster.ray_session.
    ray.init(num_cpus=2, include_dashboard=True, _temp_dir=temp_dir, logging_level=logging.WARNING,
             log_to_driver=False)
    yield ray
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)
