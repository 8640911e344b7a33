"""What a trial's worker process keeps off the study's console (harness.trainables.quiet_trial_process)."""

from __future__ import annotations

import gc
import logging
import sys

from harness import trainables


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
