"""The Tune trainables: thin loops around each trial kind's ``snas`` loop (:mod:`harness.kinds`).

Each trial turns its config (the study's base settings plus its varied dotted keys) into a
validated configuration, restores from ``tune.get_checkpoint()`` when Tune restarts it,
and reports one metrics dict per epoch -- so ``training_iteration`` equals the epoch and
ASHA's rungs are epochs.  A checkpoint (the loop's full state, RNGs included) goes with
the report every ``checkpoint_every`` epochs, at the end, and when the loss diverged; a
diverged run ends the trial normally with ``diverged: true`` in its last report.  Before
each report the trial rewrites ``metrics.jsonl`` (the loop's history) in its folder: the
analysis reads curves from it, since Tune's ``result.json`` can lose reports when a trial
restarts (it re-downloads a stale copy from storage).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs
from ray import tune

from harness.kinds import TrialKind
from harness.study import Study
from harness.studyfolder import (
    CHECKPOINT_FILE,
    COMPILE_CACHE_DIR,
    FAULT_MARKER,
    GENOTYPE_FILE,
    METRICS_FILE,
    metrics_jsonl,
)
from snas.compilation import share_compile_cache
from snas.run import EpochRun
from snas.threads import use_available_cpus


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

    def exists(self, name: str) -> bool:
        return self.filesystem.get_file_info(f"{self.path}/{name}").type != pyarrow.fs.FileType.NotFound


class InjectedFault(RuntimeError):
    """The failure ``faults.fail_once_at_epoch`` asks for."""


Report = Callable[[dict[str, Any], "str | None"], None]
"""``(metrics, checkpoint folder or None)``: hands one epoch's report to Tune (or Train)."""


def _tune_report(metrics: dict[str, Any], folder: str | None) -> None:
    tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder) if folder else None)


def drive(loop: EpochRun, study: Study, folder: TrialFolder | None, report: Report = _tune_report,
          after_epoch: Any = None) -> None:
    """Run ``loop`` to the end, reporting every epoch and checkpointing as the study says.

    ``folder`` is where the trial's files go; ``None`` in the workers of a data-parallel
    trial but rank 0, which run the same epochs, take part in saving (their random
    streams go into rank 0's checkpoint) and report, but write nothing.
    """
    fault_epoch = study.faults.fail_once_at_epoch
    while not loop.finished:
        metrics = loop.run_epoch()
        if folder is not None:
            folder.write(METRICS_FILE, metrics_jsonl(loop.history))  # before the report: ASHA may stop us there
            if after_epoch is not None:
                after_epoch(loop, folder)
        if loop.finished or loop.epoch % study.checkpoint_every == 0 or loop.epoch == fault_epoch:
            with tempfile.TemporaryDirectory() as checkpoint:
                written = loop.save(Path(checkpoint) / CHECKPOINT_FILE, write=folder is not None)
                report(metrics, checkpoint if written else None)
        else:
            report(metrics, None)
        if (folder is not None and loop.epoch == fault_epoch and not loop.finished
                and not folder.exists(FAULT_MARKER)):
            folder.write(FAULT_MARKER, f"failed once after epoch {loop.epoch}\n")
            raise InjectedFault(f"injected fault after epoch {loop.epoch} (faults.fail_once_at_epoch)")


def save_genotype(loop: EpochRun, folder: TrialFolder) -> None:
    folder.write(GENOTYPE_FILE, json.dumps(loop.genotype.to_dict(), indent=2) + "\n")


def _restored(kind: type, *args: Any) -> Any:
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        return kind.restore(Path(folder) / CHECKPOINT_FILE, *args)


def _prepare_trial_process() -> None:
    """Use as many threads as the trial has CPUs (no more than the node really has); keep Ray's
    per-checkpoint INFO lines out of the study's console (they repeat every few seconds in a
    study of short epochs)."""
    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
    use_available_cpus(limit=int(cpus))
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)


def _share_compile_cache() -> None:
    """Compiled trials of a study on local (or shared, mounted) storage share Inductor's
    caches in the study folder, so trials 2..N load the graphs trial 1 compiled; on cloud
    storage each node keeps Inductor's own node-local cache (:func:`share_compile_cache`)."""
    import pyarrow.fs

    storage = tune.get_context().get_storage()
    if isinstance(storage.storage_filesystem, pyarrow.fs.LocalFileSystem):
        share_compile_cache(Path(storage.experiment_fs_path) / COMPILE_CACHE_DIR)


def _run_trial(config: dict[str, Any], study: dict[str, Any]) -> None:
    """One trial of the study ``study``: its kind's loop, restored or new, driven to the end
    (on several workers when ``resources.workers`` says so).

    A genotype the trial is given is written once, before the first epoch; one it derives,
    after every epoch."""
    spec = Study.model_validate(study)
    if spec.resources.workers > 1:
        from harness.dataparallel import run_data_parallel_trial

        run_data_parallel_trial(config, study, TrialFolder.of_trial())
        return
    _prepare_trial_process()
    kind = spec.trial_kind
    loop_class = kind.loop()
    loop = _restored(loop_class) or loop_class(spec.trial_config_of(config))
    folder = TrialFolder.of_trial()
    if loop.config.compile != "off":  # before the first step, where the compiling happens
        _share_compile_cache()
    if not kind.derives_genotype:
        save_genotype(loop, folder)
    drive(loop, spec, folder, after_epoch=save_genotype if kind.derives_genotype else None)


def trainable_of(kind: TrialKind) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """The Tune trainable of ``kind``'s trials, named ``<kind>_trial``: Tune records the name
    and refuses to resume a study with a differently named one."""
    def trial(config: dict[str, Any], study: dict[str, Any]) -> None:
        _run_trial(config, study)

    trial.__name__ = trial.__qualname__ = f"{kind.name}_trial"
    return trial
