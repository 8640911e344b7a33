"""Building (and restoring) the Ray Tune ``Tuner`` of a study."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from typing import Any

from ray import tune

from harness.console import FailureLines, ProgressLines
from harness.data_stop import DataFailureStop
from harness.policies.base import Objective
from harness.stoppers import stopper_of
from harness.study import Study
from harness.study.checks import GENOTYPE_KEY
from harness.studyfolder import trial_folder_name
from harness.tracking.callback import TrackingEvents
from harness.tracking.trackers import StudyTracking
from harness.trainables import trainable_of
from harness.trial_events import TrialEvents
from harness.trialconfig import TrialSpec
from harness.trialplan import TrialPlan

log = logging.getLogger(__name__)

ORIGIN_FIELDS = ("origin", "genotype_id", "source_trials", "random_index")
"""What a retrain trial's config says of its genotype's origin, as ``retrain.<field>``
(:mod:`harness.retraining`); ``None`` where a field does not apply (a random genotype has
no source trials, a searched one no random index)."""


def _origin_field(origins: Mapping[str, Mapping[str, Any]], field: str, spec: Mapping[str, Any]) -> Any:
    """Tune 2.60 hands a ``sample_from`` function the trial's spec (its config under ``config``);
    it announces handing the config itself instead, which this reads too."""
    config = spec["config"] if "config" in spec else spec
    return origins.get(config[GENOTYPE_KEY], {}).get(field)


def origin_fields(study: Study) -> dict[str, Any]:
    """``retrain.origin`` etc. for a retrain study made by ``snas-study retrain``: resolved by
    Tune from each trial's genotype label, so every trial's config (params.json, the
    experiment state) carries them; none for any other study."""
    origins = (study.source or {}).get("genotypes")
    if not origins or GENOTYPE_KEY not in study.space:
        return {}
    return {f"retrain.{field}": tune.sample_from(functools.partial(_origin_field, origins, field))
            for field in ORIGIN_FIELDS}


def trial_plan(study: Study) -> TrialPlan:
    """The study's trials for Tune, as its searcher plans them."""
    return study.searcher.plan(study.space, origin_fields(study))


def trial_dirname(trial: Any) -> str:
    """Tune's name for a trial's folder.  It stays at this address: a study's ``tuner.pkl``
    refers to it by name, and ``resume`` unpickles that file."""
    return trial_folder_name(trial.trial_id)


def _data_parallel(study: Study) -> bool:
    return study.resources.workers > 1


def trainable(study: Study) -> Any:
    """The study's trainable with its settings attached and its per-trial resources (a
    data-parallel trial's workers ask for theirs themselves: :mod:`harness.dataparallel`)."""
    fn = tune.with_parameters(trainable_of(study.trial_kind), spec=TrialSpec.of(study))
    if _data_parallel(study):
        from harness.dataparallel import trial_resources

        return tune.with_resources(fn, trial_resources())
    return tune.with_resources(fn, {"cpu": study.resources.cpu, "gpu": study.resources.gpu})


def max_concurrent(study: Study) -> int | None:
    """``resources.max_concurrent``; for data-parallel trials, by default as many as the
    connected cluster holds whole worker groups for."""
    if study.resources.max_concurrent is not None or not _data_parallel(study):
        return study.resources.max_concurrent
    import ray

    from harness.dataparallel import concurrent_trials

    return concurrent_trials(study.resources, ray.cluster_resources())


def objective_of(study: Study) -> Objective:
    """What the study's searcher and scheduler optimise."""
    others = tuple((term.metric, term.mode) for term in study.objectives[1:])
    constraints = tuple((metric, side, limit) for metric, bound in study.constraints.items()
                        for side, limit in (("max", bound.max), ("min", bound.min)) if limit is not None)
    return Objective(study.metric, study.mode, study.name, others, constraints)


def _search_algorithm(study: Study, plan: TrialPlan, experiment_path: str) -> Any:
    return study.searcher.build(study.space, plan, objective_of(study), experiment_path, max_concurrent(study))


def callbacks(study: Study, quiet: bool, tracking: StudyTracking | None = None,
              data_stop: DataFailureStop | None = None) -> list[tune.Callback]:
    """The study's console lines (with ``quiet``, only a line on stderr per failure), its
    TensorBoard runs, its trackers' runs (:mod:`harness.tracking`) and, given ``data_stop``,
    the stop at the first failure on the data (after the lines, which print the failure).
    Tune itself runs silent (``verbose=0``): its tables and result boxes are replaced by the
    lines."""
    tracked = [TrackingEvents(study, tracking)] if tracking is not None and tracking.trackers else []
    stop = [data_stop] if data_stop is not None else []
    return [TrialEvents(study), *tracked, FailureLines() if quiet else ProgressLines(study), *stop]


