"""The Tune side of :mod:`harness.tensorboard`: each trial's reports become its TensorBoard run.

The callback writes one run per trial, named by its short settings, into the study
folder (on URI storage into the driver's staging copy of it, which Tune uploads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.tune.logger import TBXLoggerCallback

from harness.study import Study
from harness.tensorboard import EventRun, run_name, run_settings


class TrialEvents(TBXLoggerCallback):
    """Tune's TensorBoard logger, replaced: being a :class:`TBXLoggerCallback`, it keeps Tune
    from adding its default one (named by trial id, every reported key)."""

    def __init__(self, study: Study):
        super().__init__()
        self.study = study
        self.names, self.distinct = run_settings(study)
        self._runs: dict[str, EventRun] = {}

    def _folder(self, trial: Any) -> Path:
        """On local (or shared) storage, the study folder itself: an event written there survives
        a driver killed before Tune's next upload of its staging copy, which it writes to
        otherwise (URI storage)."""
        import pyarrow.fs

        name = run_name(self.names, dict(trial.config or {}), str(trial.trial_id), self.distinct)
        storage = trial.storage
        local = isinstance(storage.storage_filesystem, pyarrow.fs.LocalFileSystem)
        return Path(storage.experiment_fs_path if local else trial.local_experiment_path) / name

    def log_trial_start(self, trial: Any) -> None:
        """Writers open at the first result, when the epoch to purge from is known."""

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        epoch = result.get("epoch")
        if epoch is None:
            return
        run = self._runs.get(trial.trial_id)
        if run is None or epoch <= run.last_epoch:  # first result here, or a restart from a checkpoint
            if run is not None:
                run.close()
            settings = {self.names[k]: v for k, v in (trial.config or {}).items() if k in self.names}
            run = self._runs[trial.trial_id] = EventRun(self._folder(trial), self.study.kind, int(epoch), settings)
        run.write(result)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        run = self._runs.pop(trial.trial_id, None)
        if run is not None:
            run.close()
