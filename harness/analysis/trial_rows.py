"""A trial's row of the trials table, and a winner's record, in plain Python.

The trials table (:func:`harness.analysis.tables.trials_table`) is these rows as a
DataFrame; `status` and `best` build only the rows they print, from here, so that they
start without importing pandas (a third of a second, half of `status` on a small study).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

from harness.analysis.results import StudyResults, TrialRecord
from harness.endings import DIVERGED, ending_of
from harness.policies.pbt import EXPLOITS_COLUMN
from harness.study import Study
from snas.genotype import GenotypeError, genotype_id
from snas.spaces import genotype_from_dict, parse_genotype

Scope = Literal["last", "best"]
Row = dict[str, Any]
DONORS_COLUMN = "donors"
"""The trials table's column of the trials a population-based trial copied, in order."""


def genotype_text(trial: TrialRecord) -> str | None:
    """The last epoch's genotype, else (a retraining, or a search that reported none) genotype.json's."""
    reported = trial.last.get("genotype")
    if isinstance(reported, str):
        return reported
    if trial.genotype_json is not None:
        return str(genotype_from_dict(trial.genotype_json))
    return None


@functools.lru_cache(maxsize=65536)
def genotype_id_of(text: str) -> str | None:
    """The :func:`snas.genotype.genotype_id` of a genotype's text; ``None`` when it cannot be
    read (remembered: the trials of a study derive many of the same cells)."""
    try:
        return genotype_id(parse_genotype(text))
    except GenotypeError:
        return None


def stop_reason(trial: TrialRecord, study: Study) -> str | None:
    """Why the trial did not run to its last epoch (:mod:`harness.endings`: ``diverged``,
    ``collapse (skip_connect 4 > 2)``, the scheduler's label); ``None`` when it did, or has
    not ended."""
    if trial.diverged:
        return DIVERGED
    if trial.state != "TERMINATED":
        return None
    return ending_of(trial.last, trial.epochs, trial.configured_epochs, study).reason


def as_float(value: Any) -> float:
    """A reported value as a float; NaN when absent or not a number (a damaged report)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def score(rows: list[Row], metric: str, scope: Scope, mode: str) -> float:
    """The trial's ranking value: ``metric`` at the last epoch, or its best over epochs
    (NaN when no epoch reported it)."""
    if not any(metric in row for row in rows):
        return math.nan
    values = [as_float(row.get(metric)) for row in rows]
    if scope == "last":
        return values[-1]
    reported = [value for value in values if not math.isnan(value)]
    if not reported:
        return math.nan
    return max(reported) if mode == "max" else min(reported)


def lineage_columns(trials: list[TrialRecord]) -> dict[str, dict[str, Any]]:
    """``{column: {trial id: value}}``: how many times each trial exploited another, and the
    donors it copied, in order (trials of older versions, which recorded none, left empty)."""
    made = {trial.trial_id: trial.resolved.exploits for trial in trials if trial.resolved is not None}
    return {EXPLOITS_COLUMN: {trial_id: len(exploits) for trial_id, exploits in made.items()},
            DONORS_COLUMN: {trial_id: " ".join(e["donor"] for e in exploits) or None
                            for trial_id, exploits in made.items()}}


def trial_rows(results: StudyResults, metric: str | None = None, scope: Scope = "last") -> list[Row]:
    """One row per trial of ``results``, in their order: varied settings, outcome,
    accuracies, architecture size, cost (the searcher's and scheduler's columns, such as
    Optuna's trial numbers, ``None`` where a trial has none)."""
    study = results.study
    metric = metric or study.metric
    names = study.trial_kind.short_names(list(study.space))
    summary, sizes = study.trial_kind.summary_metrics, study.trial_kind.size_metrics
    searcher_columns = study.searcher.trial_columns(results.path, study.name)
    scheduler_columns = lineage_columns(results.trials) if study.scheduler.copies_trials else {}
    rows = []
    for trial in results.trials:
        curve, last = trial.rows, trial.last
        row: Row = {"trial_id": trial.trial_id}
        row.update({column: values.get(trial.trial_id) for column, values in searcher_columns.items()})
        row.update({names[k]: trial.config.get(k) for k in study.space})
        row.update({column: values.get(trial.trial_id) for column, values in scheduler_columns.items()})
        row.update({
            "state": trial.state, "stopped_early": trial.stopped_early, "diverged": trial.diverged,
            "epochs": trial.epochs, "configured_epochs": trial.configured_epochs,
            "score": score(curve, metric, scope, study.mode),
        })
        for m in summary:
            row[f"final_{m}"] = as_float(last.get(m))
            row[f"best_{m}"] = score(curve, m, "best", "min" if m.endswith("loss") else "max")
        row.update({m: as_float(last.get(m)) for m in sizes})
        if study.multi_objective:  # the front's axes (harness.analysis.front)
            row.update({m: as_float(last.get(m)) for m in study.constraints})
            row.update({t.metric: score(curve, t.metric, scope, t.mode) for t in study.objectives})
        row["genotype"] = genotype_text(trial)
        row["genotype_id"] = genotype_id_of(row["genotype"]) if row["genotype"] else None
        row["stop_reason"] = stop_reason(trial, study)
        row["wall_time_s"] = as_float(last.get("time_total_s"))
        row.update({"num_failures": trial.num_failures, "error": trial.error, "checkpoint": trial.checkpoint,
                    "trial_path": str(trial.path), "damaged": trial.damaged,
                    "damage": "; ".join(f"{d.path.name}: {d.problem}" for d in trial.damage) or None})
        rows.append(row)
    return rows


def winner_record(trial: TrialRecord, rank: int, row: Row) -> dict[str, Any]:
    """What a winner (rank ``rank``, its trials-table ``row``) is reported and retrained with."""
    return {
        "rank": rank,
        "trial_id": trial.trial_id,
        "score": row["score"],
        "config": trial.config,
        "metrics": {key: value for key, value in trial.last.items() if _jsonable(value)},
        "genotype": row["genotype"],
        "genotype_id": row["genotype_id"],
        "genotype_json": trial.genotype_json,
        "checkpoint": trial.checkpoint,
    }


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None
