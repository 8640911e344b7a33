"""What the search and the retraining ask of a space's networks besides ``forward``.

A module of its own (not :mod:`snas.spaces.base`) because it needs torch, and naming a
space must not.
"""

from __future__ import annotations

from torch import nn

from snas.compilation import CompileMode
from snas.resource import CellGeometry


class SuperNetwork(nn.Module):
    """The base of each space's search network: ``forward(x, *samples per cell type,
    drop_prob, generator) -> logits`` plus the members below."""

    @property
    def cell_counts(self) -> tuple[int, ...]:
        """Search cells per cell type, in the space's ``cell_types`` order."""
        raise NotImplementedError

    def geometry(self, height: int, width: int) -> list[CellGeometry]:
        """What each search cell's ops see for ``height × width`` input images."""
        raise NotImplementedError

    def compile_training(self, mode: CompileMode) -> None:
        """Compile the forward of soft samples in training (see :mod:`snas.compilation`)."""
        raise NotImplementedError


class GenotypeNetwork(nn.Module):
    """The base of each space's network of a genotype: ``forward(x, drop_prob, generator)
    -> (logits, auxiliary logits or None)`` plus the member below."""

    def compile_training(self, mode: CompileMode) -> None:
        """Compile the forward in training (see :mod:`snas.compilation`)."""
        raise NotImplementedError
