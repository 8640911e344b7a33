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
from pathlib import Path
from typing import Any

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


def _write_trial_file(name: str, text: str) -> None:
    """Write a small file into the trial's folder on the study's storage (local or URI),
    under a temporary name first and then moved into place: a reader, or a trial killed
    mid-write, never leaves half a file under the real name."""
    storage = tune.get_context().get_storage()
    fs = storage.storage_filesystem
    path = f"{storage.trial_fs_path}/{name}"
    partial = f"{storage.trial_fs_path}/.{name}.partial"
    fs.create_dir(storage.trial_fs_path, recursive=True)
    with fs.open_output_stream(partial) as stream:
        stream.write(text.encode("utf-8"))
    fs.move(partial, path)


class InjectedFault(RuntimeError):
    """The failure ``faults.fail_once_at_epoch`` asks for."""


def _trial_file_exists(name: str) -> bool:
    import pyarrow.fs

    storage = tune.get_context().get_storage()
    info = storage.storage_filesystem.get_file_info(f"{storage.trial_fs_path}/{name}")
    return info.type != pyarrow.fs.FileType.NotFound


def _drive(loop: EpochRun, study: Study, after_epoch: Any = None) -> None:
    """Run ``loop`` to the end, reporting every epoch and checkpointing as the study says."""
    fault_epoch = study.faults.fail_once_at_epoch
    while not loop.finished:
        metrics = loop.run_epoch()
        _write_trial_file(METRICS_FILE, metrics_jsonl(loop.history))  # before the report: ASHA may stop us there
        if after_epoch is not None:
            after_epoch(loop)
        if loop.finished or loop.epoch % study.checkpoint_every == 0 or loop.epoch == fault_epoch:
            with tempfile.TemporaryDirectory() as folder:
                loop.save(Path(folder) / CHECKPOINT_FILE)
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
        else:
            tune.report(metrics)
        if loop.epoch == fault_epoch and not loop.finished and not _trial_file_exists(FAULT_MARKER):
            _write_trial_file(FAULT_MARKER, f"failed once after epoch {loop.epoch}\n")
            raise InjectedFault(f"injected fault after epoch {loop.epoch} (faults.fail_once_at_epoch)")


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
    """One trial of the study ``study``: its kind's loop, restored or new, driven to the end.

    A genotype the trial is given is written once, before the first epoch; one it derives,
    after every epoch."""
    _prepare_trial_process()
    spec = Study.model_validate(study)
    kind = spec.trial_kind
    loop_class = kind.loop()
    loop = _restored(loop_class) or loop_class(spec.trial_config_of(config))
    if loop.config.compile != "off":  # before the first step, where the compiling happens
        _share_compile_cache()

    def save_genotype(loop: EpochRun) -> None:
        _write_trial_file(GENOTYPE_FILE, json.dumps(loop.genotype.to_dict(), indent=2) + "\n")

    if not kind.derives_genotype:
        save_genotype(loop)
    _drive(loop, spec, save_genotype if kind.derives_genotype else None)


def trainable_of(kind: TrialKind) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """The Tune trainable of ``kind``'s trials, named ``<kind>_trial``: Tune records the name
    and refuses to resume a study with a differently named one."""
    def trial(config: dict[str, Any], study: dict[str, Any]) -> None:
        _run_trial(config, study)

    trial.__name__ = trial.__qualname__ = f"{kind.name}_trial"
    return trial
