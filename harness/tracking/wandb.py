"""Weights & Biases: the study is a run of job type ``study``, each trial a run of job type
``trial``, all in one W&B group named by the study (W&B has no nested runs; its group is
how runs are shown together).

Several runs are open at once in the driver (``reinit="create_new"``).  Each run logs its
epochs against ``epoch`` (``define_metric``), not against W&B's own step: a trial restarted
from a checkpoint reports earlier epochs again, which a step that must only grow would drop.
Files are written into the run's own folder (``run.dir``), which W&B uploads (or, offline,
keeps for ``wandb sync``).
"""

from __future__ import annotations

import netrc
import os
import shutil
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

from harness import storage
from harness.tracking.base import Tracker
from harness.tracking.settings import WandbSettings
from snas.errors import UserInputError

DEFAULT_HOST = "https://api.wandb.ai"


def _has_credentials() -> bool:
    """An API key in the environment or in the netrc entry of W&B's host (what ``wandb login`` writes)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", DEFAULT_HOST)).hostname
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host or "") is not None
    except (OSError, netrc.NetrcParseError):
        return False


class WandbTracker(Tracker):
    name: ClassVar[str] = "wandb"
    module: ClassVar[str] = "wandb"

    def __init__(self, settings: WandbSettings, study_name: str, experiment_path: str):
        self.settings = settings
        self.group = study_name
        self.folder = None if storage.is_uri(experiment_path) else experiment_path
        """Where W&B keeps its run folders (``<folder>/wandb/``); None: W&B's default (the working folder)."""
        self.parent: Any = None
        self.runs: dict[str, Any] = {}

    @classmethod
    def check(cls, settings: WandbSettings) -> None:
        super().check(settings)
        if settings.mode == "online" and not _has_credentials():
            raise UserInputError("tracking.wandb.mode online needs W&B credentials: set WANDB_API_KEY or run "
                                 "`wandb login` (or use mode: offline and `wandb sync` later)")

    def destination(self) -> str:
        return f"W&B project {self.settings.project} ({self.settings.mode})"

    def _open(self, name: str, job_type: str, config: dict[str, Any]) -> Any:
        import wandb

        if self.folder is not None:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
        run = wandb.init(project=self.settings.project, mode=self.settings.mode, group=self.group, name=name,
                         job_type=job_type, config=config, dir=self.folder, reinit="create_new",
                         settings=wandb.Settings(console="off", silent=True, save_code=False))
        run.define_metric("epoch", hidden=True)
        run.define_metric("*", step_metric="epoch")
        return run

    def start_study(self, name: str, params: dict[str, Any], resuming: bool) -> None:
        """A resumed study is a new run of the group (its trials that run again, new trial runs)."""
        self.parent = self._open(name, "study", params)

    def start_trial(self, trial_id: str, name: str, params: dict[str, Any]) -> None:
        self.runs[trial_id] = self._open(name, "trial", {**params, "trial_id": trial_id})

    def log_epoch(self, trial_id: str, epoch: int, values: dict[str, float]) -> None:
        self.runs[trial_id].log({**values, "epoch": epoch})

    def attach(self, trial_id: str | None, folder: Path, under: str) -> None:
        run = self.parent if trial_id is None else self.runs[trial_id]
        shutil.copytree(folder, Path(run.dir) / under, dirs_exist_ok=True)

    def end_trial(self, trial_id: str, failed: bool) -> None:
        run = self.runs.pop(trial_id, None)
        if run is not None:
            run.finish(exit_code=1 if failed else 0)

    def end_study(self, failed: bool) -> None:
        for trial_id in list(self.runs):
            self.end_trial(trial_id, failed=True)
        if self.parent is not None:
            self.parent.finish(exit_code=1 if failed else 0)
