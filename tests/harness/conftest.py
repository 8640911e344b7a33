"""Ray for the harness tests: one local instance per test session, started on first use."""

from __future__ import annotations

import logging
import shutil
import tempfile

import pytest

from harness.cluster import local_ray_options


@pytest.fixture(scope="session")
def ray_local():
    import ray

    temp_dir = tempfile.mkdtemp(prefix="r", dir="/tmp")  # short: Ray's socket paths have a length limit
    # The state API, which Ray Train's placement-group cleaner and the data-parallel tests'
    # leak check (ray.util.state) need, as a data-parallel study starts it: see
    # harness.cluster.ray_session and local_ray_options.
    ray.init(num_cpus=2, logging_level=logging.WARNING, log_to_driver=False,
             **local_ray_options(state_api=True, temp_dir=temp_dir))
    yield ray
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)
