"""What a search space is: everything the search, the penalty, genotypes, child networks,
profiling and drawing need to know about one family of cells.

A space names its candidate ops, its cell types (one α per type: DARTS has a normal and a
reduction cell, NAS-Bench-201 one cell), builds its supernet and the network of a
genotype, derives a genotype from α, reads and writes its genotypes, counts op costs for
the resource penalty, estimates its networks' memory, names its evaluation networks and
draws a genotype.  The rest of the code asks the space and never compares its name;
adding a space is one package (:mod:`snas.spaces`) with one :class:`SearchSpace` subclass
and one registry entry.

Naming a space, reading and checking its genotypes and sizing its networks need no torch
(the study checks and the offline analysis do them): each space imports its network,
cost and memory modules in the methods that build or count networks.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from snas.memory import MemoryEstimate
    from snas.profile import Profile
    from snas.resource import CellGeometry
    from snas.spaces.networks import GenotypeNetwork, SuperNetwork

NetworkFamily = Literal["cifar", "imagenet"]
"""The evaluation-network families: CIFAR (3×3 stem) and ImageNet (two stride-2 stems)."""


@dataclass(frozen=True)
class EvalNetwork:
    """The network a genotype is evaluated in, by the settings that size it (those of
    :meth:`SearchSpace.child_network`): a paper's evaluation network, or a study's."""

    family: NetworkFamily
    layers: int
    channels: int
    image_size: int
    num_classes: int
    in_channels: int = 3
    """Channels of the input images (1 for digits): the stem's convolution counts them."""

    def describe_input(self) -> str:
        """The input in words, ``3×32×32 input, 10 classes``."""
        side = self.image_size
        return f"{self.in_channels}×{side}×{side} input, {self.num_classes} classes"


