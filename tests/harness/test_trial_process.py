"""What a trial's worker process keeps off the study's console (harness.worker_process.quiet_trial_process)."""

from __future__ import annotations

import ast
import gc
import logging
import subprocess
import sys
from pathlib import Path

from harness import worker_process as trainables


class _RaisesWhenCollected:
    def __init__(self, error: BaseException):
        self.error = error

    def __del__(self) -> None:
        raise self.error


def test_an_exit_python_must_ignore_is_not_reported_and_other_ignored_errors_still_are(monkeypatch):
    """Ray's SIGTERM handler raises SystemExit; landing in a finaliser, Python ignores it and
    reports it as ``Exception ignored in: ...`` with a traceback, which Ray forwards to the
    study's console.  Only that report is dropped; any other goes to the hook set before."""
    reported: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: reported.append(unraisable.exc_type))
    monkeypatch.setattr(trainables, "_next_unraisable_hook", sys.unraisablehook)
    trainables.quiet_trial_process()
    trainables.quiet_trial_process()  # again as the trial starts: installed once, not wrapped twice
    assert sys.unraisablehook is trainables._unraisable_unless_exit
    _RaisesWhenCollected(SystemExit(1))
    _RaisesWhenCollected(ValueError("a real fault"))
    gc.collect()
    assert reported == [ValueError]
    assert all(logging.getLogger(name).level == logging.WARNING for name in trainables.QUIET_LOGGERS)


def test_train_cleaners_notice_of_a_stopped_trial_is_dropped_and_its_failures_still_show(caplog):
    """Tune stops a data-parallel trial by killing its Train controller; the cleaner then warns
    that the controller is dead as it removes the placement group, at every trial's end."""
    trainables.quiet_trial_process()
    trainables.quiet_trial_process()
    cleaner = logging.getLogger(trainables.TRAIN_CLEANER_LOGGER)
    assert cleaner.filters.count(trainables._EXPECTED_CLEANUP) == 1
    with caplog.at_level(logging.WARNING, logger=trainables.TRAIN_CLEANER_LOGGER):
        cleaner.warning("Detected that the Ray Train controller actor (2d99) is dead. Cleaning up placement group = "
                        "[PlacementGroupID(f82f)] created by this run.")
        cleaner.warning("Failed to clean up placement group: timed out")
    assert [record.getMessage() for record in caplog.records] == ["Failed to clean up placement group: timed out"]


def test_the_setup_hook_of_every_ray_worker_imports_only_the_standard_library():
    """Ray runs the hook in each worker process of a local instance, Train's controller and
    helper actors included; importing torch or Ray Tune there cost each about two CPU-seconds."""
    from harness.cluster import QUIET_WORKERS_HOOK

    module = QUIET_WORKERS_HOOK.rsplit(".", 1)[0]
    loaded = subprocess.run([sys.executable, "-c", f"import sys, {module}; print(sorted(sys.modules))"],
                            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=True)
    third_party = {name.split(".")[0] for name in ast.literal_eval(loaded.stdout)
                   if not name.startswith("_")}  # __main__, and the .pth hooks of pip and setuptools
    third_party -= set(sys.stdlib_module_names)
    assert third_party == {"harness", "snas"}
