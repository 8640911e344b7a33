"""Replaying a discovered schedule: every trial runs its full budget (as under FIFO) and takes
the recorded changes of settings at their epochs.

``snas-study replay`` writes such a study from a PBT study's winner (:mod:`harness.replaying`):
a fresh search from epoch 0 that starts at the winner's first settings and changes them
where its lineage did, so the discovered schedule can be run again with other seeds and
compared fairly with fixed schedules.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.domain import Space
from harness.policies.base import Budget, Objective, Scheduler, TrialFacts
from snas.configmodel import Frozen


class ScheduledChange(Frozen):
    epoch: int = Field(ge=1)
    """Epochs done when it takes effect (it applies from epoch ``epoch + 1`` on)."""
    settings: dict[str, Any] = Field(min_length=1)
    """The new values, by dotted setting as the space writes them (``search.temperature.initial``)."""


class ReplayScheduler(Scheduler):
    name: Literal["replay"] = "replay"
    title: ClassVar[str] = "replay"

    schedule: list[ScheduledChange]
    """The changes of settings every trial takes, in order of their epochs (none: the
    discovered schedule is the one the trials start with)."""
    source: str = ""
    """Where the schedule was discovered (the study folder and trial), for the record."""

    def check_trials(self, space: Space, trials: TrialFacts) -> None:
        """Each change names settings a trial may change between epochs, none the space varies
        (the schedule would overrule the space), in order of their epochs."""
        mutable = [f"{trials.section}.{key}" for key in trials.mutable_settings]
        epochs = [change.epoch for change in self.schedule]
        if epochs != sorted(set(epochs)):
            raise ValueError(f"scheduler.schedule: the epochs {epochs} are not increasing")
        for index, change in enumerate(self.schedule):
            for key in change.settings:
                if key not in mutable:
                    raise ValueError(f"scheduler.schedule[{index}].settings.{key}: cannot change during a trial; "
                                     f"a replay may change only {', '.join(mutable)}")
                if key in space:
                    raise ValueError(f"scheduler.schedule[{index}].settings.{key}: the space varies it too; "
                                     f"drop it from space")

    def check_budget(self, budget: Budget) -> None:
        """Some trial runs past each change (a replay that stops first is not the schedule)."""
        for index, change in enumerate(self.schedule):
            if change.epoch >= budget.most:
                raise ValueError(f"scheduler.schedule[{index}].epoch {change.epoch} is not below the trials' epochs "
                                 f"({budget.most_named()}): no trial would take that change before it ends; "
                                 f"raise {budget.section}.epochs above {change.epoch}")

    def scheduled_changes(self, section: str) -> tuple[tuple[int, dict[str, Any]], ...]:
        """``(epoch, {setting relative to section: value})`` for each change."""
        return tuple((change.epoch, {key.removeprefix(f"{section}."): value for key, value in change.settings.items()})
                     for change in self.schedule)

    def changing_settings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(key for change in self.schedule for key in change.settings))

    def build(self, epochs: int, data_parallel: bool, objective: Objective) -> Any:
        from ray.tune.schedulers import FIFOScheduler

        return FIFOScheduler()
