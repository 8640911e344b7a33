"""The Tune trainables: thin loops around each trial kind's ``snas`` loop (:mod:`harness.kinds`).

Each trial turns its config (the study's base settings plus its varied dotted keys) into a
validated configuration, restores from ``tune.get_checkpoint()`` when Tune restarts it,
and drives it epoch by epoch (:func:`harness.trialloop.drive`) in its own process, or on
several Ray Train workers when ``resources.workers`` asks (:mod:`harness.dataparallel`).
"""

from __future__ import annotations

import functools
import logging
import sys
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


QUIET_LOGGERS = ("ray.train._internal.storage", "ray.tune.trainable.trainable")
"""Ray loggers of a trial's process whose INFO lines would reach the study's console: one per
checkpoint saved, one per restore ("Restored on ... from checkpoint", at every PBT exploit and
retry).  They repeat every few seconds in a study of short epochs and ask nothing of the user."""


def quiet_trial_process() -> None:
    """Keep :data:`QUIET_LOGGERS` to warnings and an ignored exit off the console
    (:func:`_unraisable_unless_exit`): the setup hook of every worker of a local Ray instance
    (:func:`harness.cluster.local_ray_options`), and again as each trial starts (a cluster's
    workers run no hook of ours)."""
    global _next_unraisable_hook
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if sys.unraisablehook is not _unraisable_unless_exit:
        _next_unraisable_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable_unless_exit


_next_unraisable_hook = sys.unraisablehook
"""The hook :func:`_unraisable_unless_exit` hands every other unraisable exception to."""


def _unraisable_unless_exit(unraisable: Any) -> None:
    """Python's report of an exception it cannot raise (``Exception ignored in: ...`` and a
    traceback on stderr), except for ``SystemExit``.

    Ray stops a worker process with SIGTERM, whose handler raises ``SystemExit``; when the
    signal lands while the process runs a weakref callback or a ``__del__`` (a garbage
    collection), Python ignores that exit and prints it, and Ray forwards the lines to the
    study's console, after a study that ended well (seen at the end of a PBT study's
    ``resume``).  Ray kills a worker that does not exit within its grace period anyway, so the
    report tells the user nothing."""
    if isinstance(unraisable.exc_value, SystemExit) or unraisable.exc_type is SystemExit:
        return
    _next_unraisable_hook(unraisable)


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
