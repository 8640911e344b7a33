"""What the harness needs of a training loop, and the per-epoch record it writes for one.

:class:`snas.search.Search` and :class:`snas.retrain.Retrain` both satisfy :class:`Loop`;
the local runs (``snas-study search``/``train``) and the Tune trainables drive them the
same way.  Both write the loop's ``history`` as ``metrics.jsonl`` after every epoch: the
history comes from the loop's own state, so after a restart from a checkpoint the file
holds exactly the epochs that led to the current state -- unlike Tune's ``result.json``,
which can lose or repeat reports around a failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from snas.data import Batches
    from snas.genotype import Genotype


class _Config(Protocol):
    epochs: int

    def model_dump(self, *, mode: str, by_alias: bool) -> dict[str, Any]: ...


class _Data(Protocol):
    @property
    def train(self) -> Batches: ...


class Loop(Protocol):
    """What :class:`snas.search.Search` and :class:`snas.retrain.Retrain` both offer."""

    config: _Config
    data: _Data
    epoch: int
    diverged: bool
    history: list[dict[str, Any]]

    @property
    def finished(self) -> bool: ...

    @property
    def genotype(self) -> Genotype: ...

    def run_epoch(self, on_step: Callable[[int, int], None] | None = None) -> dict[str, Any]: ...

    def save(self, path: str | Path) -> Path: ...


def metrics_jsonl(history: list[dict[str, Any]]) -> str:
    """The history as JSON lines, one epoch per line."""
    return "".join(json.dumps(metrics) + "\n" for metrics in history)
