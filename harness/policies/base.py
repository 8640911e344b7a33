"""What decides which trials run and which stop: searchers and schedulers as objects.

A study's ``searcher:`` and ``scheduler:`` sections are each validated into one of these
objects (chosen by ``name`` from :data:`harness.policies.SEARCHERS` /
:data:`harness.policies.SCHEDULERS`).  The object is its own settings model and owns
everything the harness needs of it: its checks against the rest of the study, the Tune
object it builds, how a trial it stops is labelled, and what it adds to the analysis.  The
harness asks the object instead of testing ``searcher.name``; adding a searcher or a
scheduler is one module and one registry entry.

Ray is imported only where a Tune object is built, so reading a study folder never loads it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from snas.configmodel import Frozen

if TYPE_CHECKING:
    from harness.study import Study
    from harness.trialplan import TrialPlan


class Policy(Frozen, ABC):
    """A searcher or scheduler: its settings as fields, its behaviour as methods."""

    name: str
    title: ClassVar[str]
    """How messages and summaries name it (``ASHA``, ``Optuna's TPE``)."""

    def check(self, study: Study) -> None:
        """Raise :class:`ValueError` (naming the keys) when this policy cannot run ``study``."""
        return None


class Searcher(Policy):
    """Proposes the trials' settings."""

    num_samples: int = Field(1, ge=1)
    seed: int = Field(0, ge=0)
    points_to_evaluate: list[dict[str, Any]] = []

    def check(self, study: Study) -> None:
        """Every point run first is a trial the study could have proposed."""
        for point in self.points_to_evaluate:
            unknown = set(point) - set(study.space)
            if unknown:
                raise ValueError(f"searcher.points_to_evaluate uses keys not in space: {', '.join(sorted(unknown))}")
        self._check_order(study)
        for index, point in enumerate(self.points_to_evaluate):
            for key, value in point.items():
                problem = study.space[key].problem_with(value)
                if problem:
                    raise ValueError(f"searcher.points_to_evaluate[{index}].{key}: {problem}")

    def _check_order(self, study: Study) -> None:
        """Where this searcher's order of trials conflicts with ``points_to_evaluate``."""
        return None

    def expected_trials(self, study: Study) -> int:
        """Trials the study runs: each grid combination ``num_samples`` times."""
        return study.grid_size() * self.num_samples

    @abstractmethod
    def plan(self, study: Study) -> TrialPlan:
        """The study's trials as Tune is given them."""

    @abstractmethod
    def build(self, study: Study, plan: TrialPlan, experiment_path: str, max_concurrent: int | None) -> Any:
        """Tune's search algorithm for ``study`` (its folder at ``experiment_path``), running at
        most ``max_concurrent`` trials at once (None: as many as the resources allow)."""

    def limits_concurrency(self) -> bool:
        """Whether its search algorithm enforces ``max_concurrent`` itself (else Tune's
        ``max_concurrent_trials`` does, which Tune ignores for a variant generator)."""
        return False

    @abstractmethod
    def settings_are_distinct(self, study: Study) -> bool:
        """Whether no two trials can share their varied settings (then a trial is named by them)."""

    column_titles: ClassVar[dict[str, str]] = {}
    """The columns :meth:`trial_columns` adds, with the title ``status`` shows each under."""

    def trial_columns(self, folder: Path, study: Study) -> dict[str, dict[str, Any]]:
        """Columns it adds to the trials table and ``status``: ``{column: {trial id: value}}``."""
        return {}


class Scheduler(Policy):
    """Decides when trials stop (and, for some, how they continue)."""

    stop_label: ClassVar[str | None] = None
    """What a trial it stopped before its last epoch is labelled (``ASHA``); None: it stops none."""
    plots: ClassVar[tuple[str, ...]] = ()
    """Plots of :data:`harness.analysis.plots.PLOTS` that it adds to the analysis."""

    @abstractmethod
    def build(self, study: Study) -> Any:
        """Tune's trial scheduler for ``study``."""

    def stopped_summary(self, count: int) -> str | None:
        """The summary's phrase for the trials it stopped early (None: it stops none)."""
        return f"{count} stopped early by {self.title}" if self.stop_label else None
