"""The trackers a study names, opened for one run of it, and the checks before it starts
(:mod:`harness.tracking` tells what each records)."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import storage
from harness.study import Study
from harness.tracking.base import Tracker
from harness.tracking.mlflow import MlflowTracker
from harness.tracking.wandb import WandbTracker
from snas.registry import Registry

TRACKERS: Registry[type[Tracker]] = Registry("tracker", {"mlflow": MlflowTracker, "wandb": WandbTracker})


def check_tracking(study: Study) -> None:
    """Refuse, in one line, a study whose trackers cannot start (extra missing, server down)."""
    for name, settings in study.tracking.chosen().items():
        TRACKERS[name].check(settings)


def study_params(study: Study) -> dict[str, Any]:
    """What the parent run records of the study itself."""
    return {"kind": study.kind, "searcher": study.searcher.name, "scheduler": study.scheduler.name,
            "metric": study.metric, "mode": study.mode, "trials": study.expected_trials(),
            "epochs": study.epochs, "varied": ", ".join(study.space) or "-"}


INNERMOST_CHARS = 300
"""Where :func:`innermost` cuts a cause short: the warning stays one readable line."""


def innermost(err: BaseException) -> str:
    """The innermost exception of ``err``'s chain, on one line (``ConnectionRefusedError: [Errno
    111] Connection refused``): a client library's own error repeats it at length (MLflow's
    ``API request to ... failed with exception HTTPConnectionPool(...): Max retries exceeded ...``)."""
    seen = {id(err)}
    while (inner := err.__cause__ or err.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        err = inner
    text = " ".join(f"{type(err).__name__}: {err}".split())
    return text if len(text) <= INNERMOST_CHARS else text[:INNERMOST_CHARS - 3] + "..."


class StudyTracking:
    """The trackers of one run of a study (none for a study without ``tracking``), each
    dropped at its first failure."""

    def __init__(self, trackers: list[Tracker]):
        self.trackers = trackers
        self.exit_code: int | None = None

    def each(self, call: str, *args: Any) -> None:
        """``tracker.call(*args)`` on every tracker still running (in the tracker's
        :meth:`~harness.tracking.base.Tracker.calling` scope)."""
        for tracker in list(self.trackers):
            try:
                with tracker.calling():
                    getattr(tracker, call)(*args)
            except Exception as err:  # noqa: BLE001 -- any failure of a tracker ends that tracker, not the study
                self.trackers.remove(tracker)
                print(f"snas-study: warning: tracking.{tracker.name} failed ({tracker.destination()}: "
                      f"{innermost(err)}); it is off for the rest of this run, and the study goes on (its folder "
                      f"holds everything)", file=sys.stderr, flush=True)

    def ended(self, exit_code: int) -> int:
        """Record how the run ended (its exit code, which the parent runs' status follows); returns it."""
        self.exit_code = exit_code
        return exit_code

    def close(self, experiment_path: str) -> None:
        """Attach the study's own files to the parent runs and close every run."""
        from harness.studyfolder import REPORT_FILE, STUDY_FILE

        if not self.trackers:
            return
        if not storage.is_uri(experiment_path):
            with tempfile.TemporaryDirectory(prefix="snas-tracking-") as folder:
                for name in (STUDY_FILE, REPORT_FILE):
                    if Path(experiment_path, name).is_file():
                        shutil.copyfile(Path(experiment_path, name), Path(folder, name))
                self.each("attach", None, Path(folder), "study")
        self.each("end_study", self.exit_code != 0)


@contextlib.contextmanager
def tracked(study: Study, experiment_path: str, resuming: bool = False) -> Iterator[StudyTracking]:
    """The trackers of ``study`` (as its folder holds it: with its ``provenance``) with their
    parent runs open (``resuming``: for ``snas-study resume``),
    closed at the end of the block (as failed unless :meth:`StudyTracking.ended` recorded exit
    code 0)."""
    tracking = StudyTracking([TRACKERS[name](settings, study, experiment_path)
                              for name, settings in study.tracking.chosen().items()])
    tracking.each("start_study", study.name, study_params(study), resuming)
    try:
        yield tracking
    finally:
        tracking.close(experiment_path)
