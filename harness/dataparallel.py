"""Data-parallel trials: one search or retrain trial on ``resources.workers`` Ray Train workers.

Ray 2.60 runs Train inside Tune as in its guide "Hyperparameter Tuning with Ray Tune"
(Train V2): the Tune trial function builds a ``TorchTrainer`` and calls ``fit()``; the
Train controller (an actor Ray starts with ``num_cpus=0``) places the workers in a
placement group of its own, ``workers × {cpu, gpu}`` (:func:`scaling`), and sets up
torch.distributed (gloo on the CPU, NCCL when the workers have GPUs).  The trial itself
therefore asks Tune for no resources (:func:`trial_resources`), and a study runs as
many data-parallel trials at once as the cluster has room for whole worker groups
(:func:`concurrent_trials`).  Tune kills a trial it stops (ASHA, or the last epoch
reached) with its controller, before the controller removes its workers' placement
group; Ray Train's placement-group cleaner removes it then, which needs Ray's state API
(the dashboard: :func:`harness.cluster.ray_session`).

Every worker runs the same epochs of the trial kind's loop (:class:`snas.search.Search`,
:class:`snas.retrain.Retrain`); the data-parallel math (shards, averaged gradients,
per-rank noise and drop-path streams, summed metrics) is :mod:`snas.distributed`'s.
Every worker calls ``ray.train.report`` each epoch; Ray's ``TuneReportCallback`` hands
rank 0's metrics to Tune, so ASHA and the console see one trial.  Rank 0 alone writes
(but for the marker of ``faults.kill_worker_once``, which the killed rank leaves):
the trial's ``metrics.jsonl`` and ``genotype.json`` (into the Tune trial's folder) and
the checkpoint, which Train keeps as ``checkpoint_<time>/checkpoint.pt`` in the same
folder (the Train run is named after the trial folder, under the study's experiment
folder).  A worker that dies makes Train restart all workers from the latest checkpoint,
up to ``failures.max_failures`` times (``faults.kill_worker_once`` kills one to show
it); a trial Tune restarts (``snas-study resume``, or a failed trial driver) builds the
same Train run, which Train restores from its state in that folder.  Tune's scheduler
counts epochs (``epoch``, not ``training_iteration``): Tune keeps no checkpoint of such
a trial, so a restarted one would count from 0 again.
"""

from __future__ import annotations

import logging
import math
import os
import signal
from typing import Any

import ray
import ray.train
import ray.train.torch
from ray import tune
from ray.tune.integration.ray_train import TuneReportCallback

from harness.console import DropNotices
from harness.study import ResourcesConfig, WorkerKill
from harness.studyfolder import CHECKPOINT_FILE, KILLED_WORKER_MARKER
from harness.trialconfig import TrialSpec
from harness.trialloop import TrialFolder, drive, start, use_compile_cache
from snas.run import EpochRun, StepCallback
from snas.threads import use_available_cpus


def trial_resources() -> dict[str, float]:
    """What the Tune trial itself reserves: no CPU, it only waits for its Train run.  Tune
    refuses an empty request; one byte of memory is the smallest that is not."""
    return {"cpu": 0, "memory": 1}


def scaling(resources: ResourcesConfig) -> ray.train.ScalingConfig:
    per_worker = {"CPU": resources.cpu, "GPU": resources.gpu}
    return ray.train.ScalingConfig(num_workers=resources.workers, use_gpu=resources.gpu > 0,
                                   resources_per_worker=per_worker)


def concurrent_trials(resources: ResourcesConfig, cluster: dict[str, float]) -> int:
    """How many whole worker groups fit the cluster ``cluster`` (``ray.cluster_resources()``)
    at once, at least 1: Tune would otherwise start every trial's driver, each waiting
    for workers that cannot be placed."""
    fits = [cluster.get("CPU", 0.0) / (resources.workers * resources.cpu)]
    if resources.gpu > 0:
        fits.append(cluster.get("GPU", 0.0) / (resources.workers * resources.gpu))
    return max(1, math.floor(min(fits) + 1e-9))


def _report(metrics: dict[str, Any], checkpoint_folder: str | None) -> None:
    checkpoint = ray.train.Checkpoint.from_directory(checkpoint_folder) if checkpoint_folder else None
    ray.train.report(metrics, checkpoint=checkpoint)


