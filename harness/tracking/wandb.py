"""Weights & Biases: the study is a run of job type ``study``, each trial a run of job type
``trial``, all in one W&B group named by the study (W&B has no nested runs; its group is
how runs are shown together).

Several runs are open at once in the driver (``reinit="create_new"``).  Each run has a fixed
id, the study's key (its folder and when it was started) and the trial's id, opened with
``resume="allow"``: ``snas-study resume`` continues the study's runs, a study run afresh
(``--overwrite`` too) opens new ones.  A trial's epoch is its run's step, so a resumed run
goes on from the step it reached; an epoch at or below the last one logged to a run (a trial
restarted from an earlier checkpoint reports some again) is not logged again, as W&B's step
may only grow: the study folder's curves hold what the restarted trial reported.  The last
epoch of each run is kept in ``wandb/snas-steps.json`` (:data:`STEPS_FILE`), since an offline
run does not know what an earlier session logged; a study kept at a URI keeps it in memory only.
Files are written into the run's own folder (``run.dir``), which W&B uploads (or, offline,
keeps for ``wandb sync``).
"""

from __future__ import annotations

import hashlib
import json
import netrc
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from harness import storage
from harness.tracking.base import Tracker
from harness.tracking.settings import WandbSettings
from snas.atomic import atomic_write
from snas.errors import UserInputError

if TYPE_CHECKING:
    from harness.study import Study

DEFAULT_HOST = "https://api.wandb.ai"
STEPS_FILE = "snas-steps.json"
"""In the folder W&B keeps its runs in (``<study>/wandb/``): the last epoch logged to each run, by run id."""
PARENT_ID = "{}-study"
TRIAL_ID = "{}-{}"
"""Run ids: the study's key, then ``study`` or the Tune trial id."""


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

    def __init__(self, settings: WandbSettings, study: Study, experiment_path: str):
        self.settings = settings
        self.group = study.name
        self.folder = None if storage.is_uri(experiment_path) else experiment_path
        """Where W&B keeps its run folders (``<folder>/wandb/``); None: W&B's default (the working folder)."""
        created = (study.provenance or {}).get("created", "")
        self.key = hashlib.sha256(f"{experiment_path}\n{created}".encode()).hexdigest()[:12]
        """Names the study's runs: the same in every ``resume`` of the study, new when it is run
        afresh (which stamps a new ``provenance.created``)."""
        self.parent: Any = None
        self.runs: dict[str, Any] = {}
        self.logged = self._read_steps()
        """Run id → the last epoch logged to it (this session's and earlier ones')."""

    @classmethod
    def check(cls, settings: WandbSettings) -> None:
        super().check(settings)
        if settings.mode == "online" and not _has_credentials():
            raise UserInputError("tracking.wandb.mode online needs W&B credentials: set WANDB_API_KEY or run "
                                 "`wandb login` (or use mode: offline and `wandb sync` later)")

    def destination(self) -> str:
        return f"W&B project {self.settings.project} ({self.settings.mode})"

    def _open(self, run_id: str, name: str, job_type: str, config: dict[str, Any]) -> Any:
        import wandb

        if self.folder is not None:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
        run = wandb.init(project=self.settings.project, mode=self.settings.mode, group=self.group, name=name,
                         job_type=job_type, config=config, dir=self.folder, id=run_id, resume="allow",
                         reinit="create_new", settings=wandb.Settings(console="off", silent=True, save_code=False))
        run.define_metric("epoch", hidden=True)
        run.define_metric("*", step_metric="epoch")
        return run

    def start_study(self, name: str, params: dict[str, Any], resuming: bool) -> None:
        """The study's run; a resumed study's is the one it had (by its id, whatever ``resuming`` says)."""
        self.parent = self._open(PARENT_ID.format(self.key), name, "study", params)

    def start_trial(self, trial_id: str, name: str, params: dict[str, Any]) -> None:
        """A trial's run; a trial of a resumed study continues the one it had."""
        self.runs[trial_id] = self._open(TRIAL_ID.format(self.key, trial_id), name, "trial",
                                         {**params, "trial_id": trial_id})

    def log_epoch(self, trial_id: str, epoch: int, values: dict[str, float]) -> None:
        """``epoch`` as the run's step; skipped at or below the last epoch logged to the run."""
        run = self.runs[trial_id]
        last = self.logged.get(run.id)
        if last is not None and epoch <= last:
            return
        run.log({**values, "epoch": epoch}, step=epoch)
        self.logged[run.id] = epoch
        self._write_steps()

    def _steps_path(self) -> Path | None:
        return None if self.folder is None else Path(self.folder, "wandb", STEPS_FILE)

    def _read_steps(self) -> dict[str, int]:
        """What :meth:`_write_steps` kept; nothing where it is missing or damaged (then a resumed
        run may log again an epoch it had)."""
        path = self._steps_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
        except (OSError, ValueError, RecursionError):  # missing, not UTF-8 or not JSON, nested too deeply
            return {}
        if not isinstance(data, dict):
            return {}
        return {run_id: epoch for run_id, epoch in data.items()
                if isinstance(epoch, int) and not isinstance(epoch, bool)}

    def _write_steps(self) -> None:
        if (path := self._steps_path()) is not None:
            text = json.dumps(self.logged, sort_keys=True).encode("utf-8")
            atomic_write(path, lambda handle: handle.write(text))

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
