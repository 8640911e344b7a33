"""The configuration of one architecture search, validated once when it is built.

Defaults reproduce the official single-GPU SNAS search (8 cells, C = 16, 150 epochs,
batch 64, τ 1 → 0.03 linearly, SGD θ lr 0.025 cosine to 0.001).  Settings whose reference
value depends on the method are filled in when left out, and the filled-in value is what
the config (and a study's frozen ``study.yaml``) then shows:

* the α optimiser: SGD lr 3e-4 for ``snas`` (official single GPU), Adam lr 3e-4,
  betas (0.5, 0.999), weight decay 1e-3 for ``gdas`` and ``darts``;
* ``drop_path``: 0.3 for ``snas`` (official README), 0 for ``gdas`` and ``darts``;
* the resource λ: the official per-estimator default (see :func:`snas.resource.default_lambda`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from snas.catalogue import resolve_genotype
from snas.configmodel import Frozen
from snas.data.config import DataConfig
from snas.device import DEVICE_PATTERN
from snas.genotype import DerivationRule, Genotype
from snas.relax import RELAXATIONS
from snas.resource import PENALTY_METHODS, SEPARATIONS, default_lambda
from snas.temperature import SCHEDULES

_METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "snas": {"arch": {"name": "sgd", "lr": 3e-4, "weight_decay": 0.0}, "drop_path": 0.3},
    "gdas": {"arch": {"name": "adam", "lr": 3e-4, "weight_decay": 1e-3}, "drop_path": 0.0},
    "darts": {"arch": {"name": "adam", "lr": 3e-4, "weight_decay": 1e-3}, "drop_path": 0.0},
}


class WeightOptimizerConfig(Frozen):
    """SGD with momentum on the supernet weights θ, cosine-annealed per epoch."""

    lr: float = Field(0.025, gt=0)
    lr_min: float = Field(0.001, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(3e-4, ge=0)
    grad_clip: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _min_below_lr(self) -> WeightOptimizerConfig:
        if self.lr_min > self.lr:
            raise ValueError(f"lr_min ({self.lr_min}) must not exceed lr ({self.lr})")
        return self


class ArchOptimizerConfig(Frozen):
    """The optimiser of the architecture logits α (constant learning rate)."""

    name: Literal["sgd", "adam"] = "adam"
    lr: float = Field(3e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = Field(1e-3, ge=0)
    grad_clip: float = Field(10.0, gt=0)


class TemperatureConfig(Frozen):
    """The Gumbel-softmax temperature schedule (see :mod:`snas.temperature`)."""

    schedule: str = "linear"
    initial: float = Field(1.0, gt=0)
    min: float = Field(0.03, gt=0)
    anneal_rate: float = Field(0.95, gt=0, le=1)
    """Per-epoch factor of the ``exponential`` schedule, in (0, 1]."""
    per: Literal["epoch", "step"] = "epoch"

    @field_validator("schedule")
    @classmethod
    def _known_schedule(cls, name: str) -> str:
        if name not in SCHEDULES:
            raise ValueError(f"unknown schedule {name!r}; choose from {', '.join(SCHEDULES)}")
        return name

    @model_validator(mode="after")
    def _min_below_initial(self) -> TemperatureConfig:
        if self.min > self.initial:
            raise ValueError(f"min ({self.min}) must not exceed initial ({self.initial})")
        return self


class ResourceConfig(Frozen):
    """The resource constraint (see :mod:`snas.resource`); ``method: none`` switches it off."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    method: str = "none"
    lambda_: float = Field(0.0, alias="lambda", ge=0)
    """Weight of the penalty; left out, the official default for the estimator."""
    log_penalty: bool = True
    separation: str = "all"
    ratio: float = Field(1.0, ge=0)
    """Weight of reduction cells' cost relative to normal cells'."""
    baseline: bool = False
    """Subtract the mean op cost in the policy-gradient estimator."""

    @model_validator(mode="before")
    @classmethod
    def _default_lambda(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("lambda", data.get("lambda_")) is None:
            method, log_penalty = data.get("method", "none"), data.get("log_penalty", True)
            if method in PENALTY_METHODS and isinstance(log_penalty, bool):
                data = {k: v for k, v in data.items() if k != "lambda_"}
                data["lambda"] = default_lambda(method, log_penalty)
        return data

    @field_validator("method")
    @classmethod
    def _known_method(cls, name: str) -> str:
        if name not in PENALTY_METHODS:
            raise ValueError(f"unknown penalty method {name!r}; choose from {', '.join(PENALTY_METHODS)}")
        return name

    @field_validator("separation")
    @classmethod
    def _known_separation(cls, name: str) -> str:
        if name not in SEPARATIONS:
            raise ValueError(f"unknown separation {name!r}; choose from {', '.join(SEPARATIONS)}")
        return name


class SearchConfig(Frozen):
    """Everything one search run needs; equal configs give identical runs on CPU."""

    method: str = "snas"
    layers: int = Field(8, ge=3)
    init_channels: int = Field(16, ge=2)
    epochs: int = Field(150, ge=1)
    batch_size: int = Field(64, ge=2)
    weights: WeightOptimizerConfig = WeightOptimizerConfig()
    arch: ArchOptimizerConfig = ArchOptimizerConfig()
    temperature: TemperatureConfig = TemperatureConfig()
    resource: ResourceConfig = ResourceConfig()
    nsample: int = Field(1, ge=1)
    """Architecture samples per batch; their losses are averaged."""
    resample_per_cell: bool = False
    """Draw a fresh sample for every cell instead of one per cell type per forward."""
    drop_path: float = Field(0.3, ge=0, lt=1)
    second_order: bool = False
    """DARTS only: the unrolled (second-order) architecture gradient."""
    genotype_rule: DerivationRule = "darts"
    eval_layers: int = Field(20, ge=3)
    eval_channels: int = Field(36, ge=2)
    seed: int = Field(0, ge=0)
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    bf16: bool = False
    """bf16 autocast (CUDA only)."""
    channels_last: bool = True
    data: DataConfig = DataConfig()

    @model_validator(mode="before")
    @classmethod
    def _method_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaults = _METHOD_DEFAULTS.get(data.get("method", "snas"))
        if defaults is None:
            return data
        data = dict(data)
        data.setdefault("drop_path", defaults["drop_path"])
        arch = data.get("arch", {})
        if isinstance(arch, dict):
            data["arch"] = {**defaults["arch"], **arch}
        return data

    @field_validator("method")
    @classmethod
    def _known_method(cls, name: str) -> str:
        if name not in RELAXATIONS:
            raise ValueError(f"unknown search method {name!r}; choose from {', '.join(RELAXATIONS)}")
        return name

    @field_validator("init_channels", "eval_channels")
    @classmethod
    def _even(cls, channels: int) -> int:
        if channels % 2:
            raise ValueError(f"must be even (reduction cells split channels in two), got {channels}")
        return channels

    @model_validator(mode="after")
    def _method_combinations(self) -> SearchConfig:
        if self.second_order and self.method != "darts":
            raise ValueError(f"second_order applies to method darts only, not {self.method}")
        if self.resource.method == "policy_gradient" and self.method != "snas":
            raise ValueError("resource.method policy_gradient needs the soft Concrete samples of method snas")
        return self


class RetrainConfig(Frozen):
    """Training one genotype from scratch (the evaluation step of a NAS paper).

    Defaults are the DARTS/SNAS CIFAR-10 evaluation: 20 cells, C = 36, auxiliary head
    (weight 0.4), drop path 0.2 ramped linearly from 0, 600 epochs, batch 96, SGD lr 0.025
    cosine, momentum 0.9, weight decay 3e-4, gradient clip 5.  The paper setting also uses
    ``data.cutout: 16``; ImageNet (``network: imagenet``) adds ``label_smoothing: 0.1``.
    ``genotype`` accepts a catalogue name, a JSON file, Genotype(...) text or the JSON
    mapping itself; it is stored resolved, so a checkpoint does not depend on the file.
    """

    genotype: dict[str, Any]
    network: Literal["cifar", "imagenet"] = "cifar"
    layers: int = Field(20, ge=3)
    init_channels: int = Field(36, ge=2)
    epochs: int = Field(600, ge=1)
    batch_size: int = Field(96, ge=2)
    lr: float = Field(0.025, gt=0)
    lr_min: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(3e-4, ge=0)
    grad_clip: float = Field(5.0, gt=0)
    auxiliary: bool = True
    auxiliary_weight: float = Field(0.4, ge=0)
    drop_path: float = Field(0.2, ge=0, lt=1)
    """Final drop-path probability; epoch ``e`` uses ``drop_path · e / epochs``."""
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    val_fraction: float = Field(0.1, ge=0, lt=1)
    """Part of the training set held out for ``val_acc`` (0: train on all of it, no val_acc)."""
    seed: int = Field(0, ge=0)
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    bf16: bool = False
    channels_last: bool = True
    data: DataConfig = DataConfig()

    @field_validator("genotype", mode="before")
    @classmethod
    def _resolve_genotype(cls, value: Any) -> Any:
        if isinstance(value, Genotype):
            return value.to_dict()
        if isinstance(value, str):
            return resolve_genotype(value).to_dict()
        if isinstance(value, dict):
            return Genotype.from_dict(value).to_dict()
        raise ValueError("genotype must be a catalogue name, a file, Genotype(...) text or a mapping")

    @field_validator("init_channels")
    @classmethod
    def _even(cls, channels: int) -> int:
        if channels % 2:
            raise ValueError(f"must be even (reduction cells split channels in two), got {channels}")
        return channels

    @property
    def resolved_genotype(self) -> Genotype:
        return Genotype.from_dict(self.genotype)
