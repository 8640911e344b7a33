"""What a trial is handed, and what it writes of the settings it really ran with.

The driver validates the study once (:mod:`harness.study`) and hands every trial a
:class:`TrialSpec`: its kind, the study's base settings and named genotypes, and the
few study sections a trial reads (resources, checkpoints, failures, faults).  A trial
builds its own configuration from it and its varied settings -- the one validation a
trial's settings get where it runs.

Each trial writes that resolved configuration into its folder as ``config.json``, with
every change of settings it took mid-run and the epoch it took effect (a scheduler such
as population-based training changes them, :meth:`snas.run.EpochRun.retune`).  The
offline analysis reads it there instead of re-deriving each trial's settings through
the study; folders from before it existed are read the old way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.kinds import KINDS, TrialKind
from harness.lineage import are_exploits

if TYPE_CHECKING:
    from harness.kinds import TrialConfig
    from harness.lineage import Lineage
    from harness.study import Study
    from harness.study.schema import FaultsConfig, ResourcesConfig
    from snas.run import EpochRun


@dataclass(frozen=True)
class TrialSpec:
    """Everything a trial needs of its study (picklable: Tune hands it to every trial)."""

    kind_name: str
    base: dict[str, Any]
    """The settings every trial starts from, nested, ``data`` included."""
    genotypes: dict[str, Any]
    resources: ResourcesConfig
    checkpoint_every: int
    keep_checkpoints: int
    max_failures: int
    faults: FaultsConfig
    records_lineage: bool = False
    """Whether its checkpoints say which trial saved them (:mod:`harness.lineage`): a
    population-based scheduler may continue it from another trial's."""
    scheduled: tuple[tuple[int, dict[str, Any]], ...] = ()
    """Changes of settings it takes at fixed epochs (a replayed schedule,
    :meth:`harness.policies.base.Scheduler.scheduled_changes`)."""

    @classmethod
    def of(cls, study: Study) -> TrialSpec:
        return cls(study.kind, study.base_settings(), dict(study.genotypes), study.resources, study.checkpoint_every,
                   study.keep_checkpoints, study.failures.max_failures, study.faults, study.scheduler.copies_trials,
                   study.scheduler.scheduled_changes(study.trial_kind.section))

    @property
    def kind(self) -> TrialKind:
        return KINDS[self.kind_name]

    def config_of(self, params: dict[str, Any]) -> TrialConfig:
        """The configuration of the trial whose varied settings are ``params``."""
        return self.kind.trial_config(self.base, params, self.genotypes)


def resolved_config_text(kind: str, loop: EpochRun, lineage: Lineage | None = None) -> str:
    """``config.json``: the trial's kind, the configuration it runs with now, every change of
    settings it took (``{"epoch": e, "settings": {key: [old, new]}}``, in effect from epoch
    ``e + 1``) and, where its state was copied from other trials, its ``lineage`` and its own
    ``exploits`` (:class:`harness.lineage.Lineage`)."""
    record: dict[str, Any] = {"kind": kind, "config": loop.config.model_dump(mode="json", by_alias=True),
                              "changes": loop.changes}
    if lineage is not None and (lineage.copies or lineage.exploits):
        record.update(lineage=lineage.copies, exploits=lineage.exploits)
    return json.dumps(record, indent=2) + "\n"


@dataclass(frozen=True)
class ResolvedConfig:
    """A trial's ``config.json``, checked as far as the analysis reads it."""

    kind: str
    config: dict[str, Any]
    changes: list[dict[str, Any]]
    lineage: list[dict[str, Any]] = field(default_factory=list)
    """The copies its final state went through (:mod:`harness.lineage`)."""
    exploits: list[dict[str, Any]] = field(default_factory=list)
    """The copies the trial made itself."""

    @property
    def epochs(self) -> int:
        return int(self.config["epochs"])

    def setting(self, dotted: str) -> Any:
        """The value of a dotted setting (``resource.method``), ``None`` when absent."""
        node: Any = self.config
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


    def setting_at(self, dotted: str, epoch: int) -> Any:
        """The value of a dotted setting in force during epoch ``epoch`` (1-based, as reported):
        the current one with every change that took effect at or after that epoch undone."""
        value = self.setting(dotted)
        for change in reversed(self.changes):
            if change["epoch"] >= epoch and dotted in change["settings"]:
                value = change["settings"][dotted][0]
        return value


def parse_resolved_config(value: dict[str, Any]) -> ResolvedConfig:
    """``config.json``'s object, refused (:class:`ValueError`) unless it is what trials write."""
    kind, config, changes = value.get("kind"), value.get("config"), value.get("changes", [])
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"its kind is {kind!r}, not {' or '.join(KINDS)}")
    if not isinstance(config, dict):
        raise ValueError("its config is not a mapping")
    epochs = config.get("epochs")
    if not (isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1):
        raise ValueError(f"its epochs is {epochs!r}, not a whole number of at least 1")
    if not isinstance(changes, list) or not all(_is_change(change) for change in changes):
        raise ValueError("its changes are not a list of {epoch, settings} records")
    lineage, exploits = value.get("lineage", []), value.get("exploits", [])
    for name, records in (("lineage", lineage), ("exploits", exploits)):
        if not are_exploits(records):
            raise ValueError(f"its {name} is not a list of {{epoch, donor}} records")
    return ResolvedConfig(kind, config, changes, lineage, exploits)


def _is_change(change: Any) -> bool:
    return (isinstance(change, dict) and isinstance(change.get("epoch"), int)
            and isinstance(change.get("settings"), dict))
