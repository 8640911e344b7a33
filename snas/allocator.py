"""How a process's C heap keeps the memory that a training step frees.

glibc's ``malloc`` gives freed memory back to the kernel: a chunk above its mmap threshold
(128 KiB at first, raised to the size of freed chunks up to 32 MiB) is unmapped when it is
freed, and free space at the top of the heap beyond the trim threshold (twice the mmap
threshold) is handed back.  A search step allocates and frees the same activations step
after step, so it takes that memory back from the kernel every time, one zeroed page per
fault: a ``snas`` step at ``bench/search_step.py`` config a faulted 9,500-13,800 pages
(37-54 MB) a step, under 200 with the settings below.

:func:`keep_freed_memory` fixes the mmap threshold at its maximum (32 MiB: smaller
allocations come from the heap and are reused) and turns trimming off, so the heap stays
at the size the steps need.  Paired runs of two processes, one with these settings (the
same seeds, alternating rounds of two steps, median of the per-round ratios, 2 threads,
2026-12-07): ``snas`` at config a 1.084 and 1.048 times as fast, ``gdas`` at a6 1.048,
where the same harness without the settings gave 1.009 and 1.017.  The cost: a process
keeps its peak heap until it exits instead of shrinking between phases.

The settings apply to the whole process and to allocations made after the call; a user's
own malloc settings (``MALLOC_*_`` variables, ``glibc.malloc`` tunables) take precedence,
and other C libraries (macOS, musl) are left as they are.  This module imports nothing
heavy, so the ``harness`` package can apply it before anything is allocated.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Callable, Mapping
from typing import Any

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
"""``mallopt`` parameters (glibc's ``malloc.h``)."""

MMAP_THRESHOLD = 32 * 1024 * 1024
"""The largest mmap threshold glibc accepts on 64-bit systems."""
NO_TRIM = 2**31 - 1
"""A trim threshold no free space reaches (``mallopt`` takes an ``int``)."""
TOP_PAD = 64 * 1024 * 1024
"""Extra memory asked of the kernel each time the heap grows: fewer, larger steps."""

USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
"""The environment variables of glibc for the settings made here."""


def user_chose_malloc_settings(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment already configures glibc's malloc."""
    return any(name in environ for name in USER_SETTINGS) or "glibc.malloc." in environ.get("GLIBC_TUNABLES", "")


def keep_freed_memory(environ: Mapping[str, str] = os.environ) -> bool:
    """Keep freed memory in this process's heap (see the module's docstring); returns whether
    the settings were applied (False: not glibc, or the user's own settings rule)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or user_chose_malloc_settings(environ):
        return False
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, NO_TRIM), (M_TOP_PAD, TOP_PAD))
    accepted = [mallopt(option, value) == 1 for option, value in settings]  # each one, even after a refusal
    return all(accepted)


def heap_trimmer() -> Callable[[], object]:
    """A call that hands the heap's free pages back to the system now, whatever the settings
    above: glibc's ``malloc_trim``, or nothing where there is none (macOS, musl, Windows)."""
    trim = _libc_function("malloc_trim")
    return (lambda: None) if trim is None else (lambda: trim(0))


def _libc_function(name: str) -> Any:
    """The C library's function ``name`` through ctypes; None where it has none."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (AttributeError, OSError, TypeError):
        return None
