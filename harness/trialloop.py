"""One trial's epoch loop, the same in a single-process trial and in a data-parallel one.

The loop reports one metrics dict per epoch -- so ``training_iteration`` equals the epoch
and ASHA's rungs are epochs.  A checkpoint (the loop's full state, RNGs included) goes with
the report every ``checkpoint_every`` epochs, at the end, and when the loss diverged; a
diverged run ends the trial normally with ``diverged: true`` in its last report.  Before
each report the trial rewrites ``metrics.jsonl`` (the loop's history) in its folder: the
analysis reads curves from it, since Tune's ``result.json`` can lose reports when a trial
restarts (it re-downloads a stale copy from storage).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs
from ray import tune

from harness.lineage import Lineage
from harness.overrides import with_values
from harness.studyfolder import (
    CHECKPOINT_FILE,
    CHECKPOINT_PREFIX,
    FAULT_MARKER,
    GENOTYPE_FILE,
    METRICS_FILE,
    TRIAL_CONFIG_FILE,
    metrics_jsonl,
)
from harness.trialconfig import TrialSpec, resolved_config_text
from snas.compilation import share_compile_cache
from snas.run import EpochRun, StepCallback


@dataclass(frozen=True)
class TrialFolder:
    """The trial's folder on the study's storage (local or URI).  Picklable: a data-parallel
    trial hands it to its rank-0 worker, which has no Tune context of its own."""

    filesystem: pyarrow.fs.FileSystem
    path: str

    @classmethod
    def of_trial(cls) -> TrialFolder:
        storage = tune.get_context().get_storage()
        return cls(storage.storage_filesystem, storage.trial_fs_path)

    def write(self, name: str, text: str) -> None:
        """Write a small file under a temporary name first and then move it into place: a
        reader, or a trial killed mid-write, never leaves half a file under the real name."""
        path, partial = f"{self.path}/{name}", f"{self.path}/.{name}.partial"
        self.filesystem.create_dir(self.path, recursive=True)
        with self.filesystem.open_output_stream(partial) as stream:
            stream.write(text.encode("utf-8"))
        self.filesystem.move(partial, path)

    def read(self, name: str) -> str | None:
        """A small file's text; None when it is not there."""
        if not self.exists(name):
            return None
        with self.filesystem.open_input_stream(f"{self.path}/{name}") as stream:
            return stream.read().decode("utf-8", errors="replace")

    def exists(self, name: str) -> bool:
        return self.filesystem.get_file_info(f"{self.path}/{name}").type != pyarrow.fs.FileType.NotFound


class InjectedFault(RuntimeError):
    """The failure ``faults.fail_once_at_epoch`` asks for."""


Report = Callable[[dict[str, Any], "str | None"], None]
"""``(metrics, checkpoint folder or None)``: hands one epoch's report to Tune (or Train)."""


def _tune_report(metrics: dict[str, Any], folder: str | None) -> None:
    checkpoint = None
    if folder:
        skip_written_checkpoint_folders(tune.get_context().get_storage())
        checkpoint = tune.Checkpoint.from_directory(folder)
    tune.report(metrics, checkpoint=checkpoint)


_CHECKPOINT_FOLDER = re.compile(re.escape(CHECKPOINT_PREFIX) + r"(\d+)")


def skip_written_checkpoint_folders(storage: Any) -> None:
    """Make Tune's next checkpoint folder of this trial (``checkpoint_<index + 1>``) one that
    does not exist yet.

    Tune numbers a trial's checkpoint folders from the index its experiment state last
    recorded, and a resumed trial (or one restarted after a failure) counts on from the
    checkpoint it restarts from: it writes over the folders saved after that one.  Those
    may be in use.  Under PBT another trial may have copied one of them (its restart points
    at the folder): written over, it would restart from the wrong epoch -- in a synchronous
    population, the resumed study then hung with every trial past the next perturbation."""
    selector = pyarrow.fs.FileSelector(storage.trial_fs_path, allow_not_found=True)
    written = [int(match.group(1)) for info in storage.storage_filesystem.get_file_info(selector)
               if (match := _CHECKPOINT_FOLDER.fullmatch(info.base_name))]
    storage.current_checkpoint_index = max([storage.current_checkpoint_index, *written])


