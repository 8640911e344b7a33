"""Thread count and OpenMP waiting: what a process next to other busy jobs should use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from snas.threads import available_cpus

ROOT = Path(__file__).resolve().parents[2]


def _cgroup_v2(tmp_path: Path, cpu_max: str) -> Path:
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    return tmp_path


def test_a_container_quota_caps_the_affinity_mask(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    assert available_cpus(_cgroup_v2(tmp_path, "max 100000")) == affinity
    assert available_cpus(_cgroup_v2(tmp_path, "100000 100000")) == 1
    # a fractional quota still gets one whole thread, and rounds up: 1.5 CPUs -> 2 threads at most
    assert available_cpus(_cgroup_v2(tmp_path, "50000 100000")) == 1
    assert available_cpus(_cgroup_v2(tmp_path, "150000 100000")) == min(2, affinity)


def test_cgroup_v1_quota_and_unreadable_files(tmp_path):
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    (cpu / "cpu.cfs_quota_us").write_text("100000\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path) == 1
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")  # v1's "no limit"
    assert available_cpus(tmp_path) == len(os.sched_getaffinity(0))
    (cpu / "cpu.cfs_quota_us").write_text("garbage\n")
    assert available_cpus(tmp_path) == len(os.sched_getaffinity(0))


def _spin_count(code: str, **env: str) -> int:
    """How many times libgomp's idle threads spin before sleeping, in a fresh interpreter
    running ``code`` (``OMP_DISPLAY_ENV=verbose`` prints its settings when torch loads it;
    its ``OMP_WAIT_POLICY`` line reads PASSIVE for the spinning default too, the spin count
    tells them apart)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    environ.update(OMP_DISPLAY_ENV="verbose", PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "GOMP_SPINCOUNT" in line]
    if not lines:
        pytest.skip("this OpenMP runtime does not display its settings (not libgomp)")
    return int(lines[0].split("=", 1)[1].strip().strip("'"))


def test_harness_processes_wait_passively_unless_the_user_chose():
    assert _spin_count("import torch; torch.ones(1)") > 0  # libgomp's own default spins
    assert _spin_count("import harness, torch; torch.ones(1)") == 0
    assert _spin_count("import harness.trainables, torch; torch.ones(1)") == 0  # what a Ray trial worker loads
    assert _spin_count("import harness, torch; torch.ones(1)", OMP_WAIT_POLICY="ACTIVE") > 0
