"""The checks of a study across its sections, run when a study is read (:mod:`.load`).

Each raises :class:`ValueError` naming the keys, so the one message a user sees says
``invalid study FILE: <what is wrong>``.  None needs torch or the data
(:mod:`harness.study.probe` tries the trials' real configurations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from harness.errors import invalid
from harness.policies import SCHEDULERS
from harness.policies.base import Budget, TrialFacts
from harness.study.objectives import BETTER

if TYPE_CHECKING:
    from harness.kinds import TrialConfig
    from harness.study.schema import Study


def check_sections(study: Study, frozen: bool = False) -> None:
    """Every cross-section rule, in the order a user would fix them; ``frozen``: a study
    folder's study, read as it ran (its scheduler's epochs of action are not checked again:
    versions before this one did not)."""
    _every_setting_is_read(study)
    _data_parallel(study)
    if study.multi_objective or study.constraints:
        check_objectives(study)
    else:
        problem = study.ranking_problem(study.metric)
        if problem:
            raise ValueError(f"objective.metric {problem}")
    _several_objectives(study)
    study.searcher.check(study.space)
    study.scheduler.check(study.space)
    study.scheduler.check_trials(study.space, trial_facts(study))
    if not frozen:
        study.scheduler.check_budget(trial_budget(study))
    _derived_settings(study)
    _space_keys(study)
    _gpu_request(study)


GENOTYPE_KEY = "retrain.settings.genotype"


def _several_objectives(study: Study) -> None:
    """A list objective needs a searcher and a scheduler that rank trials by no single metric."""
    if not study.multi_objective:
        return
    for section, policy in (("searcher", study.searcher), ("scheduler", study.scheduler)):
        if policy.several_objectives:
            raise ValueError(f"{section} {policy.name} {policy.several_objectives}")


def trial_facts(study: Study) -> TrialFacts:
    """What a scheduler that continues trials under new settings checks the study against."""
    kind = study.trial_kind
    return TrialFacts(kind.section, kind.mutable_settings, study.checkpoint_every, study.resources.workers,
                      study.searcher)


def trial_budget(study: Study) -> Budget:
    """The epochs of the study's trials: the first trial's, and the most any trial runs."""
    section = study.trial_kind.section
    first = int(first_trial_config(study).epochs)
    key = f"{section}.epochs"
    values = study.space[key].probe_values() if key in study.space else []
    varied = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]  # the probe refuses the rest
    return Budget(section, first, max([first, *varied]), bool(varied))


def first_trial_config(study: Study) -> TrialConfig:
    """The configuration of a representative trial (each varied setting at its first value);
    where it does not validate, the problem is one of the settings all trials share, and
    the error says so."""
    prefix = study.trial_kind.section
    try:
        return study.trial_config_of(study.first_trial())
    except ValidationError as err:
        raise invalid(err, f"{study.kind} settings", prefix, ("data",), study_model=type(study)) from None


def _derived_settings(study: Study) -> None:
    """A retrain study made by ``snas-study retrain`` has Tune derive each trial's genotype origin
    from its genotype label: its searcher must carry such settings."""
    if (study.source or {}).get("genotypes") and GENOTYPE_KEY in study.space \
            and not study.searcher.carries_derived_settings:
        raise ValueError(f"searcher {study.searcher.name} cannot run a retrain study's genotypes ({GENOTYPE_KEY}): "
                         f"Tune's variant generator fills in where each came from; use searcher grid or random")


def _space_keys(study: Study) -> None:
    """Every space key is a trial's setting, or one its scheduler reads."""
    sections = (f"{study.trial_kind.section}.", "data.")
    for key in study.space:
        if key.startswith(sections) or key in study.scheduler.space_keys:
            continue
        readers = [name for name, scheduler in SCHEDULERS.items() if key in scheduler.space_keys]
        if readers:
            raise ValueError(f"space key {key!r} is read by scheduler {' or '.join(readers)} only, not by "
                             f"{study.scheduler.name}")
        raise ValueError(f"space key {key!r} must start with {' or '.join(sections)} (a dotted setting)")


def _gpu_request(study: Study) -> None:
    """Ray shows a trial only the GPUs it asked for: a CUDA device needs ``resources.gpu``."""
    if study.resources.gpu > 0:
        return
    key = f"{study.trial_kind.section}.device"
    if any(str(device).startswith("cuda") for device in _values(study, "device", "auto")):
        raise ValueError(f"{key} asks for cuda but resources.gpu is 0, so Ray gives the trials no GPU; "
                         f"set resources.gpu (e.g. --set resources.gpu=1, or 0.5 for two trials per GPU) "
                         f"or use device auto")


