"""Random search: the grid entries crossed with ``num_samples`` seeded draws of the sampled ones."""

from __future__ import annotations

from typing import ClassVar, Literal

from harness.domain import Space
from harness.policies.variants import VariantSearcher


class RandomSearcher(VariantSearcher):
    name: Literal["random"] = "random"
    title: ClassVar[str] = "random search"

    def settings_are_distinct(self, space: Space) -> bool:
        """Continuous draws never repeat (a repeat of a sampled float is not a concern); a
        ``choice`` or a grid entry may."""
        return any(domain.variation in ("uniform", "loguniform") for domain in space.values())
