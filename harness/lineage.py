"""Where a trial's state came from: the exploits of population-based training, as trials record them.

Under PBT a trial may continue from another trial's checkpoint (it *exploits* that donor).
Tune knows which, but keeps it in its own pickles; so every checkpoint a trial saves
carries ``lineage.json`` beside ``checkpoint.pt``: the trial that saved it and the exploits
the state in it went through.  A trial restoring a checkpoint that another trial saved has
exploited that trial at the checkpoint's epoch; it inherits the donor's exploits (its
curve up to there is the donor's) and adds its own.  The trial writes the list into
``config.json`` (``exploits``), beside the changes of settings it took
(:mod:`harness.trialconfig`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LINEAGE_FILE = "lineage.json"


@dataclass
class Lineage:
    """One trial's exploits: ``{"epoch": e, "donor": trial id}``, ``e`` being the donor's epochs
    done when it was copied (the copy continues from epoch ``e + 1``), oldest first."""

    trial: str
    exploits: list[dict[str, Any]] = field(default_factory=list)

    def continue_from(self, checkpoint: Path, epoch: int) -> None:
        """Take the lineage of the state restored from the ``checkpoint`` folder at ``epoch``: the
        trial's own (a restart), or a donor's followed by this exploit.  A checkpoint without a
        readable lineage (saved by a version before it, or damaged) is taken as the trial's own."""
        saved = _read(checkpoint / LINEAGE_FILE)
        if saved is None:
            return
        donor, exploits = saved
        self.exploits = exploits if donor == self.trial else [*exploits, {"epoch": epoch, "donor": donor}]

    def save(self, checkpoint: Path) -> None:
        """Write it into the ``checkpoint`` folder about to be reported."""
        text = json.dumps({"trial": self.trial, "exploits": self.exploits}, indent=2) + "\n"
        (checkpoint / LINEAGE_FILE).write_text(text, encoding="utf-8")


def _read(path: Path) -> tuple[str, list[dict[str, Any]]] | None:
    """(the trial that saved it, its exploits), or None when missing or not what trials write."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    trial, exploits = (value.get("trial"), value.get("exploits")) if isinstance(value, dict) else (None, None)
    if not isinstance(trial, str) or not isinstance(exploits, list) or not all(is_exploit(e) for e in exploits):
        return None
    return trial, exploits


def is_exploit(value: Any) -> bool:
    """Whether ``value`` is an exploit record as trials write them."""
    return (isinstance(value, dict) and isinstance(value.get("epoch"), int) and not isinstance(value["epoch"], bool)
            and isinstance(value.get("donor"), str))
