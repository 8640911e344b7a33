"""The search spaces, by name: what ``space:`` in a search config chooses, and the one place
that turns any genotype text or mapping into the genotype of its space.

Each space is a package with the same parts (``primitives``, ``ops``, ``genotype``,
``supernet``, ``childnet``, ``costs``, ``drawing``); adding one is such a package, whose
``__init__`` defines its :class:`~snas.spaces.base.SearchSpace` subclass, and one entry below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from snas.genotype import GenotypeError
from snas.registry import Registry
from snas.spaces.base import AnyGenotype, SearchSpace
from snas.spaces.darts import DartsSpace
from snas.spaces.nas_bench_201 import NasBench201Space

SPACES: Registry[SearchSpace] = Registry("search space", {
    space.name: space for space in (DartsSpace(), NasBench201Space())
})

DEFAULT_SPACE = DartsSpace.name
"""The space of a search that names none, and of a genotype mapping without ``space``."""


def space_of(genotype: AnyGenotype) -> SearchSpace:
    """The space a genotype belongs to."""
    return SPACES[genotype.space]


def genotype_from_dict(data: Mapping[str, Any]) -> AnyGenotype:
    """The genotype a mapping describes; ``space`` names its space (absent: DARTS, as written
    before there were other spaces)."""
    if not isinstance(data, Mapping):
        raise GenotypeError("a genotype must be a mapping")
    name = data.get("space", DEFAULT_SPACE)
    if name not in SPACES:
        raise GenotypeError(f"unknown genotype space {name!r}; choose from {', '.join(SPACES)}")
    return SPACES[name].genotype_from_dict(data)


def parse_genotype(text: str) -> AnyGenotype | None:
    """The genotype a space's string form spells (``Genotype(...)``, ``|op~0|+...``); ``None``
    when ``text`` is in none of the forms (a malformed text in one of them is refused)."""
    for space in SPACES.values():
        genotype = space.parse(text)
        if genotype is not None:
            return genotype
    return None


__all__ = ["DEFAULT_SPACE", "SPACES", "SearchSpace", "genotype_from_dict", "parse_genotype", "space_of"]
