"""Data-parallel search and retraining: one global batch split across the ranks of a process group.

Nothing here starts a process group; whoever runs the ranks does (Ray Train's
``TorchTrainer`` in the harness, ``torch.multiprocessing`` with gloo in the tests).  Every
function is a no-op, or returns its input, when no process group of more than one rank is
initialised, so a single-process run executes exactly the code it ran before.  A retraining
(:class:`snas.retrain.Retrain`) follows the same scheme, its drop-path masks drawn from a
``drop_path`` stream of its own per rank.

The scheme, as in the official SNAS multi-GPU search (SNAS-Series/SNAS-Series,
``SNAS/train_search.py --distributed``, which splits ``--batch_size`` over the GPUs):

* ``batch_size`` is the global batch.  Every rank draws the same global batch (the data
  and validation generators are shared) and keeps its contiguous shard (:func:`shard`).
* Each rank draws its own Gumbel noise and drop-path masks from an ``arch`` stream seeded
  by (seed, rank) (:class:`RankGenerators`); the checkpoint holds every rank's streams.
* θ and α gradients are averaged over the ranks before clipping and stepping
  (:func:`average_gradients`), so every rank takes the same step and θ and α stay
  identical everywhere.  A rank whose loss was NaN/inf makes every rank skip the step.
* BatchNorm normalises each rank's shard on its own (per-worker statistics, as the
  official code); its running statistics are averaged at the end of each training
  epoch (:func:`average_buffers`) so evaluation and the checkpoint see one model.
* Losses, accuracies and costs are summed over the ranks (:func:`sum_over_ranks`), so
  an epoch's accuracy is over the whole split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from snas.errors import UserInputError
from snas.training import Generators, OtherWorkerCount, RunningMean


@dataclass(frozen=True)
class Ranks:
    """This process's place in the process group: rank ``rank`` of ``world``."""

    rank: int = 0
    world: int = 1

    @property
    def parallel(self) -> bool:
        return self.world > 1


def current_ranks() -> Ranks:
    """The initialised process group's rank and size; one rank of one without one."""
    if not (dist.is_available() and dist.is_initialized()):
        return Ranks()
    return Ranks(dist.get_rank(), dist.get_world_size())


def check_batch_split(batch_size: int, ranks: Ranks) -> None:
    """Refuse a global batch that does not split evenly: unequal shards would weigh the
    images of the smaller ones more in the averaged gradient."""
    if batch_size % ranks.world:
        raise UserInputError(f"batch_size {batch_size} is the global batch: split across {ranks.world} workers "
                             f"it must be a multiple of {ranks.world}")


def shard(batch: tuple[torch.Tensor, torch.Tensor], ranks: Ranks) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's contiguous part of a global batch (the whole batch with one rank)."""
    if not ranks.parallel:
        return batch
    x, y = batch
    size = len(y) // ranks.world
    part = slice(ranks.rank * size, (ranks.rank + 1) * size)
    return x[part], y[part]


def _device_of(params: list[nn.Parameter]) -> torch.device:
    """Where a collective's buffer must live: NCCL only reduces CUDA tensors."""
    return params[0].device if params else torch.device("cpu")


def average_gradients(params: list[nn.Parameter], finite: bool) -> bool:
    """Average ``params``' gradients over the ranks in place; whether every rank was ``finite``.

    One flat all-reduce carries, per parameter, its gradient (zeros where a rank has
    none) and a flag that it had one, plus each rank's ``finite``.  A parameter no rank
    produced a gradient for keeps ``grad = None``, as in one process (SGD then leaves it
    alone, weight decay and momentum included).
    """
    ranks = current_ranks()
    if not ranks.parallel:
        return finite
    device = _device_of(params)
    pieces = [p.grad.reshape(-1).float() if p.grad is not None else torch.zeros(p.numel(), device=device)
              for p in params]
    flags = torch.tensor([p.grad is not None for p in params] + [not finite], dtype=torch.float32, device=device)
    buffer = torch.cat(pieces + [flags])
    dist.all_reduce(buffer)
    if buffer[-1].item() > 0:
        return False
    had_grad = buffer[-1 - len(params):-1]
    offset = 0
    for index, p in enumerate(params):
        n = p.numel()
        if had_grad[index].item() > 0:
            p.grad = (buffer[offset:offset + n] / ranks.world).view_as(p).to(p.dtype)
        offset += n
    return True


def average_buffers(model: nn.Module) -> None:
    """Make every rank's buffers equal: BatchNorm running statistics averaged over the ranks,
    integer counters (``num_batches_tracked``) the largest (a GDAS rank that never sampled
    an op has not counted its batches)."""
    ranks = current_ranks()
    if not ranks.parallel:
        return
    for floating, op in ((True, dist.ReduceOp.SUM), (False, dist.ReduceOp.MAX)):
        buffers = [b for b in model.buffers() if b.is_floating_point() == floating]
        if not buffers:
            continue
        flat = torch.cat([b.reshape(-1) for b in buffers])
        dist.all_reduce(flat, op=op)
        if floating:
            flat /= ranks.world
        offset = 0
        for b in buffers:
            b.copy_(flat[offset:offset + b.numel()].view_as(b))
            offset += b.numel()


def sum_over_ranks(values: list[float], device: torch.device) -> list[float]:
    """``values`` summed element-wise over the ranks (in float64: counts stay exact)."""
    if not current_ranks().parallel:
        return values
    total = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return total.tolist()


def sum_means_over_ranks(means: list[RunningMean], device: torch.device) -> None:
    """Every rank's running means ``means`` replaced, in place, by their totals over the ranks
    (an epoch's mean over every rank's images)."""
    totals = sum_over_ranks([value for mean in means for value in (mean.total, mean.count)], device)
    for index, mean in enumerate(means):
        mean.total, mean.count = totals[2 * index], int(totals[2 * index + 1])


def rank_stream(name: str, rank: int) -> str:
    """The name of rank ``rank``'s own stream ``name`` (rank 0 of one process: ``name``)."""
    return f"{name}@rank{rank}"


class RankGenerators:
    """One rank's generators: ``shared`` streams seeded by the seed alone (every rank draws
    the same global batches), ``own`` streams by (seed, rank).  Its state holds every
    rank's streams, gathered from all ranks, so the checkpoint one rank writes restores all.
    """

    def __init__(self, seed: int, shared: tuple[str, ...], own: tuple[str, ...], ranks: Ranks):
        self.ranks = ranks
        self.shared = Generators(seed, shared)
        self.own = Generators(seed, tuple(rank_stream(name, ranks.rank) for name in own))
        self._own_names = {name: rank_stream(name, ranks.rank) for name in own}

    def __getitem__(self, name: str) -> torch.Generator:
        if name in self._own_names:
            return self.own[self._own_names[name]]
        return self.shared[name]

    def state_dict(self) -> dict[str, Any]:
        gathered: list[Any] = [None] * self.ranks.world
        dist.all_gather_object(gathered, {name: g.get_state() for name, g in self.own.streams.items()})
        return {"shared": self.shared.state_dict(), "ranks": gathered}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ranks = state.get("ranks") if isinstance(state, dict) else None
        if not isinstance(ranks, list):
            raise OtherWorkerCount(1, self.ranks.world)
        if len(ranks) != self.ranks.world:
            raise OtherWorkerCount(len(ranks), self.ranks.world)
        self.shared.load_state_dict(state["shared"])
        self.own.load_state_dict(ranks[self.ranks.rank])
