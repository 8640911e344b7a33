"""Reading a study folder without starting Ray and without running anything it holds.

The trials' ids, states, configs and failure counts come from Tune's experiment state,
read as plain JSON by :mod:`harness.analysis.tune_state` (never through Ray, which would
unpickle it); their curves, genotypes and errors from their folders, read by
:mod:`harness.analysis.trial_files`.  A study that is still running, or whose driver was
killed before Tune saved its state, is read from the trial folders alone, and the result
says it is partial.  Every damaged file is logged once as a warning and marks its trial
``damaged``; a trial whose curve or settings could not be read intact is left out of the
rankings, and the notes say so.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.analysis.gc_pause import gc_paused
from harness.analysis.trial_cache import TrialCache
from harness.analysis.trial_files import Damage, read_trial_files
from harness.analysis.tune_state import (
    UNKNOWN_STATE,
    DamagedState,
    TuneTrial,
    newest_state_file,
    read_tune_state,
)
from harness.study import Study
from harness.studyfolder import PARAMS_FILE, read_study, trial_folder_name, trial_id_of
from harness.trialconfig import ResolvedConfig
from snas.errors import UserInputError

log = logging.getLogger(__name__)
FINAL_STATES = ("TERMINATED", "ERROR")


@dataclass
class TrialRecord:
    """One trial as the analysis sees it."""

    trial_id: str
    state: str
    config: dict[str, Any]
    path: Path
    rows: list[dict[str, Any]]
    """Its curve: one row per reported epoch, every reported value."""
    num_failures: int = 0
    error: str | None = None
    checkpoint: str | None = None
    configured_epochs: int | None = None
    genotype_json: dict[str, Any] | None = None
    """The trial's ``genotype.json``, validated; ``None`` when missing or damaged."""
    resolved: ResolvedConfig | None = None
    """The settings the trial ran with (its ``config.json``); ``None`` in folders of older versions."""
    damage: list[Damage] = field(default_factory=list)
    ranked: bool = True
    """False when its curve or settings could not be read intact: its score is not trusted."""

    @property
    def damaged(self) -> bool:
        return bool(self.damage)

    @property
    def last(self) -> dict[str, Any]:
        """Its last reported epoch (empty when it reported none)."""
        return self.rows[-1] if self.rows else {}

    @property
    def epochs(self) -> int:
        return max(row["training_iteration"] for row in self.rows) if self.rows else 0

    @property
    def diverged(self) -> bool:
        return self.last.get("diverged") is True

    @property
    def stopped_early(self) -> bool:
        """Terminated before its last epoch without diverging: the scheduler (ASHA) or the
        study's ``stop:`` section stopped it (:func:`harness.analysis.trial_rows.stop_reason` tells which).

        Tune marks both completed and early-stopped trials TERMINATED; the epoch count tells.
        """
        return (self.state == "TERMINATED" and not self.diverged and self.configured_epochs is not None
                and self.epochs < self.configured_epochs)


@dataclass
class StudyResults:
    study: Study
    path: Path
    trials: list[TrialRecord]
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    """Every damaged file of the folder, the trials' included."""
    _settings: dict[str, dict[str, Any] | None] = field(default_factory=dict, repr=False)

    def settings_of(self, trial_id: str) -> dict[str, Any] | None:
        """The settings trial ``trial_id`` ran with, as a nested mapping: its ``config.json``,
        else (a folder of an older version) derived from its varied settings through the
        study; None when neither can be read."""
        if not self._settings:
            self._settings = {trial.trial_id: _settings(self.study, trial) for trial in self.trials}
        return self._settings.get(trial_id)

    def data_of(self, trial_id: str) -> dict[str, Any] | None:
        """The data settings of trial ``trial_id`` (:meth:`settings_of`)."""
        settings = self.settings_of(trial_id)
        return None if settings is None else settings.get("data")

    @property
    def finished(self) -> bool:
        return not self.partial and len(self.trials) >= self.study.expected_trials() and all(
            t.state in FINAL_STATES for t in self.trials)


def _settings(study: Study, trial: TrialRecord) -> dict[str, Any] | None:
    if trial.resolved is not None:
        return trial.resolved.config
    try:
        return study.trial_config_of(trial.config).model_dump(mode="json", by_alias=True)
    except (UserInputError, ValidationError):  # named as the trial's damage already
        return None


def _listed_trials(path: Path, damage: list[Damage], cache: TrialCache) -> list[TuneTrial] | None:
    """The trials of Tune's experiment state, then any trial folder it does not list yet
    (created after Tune last saved it); ``None`` when there is no readable state."""
    state_file = newest_state_file(path)
    if state_file is None:
        return None
    try:
        listed = cache.tune_state(state_file, read_tune_state)
    except DamagedState as err:
        damage.append(Damage(state_file, f"{err}; the trials are read from their folders"))
        return None
    named = {trial.dir_name or trial_folder_name(trial.trial_id) for trial in listed}
    return listed + [trial for trial in _from_folders(path) if trial.dir_name not in named]


