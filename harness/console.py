"""The console of a running study: one compact line per trial event, at most 120 columns.

Tune's own output (``verbose=1``) prints a configuration box, a status table every 30
seconds whose columns are the dotted keys cut to ``...mperature.initial``, and a result
box of every metric per finished trial -- hundreds of lines, some over 500 columns, in
a short study.  Its reporter classes (``CLIReporter`` and friends) are ignored by the
default output engine of Ray 2.60, which also prints its configuration box and a
TensorBoard hint pointing into Ray's temporary folder even at ``verbose=0``.  So the
harness runs Tune silent -- ``verbose=0`` under the engine that honours it (Ray's
documented switch ``RAY_AIR_NEW_OUTPUT=0``, set only while the study runs) -- and prints
through a :class:`ray.tune.Callback`: a header once, then a line when a trial starts,
reports an epoch, ends, fails or is retried, with the study's short setting names (tau0,
anneal_rate, lambda, penalty, method, seed, ...), the epoch and the objective.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from ray.tune import Callback

from harness.endings import ERRORED, ending_of
from harness.study import Study
from harness.studyfolder import error_line

WIDTH = 120
_TRIAL, _STATE, _EPOCH = 11, 10, 7
_MIN_SETTING, _MAX_SETTING = 6, 14


RESULT_LOG_LOGGER = "ray.tune.logger.logger"
"""Tune's result-file loggers (``result.json``, ``progress.csv``) warn "Remote file not found"
whenever a trial restarts from a checkpoint before its result file reached the study
folder: at every PBT exploit, several lines a minute between the trial lines.  The study's
own record of each epoch is ``metrics.jsonl``; nothing is lost and the user has nothing to
do.  Their errors (a failed copy) still print."""


TRIAL_ERRORS_SWITCH = "TUNE_PRINT_ALL_TRIAL_ERRORS"
"""Tune logs every failure of a trial with its whole traceback (some 40 lines, between the
trial lines) unless this is ``0``.  :class:`ProgressLines` prints the failure's last line
under the trial's ``retrying`` or ``error`` line instead (:class:`FailureLines`, on stderr,
under ``--quiet``); the traceback stays in the trial's ``error.txt``, which ``status`` reads.
A value the user set is kept."""


TUNE_NOTICES_DROPPED = {
    "ray.tune.tune": ("Experiment has been interrupted", "Trials did not complete"),
    "ray.tune.analysis.experiment_analysis": ("Failed to fetch metrics",),
}
"""Tune's warnings that contradict the study's own lines or repeat them, by logger and the
start of their message: after Ctrl-C, advice to resume with ``Tuner.restore(path=...,
trainable=...)`` (the harness prints ``snas-study resume FOLDER``, which also restores the
study's own settings); a list of the trials that did not complete (the summary counts them
and says what to do); and for every trial that had not started or reported yet, a
``FileNotFoundError`` block for its missing result files (``status`` shows such trials as
pending)."""


class DropNotices(logging.Filter):
    """Drops a logger's records whose message starts with one of ``starts`` (and, given
    ``containing``, also holds that text)."""

    def __init__(self, starts: tuple[str, ...], containing: str = ""):
        super().__init__()
        self.starts = starts
        self.containing = containing

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return not (text.startswith(self.starts) and self.containing in text)


@contextlib.contextmanager
def silent_tune() -> Iterator[None]:
    """Tune prints nothing of its own inside this block (the callbacks print instead)."""
    before = os.environ.get("RAY_AIR_NEW_OUTPUT")
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    errors_before = os.environ.get(TRIAL_ERRORS_SWITCH)
    os.environ.setdefault(TRIAL_ERRORS_SWITCH, "0")
    result_log = logging.getLogger(RESULT_LOG_LOGGER)
    level = result_log.level
    result_log.setLevel(logging.ERROR)
    dropped = [(logging.getLogger(name), DropNotices(starts)) for name, starts in TUNE_NOTICES_DROPPED.items()]
    for logger, notices in dropped:
        logger.addFilter(notices)
    try:
        yield
    finally:
        for logger, notices in dropped:
            logger.removeFilter(notices)
        result_log.setLevel(level)
        for name, value in (("RAY_AIR_NEW_OUTPUT", before), (TRIAL_ERRORS_SWITCH, errors_before)):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def failure_line(trial: Any, tail: int = 16384) -> str | None:
    """The line of a trial's latest failure that says what failed (:func:`error_line`, on the
    end of its ``error.txt``, where Tune appends each failure); None when there is none."""
    path = getattr(trial, "error_file", None)
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - tail))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    line = error_line(text)
    return None if line is None else line.strip()


class FailureLines(Callback):
    """Under ``--quiet``, where no progress lines are printed: each failure of a trial in one
    line on stderr (Tune's own traceback is off while a study runs, :data:`TRIAL_ERRORS_SWITCH`)."""

    def __init__(self, err: TextIO | None = None):
        self.err = err

    def _print(self, trial: Any, what: str) -> None:
        line = failure_line(trial)
        print(f"trial {trial.trial_id} failed ({what}): {line or 'no error recorded'}", file=self.err or sys.stderr,
              flush=True)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trial, "retrying")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trial, "no retries left")


