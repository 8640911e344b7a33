"""A study stopped at the first trial that cannot read the study's data.

An image that does not decode is met by every trial that reads it, on every retry: Tune
retries any failure ``failures.max_failures`` times, so a study of N trials would fail N ×
(max_failures + 1) times over one broken file, each attempt reading the data up to it.  Such
a failure raises :class:`snas.errors.DataError` in the trial.  At the first one the study
stops as Ctrl-C stops it -- Tune saves its state with the other trials unfinished, so
``snas-study resume`` runs them once the file is fixed -- and ``run``/``resume`` exit 2
with the message (:func:`harness.studyrun.finish`).

Tune gives a callback no way to end a study short of stopping every trial for good (a
stopper's ``stop_all`` marks them finished, so ``resume`` would not run them again); its
own SIGINT handler does the right thing, so :class:`DataFailureStop` raises SIGINT when that
handler is in place.  Where it is not (Tune running off the main thread, or
``TUNE_DISABLE_SIGINT_HANDLER`` set), the trials go on failing and being retried as before.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from ray.tune import Callback

from harness.console import DropNotices, failure_line
from snas.errors import DataError

DATA_ERROR_LINE = f"{DataError.__module__}.{DataError.__qualname__}: "
"""How a trial's ``error.txt`` ends when the trial failed on its data."""
TUNE_SIGINT_HANDLER = "signal_interrupt_tune_run"
"""The name of the handler Tune's ``fit()`` puts on SIGINT (Ray 2.60, ``ray.tune.tune``)."""
TUNE_STOP_NOTICE = "Stop signal received"
"""The start of Tune's warning when its handler runs, which speaks of Ctrl-C."""
RAY_UNHANDLED_NOTICE = "Unhandled error"
"""The start of the error Ray logs, traceback and all, for a task whose failure nobody
fetched: a trial that failed on the same data while the study was stopping."""


def tune_handles_sigint() -> bool:
    """Whether the running ``fit()`` answers SIGINT with its handler: Tune installs it when
    it runs on the main thread and ``TUNE_DISABLE_SIGINT_HANDLER`` is not set, and never
    takes it away after a run that ended normally -- so its name alone could be a former
    run's (callbacks run on the thread ``fit()`` runs on)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if os.environ.get("TUNE_DISABLE_SIGINT_HANDLER", "0").strip() not in ("", "0"):
        return False
    return getattr(signal.getsignal(signal.SIGINT), "__name__", None) == TUNE_SIGINT_HANDLER


class DataFailureStop(Callback):
    """Stops the study at the first trial failure on its data (see the module docstring);
    :attr:`failure` then holds the trial's id and the message (None: it did not stop it)."""

    def __init__(self) -> None:
        self.failure: tuple[str, str] | None = None
        self._filters: list[tuple[logging.Logger, logging.Filter]] = []
        """The log filters a stop put in place, taken away by :meth:`close`."""

    def __getstate__(self) -> dict[str, Any]:  # pickled with the tuner, before any stop
        return {**self.__dict__, "_filters": []}

    def close(self) -> None:
        """Take away the log filters a stop put in place (the study has ended): a later study
        in this process keeps every notice."""
        for logger, drop in self._filters:
            logger.removeFilter(drop)
        self._filters = []

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._look_at(trial)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._look_at(trial)

    def _look_at(self, trial: Any) -> None:
        if self.failure is not None:
            return
        line = failure_line(trial)
        if line is None or not line.startswith(DATA_ERROR_LINE):
            return
        if not tune_handles_sigint():
            return  # no stop to make: the trials are retried, as any failure
        self.failure = (str(trial.trial_id), line.removeprefix(DATA_ERROR_LINE))
        for name, drop in (("ray.tune.tune", DropNotices((TUNE_STOP_NOTICE,))),
                           ("ray._private.worker", DropNotices((RAY_UNHANDLED_NOTICE,), DATA_ERROR_LINE.strip()))):
            logger = logging.getLogger(name)
            logger.addFilter(drop)
            self._filters.append((logger, drop))
        signal.raise_signal(signal.SIGINT)

    def message(self, experiment_path: str) -> str | None:
        """What ``run``/``resume`` print when the study stopped here (None when it did not)."""
        if self.failure is None:
            return None
        trial_id, problem = self.failure
        return (f"the study stopped at trial {trial_id}, which cannot read its data: {problem}. A retry would read "
                f"the same file, and so would the other trials that read it; fix the data, then continue the "
                f"study with: snas-study resume {experiment_path}")
