"""The Tune side of :mod:`harness.tracking`: trial events become the trackers' child runs.

What a trial's run holds:

- params: the varied settings it starts with, by short name (``tau0``, ``seed``), logged
  once when it first starts.  A restart (from its checkpoint, or under PBT from a donor's)
  continues the same run and logs no params again, so MLflow never sees one change.
- per epoch: every numeric metric of its kind (:attr:`harness.kinds.TrialKind.scalar_metrics`)
  and, as ``setting.<short name>``, each setting its scheduler may change mid-run
  (:meth:`harness.policies.base.Scheduler.changing_settings`: PBT's mutations, a replayed
  schedule's settings) at the value the epoch trained with.
  A restarted trial reports some epochs again: MLflow logs them again at the same step, W&B,
  whose step may only grow, keeps the first (:mod:`harness.tracking.wandb`).
- at its end: its genotype (``genotype/genotype.json``, ``cells.png``, ``cells.svg``) for a
  kind that derives one.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from ray import tune

from harness.study import Study
from harness.tensorboard import run_name, run_settings
from harness.tracking.trackers import StudyTracking
from snas.catalogue import GENOTYPE_FILE

CHANGING_PREFIX = "setting."
"""Where a setting that may change mid-run is logged among a trial's metrics."""


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def write_genotype_files(text: str, folder: Path, title: str) -> bool:
    """``genotype.json`` and the cells' drawing (PNG, SVG) of the genotype ``text`` spells, in
    ``folder``; False when ``text`` spells none (or a malformed one: a trial's report, not
    something to stop the study over)."""
    import json

    from snas.draw import draw_genotype
    from snas.genotype import GenotypeError
    from snas.spaces import parse_genotype

    try:
        genotype = parse_genotype(text)
    except GenotypeError:
        return False
    if genotype is None:
        return False
    (folder / GENOTYPE_FILE).write_text(json.dumps(genotype.to_dict(), indent=2) + "\n", encoding="utf-8")
    draw_genotype(genotype, folder / "cells.png", title=title)
    return True


class TrackingEvents(tune.Callback):
    """Feeds a :class:`StudyTracking` from the driver.  Pickled with the tuner (``tuner.pkl``)
    without its live runs: a restored tuner gets a fresh callback (:func:`harness.tuner.restore_tuner`)."""

    def __init__(self, study: Study, tracking: StudyTracking):
        self.study = study
        self.tracking: StudyTracking | None = tracking
        kind = study.trial_kind
        self.names, self.distinct = run_settings(study)
        changing = study.scheduler.changing_settings()
        named = kind.short_names(list(study.space) + [key for key in changing if key not in study.space])
        self.changing = {key: named[key] for key in changing}
        self.schedule = study.scheduler.scheduled_changes(kind.section)
        self.started: dict[str, dict[str, Any]] = {}
        """Trials with a run, each with the values it started with of the scheduled settings."""
        self.run_names: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "tracking": None, "started": {}, "run_names": {}}

    def _scheduled_start(self, config: dict[str, Any]) -> dict[str, Any]:
        """A trial's starting values of the settings a schedule changes (they are not in its config)."""
        keys = [key for key in self.changing if key not in config]
        if not keys:
            return {}
        resolved = self.study.trial_config_of(config).model_dump(mode="json", by_alias=True)
        section = self.study.trial_kind.section
        return {key: _dotted(resolved, key.removeprefix(f"{section}.")) for key in keys}

    def _changing_values(self, trial: Any, epoch: int) -> dict[str, float]:
        """The value each changing setting had in ``epoch``: from the trial's config (PBT) or
        its start and the schedule's changes made before that epoch (a replay)."""
        config = dict(trial.config or {})
        section = self.study.trial_kind.section
        values = {}
        for key, name in self.changing.items():
            value = config.get(key, self.started[trial.trial_id].get(key))
            for done, settings in self.schedule:
                value = settings.get(key.removeprefix(f"{section}."), value) if done < epoch else value
            if (number := _number(value)) is not None:
                values[CHANGING_PREFIX + name] = number
        return values

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self.tracking is None or trial.trial_id in self.started:
            return
        config = dict(trial.config or {})
        self.started[trial.trial_id] = self._scheduled_start(config)
        params = {self.names[key]: config[key] for key in self.names if key in config}
        name = self.run_names[trial.trial_id] = run_name(self.names, config, str(trial.trial_id), self.distinct)
        self.tracking.each("start_trial", trial.trial_id, name, params)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        epoch = result.get("epoch")
        if self.tracking is None or epoch is None or trial.trial_id not in self.started:
            return
        values = {name: number for name in self.study.trial_kind.scalar_metrics
                  if (number := _number(result.get(name))) is not None}
        values.update(self._changing_values(trial, int(epoch)))
        self.tracking.each("log_epoch", trial.trial_id, int(epoch), values)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._end(trial, failed=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._end(trial, failed=True)

    def _end(self, trial: Any, failed: bool) -> None:
        if self.tracking is None or trial.trial_id not in self.started:
            return
        text = (trial.last_result or {}).get("genotype")
        if self.study.trial_kind.derives_genotype and isinstance(text, str):
            with tempfile.TemporaryDirectory(prefix="snas-genotype-") as folder:
                if write_genotype_files(text, Path(folder), title=self.run_names[trial.trial_id]):
                    self.tracking.each("attach", trial.trial_id, Path(folder), "genotype")
        self.tracking.each("end_trial", trial.trial_id, failed)
        self.started.pop(trial.trial_id, None)
        self.run_names.pop(trial.trial_id, None)


def _dotted(settings: dict[str, Any], key: str) -> Any:
    """The value at dotted ``key`` of nested ``settings`` (None where a part is missing)."""
    node: Any = settings
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node
