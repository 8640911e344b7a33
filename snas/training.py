"""Pieces both loops (search and retraining) share: seeds, generators, LR, accuracy."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import torch

ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)


def derive_seed(seed: int, stream: str) -> int:
    """An independent, stable 63-bit seed for a named random stream of a run."""
    digest = hashlib.sha256(f"{seed}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


class OtherWorkerCount(ValueError):
    """A checkpoint written by a run on another number of data-parallel workers: whole, but
    its per-rank random streams continue only on as many workers as wrote them."""

    def __init__(self, written: int, now: int):
        noun = "worker" if written == 1 else "workers"
        super().__init__(f"it was written by {written} {noun}, not {now}; resume it with {written} {noun}")


@dataclass
class Generators:
    """The CPU generators a loop draws every random number from, by stream name."""

    seed: int
    names: tuple[str, ...]
    streams: dict[str, torch.Generator] = field(init=False)

    def __post_init__(self) -> None:
        self.streams = {n: torch.Generator().manual_seed(derive_seed(self.seed, n)) for n in self.names}

    def __getitem__(self, name: str) -> torch.Generator:
        return self.streams[name]

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {n: g.get_state() for n, g in self.streams.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if "ranks" in state:  # :class:`snas.distributed.RankGenerators`' state
            raise OtherWorkerCount(len(state["ranks"]), 1)
        for n, g in self.streams.items():
            g.set_state(state[n])


def fresh_generator(seed: int, stream: str) -> torch.Generator:
    """A generator for a stream that restarts at a known point (e.g. each evaluation)."""
    return torch.Generator().manual_seed(derive_seed(seed, stream))


def cosine_lr(base: float, minimum: float, epoch: int, epochs: int) -> float:
    """Cosine annealing from ``base`` (epoch 0) toward ``minimum`` over ``epochs`` epochs."""
    return minimum + (base - minimum) * (1 + math.cos(math.pi * epoch / epochs)) / 2


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def build_model(seed: int, factory: Callable[[], ModuleT]) -> ModuleT:
    """Call ``factory()`` with the global RNG seeded from ``seed``, then restore the RNG.

    Module constructors draw initial weights from PyTorch's global generator; forking it
    keeps initialisation reproducible without leaving global state changed behind.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "init"))
        return factory()


@dataclass
class RunningMean:
    """Sample-weighted mean of a per-batch quantity."""

    total: float = 0.0
    count: int = 0

    def add(self, value: float, n: int) -> None:
        self.total += value * n
        self.count += n

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")


def correct(logits: torch.Tensor, labels: torch.Tensor) -> int:
    return int((logits.argmax(dim=-1) == labels).sum())
