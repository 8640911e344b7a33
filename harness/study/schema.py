"""The study file's schema: what each section may hold, and the views a study derives.

A study names the base settings of every trial (``data``, ``search`` or ``retrain``), the
settings that vary (``space``, addressed by dotted keys such as
``search.temperature.initial``), how trials are proposed (``searcher``) and stopped
(``scheduler``) -- objects of :mod:`harness.policies` -- how they are placed
(``resources``), stored and retried.  Validating the model checks each section and the
sections against each other (:mod:`harness.study.checks`); what needs torch or the data
(every value tried on the real trial configuration, memory) is :mod:`harness.study.probe`'s,
and reading a file is :mod:`harness.study.load`'s.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    SerializeAsAny,
    Tag,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from harness.domain import Domain, grid_combinations
from harness.errors import FORM_TAG, invalid
from harness.health_settings import HealthThresholds, StopConfig
from harness.kinds import KINDS, TrialKind
from harness.overrides import with_values
from harness.policies import (
    DEFAULT_SCHEDULER,
    DEFAULT_SEARCHER,
    SCHEDULERS,
    SEARCHERS,
    Scheduler,
    Searcher,
    chosen_policy,
)
from harness.storage import is_uri
from harness.study.objectives import Bound, ObjectiveTerm
from harness.tracking.settings import TrackingConfig
from snas.configmodel import Frozen
from snas.data.config import DataConfig
from snas.errors import UserInputError
from snas.spaces import genotype_from_dict

if TYPE_CHECKING:
    from harness.kinds import TrialConfig

STORAGE_SCHEMES = ("s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss", "file")
"""URI schemes of the pyarrow file systems Tune's storage goes through."""


def _genotype_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    return genotype_from_dict(mapping).to_dict()


GenotypeMapping = Annotated[dict[str, Any], AfterValidator(_genotype_mapping)]


class Objective(Frozen):
    """The reported metric that ranks trials (and that ASHA and Optuna optimise)."""

    metric: str | None = None
    """Default: ``search_val_acc`` for search studies, ``val_acc`` for retrain studies."""
    mode: Literal["max", "min"] = "max"


def _objective_form(value: Any) -> str:
    return f"{FORM_TAG}list" if isinstance(value, list) else f"{FORM_TAG}one"


ObjectiveSection = Annotated[
    Annotated[Objective, Tag(f"{FORM_TAG}one")]
    | Annotated[list[ObjectiveTerm], Tag(f"{FORM_TAG}list"), Field(min_length=2)],
    Discriminator(_objective_form)]
