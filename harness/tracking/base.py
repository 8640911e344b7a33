"""What every experiment tracker does for a study: one parent run, one child run per trial.

A tracker lives in the driver, fed by :class:`harness.tracking.callback.TrackingEvents` (Tune's
trial events) and by the run's end (:func:`harness.studyrun.finish`'s report).  The driver
is the one place that sees every trial, so no trainable imports a tracker library and a
trial's process never talks to a tracking server.
"""

from __future__ import annotations

import contextlib
import importlib.util
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from snas.errors import UserInputError

if TYPE_CHECKING:
    from harness.study import Study


class Tracker(ABC):
    """One tracking service's view of a study.  Trials are addressed by Tune's trial id."""

    name: ClassVar[str]
    """The key under ``tracking`` (``mlflow``)."""
    module: ClassVar[str]
    """The library it needs, installed by the extra of the same name."""

    @abstractmethod
    def __init__(self, settings: Any, study: Study, experiment_path: str):
        """``settings``: the tracker's section of ``tracking``; ``study``: the study as its folder
        holds it (with its ``provenance``); ``experiment_path``: the study folder (or its URI)."""

    @classmethod
    def check(cls, settings: Any) -> None:
        """Raise :class:`UserInputError` when the study could not be tracked as ``settings`` say
        (the library missing, the server unreachable): called before any trial starts."""
        if importlib.util.find_spec(cls.module) is None:
            raise UserInputError(f"tracking.{cls.name} needs the {cls.name} extra: "
                                 f"pip install 'snas-study[{cls.name}]'")

    @abstractmethod
    def destination(self) -> str:
        """Where the study is tracked (``the MLflow server at http://host:5000``), as the warning
        of a failure names it."""

    def calling(self) -> contextlib.AbstractContextManager[None]:
        """The scope each call of this tracker runs in (:meth:`harness.tracking.trackers.StudyTracking.each`):
        where a tracker bounds its library's waiting.  None by default."""
        return contextlib.nullcontext()

    @abstractmethod
    def start_study(self, name: str, params: dict[str, Any], resuming: bool) -> None:
        """Open the parent run (``resuming``: ``snas-study resume`` continues the study: the
        tracker may reopen the study's runs where it can find them)."""

    @abstractmethod
    def start_trial(self, trial_id: str, name: str, params: dict[str, Any]) -> None:
        """Open a trial's child run, with the settings it starts with as its params."""

    @abstractmethod
    def log_epoch(self, trial_id: str, epoch: int, values: dict[str, float]) -> None:
        """One epoch's numbers (its metrics, and settings that may change mid-run)."""

    @abstractmethod
    def attach(self, trial_id: str | None, folder: Path, under: str) -> None:
        """Attach the files of ``folder`` under ``under`` to a trial's run (None: the parent's)."""

    @abstractmethod
    def end_trial(self, trial_id: str, failed: bool) -> None:
        """Close a trial's run."""

    @abstractmethod
    def end_study(self, failed: bool) -> None:
        """Close the parent run (and any trial's left open)."""
