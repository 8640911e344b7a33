"""The DARTS search space as a :class:`~snas.spaces.base.SearchSpace`: normal and reduction
cells, 14 edges, 8 ops.

Its parts: :mod:`.primitives` (the ops' names and the cell's edges), :mod:`.ops` (the op
modules), :mod:`.genotype`, :mod:`.supernet`, :mod:`.childnet` (with the papers' evaluation
networks), :mod:`.costs` (the resource penalty's op costs), :mod:`.memory` (the networks'
memory estimate) and :mod:`.drawing`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from snas.memory import MemoryEstimate
from snas.profile import Profile
from snas.resource import CellGeometry
from snas.spaces.base import EvalNetwork, NetworkFamily, SearchSpace
from snas.spaces.darts import childnet, memory
from snas.spaces.darts.costs import OFFICIAL_CELL_COUNTS, cell_cost_table
from snas.spaces.darts.genotype import (
    DERIVATION_RULES,
    FORM_NAMES,
    Genotype,
    cell_count,
    derive_genotype,
    random_genotype,
)
from snas.spaces.darts.primitives import NAME, PRIMITIVES, cell_edges, num_edges, reduction_layers
from snas.spaces.darts.supernet import SuperNet

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class DartsSpace(SearchSpace):
    name = NAME
    title = "DARTS"
    primitives = PRIMITIVES
    num_edges = num_edges()
    cell_types = ("normal", "reduce")
    ratio_weighted = (False, True)
    derivation_rules = DERIVATION_RULES
    defaults: Mapping[str, Any] = {}
    parameter_free = frozenset({"max_pool_3x3", "avg_pool_3x3", "skip_connect"})
    largest_genotype = memory.LARGEST_GENOTYPE

    def normal_cell_ops(self, genotype: Genotype) -> tuple[str, ...]:
        return tuple(op for op, _ in genotype.normal if op != "none")

    def random_genotype(self, rule: str, rng: random.Random) -> Genotype:
        return random_genotype(rule, rng)

    def genotype_count(self, rule: str) -> int:
        """Normal and reduction cell are drawn independently."""
        return cell_count(rule) ** 2

    def supernet(self, channels: int, num_classes: int, layers: int, in_channels: int) -> nn.Module:
        return SuperNet(channels, num_classes, layers, in_channels=in_channels)

    def edges(self) -> tuple[tuple[int, int], ...]:
        return cell_edges()

    def cell_geometry(self, supernet: nn.Module, height: int, width: int) -> list[list[CellGeometry]]:
        cells = supernet.geometry(height, width)
        return [[c for c in cells if not c.reduction], [c for c in cells if c.reduction]]

    def official_cell_counts(self, cell_counts: tuple[int, ...]) -> tuple[int, ...]:
        """The official ``train_search.py`` divides by the counts of its 8-cell network at any depth."""
        return OFFICIAL_CELL_COUNTS[False], OFFICIAL_CELL_COUNTS[True]

    def cost_table(self, cell: CellGeometry, cost_model: str) -> torch.Tensor:
        return cell_cost_table(cell, cost_model)

    def derive(self, alphas: tuple[torch.Tensor, ...], rule: str) -> Genotype:
        normal, reduce = alphas
        return derive_genotype(normal, reduce, rule)

    def parse(self, text: str) -> Genotype | None:
        return Genotype.parse(text) if text.lstrip().startswith("Genotype(") else None

    def genotype_from_dict(self, data: Mapping[str, Any]) -> Genotype:
        return Genotype.from_dict(dict(data))

    def child_network(self, genotype: Genotype, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                      in_channels: int, image_size: int, auxiliary: bool) -> nn.Module:
        return childnet.ChildNetwork(genotype, family=family, channels=channels, layers=layers, num_classes=num_classes,
                                     in_channels=in_channels, image_size=image_size, auxiliary=auxiliary)

    def profile(self, genotype: Genotype, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                in_channels: int, image_size: int) -> Profile:
        return childnet.profile_child(genotype, family=family, channels=channels, layers=layers,
                                      num_classes=num_classes, in_channels=in_channels, image_size=image_size)

    def supernet_memory(self, channels: int, num_classes: int, layers: int, in_channels: int,
                        image_size: int) -> MemoryEstimate:
        return memory.supernet_memory(channels, num_classes, layers, in_channels, image_size)

    def child_memory(self, genotype: Genotype, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                     in_channels: int, image_size: int, auxiliary: bool) -> MemoryEstimate:
        return memory.child_memory(genotype, family=family, channels=channels, layers=layers, num_classes=num_classes,
                                   in_channels=in_channels, image_size=image_size, auxiliary=auxiliary)

    def describe_cells(self, layers: int) -> str:
        return f"{layers} cells"

    def describe_network(self, family: NetworkFamily, layers: int) -> str:
        return f"{family} network, {self.describe_cells(layers)}"

    def describe_supernet(self, layers: int) -> str:
        return f"{layers}-cell search network"

    def describe_child(self, family: NetworkFamily, layers: int) -> str:
        return f"{layers}-cell {family} network"

    def halvings(self, family: NetworkFamily, layers: int) -> int:
        return childnet.stem_halvings(family) + len(set(reduction_layers(layers)))

    def evaluation_network(self, dataset: str) -> EvalNetwork:
        return childnet.EVAL_NETWORKS[dataset]

    def describe_form(self, form: str) -> str:
        return FORM_NAMES[form]

    def figure(self, genotype: Genotype, title: str | None = None) -> Figure:
        from snas.spaces.darts.drawing import darts_figure

        return darts_figure(genotype, title)

