"""DARTS evaluation (child) networks built from a genotype, as in the DARTS reference design.

``CifarNetwork``: 3×3 stem to 3·C channels, ``layers`` cells with reductions at ⌊L/3⌋ and
⌊2L/3⌋, optional auxiliary head after cell ⌊2L/3⌋, global pooling, linear classifier.
``ImageNetNetwork``: two stride-2 3×3 stem convolutions and a third stride-2 stem, then the
same cell stack (the mobile setting: 14 cells, C = 48).  Both accept DARTS-form and
edge_all genotypes; ``none`` edges contribute nothing and are not built.  Drop path is
applied to every non-identity op output during training, with a probability the caller
ramps up (see :mod:`snas.retrain`; the draws: :mod:`snas.droppath`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Literal, cast

import torch
from torch import nn

from snas.compilation import CompileMode, compiled
from snas.droppath import draw_kept, node_sum
from snas.ops import FactorizedReduce, ReLUConvBN
from snas.profile import Profile, count_forward
from snas.spaces.base import NetworkFamily
from snas.spaces.darts.genotype import Genotype
from snas.spaces.darts.ops import build_op
from snas.spaces.darts.primitives import INPUT_NODES, reduction_layers
from snas.spaces.networks import GenotypeNetwork


class ChildCell(nn.Module):
    def __init__(self, genotype: Genotype, c_prev_prev: int, c_prev: int, channels: int,
                 reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (FactorizedReduce(c_prev_prev, channels) if reduction_prev
                            else ReLUConvBN(c_prev_prev, channels, 1, 1, 0))
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0)
        cell: Literal["normal", "reduce"] = "reduce" if reduction else "normal"
        self.concat = genotype.reduce_concat if reduction else genotype.normal_concat
        self.nodes = nn.ModuleList()
        self.sources: list[list[int]] = []
        self.identity: list[list[bool]] = []
        for node in genotype.nodes(cell):
            ops, sources, identity = nn.ModuleList(), [], []
            for op_name, source in node:
                if op_name == "none":
                    continue
                stride = 2 if reduction and source < INPUT_NODES else 1
                ops.append(build_op(op_name, channels, stride))
                sources.append(source)
                identity.append(op_name == "skip_connect" and stride == 1)
            self.nodes.append(ops)
            self.sources.append(sources)
            self.identity.append(identity)
        self.multiplier = len(self.concat)

    @property
    def dropped_edges(self) -> int:
        """The edges drop path applies to (all but the identities)."""
        return sum(not i for node in self.identity for i in node)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, kept: list[torch.Tensor] | None = None,
                keep: float = 1.0) -> torch.Tensor:
        """The cell's output; ``kept``: drop path's draws for its :attr:`dropped_edges`
        (:func:`snas.droppath.draw_kept`), ``None`` for none."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        draws = None if kept is None else iter(kept)
        for ops, sources, identity in zip(cast(Iterable[nn.ModuleList], self.nodes), self.sources, self.identity):
            total = node_sum(ops, sources, identity, states, draws, keep)
            if total is None:  # every incoming edge is `none`
                stride = 2 if self.reduction else 1
                total = torch.zeros_like(states[1][:, :, ::stride, ::stride])
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier; pools to 2×2 (DARTS's 5×5 average pool where that
    gives 2×2, e.g. 8×8 CIFAR maps, adaptive pooling for other map sizes)."""

    def __init__(self, channels: int, num_classes: int, spatial: int, stride: int):
        super().__init__()
        pool = (nn.AvgPool2d(5, stride=stride, count_include_pad=False)
                if spatial >= 5 and (spatial - 5) // stride + 1 == 2 else nn.AdaptiveAvgPool2d(2))
        self.features = nn.Sequential(
            nn.ReLU(inplace=True), pool,
            nn.Conv2d(channels, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.classifier(self.features(x).flatten(1)))


class ChildNetwork(GenotypeNetwork):
    """A stack of genotype cells on a CIFAR- or ImageNet-style stem."""

    def __init__(self, genotype: Genotype, *, family: NetworkFamily = "cifar", channels: int = 36, layers: int = 20,
                 num_classes: int = 10, in_channels: int = 3, image_size: int = 32, auxiliary: bool = False):
        super().__init__()
        self.family = family
        self.genotype = genotype
        self.stem1: nn.Module | None = None
        if family == "cifar":
            stem_channels = 3 * channels
            self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(stem_channels))
            c_prev_prev = c_prev = stem_channels
            reduction_prev, spatial = False, image_size
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, channels // 2, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(channels // 2), nn.ReLU(inplace=True),
                nn.Conv2d(channels // 2, channels, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(channels),
            )
            self.stem1 = nn.Sequential(
                nn.ReLU(inplace=True),
                nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(channels),
            )
            c_prev_prev = c_prev = channels
            reduction_prev, spatial = True, image_size // 8
        self.cells = nn.ModuleList()
        self.aux_position = 2 * layers // 3
        self.auxiliary: nn.Module | None = None
        c_curr = channels
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            if reduction:
                c_curr *= 2
                spatial //= 2
            cell = ChildCell(genotype, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if auxiliary and i == self.aux_position:
                self.auxiliary = AuxiliaryHead(c_prev, num_classes, spatial, 3 if family == "cifar" else 2)
        self.classifier = nn.Linear(c_prev, num_classes)
        self._compiled_body: Callable[..., tuple[torch.Tensor, torch.Tensor | None]] | None = None

    def compile_training(self, mode: CompileMode) -> None:
        """Compile the training forward (:mod:`snas.compilation`); evaluation stays eager.
        The state dict is untouched."""
        self._compiled_body = compiled(self._body, mode) if mode != "off" else None

    def forward(self, x: torch.Tensor, drop_prob: float = 0.0,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, auxiliary logits or ``None``); the auxiliary head runs only in training,
        drop path (probability ``drop_prob``, draws from ``generator``) too."""
        kept = None
        if self.training and drop_prob > 0.0:
            cells = cast(Iterable[ChildCell], self.cells)
            kept = draw_kept([cell.dropped_edges for cell in cells], x.shape[0], drop_prob, generator)
        body = self._compiled_body if self._compiled_body is not None and self.training else self._body
        return body(x, kept, 1.0 - drop_prob)

    def _body(self, x: torch.Tensor, kept: list[list[torch.Tensor]] | None,
              keep: float) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The network with drop path's draws already made (what is compiled)."""
        s0 = self.stem(x)
        s1 = s0 if self.stem1 is None else self.stem1(s0)
        logits_aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, None if kept is None else kept[i], keep)
            if i == self.aux_position and self.auxiliary is not None and self.training:
                logits_aux = self.auxiliary(s1)
        return self.classifier(torch.nn.functional.adaptive_avg_pool2d(s1, 1).flatten(1)), logits_aux


@lru_cache(maxsize=256)
def profile_child(genotype: Genotype, *, family: NetworkFamily = "cifar", channels: int = 36, layers: int = 20,
                  num_classes: int = 10, in_channels: int = 3, image_size: int = 32) -> Profile:
    """Parameters (auxiliary head excluded) and MACs of one image through the network."""
    with torch.device("meta"):
        net = ChildNetwork(genotype, family=family, channels=channels, layers=layers, num_classes=num_classes,
                           in_channels=in_channels, image_size=image_size, auxiliary=False)
    params = sum(p.numel() for p in net.parameters())
    macs, memory = count_forward(net.eval(), (in_channels, image_size, image_size))
    return Profile(params, macs, memory)

