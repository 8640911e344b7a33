"""The stop at a trial's first failure on its data (:mod:`harness.data_stop`), driven as Tune
drives a callback, with stand-in trials and a stand-in of Tune's SIGINT handler."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest

from harness.data_stop import DataFailureStop

TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'


def _trial(tmp_path, trial_id: str, last_line: str | None):
    path = None
    if last_line is not None:
        path = tmp_path / f"{trial_id}.txt"
        path.write_text(f"Failure # 1 (occurred at 2026-12-08)\n{TRACEBACK}{last_line}\n\n")
    return SimpleNamespace(trial_id=trial_id, error_file=None if path is None else str(path))


@pytest.fixture
def tune_handler():
    """SIGINT handled as Tune's ``fit()`` handles it (by name), counting the signals."""
    seen = []

    def signal_interrupt_tune_run(sig, frame):
        seen.append(sig)

    before = signal.signal(signal.SIGINT, signal_interrupt_tune_run)
    yield seen
    signal.signal(signal.SIGINT, before)


def test_the_first_failure_on_the_data_stops_the_study_once(tmp_path, tune_handler):
    stop = DataFailureStop()
    stop.on_trial_recover(1, [], _trial(tmp_path, "a_00000", "snas.errors.UserInputError: lr must be positive"))
    stop.on_trial_recover(1, [], _trial(tmp_path, "a_00001", None))  # no error file yet
    assert stop.failure is None and tune_handler == [] and stop.message("/r/s") is None
    data = "snas.errors.DataError: cannot read image /d/cat/3.png: image file is truncated; remove or replace it"
    stop.on_trial_recover(2, [], _trial(tmp_path, "a_00002", data))
    stop.on_trial_error(2, [], _trial(tmp_path, "a_00003", data))  # a second one stops nothing more
    assert stop.failure == ("a_00002", data.removeprefix("snas.errors.DataError: "))
    assert tune_handler == [signal.SIGINT]
    stop.close()
    assert stop.message("/r/s") == (
        "the study stopped at trial a_00002, which cannot read its data: cannot read image /d/cat/3.png: image file "
        "is truncated; remove or replace it. A retry would read the same file, and so would the other trials that "
        "read it; fix the data, then continue the study with: snas-study resume /r/s")


def test_without_tunes_handler_no_signal_is_sent_and_the_study_goes_on(tmp_path):
    """Tune off the main thread installs no handler: a SIGINT would be a KeyboardInterrupt
    through Tune's loop, losing its last save; the trials are retried as before instead."""
    sent = []
    before = signal.signal(signal.SIGINT, lambda sig, frame: sent.append(sig))
    try:
        stop = DataFailureStop()
        stop.on_trial_error(1, [], _trial(tmp_path, "a_00000", "snas.errors.DataError: cannot read image x"))
    finally:
        signal.signal(signal.SIGINT, before)
    assert stop.failure is None and stop.message("/r/s") is None and sent == []


def test_a_data_parallel_rank_logs_no_traceback_of_its_failure():
    """Train logs each rank's exception with its traceback (the driver prints every rank's);
    the trial's error.txt keeps it and the console its last line, as for one process.  The
    logger and message are Ray's (a rename would bring the tracebacks back: this fails)."""
    import inspect
    import logging

    import ray.train.v2._internal.util as train_util

    from harness.console import DropNotices
    from harness.dataparallel import TRAIN_ERROR_LOGGER, TRAIN_ERROR_NOTICE

    assert train_util.logger.name == TRAIN_ERROR_LOGGER
    assert f'logger.error(f"{TRAIN_ERROR_NOTICE}:' in inspect.getsource(train_util)
    drop = DropNotices((TRAIN_ERROR_NOTICE,))
    record = logging.LogRecord(TRAIN_ERROR_LOGGER, logging.ERROR, "util.py", 252,
                               "Error in training function:\nTraceback ...", None, None)
    other = logging.LogRecord(TRAIN_ERROR_LOGGER, logging.ERROR, "util.py", 9, "something else", None, None)
    assert (drop.filter(record), drop.filter(other)) == (False, True)


def test_a_handler_left_by_an_earlier_fit_does_not_count_when_tune_installs_none(tmp_path, tune_handler,
                                                                                 monkeypatch):
    """Tune leaves its handler in place after a run ends; a later run with the handler turned
    off installs none, and a signal would only set the old run's flag: no stop."""
    monkeypatch.setenv("TUNE_DISABLE_SIGINT_HANDLER", "1")
    stop = DataFailureStop()
    stop.on_trial_error(1, [], _trial(tmp_path, "a_00000", "snas.errors.DataError: cannot read image x"))
    assert stop.failure is None and tune_handler == []


def test_a_stops_log_filters_go_when_the_study_ends(tmp_path, tune_handler):
    """Tune's notice of the signal and Ray's of unfetched failures on the data are dropped while
    the study stops, and kept for a later study in the same process."""
    import logging

    worker = logging.getLogger("ray._private.worker")
    before = list(worker.filters)
    stop = DataFailureStop()
    stop.on_trial_error(1, [], _trial(tmp_path, "a_00000", "snas.errors.DataError: cannot read image x"))
    unfetched = logging.LogRecord(worker.name, logging.ERROR, "w.py", 1,
                                  "Unhandled error (suppress with ...): snas.errors.DataError: x", None, None)
    assert not worker.filter(unfetched)
    stop.close()
    assert worker.filters == before and worker.filter(unfetched)