class AnyGenotype(Protocol):
    """What every space's genotype offers: its space, its form, a mapping and a string form."""

    @property
    def space(self) -> str: ...

    @property
    def form(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...

    def canonical(self) -> Any:
        """The cells in a form that equal cells share, however written (:func:`snas.genotype.genotype_id`)."""
        ...


class SearchSpace:
    """One search space (see the module docstring); subclasses fill in the attributes."""

    name: str
    title: str
    """The space's name in prose (``NAS-Bench-201``)."""
    primitives: tuple[str, ...]
    num_edges: int
    cell_types: tuple[str, ...]
    """One α per cell type, in this order (the supernet takes one list of samples per type)."""
    ratio_weighted: tuple[bool, ...]
    """Per cell type: whether ``resource.ratio`` weights its cost (DARTS's reduction cells)."""
    derivation_rules: tuple[str, ...]
    defaults: Mapping[str, Any]
    """Search settings filled in when a search in this space leaves them out."""
    retrain_defaults: Mapping[str, Any] = {}
    """Retraining settings filled in when the retraining of a genotype of this space leaves them out."""
    auxiliary_head: bool = True
    """Whether the network of a genotype can have an auxiliary head (``auxiliary: true``)."""
    parameter_free: frozenset[str]
    """The ops without weights (identity and pooling; ``none`` builds nothing and is not an
    op of the cell): a cell of these has nothing to learn, the classic DARTS collapse."""
    largest_genotype: Any | None = None
    """The genotype of the largest network a search of this space can derive: a search checks
    before it starts that profiling it at evaluation scale fits; ``None``: not checked."""

    def normal_cell_ops(self, genotype: Any) -> tuple[str, ...]:
        """The ops on the edges the normal cell keeps (the one cell where a space has one),
        ``none`` left out: what the collapse metrics count."""
        raise NotImplementedError

    def skip_connect_count(self, genotype: Any) -> int:
        """``skip_connect`` edges of the normal cell (``normal_skip_connect``)."""
        return sum(op == "skip_connect" for op in self.normal_cell_ops(genotype))

    def parameter_free_count(self, genotype: Any) -> int:
        """Parameter-free edges of the normal cell (``normal_param_free``)."""
        return sum(op in self.parameter_free for op in self.normal_cell_ops(genotype))

    def random_genotype(self, rule: str, rng: random.Random) -> AnyGenotype:
        """A genotype drawn uniformly from those ``rule`` can derive in this space (every
        distinct genotype equally likely): the random-architecture baseline."""
        raise NotImplementedError

    def genotype_count(self, rule: str) -> int:
        """How many distinct genotypes ``rule`` can derive (what :meth:`random_genotype` draws from)."""
        raise NotImplementedError

    def supernet(self, channels: int, num_classes: int, layers: int, in_channels: int) -> SuperNetwork:
        """The search network (:class:`~snas.spaces.networks.SuperNetwork`)."""
        raise NotImplementedError

    def edges(self) -> tuple[tuple[int, int], ...]:
        """Every edge ``(source, target)`` of a cell, in α row order."""
        raise NotImplementedError

    def cell_geometry(self, supernet: SuperNetwork, height: int, width: int) -> list[list[CellGeometry]]:
        """What every search cell's ops see for ``height × width`` images, one list per cell type."""
        return [supernet.geometry(height, width)]

    def official_cell_counts(self, cell_counts: tuple[int, ...]) -> tuple[int, ...]:
        """The divisors of the ``official`` penalty normalisation, per cell type."""
        return cell_counts

    def cost_table(self, cell: CellGeometry, cost_model: str) -> torch.Tensor:
        """``[resource, edge, op]`` costs of one search cell."""
        raise NotImplementedError

    def derive(self, alphas: tuple[torch.Tensor, ...], rule: str) -> AnyGenotype:
        """The genotype α (per cell type) describes under ``rule``."""
        raise NotImplementedError

    def parse(self, text: str) -> AnyGenotype | None:
        """The genotype ``text`` spells in this space's string form; ``None`` if it is not that form."""
        raise NotImplementedError

    def genotype_from_dict(self, data: Mapping[str, Any]) -> AnyGenotype:
        raise NotImplementedError

    def child_network(self, genotype: Any, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                      in_channels: int, image_size: int, auxiliary: bool) -> GenotypeNetwork:
        """The network of ``genotype`` (:class:`~snas.spaces.networks.GenotypeNetwork`)."""
        raise NotImplementedError

    def profile(self, genotype: Any, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                in_channels: int, image_size: int) -> Profile:
        raise NotImplementedError

    def supernet_memory(self, channels: int, num_classes: int, layers: int, in_channels: int,
                        image_size: int) -> MemoryEstimate:
        """What the search network needs (:mod:`snas.memory`); by default the coarse estimate
        of the network built on ``meta``."""
        import torch

        from snas.memory import built_memory

        with torch.device("meta"):
            module = self.supernet(channels, num_classes, layers, in_channels)
        return built_memory(module, image_size)

    def child_memory(self, genotype: Any, *, family: NetworkFamily, channels: int, layers: int, num_classes: int,
                     in_channels: int, image_size: int, auxiliary: bool) -> MemoryEstimate:
        """What the network of ``genotype`` needs (:mod:`snas.memory`); by default the coarse
        estimate of the network built on ``meta``."""
        import torch

        from snas.memory import built_memory

        with torch.device("meta"):
            module = self.child_network(genotype, family=family, channels=channels, layers=layers,
                                        num_classes=num_classes, in_channels=in_channels, image_size=image_size,
                                        auxiliary=auxiliary)
        return built_memory(module, image_size)

    def describe_cells(self, layers: int) -> str:
        """How many cells ``layers`` means, in words (``20 cells``)."""
        raise NotImplementedError

    def describe_network(self, family: NetworkFamily, layers: int) -> str:
        """The network of a genotype in words, e.g. ``cifar network, 20 cells``."""
        raise NotImplementedError

    def describe_supernet(self, layers: int) -> str:
        """The search network as a noun phrase, e.g. ``8-cell search network``."""
        raise NotImplementedError

    def describe_child(self, family: NetworkFamily, layers: int) -> str:
        """The network of a genotype as a noun phrase, e.g. ``20-cell cifar network``."""
        raise NotImplementedError

    def halvings(self, family: NetworkFamily, layers: int) -> int:
        """How often the network of a genotype halves the resolution."""
        raise NotImplementedError

    def evaluation_network(self, dataset: str) -> EvalNetwork:
        """The network the literature evaluates this space's genotypes in for ``dataset``
        (``cifar10``, ``imagenet``: what ``profile --dataset`` chooses); a data set it has
        none for is refused."""
        raise NotImplementedError

    def describe_form(self, form: str) -> str:
        """A genotype's ``form`` in words (``DARTS form``); by default the form itself."""
        return form

    def figure(self, genotype: Any, title: str | None = None) -> Figure:
        """The drawing of ``genotype`` (:mod:`snas.draw` writes it); matplotlib is imported
        only here, when something is drawn."""
        raise NotImplementedError
