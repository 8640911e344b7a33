"""How much memory a network will need, worked out before it is built, and whether it fits.

A user's numbers (cells, channels, batch, image size) can describe a network far larger
than the machine: building it would swap for minutes before failing.  So every command
that builds a network from such numbers first estimates what it needs, without
allocating, and refuses what cannot fit, naming the estimate and the limit.

The estimate of a network is its space's (:meth:`snas.spaces.base.SearchSpace.supernet_memory`,
:meth:`~snas.spaces.base.SearchSpace.child_memory`): by default :func:`built_memory`, a coarse
count on the network built on PyTorch's ``meta`` device; the DARTS space walks its cells
(:mod:`snas.spaces.darts.memory`).  Each counts

* **parameters and buffers**, exactly;
* **Python objects**: every module, parameter and buffer costs bookkeeping beside its
  numbers (:data:`OBJECT_BYTES`); for very deep networks of few channels it dominates;
* **activations** (training): the feature maps one training step keeps for the backward
  pass, per image, times the batch, with a margin for the gradients that live beside them
  during the backward pass.  Training also keeps a gradient and the optimiser's state per
  parameter.

It is meant as an upper-ish figure within a small factor of the real peak (tests compare
it with the real allocation of small networks); the data set itself is not included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from snas.errors import UserInputError

FLOAT_BYTES = 4
OBJECT_BYTES = 2048
"""Bookkeeping of one module, parameter or buffer object (measured: 1.4-2.5 KB)."""
BACKWARD_MARGIN = 1.5
"""Activation gradients and kernel workspaces beside the saved maps during the backward pass."""

SHRINK_HINT = "use fewer cells (layers), fewer channels (init_channels) or a smaller batch_size"
"""What to change when a network of a user's numbers does not fit."""


@dataclass(frozen=True)
class MemoryEstimate:
    """What a network needs: parameters (and buffers), objects, activations per image."""

    params: int
    objects: int
    activations_per_image: int

    def training_bytes(self, batch: int, optimizer_slots: int) -> int:
        """One training step at ``batch`` with ``optimizer_slots`` tensors of state per parameter."""
        weights = self.params * (2 + optimizer_slots)  # values, gradients, optimiser state
        activations = batch * self.activations_per_image * BACKWARD_MARGIN
        return int(FLOAT_BYTES * (weights + activations) + OBJECT_BYTES * self.objects)

    def inference_bytes(self, batch: int = 1) -> int:
        return int(FLOAT_BYTES * (self.params + batch * self.activations_per_image) + OBJECT_BYTES * self.objects)

    def __add__(self, other: MemoryEstimate) -> MemoryEstimate:
        return MemoryEstimate(self.params + other.params, self.objects + other.objects,
                              self.activations_per_image + other.activations_per_image)


def module_size(module: torch.nn.Module) -> tuple[int, int]:
    """(parameter and buffer elements, objects) of a module built on ``meta``."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() for t in tensors), len(tensors) + sum(1 for _ in module.modules())


_MAPS_PER_CONV = 3
"""Maps a ReLU-conv-BN keeps for the backward pass (ReLU output, conv output, BN output)."""


def built_memory(module: torch.nn.Module, side: int) -> MemoryEstimate:
    """A coarse estimate for a network built on ``meta``: exact parameters, and per image
    three maps per convolution at the input resolution ``side`` (right for networks whose
    cells keep or shrink the resolution, as NAS-Bench-201's)."""
    params, objects = module_size(module)
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    activations = sum(_MAPS_PER_CONV * conv.out_channels * side**2 for conv in convs)
    return MemoryEstimate(params, objects, activations)


def available_bytes(device: torch.device) -> int | None:
    """Memory free for a new network on ``device``: the GPU's free memory, or the machine's
    ``MemAvailable`` (what Linux can hand out without swapping); None where unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB" if size >= 2**28 else f"{size / 2**20:.0f} MiB"


def check_fits(needed: int, device: torch.device, what: str, hint: str) -> None:
    """Refuse, before anything is built, when ``needed`` bytes exceed what ``device`` has free."""
    limit = available_bytes(device)
    if limit is not None and needed > limit:
        where = "this machine" if device.type == "cpu" else str(device)
        raise UserInputError(f"{what} needs about {_gib(needed)} of memory (estimated before building it), but "
                             f"{where} has {_gib(limit)} available; {hint}")
