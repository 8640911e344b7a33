"""The Tune trainables: thin loops around each trial kind's ``snas`` loop (:mod:`harness.kinds`).

Each trial turns its config (the study's base settings plus its varied dotted keys) into a
validated configuration, restores from ``tune.get_checkpoint()`` when Tune restarts it,
and drives it epoch by epoch (:func:`harness.trialloop.drive`) in its own process, or on
several Ray Train workers when ``resources.workers`` asks (:mod:`harness.dataparallel`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.fs
from ray import tune

from harness.kinds import TrialKind
from harness.lineage import Lineage, earlier_exploits
from harness.studyfolder import (
    CHECKPOINT_FILE,
    COMPILE_CACHE_DIR,
    TRIAL_CONFIG_FILE,
)
from harness.trialconfig import TrialSpec
from harness.trialloop import TrialFolder, drive, start, use_compile_cache
from harness.worker_process import quiet_trial_process
from snas.run import EpochRun
from snas.threads import use_available_cpus


def _restored(lineage: Lineage | None, loop_class: type[EpochRun], config: Any) -> EpochRun | None:
    """The loop from the checkpoint Tune hands this trial (its own, or under PBT a donor's),
    continuing under ``config``; None when the trial starts afresh.  ``lineage`` takes the
    checkpoint's (:mod:`harness.lineage`)."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        loop = loop_class.restore(Path(folder) / CHECKPOINT_FILE, config=config)
        if lineage is not None:
            lineage.continue_from(Path(folder), loop.epoch)
        return loop


def _prepare_trial_process() -> None:
    """Use as many threads as the trial has CPUs (no more than the node really has); keep Ray's
    INFO lines out of the study's console."""
    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
    use_available_cpus(limit=int(cpus))
    quiet_trial_process()


def _study_compile_cache() -> str | None:
    """Where compiled trials of this study keep Inductor's caches: ``<study>/compile_cache``
    on local (or shared, mounted) storage, so trials 2..N load the graphs trial 1 compiled;
    ``None`` on cloud storage, where each node keeps Inductor's own node-local cache
    (:func:`snas.compilation.share_compile_cache`)."""
    storage = tune.get_context().get_storage()
    if isinstance(storage.storage_filesystem, pyarrow.fs.LocalFileSystem):
        return str(Path(storage.experiment_fs_path) / COMPILE_CACHE_DIR)
    return None


def _run_trial(config: dict[str, Any], spec: TrialSpec) -> None:
    """One trial of a study: its kind's loop, restored or new, driven to the end (on several
    workers when ``resources.workers`` says so)."""
    if spec.resources.workers > 1:
        from harness.dataparallel import run_data_parallel_trial

        run_data_parallel_trial(config, spec, TrialFolder.of_trial(), _study_compile_cache())
        return
    _prepare_trial_process()
    folder = TrialFolder.of_trial()
    lineage = (Lineage(tune.get_context().get_trial_id(), exploits=earlier_exploits(folder.read(TRIAL_CONFIG_FILE)))
               if spec.records_lineage else None)
    loop = start(spec, config, functools.partial(_restored, lineage), folder, lineage)
    use_compile_cache(loop, _study_compile_cache())
    drive(loop, spec, folder, lineage=lineage)


def trainable_of(kind: TrialKind) -> Callable[[dict[str, Any], TrialSpec], None]:
    """The Tune trainable of ``kind``'s trials, named ``<kind>_trial``: Tune records the name
    and refuses to resume a study with a differently named one."""
    def trial(config: dict[str, Any], spec: TrialSpec) -> None:
        _run_trial(config, spec)

    trial.__name__ = trial.__qualname__ = f"{kind.name}_trial"
    return trial
