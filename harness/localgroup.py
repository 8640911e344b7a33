"""``snas-study search --workers N``: one search on N processes of this machine, without Ray.

The command starts a local torch.distributed process group (``torch.multiprocessing``;
gloo on the CPU, NCCL with rank ``r`` on GPU ``r`` when the search runs on CUDA) and
every rank runs the same :class:`snas.search.Search` epochs (:mod:`snas.distributed`
does the math).  Rank 0 does everything a one-process search does (progress bar, summary
lines, config.yaml, metrics.jsonl, genotype.json, checkpoint.pt, TensorBoard events);
the others run silently.  A study's data-parallel trials use Ray Train instead
(:mod:`harness.dataparallel`): there the cluster places the workers.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from snas.errors import UserInputError

RankMain = Callable[[int], int]
"""``(rank) -> exit code``: what every rank runs once its process group is up."""


def _rank_process(rank: int, main: RankMain, workers: int, cuda: bool, group_file: str) -> None:
    from snas.threads import use_available_cpus

    use_available_cpus(limit=max(1, (os.cpu_count() or 1) // workers))  # the ranks share this machine's cores
    if cuda:
        torch.cuda.set_device(rank)  # device "auto"/"cuda" is then this rank's GPU
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"file://{group_file}", rank=rank,
                            world_size=workers)
    try:
        code = main(rank)
    except UserInputError as err:
        if rank == 0:
            print(f"snas-study: error: {err}", file=sys.stderr)
        code = 2
    finally:
        dist.destroy_process_group()
    if code:
        sys.exit(code)


def run_on_ranks(workers: int, cuda: bool, main: RankMain) -> int:
    """``main(rank)`` on ``workers`` local processes; the exit code of the first that failed, or 0."""
    if cuda and workers > torch.cuda.device_count():
        raise UserInputError(f"--workers {workers} puts one worker on each GPU, but {torch.cuda.device_count()} "
                             f"GPU(s) are visible")
    with tempfile.TemporaryDirectory() as folder:
        try:
            mp.spawn(_rank_process, args=(main, workers, cuda, str(Path(folder) / "group")), nprocs=workers)
        except mp.ProcessExitedException as err:
            return err.exit_code or 1
    return 0