def run_config(study: Study, storage_path: str, quiet: bool, tracking: StudyTracking | None = None,
               data_stop: DataFailureStop | None = None) -> tune.RunConfig:
    return tune.RunConfig(
        name=study.name,
        storage_path=storage_path,
        failure_config=tune.FailureConfig(max_failures=study.failures.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=study.keep_checkpoints),
        verbose=0,
        callbacks=callbacks(study, quiet, tracking, data_stop),
        stop=stopper_of(study),
    )


SNAPSHOT_WARNING_THRESHOLD = "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S"
"""Tune warns (three lines, between the trial lines) when it snapshots the experiment state
more than once in 5 s -- which it must, as every checkpoint of a trial under
``num_to_keep`` forces one.  For a results folder on a local or mounted file system a
snapshot is a copy of a few kilobytes, so the warning asks nothing of the user; for cloud
storage (``s3://``, ``gs://``) each is an upload, and the warning stays."""


def quiet_snapshot_warning(storage_path: str) -> None:
    """Keep Tune's frequent-snapshot warning off the console of a study stored on a file
    system (:data:`SNAPSHOT_WARNING_THRESHOLD`); a threshold the user set is kept."""
    if "://" not in storage_path:
        os.environ.setdefault(SNAPSHOT_WARNING_THRESHOLD, "0")


def build_tuner(study: Study, storage_path: str, quiet: bool = False,
                tracking: StudyTracking | None = None, data_stop: DataFailureStop | None = None) -> tune.Tuner:
    quiet_snapshot_warning(storage_path)
    experiment_path = storage_path.rstrip("/") + "/" + study.name
    plan = trial_plan(study)
    return tune.Tuner(
        trainable(study),
        param_space=plan.param_space,
        tune_config=tune.TuneConfig(
            metric=study.metric, mode=study.mode,
            search_alg=_search_algorithm(study, plan, experiment_path),
            scheduler=study.scheduler.build(study.epochs, _data_parallel(study), objective_of(study)),
            num_samples=plan.num_samples,
            max_concurrent_trials=None if study.searcher.limits_concurrency() else max_concurrent(study),
            # A stopped data-parallel trial's actor must go: its Train run (controller,
            # workers, placement group) goes with it.
            reuse_actors=not _data_parallel(study), trial_dirname_creator=trial_dirname,
        ),
        run_config=run_config(study, storage_path, quiet, tracking, data_stop),
    )


def restored_run_config(tuner: tune.Tuner) -> tune.RunConfig | None:
    """The run configuration a restored ``tuner`` will run with, to change in place; None on a
    Ray Client driver, where the tuner lives on the cluster.

    Ray 2.60 has no public route: ``Tuner.restore`` takes no run configuration, the Tuner
    exposes none (ray-project/ray#41364, open), and the functional ``tune.run(resume=...)``
    would bypass the Tuner whose results ``resume`` reads.  So this reads Tune's private
    ``Tuner._local_tuner``, here only; ``test_restored_run_config_is_reached`` fails if Ray
    renames it."""
    from ray.util.client import ray as ray_client

    local = tuner._local_tuner
    if ray_client.is_connected() or local is None:  # None: the Tuner is a Ray Client's
        return None
    return local.get_run_config()


def restore_tuner(study: Study, experiment_path: str, quiet: bool = False,
                  tracking: StudyTracking | None = None, data_stop: DataFailureStop | None = None) -> tune.Tuner:
    """Continue a stopped study: unfinished and errored trials resume from their checkpoints;
    finished ones are not run again.

    Tune restores the run configuration the study started with, console included; this
    run's console (``quiet`` or not, and this version's lines for studies started before
    them) replaces it (:func:`restored_run_config`)."""
    quiet_snapshot_warning(experiment_path)
    tuner = tune.Tuner.restore(experiment_path, trainable=trainable(study), resume_unfinished=True,
                               resume_errored=True)
    restored = restored_run_config(tuner)
    if restored is not None:
        ours = TrialEvents | ProgressLines | FailureLines | TrackingEvents | DataFailureStop
        kept = [c for c in restored.callbacks or [] if not isinstance(c, ours)]
        restored.callbacks = kept + callbacks(study, quiet, tracking, data_stop)
        restored.verbose = 0
    return tuner
