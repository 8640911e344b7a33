"""What every worker process of a study's local Ray instance keeps off the study's console.

Ray runs :func:`quiet_trial_process` as the setup hook of each worker process it starts
(:func:`harness.cluster.local_ray_options`): trial actors, but also Ray Train's controller,
workers, placement-group cleaner and helper actors, and Ray's idle workers.  So this module
imports nothing beyond the standard library: a hook that imported the trainables (torch, Ray
Tune) cost every one of those processes about two CPU-seconds as it started, some ten
processes per data-parallel trial."""

from __future__ import annotations

import logging
import sys
from typing import Any

QUIET_LOGGERS = ("ray.train._internal.storage", "ray.tune.trainable.trainable")
"""Ray loggers of a trial's process whose INFO lines would reach the study's console: one per
checkpoint saved, one per restore ("Restored on ... from checkpoint", at every PBT exploit and
retry).  They repeat every few seconds in a study of short epochs and ask nothing of the user."""

TRAIN_CLEANER_LOGGER = "ray.train.v2._internal.execution.controller.placement_group_cleaner"
"""The logger of Ray Train's placement-group cleaner, an actor beside each data-parallel trial."""


class _ExpectedCleanup(logging.Filter):
    """Drops the cleaner's warning that a Train controller died and its placement group is
    being removed.  Tune ends a trial it stops (ASHA at a rung or at ``max_t``, a study's
    stopper) by killing the trial's actor, and the Train controller with it: that warning
    came at the end of every data-parallel trial of an ASHA study, for the cleanup that is
    meant to happen.  Its other warnings (a cleanup that failed) still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Detected that the Ray Train controller actor")


_EXPECTED_CLEANUP = _ExpectedCleanup()


def quiet_trial_process() -> None:
    """Keep :data:`QUIET_LOGGERS` to warnings, Train's cleaner's expected notice
    (:class:`_ExpectedCleanup`) and an ignored exit off the console
    (:func:`_unraisable_unless_exit`): the setup hook of every worker of a local Ray instance
    (:func:`harness.cluster.local_ray_options`), and again as each trial starts (a cluster's
    workers run no hook of ours)."""
    global _next_unraisable_hook
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger(TRAIN_CLEANER_LOGGER).addFilter(_EXPECTED_CLEANUP)  # a filter is added once
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
