"""The Tune side of :mod:`harness.tracking`: trial events become the trackers' child runs.

What a trial's run holds:

- params: the varied settings it starts with, by short name (``tau0``, ``seed``), logged
  once when it first starts.  A restart (from its checkpoint, or under PBT from a donor's)
  continues the same run and logs no params again, so MLflow never sees one change.
- per epoch: every numeric metric of its kind (:attr:`harness.kinds.TrialKind.scalar_metrics`)
  and, as ``setting.<short name>``, each setting its scheduler may change mid-run
  (:meth:`harness.policies.base.Scheduler.changing_settings`) at the value it trained with.
  A restarted trial reports some epochs again: they are logged again at the same step.
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
from harness.tensorboard import run_name
from harness.tracking.trackers import StudyTracking

CHANGING_PREFIX = "setting."
"""Where a setting that may change mid-run is logged among a trial's metrics."""


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def write_genotype_files(text: str, folder: Path, title: str) -> bool:
    """``genotype.json`` and the cells' drawing (PNG, SVG) of the genotype ``text`` spells, in
    ``folder``; False when ``text`` spells none."""
    import json

    from snas.draw import draw_genotype
    from snas.spaces import parse_genotype

    genotype = parse_genotype(text)
    if genotype is None:
        return False
    (folder / "genotype.json").write_text(json.dumps(genotype.to_dict(), indent=2) + "\n", encoding="utf-8")
    draw_genotype(genotype, folder / "cells.png", title=title)
    return True


class TrackingEvents(tune.Callback):
    """Feeds a :class:`StudyTracking` from the driver.  Pickled with the tuner (``tuner.pkl``)
    without its live runs: a restored tuner gets a fresh callback (:func:`harness.tuner.restore_tuner`)."""

    def __init__(self, study: Study, tracking: StudyTracking):
        self.study = study
        self.tracking: StudyTracking | None = tracking
        self.names = study.trial_kind.short_names(list(study.space))
        self.distinct = study.searcher.settings_are_distinct(study.space)
        self.changing = [key for key in study.scheduler.changing_settings() if key in self.names]
        self.started: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "tracking": None, "started": set()}

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self.tracking is None or trial.trial_id in self.started:
            return
        self.started.add(trial.trial_id)
        config = dict(trial.config or {})
        params = {self.names[key]: config[key] for key in self.names
                  if key in config and key not in self.changing}
        name = run_name(self.names, config, str(trial.trial_id), self.distinct)
        self.tracking.each("start_trial", trial.trial_id, name, params)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        epoch = result.get("epoch")
        if self.tracking is None or epoch is None or trial.trial_id not in self.started:
            return
        values = {name: number for name in self.study.trial_kind.scalar_metrics
                  if (number := _number(result.get(name))) is not None}
        config = dict(trial.config or {})
        values.update({CHANGING_PREFIX + self.names[key]: number for key in self.changing
                       if (number := _number(config.get(key))) is not None})
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
                name = run_name(self.names, dict(trial.config or {}), str(trial.trial_id), self.distinct)
                if write_genotype_files(text, Path(folder), title=name):
                    self.tracking.each("attach", trial.trial_id, Path(folder), "genotype")
        self.tracking.each("end_trial", trial.trial_id, failed)
        self.started.discard(trial.trial_id)
