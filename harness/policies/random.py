"""Random search: the grid entries crossed with ``num_samples`` seeded draws of the sampled ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from harness.policies.variants import VariantSearcher

if TYPE_CHECKING:
    from harness.study import Study


class RandomSearcher(VariantSearcher):
    name: Literal["random"] = "random"
    title: ClassVar[str] = "random search"

    def settings_are_distinct(self, study: Study) -> bool:
        """Continuous draws never repeat (a repeat of a sampled float is not a concern); a
        ``choice`` or a grid entry may."""
        return any(domain.variation in ("uniform", "loguniform") for domain in study.space.values())
