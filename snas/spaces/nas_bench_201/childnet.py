"""The network of a NAS-Bench-201 genotype: the benchmark's macro network with the genotype's
cell in every position (C = 16, N = 5 in the benchmark); no auxiliary head."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import cast

import torch
from torch import nn

from snas.compilation import CompileMode, compiled
from snas.droppath import draw_kept, node_sum
from snas.profile import Profile, count_forward
from snas.spaces.nas_bench_201.genotype import CellGenotype
from snas.spaces.nas_bench_201.macro import MacroNetwork
from snas.spaces.nas_bench_201.ops import OPS
from snas.spaces.networks import GenotypeNetwork


class InferCell(nn.Module):
    """A cell of a genotype: each node sums its edges' ops (``none`` edges are not built)."""

    def __init__(self, genotype: CellGenotype, channels: int):
        super().__init__()
        self.ops = nn.ModuleList()
        self.sources: list[list[int]] = []
        self.identity: list[list[bool]] = []
        for node in genotype.nodes:
            ops = [(op, s) for op, s in node if op != "none"]
            self.ops.append(nn.ModuleList(OPS[op](channels, True) for op, _ in ops))
            self.sources.append([s for _, s in ops])
            self.identity.append([op == "skip_connect" for op, _ in ops])

    @property
    def dropped_edges(self) -> int:
        """The edges drop path applies to (all but the identities)."""
        return sum(not i for node in self.identity for i in node)

    def forward(self, x: torch.Tensor, kept: list[torch.Tensor] | None = None, keep: float = 1.0) -> torch.Tensor:
        """The cell's output; ``kept``: drop path's draws (:func:`snas.droppath.draw_kept`)."""
        states = [x]
        draws = None if kept is None else iter(kept)
        for ops, sources, identity in zip(cast(Iterable[nn.ModuleList], self.ops), self.sources, self.identity):
            total = node_sum(ops, sources, identity, states, draws, keep)
            states.append(total if total is not None else torch.zeros_like(x))
        return states[-1]


class TinyNetwork(MacroNetwork, GenotypeNetwork):
    """The benchmark's network for one genotype (C = 16, N = 5 in the benchmark)."""

    def __init__(self, genotype: CellGenotype, *, channels: int = 16, layers: int = 5, num_classes: int = 10,
                 in_channels: int = 3):
        super().__init__(channels, layers, num_classes, in_channels, lambda c: InferCell(genotype, c))
        self.genotype = genotype
        self._compiled_body: Callable[..., tuple[torch.Tensor, None]] | None = None

    def compile_training(self, mode: CompileMode) -> None:
        """Compile the training forward, as :meth:`snas.spaces.darts.childnet.ChildNetwork.compile_training` does."""
        self._compiled_body = compiled(self._body, mode) if mode != "off" else None

    def forward(self, x: torch.Tensor, drop_prob: float = 0.0,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, None]:
        """(logits, ``None``): the benchmark's network has no auxiliary head."""
        kept = None
        if self.training and drop_prob > 0.0:
            cells = [block for block in self.blocks if isinstance(block, InferCell)]
            kept = draw_kept([cell.dropped_edges for cell in cells], x.shape[0], drop_prob, generator)
        body = self._compiled_body if self._compiled_body is not None and self.training else self._body
        return body(x, kept, 1.0 - drop_prob)

    def _body(self, x: torch.Tensor, kept: list[list[torch.Tensor]] | None, keep: float) -> tuple[torch.Tensor, None]:
        """Stem to logits with drop path's draws already made (what is compiled)."""
        state = self.stem(x)
        i = 0
        for block in self.blocks:
            if isinstance(block, InferCell):
                state = block(state, None if kept is None else kept[i], keep)
                i += 1
            else:
                state = block(state)
        return self.head(state), None


@lru_cache(maxsize=256)
def profile_tiny(genotype: CellGenotype, *, channels: int = 16, layers: int = 5, num_classes: int = 10,
                 in_channels: int = 3, image_size: int = 32) -> Profile:
    """Parameters and MACs of one image through :class:`TinyNetwork`."""
    with torch.device("meta"):
        net = TinyNetwork(genotype, channels=channels, layers=layers, num_classes=num_classes,
                          in_channels=in_channels)
    params = sum(p.numel() for p in net.parameters())
    macs, memory = count_forward(net.eval(), (in_channels, image_size, image_size))
    return Profile(params, macs, memory)
