"""The discovered schedule as an answer: a replay study of a PBT (or PB2) study's winner.

The winner's curve is its lineage, and its ``config.json`` records every change of
settings along it with its epoch (:mod:`harness.lineage`).  The replay study runs that
schedule afresh from epoch 0 -- the winner's settings of epoch 1, each change at its epoch
(:class:`harness.policies.replay.ReplayScheduler`) -- with ``--seeds`` seeds as replicates,
so the discovered schedule is a result that can be rerun and compared at equal epochs.
Built only from what the trials wrote, never from Tune's pickles.
"""

from __future__ import annotations

from typing import Any

from harness.analysis.results import StudyResults
from harness.analysis.tables import best_trials, trials_table
from harness.study import (
    NAME_MAX_LENGTH,
    Study,
    apply_study_overrides,
    check_name_length,
    refuse_unread_settings,
    validate_study,
)
from harness.trialconfig import ResolvedConfig
from snas.errors import UserInputError

REPLAY_SUFFIX = "-replay"


def _schedule(resolved: ResolvedConfig, section: str) -> list[dict[str, Any]]:
    """The winner's changes as a replay's schedule: new values by epoch, space-style keys."""
    by_epoch: dict[int, dict[str, Any]] = {}
    for change in resolved.changes:
        by_epoch.setdefault(change["epoch"], {}).update(
            {f"{section}.{key}": new for key, (_, new) in change["settings"].items()})
    return [{"epoch": epoch, "settings": settings} for epoch, settings in sorted(by_epoch.items())]


def _first_settings(resolved: ResolvedConfig) -> dict[str, Any]:
    """The winner's settings of epoch 1: its configuration with every change undone."""
    settings = {key: value for key, value in resolved.config.items() if key != "data"}
    for change in resolved.changes:
        for key in change["settings"]:
            node = settings
            *path, last = key.split(".")
            for part in path:
                node = node[part]
            node[last] = resolved.setting_at(key, 1)
    return settings


def replay_study(source: StudyResults, seeds: int, overrides: list[str]) -> Study:
    """The replay study of ``source``'s winner, with seeds ``0 .. seeds - 1``."""
    src = source.study
    if not src.scheduler.copies_trials:
        raise UserInputError(f"{source.path} ran with scheduler {src.scheduler.name}; replay follows the schedule a "
                             f"population (scheduler pbt or pb2) discovered")
    winners = best_trials(trials_table(source), source, 1)
    if not winners:
        raise UserInputError(f"no trial of {source.path} has an intact record of {src.metric}; nothing to replay")
    winner = next(trial for trial in source.trials if trial.trial_id == winners[0]["trial_id"])
    if winner.resolved is None:
        raise UserInputError(f"trial {winner.trial_id} of {source.path} recorded no settings (config.json, written "
                             f"since 0.2); its schedule cannot be replayed")
    section = src.trial_kind.section
    schedule = _schedule(winner.resolved, section)
    name = f"{src.name}{REPLAY_SUFFIX}"
    data: dict[str, Any] = {
        "name": name,
        "description": f"the schedule trial {winner.trial_id} of {source.path} followed (its lineage's changes of "
                       f"settings), replayed from epoch 0 with {seeds} seed(s):",
        "data": src.data.model_dump(mode="json"),
        **src.trial_kind.nest(_first_settings(winner.resolved)),
        "space": {f"{section}.seed": {"grid": list(range(seeds))}},
        "objective": (src.objective.model_dump(mode="json") if not isinstance(src.objective, list)
                      else [term.model_dump(mode="json") for term in src.objective]),
        "searcher": {"name": "grid"},
        "scheduler": {"name": "replay", "schedule": schedule, "source": f"{source.path} trial {winner.trial_id}"},
        "resources": src.resources.model_dump(mode="json"),
        "storage": src.storage.model_dump(mode="json"),
        "failures": src.failures.model_dump(mode="json"),
        "health": src.health.model_dump(mode="json"),
    }
    study = validate_study(apply_study_overrides(data, overrides), name)
    refuse_unread_settings(study, name)
    check_name_length(study, f"{name} (set another name with --set name=NAME)", NAME_MAX_LENGTH + len(REPLAY_SUFFIX))
    return study.resolved()


def describe_schedule(study: Study) -> list[str]:
    """One line per change of a replay study's schedule."""
    changes = study.scheduler.scheduled_changes(study.trial_kind.section)
    return [f"  after epoch {epoch}: " + ", ".join(f"{key} = {value:.4g}" if isinstance(value, float)
                                                 else f"{key} = {value}" for key, value in settings.items())
            for epoch, settings in changes]
