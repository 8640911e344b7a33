"""Study files: a sweep of searches (or of retrainings) described in YAML, validated once.

A study names the base settings of every trial (``data``, ``search`` or ``retrain``), the
settings that vary (``space``, addressed by dotted keys such as
``search.temperature.initial``), how trials are proposed (``searcher``), stopped
(``scheduler``), placed (``resources``), stored and retried.  Everything a trial will be
built from is validated here, before Ray starts: every grid/choice value and both ends of
every range are tried against the real search / retrain configuration, so a typo or an
out-of-range value is reported with its key path instead of failing trials one by one.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
import yaml
from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from harness.arguments import load_yaml, read_yaml_mapping
from harness.errors import invalid
from harness.health_settings import HealthThresholds, StopConfig
from harness.kinds import KINDS, TrialConfig, TrialKind
from harness.overrides import apply_overrides, with_values
from harness.storage import is_uri
from snas.catalogue import CATALOGUE, named_genotype, resolve_genotype
from snas.config import RetrainConfig, SearchConfig
from snas.configmodel import Frozen
from snas.data.config import DataConfig
from snas.data.sets import DATASETS, InputSpec
from snas.errors import UserInputError
from snas.genotype import GenotypeError
from snas.spaces import genotype_from_dict

_NON_NUMERIC = {"genotype", "diverged"}
_MAX_COMBINATIONS_CHECKED = 512
_DEFAULT_BATCH_SIZES = {"search": SearchConfig.model_fields["batch_size"].default,
                        "retrain": RetrainConfig.model_fields["batch_size"].default}
"""The global batch of a trial whose settings name none, by kind: it must split across the workers."""
STORAGE_SCHEMES = ("s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss", "file")
"""URI schemes of the pyarrow file systems Tune's storage goes through."""


def _genotype_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    return genotype_from_dict(mapping).to_dict()


GenotypeMapping = Annotated[dict[str, Any], AfterValidator(_genotype_mapping)]


