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

import itertools
from pathlib import Path
from typing import Any, Literal

import torch
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from harness.arguments import read_yaml_mapping
from harness.errors import invalid
from harness.overrides import apply_overrides
from harness.storage import is_uri
from snas.catalogue import CATALOGUE, resolve_genotype
from snas.config import RetrainConfig, SearchConfig
from snas.configmodel import Frozen
from snas.data.config import DataConfig
from snas.data.sets import DATASETS
from snas.errors import UserInputError
from snas.memory import check_retrain_fits, check_search_fits
from snas.metrics import RETRAIN_METRICS, SEARCH_METRICS

StudyKind = Literal["search", "retrain"]
_NON_NUMERIC = {"genotype", "diverged"}
_MAX_COMBINATIONS_CHECKED = 512
STORAGE_SCHEMES = ("s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss", "file")
"""URI schemes of the pyarrow file systems Tune's storage goes through."""


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
    """Per trial.  Fractional GPUs share a device: several trials must fit in its memory."""

    cpu: float = Field(1.0, gt=0)
    gpu: float = Field(0.0, ge=0)
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


class FaultsConfig(Frozen):
    """Deliberate failures, to check that a setup survives them before a long study does."""

    fail_once_at_epoch: int | None = Field(None, ge=1)
    """Every trial raises once, right after checkpointing this epoch; Tune must restart it
    from that checkpoint (needs ``failures.max_failures`` ≥ 1)."""


class RetrainSection(Frozen):
    """Retraining the winners: defaults for ``snas-study retrain`` and retrain studies."""

    top: int = Field(3, ge=1)
    seeds: int = Field(2, ge=1)
    settings: dict[str, Any] = {}
    """Fields of the retraining configuration (epochs, layers, init_channels, ...)."""