def _from_folders(path: Path) -> list[TuneTrial]:
    """A trial per ``trial_*`` entry, whatever it is: one that is not a real folder is then
    named as its trial's damage (:func:`read_trial_files`)."""
    pattern = trial_folder_name("*")
    names = sorted(entry.name for entry in os.scandir(path) if fnmatch.fnmatchcase(entry.name, pattern))
    return [TuneTrial(trial_id=trial_id_of(name), state=UNKNOWN_STATE, dir_name=name, config=None, num_failures=0)
            for name in names]


def _trial_record(study: Study, path: Path, listed: TuneTrial, cache: TrialCache) -> TrialRecord:
    folder = path / (listed.dir_name or trial_folder_name(listed.trial_id))
    files = cache.read(folder, listed.state not in FINAL_STATES, read_trial_files)
    config = listed.config if listed.config is not None else files.params
    record = TrialRecord(
        trial_id=listed.trial_id, state=listed.state, config=config or {}, path=folder, rows=files.rows,
        num_failures=listed.num_failures, error=files.error,
        checkpoint=None if files.checkpoint is None else str(files.checkpoint),
        genotype_json=files.genotype, resolved=files.resolved, damage=files.damage,
        ranked=files.curve_trusted and config is not None,
    )
    if not files.opened:
        return record
    if files.resolved is not None:  # the settings the trial wrote it ran with
        record.configured_epochs = files.resolved.epochs
        return record
    try:  # a folder of an older version: its settings re-derived through the study
        record.configured_epochs = int(study.trial_config_of(record.config).epochs)
    except (UserInputError, ValidationError) as err:
        record.damage.append(Damage(folder / PARAMS_FILE, f"settings the study cannot use ({err})"))
        record.ranked = False
    return record


def load_results(path: str | Path, study: Study | None = None) -> StudyResults:
    """Everything the analysis needs from a (local) study folder; each damaged file is
    logged once as a warning.  ``study``: the folder's study when the caller has already
    read it (``run`` and ``resume``), so ``study.yaml`` is read and validated once."""
    path = Path(path).expanduser().absolute()
    if path.is_file():
        raise UserInputError(f"{path} is a file; give the study folder `snas-study run` created, "
                             f"e.g. results/<study name>")
    if not path.is_dir():
        raise UserInputError(f"study folder {path} does not exist (give the folder `snas-study run` created, "
                             f"e.g. results/<study name>)")
    study = read_study(str(path)) if study is None else study
    with gc_paused():  # millions of acyclic objects (:mod:`harness.analysis.gc_pause`)
        damage: list[Damage] = []
        cache = TrialCache.load(path)
        listed = _listed_trials(path, damage, cache)
        read = _from_folders(path) if listed is None else listed
        trials = [_trial_record(study, path, trial, cache) for trial in read]
        cache.save()
    notes = []
    partial = listed is None
    if listed is None:
        if damage:  # the state file exists but cannot be read: the warning names what is wrong with it
            notes.append(f"Tune's experiment state {damage[0].path.name} is damaged: trial states are unknown, "
                         f"the trials are read from their folders and the analysis is partial")
        else:
            notes.append("Tune's experiment state is missing: the study is starting, or its driver was killed "
                         "before saving it; trial states are unknown and the analysis is partial")
    for trial in trials:
        damage += trial.damage
    for problem in damage:
        log.warning("%s", problem)
    unfinished = sorted({t.state for t in trials if t.state not in FINAL_STATES})
    if unfinished and not partial:
        count = sum(t.state not in FINAL_STATES for t in trials)
        notes.append(f"{count} trial(s) have not ended ({', '.join(unfinished)}): the study is running or was "
                     "interrupted; the analysis covers what they reported so far")
        partial = True
    if len(trials) < study.expected_trials():
        notes.append(f"{len(trials)} of {study.expected_trials()} trials exist so far")
        partial = True
    damaged = [t for t in trials if t.damaged]
    if damaged:
        unranked = [t.trial_id for t in damaged if not t.ranked]
        outcome = (f"left out of the rankings, their curves or settings not being intact: {', '.join(unranked)}"
                   if unranked else "their curves and settings were read intact, so they stay ranked")
        notes.append(f"{len(damaged)} trial(s) have damaged files (named in the warnings; column 'damage'); {outcome}")
    return StudyResults(study, path, trials, partial, notes, damage)
