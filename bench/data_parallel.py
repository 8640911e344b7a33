"""Data-parallel search steps: 1 worker against 2 at the same global batch, on the CPU.

A step is :meth:`snas.search.Search.train_step` on the worker's shard of one global batch
(the SNAS single-level step with its resource penalty), plus, with 2 workers, the one
flat all-reduce of the θ and α gradients (:func:`snas.distributed.average_gradients`).
The 1-worker variant is one process using every core; the 2-worker variant is two gloo
ranks (``torch.multiprocessing``) sharing the cores, one thread each.  Both are timed in
the same run, in rounds (1 worker, then 2, each round), and the summary's
``two_vs_one_speedup`` is the median over rounds of (1-worker step time / 2-worker step
time): on a 2-core machine it says what splitting the batch costs or gains when the two
workers share the cores the single process had.

The summary also counts the bytes one step all-reduces (float32 gradients of θ and α
plus one flag per parameter) for the benchmarked network and for the official multi-GPU
search (20 cells, C = 36, CIFAR-10), and turns the latter into the time a ring
all-reduce over 8 GPUs needs at a few link speeds: arithmetic, not a measurement, until
a GPU cluster runs this.

    python bench/data_parallel.py --rounds 3 --steps 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header, seconds_of  # noqa: E402
from snas.config import SearchConfig  # noqa: E402
from snas.distributed import current_ranks, shard  # noqa: E402
from snas.search import Search  # noqa: E402
from snas.spaces import SPACES  # noqa: E402
from snas.training import RunningMean  # noqa: E402

BENCH = {"layers": 5, "init_channels": 8, "batch_size": 64}
OFFICIAL = {"layers": 20, "init_channels": 36, "batch_size": 72, "workers": 8}
LINKS_GB_S = {"nvlink_150GB_s": 150.0, "pcie4_x16_20GB_s": 20.0, "ethernet_25Gb_s": 3.1}
"""Assumed all-reduce bus bandwidths, GB/s (NVLink-class, PCIe 4.0 x16, 25 GbE)."""


def search_config() -> SearchConfig:
    return SearchConfig(
        method="snas", epochs=10, device="cpu", drop_path=0.0,
        data={"dataset": "synthetic", "synthetic": {"image_size": 32, "train_images": 512, "test_images": 64},
              "split": {"train_fraction": 0.5}},
        **BENCH,
    )


def time_steps(steps: int) -> float:
    """Median seconds of ``steps`` steps (after one warm-up) on this rank's shard."""
    search = Search(search_config())
    ranks = current_ranks()
    x, y = shard(next(search.data.train.train_epoch(search.generators["data"])), ranks)
    x = x.contiguous(memory_format=search.memory_format)
    stats = {name: RunningMean() for name in ("loss", "acc", "cost")}
    search.model.train()

    def step() -> None:
        search.train_step((x, y), None, 1.0, stats)
        if ranks.parallel:
            dist.barrier()  # a step ends when the slower rank's does

    step()
    return statistics.median(seconds_of(step) for _ in range(steps))


def _one_worker(_: int, steps: int, threads: int, out: str) -> None:
    torch.set_num_threads(threads)
    torch.save(time_steps(steps), out)


def _rank(rank: int, steps: int, folder: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{folder}/group", rank=rank, world_size=2)
    try:
        seconds = time_steps(steps)
        if rank == 0:
            torch.save(seconds, f"{folder}/seconds.pt")
    finally:
        dist.destroy_process_group()


def measure(steps: int, threads: int) -> tuple[float, float]:
    """(1-worker, 2-worker) median step seconds, each in fresh processes."""
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_one_worker, args=(steps, threads, f"{folder}/one.pt"), nprocs=1)
        one = torch.load(f"{folder}/one.pt")
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_rank, args=(steps, folder), nprocs=2)
        two = torch.load(f"{folder}/seconds.pt")
    return one, two


def allreduce_bytes(layers: int, init_channels: int, num_classes: int = 10, in_channels: int = 3) -> dict[str, int]:
    """Bytes of the flat gradient all-reduce of one single-level step (float32)."""
    space = SPACES["darts"]
    model = space.supernet(init_channels, num_classes, layers, in_channels=in_channels)
    params = list(model.parameters())
    theta = sum(p.numel() for p in params)
    alpha = len(space.cell_types) * space.num_edges * len(space.primitives)
    flags = len(params) + len(space.cell_types) + 1
    return {"theta_params": theta, "alpha_params": alpha, "bytes": 4 * (theta + alpha + flags)}


def official_arithmetic() -> dict[str, object]:
    """The 8-GPU official search's all-reduce per step, on paper (ring: each GPU sends and
    receives 2·(n-1)/n of the buffer)."""
    payload = allreduce_bytes(OFFICIAL["layers"], OFFICIAL["init_channels"])
    n = OFFICIAL["workers"]
    per_gpu = 2 * (n - 1) / n * payload["bytes"]
    return {**OFFICIAL, **payload, "ring_bytes_per_gpu": int(per_gpu),
            "images_per_worker": OFFICIAL["batch_size"] // n,
            "allreduce_ms": {link: 1e3 * per_gpu / (gb_s * 1e9) for link, gb_s in LINKS_GB_S.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant and round")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    threads = max(1, min(2, os.cpu_count() or 1))
    rounds = []
    for index in range(args.rounds):
        one, two = measure(args.steps, threads)
        rounds.append((one, two))
        emit({"bench": "data_parallel", "round": index, "one_worker_s": one, "two_workers_s": two,
              "two_vs_one_speedup": one / two})
    emit({**header("data_parallel"), "config": BENCH, "one_worker_threads": threads,
          "two_worker_threads": 1,
          "one_worker_s": statistics.median(r[0] for r in rounds),
          "two_workers_s": statistics.median(r[1] for r in rounds),
          "two_vs_one_speedup": statistics.median(r[0] / r[1] for r in rounds),
          "allreduce_per_step": allreduce_bytes(BENCH["layers"], BENCH["init_channels"]),
          "official_8_gpus": official_arithmetic()})


if __name__ == "__main__":
    main()
