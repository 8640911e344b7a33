"""The genotypes a retrain study trains, each an *arm*: searched, random, or picked by a
zero-cost proxy (:mod:`harness.retraining`, :mod:`harness.proxy_baseline`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Arm:
    """One genotype of a retrain study: its label, the genotype's mapping and where it came from."""

    label: str
    genotype: dict[str, Any]
    origin: dict[str, Any]
    score: float | None = None
    """The search's score of its best trial (searched genotypes only)."""
