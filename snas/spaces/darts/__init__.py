"""The DARTS search space as a :class:`~snas.spaces.base.SearchSpace`: normal and reduction
cells, 14 edges, 8 ops.

Its parts: :mod:`.primitives` (the ops' names and the cell's edges), :mod:`.ops` (the op
modules), :mod:`.genotype`, :mod:`.supernet`, :mod:`.childnet`, :mod:`.networks` (the papers'
evaluation networks), :mod:`.costs` (the resource penalty's op costs), :mod:`.memory` (the
networks' memory estimate) and :mod:`.drawing`.  The space imports the parts that build or
count networks (torch) in the methods that need them: naming the space, reading its
genotypes and sizing its networks load none of them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from snas.spaces.base import EvalNetwork, NetworkFamily, SearchSpace
from snas.spaces.darts.genotype import (
    DERIVATION_RULES,
    FORM_NAMES,
    LARGEST_GENOTYPE,
    Genotype,
    cell_count,
    derivation_rule,
    derive_genotype,
    random_genotype,
)
from snas.spaces.darts.networks import EVAL_NETWORKS, stem_halvings
from snas.spaces.darts.primitives import NAME, PRIMITIVES, cell_edges, num_edges, reduction_layers

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from snas.memory import MemoryEstimate
    from snas.profile import Profile
    from snas.resource import CellGeometry
    from snas.spaces.networks import GenotypeNetwork, SuperNetwork


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
    largest_genotype = LARGEST_GENOTYPE

    def normal_cell_ops(self, genotype: Genotype) -> tuple[str, ...]:
        return tuple(op for op, _ in genotype.normal if op != "none")

    def random_genotype(self, rule: str, rng: random.Random) -> Genotype:
        return random_genotype(derivation_rule(rule), rng)

    def genotype_count(self, rule: str) -> int:
        """Normal and reduction cell are drawn independently."""
        return cell_count(derivation_rule(rule)) ** 2

    def supernet(self, channels: int, num_classes: int, layers: int, in_channels: int) -> SuperNetwork:
        from snas.spaces.darts.supernet import SuperNet

        return SuperNet(channels, num_classes, layers, in_channels=in_channels)

    def edges(self) -> tuple[tuple[int, int], ...]:
        return cell_edges()

    def cell_geometry(self, supernet: SuperNetwork, height: int, width: int) -> list[list[CellGeometry]]:
        cells = supernet.geometry(height, width)
        return [[c for c in cells if not c.reduction], [c for c in cells if c.reduction]]

    def official_cell_counts(self, cell_counts: tuple[int, ...]) -> tuple[int, ...]:
        """The official ``train_search.py`` divides by the counts of its 8-cell network at any depth."""
        from snas.spaces.darts.costs import OFFICIAL_CELL_COUNTS

        return OFFICIAL_CELL_COUNTS[False], OFFICIAL_CELL_COUNTS[True]

    def cost_table(self, cell: CellGeometry, cost_model: str) -> torch.Tensor:
        from snas.spaces.darts.costs import cell_cost_table

        return cell_cost_table(cell, cost_model)

    def derive(self, alphas: tuple[torch.Tensor, ...], rule: str) -> Genotype:
        normal, reduce = alphas
        return derive_genotype(normal, reduce, derivation_rule(rule))

    def parse(self, text: str) -> Genotype | None:
        return Genotype.parse(text) if text.lstrip().startswith("Genotype(") else None

    def genotype_from_dict(self, data: Mapping[str, Any]) -> Genotype:
        return Genotype.from_dict(dict(data))

    def child_network(self, genotype: Genotype, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                      in_channels: int, image_size: int, auxiliary: bool) -> GenotypeNetwork:
        from snas.spaces.darts.childnet import ChildNetwork

        return ChildNetwork(genotype, family=family, channels=channels, layers=layers, num_classes=num_classes,
                            in_channels=in_channels, image_size=image_size, auxiliary=auxiliary)

    def profile(self, genotype: Genotype, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                in_channels: int, image_size: int) -> Profile:
        from snas.spaces.darts.childnet import profile_child

        return profile_child(genotype, family=family, channels=channels, layers=layers, num_classes=num_classes,
                             in_channels=in_channels, image_size=image_size)

    def supernet_memory(self, channels: int, num_classes: int, layers: int, in_channels: int,
                        image_size: int) -> MemoryEstimate:
        from snas.spaces.darts.memory import supernet_memory

        return supernet_memory(channels, num_classes, layers, in_channels, image_size)

    def child_memory(self, genotype: Genotype, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                     in_channels: int, image_size: int, auxiliary: bool) -> MemoryEstimate:
        from snas.spaces.darts.memory import child_memory

        return child_memory(genotype, family=family, channels=channels, layers=layers, num_classes=num_classes,
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
        return stem_halvings(family) + len(set(reduction_layers(layers)))

    def evaluation_network(self, dataset: str) -> EvalNetwork:
        return EVAL_NETWORKS[dataset]

    def describe_form(self, form: str) -> str:
        return FORM_NAMES[form]

    def figure(self, genotype: Genotype, title: str | None = None) -> Figure:
        from snas.spaces.darts.drawing import darts_figure

        return darts_figure(genotype, title)