def _every_setting_is_read(study: Study) -> None:
    """Refuse settings no trial would read, naming the key to use instead: another kind's
    section (a retrain study's ``search``, e.g. ``retrain --set search.epochs=1``) and a
    ``data`` inside the trial settings (every trial takes the top-level ``data``)."""
    kind = study.trial_kind
    for section in kind.unread_sections:
        settings = study.section(section)
        if settings:
            keys = ", ".join(f"{section}.{key}" for key in settings)
            first = next(iter(settings))
            raise ValueError(f"a {study.kind} study reads no {section} settings ({keys}); its trials are "
                             f"configured by {kind.section} (e.g. {kind.section}.{first})")
    if study.stop.max_skip_connect is not None and not kind.derives_genotype:
        raise ValueError(f"stop.max_skip_connect is read by search studies only: a {study.kind} study's "
                         f"trials are given their genotype; drop stop.max_skip_connect")
    for section in ("search", "retrain.settings"):
        if "data" in study.section(section):
            raise ValueError(f"{section}.data is not read: every trial takes the study's top-level data "
                             f"section; set data.<key> instead (e.g. data.dataset)")


def _values(study: Study, setting: str, default: object) -> list[object]:
    """Every value the trials' ``setting`` (relative to their section) can take: the base's
    and each value the space gives it."""
    key = f"{study.trial_kind.section}.{setting}"
    values = [study.trial_base.get(setting, default)]
    return values + (study.space[key].probe_values() if key in study.space else [])


def _data_parallel(study: Study) -> None:
    """What a trial on several workers cannot do, said before any trial starts."""
    workers = study.resources.workers
    kill = study.faults.kill_worker_once
    if kill is not None and kill.rank >= workers:
        raise ValueError(f"faults.kill_worker_once.rank {kill.rank}: a trial has ranks 0 to {workers - 1} "
                         f"(resources.workers {workers})")
    if workers == 1:
        if kill is not None:
            raise ValueError("faults.kill_worker_once kills a worker of a data-parallel trial; this study's "
                             "trials run in one process (resources.workers: 1): use faults.fail_once_at_epoch")
        return
    section = study.trial_kind.section
    if any(_values(study, "second_order", False)):
        raise ValueError(f"resources.workers {workers}: second_order (DARTS's unrolled α gradient) runs in one "
                         f"process only; use resources.workers: 1 or second_order: false")
    if any(_values(study, "sync_batchnorm", False)) and (
            study.resources.gpu == 0 or study.trial_base.get("device") == "cpu"):
        raise ValueError(f"{section}.sync_batchnorm needs GPU workers (torch's SyncBatchNorm runs on CUDA only), "
                         f"but the trials run on the CPU (resources.gpu {study.resources.gpu:g}, {section}.device "
                         f"{study.trial_base.get('device', 'auto')}); there each of the {workers} workers "
                         f"normalises its own shard: drop {section}.sync_batchnorm")
    uneven = [b for b in _values(study, "batch_size", study.trial_kind.default_batch_size)
              if isinstance(b, int) and b % workers]
    if uneven:
        raise ValueError(f"{section}.batch_size {uneven[0]} is the global batch: split across {workers} workers "
                         f"it must be a multiple of {workers}")


def check_objectives(study: Study) -> None:
    """Raise :class:`ValueError` naming the key where a list objective or a constraint
    cannot be searched: an unknown metric, another kind's, one given twice, a mode that asks
    for the worse end of a metric."""
    seen: set[str] = set()
    for index, term in enumerate(study.objectives):
        key = f"objective[{index}]" if study.multi_objective else "objective"
        problem = study.ranking_problem(term.metric)
        if problem:
            raise ValueError(f"{key}.metric {problem}")
        if term.metric in seen:
            raise ValueError(f"{key}.metric {term.metric} is already an objective; give each metric once")
        seen.add(term.metric)
        better = BETTER.get(term.metric)
        if study.multi_objective and better is not None and term.mode != better:
            worst, good = ("lowest", "larger") if better == "max" else ("largest", "smaller")
            raise ValueError(f"{key}.mode {term.mode} would search for the {worst} {term.metric}; it is better "
                             f"{good}: use mode {better}")
    if study.constraints and not study.multi_objective:
        raise ValueError("constraints bound the trials of a multi-objective study (a list objective), whose answer "
                         "is the front of the feasible trials; with one objective, add the bounded metric as a second "
                         "objective or drop constraints")
    for metric in study.constraints:
        problem = study.ranking_problem(metric)
        if problem:
            raise ValueError(f"constraints.{metric}: {problem}")
