"""snas.allocator: the C heap keeps what training steps free, unless the user decided otherwise."""

import platform
import resource
import subprocess
import sys
import textwrap

import pytest

from snas import allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Allocates two 16 MiB buffers and frees both, ten times: glibc's default trims the 32 MiB
# freed at the top of the heap every time, so every round faults its pages in again.
PROBE = textwrap.dedent("""
    import resource, sys
    if sys.argv[1] == "harness":
        import harness  # every snas-study process and Ray trial worker imports it first
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        a = bytearray(16 * 1024 * 1024); b = bytearray(16 * 1024 * 1024); del b, a
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
""")


def page_faults(setup: str) -> int:
    result = subprocess.run([sys.executable, "-c", PROBE, setup], capture_output=True, text=True, check=True)
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_importing_harness_keeps_freed_memory_so_repeated_allocations_stop_faulting():
    one_round = 2 * 16 * 1024 * 1024 // resource.getpagesize()
    assert page_faults("plain") >= 5 * one_round  # the default gives the memory back each round
    assert page_faults("harness") <= 1.5 * one_round  # faulted in once, then reused


@pytest.mark.parametrize("environ", [
    {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"},
    {"GLIBC_TUNABLES": "glibc.pthread.rseq=0:glibc.malloc.mmap_threshold=65536"},
    {"MALLOC_TRIM_THRESHOLD_": "0"},
    {"MALLOC_MMAP_THRESHOLD_": "131072"},
    {"MALLOC_TOP_PAD_": "0"},
])
def test_a_users_own_malloc_settings_are_left_alone(environ):
    assert allocator.user_chose_malloc_settings(environ)
    assert allocator.keep_freed_memory(environ) is False


def test_settings_of_other_parts_of_glibc_are_not_a_malloc_choice():
    assert not allocator.user_chose_malloc_settings({"GLIBC_TUNABLES": "glibc.pthread.rseq=0", "MALLOC_ARENA_MAX": "2"})


def test_other_c_libraries_are_left_as_they_are(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda: ("musl", "1.2"))
    assert allocator.keep_freed_memory({}) is False
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert allocator.keep_freed_memory({}) is False