class Study(Frozen):
    """A study file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: StudyKind = "search"
    description: str = ""
    data: DataConfig = DataConfig()
    search: dict[str, Any] = {}
    """Fields of the search configuration shared by all trials (see snas.config.SearchConfig)."""
    retrain: RetrainSection = RetrainSection()
    genotypes: dict[str, Any] = {}
    """Named genotypes a retrain study can refer to in ``retrain.settings.genotype``."""
    space: dict[str, Domain] = {}
    objective: Objective = Objective()
    searcher: SearcherConfig = SearcherConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    resources: ResourcesConfig = ResourcesConfig()
    storage: StorageConfig = StorageConfig()
    failures: FailuresConfig = FailuresConfig()
    faults: FaultsConfig = FaultsConfig()
    checkpoint_every: int = Field(1, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    provenance: dict[str, Any] | None = None
    """Written by ``snas-study run`` into the frozen study.yaml: versions, time, command."""
    source: dict[str, Any] | None = None
    """For studies made by ``snas-study retrain``: the search study, its metric, and the
    searched score of every genotype label (compared with the retrained accuracy)."""

    @field_validator("genotypes")
    @classmethod
    def _genotypes_resolve(cls, genotypes: dict[str, Any]) -> dict[str, Any]:
        return {label: _genotype_mapping(spec) for label, spec in genotypes.items()}

    def ranking_problem(self, metric: str) -> str | None:
        """Why ``metric`` cannot rank this study's trials, or None when it can."""
        allowed = SEARCH_METRICS if self.kind == "search" else RETRAIN_METRICS
        if metric not in allowed or metric in _NON_NUMERIC:
            return (f"{metric!r} is not a numeric {self.kind} metric; "
                    f"choose from {', '.join(m for m in allowed if m not in _NON_NUMERIC)}")
        return None

    def check_ranking_metric(self, metric: str) -> None:
        problem = self.ranking_problem(metric)
        if problem:
            raise UserInputError(f"--metric {problem}")

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
        return self

    # -------------------------------------------------------------- derived views
    @property
    def metric(self) -> str:
        return self.objective.metric or ("search_val_acc" if self.kind == "search" else "val_acc")

    def base_settings(self) -> dict[str, Any]:
        """The settings every trial starts from, as a plain nested mapping."""
        data = self.data.model_dump(mode="json")
        if self.kind == "search":
            return {"search": dict(self.search), "data": data}
        return {"retrain": {"settings": dict(self.retrain.settings)}, "data": data}

    def trial_settings(self, trial_config: dict[str, Any]) -> dict[str, Any]:
        """Base settings with a trial's varied values (dotted keys) applied."""
        settings = apply_overrides(self.base_settings(), [f"{k}={_as_yaml(v)}" for k, v in trial_config.items()])
        return settings

    def search_config(self, trial_config: dict[str, Any]) -> SearchConfig:
        settings = self.trial_settings(trial_config)
        return SearchConfig.model_validate({**settings["search"], "data": settings["data"]})

    def retrain_config(self, trial_config: dict[str, Any]) -> RetrainConfig:
        settings = self.trial_settings(trial_config)
        fields = dict(settings["retrain"]["settings"])
        genotype = fields.get("genotype")
        if isinstance(genotype, str):
            fields["genotype"] = self.genotypes.get(genotype) or _genotype_mapping(genotype)
        return RetrainConfig.model_validate({**fields, "data": settings["data"]})

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

    def trial_config_of(self, trial_config: dict[str, Any]) -> SearchConfig | RetrainConfig:
        return self.search_config(trial_config) if self.kind == "search" else self.retrain_config(trial_config)

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
        return len(self.grid_combinations()) * self.searcher.num_samples

    def experiment_path(self) -> str:
        """Where Tune's experiment folder (and the harness's files) live."""
        root = self.storage.path
        if is_uri(root):
            return root.rstrip("/") + "/" + self.name
        return str(Path(root).expanduser().absolute() / self.name)

    @property
    def settings_section(self) -> str:
        """Where the trial settings live: ``search`` or ``retrain.settings``."""
        return "search" if self.kind == "search" else "retrain.settings"

    def resolved(self) -> Study:
        """A copy with every default of the trial configuration written out.

        The base settings must be valid as written even where the space replaces them in
        every trial: they are what the frozen study.yaml records.  Where the space varies
        a setting that decides other settings' defaults (the method, the search space), a
        default is written out only where every value gives the same one: written out, the
        SNAS default temperature of a base ``method: snas`` would override GDAS's own in
        the GDAS trials.
        """
        prefix = self.settings_section
        try:
            return self._resolved()
        except ValidationError as err:
            raise invalid(err, f"{prefix} settings", prefix, ("data",)) from None

    def _resolved(self) -> Study:
        if self.kind == "search":
            full = self.search_config({}).model_dump(mode="json", by_alias=True)
            full.pop("data")
            for variant in self._default_deciding_variants():
                resolved = self.search_config(variant).model_dump(mode="json", by_alias=True)
                full = _shared_settings(full, resolved)
            return self.model_copy(update={"search": full})
        base = self.retrain_config({}) if "genotype" in self.retrain.settings else None
        if base is None:
            return self
        full = base.model_dump(mode="json")
        full.pop("data")
        full["genotype"] = self.retrain.settings["genotype"]
        return self.model_copy(update={"retrain": self.retrain.model_copy(update={"settings": full})})


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


def _genotype_mapping(spec: Any) -> Any:
    """A genotype spec with files read (catalogue names, Genotype(...) text and files all
    become the JSON mapping); the retrain config validates whatever else it is."""
    return resolve_genotype(spec).to_dict() if isinstance(spec, str) else RetrainConfig.model_validate(
        {"genotype": spec}).genotype


def _as_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _check_trials(study: Study) -> None:
    """Build the trial configuration for the base and for every value the space can take."""
    needs_genotype = study.kind == "retrain" and "genotype" not in study.retrain.settings \
        and "retrain.settings.genotype" not in study.space
    if needs_genotype:
        raise UserInputError("a retrain study needs retrain.settings.genotype or a space entry for it")
    prefix = study.settings_section
    first = {key: domain.probe_values()[0] for key, domain in study.space.items()}
    try:  # a representative trial first: problems of the shared settings are reported as such
        study.trial_config_of(first)
    except ValidationError as err:
        raise invalid(err, f"{prefix} settings", prefix, ("data",)) from None
    keys = list(study.space)
    probes = [study.space[k].probe_values() for k in keys]
    combos = 1
    for values in probes:
        combos *= len(values)
    if combos <= _MAX_COMBINATIONS_CHECKED:
        candidates = (dict(zip(keys, values)) for values in itertools.product(*probes))
    else:  # too many to try together: each key's values against the base
        candidates = ({k: v} for k, values in zip(keys, probes) for v in values)
    _check_trial_memory(study.trial_config_of(first), "the first trial's settings")
    for trial in candidates if keys else ():
        shown = ", ".join(f"{k}={v!r}" for k, v in trial.items())
        try:
            config = study.trial_config_of(trial)
        except ValidationError as err:
            raise invalid(err, f"trial settings ({shown})", prefix, ("data",)) from None
        _check_trial_memory(config, f"trial settings ({shown})")


