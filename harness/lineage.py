"""Where a trial's state came from: the exploits of population-based training, as trials record them.

Under PBT a trial may continue from another trial's checkpoint (it *exploits* that donor).
Tune knows which, but keeps it in its own pickles; so the trials record it themselves:

- every checkpoint a trial saves carries ``lineage.json`` beside ``checkpoint.pt``: the
  trial that saved it and the copies the state in it went through (its *lineage*).  A
  trial restoring a checkpoint that another trial saved has exploited that trial at the
  checkpoint's epoch: its state's lineage is the donor's plus this copy (its curve up to
  there is the donor's);
- the trial's ``config.json`` lists that ``lineage`` and the trial's own ``exploits`` (every
  copy it made, kept across copies: its state's lineage forgets the copies it made before
  its last one), beside the changes of settings it took (:mod:`harness.trialconfig`).

Each record is ``{"epoch": e, "donor": trial id}``: the donor's epochs done when it was
copied (the copy continues from epoch ``e + 1``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

LINEAGE_FILE = "lineage.json"


@dataclass
class Lineage:
    """One trial's record of the copies it made and its state went through, oldest first."""

    trial: str
    copies: list[dict[str, Any]] = field(default_factory=list)
    """The copies its current state went through (some made by other trials)."""
    exploits: list[dict[str, Any]] = field(default_factory=list)
    """The copies this trial made, all of them."""

    def continue_from(self, checkpoint: Path, epoch: int) -> None:
        """Take the lineage of the state restored from the ``checkpoint`` folder at ``epoch``: the
        trial's own (a restart), or a donor's followed by this exploit.  The donor's checkpoint of
        the exploit the trial last made, restored again (Tune restarts an exploiting trial from
        it on ``resume`` and after a failure), is that exploit, not a new one.  A checkpoint
        without a readable lineage (saved by a version before it, or damaged) is taken as the
        trial's own."""
        saved = _read(checkpoint / LINEAGE_FILE)
        if saved is None:
            return
        saver, copies = saved
        if saver == self.trial:
            self.copies = copies
            return
        exploit = {"epoch": epoch, "donor": saver}
        self.copies = [*copies, exploit]
        if self.exploits[-1:] != [exploit]:  # else the same copy restored again (a resume, a retry)
            self.exploits = [*self.exploits, exploit]

    def save(self, checkpoint: Path) -> None:
        """Write it into the ``checkpoint`` folder about to be reported."""
        text = json.dumps({"trial": self.trial, "lineage": self.copies}, indent=2) + "\n"
        (checkpoint / LINEAGE_FILE).write_text(text, encoding="utf-8")


def _read(path: Path) -> tuple[str, list[dict[str, Any]]] | None:
    """(the trial that saved it, its lineage), or None when missing or not what trials write."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    trial, copies = (value.get("trial"), value.get("lineage")) if isinstance(value, dict) else (None, None)
    if not isinstance(trial, str) or not are_exploits(copies):
        return None
    return trial, copies


def are_exploits(value: Any) -> TypeGuard[list[dict[str, Any]]]:
    """Whether ``value`` is a list of exploit records as trials write them."""
    return isinstance(value, list) and all(
        isinstance(e, dict) and isinstance(e.get("epoch"), int) and not isinstance(e["epoch"], bool)
        and isinstance(e.get("donor"), str) for e in value)


def earlier_exploits(config_text: str | None) -> list[dict[str, Any]]:
    """The exploits a trial's ``config.json`` (its text; None when it has none yet) lists: what
    the trial had made before Tune restarted it."""
    try:
        value = json.loads(config_text) if config_text is not None else {}
    except ValueError:
        return []
    exploits = value.get("exploits", []) if isinstance(value, dict) else []
    return exploits if are_exploits(exploits) else []