"""One objective (``{metric, mode}``), or a list of two or more (:mod:`harness.study.objectives`)."""


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
    proxy: str | None = None
    """A zero-cost proxy (:mod:`snas.proxies`) that picks ``random`` more cells, the best of
    ``pool`` random ones by its score (:mod:`harness.proxy_baseline`); ``None``: no proxy baseline."""
    pool: int = Field(0, ge=0)
    """How many random cells the proxy scores to pick from (at least ``random``)."""

    @model_validator(mode="after")
    def _proxy_has_a_pool(self) -> RetrainSection:
        """A proxy picks ``random`` cells out of ``pool`` (its name is checked where it is used,
        :func:`harness.proxy_baseline.check_proxy_baseline`: the proxies need torch)."""
        if self.proxy is None and self.pool:
            raise ValueError("pool is what a proxy picks from; set proxy too, or leave pool out")
        if self.proxy is not None and not 1 <= self.random <= self.pool:
            raise ValueError(f"proxy {self.proxy!r} picks random = {self.random} cell(s) out of pool = {self.pool}; "
                             f"give random >= 1 and pool >= random")
        return self
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
    objective: ObjectiveSection = Objective()
    """One ``{metric, mode}``, or a list of them: a multi-objective study (its answer a Pareto front)."""
    constraints: dict[str, Bound] = Field({}, exclude_if=lambda constraints: not constraints)
    """Bounds on reported metrics (``eval_params_m: {max: 3.3}``); a trial outside one is infeasible."""
    searcher: SerializeAsAny[Searcher] = SEARCHERS[DEFAULT_SEARCHER].model_validate({})
    """How trials' settings are proposed (:data:`harness.policies.SEARCHERS`, by ``name``)."""
    scheduler: SerializeAsAny[Scheduler] = SCHEDULERS[DEFAULT_SCHEDULER].model_validate({})
    """When trials stop (:data:`harness.policies.SCHEDULERS`, by ``name``)."""
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
    tracking: TrackingConfig = TrackingConfig()
    """Experiment trackers that record the study's trials (:mod:`harness.tracking`)."""
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

    _searcher = field_validator("searcher", mode="wrap")(chosen_policy(SEARCHERS, DEFAULT_SEARCHER))
    _scheduler = field_validator("scheduler", mode="wrap")(chosen_policy(SCHEDULERS, DEFAULT_SCHEDULER))

    @model_serializer(mode="wrap")
    def _without_unused_tracking(self, handler: Any) -> dict[str, Any]:
        """A study that tracks nothing is written (study.yaml) without the section, as before
        it existed."""
        data = handler(self)
        if not self.tracking.chosen():
            data.pop("tracking", None)
        return data

    def ranking_problem(self, metric: str) -> str | None:
        """Why ``metric`` cannot rank this study's trials, or None when it can."""
        numeric = self.trial_kind.numeric_metrics
        if metric in numeric:
            return None
        if metric in self.trial_kind.metrics:
            return f"{metric!r} is not a number; choose from {', '.join(numeric)}"
        others = [name for name, kind in KINDS.items() if metric in kind.metrics]
        if others:
            return (f"{metric!r} is reported by {others[0]} trials, not by this {self.kind} study's; "
                    f"choose from {', '.join(numeric)}")
        meant = difflib.get_close_matches(metric, numeric, n=1)
        hint = f"did you mean {meant[0]}?" if meant else f"choose from {', '.join(numeric)}"
        return f"{metric!r} is no metric the trials report; {hint}"

    def check_ranking_metric(self, metric: str) -> None:
        problem = self.ranking_problem(metric)
        if problem:
            raise UserInputError(f"--metric {problem}")

    # -------------------------------------------------------------- derived views
    @property
    def trial_kind(self) -> TrialKind:
        return KINDS[self.kind]

    @property
    def multi_objective(self) -> bool:
        return isinstance(self.objective, list)

    @property
    def objectives(self) -> tuple[ObjectiveTerm, ...]:
        """Every objective, the default metric written out."""
        if isinstance(self.objective, list):
            return tuple(self.objective)
        return (ObjectiveTerm(metric=self.metric, mode=self.objective.mode),)

    @property
    def metric(self) -> str:
        """The metric that ranks trials (of a list objective, the first)."""
        if isinstance(self.objective, list):
            return self.objective[0].metric
        return self.objective.metric or self.trial_kind.default_metric

    @property
    def mode(self) -> str:
        """The direction of :attr:`metric`."""
        return self.objectives[0].mode

    def section(self, path: str) -> dict[str, Any]:
        """The settings of the section at the dotted ``path`` (``search``, ``retrain.settings``)."""
        node: Any = self
        for part in path.split("."):
            node = getattr(node, part)
        return dict(node)

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
        """One trial config per value of each varied setting that decides other settings' defaults."""
        keys = [f"{self.trial_kind.section}.{key}" for key in self.trial_kind.default_deciding]
        return [{key: value} for key in keys if key in self.space for value in self.space[key].probe_values()]

    def trial_config_of(self, trial_config: dict[str, Any]) -> TrialConfig:
        """The validated configuration of the trial with the varied values ``trial_config``."""
        return self.trial_kind.trial_config(self.base_settings(), trial_config, self.genotypes)

    @property
    def epochs(self) -> int:
        """Epochs of a trial (of the first trial when the space varies them)."""
        return int(self.trial_config_of(self.first_trial()).epochs)

    def first_trial(self) -> dict[str, Any]:
        """A representative trial's varied values: each setting of the space at its first value."""
        return {key: domain.probe_values()[0] for key, domain in self.space.items()}

    def grid_combinations(self) -> list[dict[str, Any]]:
        """Every combination of the grid entries in Tune's order (:func:`harness.domain.grid_combinations`)."""
        return grid_combinations(self.space)

    def expected_trials(self) -> int:
        """Trials the study runs, as its searcher counts them."""
        return self.searcher.expected_trials(self.space)

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
            raise invalid(err, f"{self.kind} settings", prefix, ("data",), study_model=Study) from None

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


def _shared_settings(first: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """The settings of ``first`` that ``other`` resolves to the same value, nested sections key by key."""
    shared = {}
    for key, value in first.items():
        if isinstance(value, dict) and isinstance(other.get(key), dict):
            shared[key] = _shared_settings(value, other[key])
        elif other.get(key) == value:
            shared[key] = value
    return shared