def _restored(loop_class: type[EpochRun], config: Any) -> EpochRun | None:
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        return loop_class.restore(f"{folder}/{CHECKPOINT_FILE}", config=config)


def _kill_once(kill: WorkerKill, loop: EpochRun, folder: TrialFolder) -> StepCallback:
    """``faults.kill_worker_once``: this worker's process SIGKILLs itself after the given
    step, the first time the trial gets there (the marker in the trial folder says it did)."""
    def on_step(done: int, _total: int) -> None:
        if loop.epoch + 1 == kill.epoch and done == kill.step and not folder.exists(KILLED_WORKER_MARKER):
            folder.write(KILLED_WORKER_MARKER, f"rank {kill.rank} (pid {os.getpid()}) killed after step {done} "
                                               f"of epoch {kill.epoch}\n")
            os.kill(os.getpid(), signal.SIGKILL)

    return on_step


TRAIN_ERROR_LOGGER = "ray.train.v2._internal.util"
"""Where each rank of a Train run logs the traceback of an exception its training function
raised (Ray 2.60), which the driver prints among the trial lines."""


TRAIN_ERROR_NOTICE = "Error in training function"
"""The start of that traceback.  It is dropped: the trial's ``error.txt`` holds the traceback
and the study's console its last line, as for a single-process trial
(:data:`harness.console.TRIAL_ERRORS_SWITCH`); every rank would print its own."""


def _worker(setup: dict[str, Any]) -> None:
    """One worker of a data-parallel trial (Ray Train has set up its process group).  Rank 0
    writes what a single-process trial writes (:func:`harness.trialloop.start`, ``drive``)."""
    spec: TrialSpec = setup["spec"]
    # Train sets its workers' root logger to INFO, on the console: each rank's every report
    # ("Reporting training result ...", from a logger outside ``ray.train``, which
    # LoggingConfig does not reach) then reached the study's console.  WARNING, as in a
    # single-process trial.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger(TRAIN_ERROR_LOGGER).addFilter(DropNotices((TRAIN_ERROR_NOTICE,)))
    use_available_cpus(limit=max(1, int(spec.resources.cpu)))
    if spec.resources.gpu > 0:
        import torch

        torch.cuda.set_device(ray.train.torch.get_device())  # device "auto"/"cuda" is then this worker's GPU
    rank = ray.train.get_context().get_world_rank()
    folder: TrialFolder | None = setup["folder"] if rank == 0 else None
    loop = start(spec, setup["trial"], _restored, folder)
    use_compile_cache(loop, setup["compile_cache"])
    kill = spec.faults.kill_worker_once
    on_step = _kill_once(kill, loop, setup["folder"]) if kill is not None and kill.rank == rank else None
    drive(loop, spec, folder, _report, on_step=on_step)


def run_data_parallel_trial(config: dict[str, Any], spec: TrialSpec, folder: TrialFolder,
                            compile_cache: str | None) -> None:
    """The Tune trial of a data-parallel search or retraining: its Train run, to the end.
    Its workers write into ``folder`` (rank 0) and keep compiled graphs in ``compile_cache``
    (:func:`harness.trialloop.use_compile_cache`), as a single-process trial does."""
    storage = tune.get_context().get_storage()
    trainer = ray.train.torch.TorchTrainer(
        _worker,
        train_loop_config={"spec": spec, "trial": config, "folder": folder, "compile_cache": compile_cache},
        scaling_config=scaling(spec.resources),
        run_config=ray.train.RunConfig(  # type: ignore[call-arg]  # v2's logging_config, as below
            name=storage.trial_dir_name,
            storage_path=storage.experiment_fs_path,
            storage_filesystem=storage.storage_filesystem,
            failure_config=ray.train.FailureConfig(max_failures=spec.max_failures),
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=spec.keep_checkpoints),
            # ray.train.RunConfig is Train v2's at run time (whose callbacks this is); mypy reads v1's
            callbacks=[TuneReportCallback()],  # type: ignore[list-item]
            # Train's INFO lines (resources requested, each worker's every report and checkpoint)
            # would reach the study's console from its controller and workers; its warnings still do.
            logging_config=ray.train.LoggingConfig(log_level="WARNING"),
        ),
    )
    trainer.fit()