class Domain(Frozen):
    """How one setting varies: exactly one of the keys.

    ``grid`` tries every value; ``choice`` samples one per trial; ``uniform`` and
    ``loguniform`` sample floats in ``[low, high]``; ``randint`` samples integers in
    ``[low, high)`` (high excluded, as in Ray Tune).
    """

    grid: list[Any] | None = None
    choice: list[Any] | None = None
    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Domain:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of grid, choice, uniform, loguniform, randint (got {given or 'none'})")
        kind = given[0]
        value = getattr(self, kind)
        if kind in ("grid", "choice") and not value:
            raise ValueError(f"{kind} needs at least one value")
        if kind in ("uniform", "loguniform", "randint") and not value[0] < value[1]:
            raise ValueError(f"{kind} needs low < high, got {list(value)}")
        if kind == "loguniform" and value[0] <= 0:
            raise ValueError(f"loguniform needs low > 0, got {value[0]}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)

    @property
    def bounds(self) -> Any:
        return getattr(self, self.kind)

    def problem_with(self, value: Any) -> str | None:
        """Why this domain cannot produce ``value`` (None when it can): a point run first must
        be a trial the study could have proposed, or Tune runs it with a warning and the
        trial fails on it later (and Optuna cannot record it at all)."""
        if self.kind in ("grid", "choice"):
            listed = self.bounds
            if any(value == v and isinstance(value, bool) == isinstance(v, bool) for v in listed):
                return None
            return f"{value!r} is not one of the {self.kind} values {listed}"
        low, high = self.bounds
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind == "randint":
            if not (number and float(value).is_integer() and low <= value < high):
                return f"{value!r} is not a whole number in randint [{low}, {high})"
            return None
        if not (number and low <= value <= high):
            return f"{value!r} is not a number in {self.kind} [{low}, {high}]"
        return None

    def probe_values(self) -> list[Any]:
        """Values that, if all valid, make every value this domain can produce valid."""
        if self.kind in ("grid", "choice"):
            return list(self.bounds)
        low, high = self.bounds
        return [low, high - 1] if self.kind == "randint" else [low, high]


class Objective(Frozen):
    """The reported metric that ranks trials (and that ASHA and Optuna optimise)."""

    metric: str | None = None
    """Default: ``search_val_acc`` for search studies, ``val_acc`` for retrain studies."""
    mode: Literal["max", "min"] = "max"


class SearcherConfig(Frozen):
    """How trial settings are proposed.

    ``grid``: every combination of the ``grid`` entries (no sampled entries), repeated
    ``num_samples`` times.  ``random``: grid entries crossed with ``num_samples`` seeded
    random draws of the sampled entries.  ``optuna``: ``num_samples`` trials proposed by a
    seeded TPE sampler, starting from ``points_to_evaluate``.
    """

    name: Literal["grid", "random", "optuna"] = "grid"
    num_samples: int = Field(1, ge=1)
    seed: int = Field(0, ge=0)
    points_to_evaluate: list[dict[str, Any]] = []
    grid_order: Literal["shuffled", "listed"] = "shuffled"
    """Order in which the grid combinations start.  ``shuffled`` (seeded by ``seed``)
    because asynchronous halving judges a trial only against those that reached a rung
    before it: a sweep listed from weak to strong values would pass nearly every trial
    through every rung.  ``listed``: Tune's order (keys sorted, the first varying fastest)."""


class SchedulerConfig(Frozen):
    """``asha`` stops weak trials at rungs grace_period · reduction_factor^k epochs."""

    name: Literal["fifo", "asha"] = "asha"
    grace_period: int = Field(1, ge=1)
    reduction_factor: float = Field(2.0, gt=1)
    max_t: int | None = Field(None, ge=1)
    """Default: the trials' epoch count."""


class ResourcesConfig(Frozen):
    """Per trial, or per worker of a data-parallel trial.  Fractional GPUs share a device:
    several trials must fit in its memory."""

    workers: int = Field(1, ge=1)
    """Processes of one search trial (Ray Train workers, :mod:`harness.dataparallel`); each
    takes its shard of the global ``batch_size``.  1: the trial is one process."""
    cpu: float = Field(1.0, gt=0)
    """CPUs of the trial, or of each of its workers."""
    gpu: float = Field(0.0, ge=0)
    """GPUs of the trial, or of each of its workers (NCCL when > 0, gloo otherwise)."""
    max_concurrent: int | None = Field(None, ge=1)


class StorageConfig(Frozen):
    path: str = Field("results", min_length=1)
    """Folder (or ``s3://`` / ``gs://`` URI) that holds ``<study name>/``."""
    shared: bool = False
    """The folder is mounted on every node of the cluster (NFS); needed for a local path
    on a multi-node cluster."""

    @field_validator("path")
    @classmethod
    def _known_scheme(cls, path: str) -> str:
        if not is_uri(path):
            return path
        scheme = path.split("://", 1)[0].lower()
        if scheme not in STORAGE_SCHEMES:
            raise ValueError(f"{path!r}: Ray Tune cannot store results under {scheme}:// URIs; "
                             f"use a folder or one of {', '.join(s + '://' for s in STORAGE_SCHEMES)}")
        return path


class FailuresConfig(Frozen):
    max_failures: int = Field(2, ge=-1)
    """Restarts of a failed trial from its last checkpoint (-1: unlimited)."""


class WorkerKill(Frozen):
    """Where a data-parallel trial's worker dies: rank ``rank``, after step ``step`` of epoch
    ``epoch`` (a step past the epoch's last, or an epoch past the trial's, kills nothing)."""

    rank: int = Field(ge=0)
    epoch: int = Field(ge=1)
    step: int = Field(ge=1)


class FaultsConfig(Frozen):
    """Deliberate failures, to check that a setup survives them before a long study does."""

    fail_once_at_epoch: int | None = Field(None, ge=1)
    """Every trial raises once, right after checkpointing this epoch; Tune must restart it
    from that checkpoint (needs ``failures.max_failures`` ≥ 1)."""
    kill_worker_once: WorkerKill | None = None
    """In every data-parallel trial, the worker of this rank SIGKILLs its own process once,
    mid-epoch, as a crashed or preempted machine would; Ray Train must restart all workers
    from the last checkpoint (needs ``failures.max_failures`` ≥ 1)."""


class RetrainSection(Frozen):
    """Retraining the winners: defaults for ``snas-study retrain`` and retrain studies."""

    top: int = Field(3, ge=1)
    """How many distinct genotypes (by :func:`snas.genotype.genotype_id`) to retrain."""
    seeds: int = Field(2, ge=1)
    random: int = Field(0, ge=0)
    """How many genotypes to draw uniformly from the search's space, under its derivation
    rule, and retrain beside the winners with the same settings and seeds: the
    random-architecture baseline (Yang et al., ICLR 2020; Li & Talwalkar, UAI 2019)."""
    random_seed: int = Field(0, ge=0)
    """Seed of those draws (recorded in the retrain study, so its random cells can be redrawn)."""
    settings: dict[str, Any] = {}
    """Fields of the retraining configuration (epochs, layers, init_channels, ...)."""


class Study(Frozen):
    """A study file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: str = "search"
    """A trial kind of :data:`harness.kinds.KINDS`."""
    description: str = ""
    data: DataConfig = DataConfig()
    search: dict[str, Any] = {}
    """Fields of the search configuration shared by all trials (see snas.config.SearchConfig)."""
    retrain: RetrainSection = RetrainSection()
    genotypes: dict[str, GenotypeMapping] = {}
    """Named genotypes a retrain study can refer to in ``retrain.settings.genotype``.  A study
    file may give each as a catalogue name, a genotype file or Genotype(...) text:
    :func:`validate_study` reads those once, so the model (a frozen study.yaml, a trial)
    holds only mappings and never opens a file."""
    space: dict[str, Domain] = {}
    objective: Objective = Objective()
    searcher: SearcherConfig = SearcherConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    resources: ResourcesConfig = ResourcesConfig()
    storage: StorageConfig = StorageConfig()
    failures: FailuresConfig = FailuresConfig()
    faults: FaultsConfig = FaultsConfig()
    health: HealthThresholds = HealthThresholds()
    """When ``best``, ``status``, ``run`` and the report call a winner unhealthy (:mod:`harness.health`)."""
    stop: StopConfig = StopConfig()
    """Conditions that end a search trial early (a collapsing normal cell)."""
    checkpoint_every: int = Field(1, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    provenance: dict[str, Any] | None = None
    """Written by ``snas-study run`` into the frozen study.yaml: versions, time, command."""
    source: dict[str, Any] | None = None
    """For studies made by ``snas-study retrain``: the search study, its metric, the searched
    score of every searched genotype label (compared with the retrained accuracy) and, in
    ``genotypes``, each label's origin (:mod:`harness.retraining`)."""

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        return KINDS.check(kind)

    def ranking_problem(self, metric: str) -> str | None:
        """Why ``metric`` cannot rank this study's trials, or None when it can."""
        allowed = self.trial_kind.metrics
        if metric not in allowed or metric in _NON_NUMERIC:
            return (f"{metric!r} is not a numeric {self.kind} metric; "
                    f"choose from {', '.join(m for m in allowed if m not in _NON_NUMERIC)}")
        return None

    def check_ranking_metric(self, metric: str) -> None:
        problem = self.ranking_problem(metric)
        if problem:
            raise UserInputError(f"--metric {problem}")

    @model_validator(mode="after")
    def _every_setting_is_read(self) -> Study:
        """Refuse settings no trial would read, naming the key to use instead: a retrain
        study's ``search`` section (e.g. ``retrain --set search.epochs=1``) and a ``data``
        inside the trial settings (every trial takes the top-level ``data``)."""
        if self.kind == "retrain" and self.search:
            keys = ", ".join(f"search.{key}" for key in self.search)
            first = next(iter(self.search))
            raise ValueError(f"a retrain study reads no search settings ({keys}); its trials are configured by "
                             f"retrain.settings (e.g. retrain.settings.{first})")
        if self.stop.max_skip_connect is not None and not self.trial_kind.derives_genotype:
            raise ValueError(f"stop.max_skip_connect is read by search studies only: a {self.kind} study's "
                             f"trials are given their genotype; drop stop.max_skip_connect")
        for section, settings in (("search", self.search), ("retrain.settings", self.retrain.settings)):
            if "data" in settings:
                raise ValueError(f"{section}.data is not read: every trial takes the study's top-level data "
                                 f"section; set data.<key> instead (e.g. data.dataset)")
        return self

    @model_validator(mode="after")
    def _data_parallel(self) -> Study:
        """What a trial on several workers cannot do, said before any trial starts."""
        workers = self.resources.workers
        kill = self.faults.kill_worker_once
        if kill is not None and kill.rank >= workers:
            raise ValueError(f"faults.kill_worker_once.rank {kill.rank}: a trial has ranks 0 to {workers - 1} "
                             f"(resources.workers {workers})")
        if workers == 1:
            if kill is not None:
                raise ValueError("faults.kill_worker_once kills a worker of a data-parallel trial; this study's "
                                 "trials run in one process (resources.workers: 1): use faults.fail_once_at_epoch")
            return self
        second_order = [self.search.get("second_order", False)]
        second_order += self.space["search.second_order"].probe_values() if "search.second_order" in self.space else []
        if any(second_order):
            raise ValueError(f"resources.workers {workers}: second_order (DARTS's unrolled α gradient) runs in one "
                             f"process only; use resources.workers: 1 or second_order: false")
        sync = [self.search.get("sync_batchnorm", False)]
        sync += self.space["search.sync_batchnorm"].probe_values() if "search.sync_batchnorm" in self.space else []
        if any(sync) and (self.resources.gpu == 0 or self.search.get("device") == "cpu"):
            raise ValueError(f"search.sync_batchnorm needs GPU workers (torch's SyncBatchNorm runs on CUDA only), "
                             f"but the trials run on the CPU (resources.gpu {self.resources.gpu:g}, search.device "
                             f"{self.search.get('device', 'auto')}); there each of the {workers} workers "
                             f"normalises its own shard: drop search.sync_batchnorm")
        batch_key = f"{self.trial_kind.section}.batch_size"
        batches = [self.trial_kind.settings(self).get("batch_size", _DEFAULT_BATCH_SIZES[self.kind])]
        batches += self.space[batch_key].probe_values() if batch_key in self.space else []
        uneven = [b for b in batches if isinstance(b, int) and b % workers]
        if uneven:
            raise ValueError(f"{batch_key} {uneven[0]} is the global batch: split across {workers} workers "
                             f"it must be a multiple of {workers}")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Study:
        problem = self.ranking_problem(self.metric)
        if problem:
            raise ValueError(f"objective.metric {problem}")
        sampled = [k for k, d in self.space.items() if d.kind != "grid"]
        if self.searcher.name == "grid" and sampled:
            raise ValueError(f"searcher grid tries grid entries only; {', '.join(sampled)} are sampled: "
                             "use searcher.name random (or optuna), or make them grid entries")
        gridded = [k for k, d in self.space.items() if d.kind == "grid"]
        if self.searcher.name == "optuna" and gridded:
            raise ValueError(f"Ray's Optuna searcher does not support grid entries ({', '.join(gridded)}); "
                             "use choice instead")
        for point in self.searcher.points_to_evaluate:
            unknown = set(point) - set(self.space)
            if unknown:
                raise ValueError(f"searcher.points_to_evaluate uses keys not in space: {', '.join(sorted(unknown))}")
        if gridded and self.searcher.points_to_evaluate and self.searcher.grid_order == "shuffled":
            raise ValueError("searcher.points_to_evaluate runs first, each point crossed with the grid entries it "
                             "leaves out, in listed order: set searcher.grid_order: listed to use it with grid "
                             f"entries ({', '.join(gridded)})")
        for index, point in enumerate(self.searcher.points_to_evaluate):
            for key, value in point.items():
                problem = self.space[key].problem_with(value)
                if problem:
                    raise ValueError(f"searcher.points_to_evaluate[{index}].{key}: {problem}")
        return self

    # -------------------------------------------------------------- derived views
    @property
    def trial_kind(self) -> TrialKind:
        return KINDS[self.kind]

    @property
    def metric(self) -> str:
        return self.objective.metric or self.trial_kind.default_metric

    @property
    def trial_base(self) -> dict[str, Any]:
        """The settings every trial starts from (its kind's section as written)."""
        return self.trial_kind.settings(self)

    def base_settings(self) -> dict[str, Any]:
        """The settings every trial starts from, as a plain nested mapping."""
        return {**self.trial_kind.nest(self.trial_base), "data": self.data.model_dump(mode="json")}

    def trial_settings(self, trial_config: dict[str, Any]) -> dict[str, Any]:
        """Base settings with a trial's varied values (dotted keys) applied."""
        return with_values(self.base_settings(), trial_config)

    def data_configs(self) -> list[DataConfig]:
        """The data settings trials will use: each value a ``data.*`` space key can take (the
        others at their base), or the base when the space varies none."""
        configs = [DataConfig.model_validate(self.trial_settings({key: value})["data"])
                   for key, domain in self.space.items() if key.startswith("data.")
                   for value in domain.probe_values()]
        return list({c.model_dump_json(): c for c in configs}.values()) or [self.data]

    def _default_deciding_variants(self) -> list[dict[str, Any]]:
        """One trial config per value of each varied default-deciding setting."""
        return [{key: value} for key in _DEFAULT_DECIDING if key in self.space
                for value in self.space[key].probe_values()]

    def trial_config_of(self, trial_config: dict[str, Any]) -> TrialConfig:
        """The validated configuration of the trial with the varied values ``trial_config``."""
        settings = self.trial_settings(trial_config)
        return self.trial_kind.build(self.trial_kind.unnest(settings), settings["data"], self.genotypes)

    @property
    def epochs(self) -> int:
        """Epochs of a trial (of the first trial when the space varies them)."""
        first = {key: domain.probe_values()[0] for key, domain in self.space.items()}
        return int(self.trial_config_of(first).epochs)

    def grid_combinations(self) -> list[dict[str, Any]]:
        """Every combination of the grid entries in Tune's order (keys sorted, the first
        varying fastest); ``[{}]`` when the space has none."""
        gridded = {key: domain.bounds for key, domain in self.space.items() if domain.kind == "grid"}
        keys = sorted(gridded, reverse=True)
        return [dict(zip(keys, values))
                for values in itertools.product(*(gridded[key] for key in keys))]

    def expected_trials(self) -> int:
        """Trials the study runs: each grid combination ``num_samples`` times (counted, not listed)."""
        return math.prod(len(domain.bounds) for domain in self.space.values() if domain.kind == "grid") \
            * self.searcher.num_samples

    def experiment_path(self) -> str:
        """Where Tune's experiment folder (and the harness's files) live."""
        root = self.storage.path
        if is_uri(root):
            return root.rstrip("/") + "/" + self.name
        return str(Path(root).expanduser().absolute() / self.name)

    def resolved(self) -> Study:
        """A copy with every default of the trial configuration written out.

        The base settings must be valid as written even where the space replaces them in
        every trial: they are what the frozen study.yaml records.  Where the space varies
        a setting that decides other settings' defaults (the method, the search space), a
        default is written out only where every value gives the same one: written out, the
        SNAS default temperature of a base ``method: snas`` would override GDAS's own in
        the GDAS trials.
        """
        prefix = self.trial_kind.section
        try:
            return self._resolved()
        except ValidationError as err:
            raise invalid(err, f"{prefix} settings", prefix, ("data",), study_model=Study) from None

    def _resolved(self) -> Study:
        """The required settings stay as written (a genotype's label, not the mapping it
        names); without them in the base nothing can be written out."""
        written = self.trial_base
        if any(key not in written for key in self.trial_kind.required):
            return self
        full = self.trial_config_of({}).model_dump(mode="json", by_alias=True)
        full.pop("data")
        for variant in self._default_deciding_variants():
            resolved = self.trial_config_of(variant).model_dump(mode="json", by_alias=True)
            resolved.pop("data")
            full = _shared_settings(full, resolved)
        full.update({key: written[key] for key in self.trial_kind.required})
        return self.trial_kind.with_settings(self, full)


_DEFAULT_DECIDING = ("search.method", "search.space")
"""Search settings that decide the defaults of others (each method's and space's ``defaults``)."""


def _shared_settings(first: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """The settings of ``first`` that ``other`` resolves to the same value, nested sections key by key."""
    shared = {}
    for key, value in first.items():
        if isinstance(value, dict) and isinstance(other.get(key), dict):
            shared[key] = _shared_settings(value, other[key])
        elif other.get(key) == value:
            shared[key] = value
    return shared


def _check_trials(study: Study) -> None:
    """Build the trial configuration for the base and for every value the space can take."""
    prefix = study.trial_kind.section
    for key in study.trial_kind.required:
        if key not in study.trial_base and f"{prefix}.{key}" not in study.space:
            raise UserInputError(f"a {study.kind} study needs {prefix}.{key} or a space entry for it")
    first = {key: domain.probe_values()[0] for key, domain in study.space.items()}
    try:  # a representative trial first: problems of the shared settings are reported as such
        study.trial_config_of(first)
    except ValidationError as err:
        raise invalid(err, f"{prefix} settings", prefix, ("data",), study_model=Study) from None
    keys = list(study.space)
    probes = [study.space[k].probe_values() for k in keys]
    combos = 1
    for values in probes:
        combos *= len(values)
    if combos <= _MAX_COMBINATIONS_CHECKED:
        candidates = (dict(zip(keys, values)) for values in itertools.product(*probes))
    else:  # too many to try together: each key's values against the base
        candidates = ({k: v} for k, values in zip(keys, probes) for v in values)
    inputs_of = functools.cache(_readable_inputs)  # an image folder is listed once, not per combination
    _check_trial_fits(study, study.trial_config_of(first), "the first trial's settings", inputs_of)
    for trial in candidates if keys else ():
        shown = ", ".join(f"{k}={v!r}" for k, v in trial.items())
        try:
            config = study.trial_config_of(trial)
        except ValidationError as err:
            raise invalid(err, f"trial settings ({shown})", prefix, ("data",), study_model=Study) from None
        _check_trial_fits(study, config, f"trial settings ({shown})", inputs_of)


def _local_device(spec: str) -> torch.device | None:
    """The device of this machine a trial asking for ``spec`` would get, or None when this
    machine has no such GPU (the study's driver need not be on a GPU node)."""
    if spec == "cpu" or (spec == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    device = torch.device("cuda" if spec == "auto" else spec)
    index = device.index or 0
    return device if torch.cuda.is_available() and index < torch.cuda.device_count() else None


def _readable_inputs(data: DataConfig) -> InputSpec | None:
    """What trials on ``data`` will see, or None where this machine cannot read it (an image
    folder that is not here: a cluster's, or a study folder's read elsewhere).  ``run``
    reports a missing folder just after (``check_present``); a trial checks its memory
    again once it has loaded the data."""
    try:
        return DATASETS[data.dataset].inputs(data)
    except UserInputError:
        return None


def _check_trial_fits(study: Study, config: TrialConfig, which: str,
                      inputs_of: Callable[[DataConfig], InputSpec | None]) -> None:
    """Each trial's network must be able to process its data's images and fit in the memory
    of the device it asks for, as far as this machine can tell (:mod:`snas.memory`): found
    now, not after Ray has started every trial."""
    inputs = inputs_of(config.data)
    if inputs is None:
        return
    device = _local_device(config.device)
    if study.resources.workers > 1:  # each worker holds its shard of the global batch
        config = config.model_copy(update={"batch_size": config.batch_size // study.resources.workers})
    try:
        study.trial_kind.check_input()(config, inputs)
        if device is not None:
            study.trial_kind.check_fits()(config, inputs, device)
    except UserInputError as err:
        raise UserInputError(f"{which}: {err}") from None


def _check_space_keys(study: Study) -> None:
    sections = (f"{study.trial_kind.section}.", "data.")
    for key in study.space:
        if not key.startswith(sections):
            raise UserInputError(f"space key {key!r} must start with {' or '.join(sections)} (a dotted setting)")


def load_study(path: str | Path, overrides: list[str] | None = None) -> Study:
    """Read, override and validate a study file; every problem is a UserInputError."""
    data = read_yaml_mapping(Path(path), f"study file {path}", "study sections (name:, data:, search:, space:, ...)")
    study = validate_study(apply_study_overrides(data, overrides or []), str(path))
    _check_retrain_settings(study)  # here, not for study folders: their analysis must stay readable
    refuse_unread_settings(study, str(path))
    check_name_length(study, str(path))
    return study


MANY_TRIALS = 10_000
"""Trials above which ``run`` asks for ``--allow-many-trials``: a grid of 1,000 × 1,000 values
is a typo more often than a plan, and Tune spends minutes listing its trials before starting
any (and minutes saving its state after Ctrl-C)."""


def check_trial_count(study: Study, allowed: bool) -> None:
    """Refuse a study of more than :data:`MANY_TRIALS` trials unless the user confirmed it."""
    count = study.expected_trials()
    if count > MANY_TRIALS and not allowed:
        sizes = " × ".join(str(len(d.bounds)) for d in study.space.values() if d.kind == "grid") or "1"
        raise UserInputError(f"study {study.name} has {count:,} trials (grid {sizes}, num_samples "
                             f"{study.searcher.num_samples}), more than {MANY_TRIALS:,}: check the space, or "
                             f"confirm with --allow-many-trials")


NAME_MAX_LENGTH = 200
"""Characters of a new study's name: its folder, and the ``<name>-retrain`` study made from it,
must fit the 255-byte file names of common file systems (a longer name failed with a
traceback when Tune created the folder)."""


RETRAIN_SUFFIX = "-retrain"
"""What ``snas-study retrain`` appends to the search study's name to name its retrain study."""


def check_name_length(study: Study, source: str, longest: int = NAME_MAX_LENGTH) -> None:
    """Refuse a new study whose name makes folder names too long (study folders that exist
    already are read whatever their name); ``longest``: more for the name a command derives."""
    if len(study.name) > longest:
        raise UserInputError(f"invalid study {source}: name is {len(study.name)} characters long; at most "
                             f"{longest} make folder names the file system accepts: choose a shorter name")


_ASHA_ONLY = ("grace_period", "reduction_factor", "max_t")


def refuse_unread_settings(study: Study, source: str) -> None:
    """Refuse settings given (in the file or by ``--set``) that this study would not read.

    Only for studies a user hands in: a frozen study.yaml writes out every default, so
    there "given" cannot be told from "defaulted"."""
    given = study.scheduler.model_fields_set & set(_ASHA_ONLY)
    if study.scheduler.name == "fifo" and given:
        keys = ", ".join(f"scheduler.{key}" for key in sorted(given))
        raise UserInputError(f"invalid study {source}: {keys}: read by ASHA only, and scheduler.name is fifo; "
                             f"set scheduler.name=asha or drop {keys}")
    if study.kind == "search" and study.genotypes:
        raise UserInputError(f"invalid study {source}: genotypes: read by retrain studies only (their "
                             f"retrain.settings.genotype names one); `snas-study retrain` takes the search's "
                             f"winners, so drop genotypes here")


def apply_study_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``--set`` for study files.  Space keys contain dots themselves, so
    ``space.<dotted key>=<domain>`` and ``space.<dotted key>.<grid|choice|...>=<values>``
    address a space entry; every other key is an ordinary dotted path."""
    plain, result = [], dict(data)
    for text in overrides:
        key, _, raw = text.partition("=")
        if not key.startswith("space."):
            plain.append(text)
            continue
        entry = key.removeprefix("space.")
        kind = entry.rsplit(".", 1)[-1]
        try:
            value = load_yaml(raw) if raw.strip() else None
        except yaml.YAMLError as err:
            raise UserInputError(f"--set {text}: the value is not valid YAML ({err.problem})") from None
        space = dict(result.get("space") or {})
        if kind in Domain.model_fields:
            space[entry.rsplit(".", 1)[0]] = {kind: value}
        else:
            space[entry] = value
        result["space"] = space
    return apply_overrides(result, plain)


def _read_genotypes(data: dict[str, Any], source: str) -> dict[str, Any]:
    """``data`` with each ``genotypes:`` entry given as text (a catalogue name, a file,
    Genotype(...) text) read into its mapping, and a genotype file named directly by
    ``retrain.settings.genotype`` read too (a label, a catalogue name or text stays as
    written: the configuration resolves those without opening a file)."""
    genotypes = data.get("genotypes")
    read = {}
    for label, spec in (genotypes.items() if isinstance(genotypes, dict) else ()):
        if not isinstance(spec, (str, dict)):
            raise UserInputError(f"invalid study {source}: genotypes.{label}: give a catalogue name, a genotype "
                                 f"file, Genotype(...) text or the genotype's mapping, not {spec!r}")
        read[label] = _read_genotype(spec, source, f"genotypes.{label}") if isinstance(spec, str) else spec
    if isinstance(genotypes, dict):
        data = {**data, "genotypes": read}
    retrain = data.get("retrain")
    settings = retrain.get("settings") if isinstance(retrain, dict) else None
    spec = settings.get("genotype") if isinstance(settings, dict) else None
    if isinstance(spec, str) and spec not in read and named_genotype(spec) is None:
        mapping = _read_genotype(spec, source, "retrain.settings.genotype")
        data = {**data, "retrain": {**retrain, "settings": {**settings, "genotype": mapping}}}
    return data


def _read_genotype(spec: str, source: str, key: str) -> dict[str, Any]:
    try:
        return resolve_genotype(spec).to_dict()
    except GenotypeError as err:
        raise UserInputError(f"invalid study {source}: {key}: {err}") from None


def validate_study(data: dict[str, Any], source: str = "study") -> Study:
    try:
        study = Study.model_validate(_read_genotypes(data, source))
    except ValidationError as err:
        raise invalid(err, f"study {source}", study_model=Study) from None
    _check_space_keys(study)
    _check_trials(study)
    _check_gpu_request(study)
    return study


def _check_gpu_request(study: Study) -> None:
    """Ray shows a trial only the GPUs it asked for: a CUDA device needs ``resources.gpu``."""
    if study.resources.gpu > 0:
        return
    key = f"{study.trial_kind.section}.device"
    base = study.trial_base.get("device", "auto")
    devices = study.space[key].probe_values() if key in study.space else [base]
    if any(str(device).startswith("cuda") for device in devices):
        raise UserInputError(f"{key} asks for cuda but resources.gpu is 0, so Ray gives the trials no GPU; "
                             f"set resources.gpu (e.g. --set resources.gpu=1, or 0.5 for two trials per GPU) "
                             f"or use device auto")


def _check_retrain_settings(study: Study) -> None:
    """A search study's ``retrain`` section is used only after the search, by `snas-study
    retrain`; a typo there must not wait days to be found.  The winners' genotypes are not
    known yet, so a catalogue cell stands in for them."""
    if not study.trial_kind.derives_genotype:
        return
    fields = {"genotype": CATALOGUE["DARTS_V2"].genotype.to_dict(), **study.retrain.settings}
    try:
        RetrainConfig.model_validate({**fields, "data": study.data.model_dump(mode="json")})
    except ValidationError as err:
        raise invalid(err, "retrain settings", "retrain.settings", ("data",), study_model=Study) from None
