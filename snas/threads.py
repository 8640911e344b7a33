"""How a process's compute threads wait, and how many of them it should run.

PyTorch's CPU kernels run on OpenMP (GNU libgomp in the pip wheels).  Between parallel
regions libgomp's idle threads *spin* (300000 times) before they sleep.  On a quiet
machine that is the fastest choice: a supernet step is hundreds of small kernels, each
ending at a barrier, and a spinning thread picks up the next one at once.  Next to another
busy process it is a collapse: at each barrier our spinning thread burns the time slice its
descheduled sibling needs to finish its half.  ``bench/contention.py`` (2 cores, 2 threads,
a 5-cell C=8 SNAS step, medians of paired rounds):

============  =====  =========  =========
policy        quiet  busy core  torch job
============  =====  =========  =========
spin          1.08   3.07       16.9 s
passive       1.91   1.82       1.96 s
spin=1000     1.54   1.91       1.99 s
============  =====  =========  =========

No single setting wins both columns, so :func:`choose_wait_policy` decides once, at
start: passive waiting when other work already occupies a core, libgomp's spinning
otherwise.  It changes no result (the thread count stays as it is; only how idle threads
wait).  libgomp reads its settings once, when it is loaded (at ``import torch``), so the
choice must be made before that; this module therefore imports nothing heavy.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

WAIT_POLICY = "OMP_WAIT_POLICY"
SPIN_COUNT = "GOMP_SPINCOUNT"
CGROUP_ROOT = Path("/sys/fs/cgroup")
LOADAVG = Path("/proc/loadavg")


def machine_is_busy(loadavg: Path = LOADAVG) -> bool:
    """Whether other work occupies at least one core now: the processes runnable at this
    moment (less this one), or the last minute's load average, reach one."""
    try:
        fields = loadavg.read_text().split()
        runnable = int(fields[3].split("/")[0]) - 1
        return max(float(fields[0]), runnable) >= 1.0
    except (OSError, ValueError, IndexError):  # no /proc (macOS) or an unusual file: assume quiet
        return False


def choose_wait_policy(loadavg: Path = LOADAVG) -> str:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` when the machine is busy, unless the user chose a
    policy (``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` in the environment); returns the
    policy in force, ``"default"`` for libgomp's own spinning.

    Call it before ``torch`` is imported (the ``harness`` package does, so every
    ``snas-study`` process and every Ray trial worker gets it).
    """
    if WAIT_POLICY not in os.environ and SPIN_COUNT not in os.environ and machine_is_busy(loadavg):
        os.environ[WAIT_POLICY] = "PASSIVE"
    return os.environ.get(WAIT_POLICY, "default")


def _cgroup_cpu_limit(root: Path) -> float | None:
    """CPUs granted by the cgroup's quota (v2 ``cpu.max`` or v1 ``cfs_quota_us``), or None."""
    v2 = root / "cpu.max"
    if v2.is_file():
        quota, _, period = v2.read_text().strip().partition(" ")
        if quota != "max" and period:
            return int(quota) / int(period)
        return None
    quota_file, period_file = root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"
    if quota_file.is_file() and period_file.is_file():
        quota_us, period_us = int(quota_file.read_text()), int(period_file.read_text())
        if quota_us > 0 and period_us > 0:
            return quota_us / period_us
    return None


def available_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The CPUs this process may really use: its affinity mask, capped by a container's quota.

    ``os.cpu_count()`` (and PyTorch's default thread count) report the host's cores, so in
    a container limited to 2 CPUs of a 64-core host PyTorch would start 64 threads that
    fight over two cores -- the collapse described above, made permanent.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity masks
        cpus = os.cpu_count() or 1
    try:
        limit = _cgroup_cpu_limit(cgroup_root)
    except (OSError, ValueError):  # an unreadable or unusual cgroup file: no cap known
        limit = None
    if limit is not None:
        cpus = min(cpus, max(1, math.ceil(limit)))
    return max(1, cpus)


def use_available_cpus(limit: int | None = None) -> int:
    """Run PyTorch's intra-op work on :func:`available_cpus` threads (at most ``limit``,
    e.g. a Ray trial's CPU share); returns the count chosen."""
    import torch  # here, not at the top: choose_wait_policy must be importable before torch

    threads = available_cpus() if limit is None else max(1, min(limit, available_cpus()))
    torch.set_num_threads(threads)
    return threads
