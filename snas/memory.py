"""How much memory a network will need, worked out before it is built, and whether it fits.

A user's numbers (cells, channels, batch, image size) can describe a network far larger
than the machine: building it would swap for minutes before failing.  So every command
that builds a network from such numbers first estimates what it needs, without
allocating, and refuses what cannot fit, naming the estimate and the limit.

The estimate walks the network cell by cell:

* **parameters and buffers**: each distinct cell (same channels, resolution and reduction
  flags) is built once on PyTorch's ``meta`` device, which allocates no storage, and
  counted exactly.  A network of thousands of cells has only a handful of distinct ones.
* **Python objects**: every module, parameter and buffer costs bookkeeping beside its
  numbers (:data:`OBJECT_BYTES`); for very deep networks of few channels it dominates.
* **activations** (training): the feature maps one training step keeps for the backward
  pass, per image, from a per-primitive count of the maps each op saves
  (:data:`_CHILD_SAVED`, :data:`_SEARCH_EDGE_SAVED`), times the batch, with a margin for
  the gradients that live beside them during the backward pass.  Training also keeps a
  gradient and the optimiser's state per parameter.

It is meant as an upper-ish figure within a small factor of the real peak (tests compare
it with the real allocation of small networks); the data set itself is not included.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import torch

from snas.errors import UserInputError
from snas.spaces.darts.genotype import Genotype
from snas.spaces.darts.primitives import INPUT_NODES, STEPS, cell_edges, reduction_layers

if TYPE_CHECKING:
    from snas.config import RetrainConfig, SearchConfig
    from snas.data.sets import InputSpec

FLOAT_BYTES = 4
OBJECT_BYTES = 2048
"""Bookkeeping of one module, parameter or buffer object (measured: 1.4-2.5 KB)."""
BACKWARD_MARGIN = 1.5
"""Activation gradients and kernel workspaces beside the saved maps during the backward pass."""

# primitive -> (maps of the op's input, maps of its output) a training step keeps for one
# op of C channels: ReLU outputs, convolution inputs, BatchNorm inputs, max-pool indices
# (int64: two float maps), the drop-path product.
_CHILD_SAVED: dict[str, tuple[int, int]] = {
    "none": (0, 0), "max_pool_3x3": (1, 3), "avg_pool_3x3": (1, 1), "skip_connect": (0, 0),
    "sep_conv_3x3": (1, 6), "sep_conv_5x5": (1, 6), "dil_conv_3x3": (1, 3), "dil_conv_5x5": (1, 3),
}
_REDUCE_SKIP_SAVED = (1, 4)
"""The stride-2 skip_connect (FactorizedReduce), drop path included."""
_SEARCH_EDGE_SAVED = (1, 22)
"""One supernet edge: the stacked ReLU input of its convolutions, their intermediate maps
(two SepConvs 5 each, two DilConvs 2 each), the seven weighted terms of the mix and the
drop-path product."""
_SEARCH_REDUCE_EDGE_EXTRA = (0, 3)
_SEARCH_SOURCE_SAVED = (3, 4)
"""Once per source node: its ReLU, both pools' inputs, their BatchNorms and max-pool indices."""


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


@dataclass(frozen=True)
class _Cell:
    """What one cell sees: channels of its inputs and nodes, side lengths, reduction flags."""

    c_prev_prev: int
    c_prev: int
    channels: int
    reduction: bool
    reduction_prev: bool
    side_prev_prev: int
    side_in: int

    @property
    def side_out(self) -> int:
        return (self.side_in + 1) // 2 if self.reduction else self.side_in


def _cells(stem_channels: int, channels: int, layers: int, side: int, reduction_prev: bool,
           multiplier: int) -> list[_Cell]:
    """The cell stack of :class:`snas.childnet.ChildNetwork` / :class:`snas.supernet.SuperNet`."""
    cells = []
    c_prev_prev = c_prev = stem_channels
    side_prev_prev = side
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        if reduction:
            channels *= 2
        cell = _Cell(c_prev_prev, c_prev, channels, reduction, reduction_prev, side_prev_prev, side)
        cells.append(cell)
        side_prev_prev, side = side, cell.side_out
        c_prev_prev, c_prev, reduction_prev = c_prev, multiplier * channels, reduction
    return cells