def start(spec: TrialSpec, params: dict[str, Any], restored: Callable[[type[EpochRun], Any], EpochRun | None],
          folder: TrialFolder | None, lineage: Lineage | None = None) -> EpochRun:
    """The trial's loop: restored from its checkpoint (``restored``) under the configuration its
    settings ``params`` give now -- a scheduler may have changed those since it was saved --
    or new.  The writer (``folder``) records the resolved configuration, its changes and the
    ``lineage`` of its state in ``config.json``, and a genotype the trial is given (a derived
    one is written every epoch); a state copied from another trial brings that trial's curve,
    written at once."""
    config = spec.config_of(params)
    loop_class = spec.kind.loop()
    exploits = len(lineage.exploits) if lineage else 0
    # Under a replayed schedule the params give the settings of epoch 1 only: a checkpoint
    # holds the ones in force when it was saved.
    loop = restored(loop_class, None if spec.scheduled else config) or loop_class(config)
    if folder is not None:
        folder.write(TRIAL_CONFIG_FILE, resolved_config_text(spec.kind_name, loop, lineage))
        if lineage and len(lineage.exploits) > exploits:
            folder.write(METRICS_FILE, metrics_jsonl(loop.history))
        if not spec.kind.derives_genotype:
            save_genotype(loop, folder)
    return loop


def drive(loop: EpochRun, spec: TrialSpec, folder: TrialFolder | None, report: Report = _tune_report,
          on_step: StepCallback | None = None, lineage: Lineage | None = None) -> None:
    """Run ``loop`` to the end, reporting every epoch and checkpointing as the study says.

    ``folder`` is where the trial's files go; ``None`` in the workers of a data-parallel
    trial but rank 0, which run the same epochs, take part in saving (their random
    streams go into rank 0's checkpoint) and report, but write nothing.  ``on_step`` is
    called after every optimisation step (:data:`snas.run.StepCallback`).  ``lineage``: what
    every checkpoint says of where its state came from (:mod:`harness.lineage`).
    """
    fault_epoch = spec.faults.fail_once_at_epoch
    while not loop.finished:
        if _take_scheduled_changes(loop, spec) and folder is not None:
            folder.write(TRIAL_CONFIG_FILE, resolved_config_text(spec.kind_name, loop, lineage))
        metrics = loop.run_epoch(on_step)
        if folder is not None:
            folder.write(METRICS_FILE, metrics_jsonl(loop.history))  # before the report: ASHA may stop us there
            if spec.kind.derives_genotype:
                save_genotype(loop, folder)
        if loop.finished or loop.epoch % spec.checkpoint_every == 0 or loop.epoch == fault_epoch:
            with tempfile.TemporaryDirectory() as checkpoint:
                written = loop.save(Path(checkpoint) / CHECKPOINT_FILE, write=folder is not None)
                if written and lineage is not None:
                    lineage.save(Path(checkpoint))
                report(metrics, checkpoint if written else None)
        else:
            report(metrics, None)
        if (folder is not None and loop.epoch == fault_epoch and not loop.finished
                and not folder.exists(FAULT_MARKER)):
            folder.write(FAULT_MARKER, f"failed once after epoch {loop.epoch}\n")
            raise InjectedFault(f"injected fault after epoch {loop.epoch} (faults.fail_once_at_epoch)")


def _take_scheduled_changes(loop: EpochRun, spec: TrialSpec) -> bool:
    """Retune ``loop`` with the scheduled change due after its epochs done; whether one was."""
    due = [settings for epoch, settings in spec.scheduled if epoch == loop.epoch]
    if not due:
        return False
    current = loop.config.model_dump(mode="json", by_alias=True)
    return bool(loop.retune(type(loop.config).model_validate(with_values(current, due[0]))))


def save_genotype(loop: EpochRun, folder: TrialFolder) -> None:
    folder.write(GENOTYPE_FILE, json.dumps(loop.genotype.to_dict(), indent=2) + "\n")


def use_compile_cache(loop: EpochRun, folder: str | None) -> None:
    """A compiled trial's process (or data-parallel worker) keeps Inductor's caches in the
    study's ``folder`` (``None``: Inductor's node-local default).  Called before the first
    step, where the compiling happens."""
    if folder is not None and loop.config.compile != "off":
        share_compile_cache(folder)
