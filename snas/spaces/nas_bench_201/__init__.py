"""The NAS-Bench-201 search space (Dong & Yang, ICLR 2020): one cell, six edges, five ops.

The cell is a DAG of 4 nodes: node 0 is the cell input, node ``i`` (1..3) sums one edge
from every earlier node, and the cell output is node 3, so the cell has 6 edges.  The
edge order everywhere (rows of α, cost tables, the genotype string) is target-major, as in
the benchmark: 0→1, 0→2, 1→2, 0→3, 1→3, 2→3.  Each edge holds one of

``none`` (zeros), ``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3``
(ReLU → convolution → BatchNorm), ``avg_pool_3x3`` (stride 1, padding not counted).

Every cell keeps its channels and resolution.  The benchmark's macro network (AutoDL's
``TinyNetwork``): a 3×3 convolution stem to C channels + BN, three stages of N cells at
C, 2C, 4C with a residual reduction block between stages (the ResNet basic block at
stride 2: ReLU-conv3×3(s2)-BN, ReLU-conv3×3-BN, shortcut 2×2 average pool + 1×1 conv), then
BN-ReLU, global average pooling and a linear classifier.  The benchmark trains C = 16,
N = 5 on 32×32 CIFAR; 8×8 digits work too (the two reductions give 8 → 4 → 2).

All 15 cells of a network share one architecture; a search learns one α (6 × 5).  The
resource penalty's ``official`` normalisation divides by the real number of cells (the
official SNAS code, whose fixed 6 / 2 divisors belong to its DARTS network, has no
network of this space).  A
genotype picks one op per edge (no top-2 rule: the derived cell is the argmax of every
edge, ``none`` included) and is written as the benchmark writes it:
``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|``
(``op~source`` per edge, nodes 1..3 separated by ``+``).

Its parts: :mod:`.primitives` (the ops' names and the cell's edges), :mod:`.ops` (the op
modules), :mod:`.genotype`, :mod:`.macro` (the network around the cells), :mod:`.supernet`,
:mod:`.childnet`, :mod:`.networks` (the benchmark's network), :mod:`.costs` (the resource
penalty's op costs) and :mod:`.drawing`; its memory estimate is the default one
(:mod:`snas.memory`).  As in the DARTS space, the parts that build or count networks (torch)
are imported by the methods that need them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from snas.errors import UserInputError
from snas.registry import unknown_name
from snas.spaces.base import EvalNetwork, NetworkFamily, SearchSpace
from snas.spaces.nas_bench_201.genotype import CellGenotype, derive_cell
from snas.spaces.nas_bench_201.networks import BENCHMARK_NETWORK
from snas.spaces.nas_bench_201.primitives import NAME, NUM_EDGES, PRIMITIVES, cell_edges

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from snas.profile import Profile
    from snas.resource import CellGeometry
    from snas.spaces.networks import GenotypeNetwork, SuperNetwork


class NasBench201Space(SearchSpace):
    name = NAME
    title = "NAS-Bench-201"
    primitives = PRIMITIVES
    num_edges = NUM_EDGES
    cell_types = ("cell",)
    ratio_weighted = (False,)
    derivation_rules = ("edge_all",)
    defaults: Mapping[str, Any] = {
        "layers": 5, "init_channels": 16, "eval_layers": 5, "eval_channels": 16,
        "genotype_rule": "edge_all", "drop_path": 0.0,
    }
    """The benchmark's network (N = 5 cells per stage, C = 16) and derivation (argmax per
    edge); its searches (GDAS, DARTS in AutoDL) use no drop path."""
    parameter_free = frozenset({"skip_connect", "avg_pool_3x3"})
    retrain_defaults: Mapping[str, Any] = {"layers": 5, "init_channels": 16, "auxiliary": False, "drop_path": 0.0}
    """The benchmark's network: N = 5 cells per stage, C = 16, no auxiliary head, no drop path."""
    auxiliary_head = False

    def normal_cell_ops(self, genotype: CellGenotype) -> tuple[str, ...]:
        return tuple(op for op in genotype.edges() if op != "none")

    def random_genotype(self, rule: str, rng: random.Random) -> CellGenotype:
        """Every edge any of the five ops: the benchmark's 15,625 cells, equally likely."""
        self._check_rule(rule)
        return CellGenotype.from_edges([rng.choice(PRIMITIVES) for _ in cell_edges()])

    def genotype_count(self, rule: str) -> int:
        self._check_rule(rule)
        return int(len(PRIMITIVES) ** NUM_EDGES)  # int(): typeshed types int ** int as Any

    def _check_rule(self, rule: str) -> None:
        if rule not in self.derivation_rules:
            raise unknown_name(f"{NAME} derivation rule", rule, self.derivation_rules)

    def supernet(self, channels: int, num_classes: int, layers: int, in_channels: int) -> SuperNetwork:
        from snas.spaces.nas_bench_201.supernet import SearchNetwork

        return SearchNetwork(channels, num_classes, layers, in_channels)

    def edges(self) -> tuple[tuple[int, int], ...]:
        return cell_edges()

    def cost_table(self, cell: CellGeometry, cost_model: str) -> torch.Tensor:
        from snas.spaces.nas_bench_201.costs import cell_cost_table

        return cell_cost_table(cell, cost_model)

    def derive(self, alphas: tuple[torch.Tensor, ...], rule: str) -> CellGenotype:
        self._check_rule(rule)
        (alpha,) = alphas
        return derive_cell(alpha)

    def parse(self, text: str) -> CellGenotype | None:
        return CellGenotype.parse(text) if text.lstrip().startswith("|") else None

    def genotype_from_dict(self, data: Mapping[str, Any]) -> CellGenotype:
        return CellGenotype.from_dict(data)

    def child_network(self, genotype: CellGenotype, *, family: NetworkFamily, channels: int, layers: int,
                      num_classes: int, in_channels: int, image_size: int, auxiliary: bool) -> GenotypeNetwork:
        from snas.spaces.nas_bench_201.childnet import TinyNetwork

        return TinyNetwork(genotype, channels=channels, layers=layers, num_classes=num_classes,
                           in_channels=in_channels)

    def profile(self, genotype: CellGenotype, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                in_channels: int, image_size: int) -> Profile:
        from snas.spaces.nas_bench_201.childnet import profile_tiny

        return profile_tiny(genotype, channels=channels, layers=layers, num_classes=num_classes,
                            in_channels=in_channels, image_size=image_size)

    def describe_cells(self, layers: int) -> str:
        return f"3 stages of {layers} cells"

    def describe_network(self, family: NetworkFamily, layers: int) -> str:
        return f"{self.title} network, {self.describe_cells(layers)}"

    def describe_supernet(self, layers: int) -> str:
        return f"{NAME} search network of {layers} cells per stage"

    def describe_child(self, family: NetworkFamily, layers: int) -> str:
        return f"{layers}-cell-per-stage network"

    def halvings(self, family: NetworkFamily, layers: int) -> int:
        return 2

    def evaluation_network(self, dataset: str) -> EvalNetwork:
        if dataset != "cifar10":
            raise UserInputError("a NAS-Bench-201 cell is profiled in the benchmark's CIFAR-10 network only "
                                 "(--dataset cifar10)")
        return BENCHMARK_NETWORK

    def figure(self, genotype: CellGenotype, title: str | None = None) -> Figure:
        from snas.spaces.nas_bench_201.drawing import nb201_figure

        return nb201_figure(genotype, title)
