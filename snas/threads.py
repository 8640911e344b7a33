"""How a process's compute threads wait, and how many of them it should run.

PyTorch's CPU kernels run on OpenMP (GNU libgomp in the pip wheels).  Between parallel
regions libgomp's idle threads *spin* by default, for up to a few hundred thousand
iterations, before they sleep.  On a machine with as many threads as cores that is cheap;
next to another busy process it is a collapse: a supernet step is hundreds of small
kernels, each ends at a barrier, and at each barrier our spinning thread burns the time
slice its sibling (descheduled, holding the unfinished half of the work) needs.  Measured
on a 2-core machine (``bench/contention.py``): a 2-thread search step next to one other
busy process ran many times slower than alone; with passive waiting it loses about the
share of the machine the other process takes.

libgomp reads ``OMP_WAIT_POLICY`` once, when it is loaded (at ``import torch``), so
:func:`wait_passively` must run before that; this module therefore imports nothing heavy.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

WAIT_POLICY = "OMP_WAIT_POLICY"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def wait_passively() -> None:
    """Let idle OpenMP threads sleep instead of spin, unless the user chose a policy.

    Call it before ``torch`` is imported (the ``harness`` package does, so every
    ``snas-study`` process and every Ray trial worker gets it).  An explicit
    ``OMP_WAIT_POLICY=ACTIVE`` in the environment is kept: on a dedicated machine spinning
    can shave the wake-up latency off each kernel.
    """
    os.environ.setdefault(WAIT_POLICY, "PASSIVE")


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
        quota, period = int(quota_file.read_text()), int(period_file.read_text())
        if quota > 0 and period > 0:
            return quota / period
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
    import torch  # here, not at the top: wait_passively must be importable before torch

    threads = available_cpus() if limit is None else max(1, min(limit, available_cpus()))
    torch.set_num_threads(threads)
    return threads