def _local_device(spec: str) -> torch.device | None:
    """The device of this machine a trial asking for ``spec`` would get, or None when this
    machine has no such GPU (the study's driver need not be on a GPU node)."""
    if spec == "cpu" or (spec == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    device = torch.device("cuda" if spec == "auto" else spec)
    index = device.index or 0
    return device if torch.cuda.is_available() and index < torch.cuda.device_count() else None


def _check_trial_memory(config: SearchConfig | RetrainConfig, which: str) -> None:
    """Each trial's network must fit in the memory of the device it asks for, as far as this
    machine can tell (:mod:`snas.memory`): found now, not after Ray has started every trial."""
    device = _local_device(config.device)
    if device is None:
        return
    shape = DATASETS[config.data.dataset].shape(config.data)
    check = check_search_fits if isinstance(config, SearchConfig) else check_retrain_fits
    try:
        check(config, shape, shape[2], device)
    except UserInputError as err:
        raise UserInputError(f"{which}: {err}") from None


def _check_space_keys(study: Study) -> None:
    sections = (f"{study.settings_section}.", "data.")
    for key in study.space:
        if not key.startswith(sections):
            raise UserInputError(f"space key {key!r} must start with {' or '.join(sections)} (a dotted setting)")


def load_study(path: str | Path, overrides: list[str] | None = None) -> Study:
    """Read, override and validate a study file; every problem is a UserInputError."""
    data = read_yaml_mapping(Path(path), f"study file {path}", "study sections (name:, data:, search:, space:, ...)")
    study = validate_study(apply_study_overrides(data, overrides or []), str(path))
    _check_retrain_settings(study)  # here, not for study folders: their analysis must stay readable
    return study


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
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as err:
            raise UserInputError(f"--set {text}: the value is not valid YAML ({err.problem})") from None
        space = dict(result.get("space") or {})
        if kind in Domain.model_fields:
            space[entry.rsplit(".", 1)[0]] = {kind: value}
        else:
            space[entry] = value
        result["space"] = space
    return apply_overrides(result, plain)


def validate_study(data: dict[str, Any], source: str = "study") -> Study:
    try:
        study = Study.model_validate(data)
    except ValidationError as err:
        raise invalid(err, f"study {source}") from None
    _check_space_keys(study)
    _check_trials(study)
    _check_gpu_request(study)
    return study


def _check_gpu_request(study: Study) -> None:
    """Ray shows a trial only the GPUs it asked for: a CUDA device needs ``resources.gpu``."""
    if study.resources.gpu > 0:
        return
    key = f"{study.settings_section}.device"
    base = (study.search if study.kind == "search" else study.retrain.settings).get("device", "auto")
    devices = study.space[key].probe_values() if key in study.space else [base]
    if any(str(device).startswith("cuda") for device in devices):
        raise UserInputError(f"{key} asks for cuda but resources.gpu is 0, so Ray gives the trials no GPU; "
                             f"set resources.gpu (e.g. --set resources.gpu=1, or 0.5 for two trials per GPU) "
                             f"or use device auto")


def _check_retrain_settings(study: Study) -> None:
    """A search study's ``retrain`` section is used only after the search, by `snas-study
    retrain`; a typo there must not wait days to be found.  The winners' genotypes are not
    known yet, so a catalogue cell stands in for them."""
    if study.kind != "search":
        return
    fields = {"genotype": CATALOGUE["DARTS_V2"].genotype.to_dict(), **study.retrain.settings}
    if isinstance(fields["genotype"], str):
        fields["genotype"] = _genotype_mapping(fields["genotype"])
    try:
        RetrainConfig.model_validate({**fields, "data": study.data.model_dump(mode="json")})
    except ValidationError as err:
        raise invalid(err, "retrain settings", "retrain.settings", ("data",)) from None
