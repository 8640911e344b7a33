"""What decides which trials run and which stop: searchers and schedulers as objects.

A study's ``searcher:`` and ``scheduler:`` sections are each validated into one of these
objects (chosen by ``name`` from :data:`harness.policies.SEARCHERS` /
:data:`harness.policies.SCHEDULERS`).  The object is its own settings model and owns
everything the harness needs of it: its checks against the study's space, the Tune object
it builds, how a trial it stops is labelled, and what it adds to the analysis.  The
harness asks the object instead of testing ``searcher.name``; adding a searcher or a
scheduler is one module and one registry entry.

A policy is given what it needs (the study's space, its objective, its epochs) rather than
the study itself, so the study model can hold policies without the two importing each
other.  Ray is imported only where a Tune object is built, so reading a study folder
never loads it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from harness.domain import Space, grid_size
from snas.configmodel import Frozen

if TYPE_CHECKING:
    from harness.trialplan import TrialPlan


@dataclass(frozen=True)
class Objective:
    """What a searcher optimises: the study's ranking metric and its direction, and its name;
    for a multi-objective study, every objective and the constraints on other metrics."""

    metric: str
    mode: str
    study_name: str
    others: tuple[tuple[str, str], ...] = ()
    """The objectives after the first, ``(metric, mode)`` each."""
    constraints: tuple[tuple[str, str, float], ...] = ()
    """``(metric, "max" or "min", bound)``: a feasible trial reports ``metric`` within each bound."""

    @property
    def metrics(self) -> list[str]:
        return [self.metric, *(metric for metric, _ in self.others)]

    @property
    def modes(self) -> list[str]:
        return [self.mode, *(mode for _, mode in self.others)]


class Policy(Frozen, ABC):
    """A searcher or scheduler: its settings as fields, its behaviour as methods."""

    name: str
    title: ClassVar[str]
    """How messages and summaries name it (``ASHA``, ``Optuna's TPE``)."""
    several_objectives: ClassVar[str | None] = None
    """Why it cannot serve a study with a list objective, with the alternative to use; None:
    it can (it proposes or stops trials without ranking them by one metric)."""

    def check(self, space: Space) -> None:
        """Raise :class:`ValueError` (naming the keys) when it cannot run a study of ``space``."""
        return None


class Searcher(Policy):
    """Proposes the trials' settings."""

    num_samples: int = Field(1, ge=1)
    seed: int = Field(0, ge=0)
    points_to_evaluate: list[dict[str, Any]] = []

    column_titles: ClassVar[dict[str, str]] = {}
    """The columns :meth:`trial_columns` adds, with the title ``status`` shows each under."""
    state_glob: ClassVar[str | None] = None
    """The JSON file its search algorithm saves its state to in the study folder (Tune's
    save/restore hooks), which ``resume`` needs; None: Tune's own pickles."""
    learns_from_results: ClassVar[bool] = False
    """Whether it proposes trials from the results so far (a Tune ``SearchGenerator``): a
    population-based scheduler, which copies and perturbs trials itself, refuses such a searcher."""
    carries_derived_settings: ClassVar[bool] = True
    """Whether its trials' configs can carry settings Tune derives from the varied ones (a
    retrain study's genotype origins, :func:`harness.tuner.origin_fields`)."""

    def check(self, space: Space) -> None:
        """Every point run first is a trial the study could have proposed."""
        for point in self.points_to_evaluate:
            unknown = set(point) - set(space)
            if unknown:
                raise ValueError(f"searcher.points_to_evaluate uses keys not in space: {', '.join(sorted(unknown))}")
        self._check_order(space)
        for index, point in enumerate(self.points_to_evaluate):
            for key, value in point.items():
                problem = space[key].problem_with(value)
                if problem:
                    raise ValueError(f"searcher.points_to_evaluate[{index}].{key}: {problem}")

    def check_saved_state(self, state: dict[str, Any]) -> None:
        """Raise :class:`ValueError` saying what is wrong with the state ``resume`` would
        restore its search algorithm from (the JSON object in :attr:`state_glob`)."""
        return None

    def _check_order(self, space: Space) -> None:
        """Where this searcher's order of trials conflicts with ``points_to_evaluate``."""
        return None

    def expected_trials(self, space: Space) -> int:
        """Trials a study of ``space`` runs: each grid combination ``num_samples`` times."""
        return grid_size(space) * self.num_samples

    @abstractmethod
    def plan(self, space: Space, derived: dict[str, Any]) -> TrialPlan:
        """The study's trials as Tune is given them; ``derived``: Tune domains of settings each
        trial's config carries beside the varied ones (:func:`harness.tuner.origin_fields`)."""

    @abstractmethod
    def build(self, space: Space, plan: TrialPlan, objective: Objective, experiment_path: str,
              max_concurrent: int | None) -> Any:
        """Tune's search algorithm for a study of ``space`` (its folder at ``experiment_path``),
        running at most ``max_concurrent`` trials at once (None: as many as the resources allow)."""

    def limits_concurrency(self) -> bool:
        """Whether its search algorithm enforces ``max_concurrent`` itself (else Tune's
        ``max_concurrent_trials`` does, which Tune ignores for a variant generator)."""
        return False

    @abstractmethod
    def settings_are_distinct(self, space: Space) -> bool:
        """Whether no two trials can share their varied settings (then a trial is named by them)."""

    def trial_columns(self, folder: Path, study_name: str) -> dict[str, dict[str, Any]]:
        """Columns it adds to the trials table and ``status``: ``{column: {trial id: value}}``."""
        return {}


@dataclass(frozen=True)
class TrialFacts:
    """What a scheduler that continues trials under new settings checks a study against."""

    section: str
    """Where the trials' settings live in the study (``search``): the space keys' prefix."""
    mutable_settings: tuple[str, ...]
    """The settings (relative to ``section``) a trial may change between epochs."""
    checkpoint_every: int
    workers: int
    searcher: Searcher


@dataclass(frozen=True)
class Budget:
    """The trials' epochs, as a scheduler's epochs of action are checked against them (for a
    study a user hands in: a study folder is read as it ran)."""

    section: str
    """Where the trials' settings live (``search``)."""
    first: int
    """The first trial's epochs: what Tune's scheduler is built for (:attr:`Study.epochs`)."""
    most: int
    """The longest trial's epochs."""
    varied: bool
    """Whether the space varies the epochs."""

    def first_named(self) -> str:
        """``search.epochs 8`` for the first trial, saying whose where the space varies them."""
        return f"{self.section}.epochs {self.first}" + (", the first trial's" if self.varied else "")

    def most_named(self) -> str:
        """``search.epochs 8`` for the longest trial, saying whose where the space varies them."""
        return f"{self.section}.epochs {self.most}" + (", the longest trial's" if self.varied else "")


class Scheduler(Policy):
    """Decides when trials stop (and, for some, how they continue)."""

    stop_label: ClassVar[str | None] = None
    """What a trial it stopped before its last epoch is labelled (``ASHA``); None: it stops none."""
    plots: ClassVar[tuple[str, ...]] = ()
    """Plots of :data:`harness.analysis.plots.PLOTS` that it adds to the analysis."""
    column_titles: ClassVar[dict[str, str]] = {}
    """Columns of the trials table that ``status`` shows, with the title it shows each under."""
    copies_trials: ClassVar[bool] = False
    """Whether it continues trials from other trials' checkpoints (population-based training):
    its trials then record where their state came from (:mod:`harness.lineage`), and the
    analysis adds their lineage (:mod:`harness.analysis.population`)."""
    space_keys: ClassVar[tuple[str, ...]] = ()
    """Space keys outside the trials' settings that it reads off each trial's config (the
    trials ignore them)."""

    @abstractmethod
    def build(self, epochs: int, data_parallel: bool, objective: Objective) -> Any:
        """Tune's trial scheduler for trials of ``epochs`` epochs (``data_parallel``: on Ray
        Train workers, whose reports count epochs in ``epoch`` only) of a study that optimises
        ``objective`` (most take its first metric from Tune's ``TuneConfig``)."""

    def check_trials(self, space: Space, trials: TrialFacts) -> None:
        """Raise :class:`ValueError` (naming the keys) when it cannot run trials such as ``trials``."""
        return None

    def check_budget(self, budget: Budget) -> None:
        """Raise :class:`ValueError` (naming the keys) when it would act at no epoch the trials run."""
        return None

    def scheduled_changes(self, section: str) -> tuple[tuple[int, dict[str, Any]], ...]:
        """Changes of settings every trial takes at fixed epochs: ``(epochs done, {setting
        relative to section: value})`` (a replayed schedule); none for most."""
        return ()

    def changing_settings(self) -> tuple[str, ...]:
        """The settings (dotted, as the space writes them) it changes in a running trial: in
        the trial's config (PBT's mutations) or at fixed epochs (:meth:`scheduled_changes`).
        Trackers log them per epoch, not once (:mod:`harness.tracking.callback`)."""
        return ()

    def checkpoint_interval(self) -> int | None:
        """The epochs between the checkpoints it needs (a study that names no ``checkpoint_every``
        takes it); None: it needs none of its own."""
        return None

    def stopped_summary(self, count: int) -> str | None:
        """The summary's phrase for the trials it stopped early (None: it stops none)."""
        return f"{count} stopped early by {self.title}" if self.stop_label else None
