"""Reading a study folder without starting Ray.

Tune's ``ExperimentAnalysis`` reads the experiment state offline (trial ids, states,
configs, failures).  A trial's curve is its loop's own history (``metrics.jsonl``, one line
per epoch of the lineage that led to its last state), joined with Tune's bookkeeping
columns (``time_total_s``, ...) from ``result.json``; folders from before ``metrics.jsonl``
existed are read from ``result.json`` alone.  A study that is
still running, or whose driver was killed before Tune saved its state, is read from the
trial folders alone, and the result says it is partial.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.loop import METRICS_FILE
from harness.study import Study
from harness.studyrun import read_study
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
    curve: pd.DataFrame
    """One row per reported epoch, every reported metric."""
    num_failures: int = 0
    error: str | None = None
    checkpoint: str | None = None
    configured_epochs: int | None = None

    @property
    def epochs(self) -> int:
        return int(self.curve["training_iteration"].max()) if len(self.curve) else 0

    @property
    def diverged(self) -> bool:
        return bool(len(self.curve) and self.curve["diverged"].fillna(False).astype(bool).iloc[-1])

    @property
    def stopped_early(self) -> bool:
        """Terminated before its last epoch without diverging: the scheduler (ASHA) stopped it.

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

    @property
    def finished(self) -> bool:
        return not self.partial and len(self.trials) >= self.study.expected_trials() and all(
            t.state in FINAL_STATES for t in self.trials)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():  # damaged lines are skipped below
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line still being written by a running trial
            continue
    return rows


def _read_curve(trial_dir: Path) -> pd.DataFrame:
    reports = _read_jsonl(trial_dir / "result.json")
    history = _read_jsonl(trial_dir / METRICS_FILE)
    if not history:
        return pd.DataFrame(reports)
    # An epoch re-run after a restart was reported twice: its last report is the kept one.
    report_of_epoch = {row.get("training_iteration"): row for row in reports}
    return pd.DataFrame([
        {**report_of_epoch.get(metrics["epoch"], {}), **metrics, "training_iteration": metrics["epoch"]}
        for metrics in history
    ])


def _read_error(trial_dir: Path) -> str | None:
    path = trial_dir / "error.txt"
    if not path.is_file():
        return None
    lines = [line for line in path.read_text().strip().splitlines() if line.strip()]
    return lines[-1] if lines else "failed (empty error.txt)"


def _latest_checkpoint(trial_dir: Path) -> str | None:
    checkpoints = sorted(trial_dir.glob("checkpoint_*/checkpoint.pt"))
    return str(checkpoints[-1]) if checkpoints else None


def _from_tune_state(path: Path) -> list[tuple[str, str, dict[str, Any], Path, int]] | None:
    if not list(path.glob("experiment_state-*.json")):
        return None
    try:
        from ray.tune import ExperimentAnalysis

        analysis = ExperimentAnalysis(str(path))
    except Exception as err:  # a damaged or half-written state file: fall back to the folders
        log.warning("could not read Tune's experiment state in %s (%s); reading trial folders", path, err)
        return None
    return [(t.trial_id, t.status, dict(t.config), path / Path(t.path).name, t.run_metadata.num_failures)
            for t in analysis.trials]


def _from_folders(path: Path) -> list[tuple[str, str, dict[str, Any], Path, int]]:
    found = []
    for trial_dir in sorted(path.glob("trial_*")):
        params = trial_dir / "params.json"
        config = json.loads(params.read_text()) if params.is_file() else {}
        found.append((trial_dir.name.removeprefix("trial_"), "UNKNOWN", config, trial_dir, 0))
    return found


def load_results(path: str | Path) -> StudyResults:
    """Everything the analysis needs from a (local) study folder."""
    path = Path(path).expanduser().absolute()
    if path.is_file():
        raise UserInputError(f"{path} is a file; give the study folder `snas-study run` created, "
                             f"e.g. results/<study name>")
    if not path.is_dir():
        raise UserInputError(f"study folder {path} does not exist (give the folder `snas-study run` created, "
                             f"e.g. results/<study name>)")
    study = read_study(str(path))
    listed = _from_tune_state(path)
    notes = []
    partial = listed is None
    if partial:
        listed = _from_folders(path)
        notes.append("Tune's experiment state is missing: the study is starting, or its driver was killed "
                     "before saving it; trial states are unknown and the analysis is partial")
    trials = []
    for trial_id, state, config, trial_dir, failures in listed:
        trials.append(TrialRecord(
            trial_id=trial_id, state=state, config=config, path=trial_dir, curve=_read_curve(trial_dir),
            num_failures=failures, error=_read_error(trial_dir), checkpoint=_latest_checkpoint(trial_dir),
            configured_epochs=int(study.trial_config_of(config).epochs),
        ))
    unfinished = sorted({t.state for t in trials if t.state not in FINAL_STATES})
    if unfinished and not partial:
        count = sum(t.state not in FINAL_STATES for t in trials)
        notes.append(f"{count} trial(s) have not ended ({', '.join(unfinished)}): the study is running or was "
                     "interrupted; the analysis covers what they reported so far")
        partial = True
    if len(trials) < study.expected_trials():
        notes.append(f"{len(trials)} of {study.expected_trials()} trials exist so far")
        partial = True
    return StudyResults(study, path, trials, partial, notes)
