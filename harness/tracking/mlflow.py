"""MLflow: the study is a parent run, each trial a child run (``mlflow.parentRunId``) in the
study's experiment.

Everything goes through :class:`mlflow.MlflowClient` with explicit run ids, never MLflow's
fluent ``start_run``: the fluent API keeps one active-run stack per thread, which nests
runs by call order, while a study opens and closes trials' runs interleaved.  The tracking
URI is the study's own (``MLFLOW_TRACKING_URI`` is not consulted), and each trial's params
are logged once, at its first start: MLflow refuses a param logged again with another value,
which is what crashes Tune's ``MLflowLoggerCallback`` under PBT (ray-project/ray#20473,
#27783); a setting that may change mid-run is a metric per epoch instead
(:mod:`harness.tracking.callback`).

A server that goes away mid-study must not stall the study: MLflow's client retries a call
for minutes by default, and the driver, which makes every call, would hold every trial's
results meanwhile.  Each call of the tracker therefore runs with bounded retries and
timeouts (:data:`BOUNDED_REQUESTS`), and its first failure ends the tracker
(:class:`harness.tracking.trackers.StudyTracking`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.tracking.base import Tracker
from harness.tracking.settings import MlflowSettings
from snas.errors import UserInputError

if TYPE_CHECKING:
    from harness.study import Study

STUDY_TAG = "snas.study"
TRIAL_TAG = "trial_id"
REACH_TIMEOUT_S = 5.0
"""How long the check before the study waits for the server's ``/health``."""
BOUNDED_REQUESTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
"""MLflow's HTTP settings while the tracker calls it, each unless the environment sets it already.
MLflow's defaults (7 retries, backoff factor 2, 120 s per request) spent 247 s on one call to
a server that refuses connections; these give up in about 2 s (in about 35 s against one that
accepts and never answers: 3 tries of 10 s)."""


@contextlib.contextmanager
def bounded_requests() -> Iterator[None]:
    """MLflow's HTTP calls made in this block use :data:`BOUNDED_REQUESTS` where the user's
    environment names no value of its own.  MLflow reads these variables at each request, so
    setting them only around the tracker's calls leaves any other MLflow use in the process
    (and the environment trials inherit) as the user set it."""
    added = {key: value for key, value in BOUNDED_REQUESTS.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


class MlflowTracker(Tracker):
    name: ClassVar[str] = "mlflow"
    module: ClassVar[str] = "mlflow"

    def __init__(self, settings: MlflowSettings, study: Study, experiment_path: str):
        from mlflow import MlflowClient

        self.uri = settings.uri
        self.client = MlflowClient(tracking_uri=settings.uri)
        self.experiment = settings.experiment or study.name
        self.study_key = hashlib.sha256(experiment_path.encode()).hexdigest()[:16]
        """Tags the parent run with its study folder, where ``resume`` finds it again."""
        self.experiment_id = ""
        self.parent: str | None = None
        self.runs: dict[str, str] = {}
        """Tune trial id → its open child run id."""
        self.earlier: dict[str, str] = {}
        """Tune trial id → its child run of the run being resumed."""

    @classmethod
    def check(cls, settings: MlflowSettings) -> None:
        """The library, and for an HTTP URI a server that answers ``/health`` within
        :data:`REACH_TIMEOUT_S` (MLflow's own client would retry for minutes)."""
        super().check(settings)
        if urllib.parse.urlparse(settings.uri).scheme in ("", "file"):
            cls._check_file_store(settings.uri)
        if not settings.uri.startswith(("http://", "https://")):
            return
        health = settings.uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(health, timeout=REACH_TIMEOUT_S) as answer:  # noqa: S310 (http(s) only)
                answer.read()
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise UserInputError(f"tracking.mlflow.uri: no MLflow server answers at {settings.uri} ({reason}); "
                                 f"start it, or fix the address") from None

    @staticmethod
    def _check_file_store(uri: str) -> None:
        """A folder URI (``file:///…/mlruns``, ``./mlruns``): MLflow 3 refuses its file store
        unless ``MLFLOW_ALLOW_FILE_STORE=true``, with a paragraph from deep inside the first
        trial's tracking; opening the client here (which writes nothing for a file store)
        says it in one line before the study starts."""
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            MlflowClient(uri)
        except MlflowException as err:
            first = str(err).split(". ")[0]
            raise UserInputError(f"tracking.mlflow.uri {uri}: {first}; use a database (e.g. "
                                 f"sqlite:///{Path('mlflow.db').absolute()}) or set MLFLOW_ALLOW_FILE_STORE=true") \
                from None

    def destination(self) -> str:
        return f"the MLflow server at {self.uri}" if self.uri.startswith(("http://", "https://")) \
            else f"MLflow tracking URI {self.uri}"

    def calling(self) -> contextlib.AbstractContextManager[None]:
        return bounded_requests()

    def start_study(self, name: str, params: dict[str, Any], resuming: bool) -> None:
        """A resumed study reopens its parent run, found by its folder's tag, and its trials'
        runs; a study run afresh (``--overwrite`` too) is a new parent run."""
        found = self.client.get_experiment_by_name(self.experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(self.experiment)
        earlier = self._runs(f"tags.`{STUDY_TAG}` = '{self.study_key}'", latest=True) if resuming else []
        if earlier:
            self.parent = earlier[0].info.run_id
            self.client.update_run(self.parent, status="RUNNING")
            self.earlier = {run.data.tags[TRIAL_TAG]: run.info.run_id
                            for run in self._runs(f"tags.`mlflow.parentRunId` = '{self.parent}'")}
            return
        self.parent = self.client.create_run(self.experiment_id, run_name=name,
                                             tags={STUDY_TAG: self.study_key}).info.run_id
        self._log(self.parent, params=params)

    def start_trial(self, trial_id: str, name: str, params: dict[str, Any]) -> None:
        """A trial of a resumed study continues its earlier run (its params are logged already)."""
        if trial_id in self.earlier:
            self.runs[trial_id] = self.earlier.pop(trial_id)
            self.client.update_run(self.runs[trial_id], status="RUNNING")
            return
        tags = {"mlflow.parentRunId": self.parent, TRIAL_TAG: trial_id}
        run_id = self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id
        self.runs[trial_id] = run_id
        self._log(run_id, params=params)

    def log_epoch(self, trial_id: str, epoch: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, epoch) for key, value in values.items()]
        self.client.log_batch(self.runs[trial_id], metrics=metrics)

    def attach(self, trial_id: str | None, folder: Path, under: str) -> None:
        run_id = self.parent if trial_id is None else self.runs[trial_id]
        if run_id is not None:
            self.client.log_artifacts(run_id, str(folder), under)

    def end_trial(self, trial_id: str, failed: bool) -> None:
        run_id = self.runs.pop(trial_id, None)
        if run_id is not None:
            self.client.set_terminated(run_id, "FAILED" if failed else "FINISHED")

    def end_study(self, failed: bool) -> None:
        for trial_id in list(self.runs):
            self.end_trial(trial_id, failed=True)
        if self.parent is not None:
            self.client.set_terminated(self.parent, "FAILED" if failed else "FINISHED")

    def _runs(self, where: str, latest: bool = False) -> list[Any]:
        return self.client.search_runs([self.experiment_id], where, max_results=1 if latest else 50_000,
                                       order_by=["attributes.start_time DESC"])

    def _log(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        self.client.log_batch(run_id, params=[Param(key, str(value)) for key, value in params.items()])