class ProgressLines(Callback):
    """Prints the study's progress table, one line per trial event."""

    def __init__(self, study: Study, out: TextIO | None = None):
        self.study = study
        self.out = out
        self.metric = study.metric
        self.names = study.trial_kind.short_names(list(study.space))
        self._metric_width = max(len(self.metric), 8)
        self._widths = self._fitted({key: self._width(key) for key in self.names})
        self._epochs: dict[str, int] = {}
        self._header_shown = False

    # ------------------------------------------------------------------ formatting
    def _width(self, key: str) -> int:
        """Wide enough for the name and the values a grid or choice lists, within bounds."""
        domain = self.study.space[key]
        values = domain.bounds if domain.variation in ("grid", "choice") else ()
        widest = max([len(self.names[key]), _MIN_SETTING, *(len(_cell(v)) for v in values)])
        return min(widest, _MAX_SETTING)

    def _fitted(self, widths: dict[str, int]) -> dict[str, int]:
        """The settings' widths, the widest narrowed first, so that a whole line fits ``WIDTH``
        (the trial, state, epoch and objective columns keep theirs)."""
        fixed = _TRIAL + _STATE + _EPOCH + self._metric_width + 2 * 3
        widths = dict(widths)
        while widths and fixed + sum(widths.values()) + 2 * len(widths) > WIDTH:
            widest = max(widths, key=widths.__getitem__)
            if widths[widest] > _MIN_SETTING:
                widths[widest] -= 1
            else:  # even at the narrowest there is no room: the last settings are left out
                widths.pop(list(widths)[-1])
        return widths

    def _row(self, trial: str, settings: list[str], state: str, epoch: str, score: str) -> str:
        parts = [trial.ljust(_TRIAL)]
        parts += [value.rjust(width) for value, width in zip(settings, self._widths.values())]
        parts += [state.ljust(_STATE), epoch.rjust(_EPOCH), score.rjust(self._metric_width)]
        return _fit("  ".join(parts).rstrip(), WIDTH)

    def header(self) -> str:
        names = [_fit(self.names[key], width) for key, width in self._widths.items()]
        return self._row("trial", names, "state", "epoch", self.metric)

    def line(self, trial: Any, state: str, result: dict[str, Any] | None = None) -> str:
        config = trial.config or {}
        settings = [_fit(_cell(config.get(key, "")), width) for key, width in self._widths.items()]
        result = result if result is not None else (trial.last_result or {})
        epoch = result.get("epoch")
        total = self._configured_epochs(trial)
        epoch_text = "" if epoch is None else f"{epoch}/{total}" if total else str(epoch)
        score = result.get(self.metric)
        score_text = f"{score:.2f}" if isinstance(score, (int, float)) and not isinstance(score, bool) else ""
        return self._row(str(trial.trial_id), settings, state, epoch_text, score_text)

    def _configured_epochs(self, trial: Any) -> int | None:
        if trial.trial_id not in self._epochs:
            try:
                self._epochs[trial.trial_id] = int(self.study.trial_config_of(dict(trial.config or {})).epochs)
            except ValueError:  # not a configuration of this study (pydantic's errors are ValueErrors)
                return None
        return self._epochs[trial.trial_id]

    def _print_failure(self, trial: Any) -> None:
        """The last line of the trial's latest failure, under its row (the traceback is in its
        ``error.txt``)."""
        line = failure_line(trial)
        if line is not None:
            print(_fit(f"{' ' * _TRIAL}  failed: {line}", WIDTH), file=self.out or sys.stdout, flush=True)

    def _print(self, trial: Any, state: str, result: dict[str, Any] | None = None) -> None:
        out = self.out or sys.stdout
        if not self._header_shown:
            print(self.header(), file=out, flush=True)
            self._header_shown = True
        print(self.line(trial, state, result), file=out, flush=True)

    # ------------------------------------------------------------------ Tune's hooks
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trial, "started")

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trial, "retrying")
        self._print_failure(trial)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self._print(trial, "running", result)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        total = self._configured_epochs(trial)
        self._print(trial, ending_of(result, result.get("epoch", total or 0), total, self.study).short)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._print(trial, ERRORED.short)
        self._print_failure(trial)
