"""A search step next to another busy process: spinning against passive OpenMP threads.

Each waiting policy gets its own worker process (libgomp reads ``OMP_WAIT_POLICY`` when
torch loads it, so a policy is fixed for a process's life): ``spin`` is libgomp's default
(the variable unset), ``passive`` what ``snas-study`` now sets.  Both build the same
search at the same thread count and take turns, one timed ``snas`` step each (after an
untimed one), under each load:

- ``quiet``: nothing else running;
- ``busy-core``: one single-threaded CPU hog (a compiler, a data loader, ...);
- ``torch-job``: another PyTorch process with as many threads and libgomp's default policy
  (a colleague's training run; we cannot change how it waits).

Ratios are medians over rounds of times taken in the same round (this machine drifts by
30% within minutes).  ``slowdown`` is a loaded step over a quiet one of the same policy;
the fair figure with one hog on 2 cores is about 1.5 (two thirds of the machine left).

    python bench/contention.py --threads 2 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402


def policy_env(policy: str) -> dict[str, str]:
    """The OpenMP variables of a policy: ``spin`` (libgomp's default: spin 300000 times,
    then sleep), ``passive`` (sleep at once) or ``spin=N`` (spin N times, then sleep)."""
    if policy == "spin":
        return {}
    if policy == "passive":
        return {"OMP_WAIT_POLICY": "PASSIVE"}
    count = policy.removeprefix("spin=")
    if not count.isdigit():
        raise SystemExit(f"unknown policy {policy!r}: spin, passive or spin=N")
    return {"GOMP_SPINCOUNT": count}

LOADS = ("quiet", "busy-core", "torch-job")
_OPENMP_WAITING = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
_BUSY_CORE = "while True: pass"
_TORCH_JOB = """
import torch
torch.set_num_threads({threads})
a = torch.randn(96, 96)
while True:
    a = torch.tanh(a @ a * 0.01)
"""


def _worker(config: str, threads: int) -> None:
    """Build the step, then per line on stdin run an untimed and a timed step and print
    the timed one's wall-clock and CPU seconds."""
    import torch

    from bench.search_step import make_step

    torch.set_num_threads(threads)
    step, _ = make_step("snas", config, "cpu", True, False)
    step()
    print("ready", flush=True)
    for _ in sys.stdin:
        step()
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        print(f"{time.perf_counter() - wall} {time.process_time() - cpu}", flush=True)


class PolicyWorker:
    """One worker process whose OpenMP runtime waits as ``policy`` says."""

    def __init__(self, policy: str, config: str, threads: int):
        env = {k: v for k, v in os.environ.items() if k not in _OPENMP_WAITING}
        env.update(policy_env(policy))
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--config", config, "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        if self._read() != "ready":
            raise SystemExit(f"the {policy} worker failed to start (exit code {self._process.poll()})")

    def _read(self) -> str:
        line = self._process.stdout.readline().strip()
        if not line:
            raise SystemExit(f"a worker died (exit code {self._process.wait()})")
        return line

    def step(self) -> tuple[float, float]:
        self._process.stdin.write("step\n")
        self._process.stdin.flush()
        wall, cpu = self._read().split()
        return float(wall), float(cpu)

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=30)


def _start_load(load: str, threads: int) -> subprocess.Popen | None:
    if load == "quiet":
        return None
    code = _BUSY_CORE if load == "busy-core" else _TORCH_JOB.format(threads=threads)
    env = {k: v for k, v in os.environ.items() if k not in _OPENMP_WAITING}
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    time.sleep(1.0)  # let it import torch and reach its loop
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="a", choices=("a", "b"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--policies", nargs="+", default=["spin", "passive"],
                        help="spin (libgomp's default), passive, or spin=N; the first is the baseline")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.config, args.threads)
        return
    policies = args.policies
    workers = {policy: PolicyWorker(policy, args.config, args.threads) for policy in policies}
    wall: dict[tuple[str, str], list[float]] = {(p, load): [] for p in policies for load in LOADS}
    cpu: dict[tuple[str, str], list[float]] = {key: [] for key in wall}
    try:
        for _ in range(args.repeats):
            for load in LOADS:
                competitor = _start_load(load, args.threads)
                try:
                    for policy, worker in workers.items():
                        seconds, cpu_seconds = worker.step()
                        wall[policy, load].append(seconds)
                        cpu[policy, load].append(cpu_seconds)
                finally:
                    if competitor is not None:
                        competitor.kill()
                        competitor.wait()
    finally:
        for worker in workers.values():
            worker.close()
    summary = {**header("contention"), "config": args.config, "threads": args.threads, "summary": True}
    for policy in policies:
        for load in LOADS:
            emit({**header("contention"), "config": args.config, "threads": args.threads, "policy": policy,
                  "load": load, "median_s": statistics.median(wall[policy, load]), "times_s": wall[policy, load],
                  "cpu_s": statistics.median(cpu[policy, load])})
            if load != "quiet":
                summary[f"{policy}_slowdown_{load}"] = statistics.median(
                    loaded / quiet for loaded, quiet in zip(wall[policy, load], wall[policy, "quiet"]))
    baseline = policies[0]
    for policy in policies[1:]:
        for load in LOADS:
            summary[f"{policy}_speedup_{load}"] = statistics.median(
                b / p for b, p in zip(wall[baseline, load], wall[policy, load]))
    emit(summary)


if __name__ == "__main__":
    main()
