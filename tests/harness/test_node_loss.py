"""Losing the node a trial runs on: the trial resumes on another node and the study completes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from study_helpers import tiny_study, write_study

pytestmark = pytest.mark.slow


def test_trial_moves_to_another_node_when_its_node_dies(tmp_path):
    study = tiny_study("nodes", tmp_path / "results", search={"epochs": 5}, space={},
                       failures={"max_failures": 2})
    path = write_study(tmp_path / "s.yaml", study)
    repo = Path(__file__).resolve().parents[2]
    path_entries = [str(repo), str(repo / "tests" / "harness"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONPATH": os.pathsep.join(path_entries)}
    with tempfile.TemporaryDirectory(prefix="r", dir="/tmp") as ray_dir:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("node_loss_driver.py")), str(path),
             str(tmp_path / "results" / "nodes"), ray_dir],
            env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["refused_code"] == 2
    assert "the Ray cluster has 3 nodes" in summary["refused_message"]
    assert "storage.shared: true" in summary["refused_message"]
    assert summary["driver_code"] == 0, summary["driver_output"]
    epochs = summary["epochs"]
    assert epochs[-1] == 5 and epochs.count(1) == 1  # resumed from a checkpoint, not from scratch
    assert len(summary["pids"]) == 2  # the trial ran in a second worker process after the loss