def _module_size(module: torch.nn.Module) -> tuple[int, int]:
    """(parameter and buffer elements, objects) of a module built on ``meta``."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() for t in tensors), len(tensors) + sum(1 for _ in module.modules())


def _preprocess_saved(cell: _Cell) -> int:
    c, hw_in = cell.channels, cell.side_in**2
    first = (cell.c_prev_prev * cell.side_prev_prev**2 + 2 * c * hw_in if cell.reduction_prev
             else (cell.c_prev_prev + c) * hw_in)
    return first + (cell.c_prev + c) * hw_in


def _maps(saved: tuple[int, int], cell: _Cell, strided: bool) -> int:
    hw_out = cell.side_out**2
    return cell.channels * (saved[0] * (cell.side_in**2 if strided else hw_out) + saved[1] * hw_out)


@lru_cache(maxsize=256)
def _child_cell(genotype: Genotype, cell: _Cell) -> MemoryEstimate:
    from snas.spaces.darts.childnet import ChildCell

    with torch.device("meta"):
        module = ChildCell(genotype, cell.c_prev_prev, cell.c_prev, cell.channels, cell.reduction,
                           cell.reduction_prev)
    params, objects = _module_size(module)
    saved = _preprocess_saved(cell) + module.multiplier * cell.channels * cell.side_out**2
    for node in genotype.nodes("reduce" if cell.reduction else "normal"):
        for op, source in node:
            strided = cell.reduction and source < INPUT_NODES
            counts = _REDUCE_SKIP_SAVED if strided and op == "skip_connect" else _CHILD_SAVED[op]
            saved += _maps(counts, cell, strided)
    return MemoryEstimate(params, objects, saved)


@lru_cache(maxsize=256)
def _search_cell(cell: _Cell) -> MemoryEstimate:
    from snas.spaces.darts.supernet import SearchCell

    with torch.device("meta"):
        module = SearchCell(cell.c_prev_prev, cell.c_prev, cell.channels, cell.reduction, cell.reduction_prev)
    params, objects = _module_size(module)
    saved = _preprocess_saved(cell) + STEPS * cell.channels * cell.side_out**2
    for source in range(INPUT_NODES + STEPS - 1):
        strided = cell.reduction and source < INPUT_NODES
        saved += _maps(_SEARCH_SOURCE_SAVED, cell, strided)
        edges = sum(1 for s, _ in cell_edges() if s == source)
        per_edge = _maps(_SEARCH_EDGE_SAVED, cell, strided)
        if strided:
            per_edge += _maps(_SEARCH_REDUCE_EDGE_EXTRA, cell, strided)
        saved += edges * per_edge
    return MemoryEstimate(params, objects, saved)


def _total(parts: Counter) -> MemoryEstimate:
    total = MemoryEstimate(0, 0, 0)
    for part, count in parts.items():
        total += MemoryEstimate(part.params * count, part.objects * count, part.activations_per_image * count)
    return total


def _classifier(channels: int, side: int, num_classes: int) -> MemoryEstimate:
    return MemoryEstimate(channels * num_classes + num_classes, 2, channels * side**2 + channels)


def child_memory(genotype: Genotype, *, kind: str = "cifar", channels: int = 36, layers: int = 20,
                 num_classes: int = 10, in_channels: int = 3, image_size: int = 32,
                 auxiliary: bool = False) -> MemoryEstimate:
    """The estimate for :class:`snas.childnet.ChildNetwork` with these arguments."""
    multiplier = len(genotype.normal_concat)
    if kind == "cifar":
        stem_channels, side, reduction_prev = 3 * channels, image_size, False
        stem = MemoryEstimate(in_channels * stem_channels * 9 + 5 * stem_channels, 4,
                              (in_channels + 2 * stem_channels) * image_size**2)
    else:
        stem_channels, side, reduction_prev = channels, (image_size + 7) // 8, True
        stem = MemoryEstimate(in_channels * channels * 9 + 14 * channels**2, 16,
                              in_channels * image_size**2 + 4 * channels * image_size**2)
    cells = _cells(stem_channels, channels, layers, side, reduction_prev, multiplier)
    total = stem + _total(Counter(_child_cell(genotype, cell) for cell in cells))
    last = cells[-1]
    total += _classifier(multiplier * last.channels, last.side_out, num_classes)
    if auxiliary:
        aux = cells[2 * layers // 3]
        c = multiplier * aux.channels
        total += MemoryEstimate(128 * c + 768 * 128 * 4 + 768 * num_classes + 4 * (128 + 768), 12,
                                c * aux.side_out**2 + 4 * (128 + 768))
    return total


def supernet_memory(channels: int, num_classes: int, layers: int, in_channels: int = 3,
                    image_size: int = 32) -> MemoryEstimate:
    """The estimate for :class:`snas.supernet.SuperNet` (every op of every edge mixed, the most
    a training step of any relaxation keeps)."""
    stem_channels = 3 * channels
    stem = MemoryEstimate(in_channels * stem_channels * 9 + 3 * stem_channels, 4,
                          (in_channels + 2 * stem_channels) * image_size**2)
    cells = _cells(stem_channels, channels, layers, image_size, False, STEPS)
    last = cells[-1]
    return (stem + _total(Counter(_search_cell(cell) for cell in cells))
            + _classifier(STEPS * last.channels, last.side_out, num_classes))


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


_HINT = "use fewer cells (layers), fewer channels (init_channels) or a smaller batch_size"
_LARGEST_CELL = tuple(("sep_conv_5x5", source) for source, _ in cell_edges())
LARGEST_GENOTYPE = Genotype(normal=_LARGEST_CELL, normal_concat=tuple(range(INPUT_NODES, INPUT_NODES + STEPS)),
                            reduce=_LARGEST_CELL, reduce_concat=tuple(range(INPUT_NODES, INPUT_NODES + STEPS)))
"""The largest child a search can derive (every edge kept, every op the largest): the
evaluation-scale genotype is not known before the search, so its profile is checked with this."""


def check_search_fits(cfg: SearchConfig, inputs: InputSpec, device: torch.device) -> None:
    """A search of ``cfg`` on ``inputs``: its supernet trained on ``device``, and the
    evaluation-scale child it profiles (built on the CPU)."""
    in_channels, side, num_classes = inputs.channels, inputs.side, inputs.classes
    if cfg.space != "darts":
        return _check_other_space_search(cfg, in_channels, side, num_classes, device)
    net = supernet_memory(cfg.init_channels, num_classes, cfg.layers, in_channels, side)
    steps = 2 if cfg.second_order else 1  # the unrolled gradient holds a second copy and its step
    check_fits(steps * net.training_bytes(cfg.batch_size, optimizer_slots=1), device,
               f"a {cfg.layers}-cell search network with C={cfg.init_channels} at batch {cfg.batch_size}", _HINT)
    child = child_memory(LARGEST_GENOTYPE, channels=cfg.eval_channels, layers=cfg.eval_layers,
                         num_classes=num_classes, in_channels=in_channels, image_size=side)
    check_fits(child.inference_bytes(), torch.device("cpu"),
               f"profiling the {cfg.eval_layers}-cell evaluation network with C={cfg.eval_channels}",
               "use fewer eval_layers or eval_channels")


def check_retrain_fits(cfg: RetrainConfig, inputs: InputSpec, device: torch.device) -> None:
    """A retraining of ``cfg`` on ``inputs``, trained on ``device``."""
    in_channels, side, num_classes = inputs.channels, inputs.side, inputs.classes
    genotype = cfg.resolved_genotype
    if genotype.space != "darts":
        from snas.spaces import space_of

        with torch.device("meta"):
            module = space_of(genotype).child_network(
                genotype, kind=cfg.network, channels=cfg.init_channels, layers=cfg.layers,
                num_classes=num_classes, in_channels=in_channels, image_size=side, auxiliary=cfg.auxiliary)
        check_fits(built_memory(module, side).training_bytes(cfg.batch_size, optimizer_slots=1), device,
                   f"a {cfg.layers}-cell-per-stage network with C={cfg.init_channels} at batch {cfg.batch_size}",
                   _HINT)
        return
    net = child_memory(cfg.resolved_genotype, kind=cfg.network, channels=cfg.init_channels, layers=cfg.layers,
                       num_classes=num_classes, in_channels=in_channels, image_size=side, auxiliary=cfg.auxiliary)
    check_fits(net.training_bytes(cfg.batch_size, optimizer_slots=1), device,
               f"a {cfg.layers}-cell {cfg.network} network with C={cfg.init_channels} at batch {cfg.batch_size}",
               _HINT)


_MAPS_PER_CONV = 3
"""Maps a ReLU-conv-BN keeps for the backward pass (ReLU output, conv output, BN output)."""


def built_memory(module: torch.nn.Module, side: int) -> MemoryEstimate:
    """A coarse estimate for a network of a space other than DARTS, built on ``meta``: exact parameters,
    and per image three maps per convolution at the input resolution (cells of those spaces
    keep or shrink it)."""
    params, objects = _module_size(module)
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    activations = sum(_MAPS_PER_CONV * conv.out_channels * side**2 for conv in convs)
    return MemoryEstimate(params, objects, activations)


def _check_other_space_search(cfg: SearchConfig, in_channels: int, side: int, num_classes: int,
                              device: torch.device) -> None:
    from snas.spaces import SPACES

    with torch.device("meta"):
        module = SPACES[cfg.space].supernet(cfg.init_channels, num_classes, cfg.layers, in_channels)
    steps = 2 if cfg.second_order else 1
    check_fits(steps * built_memory(module, side).training_bytes(cfg.batch_size, optimizer_slots=1), device,
               f"a {cfg.space} search network of {cfg.layers} cells per stage with C={cfg.init_channels} "
               f"at batch {cfg.batch_size}", _HINT)
