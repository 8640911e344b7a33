"""Shared plumbing of the benchmarks: timing, machine facts, JSON lines, the results file."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results" / "bench"


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(), "platform": platform.platform(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def seconds_of(fn: Callable[[], object], sync: bool = False) -> float:
    """Wall-clock seconds of one call; with ``sync``, CUDA work queued before it and by it included."""
    if sync:
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if sync:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def time_call(fn: Callable[[], object], repeats: int, warmup: int = 1, sync: bool = False) -> dict[str, float]:
    """Median and spread of ``repeats`` timed calls after ``warmup`` untimed ones (seconds)."""
    for _ in range(warmup):
        fn()
    times = [seconds_of(fn, sync) for _ in range(repeats)]
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeats": repeats}


def emit(record: dict[str, Any]) -> None:
    """Print one JSON line and append it to ``$SNAS_BENCH_OUT`` when set (``make bench``)."""
    line = json.dumps(record, sort_keys=True)
    print(line, flush=True)
    out = os.environ.get("SNAS_BENCH_OUT")
    if out:
        with open(out, "a") as handle:
            handle.write(line + "\n")


def today_results_file() -> Path:
    return RESULTS_DIR / f"{_dt.date.today().isoformat()}.json"


def header(name: str) -> dict[str, Any]:
    return {"bench": name, "machine": machine(), "argv": sys.argv[1:]}
