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
    return _spin_count_and_policy(code, **env)[0]


def _spin_count_and_policy(code: str, **env: str) -> tuple[int, str | None]:
    """How many times libgomp's idle threads spin before sleeping, in a fresh interpreter
    running ``code`` (``OMP_DISPLAY_ENV=verbose`` prints its settings when torch loads it;
    its ``OMP_WAIT_POLICY`` line reads PASSIVE for the spinning default too, the spin count
    tells them apart)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    environ.update(OMP_DISPLAY_ENV="verbose", PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    output = (done.stdout + done.stderr).splitlines()
    lines = [line for line in output if "GOMP_SPINCOUNT" in line]
    if not lines:
        pytest.skip("this OpenMP runtime does not display its settings (not libgomp)")
    policy = next((line.split()[1] for line in output if line.startswith("policy ")), None)
    return int(lines[0].split("=", 1)[1].strip().strip("'")), None if policy == "None" else policy


def _loadavg(tmp_path: Path, one_minute: float, runnable: int) -> Path:
    path = tmp_path / "loadavg"
    path.write_text(f"{one_minute:.2f} 0.50 0.40 {runnable}/312 4242\n")
    return path


@pytest.mark.parametrize("one_minute, runnable, busy", [
    (0.10, 1, False),  # only this process runs
    (0.90, 1, False),
    (1.20, 1, True),   # a job has kept a core busy over the last minute
    (0.05, 2, True),   # a job started a moment ago: runnable now, not yet in the average
])
def test_the_machine_is_busy_when_other_work_occupies_a_core(tmp_path, one_minute, runnable, busy):
    from snas.threads import machine_is_busy

    assert machine_is_busy(_loadavg(tmp_path, one_minute, runnable)) is busy
    assert machine_is_busy(tmp_path / "absent") is False


def test_the_wait_policy_is_passive_on_a_busy_machine_unless_the_user_chose(tmp_path, monkeypatch):
    from snas.threads import choose_wait_policy

    busy, quiet = _loadavg(tmp_path, 1.5, 3), tmp_path / "quiet"
    quiet.write_text("0.01 0.01 0.01 1/300 1\n")
    for variable in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        monkeypatch.delenv(variable, raising=False)
    assert choose_wait_policy(quiet) == "default" and "OMP_WAIT_POLICY" not in os.environ
    assert choose_wait_policy(busy) == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert choose_wait_policy(busy) == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "1000")
    assert choose_wait_policy(busy) == "default" and "OMP_WAIT_POLICY" not in os.environ


def test_harness_decides_the_wait_policy_before_torch_loads_openmp():
    """What the harness chose is what libgomp runs with, in a CLI process and in what a Ray
    trial worker imports (the choice itself depends on this machine's load right now)."""
    show = "import os, torch; torch.ones(1); print('policy', os.environ.get('OMP_WAIT_POLICY'))"
    assert _spin_count("import torch; torch.ones(1)") > 0  # libgomp's own default spins
    for first in ("harness", "harness.trainables"):
        count, policy = _spin_count_and_policy(f"import {first}; {show}")
        assert (count == 0) == (policy == "PASSIVE"), (first, count, policy)
    assert _spin_count("import harness, torch; torch.ones(1)", OMP_WAIT_POLICY="ACTIVE") > 0
    assert _spin_count("import harness, torch; torch.ones(1)", OMP_WAIT_POLICY="PASSIVE") == 0
