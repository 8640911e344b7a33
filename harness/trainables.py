"""The Tune trainables: thin loops around each trial kind's ``snas`` loop (:mod:`harness.kinds`).

Each trial turns its config (the study's base settings plus its varied dotted keys) into a
validated configuration, restores from ``tune.get_checkpoint()`` when Tune restarts it,
and drives it epoch by epoch (:func:`harness.trialloop.drive`) in its own process, or on
several Ray Train workers when ``resources.workers`` asks (:mod:`harness.dataparallel`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.fs
from ray import tune

from harness.kinds import TrialKind
from harness.study import Study
from harness.studyfolder import (
    CHECKPOINT_FILE,
    COMPILE_CACHE_DIR,
)
from harness.trialloop import TrialFolder, drive, save_genotype, use_compile_cache
from snas.threads import use_available_cpus


def _restored(kind: type, *args: Any) -> Any:
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        return kind.restore(Path(folder) / CHECKPOINT_FILE, *args)


def _prepare_trial_process() -> None:
    """Use as many threads as the trial has CPUs (no more than the node really has); keep Ray's
    per-checkpoint INFO lines out of the study's console (they repeat every few seconds in a
    study of short epochs)."""
    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
    use_available_cpus(limit=int(cpus))
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)


def _study_compile_cache() -> str | None:
    """Where compiled trials of this study keep Inductor's caches: ``<study>/compile_cache``
    on local (or shared, mounted) storage, so trials 2..N load the graphs trial 1 compiled;
    ``None`` on cloud storage, where each node keeps Inductor's own node-local cache
    (:func:`snas.compilation.share_compile_cache`)."""
    storage = tune.get_context().get_storage()
    if isinstance(storage.storage_filesystem, pyarrow.fs.LocalFileSystem):
        return str(Path(storage.experiment_fs_path) / COMPILE_CACHE_DIR)
    return None


def _run_trial(config: dict[str, Any], study: dict[str, Any]) -> None:
    """One trial of the study ``study``: its kind's loop, restored or new, driven to the end
    (on several workers when ``resources.workers`` says so).

    A genotype the trial is given is written once, before the first epoch; one it derives,
    after every epoch."""
    spec = Study.model_validate(study)
    if spec.resources.workers > 1:
        from harness.dataparallel import run_data_parallel_trial

        run_data_parallel_trial(config, study, TrialFolder.of_trial(), _study_compile_cache())
        return
    _prepare_trial_process()
    kind = spec.trial_kind
    loop_class = kind.loop()
    loop = _restored(loop_class) or loop_class(spec.trial_config_of(config))
    folder = TrialFolder.of_trial()
    use_compile_cache(loop, _study_compile_cache())
    if not kind.derives_genotype:
        save_genotype(loop, folder)
    drive(loop, spec, folder, after_epoch=save_genotype if kind.derives_genotype else None)


def trainable_of(kind: TrialKind) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """The Tune trainable of ``kind``'s trials, named ``<kind>_trial``: Tune records the name
    and refuses to resume a study with a differently named one."""
    def trial(config: dict[str, Any], study: dict[str, Any]) -> None:
        _run_trial(config, study)

    trial.__name__ = trial.__qualname__ = f"{kind.name}_trial"
    return trial
