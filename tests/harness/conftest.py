"""Ray for the harness tests (one local instance per test session, started on first use), and
every analysis's plots drawn from what a plot worker would receive."""

from __future__ import annotations

import io
import logging
import math
import shutil
import tempfile
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.analysis import summary
from harness.analysis.plot_wire import encode_job, read_job
from harness.analysis.plotting import SerialPlots
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


class _ThroughTheWire(SerialPlots):
    """Draws what a plot worker would receive (:mod:`harness.analysis.plot_wire`), after checking
    it is what was sent: every analysis in these tests, of every kind of study, tests the wire."""

    def submit(self, fields: dict[str, Any]) -> None:
        received, _, _ = read_job(io.BytesIO(encode_job(fields, (logging.WARNING, None))))
        for name in ("trials", "curves"):
            pd.testing.assert_frame_equal(received[name], fields[name], check_exact=True)
        assert received["tables"].keys() == fields["tables"].keys()
        for name, table in fields["tables"].items():
            pd.testing.assert_frame_equal(received["tables"][name], table, check_exact=True)
        for key in ("study", "metric", "folder", "best", "scales", "settings", "lineages"):
            assert _same(received[key], fields[key]), key
        super().submit(received)


def _same(received: Any, sent: Any) -> bool:
    """Equal values of the same types (a numpy scalar sent is its Python number; NaN is NaN)."""
    if isinstance(sent, np.generic):
        sent = sent.item()
    if isinstance(sent, float) and math.isnan(sent):
        return isinstance(received, float) and math.isnan(received)
    if type(received) is not type(sent):
        return False
    if isinstance(sent, dict):
        return list(received) == list(sent) and all(_same(received[key], sent[key]) for key in sent)
    if isinstance(sent, list):
        return len(received) == len(sent) and all(map(_same, received, sent))
    return bool(received == sent)


@pytest.fixture(autouse=True)
def plots_through_the_wire(monkeypatch):
    """Analyses draw serially, from the job a worker would receive."""
    monkeypatch.setattr(summary, "plotter", lambda path: _ThroughTheWire())
