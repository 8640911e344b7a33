"""Why a trial ended: one vocabulary for the console, ``status``, the tables and the report.

Tune calls a trial that ran every epoch and one a scheduler stopped both TERMINATED; the
epochs it reached, its last report and the study tell them apart:

- ``done``: it ran its configured epochs;
- ``diverged``: its loss became NaN/inf and the run stopped itself;
- ``collapse (skip_connect 4 > 2)``: the study's ``stop:`` section ended it
  (:func:`harness.health.collapse_stop`);
- the scheduler's label (``ASHA``): the scheduler stopped it before its last epoch;
- ``stopped``: it ended early for a reason none of the above names (a scheduler that
  labels none, or a study whose scheduler changed since);
- ``error``: it failed and Tune gave up on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.health import collapse_stop

if TYPE_CHECKING:
    from harness.study import Study

DONE = "done"
DIVERGED = "diverged"
ERROR = "error"
STOPPED = "stopped"


@dataclass(frozen=True)
class Ending:
    """How one trial ended."""

    label: str
    """``done``, ``diverged``, ``collapse (...)``, the scheduler's label, ``stopped`` or ``error``."""
    early: bool
    """It ended before its configured last epoch (a stop, not a finish)."""

    @property
    def reason(self) -> str | None:
        """The trials table's ``stop_reason``: why it did not run to the end (None when it did)."""
        return self.label if self.early or self.label == DIVERGED else None

    @property
    def short(self) -> str:
        """The label without its detail, for a console column (``collapse``)."""
        return self.label.split(" (", 1)[0]


def ending_of(last: Mapping[str, Any], epochs: int, configured_epochs: int | None, study: Study) -> Ending:
    """How a trial that ended normally (no error) ended, from its last report and epoch count."""
    if last.get("diverged"):
        return Ending(DIVERGED, early=False)
    if configured_epochs is None or epochs >= configured_epochs:
        return Ending(DONE, early=False)
    label = collapse_stop(last, study.stop) or study.scheduler.stop_label or STOPPED
    return Ending(label, early=True)


ERRORED = Ending(ERROR, early=False)
